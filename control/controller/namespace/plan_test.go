package namespace

import (
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime/schema"

	"github.com/tug-sh/tug/control/controller/internal/apiresources"
)

func ns(terminating bool, finalizers ...v1.FinalizerName) *v1.Namespace {
	n := &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}, Spec: v1.NamespaceSpec{Finalizers: finalizers}}
	if terminating {
		now := metav1.Now()
		n.DeletionTimestamp = &now
		n.Status.Phase = v1.NamespaceTerminating
	}
	return n
}

func TestPlan(t *testing.T) {
	tests := []struct {
		name      string
		ns        *v1.Namespace
		remaining int
		want      Step
	}{
		{"active", ns(false, FinalizerKubernetes), 3, Skip},
		{"terminating, not looked", ns(true, FinalizerKubernetes), -1, DeleteContent},
		{"terminating, content left", ns(true, FinalizerKubernetes), 2, DeleteContent},
		{"terminating, empty", ns(true, FinalizerKubernetes), 0, Finalize},
		{"already finalized", ns(true), 0, Skip},
		{"phase only", func() *v1.Namespace {
			n := ns(false, FinalizerKubernetes)
			n.Status.Phase = v1.NamespaceTerminating
			return n
		}(), 0, Finalize},
	}
	for _, tt := range tests {
		if got := Plan(tt.ns, tt.remaining); got != tt.want {
			t.Errorf("%s: Plan = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestFinalized(t *testing.T) {
	n := ns(true, "example.com/other", FinalizerKubernetes)
	f := Finalized(n)
	if !reflect.DeepEqual(f.Spec.Finalizers, []v1.FinalizerName{"example.com/other"}) {
		t.Errorf("finalizers %v", f.Spec.Finalizers)
	}
	if len(n.Spec.Finalizers) != 2 {
		t.Error("input modified")
	}
}

func TestDeletable(t *testing.T) {
	res := func(name string, namespaced bool, verbs ...string) apiresources.Resource {
		return apiresources.Resource{GVR: schema.GroupVersionResource{Version: "v1", Resource: name}, Namespaced: namespaced, Verbs: verbs}
	}
	all := []apiresources.Resource{
		res("pods", true, "list", "delete"),
		res("services", true, "list", "delete"),
		res("nodes", false, "list", "delete"),
		res("bindings", true, "create"),
		res("endpoints", true, "list", "delete", "watch"),
		res("replicationcontrollers", true, "list", "delete"),
	}
	var got []string
	for _, r := range Deletable(all) {
		got = append(got, r.GVR.Resource)
	}
	if want := []string{"endpoints", "replicationcontrollers", "services", "pods"}; !reflect.DeepEqual(got, want) {
		t.Errorf("Deletable = %v, want %v", got, want)
	}
}
