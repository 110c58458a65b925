package cli

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"net"
	"strings"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/control/client"
)

// closedAddr is a loopback address nothing listens on.
func closedAddr(t *testing.T) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

// runCLI runs one command in process, as cmd/tug does.
func runCLI(t *testing.T, getenv func(string) string, stdin string, args ...string) (string, string, int) {
	t.Helper()
	for _, c := range Commands(Options{ClientVersion: "v9.9.9-test", Getenv: getenv}) {
		if c.Name != args[0] && !contains(c.Aliases, args[0]) {
			continue
		}
		var out, errOut bytes.Buffer
		code := c.Run(context.Background(), args[1:], Streams{In: strings.NewReader(stdin), Out: &out, ErrOut: &errOut})
		return out.String(), errOut.String(), code
	}
	t.Fatalf("no command %q", args[0])
	return "", "", 0
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

func TestParseTargets(t *testing.T) {
	tests := []struct {
		args []string
		want []target
	}{
		{[]string{"pods"}, []target{{resource: "pods"}}},
		{[]string{"pods", "a", "b"}, []target{{resource: "pods", names: []string{"a", "b"}}}},
		{[]string{"rc,pods"}, []target{{resource: "rc"}, {resource: "pods"}}},
		{[]string{"rc,svc", "web"}, []target{{resource: "rc", names: []string{"web"}}, {resource: "svc", names: []string{"web"}}}},
		{[]string{"pod/a", "pod/b", "rc/c"}, []target{{resource: "pod", names: []string{"a", "b"}}, {resource: "rc", names: []string{"c"}}}},
	}
	for _, tt := range tests {
		got, err := parseTargets(tt.args)
		if err != nil {
			t.Errorf("parseTargets(%q): %v", tt.args, err)
			continue
		}
		if len(got) != len(tt.want) {
			t.Errorf("parseTargets(%q) = %+v, want %+v", tt.args, got, tt.want)
			continue
		}
		for i := range got {
			if got[i].resource != tt.want[i].resource || strings.Join(got[i].names, ",") != strings.Join(tt.want[i].names, ",") {
				t.Errorf("parseTargets(%q)[%d] = %+v, want %+v", tt.args, i, got[i], tt.want[i])
			}
		}
	}
	for _, bad := range [][]string{{"pods", "pod/a"}, {"pod/a", "b"}, {"pod/"}, {"rc,,pods"}} {
		if _, err := parseTargets(bad); err == nil {
			t.Errorf("parseTargets(%q) succeeded", bad)
		}
	}
	if _, err := parseTargets(nil); !errors.Is(err, errNoResourceType) {
		t.Errorf("parseTargets(nil) error = %v", err)
	}
}

func TestObjectNamespace(t *testing.T) {
	namespaced := client.Mapping{Namespaced: true}
	tests := []struct {
		own, cmd string
		explicit bool
		mp       client.Mapping
		want     string
		wantErr  string
	}{
		{"", "default", false, namespaced, "default", ""},
		{"kube-system", "default", false, namespaced, "kube-system", ""},
		{"kube-system", "kube-system", true, namespaced, "kube-system", ""},
		{"kube-system", "default", true, namespaced, "", `the namespace from the provided object "kube-system" does not match the namespace "default". You must pass '--namespace=kube-system' to perform this operation.`},
		{"ignored", "default", true, client.Mapping{}, "", ""},
	}
	for _, tt := range tests {
		got, err := objectNamespace(tt.mp, tt.own, tt.cmd, tt.explicit)
		if got != tt.want || (err == nil) != (tt.wantErr == "") || (err != nil && err.Error() != tt.wantErr) {
			t.Errorf("objectNamespace(%q, %q, %v) = %q, %v", tt.own, tt.cmd, tt.explicit, got, err)
		}
	}
}

func TestDeleteOptions(t *testing.T) {
	tests := []struct {
		flags     deleteFlags
		wantGrace int64 // -1: not sent
		wantProp  metav1.DeletionPropagation
		wantErr   bool
	}{
		{deleteFlags{gracePeriod: -1, cascade: "background"}, -1, metav1.DeletePropagationBackground, false},
		{deleteFlags{gracePeriod: 5, cascade: "foreground"}, 5, metav1.DeletePropagationForeground, false},
		{deleteFlags{gracePeriod: -1, now: true, cascade: "orphan"}, 1, metav1.DeletePropagationOrphan, false},
		{deleteFlags{gracePeriod: 0, cascade: "true"}, 1, metav1.DeletePropagationBackground, false},
		{deleteFlags{gracePeriod: 0, force: true, cascade: "false"}, 0, metav1.DeletePropagationOrphan, false},
		{deleteFlags{gracePeriod: -1, force: true, cascade: "background"}, 0, metav1.DeletePropagationBackground, false},
		{deleteFlags{gracePeriod: 3, now: true, cascade: "background"}, 0, "", true},
		{deleteFlags{gracePeriod: -1, cascade: "sideways"}, 0, "", true},
	}
	for _, tt := range tests {
		opts, err := tt.flags.deleteOptions()
		if tt.wantErr {
			if err == nil {
				t.Errorf("%+v: no error", tt.flags)
			}
			continue
		}
		if err != nil {
			t.Errorf("%+v: %v", tt.flags, err)
			continue
		}
		grace := int64(-1)
		if opts.GracePeriodSeconds != nil {
			grace = *opts.GracePeriodSeconds
		}
		if grace != tt.wantGrace || *opts.PropagationPolicy != tt.wantProp {
			t.Errorf("%+v: grace %d policy %s, want %d %s", tt.flags, grace, *opts.PropagationPolicy, tt.wantGrace, tt.wantProp)
		}
	}
}

func TestPodLogOptions(t *testing.T) {
	l := logsFlags{follow: true, tail: 10, timestamps: true, previous: true, since: 90*time.Second + time.Millisecond, limitBytes: 4096}
	opts, err := l.podLogOptions("web")
	if err != nil {
		t.Fatal(err)
	}
	if opts.Container != "web" || !opts.Follow || !opts.Timestamps || !opts.Previous || *opts.TailLines != 10 || *opts.SinceSeconds != 91 || *opts.LimitBytes != 4096 || opts.SinceTime != nil {
		t.Fatalf("options = %+v", opts)
	}
	l = logsFlags{tail: -1, sinceTime: "2015-07-08T10:00:00Z"}
	opts, err = l.podLogOptions("")
	if err != nil || opts.TailLines != nil || opts.SinceTime == nil || !opts.SinceTime.Equal(&metav1.Time{Time: time.Date(2015, 7, 8, 10, 0, 0, 0, time.UTC)}) {
		t.Fatalf("since-time options = %+v, %v", opts, err)
	}
	for _, bad := range []logsFlags{{tail: -1, since: time.Second, sinceTime: "2015-07-08T10:00:00Z"}, {tail: -1, sinceTime: "yesterday"}, {tail: -1, limitBytes: -2}} {
		if _, err := bad.podLogOptions(""); err == nil {
			t.Errorf("%+v: no error", bad)
		}
	}
}

func TestSetLastApplied(t *testing.T) {
	obj := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Service",
		"metadata": map[string]any{"name": "web", "namespace": "default"},
		"spec":     map[string]any{"ports": []any{map[string]any{"port": int64(80)}}},
	}}
	if err := setLastApplied(obj); err != nil {
		t.Fatal(err)
	}
	// Byte for byte what kubectl writes, so kubectl apply and tug apply
	// see each other's configuration as unchanged.
	want := `{"apiVersion":"v1","kind":"Service","metadata":{"annotations":{},"name":"web","namespace":"default"},"spec":{"ports":[{"port":80}]}}` + "\n"
	if got := obj.GetAnnotations()[lastAppliedAnnotation]; got != want {
		t.Fatalf("annotation = %q\nwant         %q", got, want)
	}
	// Applying again replaces the annotation instead of nesting it.
	if err := setLastApplied(obj); err != nil {
		t.Fatal(err)
	}
	if got := obj.GetAnnotations()[lastAppliedAnnotation]; got != want {
		t.Fatalf("second annotation = %q", got)
	}
}

