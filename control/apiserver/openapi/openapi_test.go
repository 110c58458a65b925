package openapi_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"strings"
	"testing"

	openapi_v2 "github.com/google/gnostic-models/openapiv2"
	"google.golang.org/protobuf/proto"
	"k8s.io/apimachinery/pkg/runtime/schema"
	kproto "k8s.io/kube-openapi/pkg/util/proto"
	"k8s.io/kube-openapi/pkg/util/proto/validation"
	"sigs.k8s.io/yaml"

	"github.com/tug-sh/tug/control/apiserver/openapi"
)

func build(t testing.TB) *openapi.Document {
	t.Helper()
	doc, err := openapi.Build(tugKinds())
	if err != nil {
		t.Fatal(err)
	}
	return doc
}

// The protobuf kubectl receives decodes to the same document gnostic
// parses from the JSON, and building twice gives the same bytes (so the
// ETag is stable across restarts).
func TestDocumentForms(t *testing.T) {
	doc := build(t)
	fromJSON, err := openapi_v2.ParseDocument(doc.JSON())
	if err != nil {
		t.Fatalf("gnostic cannot parse the JSON: %v", err)
	}
	pb, err := doc.Protobuf()
	if err != nil {
		t.Fatal(err)
	}
	var fromPB openapi_v2.Document
	if err := proto.Unmarshal(pb, &fromPB); err != nil {
		t.Fatalf("the protobuf does not decode: %v", err)
	}
	if !proto.Equal(fromJSON, &fromPB) {
		t.Fatal("protobuf and JSON forms differ")
	}
	if fromPB.GetSwagger() != "2.0" {
		t.Fatalf("swagger = %q", fromPB.GetSwagger())
	}
	again := build(t)
	pb2, _ := again.Protobuf()
	if !bytes.Equal(doc.JSON(), again.JSON()) || !bytes.Equal(pb, pb2) {
		t.Fatal("two builds differ")
	}
	t.Logf("JSON %d bytes, protobuf %d bytes, %d definitions, %d paths",
		len(doc.JSON()), len(pb), len(fromPB.GetDefinitions().GetAdditionalProperties()), len(fromPB.GetPaths().GetPath()))
}

// kubectlModels does what kubectl does with /openapi/v2: decode the
// protobuf, build kube-openapi's models, and index them by the
// x-kubernetes-group-version-kind extension (k8s.io/kubectl/pkg/util/openapi).
func kubectlModels(t testing.TB, doc *openapi.Document) (kproto.Models, map[schema.GroupVersionKind]string) {
	t.Helper()
	pb, err := doc.Protobuf()
	if err != nil {
		t.Fatal(err)
	}
	var d openapi_v2.Document
	if err := proto.Unmarshal(pb, &d); err != nil {
		t.Fatal(err)
	}
	models, err := kproto.NewOpenAPIData(&d)
	if err != nil {
		t.Fatalf("kube-openapi rejects the document: %v", err)
	}
	index := map[schema.GroupVersionKind]string{}
	for _, name := range models.ListModels() {
		list, _ := models.LookupModel(name).GetExtensions()["x-kubernetes-group-version-kind"].([]any)
		for _, item := range list {
			m, ok := item.(map[any]any)
			if !ok {
				t.Fatalf("%s: x-kubernetes-group-version-kind entry %T, kubectl expects a map", name, item)
			}
			gvk := schema.GroupVersionKind{Group: fmt.Sprint(m["group"]), Version: fmt.Sprint(m["version"]), Kind: fmt.Sprint(m["kind"])}
			if prev, dup := index[gvk]; dup && prev != name {
				t.Fatalf("%v is claimed by %s and %s", gvk, prev, name)
			}
			index[gvk] = name
		}
	}
	return models, index
}

