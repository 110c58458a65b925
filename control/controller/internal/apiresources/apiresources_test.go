package apiresources

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

func TestFromLists(t *testing.T) {
	lists := []*metav1.APIResourceList{
		{GroupVersion: "v1", APIResources: []metav1.APIResource{
			{Name: "pods", Kind: "Pod", Namespaced: true, Verbs: []string{"get", "list", "watch", "delete"}},
			{Name: "pods/status", Kind: "Pod", Namespaced: true, Verbs: []string{"get", "update"}},
			{Name: "nodes", Kind: "Node", Verbs: []string{"list"}},
		}},
		{GroupVersion: "apps/v1", APIResources: []metav1.APIResource{{Name: "deployments", Kind: "Deployment", Namespaced: true}}},
		nil,
	}
	got := FromLists(lists)
	var names []string
	for _, r := range got {
		names = append(names, r.GVR.String())
	}
	want := []string{"/v1, Resource=nodes", "/v1, Resource=pods", "apps/v1, Resource=deployments"}
	if !reflect.DeepEqual(names, want) {
		t.Fatalf("resources %q, want %q", names, want)
	}
	if got[1].APIVersion() != "v1" || got[2].APIVersion() != "apps/v1" || !got[1].Namespaced || got[0].Namespaced {
		t.Errorf("resource fields: %+v", got)
	}
	if !got[1].Has("list", "delete") || got[1].Has("create") || !got[0].Has() {
		t.Error("Has")
	}
}