func TestThreeWayPatch(t *testing.T) {
	rc := func(replicas int64, labels map[string]any, containers ...map[string]any) *unstructured.Unstructured {
		cs := make([]any, 0, len(containers))
		for _, c := range containers {
			cs = append(cs, c)
		}
		return &unstructured.Unstructured{Object: map[string]any{
			"apiVersion": "v1", "kind": "ReplicationController",
			"metadata": map[string]any{"name": "nginxs", "labels": labels},
			"spec": map[string]any{"replicas": replicas, "template": map[string]any{
				"spec": map[string]any{"containers": cs}}},
		}}
	}
	nginx := map[string]any{"name": "nginx", "image": "nginx:1"}
	sidecar := map[string]any{"name": "log", "image": "busybox"}
	original := rc(10, map[string]any{"app": "nginx", "old": "x"}, nginx, sidecar)
	modified := rc(3, map[string]any{"app": "nginx"}, map[string]any{"name": "nginx", "image": "nginx:2"})
	live := rc(10, map[string]any{"app": "nginx", "old": "x", "added-by-server": "y"}, nginx, sidecar)
	enc := func(u *unstructured.Unstructured) []byte { b, _ := json.Marshal(u.Object); return b }
	patch, typ, err := threeWayPatch(enc(original), enc(modified), enc(live), modified)
	if err != nil {
		t.Fatal(err)
	}
	if typ != types.StrategicMergePatchType {
		t.Fatalf("patch type %s", typ)
	}
	var p map[string]any
	if err := json.Unmarshal(patch, &p); err != nil {
		t.Fatal(err)
	}
	meta := p["metadata"].(map[string]any)
	if labels := meta["labels"].(map[string]any); labels["old"] != nil || len(labels) != 1 {
		t.Errorf("labels patch %v: want only old removed", labels)
	}
	spec := p["spec"].(map[string]any)
	if spec["replicas"] != float64(3) {
		t.Errorf("replicas patch %v", spec["replicas"])
	}
	// Containers merge by name: nginx updated, the sidecar the manifest no
	// longer has is deleted, by strategic merge directives.
	s := string(patch)
	for _, want := range []string{`"$setElementOrder/containers":[{"name":"nginx"}]`, `{"$patch":"delete","name":"log"}`, `"image":"nginx:2"`} {
		if !strings.Contains(s, want) {
			t.Errorf("patch %s lacks %s", s, want)
		}
	}
	// Unchanged: the empty patch.
	patch, _, err = threeWayPatch(enc(modified), enc(modified), enc(modified), modified)
	if err != nil || string(patch) != "{}" {
		t.Fatalf("no-op patch = %s, %v", patch, err)
	}
	// Kinds without a Go type fall back to a JSON merge patch.
	widget := &unstructured.Unstructured{Object: map[string]any{"apiVersion": "example.com/v1", "kind": "Widget", "metadata": map[string]any{"name": "w"}, "size": int64(2)}}
	patch, typ, err = threeWayPatch(nil, enc(widget), []byte(`{"apiVersion":"example.com/v1","kind":"Widget","metadata":{"name":"w"},"size":1}`), widget)
	if err != nil || typ != types.MergePatchType || string(patch) != `{"size":2}` {
		t.Fatalf("merge patch = %s %s %v", patch, typ, err)
	}
}

