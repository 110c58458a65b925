package openapi_test

import (
	"encoding/json"
	"net/http"
	"net/http/httptest"
	"os"
	"os/exec"
	"strings"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/apiserver/openapi"
)

const kubectlBinary = "/usr/bin/kubectl"

// discoveryServer serves the document at /openapi/v2 and just enough
// discovery (/version, /api, /api/v1, /apis) for kubectl to map "pods" to
// v1 Pod; /openapi/v3 is absent, so kubectl must use v2. The installed
// kubectl dispatches on the server's minor version to kubectl.1.<minor>.
func kubectl(t *testing.T, srv *httptest.Server, home string, args ...string) (string, error) {
	t.Helper()
	cmd := exec.Command(kubectlBinary, append([]string{"--server", srv.URL, "--cache-dir", home + "/cache"}, args...)...)
	cmd.Env = append(os.Environ(), "HOME="+home, "KUBECONFIG="+home+"/none")
	out, err := cmd.CombinedOutput()
	return string(out), err
}

func discoveryServer(t *testing.T, doc *openapi.Document, minor string) *httptest.Server {
	resources := metav1.APIResourceList{TypeMeta: metav1.TypeMeta{Kind: "APIResourceList", APIVersion: "v1"}, GroupVersion: "v1"}
	for _, k := range tugKinds() {
		r := metav1.APIResource{Name: k.Resource, Namespaced: k.Namespaced, Kind: k.Kind, Verbs: k.Verbs}
		if k.Group != "" {
			r.Group, r.Version = k.Group, k.Version
		}
		if !strings.Contains(k.Resource, "/") {
			r.SingularName = strings.ToLower(k.Kind)
		}
		resources.APIResources = append(resources.APIResources, r)
	}
	replies := map[string]any{
		"/version": map[string]string{"major": "1", "minor": minor, "gitVersion": "v1." + minor + ".0-tug"},
		"/api":     metav1.APIVersions{TypeMeta: metav1.TypeMeta{Kind: "APIVersions"}, Versions: []string{"v1"}},
		"/apis":    metav1.APIGroupList{TypeMeta: metav1.TypeMeta{Kind: "APIGroupList", APIVersion: "v1"}, Groups: []metav1.APIGroup{}},
		"/api/v1":  resources,
	}
	mux := http.NewServeMux()
	mux.Handle("/openapi/v2", doc)
	mux.HandleFunc("/", func(w http.ResponseWriter, r *http.Request) {
		reply, ok := replies[r.URL.Path]
		if !ok {
			http.NotFound(w, r)
			return
		}
		w.Header().Set("Content-Type", "application/json")
		json.NewEncoder(w).Encode(reply)
	})
	srv := httptest.NewServer(mux)
	t.Cleanup(srv.Close)
	return srv
}

// `kubectl explain` of every installed minor version, reading the document
// over the wire, walks into spec.containers[].ports[].containerPort.
func TestKubectlExplain(t *testing.T) {
	if _, err := os.Stat(kubectlBinary); err != nil {
		t.Skipf("needs kubectl at %s: %v", kubectlBinary, err)
	}
	doc := build(t)
	for _, minor := range []string{"27", "30", "32", "33"} {
		t.Run("1."+minor, func(t *testing.T) {
			srv := discoveryServer(t, doc, minor)
			home := t.TempDir()
			run := func(args ...string) string {
				t.Helper()
				out, err := kubectl(t, srv, home, args...)
				if err != nil {
					t.Fatalf("kubectl %s: %v\n%s", strings.Join(args, " "), err, out)
				}
				return out
			}
			out := run("explain", "pods.spec.containers.ports.containerPort", "--output=plaintext-openapiv2")
			for _, want := range []string{"KIND:", "Pod", "containerPort", "<integer>", "Number of port to expose"} {
				if !strings.Contains(out, want) {
					t.Fatalf("explain output lacks %q:\n%s", want, out)
				}
			}
			// Without --output kubectl tries /openapi/v3 first and falls
			// back to v2 on its 404.
			out = run("explain", "pods.spec.containers.ports")
			if !strings.Contains(out, "containerPort") || !strings.Contains(out, "-required-") {
				t.Fatalf("default explain output:\n%s", out)
			}
			out = run("explain", "services.spec.ports.targetPort", "--output=plaintext-openapiv2")
			if !strings.Contains(out, "<string>") && !strings.Contains(out, "<IntOrString>") {
				t.Fatalf("targetPort explained as:\n%s", out)
			}
			out = run("explain", "replicationcontrollers", "--output=plaintext-openapiv2")
			if !strings.Contains(out, "ReplicationController") || !strings.Contains(out, "spec") {
				t.Fatalf("replicationcontrollers explained as:\n%s", out)
			}
		})
	}
}

const typoManifest = `apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c, image: busybox, imagee: typo, ports: [{containerPort: 80}]}]}
`

const goodManifest = `apiVersion: v1
kind: ReplicationController
metadata: {name: web}
spec:
  replicas: 2
  selector: {app: web}
  template:
    metadata: {labels: {app: web}}
    spec:
      containers:
      - {name: web, image: busybox, ports: [{containerPort: 8080}], resources: {limits: {memory: 64Mi}}}
`

// kubectl --validate checks manifests against the document itself unless
// the document says the server validates (WithServerFieldValidation).
func TestKubectlValidates(t *testing.T) {
	if _, err := os.Stat(kubectlBinary); err != nil {
		t.Skipf("needs kubectl at %s: %v", kubectlBinary, err)
	}
	home := t.TempDir()
	for name, m := range map[string]string{"typo": typoManifest, "good": goodManifest} {
		if err := os.WriteFile(home+"/"+name+".yaml", []byte(m), 0o600); err != nil {
			t.Fatal(err)
		}
	}
	clientSide := discoveryServer(t, build(t), "32")
	out, err := kubectl(t, clientSide, t.TempDir(), "create", "--dry-run=client", "--validate=true", "-f", home+"/typo.yaml")
	if err == nil || !strings.Contains(out, `unknown field "imagee"`) {
		t.Fatalf("kubectl accepted a typo: %v\n%s", err, out)
	}
	if out, err := kubectl(t, clientSide, t.TempDir(), "create", "--dry-run=client", "--validate=true", "-f", home+"/good.yaml"); err != nil {
		t.Fatalf("kubectl rejected a valid manifest: %v\n%s", err, out)
	}

	serverSide, err := openapi.Build(tugKinds(), openapi.WithServerFieldValidation())
	if err != nil {
		t.Fatal(err)
	}
	// With client dry-run nothing reaches the server, so the typo passes:
	// kubectl has left validation to it.
	if out, err := kubectl(t, discoveryServer(t, serverSide, "32"), t.TempDir(), "create", "--dry-run=client", "--validate=true", "-f", home+"/typo.yaml"); err != nil {
		t.Fatalf("kubectl validated client-side although the server validates: %v\n%s", err, out)
	}
}
