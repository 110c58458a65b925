package manifest

import (
	"bytes"
	"encoding/json"
	"errors"
	"os"
	"path/filepath"
	"strings"
	"testing"
)

type summary struct {
	Source, APIVersion, Kind, Name string
	Line                           int
}

func summarize(objs []Object) []summary {
	var out []summary
	for _, o := range objs {
		out = append(out, summary{o.Source, o.Object.GetAPIVersion(), o.Object.GetKind(), o.Object.GetName(), o.Line})
	}
	return out
}

func equalSummaries(a, b []summary) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func readTestdata(t *testing.T, name string) []byte {
	t.Helper()
	data, err := os.ReadFile(filepath.Join("testdata", name))
	if err != nil {
		t.Fatal(err)
	}
	return data
}

func TestDecodeSeedExamples(t *testing.T) {
	want := map[string][]summary{
		"nginx.yaml":       {{"nginx.yaml", "v1", "ReplicationController", "nginxs", 1}},
		"kube-ui-rc.yaml":  {{"kube-ui-rc.yaml", "v1", "ReplicationController", "kube-ui-v3", 1}},
		"kube-ui-svc.yaml": {{"kube-ui-svc.yaml", "v1", "Service", "kube-ui", 1}},
	}
	for name, w := range want {
		data, err := os.ReadFile(filepath.Join("..", "..", "..", "examples", name))
		if err != nil {
			t.Fatal(err)
		}
		objs, err := Decode(name, data)
		if err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if got := summarize(objs); !equalSummaries(got, w) {
			t.Errorf("%s: got %+v, want %+v", name, got, w)
		}
	}
}

func TestDecode(t *testing.T) {
	tests := []struct {
		name string
		file string
		want []summary
	}{
		{"multi-document YAML", "multi.yaml", []summary{
			{"multi.yaml", "v1", "Service", "web", 3},
			{"multi.yaml", "v1", "Pod", "web-0", 11},
		}},
		{"JSON stream with a List", "list.json", []summary{
			{"list.json", "v1", "Namespace", "team-a", 1},
			{"list.json", "v1", "ConfigMap", "cfg", 1},
			{"list.json", "v1", "Pod", "p", 9},
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode(tt.file, readTestdata(t, tt.file))
			if err != nil {
				t.Fatal(err)
			}
			if got := summarize(objs); !equalSummaries(got, tt.want) {
				t.Fatalf("got  %+v\nwant %+v", got, tt.want)
			}
		})
	}
}

func TestDecodeNumbersAreUnstructuredSafe(t *testing.T) {
	objs, err := Decode("list.json", readTestdata(t, "list.json"))
	if err != nil {
		t.Fatal(err)
	}
	// DeepCopy panics on plain Go ints; numbers must be int64 or float64.
	for _, o := range objs {
		_ = o.Object.DeepCopy()
	}
	objs, err = Decode("x.yaml", []byte("apiVersion: v1\nkind: ReplicationController\nmetadata: {name: x}\nspec: {replicas: 3}\n"))
	if err != nil {
		t.Fatal(err)
	}
	if r, ok := objs[0].Object.Object["spec"].(map[string]any)["replicas"].(int64); !ok || r != 3 {
		t.Fatalf("replicas = %#v, want int64(3)", objs[0].Object.Object["spec"])
	}
}

func TestDecodeYAMLList(t *testing.T) {
	data := []byte(`apiVersion: v1
kind: List
items:
- apiVersion: v1
  kind: Service
  metadata: {name: a}
- apiVersion: v1
  kind: ReplicationControllerList
  items:
  - apiVersion: v1
    kind: ReplicationController
    metadata: {name: b}
`)
	objs, err := Decode("l.yaml", data)
	if err != nil {
		t.Fatal(err)
	}
	want := []summary{{"l.yaml", "v1", "Service", "a", 1}, {"l.yaml", "v1", "ReplicationController", "b", 1}}
	if got := summarize(objs); !equalSummaries(got, want) {
		t.Fatalf("got %+v, want %+v", got, want)
	}
}

