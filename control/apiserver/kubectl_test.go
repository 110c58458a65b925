package apiserver_test

import (
	"bytes"
	"context"
	"os"
	"os/exec"
	"path/filepath"
	"regexp"
	"strconv"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/apiserver/apitest"
)

const kubectlPath = "/usr/bin/kubectl"

// kubectl runs the real kubectl against env, isolated from the user's
// configuration and cache.
type kubectl struct {
	t          *testing.T
	kubeconfig string
	home       string
}

func newKubectl(t *testing.T, env *apitest.Env) *kubectl {
	if _, err := os.Stat(kubectlPath); err != nil {
		t.Skipf("kubectl end-to-end tests need %s (kubectl v1.32): %v", kubectlPath, err)
	}
	return &kubectl{t: t, kubeconfig: env.Kubeconfig(t), home: t.TempDir()}
}

func (k *kubectl) cmd(c context.Context, args ...string) *exec.Cmd {
	args = append([]string{"--kubeconfig=" + k.kubeconfig, "--cache-dir=" + filepath.Join(k.home, "cache")}, args...)
	cmd := exec.CommandContext(c, kubectlPath, args...)
	cmd.Env = []string{"HOME=" + k.home, "PATH=/usr/bin:/bin"}
	cmd.Dir = "testdata"
	return cmd
}

// run runs kubectl to completion and returns its combined output.
func (k *kubectl) run(args ...string) (string, error) {
	k.t.Helper()
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	out, err := k.cmd(c, args...).CombinedOutput()
	if c.Err() != nil {
		k.t.Fatalf("kubectl %s did not finish in 60s: %s", strings.Join(args, " "), out)
	}
	return string(out), err
}

// ok runs kubectl and fails the test if it fails.
func (k *kubectl) ok(args ...string) string {
	k.t.Helper()
	out, err := k.run(args...)
	if err != nil {
		k.t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
	}
	return out
}

// fails runs kubectl, expecting a failure whose output matches re.
func (k *kubectl) fails(re string, args ...string) {
	k.t.Helper()
	out, err := k.run(args...)
	if err == nil || !regexp.MustCompile(re).MatchString(out) {
		k.t.Errorf("kubectl %s: err %v, output %q, want a failure matching %q", strings.Join(args, " "), err, out, re)
	}
}

func wantLines(t *testing.T, what, out string, res ...string) {
	t.Helper()
	for _, re := range res {
		if !regexp.MustCompile("(?m)" + re).MatchString(out) {
			t.Errorf("%s: no line matching %q in:\n%s", what, re, out)
		}
	}
}

