package apiserver

import (
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/registry"
)

func ptr[T any](v T) *T { return &v }

func TestDecideDelete(t *testing.T) {
	now := time.Date(2026, 1, 2, 3, 4, 5, 0, time.UTC)
	earlier := metav1.NewTime(now.Add(-10 * time.Second))
	pod := func(mut func(*corev1.Pod)) *corev1.Pod {
		p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns"}}
		if mut != nil {
			mut(p)
		}
		return p
	}
	bound := func(p *corev1.Pod) { p.Spec.NodeName = "n1"; p.Status.Phase = corev1.PodRunning }
	background := ptr(metav1.DeletePropagationBackground)
	tests := []struct {
		name string
		cur  registry.Object
		opts metav1.DeleteOptions
		// want: "remove", "none" or "update"
		want           string
		wantTimestamp  *time.Time
		wantGrace      *int64
		wantFinalizers []string
	}{
		{name: "unbound pod goes at once", cur: pod(nil), want: "remove"},
		{name: "bound pod with default grace", cur: pod(bound), want: "update",
			wantTimestamp: ptr(now.Add(30 * time.Second)), wantGrace: ptr[int64](30)},
		{name: "bound pod with its own grace", cur: pod(func(p *corev1.Pod) { bound(p); p.Spec.TerminationGracePeriodSeconds = ptr[int64](7) }),
			want: "update", wantTimestamp: ptr(now.Add(7 * time.Second)), wantGrace: ptr[int64](7)},
		{name: "bound pod, grace from request", cur: pod(bound), opts: metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](5)},
			want: "update", wantTimestamp: ptr(now.Add(5 * time.Second)), wantGrace: ptr[int64](5)},
		{name: "bound pod, negative grace is 1s", cur: pod(bound), opts: metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](-3)},
			want: "update", wantTimestamp: ptr(now.Add(time.Second)), wantGrace: ptr[int64](1)},
		{name: "bound pod, grace 0 goes at once", cur: pod(bound), opts: metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](0)}, want: "remove"},
		{name: "finished pod goes at once", cur: pod(func(p *corev1.Pod) { bound(p); p.Status.Phase = corev1.PodSucceeded }), want: "remove"},
		{name: "pending graceful deletion, no grace given", cur: pod(func(p *corev1.Pod) {
			bound(p)
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = ptr(metav1.NewTime(now.Add(20*time.Second))), ptr[int64](30)
		}), want: "none"},
		{name: "pending graceful deletion, longer grace ignored", cur: pod(func(p *corev1.Pod) {
			bound(p)
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = ptr(metav1.NewTime(now.Add(20*time.Second))), ptr[int64](30)
		}), opts: metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](60)}, want: "none"},
		{name: "pending graceful deletion shortened", cur: pod(func(p *corev1.Pod) {
			bound(p)
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = ptr(metav1.NewTime(now.Add(20*time.Second))), ptr[int64](30)
		}), opts: metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](10)}, want: "update",
			wantTimestamp: ptr(now), wantGrace: ptr[int64](10)},
		{name: "agent confirms with grace 0", cur: pod(func(p *corev1.Pod) {
			bound(p)
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = ptr(metav1.NewTime(now.Add(20*time.Second))), ptr[int64](30)
		}), opts: metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](0)}, want: "remove"},
		{name: "agent confirms, finalizers keep it", cur: pod(func(p *corev1.Pod) {
			bound(p)
			p.Finalizers = []string{"example.com/x"}
			p.DeletionTimestamp, p.DeletionGracePeriodSeconds = ptr(metav1.NewTime(now.Add(20*time.Second))), ptr[int64](30)
		}), opts: metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](0)}, want: "update",
			wantTimestamp: ptr(now.Add(-10 * time.Second)), wantGrace: ptr[int64](0), wantFinalizers: []string{"example.com/x"}},
		{name: "finalizers defer deletion", cur: &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc", Finalizers: []string{"example.com/x"}}},
			want: "update", wantTimestamp: ptr(now), wantGrace: ptr[int64](0), wantFinalizers: []string{"example.com/x"}},
		{name: "already waiting for finalizers", cur: &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc",
			Finalizers: []string{"example.com/x"}, DeletionTimestamp: &earlier, DeletionGracePeriodSeconds: ptr[int64](0)}}, want: "none"},
		{name: "foreground adds its finalizer", cur: &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc"}},
			opts: metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationForeground)},
			want: "update", wantTimestamp: ptr(now), wantGrace: ptr[int64](0), wantFinalizers: []string{metav1.FinalizerDeleteDependents}},
		{name: "orphan adds its finalizer", cur: &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc"}},
			opts: metav1.DeleteOptions{PropagationPolicy: ptr(metav1.DeletePropagationOrphan)},
			want: "update", wantTimestamp: ptr(now), wantGrace: ptr[int64](0), wantFinalizers: []string{metav1.FinalizerOrphanDependents}},
		{name: "orphanDependents=true is orphan", cur: &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc"}},
			opts: metav1.DeleteOptions{OrphanDependents: ptr(true)},
			want: "update", wantTimestamp: ptr(now), wantGrace: ptr[int64](0), wantFinalizers: []string{metav1.FinalizerOrphanDependents}},
		{name: "background deletes at once", cur: &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc"}},
			opts: metav1.DeleteOptions{PropagationPolicy: background}, want: "remove"},
		{name: "background drops an orphan finalizer", cur: &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc", Finalizers: []string{metav1.FinalizerOrphanDependents}}},
			opts: metav1.DeleteOptions{PropagationPolicy: background}, want: "remove"},
		{name: "namespace goes terminating", cur: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}},
			want: "update", wantTimestamp: ptr(now), wantGrace: ptr[int64](0)},
		{name: "finalized namespace goes at once", cur: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x"}}, want: "remove"},
		{name: "terminated and finalized namespace goes", cur: &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x", DeletionTimestamp: &earlier}}, want: "remove"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			before := tt.cur.DeepCopyObject()
			d, err := decideDelete(tt.cur, &tt.opts, now)
			if err != nil {
				t.Fatalf("decideDelete: %v", err)
			}
			got := "none"
			switch {
			case d.remove:
				got = "remove"
			case d.updated != nil:
				got = "update"
			}
			if got != tt.want {
				t.Fatalf("decision = %s, want %s", got, tt.want)
			}
			if d.updated != nil {
				if ts := d.updated.GetDeletionTimestamp(); tt.wantTimestamp != nil && (ts == nil || !ts.Time.Equal(*tt.wantTimestamp)) {
					t.Errorf("deletionTimestamp = %v, want %v", ts, *tt.wantTimestamp)
				}
				if g := d.updated.GetDeletionGracePeriodSeconds(); tt.wantGrace != nil && (g == nil || *g != *tt.wantGrace) {
					t.Errorf("deletionGracePeriodSeconds = %v, want %d", g, *tt.wantGrace)
				}
				if f := d.updated.GetFinalizers(); len(f) != len(tt.wantFinalizers) || (len(f) > 0 && f[0] != tt.wantFinalizers[0]) {
					t.Errorf("finalizers = %v, want %v", f, tt.wantFinalizers)
				}
				if ns, ok := d.updated.(*corev1.Namespace); ok && ns.Status.Phase != corev1.NamespaceTerminating {
					t.Errorf("namespace phase = %q, want Terminating", ns.Status.Phase)
				}
			}
			if !equalObjects(before, tt.cur) {
				t.Errorf("decideDelete changed its input")
			}
		})
	}
}

func TestDecideDeleteTerminatingNamespaceConflicts(t *testing.T) {
	ts := metav1.Now()
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "x", DeletionTimestamp: &ts},
		Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}}
	_, err := decideDelete(ns, &metav1.DeleteOptions{}, time.Now())
	if st := toStatus(err).Status(); st.Code != 409 || st.Message != `Operation cannot be fulfilled on namespaces "x": `+namespacePurgeMessage {
		t.Fatalf("status = %d %q, want 409 with kube's purge message", st.Code, st.Message)
	}
}

func TestDecideDeleteRejectsBadPolicy(t *testing.T) {
	rc := &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc"}}
	for _, opts := range []metav1.DeleteOptions{
		{PropagationPolicy: ptr(metav1.DeletionPropagation("Sideways"))},
		{PropagationPolicy: ptr(metav1.DeletePropagationOrphan), OrphanDependents: ptr(true)},
	} {
		if _, err := decideDelete(rc, &opts, time.Now()); toStatus(err).Status().Code != 422 {
			t.Errorf("options %+v: err = %v, want 422", opts, err)
		}
	}
}
