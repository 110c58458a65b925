package apiserver_test

import (
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tug-sh/tug/control/apiserver"
	"github.com/tug-sh/tug/control/apiserver/apitest"
)

// untilBookmark reads a stream that allows bookmarks until a BOOKMARK at
// rev or later, and returns the other events before it. A bookmark comes
// after every event up to its revision, so these are all the watcher
// gets up to rev.
func (s *stream) untilBookmark(rev int64) []rawEvent {
	s.t.Helper()
	var out []rawEvent
	for {
		ev := s.next()
		if ev.Type != watch.Bookmark {
			out = append(out, ev)
			continue
		}
		if _, m := ev.meta(s.t); rvOf(m.ResourceVersion) >= rev {
			return out
		}
	}
}

// metric reads one sample of the server's /metrics ("name{labels}"), 0
// when absent.
func metric(t testing.TB, env *apitest.Env, sample string) float64 {
	t.Helper()
	for _, line := range strings.Split(string(call(t, env, "GET", "/metrics", nil).body), "\n") {
		if v, ok := strings.CutPrefix(line, sample+" "); ok {
			f, err := strconv.ParseFloat(v, 64)
			if err != nil {
				t.Fatalf("metric %s: %v", line, err)
			}
			return f
		}
	}
	return 0
}

// storeRevision is etcd's current revision.
func storeRevision(t testing.TB, env *apitest.Env) int64 {
	t.Helper()
	rev, err := env.Store.Revision(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	return rev
}

// podChange is one write of the model: a pod before and after it (nil for
// absent) and the revision of the write.
type podChange struct {
	prev, cur *corev1.Pod
	rev       int64
}

// modelEvent is what a watcher should see: "TYPE name@rev node app".
func modelEvent(typ watch.EventType, p *corev1.Pod, rev int64) string {
	return fmt.Sprintf("%s %s@%d node=%q app=%q", typ, p.Name, rev, p.Spec.NodeName, p.Labels["app"])
}

// observed renders received events as modelEvent does.
func observed(t testing.TB, evs []rawEvent) []string {
	t.Helper()
	var out []string
	for _, ev := range evs {
		var p corev1.Pod
		if err := json.Unmarshal(ev.Object, &p); err != nil {
			t.Fatalf("event object: %v", err)
		}
		out = append(out, modelEvent(ev.Type, &p, rvOf(p.ResourceVersion)))
	}
	return out
}

// expected is the brute-force model of a watcher: every change checked
// against the selector, with kube's transitions.
func expected(changes []podChange, match func(*corev1.Pod) bool) []string {
	var out []string
	for _, c := range changes {
		oldMatch := c.prev != nil && match(c.prev)
		newMatch := c.cur != nil && match(c.cur)
		switch {
		case oldMatch && newMatch:
			out = append(out, modelEvent(watch.Modified, c.cur, c.rev))
		case newMatch:
			out = append(out, modelEvent(watch.Added, c.cur, c.rev))
		case oldMatch:
			out = append(out, modelEvent(watch.Deleted, c.prev, c.rev))
		}
	}
	return out
}

// podWriter makes random pod changes through the API and records them.
type podWriter struct {
	t       testing.TB
	env     *apitest.Env
	rng     *rand.Rand
	ns      string
	nodes   []string
	live    map[string]*corev1.Pod
	changes []podChange
	seq     int
}

// step makes one random change: create, bind, relabel or delete.
func (w *podWriter) step() {
	t := w.t
	t.Helper()
	pods := w.env.Client.CoreV1().Pods(w.ns)
	var names []string
	for n := range w.live {
		names = append(names, n)
	}
	slices.Sort(names)
	op := w.rng.IntN(4)
	if len(names) == 0 {
		op = 0
	}
	switch op {
	case 0:
		w.seq++
		p := testPod(fmt.Sprintf("p%03d", w.seq))
		p.Labels["app"] = []string{"even", "odd"}[w.rng.IntN(2)]
		if w.rng.IntN(3) == 0 {
			p.Spec.NodeName = w.nodes[w.rng.IntN(len(w.nodes))]
		}
		cur, err := pods.Create(ctx(t), p, metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.record(nil, cur)
	case 1:
		prev := w.live[names[w.rng.IntN(len(names))]]
		if prev.Spec.NodeName != "" {
			w.relabel(prev)
			return
		}
		bind(t, w.env, w.ns, prev.Name, w.nodes[w.rng.IntN(len(w.nodes))])
		cur, err := pods.Get(ctx(t), prev.Name, metav1.GetOptions{})
		if err != nil {
			t.Fatal(err)
		}
		w.record(prev, cur)
	case 2:
		w.relabel(w.live[names[w.rng.IntN(len(names))]])
	case 3:
		prev := w.live[names[w.rng.IntN(len(names))]]
		if err := pods.Delete(ctx(t), prev.Name, metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](0)}); err != nil {
			t.Fatal(err)
		}
		w.record(prev, nil)
	}
}