// walk follows a path of field names (and "[]" for array items, "{}" for
// map values) from a model, resolving references, like kubectl explain.
func walk(t *testing.T, s kproto.Schema, path string) kproto.Schema {
	t.Helper()
	for _, step := range strings.Split(path, ".") {
		s = deref(s)
		switch step {
		case "[]":
			a, ok := s.(*kproto.Array)
			if !ok {
				t.Fatalf("%s: %s is %T, not an array", path, s.GetPath(), s)
			}
			s = a.SubType
		case "{}":
			m, ok := s.(*kproto.Map)
			if !ok {
				t.Fatalf("%s: %s is %T, not a map", path, s.GetPath(), s)
			}
			s = m.SubType
		default:
			k, ok := s.(*kproto.Kind)
			if !ok {
				t.Fatalf("%s: %s is %T, not an object", path, s.GetPath(), s)
			}
			f, ok := k.Fields[step]
			if !ok {
				t.Fatalf("%s: %s has no field %q (has %v)", path, s.GetPath(), step, k.Keys())
			}
			s = f
		}
	}
	return s
}

func deref(s kproto.Schema) kproto.Schema {
	for {
		r, ok := s.(kproto.Reference)
		if !ok {
			return s
		}
		s = r.SubSchema()
	}
}

func TestKubectlFindsKinds(t *testing.T) {
	models, index := kubectlModels(t, build(t))
	for _, k := range tugKinds() {
		gvk := schema.GroupVersionKind{Group: k.Group, Version: k.Version, Kind: k.Kind}
		if index[gvk] == "" {
			t.Errorf("no model for %v", gvk)
		}
	}
	for _, c := range []struct {
		gvk  schema.GroupVersionKind
		name string
	}{
		{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "io.k8s.api.core.v1.Pod"},
		{schema.GroupVersionKind{Version: "v1", Kind: "PodList"}, "io.k8s.api.core.v1.PodList"},
		{schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, "io.k8s.api.autoscaling.v1.Scale"},
		{schema.GroupVersionKind{Version: "v1", Kind: "Status"}, "io.k8s.apimachinery.pkg.apis.meta.v1.Status"},
		{schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "DeleteOptions"}, "io.k8s.apimachinery.pkg.apis.meta.v1.DeleteOptions"},
	} {
		if got := index[c.gvk]; got != c.name {
			t.Errorf("%v -> %q, want %q", c.gvk, got, c.name)
		}
	}

	pod := models.LookupModel(index[schema.GroupVersionKind{Version: "v1", Kind: "Pod"}])
	port, ok := deref(walk(t, pod, "spec.containers.[].ports.[].containerPort")).(*kproto.Primitive)
	if !ok || port.Type != "integer" || port.Format != "int32" {
		t.Fatalf("containerPort: %#v, want an int32 integer", port)
	}
	if k := deref(walk(t, pod, "spec")).(*kproto.Kind); !k.IsRequired("containers") {
		t.Error("spec.containers is not required")
	}
	if k := deref(walk(t, pod, "spec.containers.[]")).(*kproto.Kind); !k.IsRequired("name") || k.IsRequired("image") {
		t.Errorf("container required fields: %v, want name and not image", k.RequiredFields)
	}
	containers := walk(t, pod, "spec.containers")
	if ext := containers.GetExtensions(); ext["x-kubernetes-patch-merge-key"] != "name" || ext["x-kubernetes-patch-strategy"] != "merge" {
		t.Errorf("spec.containers patch extensions %v, want merge on name", ext)
	}
	if !strings.Contains(containers.GetDescription(), "containers") {
		t.Errorf("spec.containers description %q", containers.GetDescription())
	}
	for _, c := range []struct {
		model         schema.GroupVersionKind
		path          string
		typ, format   string
		wantReference string
	}{
		{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "metadata.creationTimestamp", "string", "date-time", "io.k8s.apimachinery.pkg.apis.meta.v1.Time"},
		{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "spec.containers.[].resources.limits.{}", "string", "", "io.k8s.apimachinery.pkg.api.resource.Quantity"},
		{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "spec.containers.[].livenessProbe.httpGet.port", "string", "int-or-string", "io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
		{schema.GroupVersionKind{Version: "v1", Kind: "Service"}, "spec.ports.[].targetPort", "string", "int-or-string", "io.k8s.apimachinery.pkg.util.intstr.IntOrString"},
		{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "metadata.uid", "string", "", ""},
		{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "metadata.labels.{}", "string", "", ""},
		{schema.GroupVersionKind{Version: "v1", Kind: "Event"}, "eventTime", "string", "date-time", "io.k8s.apimachinery.pkg.apis.meta.v1.MicroTime"},
		{schema.GroupVersionKind{Version: "v1", Kind: "Event"}, "count", "integer", "int32", ""},
		{schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}, "spec.replicas", "integer", "int32", ""},
		{schema.GroupVersionKind{Version: "v1", Kind: "Node"}, "spec.unschedulable", "boolean", "", ""},
		{schema.GroupVersionKind{Version: "v1", Kind: "Pod"}, "spec.activeDeadlineSeconds", "integer", "int64", ""},
	} {
		s := walk(t, models.LookupModel(index[c.model]), c.path)
		if c.wantReference != "" {
			r, ok := s.(kproto.Reference)
			if !ok || r.Reference() != c.wantReference {
				t.Errorf("%v %s: %T, want a reference to %s", c.model, c.path, s, c.wantReference)
				continue
			}
		}
		p, ok := deref(s).(*kproto.Primitive)
		if !ok || p.Type != c.typ || p.Format != c.format {
			t.Errorf("%v %s: %#v, want %s/%s", c.model, c.path, deref(s), c.typ, c.format)
		}
	}
	// Opaque values: anything goes.
	for _, name := range []string{"io.k8s.apimachinery.pkg.runtime.RawExtension", "io.k8s.apimachinery.pkg.apis.meta.v1.FieldsV1"} {
		if _, ok := models.LookupModel(name).(*kproto.Map); !ok {
			t.Errorf("%s is %T, want a free-form object", name, models.LookupModel(name))
		}
	}
}