func TestKubectl(t *testing.T) {
	env := apitest.Start(t)
	k := newKubectl(t, env)

	wantLines(t, "create", k.ok("create", "-f", "nginx-rc.yaml"), `^replicationcontroller/nginxs created$`)
	wantLines(t, "create svc", k.ok("create", "-f", "kube-ui-svc.yaml"), `^service/kube-ui created$`)
	wantLines(t, "get rc", k.ok("get", "rc"),
		`^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE$`, `^nginxs\s+10\s+0\s+0\s+\d+s$`)
	wantLines(t, "get rc -o wide", k.ok("get", "rc", "-o", "wide"),
		`^NAME\s+DESIRED\s+CURRENT\s+READY\s+AGE\s+CONTAINERS\s+IMAGES\s+SELECTOR$`, `^nginxs\s+10\s+0\s+0\s+\S+\s+nginx-single\s+ruo91/nginx:latest\s+app=nginx$`)
	wantLines(t, "get svc", k.ok("get", "svc", "-n", "kube-system", "-o", "wide"),
		`^NAME\s+TYPE\s+CLUSTER-IP\s+EXTERNAL-IP\s+PORT\(S\)\s+AGE\s+SELECTOR$`, `^kube-ui\s+ClusterIP\s+10\.(9[6-9]|1[01]\d)\.\d+\.\d+\s+<none>\s+80/TCP\s+\S+\s+k8s-app=kube-ui$`)
	wantLines(t, "get -o yaml", k.ok("get", "rc", "nginxs", "-o", "yaml"),
		`^apiVersion: v1$`, `^kind: ReplicationController$`, `^  uid: \S+`, `^  resourceVersion: "\d+"$`, `^    app: nginx$`, `^        - containerPort: 80$`, `^          protocol: TCP$`)
	wantLines(t, "get all", k.ok("get", "all", "--all-namespaces"),
		`^default\s+replicationcontroller/nginxs\s+10\s+0\s+0\s+`, `^kube-system\s+service/kube-ui\s+ClusterIP\s+`)

	// get -w sees a change.
	c, cancel := context.WithTimeout(context.Background(), 60*time.Second)
	defer cancel()
	var wout syncBuffer
	w := k.cmd(c, "get", "rc", "nginxs", "-w", "--output-watch-events")
	w.Stdout, w.Stderr = &wout, &wout
	if err := w.Start(); err != nil {
		t.Fatal(err)
	}
	waitFor(t, func() bool { return strings.Contains(wout.String(), "nginxs") }, "kubectl get -w to print the rc")
	wantLines(t, "scale", k.ok("scale", "rc", "nginxs", "--replicas=3"), `^replicationcontroller/nginxs scaled$`)
	waitFor(t, func() bool { return regexp.MustCompile(`(?m)^MODIFIED\s+nginxs\s+3\s`).MatchString(wout.String()) }, "kubectl get -w to show the scale")
	cancel()
	w.Wait()
	wantLines(t, "get after scale", k.ok("get", "rc", "nginxs"), `^nginxs\s+3\s+0\s+0\s`)

	// describe shows an event about the rc.
	rc, err := env.Client.CoreV1().ReplicationControllers("default").Get(ctx(t), "nginxs", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	now := metav1.Now()
	ev := &corev1.Event{
		ObjectMeta:     metav1.ObjectMeta{Name: "nginxs.e1"},
		InvolvedObject: corev1.ObjectReference{Kind: "ReplicationController", Namespace: "default", Name: "nginxs", UID: rc.UID, APIVersion: "v1"},
		Reason:         "SuccessfulCreate", Message: "Created pod: nginxs-abcde", Type: corev1.EventTypeNormal,
		Source: corev1.EventSource{Component: "replication-controller"}, FirstTimestamp: now, LastTimestamp: now, Count: 1,
	}
	if _, err := env.Client.CoreV1().Events("default").Create(ctx(t), ev, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "describe rc", k.ok("describe", "rc", "nginxs"),
		`^Name:\s+nginxs$`, `^Replicas:\s+0 current / 3 desired$`, `^\s+Normal\s+SuccessfulCreate\s+\S+\s+replication-controller\s+Created pod: nginxs-abcde$`)

	// apply: create, then a changed manifest as a strategic merge PATCH.
	manifest := filepath.Join(t.TempDir(), "web.yaml")
	writeManifest(t, manifest, 2)
	wantLines(t, "apply 1", k.ok("apply", "-f", manifest), `^replicationcontroller/web created$`)
	writeManifest(t, manifest, 4)
	wantLines(t, "apply 2", k.ok("apply", "-f", manifest), `^replicationcontroller/web configured$`)
	wantLines(t, "apply 3", k.ok("apply", "-f", manifest), `^replicationcontroller/web unchanged$`)
	wantLines(t, "metrics", string(call(t, env, "GET", "/metrics", nil).body),
		`^apiserver_request_total\{code="200",resource="replicationcontrollers",subresource="",verb="PATCH"\} 1$`)
	wantLines(t, "get web", k.ok("get", "rc", "web"), `^web\s+4\s`)

	// Errors print as kubectl prints kube's. (kubectl formats a 422 with
	// field causes as "The <Kind> "<name>" is invalid: <field>: ...", not
	// as "Error from server (Invalid)".)
	k.fails(`^The ReplicationController "BAD" is invalid: metadata.name: Invalid value: "BAD": a lowercase RFC 1123 subdomain`, "apply", "-f", badManifest(t))
	k.fails(`^The ReplicationController "BAD" is invalid: metadata.name: Invalid value: "BAD"`, "create", "-f", badManifest(t))
	stale := filepath.Join(t.TempDir(), "stale.json")
	if err := os.WriteFile(stale, []byte(k.ok("get", "rc", "web", "-o", "json")), 0o600); err != nil {
		t.Fatal(err)
	}
	k.ok("label", "rc", "web", "touched=yes")
	k.fails(`Error from server \(Conflict\): error when replacing ".*stale.json": Operation cannot be fulfilled on replicationcontrollers "web": the object has been modified; please apply your changes to the latest version and try again`,
		"replace", "-f", stale)
	k.fails(`Error from server \(NotFound\): replicationcontrollers "nope" not found`, "get", "rc", "nope")
	k.fails(`The Pod "unknown-field" is invalid: spec.bogus: unknown field "spec.bogus"`, "create", "-f", unknownFieldManifest(t))
	if _, err := env.Client.CoreV1().Pods("default").Get(ctx(t), "unknown-field", metav1.GetOptions{}); err == nil {
		t.Error("pod with an unknown field was created")
	}

	// explain reads the OpenAPI document.
	wantLines(t, "explain", k.ok("explain", "pods"), `^KIND:\s+Pod$`, `^VERSION:\s+v1$`, `^\s+spec\s+<Object>`)
	wantLines(t, "explain field", k.ok("explain", "rc.spec.replicas"), `^FIELD:\s+replicas <integer>$`)
	k.fails(`Error from server \(AlreadyExists\): error when creating "nginx-rc.yaml": replicationcontrollers "nginxs" already exists`, "create", "-f", "nginx-rc.yaml")
	k.fails(`error: Server-side apply not available on the server: \(server-side apply is not supported by tug; use .kubectl apply. without --server-side`, "apply", "--server-side", "-f", manifest)

	// delete returns promptly: controllers and services at once, and an
	// unbound pod (a bound one waits for its node agent).
	if _, err := env.Client.CoreV1().Pods("default").Create(ctx(t), testPod("loose"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	wantLines(t, "delete", k.ok("delete", "rc", "nginxs", "web"), `^replicationcontroller "nginxs" deleted$`, `^replicationcontroller "web" deleted$`)
	wantLines(t, "delete svc", k.ok("delete", "svc", "kube-ui", "-n", "kube-system"), `^service "kube-ui" deleted$`)
	wantLines(t, "delete pod", k.ok("delete", "pod", "loose"), `^pod "loose" deleted$`)
	wantLines(t, "empty", k.ok("get", "all"), `^No resources found in default namespace\.$`)
}

// syncBuffer is a bytes.Buffer safe for a writing process and a reading
// test.
type syncBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor polls cond; the deadline only guards against a hang.
func waitFor(t *testing.T, cond func() bool, what string) {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("timed out waiting for %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func writeManifest(t *testing.T, path string, replicas int) {
	t.Helper()
	m := strings.ReplaceAll(`apiVersion: v1
kind: ReplicationController
metadata:
  name: web
spec:
  replicas: REPLICAS
  template:
    metadata:
      labels:
        app: web
    spec:
      containers:
      - name: web
        image: busybox
        env:
        - name: A
          value: "1"
`, "REPLICAS", strconv.Itoa(replicas))
	if err := os.WriteFile(path, []byte(m), 0o600); err != nil {
		t.Fatal(err)
	}
}

func unknownFieldManifest(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "unknown.yaml")
	m := "apiVersion: v1\nkind: Pod\nmetadata:\n  name: unknown-field\nspec:\n  bogus: 1\n  containers:\n  - name: c\n    image: i\n"
	if err := os.WriteFile(path, []byte(m), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}

func badManifest(t *testing.T) string {
	t.Helper()
	path := filepath.Join(t.TempDir(), "bad.yaml")
	m := "apiVersion: v1\nkind: ReplicationController\nmetadata:\n  name: BAD\nspec:\n  template:\n    metadata:\n      labels:\n        app: x\n    spec:\n      containers:\n      - name: c\n        image: i\n"
	if err := os.WriteFile(path, []byte(m), 0o600); err != nil {
		t.Fatal(err)
	}
	return path
}
