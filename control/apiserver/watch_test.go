package apiserver_test

import (
	"bufio"
	"context"
	"encoding/json"
	"net/http"
	"strconv"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/tug-sh/tug/control/apiserver/apitest"
)

// rawEvent is one line of a watch stream.
type rawEvent struct {
	Type   watch.EventType `json:"type"`
	Object json.RawMessage `json:"object"`
}

// meta decodes the event object's type and object metadata.
func (e rawEvent) meta(t testing.TB) (metav1.TypeMeta, metav1.ObjectMeta) {
	t.Helper()
	var o struct {
		metav1.TypeMeta `json:",inline"`
		Metadata        metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(e.Object, &o); err != nil {
		t.Fatalf("event object: %v: %s", err, e.Object)
	}
	return o.TypeMeta, o.Metadata
}

// stream is an open raw watch.
type stream struct {
	t      testing.TB
	resp   *http.Response
	events chan rawEvent
	cancel context.CancelFunc
}

// openWatch starts a raw watch at path (with its query); headers alternate
// name, value.
func openWatch(t testing.TB, env *apitest.Env, path string, headers ...string) *stream {
	t.Helper()
	c, cancel := context.WithCancel(context.Background())
	req, err := http.NewRequestWithContext(c, "GET", env.URL+path, nil)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i+1 < len(headers); i += 2 {
		req.Header.Set(headers[i], headers[i+1])
	}
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		cancel()
		t.Fatalf("watch %s: %v", path, err)
	}
	if resp.StatusCode != 200 {
		cancel()
		t.Fatalf("watch %s: status %d", path, resp.StatusCode)
	}
	s := &stream{t: t, resp: resp, events: make(chan rawEvent, 100), cancel: cancel}
	go func() {
		defer close(s.events)
		sc := bufio.NewScanner(resp.Body)
		sc.Buffer(make([]byte, 1<<20), 1<<20)
		for sc.Scan() {
			var ev rawEvent
			if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
				t.Errorf("watch line is not an event: %v: %s", err, sc.Bytes())
				return
			}
			s.events <- ev
		}
	}()
	t.Cleanup(s.close)
	return s
}

func (s *stream) close() {
	s.cancel()
	s.resp.Body.Close()
}

// next waits for the next event; the timeout only guards against a hang.
func (s *stream) next() rawEvent {
	s.t.Helper()
	select {
	case ev, ok := <-s.events:
		if !ok {
			s.t.Fatal("watch stream ended")
		}
		return ev
	case <-time.After(30 * time.Second):
		s.t.Fatal("no watch event within 30s")
	}
	return rawEvent{}
}

// expect reads the next event and checks its type and object name.
func (s *stream) expect(typ watch.EventType, name string) rawEvent {
	s.t.Helper()
	ev := s.next()
	_, m := ev.meta(s.t)
	if ev.Type != typ || m.Name != name {
		s.t.Fatalf("event %s %q, want %s %q: %s", ev.Type, m.Name, typ, name, ev.Object)
	}
	return ev
}

