package printers

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"strings"
	"testing"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func loadTable(t *testing.T, name string) *metav1.Table {
	t.Helper()
	data, err := os.ReadFile("testdata/" + name)
	if err != nil {
		t.Fatal(err)
	}
	tbl, err := DecodeTable(data)
	if err != nil {
		t.Fatal(err)
	}
	return tbl
}

func render(header []string, rows [][]string) string {
	var b bytes.Buffer
	c := NewColumns(&b)
	c.Add(header...)
	for _, r := range rows {
		c.Add(r...)
	}
	if err := c.Flush(); err != nil {
		panic(err)
	}
	return b.String()
}

func TestPodsTable(t *testing.T) {
	tbl := loadTable(t, "pods-table.json")
	tests := []struct {
		name string
		opts TableOptions
		want string
	}{
		{"default", TableOptions{}, "" +
			"NAME           READY   STATUS    RESTARTS   AGE\n" +
			"nginxs-n5gks   0/1     Pending   0          5m\n" +
			"nginxs-x2v9q   1/1     Running   2          5m\n"},
		{"wide", TableOptions{Wide: true}, "" +
			"NAME           READY   STATUS    RESTARTS   AGE   IP           NODE     NOMINATED NODE   READINESS GATES\n" +
			"nginxs-n5gks   0/1     Pending   0          5m    <none>       <none>   <none>           <none>\n" +
			"nginxs-x2v9q   1/1     Running   2          5m    10.244.1.7   node-1   <none>           <none>\n"},
		{"all namespaces", TableOptions{WithNamespace: true}, "" +
			"NAMESPACE   NAME           READY   STATUS    RESTARTS   AGE\n" +
			"default     nginxs-n5gks   0/1     Pending   0          5m\n" +
			"default     nginxs-x2v9q   1/1     Running   2          5m\n"},
		{"show labels", TableOptions{ShowLabels: true}, "" +
			"NAME           READY   STATUS    RESTARTS   AGE   LABELS\n" +
			"nginxs-n5gks   0/1     Pending   0          5m    app=nginx\n" +
			"nginxs-x2v9q   1/1     Running   2          5m    app=nginx,tier=web\n"},
		{"label columns", TableOptions{LabelColumns: []string{"tier", "example.com/app"}}, "" +
			"NAME           READY   STATUS    RESTARTS   AGE   TIER   APP\n" +
			"nginxs-n5gks   0/1     Pending   0          5m           \n" +
			"nginxs-x2v9q   1/1     Running   2          5m    web    \n"},
		{"kind prefix", TableOptions{KindPrefix: "pod"}, "" +
			"NAME               READY   STATUS    RESTARTS   AGE\n" +
			"pod/nginxs-n5gks   0/1     Pending   0          5m\n" +
			"pod/nginxs-x2v9q   1/1     Running   2          5m\n"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			if got := render(TableRows(tbl, tt.opts)); got != tt.want {
				t.Fatalf("got:\n%s\nwant:\n%s", got, tt.want)
			}
		})
	}
}

func TestRCTableNumbers(t *testing.T) {
	tbl := loadTable(t, "rc-table.json")
	want := "" +
		"NAME     DESIRED   CURRENT   READY   AGE   CONTAINERS   IMAGES               SELECTOR\n" +
		"nginxs   10        10        0       12m   nginx        ruo91/nginx:latest   app=nginx\n"
	if got := render(TableRows(tbl, TableOptions{Wide: true})); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestDecodeTableRejectsOthers(t *testing.T) {
	_, err := DecodeTable([]byte(`{"kind":"PodList","apiVersion":"v1","items":[]}`))
	if !errors.Is(err, ErrNotTable) {
		t.Fatalf("error = %v", err)
	}
}

func TestCellText(t *testing.T) {
	for in, want := range map[any]string{
		nil:                   "",
		"a\nb":                "a...",
		"\x1b[31mred":         "^[[31mred",
		json.Number("12"):     "12",
		true:                  "true",
		"plain":               "plain",
		"carriage\rreturn ok": "carriage...",
	} {
		if got := cellText(in); got != want {
			t.Errorf("cellText(%q) = %q, want %q", in, got, want)
		}
	}
}

// TestColumnsMatchTabwriter checks the aligner against kubectl's tabwriter
// settings (minwidth 6, padding 3) on rows flushed at once.
func TestColumnsMatchTabwriter(t *testing.T) {
	rows := [][]string{
		{"NAME", "READY", "STATUS", "AGE"},
		{"a", "0/1", "Pending", "1s"},
		{"nginxs-x2v9q-long-name", "1/1", "ContainerCreating", "10d"},
		{"é-ünïcode", "", "x", ""},
	}
	var want bytes.Buffer
	tw := tabwriter.NewWriter(&want, 6, 4, 3, ' ', 0)
	for _, r := range rows {
		tw.Write([]byte(strings.Join(r, "\t") + "\n"))
	}
	tw.Flush()
	if got := render(rows[0], rows[1:]); got != want.String() {
		t.Fatalf("got:\n%q\nwant:\n%q", got, want.String())
	}
}

func TestColumnsRememberWidths(t *testing.T) {
	var b bytes.Buffer
	c := NewColumns(&b)
	c.Add("NAME", "STATUS", "AGE")
	c.Add("a-much-longer-name", "Running", "1s")
	c.Flush()
	c.Add("b", "Pending", "2s") // a later, narrower row keeps the columns
	c.Flush()
	want := "" +
		"NAME                 STATUS    AGE\n" +
		"a-much-longer-name   Running   1s\n" +
		"b                    Pending   2s\n"
	if b.String() != want {
		t.Fatalf("got:\n%s\nwant:\n%s", b.String(), want)
	}
}

func TestMetadataTable(t *testing.T) {
	now := time.Date(2015, 7, 8, 10, 5, 0, 0, time.UTC)
	tbl := MetadataTable([]metav1.ObjectMeta{
		{Name: "a", Namespace: "ns1", CreationTimestamp: metav1.NewTime(now.Add(-5 * time.Minute))},
		{Name: "b", Namespace: "ns2"},
	}, now)
	want := "" +
		"NAMESPACE   NAME   AGE\n" +
		"ns1         a      5m\n" +
		"ns2         b      <unknown>\n"
	if got := render(TableRows(tbl, TableOptions{WithNamespace: true})); got != want {
		t.Fatalf("got:\n%s\nwant:\n%s", got, want)
	}
}

func TestObjects(t *testing.T) {
	obj := map[string]any{"apiVersion": "v1", "kind": "Pod", "metadata": map[string]any{"name": "p", "managedFields": []any{map[string]any{"manager": "x"}}}}
	StripManagedFields(obj)
	var j, y bytes.Buffer
	if err := WriteJSON(&j, List([]map[string]any{obj})); err != nil {
		t.Fatal(err)
	}
	wantJSON := `{
    "apiVersion": "v1",
    "items": [
        {
            "apiVersion": "v1",
            "kind": "Pod",
            "metadata": {
                "name": "p"
            }
        }
    ],
    "kind": "List",
    "metadata": {
        "resourceVersion": ""
    }
}
`
	if j.String() != wantJSON {
		t.Fatalf("JSON:\n%s", j.String())
	}
	if err := WriteYAML(&y, List([]map[string]any{obj})); err != nil {
		t.Fatal(err)
	}
	wantYAML := `apiVersion: v1
items:
- apiVersion: v1
  kind: Pod
  metadata:
    name: p
kind: List
metadata:
  resourceVersion: ""
`
	if y.String() != wantYAML {
		t.Fatalf("YAML:\n%s", y.String())
	}
}