func TestReport(t *testing.T) {
	var b bytes.Buffer
	err := errors.Join(
		apierrors.NewNotFound(schema.GroupResource{Resource: "pods"}, "a"),
		errors.New("x.yaml: line 3: bad"),
		&client.UnreachableError{Server: "http://127.0.0.1:1", Reason: "connection refused", Err: errors.New("dial")},
	)
	if code := report(&b, err); code != 1 {
		t.Fatalf("code %d", code)
	}
	want := "Error from server (NotFound): pods \"a\" not found\nerror: x.yaml: line 3: bad\n" +
		"cannot reach the API server at http://127.0.0.1:1: connection refused (is \"tug server\" or \"tug up\" running? set -s or TUG_SERVER)\n"
	if b.String() != want {
		t.Fatalf("report printed:\n%s\nwant:\n%s", b.String(), want)
	}
	b.Reset()
	if code := report(&b, exitCode(7)); code != 7 || b.Len() != 0 {
		t.Fatalf("exitCode: %d %q", code, b.String())
	}
	if code := report(&b, nil); code != 0 {
		t.Fatalf("nil: %d", code)
	}
}

func TestCommandsWithoutServer(t *testing.T) {
	addr := closedAddr(t)
	getenv := func(k string) string {
		if k == client.EnvServer {
			return addr
		}
		return ""
	}
	unreachable := "cannot reach the API server at http://" + addr + ": connection refused (is \"tug server\" or \"tug up\" running? set -s or TUG_SERVER)\n"
	tests := []struct {
		args          []string
		wantOut       string
		wantErrPrefix string
		wantCode      int
	}{
		{[]string{"get", "pods"}, "", unreachable, 1},
		{[]string{"version"}, "Client Version: v9.9.9-test\n", unreachable, 1},
		{[]string{"version", "--client"}, "Client Version: v9.9.9-test\n", "", 0},
		{[]string{"create", "-f", "../../examples/nginx.yaml"}, "", unreachable, 1},
		{[]string{"create"}, "", "error: must specify -f FILE", 1},
		{[]string{"create", "-f", "manifest/testdata/bad-indent.yaml"}, "", "error: manifest/testdata/bad-indent.yaml: line 7: mapping values are not allowed in this context\n", 1},
		{[]string{"create", "-f", "nope.yaml"}, "", "error: no such manifest path: the path \"nope.yaml\" does not exist\n", 1},
		{[]string{"get"}, "", "error: you must specify the type of resource to get", 1},
		{[]string{"get", "pods", "-o", "table"}, "", `error: unable to match a printer suitable for the output format "table", allowed formats are: json,name,wide,yaml`, 1},
		{[]string{"get", "pods", "--bogus"}, "", "error: unknown flag: --bogus\nSee 'tug get --help' for usage.\n", 1},
		{[]string{"scale", "rc", "x"}, "", "error: the --replicas=COUNT flag is required", 1},
		{[]string{"logs"}, "", "error: expected a pod", 1},
		{[]string{"exec", "p"}, "", "error: expected a pod and a command", 1},
		{[]string{"delete", "pods", "--now", "--grace-period=3"}, "", "error: --now and --grace-period cannot be specified together\n", 1},
		{[]string{"get", "pods", "-s", "ftp://x"}, "", `error: invalid API server address "ftp://x": scheme "ftp" is not http or https`, 1},
	}
	for _, tt := range tests {
		out, errOut, code := runCLI(t, getenv, "", tt.args...)
		if code != tt.wantCode || out != tt.wantOut || !strings.HasPrefix(errOut, tt.wantErrPrefix) || (tt.wantErrPrefix == "" && errOut != "") {
			t.Errorf("tug %s: exit %d, stdout %q, stderr %q; want exit %d, stdout %q, stderr starting %q",
				strings.Join(tt.args, " "), code, out, errOut, tt.wantCode, tt.wantOut, tt.wantErrPrefix)
		}
	}
}

func TestHelp(t *testing.T) {
	out, errOut, code := runCLI(t, nil, "", "get", "--help")
	if code != 0 || errOut != "" || !strings.Contains(out, "Usage:\n  tug get (TYPE[,TYPE...]") || !strings.Contains(out, "-s, --server string") {
		t.Fatalf("help: %d %q %q", code, out, errOut)
	}
}
