package apiserver

import (
	"fmt"
	"sort"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tug-sh/tug/control/registry"
)

func TestEventRing(t *testing.T) {
	r := newEventRing(3, 10)
	if got, ok := r.after(9); ok || got != nil {
		t.Errorf("after(9) on a ring covering from 10: %v %v", got, ok)
	}
	if got, ok := r.after(10); !ok || len(got) != 0 {
		t.Errorf("after(10) on an empty ring: %v %v", got, ok)
	}
	for _, rev := range []int64{11, 12, 14, 15} {
		r.add(&cacheEvent{rev: rev})
	}
	revs := func(evs []*cacheEvent) string {
		var out []int64
		for _, ev := range evs {
			out = append(out, ev.rev)
		}
		return fmt.Sprint(out)
	}
	tests := []struct {
		after int64
		want  string
		ok    bool
	}{
		{10, "", false}, // 11 was dropped
		{11, "[12 14 15]", true},
		{12, "[14 15]", true},
		{13, "[14 15]", true},
		{15, "[]", true},
		{20, "[]", true},
	}
	for _, tt := range tests {
		got, ok := r.after(tt.after)
		if ok != tt.ok || (ok && revs(got) != tt.want) {
			t.Errorf("after(%d) = %s %v, want %s %v", tt.after, revs(got), ok, tt.want, tt.ok)
		}
	}
	if r.len() != 3 || r.coveredFrom != 11 {
		t.Errorf("len %d coveredFrom %d, want 3 and 11", r.len(), r.coveredFrom)
	}
}

func TestBookmarkDue(t *testing.T) {
	tests := []struct {
		name                 string
		cacheRev, from, sent int64
		heard                bool
		want                 bool
	}{
		{name: "news", cacheRev: 12, from: 5, sent: 10, heard: true, want: true},
		{name: "nothing new, told since the last tick", cacheRev: 10, from: 5, sent: 10, heard: true},
		{name: "nothing new, silent for a tick", cacheRev: 10, from: 5, sent: 10, want: true},
		{name: "cache behind the watch's start", cacheRev: 10, from: 20, sent: 20},
		{name: "cache at the watch's start, silent", cacheRev: 20, from: 20, sent: 20, want: true},
	}
	for _, tt := range tests {
		if got := bookmarkDue(tt.cacheRev, tt.from, tt.sent, tt.heard); got != tt.want {
			t.Errorf("%s: bookmarkDue = %v, want %v", tt.name, got, tt.want)
		}
	}
}

func TestDecideListFreshness(t *testing.T) {
	tests := []struct {
		name string
		lo   listOptions
		want freshness
		rev  int64
	}{
		{"unset is the latest state", listOptions{}, freshLatest, 0},
		{"0 is any state", listOptions{rv: "0"}, freshAny, 0},
		{"a version is not older than it", listOptions{rv: "42"}, freshNotOlderThan, 42},
		{"NotOlderThan explicitly", listOptions{rv: "42", rvMatch: metav1.ResourceVersionMatchNotOlderThan}, freshNotOlderThan, 42},
		{"NotOlderThan 0 is any", listOptions{rv: "0", rvMatch: metav1.ResourceVersionMatchNotOlderThan}, freshAny, 0},
		{"Exact needs etcd", listOptions{rv: "42", rvMatch: metav1.ResourceVersionMatchExact}, freshExact, 0},
		{"continued pages need etcd", listOptions{continueToken: "x"}, freshExact, 0},
	}
	for _, tt := range tests {
		got, rev := decideListFreshness(tt.lo)
		if got != tt.want || rev != tt.rev {
			t.Errorf("%s: %v %d, want %v %d", tt.name, got, rev, tt.want, tt.rev)
		}
	}
}

// cachedPod builds a cached pod of namespace ns bound to node.
func cachedPod(res *resource, ns, name, node string, lbls map[string]string) *cachedObject {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name, Labels: lbls}, Spec: corev1.PodSpec{NodeName: node}}
	return newCachedObject(res, res.key(ns, name), p)
}