func TestWatchReplaysThenStreams(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	if _, err := pods.Create(ctx(t), testPod("before"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w := openWatch(t, env, "/api/v1/namespaces/default/pods?watch=true")
	if ct := w.resp.Header.Get("Content-Type"); ct != "application/json" {
		t.Errorf("Content-Type %q", ct)
	}
	ev := w.expect(watch.Added, "before")
	if tm, _ := ev.meta(t); tm.Kind != "Pod" || tm.APIVersion != "v1" {
		t.Errorf("event object type %+v", tm)
	}
	p, err := pods.Create(ctx(t), testPod("after"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	_, m := w.expect(watch.Added, "after").meta(t)
	if m.ResourceVersion != p.ResourceVersion {
		t.Errorf("ADDED at %s, created at %s", m.ResourceVersion, p.ResourceVersion)
	}
	p.Labels["x"] = "y"
	if p, err = pods.Update(ctx(t), p, metav1.UpdateOptions{}); err != nil {
		t.Fatal(err)
	}
	_, m = w.expect(watch.Modified, "after").meta(t)
	if m.Labels["x"] != "y" || m.ResourceVersion != p.ResourceVersion {
		t.Errorf("MODIFIED %+v", m)
	}
	if err := pods.Delete(ctx(t), "after", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	_, m = w.expect(watch.Deleted, "after").meta(t)
	if m.ResourceVersion == p.ResourceVersion {
		t.Errorf("DELETED carries the last update's resourceVersion %s, want the deletion's", m.ResourceVersion)
	}
	// The legacy path and a watch of one object.
	one := openWatch(t, env, "/api/v1/watch/namespaces/default/pods/before")
	one.expect(watch.Added, "before")
	if _, err := pods.Create(ctx(t), testPod("unrelated"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Patch(ctx(t), "before", "application/merge-patch+json", []byte(`{"metadata":{"labels":{"seen":"1"}}}`), metav1.PatchOptions{}); err != nil {
		t.Fatal(err)
	}
	one.expect(watch.Modified, "before")
}

func TestWatchFromResourceVersion(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	first, err := pods.Create(ctx(t), testPod("first"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if _, err := pods.Create(ctx(t), testPod("second"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w, err := pods.Watch(ctx(t), metav1.ListOptions{ResourceVersion: first.ResourceVersion})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	select {
	case ev := <-w.ResultChan():
		if p, ok := ev.Object.(*corev1.Pod); !ok || ev.Type != watch.Added || p.Name != "second" {
			t.Fatalf("first event after %s: %s %+v", first.ResourceVersion, ev.Type, ev.Object)
		}
	case <-time.After(30 * time.Second):
		t.Fatal("no event")
	}
}

func TestWatchCompactedRevisionExpires(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	old, err := pods.Create(ctx(t), testPod("old"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	for _, n := range []string{"a", "b"} {
		if _, err := pods.Create(ctx(t), testPod(n), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	rev, err := env.Store.Revision(ctx(t))
	if err != nil {
		t.Fatal(err)
	}
	if err := env.Store.Compact(ctx(t), rev); err != nil {
		t.Fatal(err)
	}
	w := openWatch(t, env, "/api/v1/namespaces/default/pods?watch=1&resourceVersion="+old.ResourceVersion)
	ev := w.next()
	var st metav1.Status
	if err := json.Unmarshal(ev.Object, &st); err != nil {
		t.Fatal(err)
	}
	if ev.Type != watch.Error || st.Code != 410 || st.Reason != metav1.StatusReasonExpired || st.Kind != "Status" {
		t.Fatalf("event %s %+v, want ERROR 410 Expired", ev.Type, st)
	}
	if _, ok := <-w.events; ok {
		t.Error("stream continued after the ERROR event")
	}
}

func TestWatchSelectorTransitions(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	w := openWatch(t, env, "/api/v1/namespaces/default/pods?watch=true&labelSelector=app%3Dfront")
	p := testPod("moving")
	p.Labels = map[string]string{"app": "back"}
	p, err := pods.Create(ctx(t), p, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	relabel := func(app string) {
		t.Helper()
		patch := `{"metadata":{"labels":{"app":"` + app + `"}}}`
		if _, err := pods.Patch(ctx(t), "moving", "application/merge-patch+json", []byte(patch), metav1.PatchOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	relabel("front")
	_, m := w.expect(watch.Added, "moving").meta(t)
	if m.Labels["app"] != "front" {
		t.Errorf("ADDED carries labels %v", m.Labels)
	}
	relabel("front2")
	ev := w.expect(watch.Deleted, "moving")
	_, m = ev.meta(t)
	if m.Labels["app"] != "front" {
		t.Errorf("DELETED (stopped matching) should carry the last matching state, has %v", m.Labels)
	}
	// A field selector too: the pod is bound while watched.
	fw := openWatch(t, env, "/api/v1/pods?watch=true&fieldSelector=spec.nodeName%3Dn1")
	bind(t, env, "default", "moving", "n1")
	fw.expect(watch.Added, "moving")
	if err := pods.Delete(ctx(t), "moving", metav1.DeleteOptions{GracePeriodSeconds: ptr[int64](0)}); err != nil {
		t.Fatal(err)
	}
	fw.expect(watch.Deleted, "moving")
	// Nothing else reached the label watch: the next event is a new match.
	q := testPod("other")
	q.Labels = map[string]string{"app": "front"}
	if _, err := pods.Create(ctx(t), q, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	w.expect(watch.Added, "other")
}

// TestWatchBookmarks watches default's pods while a pod elsewhere is
// written: the watcher gets no event for it but, from the store's progress
// notifications (every few seconds), a BOOKMARK at least that recent.
func TestWatchBookmarks(t *testing.T) {
	env := apitest.Start(t)
	w := openWatch(t, env, "/api/v1/namespaces/default/pods?watch=true&allowWatchBookmarks=true")
	other, err := env.Client.CoreV1().Pods("kube-system").Create(ctx(t), testPod("elsewhere"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	ev := w.next()
	if ev.Type != watch.Bookmark {
		t.Fatalf("event %s, want BOOKMARK", ev.Type)
	}
	if _, m := ev.meta(t); rvLess(m.ResourceVersion, other.ResourceVersion) {
		t.Errorf("bookmark at %s, before the write at %s", m.ResourceVersion, other.ResourceVersion)
	}
	var obj map[string]any
	if err := json.Unmarshal(ev.Object, &obj); err != nil {
		t.Fatal(err)
	}
	md, _ := obj["metadata"].(map[string]any)
	if len(obj) != 3 || obj["kind"] != "Pod" || obj["apiVersion"] != "v1" || len(md) != 1 || md["resourceVersion"] == "" {
		t.Errorf("bookmark object %s, want only kind, apiVersion and metadata.resourceVersion", ev.Object)
	}
}

func TestWatchSendInitialEvents(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	for _, n := range []string{"x", "y"} {
		if _, err := pods.Create(ctx(t), testPod(n), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	w := openWatch(t, env, "/api/v1/namespaces/default/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true")
	w.expect(watch.Added, "x")
	w.expect(watch.Added, "y")
	ev := w.next()
	_, m := ev.meta(t)
	if ev.Type != watch.Bookmark || m.Annotations["k8s.io/initial-events-end"] != "true" || m.ResourceVersion == "" {
		t.Fatalf("after the initial events: %s %s", ev.Type, ev.Object)
	}
	if err := pods.Delete(ctx(t), "x", metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	w.expect(watch.Deleted, "x")
}

func TestWatchTimeoutSeconds(t *testing.T) {
	env := apitest.Start(t)
	w := openWatch(t, env, "/api/v1/namespaces/default/pods?watch=true&timeoutSeconds=1&resourceVersion=1")
	select {
	case _, ok := <-w.events:
		if ok {
			t.Fatal("unexpected event")
		}
	case <-time.After(30 * time.Second):
		t.Fatal("watch with timeoutSeconds=1 still open after 30s")
	}
}

func TestWatchTable(t *testing.T) {
	env := apitest.Start(t)
	w := openWatch(t, env, "/api/v1/namespaces/default/replicationcontrollers?watch=true",
		"Accept", "application/json;as=Table;v=v1;g=meta.k8s.io,application/json")
	if _, err := env.Client.CoreV1().ReplicationControllers("default").Create(ctx(t), testRC("tab", 2), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	ev := w.next()
	var tab metav1.Table
	if err := json.Unmarshal(ev.Object, &tab); err != nil {
		t.Fatal(err)
	}
	if ev.Type != watch.Added || tab.Kind != "Table" || len(tab.Rows) != 1 || len(tab.ColumnDefinitions) == 0 || tab.Rows[0].Cells[0] != "tab" {
		t.Fatalf("table event %s %s", ev.Type, ev.Object)
	}
}

// rvLess compares resourceVersions numerically.
func rvLess(a, b string) bool {
	x, _ := strconv.ParseInt(a, 10, 64)
	y, _ := strconv.ParseInt(b, 10, 64)
	return x < y
}

// TestInformerSyncs runs a client-go informer, as the controllers do (it
// uses the streaming watch-list with an initial-events bookmark).
func TestInformerSyncs(t *testing.T) {
	env := apitest.Start(t)
	pods := env.Client.CoreV1().Pods("default")
	if _, err := pods.Create(ctx(t), testPod("seed"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	f := informers.NewSharedInformerFactory(env.Client, 0)
	inf := f.Core().V1().Pods().Informer()
	added := make(chan string, 10)
	inf.AddEventHandler(cache.ResourceEventHandlerFuncs{AddFunc: func(obj any) { added <- obj.(*corev1.Pod).Name }})
	stop := make(chan struct{})
	defer f.Shutdown() // after close(stop): waits for the informer to end
	defer close(stop)
	f.Start(stop)
	c, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if !cache.WaitForCacheSync(c.Done(), inf.HasSynced) {
		t.Fatal("informer did not sync")
	}
	if _, err := pods.Create(ctx(t), testPod("live"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	var seen []string
	for len(seen) < 2 {
		select {
		case n := <-added:
			seen = append(seen, n)
		case <-c.Done():
			t.Fatalf("informer saw %v, want seed and live", seen)
		}
	}
	if strings.Join(seen, ",") != "seed,live" {
		t.Errorf("informer saw %v", seen)
	}
	// client-go's informers stream their initial state (sendInitialEvents):
	// they watched pods without ever listing them.
	m := string(call(t, env, "GET", "/metrics", nil).body)
	if strings.Contains(m, `resource="pods",subresource="",verb="LIST"`) || !strings.Contains(m, `apiserver_registered_watchers{resource="pods"} 1`) {
		t.Errorf("informer requests, from /metrics:\n%s", grepLines(m, "apiserver_re"))
	}
}

func grepLines(text, substr string) string {
	var out []string
	for _, l := range strings.Split(text, "\n") {
		if strings.Contains(l, substr) {
			out = append(out, l)
		}
	}
	return strings.Join(out, "\n")
}