func (w *podWriter) relabel(prev *corev1.Pod) {
	w.t.Helper()
	app := []string{"even", "odd", "none"}[w.rng.IntN(3)]
	patch := `{"metadata":{"labels":{"app":"` + app + `","n":"` + strconv.Itoa(w.rng.IntN(1000)) + `"}}}`
	cur, err := w.env.Client.CoreV1().Pods(w.ns).Patch(ctx(w.t), prev.Name, "application/merge-patch+json", []byte(patch), metav1.PatchOptions{})
	if err != nil {
		w.t.Fatal(err)
	}
	if cur.ResourceVersion != prev.ResourceVersion { // else nothing changed
		w.record(prev, cur)
	}
}

// record notes a change; the test is the only writer, so etcd's revision
// right after it is its revision (a deletion's, which no answer carries).
func (w *podWriter) record(prev, cur *corev1.Pod) {
	w.t.Helper()
	rev := storeRevision(w.t, w.env)
	if n := len(w.changes); n > 0 && rev != w.changes[n-1].rev+1 {
		w.t.Fatalf("change at revision %d after %d: someone else writes", rev, w.changes[n-1].rev)
	}
	if cur != nil && rvOf(cur.ResourceVersion) != rev {
		w.t.Fatalf("%s written at %s, store at %d", cur.Name, cur.ResourceVersion, rev)
	}
	w.changes = append(w.changes, podChange{prev: prev, cur: cur, rev: rev})
	if cur != nil {
		w.live[cur.Name] = cur
	} else {
		delete(w.live, prev.Name)
	}
}

// TestCacheWatchersGetExactlyTheirEvents opens many watches with node and
// label selectors (as node agents and controllers do), makes random
// changes, and compares what each watcher received with a brute-force
// model of the same changes.
func TestCacheWatchersGetExactlyTheirEvents(t *testing.T) {
	env := apitest.Start(t)
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	w := &podWriter{t: t, env: env, rng: rand.New(rand.NewPCG(seed, 1)), ns: "default", live: map[string]*corev1.Pod{}}
	for i := 0; i < 12; i++ {
		w.nodes = append(w.nodes, fmt.Sprintf("node-%d", i))
	}
	type watcher struct {
		name  string
		s     *stream
		match func(*corev1.Pod) bool
	}
	var watchers []watcher
	open := func(name, query string, match func(*corev1.Pod) bool) {
		s := openWatch(t, env, "/api/v1/pods?watch=true&allowWatchBookmarks=true&resourceVersion="+strconv.FormatInt(storeRevision(t, env), 10)+query)
		watchers = append(watchers, watcher{name: name, s: s, match: match})
	}
	for _, n := range w.nodes {
		open(n, "&fieldSelector="+url.QueryEscape("spec.nodeName="+n), func(p *corev1.Pod) bool { return p.Spec.NodeName == n })
	}
	open("unbound", "&fieldSelector="+url.QueryEscape("spec.nodeName="), func(p *corev1.Pod) bool { return p.Spec.NodeName == "" })
	open("all", "", func(*corev1.Pod) bool { return true })
	open("app=even", "&labelSelector="+url.QueryEscape("app=even"), func(p *corev1.Pod) bool { return p.Labels["app"] == "even" })
	open("odd, not on node-1", "&labelSelector="+url.QueryEscape("app=odd")+"&fieldSelector="+url.QueryEscape("spec.nodeName!=node-1"),
		func(p *corev1.Pod) bool { return p.Labels["app"] == "odd" && p.Spec.NodeName != "node-1" })
	for i := 0; i < 150; i++ {
		w.step()
	}
	last := w.changes[len(w.changes)-1].rev
	for _, wt := range watchers {
		got := observed(t, wt.s.untilBookmark(last))
		want := expected(w.changes, wt.match)
		if strings.Join(got, "\n") != strings.Join(want, "\n") {
			t.Errorf("watcher %s got:\n%s\nwant:\n%s", wt.name, strings.Join(got, "\n"), strings.Join(want, "\n"))
		}
	}
	// Node watchers were offered only their own node's events.
	if d := metric(t, env, `apiserver_watch_events_total{resource="pods"}`); d == 0 {
		t.Error("no events dispatched from the watch cache")
	}
}

