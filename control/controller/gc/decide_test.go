package gc

import (
	"reflect"
	"testing"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

func ref(uid string, block bool) metav1.OwnerReference {
	t := true
	r := metav1.OwnerReference{APIVersion: "v1", Kind: "ReplicationController", Name: "rc-" + uid, UID: types.UID(uid), Controller: &t}
	if block {
		r.BlockOwnerDeletion = &t
	}
	return r
}

func TestClassify(t *testing.T) {
	states := map[types.UID]OwnerState{"a": Solid, "b": Dangling, "c": Waiting, "d": Dangling}
	solid, dangling, waiting := Classify([]metav1.OwnerReference{ref("a", false), ref("b", false), ref("c", false), ref("d", false)},
		func(r metav1.OwnerReference) OwnerState { return states[r.UID] })
	uids := func(rs []metav1.OwnerReference) []types.UID {
		var out []types.UID
		for _, r := range rs {
			out = append(out, r.UID)
		}
		return out
	}
	if !reflect.DeepEqual(uids(solid), []types.UID{"a"}) || !reflect.DeepEqual(uids(dangling), []types.UID{"b", "d"}) ||
		!reflect.DeepEqual(uids(waiting), []types.UID{"c"}) {
		t.Errorf("solid %v dangling %v waiting %v", uids(solid), uids(dangling), uids(waiting))
	}
}

func TestDecideDependent(t *testing.T) {
	a, b, c := ref("a", true), ref("b", true), ref("c", true)
	refs := func(r ...metav1.OwnerReference) []metav1.OwnerReference { return r }
	tests := []struct {
		name                     string
		finalizers               []string
		hasDeps                  bool
		solid, dangling, waiting []metav1.OwnerReference
		want                     Action
	}{
		{"all owners exist", nil, false, refs(a, b), nil, nil, Action{Kind: Keep}},
		{"owner gone (background)", nil, false, nil, refs(a), nil, Action{Kind: Delete, Policy: metav1.DeletePropagationBackground}},
		{"one of two owners gone", nil, false, refs(a), refs(b), nil, Action{Kind: RemoveRefs, UIDs: []types.UID{"b"}}},
		{"solid owner, one gone, one waiting", nil, false, refs(a), refs(b), refs(c), Action{Kind: RemoveRefs, UIDs: []types.UID{"b", "c"}}},
		{"owner waiting (foreground), leaf", nil, false, nil, nil, refs(a), Action{Kind: Delete, Policy: metav1.DeletePropagationBackground}},
		{"owner waiting, has dependents", nil, true, nil, nil, refs(a), Action{Kind: Delete, Policy: metav1.DeletePropagationForeground}},
		{"owner gone, keeps own orphan finalizer", []string{FinalizerOrphan}, true, nil, refs(a), nil, Action{Kind: Delete, Policy: metav1.DeletePropagationOrphan}},
		{"owner gone, own foreground finalizer", []string{FinalizerForeground}, true, nil, refs(a), nil, Action{Kind: Delete, Policy: metav1.DeletePropagationForeground}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := DecideDependent(tt.finalizers, tt.hasDeps, tt.solid, tt.dangling, tt.waiting)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("DecideDependent = %+v, want %+v", got, tt.want)
			}
		})
	}
}

func TestBlockingDependents(t *testing.T) {
	deps := []Dependent{
		{UID: "p1", OwnerRefs: []metav1.OwnerReference{ref("rc", true)}},
		{UID: "p2", OwnerRefs: []metav1.OwnerReference{ref("rc", false)}},
		{UID: "p3", OwnerRefs: []metav1.OwnerReference{ref("other", true), ref("rc", true)}},
		{UID: "p4", OwnerRefs: []metav1.OwnerReference{ref("other", true)}},
	}
	if got := BlockingDependents("rc", deps); !reflect.DeepEqual(got, []types.UID{"p1", "p3"}) {
		t.Errorf("BlockingDependents = %v", got)
	}
}

func TestWithout(t *testing.T) {
	if got := WithoutOwners([]metav1.OwnerReference{ref("a", false), ref("b", false)}, []types.UID{"a"}); len(got) != 1 || got[0].UID != "b" {
		t.Errorf("WithoutOwners = %v", got)
	}
	if got := WithoutString([]string{"orphan", "x", "orphan"}, "orphan"); !reflect.DeepEqual(got, []string{"x"}) {
		t.Errorf("WithoutString = %v", got)
	}
}

func TestGraph(t *testing.T) {
	g := newGraph()
	rc := &object{uid: "rc", name: "web"}
	p1 := &object{uid: "p1", name: "web-1", owners: []metav1.OwnerReference{ref("rc", true)}}
	p2 := &object{uid: "p2", name: "web-2", owners: []metav1.OwnerReference{ref("rc", true)}}
	g.upsert(p1) // dependents may arrive before their owner
	g.upsert(rc)
	g.upsert(p2)
	if deps := g.dependentsOf("rc"); len(deps) != 2 || deps[0].uid != "p1" || deps[1].uid != "p2" {
		t.Fatalf("dependents %v", deps)
	}
	// p2 released: no longer a dependent.
	released := &object{uid: "p2", name: "web-2"}
	if old := g.upsert(released); old != p2 {
		t.Fatal("upsert did not return the replaced object")
	}
	if deps := g.dependentsOf("rc"); len(deps) != 1 || !g.hasDependents("rc") {
		t.Fatalf("after release: %v", deps)
	}
	g.remove("p1")
	if g.hasDependents("rc") {
		t.Fatal("removed dependent still listed")
	}
	if _, ok := g.get("p1"); ok {
		t.Fatal("removed object still there")
	}
	dying := &object{uid: "rc", deleting: true, finalizers: []string{FinalizerForeground}}
	if !dying.waitingForDependents() || dying.orphaning() {
		t.Error("foreground state")
	}
}