// kubectl --validate: kube-openapi's validation of manifests against the
// document, as kubectl runs it.
func TestValidationLikeKubectl(t *testing.T) {
	models, index := kubectlModels(t, build(t))
	validate := func(manifest string) []error {
		t.Helper()
		var obj map[string]any
		if err := yaml.Unmarshal([]byte(manifest), &obj); err != nil {
			t.Fatal(err)
		}
		gv, _ := schema.ParseGroupVersion(obj["apiVersion"].(string))
		gvk := gv.WithKind(obj["kind"].(string))
		name := index[gvk]
		if name == "" {
			t.Fatalf("no model for %v", gvk)
		}
		return validation.ValidateModel(obj, models.LookupModel(name), gvk.Kind)
	}
	valid := []string{`
apiVersion: v1
kind: ReplicationController
metadata: {name: nginx, labels: {app: nginx}}
spec:
  replicas: 3
  selector: {app: nginx}
  template:
    metadata: {labels: {app: nginx}}
    spec:
      containers:
      - name: nginx
        image: nginx:1.27
        ports: [{containerPort: 80, protocol: TCP}]
        resources: {limits: {cpu: 500m, memory: 128Mi}, requests: {cpu: 0.1}}
        env: [{name: A, value: b}]
        livenessProbe: {httpGet: {path: /, port: http}, periodSeconds: 5}
`, `
apiVersion: v1
kind: Service
metadata: {name: web, namespace: default}
spec:
  selector: {app: nginx}
  ports: [{port: 80, targetPort: 8080}, {name: alt, port: 81, targetPort: http, nodePort: 30081}]
  type: NodePort
`, `
apiVersion: v1
kind: Namespace
metadata: {name: team-a}
`, `
apiVersion: autoscaling/v1
kind: Scale
metadata: {name: nginx, namespace: default}
spec: {replicas: 5}
`, `
apiVersion: v1
kind: Event
metadata: {name: e1, namespace: default}
involvedObject: {kind: Pod, name: p, namespace: default}
reason: Started
message: started
count: 2
firstTimestamp: "2024-01-01T00:00:00Z"
reportingComponent: tug
reportingInstance: node-1
`}
	for _, m := range valid {
		if errs := validate(m); len(errs) != 0 {
			t.Errorf("valid manifest rejected: %v\n%s", errs, m)
		}
	}
	invalid := []struct{ manifest, want string }{
		{`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c, image: busybox, imagee: typo}]}
`, `unknown field "imagee"`},
		{`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{image: busybox}]}
`, `missing required field "name"`},
		{`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {containers: [{name: c, ports: [{containerPort: [80]}]}]}
`, `containerPort`},
		{`
apiVersion: v1
kind: Pod
metadata: {name: p}
spec: {}
`, `missing required field "containers"`},
		{`
apiVersion: v1
kind: Service
metadata: {name: s}
spec: {ports: 80}
`, `spec.ports`},
	}
	for _, c := range invalid {
		errs := validate(c.manifest)
		if len(errs) == 0 {
			t.Errorf("invalid manifest accepted:\n%s", c.manifest)
			continue
		}
		if !strings.Contains(fmt.Sprint(errs), c.want) {
			t.Errorf("errors %v do not mention %q", errs, c.want)
		}
	}
}

