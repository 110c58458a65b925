package client

import (
	"encoding/json"
	"errors"
	"os"
	"slices"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"
)

func testMapper(t *testing.T) *Mapper {
	t.Helper()
	var core metav1.APIResourceList
	var others []*metav1.APIResourceList
	for file, into := range map[string]any{"testdata/discovery-v1.json": &core, "testdata/discovery-apps.json": &others} {
		data, err := os.ReadFile(file)
		if err != nil {
			t.Fatal(err)
		}
		if err := json.Unmarshal(data, into); err != nil {
			t.Fatalf("%s: %v", file, err)
		}
	}
	groups := []*metav1.APIGroup{
		{Name: "apps", PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: "apps/v1", Version: "v1"},
			Versions: []metav1.GroupVersionForDiscovery{{GroupVersion: "apps/v1beta1"}, {GroupVersion: "apps/v1"}}},
		{Name: "example.com", PreferredVersion: metav1.GroupVersionForDiscovery{GroupVersion: "example.com/v1"}},
	}
	// Lists arrive in any order; the mapper orders them itself.
	return NewMapper(groups, append(others, &core))
}

func TestResourceFor(t *testing.T) {
	m := testMapper(t)
	tests := []struct {
		arg  string
		want schema.GroupVersionResource
	}{
		{"pods", schema.GroupVersionResource{Version: "v1", Resource: "pods"}},
		{"pod", schema.GroupVersionResource{Version: "v1", Resource: "pods"}},
		{"po", schema.GroupVersionResource{Version: "v1", Resource: "pods"}},
		{"Pod", schema.GroupVersionResource{Version: "v1", Resource: "pods"}},
		{"PODS", schema.GroupVersionResource{Version: "v1", Resource: "pods"}},
		{"rc", schema.GroupVersionResource{Version: "v1", Resource: "replicationcontrollers"}},
		{"replicationcontroller", schema.GroupVersionResource{Version: "v1", Resource: "replicationcontrollers"}},
		{"ReplicationController", schema.GroupVersionResource{Version: "v1", Resource: "replicationcontrollers"}},
		{"svc", schema.GroupVersionResource{Version: "v1", Resource: "services"}},
		{"ep", schema.GroupVersionResource{Version: "v1", Resource: "endpoints"}},
		{"no", schema.GroupVersionResource{Version: "v1", Resource: "nodes"}},
		{"ns", schema.GroupVersionResource{Version: "v1", Resource: "namespaces"}},
		{"ev", schema.GroupVersionResource{Version: "v1", Resource: "events"}},
		{"deploy", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}},
		{"deployments.apps", schema.GroupVersionResource{Group: "apps", Version: "v1", Resource: "deployments"}},
		{"deployments.v1beta1.apps", schema.GroupVersionResource{Group: "apps", Version: "v1beta1", Resource: "deployments"}},
		{"pods.example.com", schema.GroupVersionResource{Group: "example.com", Version: "v1", Resource: "pods"}},
	}
	for _, tt := range tests {
		got, err := m.ResourceFor(tt.arg)
		if err != nil {
			t.Errorf("ResourceFor(%q): %v", tt.arg, err)
			continue
		}
		if got.Resource != tt.want {
			t.Errorf("ResourceFor(%q) = %v, want %v", tt.arg, got.Resource, tt.want)
		}
	}
}

func TestResourceForUnknown(t *testing.T) {
	m := testMapper(t)
	for _, arg := range []string{"foo", "", "pods.apps", "pods/log", "scale"} {
		_, err := m.ResourceFor(arg)
		if !errors.Is(err, ErrUnknownResource) {
			t.Errorf("ResourceFor(%q) error = %v, want ErrUnknownResource", arg, err)
		}
	}
	_, err := m.ResourceFor("foo")
	if want := `the server doesn't have a resource type "foo"`; err.Error() != want {
		t.Errorf("message = %q, want %q", err.Error(), want)
	}
}