// TestCacheResumesFromItsHistory resumes watches from recorded
// resourceVersions: within the cache's history they replay what followed;
// older than it (though etcd still has it) they get 410 Expired, and the
// client relists.
func TestCacheResumesFromItsHistory(t *testing.T) {
	env := apitest.Start(t, apitest.WithConfig(func(c *apiserver.Config) { c.WatchCacheSize = 8 }))
	pods := env.Client.CoreV1().Pods("default")
	var rvs []string
	for i := 0; i < 15; i++ {
		p, err := pods.Create(ctx(t), testPod(fmt.Sprintf("p%02d", i)), metav1.CreateOptions{})
		if err != nil {
			t.Fatal(err)
		}
		rvs = append(rvs, p.ResourceVersion)
	}
	// The history holds the last 8 creations, p07 to p14: it resumes
	// after p06.
	w := openWatch(t, env, "/api/v1/namespaces/default/pods?watch=true&resourceVersion="+rvs[6])
	for i := 7; i < 15; i++ {
		_, m := w.expect(watch.Added, fmt.Sprintf("p%02d", i)).meta(t)
		if m.ResourceVersion != rvs[i] {
			t.Errorf("p%02d replayed at %s, created at %s", i, m.ResourceVersion, rvs[i])
		}
	}
	if _, err := pods.Create(ctx(t), testPod("live"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.expect(watch.Added, "live")

	// p05's revision is not compacted in etcd, but the cache's history
	// starts later: 410, as for a compacted revision.
	old := openWatch(t, env, "/api/v1/namespaces/default/pods?watch=true&resourceVersion="+rvs[5])
	ev := old.next()
	var st metav1.Status
	if err := json.Unmarshal(ev.Object, &st); err != nil {
		t.Fatal(err)
	}
	if ev.Type != watch.Error || st.Code != 410 || st.Reason != metav1.StatusReasonExpired {
		t.Fatalf("watch from before the history: %s %s, want ERROR 410 Expired", ev.Type, ev.Object)
	}
	if _, ok := <-old.events; ok {
		t.Error("stream continued after the ERROR event")
	}
	// The relist the client then makes is served from the cache.
	before := metric(t, env, `apiserver_list_source_total{resource="pods",source="cache"}`)
	list, err := pods.List(ctx(t), metav1.ListOptions{ResourceVersion: "0"})
	if err != nil || len(list.Items) != 16 {
		t.Fatalf("relist: %v, %d items", err, len(list.Items))
	}
	if after := metric(t, env, `apiserver_list_source_total{resource="pods",source="cache"}`); after != before+1 {
		t.Errorf("list from cache counter %v -> %v", before, after)
	}
	if n := metric(t, env, `apiserver_watch_cache_events{resource="pods"}`); n != 8 {
		t.Errorf("events held: %v, want 8", n)
	}
	if n := metric(t, env, `apiserver_watch_cache_objects{resource="pods"}`); n != 16 {
		t.Errorf("objects held: %v, want 16", n)
	}
}

// TestCacheIdleWatchGetsBookmarks: nothing is written, yet a watch that
// allows bookmarks hears from the server every few seconds.
func TestCacheIdleWatchGetsBookmarks(t *testing.T) {
	env := apitest.Start(t)
	rev := storeRevision(t, env)
	w := openWatch(t, env, "/api/v1/namespaces/default/pods?watch=true&allowWatchBookmarks=true&resourceVersion="+strconv.FormatInt(rev, 10))
	for i := 0; i < 2; i++ {
		ev := w.next()
		if _, m := ev.meta(t); ev.Type != watch.Bookmark || rvOf(m.ResourceVersion) < rev {
			t.Fatalf("event %s %s on an idle cluster, want a BOOKMARK at %d or later", ev.Type, ev.Object, rev)
		}
	}
	if now := storeRevision(t, env); now != rev {
		t.Fatalf("something wrote meanwhile (revision %d -> %d)", rev, now)
	}
}

// TestCacheConsistentListSeesLatestWrite writes through one server and
// lists through another on the same etcd at once: the consistent list
// (no resourceVersion) is served from the second server's cache, which
// first catches up with etcd, also when the last write was to another
// resource.
func TestCacheConsistentListSeesLatestWrite(t *testing.T) {
	a := apitest.Start(t)
	b := apitest.Start(t, apitest.WithStore(a.Store))
	fromEtcd := metric(t, a, `apiserver_list_source_total{resource="pods",source="etcd"}`)
	for i := 0; i < 20; i++ {
		name := fmt.Sprintf("p%02d", i)
		if _, err := b.Client.CoreV1().Pods("default").Create(ctx(t), testPod(name), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
		if i%2 == 1 {
			// Then something else, so that the pods' cache must ask etcd
			// whether it is up to date.
			ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: fmt.Sprintf("ns%02d", i)}}
			if _, err := b.Client.CoreV1().Namespaces().Create(ctx(t), ns, metav1.CreateOptions{}); err != nil {
				t.Fatal(err)
			}
		}
		rev := storeRevision(t, a)
		list, err := a.Client.CoreV1().Pods("default").List(ctx(t), metav1.ListOptions{})
		if err != nil {
			t.Fatal(err)
		}
		if len(list.Items) != i+1 || list.Items[i].Name != name {
			t.Fatalf("list after creating %s elsewhere: %v", name, names(list.Items))
		}
		if rvOf(list.ResourceVersion) < rev {
			t.Errorf("list at %s, store was at %d before it", list.ResourceVersion, rev)
		}
	}
	if n := metric(t, a, `apiserver_list_source_total{resource="pods",source="etcd"}`); n != fromEtcd {
		t.Errorf("%v consistent lists went to etcd, want none", n-fromEtcd)
	}
	if n := metric(t, a, `apiserver_list_source_total{resource="pods",source="cache"}`); n < 20 {
		t.Errorf("%v lists from the cache, want 20", n)
	}
}

// TestCacheWatchFromTheFuture: a resourceVersion beyond etcd's is kube's
// 504 (too large resource version), which clients retry; one the cache
// has not reached yet but etcd has waits for its events.
func TestCacheWatchFromTheFuture(t *testing.T) {
	env := apitest.Start(t)
	rev := storeRevision(t, env)
	r := call(t, env, "GET", "/api/v1/namespaces/default/pods?watch=true&resourceVersion="+strconv.FormatInt(rev+1000, 10), nil)
	if st := r.status(t); r.code != 504 || len(st.Details.Causes) != 1 || st.Details.Causes[0].Type != metav1.CauseTypeResourceVersionTooLarge {
		t.Errorf("watch from a future resourceVersion: %d %s", r.code, r.body)
	}
	// From a revision made by another resource's write, which the pods
	// cache may not have heard of yet.
	ns, err := env.Client.CoreV1().Namespaces().Create(ctx(t), &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "later"}}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := openWatch(t, env, "/api/v1/namespaces/default/pods?watch=true&resourceVersion="+ns.ResourceVersion)
	if _, err := env.Client.CoreV1().Pods("default").Create(ctx(t), testPod("next"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.expect(watch.Added, "next")
}