func TestBuildRejectsBadKinds(t *testing.T) {
	good := tugKinds()[0]
	for _, c := range []struct {
		name string
		edit func(k *openapi.Kind)
		want string
	}{
		{"no kind", func(k *openapi.Kind) { k.Kind = "" }, "Kind and Version"},
		{"no object", func(k *openapi.Kind) { k.Object = nil }, "Object"},
		{"object not a struct", func(k *openapi.Kind) { k.Object = "pod" }, "not a named struct"},
		{"no resource", func(k *openapi.Kind) { k.Resource = "" }, "Resource"},
		{"deep resource", func(k *openapi.Kind) { k.Resource = "pods/a/b" }, "Resource"},
		{"unknown verb", func(k *openapi.Kind) { k.Verbs = []string{"frobnicate"} }, "unknown verb"},
		{"list without List", func(k *openapi.Kind) { k.List = nil }, "needs List"},
		{"list on subresource", func(k *openapi.Kind) { k.Resource = "pods/status" }, "on a subresource"},
		{"bad prefix", func(k *openapi.Kind) { k.PathPrefix = "/v1" }, "PathPrefix"},
	} {
		k := good
		c.edit(&k)
		_, err := openapi.Build([]openapi.Kind{k})
		if err == nil || !strings.Contains(err.Error(), c.want) {
			t.Errorf("%s: error %v, want one mentioning %q", c.name, err, c.want)
		}
	}
	if _, err := openapi.Build(append(tugKinds(), tugKinds()[0])); err == nil || !strings.Contains(err.Error(), "twice") {
		t.Errorf("a resource listed twice: %v", err)
	}
	if _, err := openapi.Build(nil); err == nil {
		t.Error("Build(nil) succeeded")
	}
}