func TestDecodeErrors(t *testing.T) {
	tests := []struct {
		name     string
		source   string
		data     string
		wantErrs []string
		wantObjs int
	}{
		{"bad indentation (the blog copy)", "bad-indent.yaml", string(readTestdata(t, "bad-indent.yaml")),
			[]string{"bad-indent.yaml: line 7: mapping values are not allowed in this context"}, 0},
		{"tab indentation", "tabs.yaml", string(readTestdata(t, "tabs.yaml")),
			[]string{"tabs.yaml: line 4: found character that cannot start any token"}, 0},
		{"error in second document counts lines from the file start", "two.yaml",
			"apiVersion: v1\nkind: Service\nmetadata:\n  name: ok\n---\napiVersion: v1\nkind: Pod\nmetadata:\n  name: x\n   bad: 1\n",
			[]string{"two.yaml: line 10: mapping values are not allowed in this context"}, 1},
		{"missing kind", "nokind.yaml", "apiVersion: v1\nmetadata:\n  name: x\n",
			[]string{`nokind.yaml: line 1: "kind" is not set: every object needs apiVersion and kind (for example "apiVersion: v1" and "kind: ReplicationController")`}, 0},
		{"missing apiVersion in second document", "noapi.yaml", "apiVersion: v1\nkind: Pod\nmetadata: {name: a}\n---\nkind: Pod\nmetadata: {name: b}\n",
			[]string{`noapi.yaml: line 5: "apiVersion" is not set: every object needs apiVersion and kind (for example "apiVersion: v1" and "kind: ReplicationController")`}, 1},
		{"kind not a string", "k.yaml", "apiVersion: v1\nkind: 3\n",
			[]string{`k.yaml: line 1: "kind" must be a string, found the number 3`}, 0},
		{"scalar document", "s.yaml", "just text\n",
			[]string{`s.yaml: line 1: expected an object with apiVersion and kind, found the string "just text"`}, 0},
		{"list document", "l.yaml", "- a\n- b\n",
			[]string{`l.yaml: line 1: expected an object with apiVersion and kind, found a list`}, 0},
		{"duplicate key", "d.yaml", "apiVersion: v1\nkind: Pod\nkind: Service\n",
			[]string{`d.yaml: line 3: key "kind" already set in map`}, 0},
		{"list item without kind", "li.yaml", "apiVersion: v1\nkind: List\nitems:\n- apiVersion: v1\n  metadata: {name: a}\n- 7\n",
			[]string{
				`li.yaml: line 1: items[0]: "kind" is not set: every object needs apiVersion and kind (for example "apiVersion: v1" and "kind: ReplicationController")`,
				`li.yaml: line 1: items[1]: expected an object with apiVersion and kind, found the number 7`,
			}, 0},
		{"text after separator", "sep.yaml", "apiVersion: v1\nkind: Pod\n--- kind: x\n",
			[]string{`sep.yaml: line 3: unexpected "kind: x" after the document separator "---" (only a comment may follow it)`}, 1},
		{"JSON syntax error", "bad.json", "{\n  \"apiVersion\": \"v1\",\n  \"kind\": \"Pod\"\n  \"metadata\": {}\n}\n",
			[]string{`bad.json: line 4: invalid JSON: invalid character '"' after object key:value pair`}, 0},
		{"JSON truncated", "cut.json", "{\"apiVersion\": \"v1\",\n \"kind\": \"Pod\"",
			[]string{`cut.json: line 2: invalid JSON: unexpected end of input (unclosed { or [ ?)`}, 0},
		{"JSON array", "arr.json", `[{"apiVersion":"v1","kind":"Pod"}]`,
			[]string{`arr.json: line 1: expected an object with apiVersion and kind, found a list`}, 0},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			objs, err := Decode(tt.source, []byte(tt.data))
			if len(objs) != tt.wantObjs {
				t.Errorf("got %d objects, want %d", len(objs), tt.wantObjs)
			}
			if err == nil {
				t.Fatal("no error")
			}
			if !errors.Is(err, ErrInvalid) {
				t.Errorf("error %v does not wrap ErrInvalid", err)
			}
			got := strings.Split(err.Error(), "\n")
			if strings.Join(got, "\n") != strings.Join(tt.wantErrs, "\n") {
				t.Fatalf("errors:\n%s\nwant:\n%s", strings.Join(got, "\n"), strings.Join(tt.wantErrs, "\n"))
			}
		})
	}
}

func TestDecodeEmpty(t *testing.T) {
	for _, in := range []string{"", "\n\n", "# only a comment\n", "---\n---\n", "\xef\xbb\xbf"} {
		objs, err := Decode("e.yaml", []byte(in))
		if err != nil || len(objs) != 0 {
			t.Errorf("Decode(%q) = %d objects, %v", in, len(objs), err)
		}
	}
}