func TestWatchFilter(t *testing.T) {
	res := newResource(podsResource(t))
	co := cachedPod(res, "default", "web-1", "n1", map[string]string{"app": "web"})
	tests := []struct {
		ns, labels, fields string
		want               bool
	}{
		{"", "", "", true},
		{"default", "", "", true},
		{"other", "", "", false},
		{"", "app=web", "", true},
		{"", "app=db", "", false},
		{"", "", "spec.nodeName=n1", true},
		{"", "", "spec.nodeName=n2", false},
		{"", "", "spec.nodeName=", false},
		{"", "", "metadata.name=web-1,metadata.namespace=default", true},
		{"", "", "status.phase!=Running", true},
		{"default", "app in (web,db)", "spec.nodeName!=n2", true},
	}
	for _, tt := range tests {
		lo := listOptions{labels: labels.Everything(), fields: fields.Everything()}
		var err error
		if lo.labels, err = labels.Parse(tt.labels); err != nil {
			t.Fatal(err)
		}
		if lo.fields, err = fields.ParseSelector(tt.fields); err != nil {
			t.Fatal(err)
		}
		if got := newWatchFilter(tt.ns, lo).matches(co); got != tt.want {
			t.Errorf("ns %q labels %q fields %q: %v, want %v", tt.ns, tt.labels, tt.fields, got, tt.want)
		}
		// The cached sets agree with the uncached matching of lists.
		if tt.ns == "" && lo.matches(res, co.obj) != tt.want {
			t.Errorf("labels %q fields %q: listOptions.matches disagrees", tt.labels, tt.fields)
		}
	}
}

func podsResource(t *testing.T) registry.Resource {
	for _, r := range registry.Resources() {
		if r.Name == "pods" {
			return r
		}
	}
	t.Fatal("no pods resource")
	return registry.Resource{}
}

// TestWatcherSetCandidates checks that an event is offered to the
// unindexed watchers and to those indexed under its old or new node, and
// to no other.
func TestWatcherSetCandidates(t *testing.T) {
	res := newResource(podsResource(t))
	set := newWatcherSet(res)
	add := func(sel string) *cacheWatcher {
		fs, err := fields.ParseSelector(sel)
		if err != nil {
			t.Fatal(err)
		}
		w := &cacheWatcher{filter: watchFilter{labels: labels.Everything(), fields: fs}}
		set.add(w)
		return w
	}
	names := map[*cacheWatcher]string{}
	for _, sel := range []string{"", "spec.nodeName=n1", "spec.nodeName=n2", "spec.nodeName=", "spec.nodeName!=n1", "spec.nodeName=n3"} {
		names[add(sel)] = sel
	}
	pod := func(node string) *cachedObject { return cachedPod(res, "default", "p", node, nil) }
	tests := []struct {
		name      string
		prev, cur *cachedObject
		want      string
	}{
		{"created unbound", nil, pod(""), "[ spec.nodeName!=n1 spec.nodeName=]"},
		{"bound to n1", pod(""), pod("n1"), "[ spec.nodeName!=n1 spec.nodeName= spec.nodeName=n1]"},
		{"modified on n2", pod("n2"), pod("n2"), "[ spec.nodeName!=n1 spec.nodeName=n2]"},
		{"deleted from n3", pod("n3"), nil, "[ spec.nodeName!=n1 spec.nodeName=n3]"},
	}
	for _, tt := range tests {
		var got []string
		set.candidates(&cacheEvent{prev: tt.prev, cur: tt.cur}, func(w *cacheWatcher) { got = append(got, names[w]) })
		sort.Strings(got)
		if fmt.Sprint(got) != tt.want {
			t.Errorf("%s: offered to %v, want %s", tt.name, got, tt.want)
		}
	}
	for w := range names {
		set.remove(w)
	}
	if len(set.all) != 0 || len(set.byIndex) != 0 {
		t.Errorf("after removing every watcher: %d unindexed, %d index values left", len(set.all), len(set.byIndex))
	}
}

func TestRetryDelay(t *testing.T) {
	d := retryDelay(0)
	var seen []time.Duration
	for i := 0; i < 8; i++ {
		seen = append(seen, d)
		d = retryDelay(d)
	}
	if fmt.Sprint(seen) != "[100ms 200ms 400ms 800ms 1.6s 3.2s 5s 5s]" {
		t.Errorf("delays %v", seen)
	}
}

func TestOldestRetained(t *testing.T) {
	for _, tt := range []struct{ lo, hi, compacted, want int64 }{
		{1, 100, 0, 1},   // nothing compacted
		{1, 100, 57, 57}, // compacted at 57: 57 is still held
		{1, 100, 100, 100},
		{40, 100, 10, 40}, // compacted below the range
		{5, 5, 5, 5},
	} {
		probes := 0
		got, err := oldestRetained(tt.lo, tt.hi, func(rev int64) (bool, error) {
			probes++
			return rev >= tt.compacted, nil
		})
		if err != nil || got != tt.want {
			t.Errorf("oldestRetained(%d, %d) compacted at %d = %d, %v; want %d", tt.lo, tt.hi, tt.compacted, got, err, tt.want)
		}
		if probes > 8 {
			t.Errorf("oldestRetained(%d, %d): %d probes", tt.lo, tt.hi, probes)
		}
	}
}