// The operations clients look up by group-version-kind and action.
func TestOperations(t *testing.T) {
	var doc struct {
		Paths map[string]map[string]json.RawMessage `json:"paths"`
	}
	if err := json.Unmarshal(build(t).JSON(), &doc); err != nil {
		t.Fatal(err)
	}
	type op struct {
		OperationID string                                `json:"operationId"`
		Action      string                                `json:"x-kubernetes-action"`
		GVK         struct{ Group, Version, Kind string } `json:"x-kubernetes-group-version-kind"`
		Responses   map[string]struct {
			Schema struct {
				Ref string `json:"$ref"`
			} `json:"schema"`
		} `json:"responses"`
	}
	for _, c := range []struct {
		path, method, id, action, kind, response string
	}{
		{"/api/v1/namespaces/{namespace}/pods", "get", "listCoreV1NamespacedPod", "list", "Pod", "io.k8s.api.core.v1.PodList"},
		{"/api/v1/namespaces/{namespace}/pods", "post", "createCoreV1NamespacedPod", "post", "Pod", "io.k8s.api.core.v1.Pod"},
		{"/api/v1/namespaces/{namespace}/pods", "delete", "deleteCoreV1CollectionNamespacedPod", "deletecollection", "Pod", "io.k8s.apimachinery.pkg.apis.meta.v1.Status"},
		{"/api/v1/namespaces/{namespace}/pods/{name}", "get", "readCoreV1NamespacedPod", "get", "Pod", "io.k8s.api.core.v1.Pod"},
		{"/api/v1/namespaces/{namespace}/pods/{name}", "put", "replaceCoreV1NamespacedPod", "put", "Pod", "io.k8s.api.core.v1.Pod"},
		{"/api/v1/namespaces/{namespace}/pods/{name}", "patch", "patchCoreV1NamespacedPod", "patch", "Pod", "io.k8s.api.core.v1.Pod"},
		{"/api/v1/namespaces/{namespace}/pods/{name}", "delete", "deleteCoreV1NamespacedPod", "delete", "Pod", "io.k8s.api.core.v1.Pod"},
		{"/api/v1/namespaces/{namespace}/pods/{name}/status", "patch", "patchCoreV1NamespacedPodStatus", "patch", "Pod", "io.k8s.api.core.v1.Pod"},
		{"/api/v1/namespaces/{namespace}/pods/{name}/binding", "post", "createCoreV1NamespacedPodBinding", "post", "Binding", "io.k8s.api.core.v1.Binding"},
		{"/api/v1/pods", "get", "listCoreV1PodForAllNamespaces", "list", "Pod", "io.k8s.api.core.v1.PodList"},
		{"/api/v1/watch/namespaces/{namespace}/pods", "get", "watchCoreV1NamespacedPodList", "watchlist", "Pod", "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent"},
		{"/api/v1/watch/namespaces/{namespace}/pods/{name}", "get", "watchCoreV1NamespacedPod", "watch", "Pod", "io.k8s.apimachinery.pkg.apis.meta.v1.WatchEvent"},
		{"/api/v1/namespaces/{namespace}/replicationcontrollers/{name}/scale", "get", "readCoreV1NamespacedReplicationControllerScale", "get", "Scale", "io.k8s.api.autoscaling.v1.Scale"},
		{"/api/v1/namespaces/{namespace}/replicationcontrollers/{name}/scale", "patch", "patchCoreV1NamespacedReplicationControllerScale", "patch", "Scale", "io.k8s.api.autoscaling.v1.Scale"},
		{"/api/v1/nodes/{name}", "get", "readCoreV1Node", "get", "Node", "io.k8s.api.core.v1.Node"},
		{"/api/v1/namespaces/{name}", "delete", "deleteCoreV1Namespace", "delete", "Namespace", "io.k8s.api.core.v1.Namespace"},
		{"/api/v1/namespaces", "post", "createCoreV1Namespace", "post", "Namespace", "io.k8s.api.core.v1.Namespace"},
	} {
		raw, ok := doc.Paths[c.path][c.method]
		if !ok {
			t.Errorf("no %s %s", c.method, c.path)
			continue
		}
		var o op
		if err := json.Unmarshal(raw, &o); err != nil {
			t.Fatal(err)
		}
		if o.OperationID != c.id || o.Action != c.action || o.GVK.Kind != c.kind || o.Responses["200"].Schema.Ref != "#/definitions/"+c.response {
			t.Errorf("%s %s: id %s action %s kind %s 200 %s; want %s %s %s %s", c.method, c.path,
				o.OperationID, o.Action, o.GVK.Kind, o.Responses["200"].Schema.Ref, c.id, c.action, c.kind, c.response)
		}
	}
	if _, ok := doc.Paths["/api/v1/namespaces/{namespace}/namespaces"]; ok {
		t.Error("a cluster-scoped resource got a namespaced path")
	}
	if _, ok := doc.Paths["/api/v1/namespaces"]["delete"]; ok {
		t.Error("namespaces got deletecollection without the verb")
	}
}