func TestRead(t *testing.T) {
	dir := t.TempDir()
	write := func(name, content string) {
		t.Helper()
		p := filepath.Join(dir, name)
		if err := os.MkdirAll(filepath.Dir(p), 0o755); err != nil {
			t.Fatal(err)
		}
		if err := os.WriteFile(p, []byte(content), 0o644); err != nil {
			t.Fatal(err)
		}
	}
	write("b.yaml", "apiVersion: v1\nkind: Service\nmetadata: {name: b}\n")
	write("a.json", `{"apiVersion":"v1","kind":"Service","metadata":{"name":"a"}}`)
	write("notes.txt", "not a manifest")
	write("sub/c.yml", "apiVersion: v1\nkind: Service\nmetadata: {name: c}\n")

	names := func(objs []Object) string {
		var n []string
		for _, o := range objs {
			n = append(n, o.Object.GetName())
		}
		return strings.Join(n, ",")
	}
	objs, err := Read([]string{dir}, false, nil)
	if err != nil || names(objs) != "a,b" {
		t.Fatalf("non-recursive: %q, %v", names(objs), err)
	}
	objs, err = Read([]string{dir}, true, nil)
	if err != nil || names(objs) != "a,b,c" {
		t.Fatalf("recursive: %q, %v", names(objs), err)
	}
	if objs[0].Source != filepath.Join(dir, "a.json") {
		t.Fatalf("source = %q", objs[0].Source)
	}
	stdin := bytes.NewBufferString("apiVersion: v1\nkind: Service\nmetadata: {name: s}\n")
	objs, err = Read([]string{"-", filepath.Join(dir, "notes.txt")}, false, stdin)
	if names(objs) != "s" || objs[0].Source != StdinSource {
		t.Fatalf("stdin: %q from %q", names(objs), objs[0].Source)
	}
	// A file named explicitly is decoded whatever its extension.
	if err == nil || !strings.Contains(err.Error(), "notes.txt: line 1: expected an object") {
		t.Fatalf("explicit notes.txt error = %v", err)
	}
	_, err = Read([]string{filepath.Join(dir, "missing.yaml")}, false, nil)
	if !errors.Is(err, ErrNoSuchPath) || !strings.Contains(err.Error(), `the path "`+filepath.Join(dir, "missing.yaml")+`" does not exist`) {
		t.Fatalf("missing path error = %v", err)
	}
}

// FuzzDecode checks that no input makes Decode panic, that every object it
// returns has apiVersion and kind, that every error is a manifest error,
// and that objects survive a JSON round trip unchanged. The seed corpus is
// testdata/ and the seed's examples/; it runs in the normal test suite.
func FuzzDecode(f *testing.F) {
	for _, pattern := range []string{"testdata/*", "../../../examples/*.yaml"} {
		files, err := filepath.Glob(pattern)
		if err != nil {
			f.Fatal(err)
		}
		for _, file := range files {
			if info, err := os.Stat(file); err != nil || info.IsDir() {
				continue
			}
			data, err := os.ReadFile(file)
			if err != nil {
				f.Fatal(err)
			}
			f.Add(data)
		}
	}
	f.Add([]byte("---\n--- #x\n----\n"))
	f.Add([]byte(`{"apiVersion":"v1","kind":"List","items":null}{"a":`))
	f.Fuzz(func(t *testing.T, data []byte) {
		objs, err := Decode("fuzz.yaml", data)
		if err != nil {
			for _, e := range unjoin(err) {
				if !errors.Is(e, ErrInvalid) {
					t.Fatalf("error %q (%T) is not a manifest error", e, e)
				}
			}
		}
		for _, o := range objs {
			if o.Object.GetAPIVersion() == "" || o.Object.GetKind() == "" {
				t.Fatalf("object without apiVersion/kind: %v", o.Object.Object)
			}
			if o.Line < 1 {
				t.Fatalf("object line %d", o.Line)
			}
			if strings.HasSuffix(o.Object.GetKind(), "List") {
				continue // a nested list item would be flattened again
			}
			first, err := json.Marshal(o.Object.Object)
			if err != nil {
				t.Fatalf("marshal: %v", err)
			}
			again, err := Decode("again.json", first)
			if err != nil || len(again) != 1 {
				t.Fatalf("round trip of %s: %d objects, %v", first, len(again), err)
			}
			second, _ := json.Marshal(again[0].Object.Object)
			if !bytes.Equal(first, second) {
				t.Fatalf("round trip changed the object:\n%s\n%s", first, second)
			}
		}
	})
}

func unjoin(err error) []error {
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, unjoin(e)...)
		}
		return out
	}
	return []error{err}
}
