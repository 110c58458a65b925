package apiserver_test

import (
	"bytes"
	"fmt"
	"io"
	"net/http"
	"regexp"
	"strings"
	"sync"
	"testing"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/control/apiserver"
	"github.com/tug-sh/tug/control/apiserver/apitest"
)

func TestCreateSetsServerMetadata(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	in := testPod("meta")
	in.UID = "client-uid"
	in.ResourceVersion = ""
	in.Generation = 7
	in.Finalizers = []string{"example.com/keep"}
	in.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ReplicationController", Name: "rc", UID: "u1", Controller: ptr(true)}}
	in.ManagedFields = []metav1.ManagedFieldsEntry{{Manager: "kubectl", Operation: metav1.ManagedFieldsOperationUpdate, APIVersion: "v1"}}
	in.Annotations = map[string]string{"a": "b"}
	got, err := pods.Create(ctx(t), in, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	switch {
	case got.UID == "" || got.UID == "client-uid":
		t.Errorf("uid = %q, want a server-generated one", got.UID)
	case got.CreationTimestamp.IsZero():
		t.Error("no creationTimestamp")
	case got.Generation != 1:
		t.Errorf("generation = %d, want 1", got.Generation)
	case got.ResourceVersion == "":
		t.Error("no resourceVersion")
	case len(got.ManagedFields) != 0:
		t.Errorf("managedFields kept: %v", got.ManagedFields)
	case len(got.Finalizers) != 1 || len(got.OwnerReferences) != 1 || got.Annotations["a"] != "b":
		t.Errorf("finalizers/ownerReferences/annotations not kept as given: %+v", got.ObjectMeta)
	case got.Status.Phase != corev1.PodPending:
		t.Errorf("phase = %q, want Pending", got.Status.Phase)
	}
	// Raw responses carry kind and apiVersion.
	r := call(t, env, "GET", "/api/v1/namespaces/default/pods/meta", nil)
	var raw map[string]any
	r.into(t, &raw)
	if raw["kind"] != "Pod" || raw["apiVersion"] != "v1" {
		t.Errorf("GET answered kind %v apiVersion %v", raw["kind"], raw["apiVersion"])
	}
	// Clear the finalizer so the test's etcd is left tidy.
	got.Finalizers = nil
	if _, err := pods.Update(ctx(t), got, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
}

func TestCreateGenerateName(t *testing.T) {
	env := apitest.Start(t)
	in := testPod("")
	in.GenerateName = "web-"
	seen := map[string]bool{}
	for i := 0; i < 5; i++ {
		got, err := env.Client.CoreV1().Pods("default").Create(ctx(t), in, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if !regexp.MustCompile(`^web-[bcdfghjklmnpqrstvwxz2456789]{5}$`).MatchString(got.Name) {
			t.Errorf("generated name %q does not follow kube's pattern", got.Name)
		}
		seen[got.Name] = true
	}
	if len(seen) != 5 {
		t.Errorf("generated names collide: %v", seen)
	}
	r := call(t, env, "POST", "/api/v1/namespaces/default/pods", []byte(`{"apiVersion":"v1","kind":"Pod","spec":{"containers":[{"name":"c","image":"i"}]}}`))
	if st := r.status(t); r.code != 422 || !strings.Contains(st.Message, "name or generateName is required") {
		t.Errorf("pod without a name: %d %s", r.code, st.Message)
	}
}

func TestCreateDryRun(t *testing.T) {
	env := apitest.Start(t)
	got, err := env.Client.CoreV1().Pods("default").Create(ctx(t), testPod("dry"), metav1.CreateOptions{DryRun: []string{metav1.DryRunAll}})
	if err != nil {
		t.Fatal(err)
	}
	if got.Name != "dry" || got.UID == "" {
		t.Errorf("dry-run answer %+v", got.ObjectMeta)
	}
	if _, err := env.Client.CoreV1().Pods("default").Get(ctx(t), "dry", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("dry-run create stored the pod: %v", err)
	}
	r := call(t, env, "POST", "/api/v1/namespaces/default/pods?dryRun=Some", mustJSON(t, testPod("dry")))
	if r.code != 400 {
		t.Errorf("dryRun=Some: %d, want 400", r.code)
	}
}

func TestCreateFieldValidation(t *testing.T) {
	env := apitest.Start(t)
	body := []byte(`{"apiVersion":"v1","kind":"Pod","metadata":{"name":"fv"},"spec":{"bogus":true,"containers":[{"name":"c","image":"i"}]}}`)
	r := call(t, env, "POST", "/api/v1/namespaces/default/pods?fieldValidation=Strict", body)
	st := r.status(t)
	if r.code != 422 || st.Reason != metav1.StatusReasonInvalid || st.Details == nil || len(st.Details.Causes) != 1 || st.Details.Causes[0].Field != "spec.bogus" {
		t.Fatalf("Strict: %d %+v", r.code, st)
	}
	if _, err := env.Client.CoreV1().Pods("default").Get(ctx(t), "fv", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Fatalf("rejected create stored the pod: %v", err)
	}
	r = call(t, env, "POST", "/api/v1/namespaces/default/pods", body)
	if r.code != 201 || !strings.Contains(r.header.Get("Warning"), `unknown field \"spec.bogus\"`) {
		t.Errorf("default (Warn): %d, Warning %q", r.code, r.header.Get("Warning"))
	}
	var got map[string]any
	r.into(t, &got)
	if _, kept := got["spec"].(map[string]any)["bogus"]; kept {
		t.Error("unknown field stored")
	}
	body = bytes.Replace(body, []byte(`"fv"`), []byte(`"fv2"`), 1)
	r = call(t, env, "POST", "/api/v1/namespaces/default/pods?fieldValidation=Ignore", body)
	if r.code != 201 || r.header.Get("Warning") != "" {
		t.Errorf("Ignore: %d, Warning %q", r.code, r.header.Get("Warning"))
	}
}

func TestCreateNamespaceRules(t *testing.T) {
	env := apitest.Start(t)
	pod := testPod("p")
	pod.Namespace = "kube-system"
	r := call(t, env, "POST", "/api/v1/namespaces/default/pods", mustJSON(t, pod))
	if st := r.status(t); r.code != 400 || st.Message != "the namespace of the provided object does not match the namespace sent on the request" {
		t.Errorf("namespace mismatch: %d %q", r.code, st.Message)
	}
	_, err := env.Client.CoreV1().Pods("nope").Create(ctx(t), testPod("p"), metav1.CreateOptions{})
	if !apierrors.IsNotFound(err) || err.Error() != `namespaces "nope" not found` {
		t.Errorf("missing namespace: %v", err)
	}
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "closing"}}
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx(t), ns, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if err := env.Client.CoreV1().Namespaces().Delete(ctx(t), "closing", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	_, err = env.Client.CoreV1().Pods("closing").Create(ctx(t), testPod("p"), metav1.CreateOptions{})
	if !apierrors.IsForbidden(err) || err.Error() != `pods "p" is forbidden: unable to create new content in namespace closing because it is being terminated` {
		t.Errorf("terminating namespace: %v", err)
	}
	if !apierrors.HasStatusCause(err, corev1.NamespaceTerminatingCause) {
		t.Errorf("no NamespaceTerminating cause: %v", err)
	}
}

func TestUpdateConcurrency(t *testing.T) {
	env := apitest.Start(t)
	rcs := env.Client.CoreV1().ReplicationControllers("default")
	rc, err := rcs.Create(ctx(t), testRC("web", 1), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	stale := rc.DeepCopy()
	rc.Spec.Replicas = ptr[int32](2)
	rc, err = rcs.Update(ctx(t), rc, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if rc.Generation != 2 {
		t.Errorf("generation after a spec change = %d, want 2", rc.Generation)
	}
	stale.Spec.Replicas = ptr[int32](5)
	_, err = rcs.Update(ctx(t), stale, metav1.UpdateOptions{})
	want := `Operation cannot be fulfilled on replicationcontrollers "web": the object has been modified; please apply your changes to the latest version and try again`
	if !apierrors.IsConflict(err) || err.Error() != want {
		t.Fatalf("stale update: %v\nwant 409 %s", err, want)
	}
	// A label change is not a spec change; an update without a
	// resourceVersion is unconditional.
	rc.ResourceVersion = ""
	rc.Labels = map[string]string{"tier": "web"}
	rc, err = rcs.Update(ctx(t), rc, metav1.UpdateOptions{})
	if err != nil {
		t.Fatalf("unconditional update: %v", err)
	}
	if rc.Generation != 2 {
		t.Errorf("generation after a label change = %d, want 2", rc.Generation)
	}
	// A no-op update keeps the resourceVersion.
	again, err := rcs.Update(ctx(t), rc, metav1.UpdateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if again.ResourceVersion != rc.ResourceVersion {
		t.Errorf("no-op update moved resourceVersion %s → %s", rc.ResourceVersion, again.ResourceVersion)
	}
	// Name in the body must match the URL.
	body := mustJSON(t, rc)
	r := call(t, env, "PUT", "/api/v1/namespaces/default/replicationcontrollers/other", body)
	if st := r.status(t); r.code != 400 || !strings.Contains(st.Message, "does not match the name on the URL") {
		t.Errorf("name mismatch: %d %s", r.code, st.Message)
	}
	// Status cannot be set through the main resource, nor spec through status.
	rc.Status.Replicas = 9
	rc, err = rcs.Update(ctx(t), rc, metav1.UpdateOptions{})
	if err != nil || rc.Status.Replicas != 0 {
		t.Fatalf("status through main resource: %v, status.replicas %d", err, rc.Status.Replicas)
	}
	rc.Status.Replicas = 1
	rc.Spec.Replicas = ptr[int32](9)
	rc, err = rcs.UpdateStatus(ctx(t), rc, metav1.UpdateOptions{})
	if err != nil || rc.Status.Replicas != 1 || *rc.Spec.Replicas != 2 {
		t.Fatalf("status update: %v, status %d spec %d", err, rc.Status.Replicas, *rc.Spec.Replicas)
	}
	// Invalid updates are 422 with field causes and change nothing.
	rc.Spec.Replicas = ptr[int32](-1)
	_, err = rcs.Update(ctx(t), rc, metav1.UpdateOptions{})
	if !apierrors.IsInvalid(err) || !apierrors.HasStatusCause(err, metav1.CauseTypeFieldValueInvalid) {
		t.Fatalf("negative replicas: %v", err)
	}
	if cur, _ := rcs.Get(ctx(t), "web", metav1.GetOptions{}); cur.ResourceVersion != rc.ResourceVersion {
		t.Error("rejected update was written")
	}
}

func TestPatch(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	if _, err := pods.Create(ctx(t), testPod("p"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	p, err := pods.Patch(ctx(t), "p", types.MergePatchType, []byte(`{"metadata":{"labels":{"merge":"yes","app":null}}}`), metav1.PatchOptions{})
	if err != nil || p.Labels["merge"] != "yes" || p.Labels["app"] != "" {
		t.Fatalf("merge patch: %v %v", err, p.Labels)
	}
	p, err = pods.Patch(ctx(t), "p", types.JSONPatchType, []byte(`[{"op":"add","path":"/metadata/annotations","value":{"json":"patch"}}]`), metav1.PatchOptions{})
	if err != nil || p.Annotations["json"] != "patch" {
		t.Fatalf("json patch: %v %v", err, p.Annotations)
	}
	_, err = pods.Patch(ctx(t), "p", types.JSONPatchType, []byte(`[{"op":"test","path":"/metadata/name","value":"q"}]`), metav1.PatchOptions{})
	if !apierrors.IsInvalid(err) && !isCode(err, 422) {
		t.Errorf("failing json patch test op: %v", err)
	}
	// Strategic merge: containers merge by name, not replace.
	p, err = pods.Patch(ctx(t), "p", types.StrategicMergePatchType,
		[]byte(`{"spec":{"containers":[{"name":"c","image":"busybox:2"}]},"metadata":{"labels":{"smp":"1"}}}`), metav1.PatchOptions{})
	if err != nil || len(p.Spec.Containers) != 1 || p.Spec.Containers[0].Image != "busybox:2" || p.Labels["smp"] != "1" {
		t.Fatalf("strategic merge patch: %v %+v", err, p.Spec.Containers)
	}
	if p.Spec.Containers[0].TerminationMessagePath == "" {
		t.Error("strategic merge replaced the container instead of merging it")
	}
	// A pinned stale resourceVersion conflicts.
	_, err = pods.Patch(ctx(t), "p", types.MergePatchType, []byte(`{"metadata":{"resourceVersion":"1","labels":{"x":"y"}}}`), metav1.PatchOptions{})
	if !apierrors.IsConflict(err) {
		t.Errorf("stale pinned patch: %v", err)
	}
	// Server-side apply is refused with advice.
	r := call(t, env, "PATCH", "/api/v1/namespaces/default/pods/p", []byte(`{}`), "Content-Type", "application/apply-patch+yaml")
	if st := r.status(t); r.code != 415 || !strings.Contains(st.Message, "without --server-side") {
		t.Errorf("apply patch: %d %q", r.code, st.Message)
	}
	r = call(t, env, "PATCH", "/api/v1/namespaces/default/pods/p", []byte(`{}`), "Content-Type", "text/plain")
	if r.code != 415 {
		t.Errorf("unknown patch type: %d", r.code)
	}
	r = call(t, env, "PATCH", "/api/v1/namespaces/default/pods/nope", []byte(`{}`), "Content-Type", string(types.MergePatchType))
	if r.code != 404 {
		t.Errorf("patch of a missing pod: %d", r.code)
	}
}

func isCode(err error, code int32) bool {
	var se apierrors.APIStatus
	if s, ok := err.(apierrors.APIStatus); ok {
		se = s
	}
	return se != nil && se.Status().Code == code
}

// TestPatchRetriesOnConflict runs concurrent patches of one object: each
// is re-applied when another wins, so every label lands.
func TestPatchRetriesOnConflict(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	if _, err := pods.Create(ctx(t), testPod("busy"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	const n = 12
	var wg sync.WaitGroup
	errs := make(chan error, n)
	for i := 0; i < n; i++ {
		wg.Add(1)
		go func() {
			defer wg.Done()
			patch := fmt.Sprintf(`{"metadata":{"labels":{"l%d":"v"}}}`, i)
			if _, err := pods.Patch(ctx(t), "busy", types.StrategicMergePatchType, []byte(patch), metav1.PatchOptions{}); err != nil {
				errs <- err
			}
		}()
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Errorf("concurrent patch: %v", err)
	}
	p, err := pods.Get(ctx(t), "busy", metav1.GetOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < n; i++ {
		if p.Labels[fmt.Sprintf("l%d", i)] != "v" {
			t.Errorf("label l%d lost: %v", i, p.Labels)
		}
	}
}

func TestRoutingErrors(t *testing.T) {
	env := apitest.Start(t)
	tests := []struct {
		method, path string
		code         int
		reason       metav1.StatusReason
		message      string
	}{
		{"GET", "/api/v1/widgets", 404, metav1.StatusReasonNotFound, "the server could not find the requested resource"},
		{"GET", "/api/v1/namespaces/default/widgets/x", 404, metav1.StatusReasonNotFound, "the server could not find the requested resource"},
		{"GET", "/api/v1/pods/x", 404, metav1.StatusReasonNotFound, "the server could not find the requested resource"},
		{"GET", "/api/v1/namespaces/default/nodes", 404, metav1.StatusReasonNotFound, "the server could not find the requested resource"},
		{"GET", "/api/v1/namespaces/default/pods/x/scale", 404, metav1.StatusReasonNotFound, "the server could not find the requested resource"},
		{"GET", "/api/v2", 404, metav1.StatusReasonNotFound, "the server could not find the requested resource"},
		{"GET", "/apis/apps/v1", 404, metav1.StatusReasonNotFound, "the server could not find the requested resource"},
		{"GET", "/api/v1/namespaces/default/pods/missing", 404, metav1.StatusReasonNotFound, `pods "missing" not found`},
		{"PUT", "/api/v1/namespaces/default/pods", 405, metav1.StatusReasonMethodNotAllowed, ""},
		{"POST", "/api/v1/namespaces/default/pods/x", 405, metav1.StatusReasonMethodNotAllowed, ""},
		{"DELETE", "/api/v1/namespaces/default/pods/x/status", 405, metav1.StatusReasonMethodNotAllowed, ""},
		{"POST", "/api/v1/watch/pods", 405, metav1.StatusReasonMethodNotAllowed, ""},
		{"POST", "/api/v1/pods", 405, metav1.StatusReasonMethodNotAllowed, ""},
		{"DELETE", "/api/v1/pods", 405, metav1.StatusReasonMethodNotAllowed, ""},
	}
	for _, tt := range tests {
		r := call(t, env, tt.method, tt.path, nil)
		st := r.status(t)
		if r.code != tt.code || st.Reason != tt.reason || (tt.message != "" && st.Message != tt.message) || st.APIVersion != "v1" {
			t.Errorf("%s %s: %d %s %q, want %d %s %q", tt.method, tt.path, r.code, st.Reason, st.Message, tt.code, tt.reason, tt.message)
		}
	}
}

// hiddenLength hides a body's length so that it is sent chunked.
type hiddenLength struct{ io.Reader }

func TestRequestEntityTooLarge(t *testing.T) {
	env := apitest.Start(t, apitest.WithConfig(func(c *apiserver.Config) { c.MaxRequestBodyBytes = 2048 }))
	pod := testPod("big")
	pod.Annotations = map[string]string{"pad": strings.Repeat("x", 4096)}
	body := mustJSON(t, pod)
	r := call(t, env, "POST", "/api/v1/namespaces/default/pods", body)
	if st := r.status(t); r.code != 413 || st.Reason != metav1.StatusReasonRequestEntityTooLarge {
		t.Errorf("large body with Content-Length: %d %+v", r.code, st)
	}
	// Without a Content-Length the limit applies while reading.
	req, _ := http.NewRequest("POST", env.URL+"/api/v1/namespaces/default/pods", hiddenLength{bytes.NewReader(body)})
	req.Header.Set("Content-Type", "application/json")
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	resp.Body.Close()
	if resp.StatusCode != 413 || req.ContentLength != 0 {
		t.Errorf("large chunked body: %d (Content-Length %d)", resp.StatusCode, req.ContentLength)
	}
	if _, err := env.Client.CoreV1().Pods("default").Get(ctx(t), "big", metav1.GetOptions{}); !apierrors.IsNotFound(err) {
		t.Errorf("rejected body was stored: %v", err)
	}
}