func TestMappingDetails(t *testing.T) {
	m := testMapper(t)
	rc, err := m.ResourceFor("rc")
	if err != nil {
		t.Fatal(err)
	}
	if !rc.Namespaced || rc.Kind.Kind != "ReplicationController" || !rc.HasSubresource("scale") || rc.HasSubresource("log") {
		t.Errorf("rc mapping = %+v", rc)
	}
	if got := rc.KindName(); got != "replicationcontroller" {
		t.Errorf("KindName = %q", got)
	}
	pods, _ := m.ResourceFor("pods")
	if !pods.HasSubresource("log") || !pods.HasSubresource("exec") {
		t.Errorf("pods subresources = %v", pods.Subresources)
	}
	deploy, _ := m.ResourceFor("deploy")
	if got := deploy.KindName(); got != "deployment.apps" {
		t.Errorf("KindName = %q", got)
	}
	paths := map[string]string{
		pods.Path("default", ""):              "/api/v1/namespaces/default/pods",
		pods.Path("", ""):                     "/api/v1/pods",
		pods.Path("kube-system", "x", "log"):  "/api/v1/namespaces/kube-system/pods/x/log",
		rc.Path("default", "nginxs", "scale"): "/api/v1/namespaces/default/replicationcontrollers/nginxs/scale",
		deploy.Path("default", "d"):           "/apis/apps/v1/namespaces/default/deployments/d",
	}
	nodes, _ := m.ResourceFor("nodes")
	paths[nodes.Path("default", "n1")] = "/api/v1/nodes/n1"
	for got, want := range paths {
		if got != want {
			t.Errorf("Path = %q, want %q", got, want)
		}
	}
}

func TestKindFor(t *testing.T) {
	m := testMapper(t)
	got, err := m.KindFor(schema.GroupVersionKind{Version: "v1", Kind: "ReplicationController"})
	if err != nil || got.Resource.Resource != "replicationcontrollers" {
		t.Fatalf("KindFor(v1 ReplicationController) = %v, %v", got, err)
	}
	got, err = m.KindFor(schema.GroupVersionKind{Group: "apps", Version: "v1beta1", Kind: "Deployment"})
	if err != nil || got.Resource.Version != "v1beta1" {
		t.Fatalf("KindFor(apps/v1beta1 Deployment) = %v, %v", got, err)
	}
	_, err = m.KindFor(schema.GroupVersionKind{Version: "v1", Kind: "Foo"})
	if !errors.Is(err, ErrUnknownKind) || err.Error() != `no resource of kind "Foo" in version "v1" is served by this server` {
		t.Fatalf("KindFor(Foo) error = %v", err)
	}
	_, err = m.KindFor(schema.GroupVersionKind{Group: "extensions", Version: "v1beta1", Kind: "Deployment"})
	want := `no resource of kind "Deployment" in version "extensions/v1beta1" is served by this server`
	if err == nil || err.Error() != want {
		t.Fatalf("KindFor(extensions Deployment) error = %v, want %q", err, want)
	}
	_, err = m.KindFor(schema.GroupVersionKind{Group: "apps", Version: "v2", Kind: "Deployment"})
	want = `no resource of kind "Deployment" in version "apps/v2" is served by this server (it serves Deployment as apps/v1, apps/v1beta1)`
	if err == nil || err.Error() != want {
		t.Fatalf("KindFor(apps/v2 Deployment) error = %v, want %q", err, want)
	}
	// The scale subresource's kind (autoscaling/v1 Scale) is not a resource of its own.
	if _, err := m.KindFor(schema.GroupVersionKind{Group: "autoscaling", Version: "v1", Kind: "Scale"}); err == nil {
		t.Fatal("KindFor(Scale) succeeded")
	}
}

func TestCategory(t *testing.T) {
	m := testMapper(t)
	all, ok := m.Category("all")
	if !ok {
		t.Fatal("no category all")
	}
	var names []string
	for _, mp := range all {
		names = append(names, mp.Resource.String())
	}
	want := []string{"/v1, Resource=pods", "/v1, Resource=replicationcontrollers", "/v1, Resource=services", "apps/v1, Resource=deployments"}
	if !slices.Equal(names, want) {
		t.Fatalf("Category(all) = %q, want %q", names, want)
	}
	if _, ok := m.Category("nope"); ok {
		t.Fatal("Category(nope) found")
	}
}
