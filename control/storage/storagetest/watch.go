package storagetest

import (
	"context"
	"errors"
	"fmt"
	"runtime"
	"testing"
	"time"

	"github.com/tug-sh/tug/control/storage"
)

func describe(ev storage.Event) string {
	names := map[storage.EventType]string{
		storage.EventCreated: "created", storage.EventModified: "modified", storage.EventDeleted: "deleted",
		storage.EventProgress: "progress", storage.EventError: "error",
	}
	return fmt.Sprintf("%s %s value=%q prev=%q rev=%d err=%v", names[ev.Type], ev.Key, ev.Value, ev.Prev, ev.Revision, ev.Err)
}

// nextEvent returns the next non-progress event, failing on a closed
// channel or a hang.
func nextEvent(t *testing.T, w <-chan storage.Event) storage.Event {
	t.Helper()
	for {
		ev, ok := nextAny(t, w)
		if !ok {
			t.Fatal("watch channel closed, want an event")
		}
		if ev.Type != storage.EventProgress {
			return ev
		}
	}
}

func nextAny(t *testing.T, w <-chan storage.Event) (storage.Event, bool) {
	t.Helper()
	select {
	case ev, ok := <-w:
		return ev, ok
	case <-time.After(hangLimit):
		t.Fatalf("no watch event within %s", hangLimit)
		return storage.Event{}, false
	}
}

func watch(t *testing.T, ctx context.Context, st storage.Store, prefix string, from int64, progress bool) <-chan storage.Event {
	t.Helper()
	w, err := st.Watch(ctx, prefix, from, progress)
	if err != nil {
		t.Fatalf("Watch(%s, %d): %v", prefix, from, err)
	}
	return w
}

type wantEvent struct {
	typ         storage.EventType
	key         string
	value, prev string // "" and nil are the same here
	rev         int64
}

func expectEvent(t *testing.T, w <-chan storage.Event, want wantEvent) {
	t.Helper()
	ev := nextEvent(t, w)
	if ev.Type != want.typ || ev.Key != want.key || string(ev.Value) != want.value || string(ev.Prev) != want.prev || ev.Revision != want.rev {
		t.Fatalf("event %s\nwant %s", describe(ev), describe(storage.Event{Type: want.typ, Key: want.key, Value: []byte(want.value), Prev: []byte(want.prev), Revision: want.rev}))
	}
	if ev.Type == storage.EventDeleted && ev.Value != nil {
		t.Fatalf("delete event carries a value %q", ev.Value)
	}
}

func testWatchEvents(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	k := p + "pods/ns/a"
	w := watch(t, ctx, st, p+"pods/", mustRevision(t, ctx, st), false)
	r1 := mustApply(t, ctx, st, storage.Create(k, []byte("v1")))
	r2 := mustApply(t, ctx, st, storage.Update(k, []byte("v2"), r1))
	r3 := mustApply(t, ctx, st, storage.Delete(k, r2))
	r4 := mustApply(t, ctx, st, storage.Create(k, []byte("v3")))
	expectEvent(t, w, wantEvent{storage.EventCreated, k, "v1", "", r1})
	expectEvent(t, w, wantEvent{storage.EventModified, k, "v2", "v1", r2})
	expectEvent(t, w, wantEvent{storage.EventDeleted, k, "", "v2", r3})
	expectEvent(t, w, wantEvent{storage.EventCreated, k, "v3", "", r4})

	// One multi-op Apply is several events at one revision.
	r5 := mustApply(t, ctx, st, storage.Create(p+"pods/ns/b", []byte("b")), storage.Update(k, []byte("v4"), r4))
	got := map[string]storage.Event{}
	for range 2 {
		ev := nextEvent(t, w)
		got[ev.Key] = ev
	}
	if ev := got[p+"pods/ns/b"]; ev.Type != storage.EventCreated || ev.Revision != r5 {
		t.Fatalf("multi-op create event: %s, want created at %d", describe(ev), r5)
	}
	if ev := got[k]; ev.Type != storage.EventModified || ev.Revision != r5 || string(ev.Prev) != "v3" {
		t.Fatalf("multi-op update event: %s, want modified at %d with prev v3", describe(ev), r5)
	}
}

func testWatchFromRevision(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	r1 := mustApply(t, ctx, st, storage.Create(p+"w/a", []byte("a")))
	r2 := mustApply(t, ctx, st, storage.Create(p+"w/b", []byte("b")))
	r3 := mustApply(t, ctx, st, storage.Update(p+"w/a", []byte("a2"), r1))
	// Watching from r1 replays what happened after r1, with prev values.
	w := watch(t, ctx, st, p+"w/", r1, false)
	expectEvent(t, w, wantEvent{storage.EventCreated, p + "w/b", "b", "", r2})
	expectEvent(t, w, wantEvent{storage.EventModified, p + "w/a", "a2", "a", r3})
	r4 := mustApply(t, ctx, st, storage.Delete(p+"w/b", r2))
	expectEvent(t, w, wantEvent{storage.EventDeleted, p + "w/b", "", "b", r4})
}

func testWatchFromNow(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	mustApply(t, ctx, st, storage.Create(p+"n/old", []byte("old")))
	// Every write after Watch returns is seen, none before it.
	w := watch(t, ctx, st, p+"n/", 0, false)
	r := mustApply(t, ctx, st, storage.Create(p+"n/new", []byte("new")))
	expectEvent(t, w, wantEvent{storage.EventCreated, p + "n/new", "new", "", r})
}

func testWatchPrefixIsolation(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	w := watch(t, ctx, st, p+"pods/", mustRevision(t, ctx, st), false)
	mustApply(t, ctx, st, storage.Create(p+"podsx/ns/a", []byte("x")))
	mustApply(t, ctx, st, storage.Create(p+"pods", []byte("x")))
	mustApply(t, ctx, st, storage.Create(p+"pod/ns/a", []byte("x")))
	r := mustApply(t, ctx, st, storage.Create(p+"pods/ns/a", []byte("in")))
	// The first event is the one under the prefix: the others never show.
	expectEvent(t, w, wantEvent{storage.EventCreated, p + "pods/ns/a", "in", "", r})
}

func testWatchOrdering(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	w := watch(t, ctx, st, p+"o/", mustRevision(t, ctx, st), false)
	const n = 60
	revs := make([]int64, 0, n)
	cur := map[string]int64{}
	for i := range n {
		k := fmt.Sprintf("%so/k%d", p, i%7)
		var op storage.Op
		if r, ok := cur[k]; ok {
			op = storage.Update(k, []byte(fmt.Sprint(i)), r)
		} else {
			op = storage.Create(k, []byte(fmt.Sprint(i)))
		}
		rev := mustApply(t, ctx, st, op)
		cur[k] = rev
		revs = append(revs, rev)
	}
	var last int64
	for i, want := range revs {
		ev, ok := nextAny(t, w)
		if !ok {
			t.Fatalf("watch closed after %d events", i)
		}
		if ev.Type == storage.EventProgress {
			t.Fatalf("progress event on a watch that did not ask for it: %s", describe(ev))
		}
		if ev.Revision != want || ev.Revision <= last {
			t.Fatalf("event %d at revision %d, want %d (previous %d)", i, ev.Revision, want, last)
		}
		if string(ev.Value) != fmt.Sprint(i) {
			t.Fatalf("event %d carries %q", i, ev.Value)
		}
		last = ev.Revision
	}
}

// A watch on a quiet prefix learns, through progress events, that the
// store moved on: a client resuming from the last progress revision need
// not replay (or find compacted) the history it skipped.
func testWatchProgress(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	r := mustApply(t, ctx, st, storage.Create(p+"quiet/a", []byte("a")))
	w := watch(t, ctx, st, p+"quiet/", r, true)
	noisy := mustApply(t, ctx, st, storage.Create(p+"noisy/a", []byte("n")))
	for {
		ev, ok := nextAny(t, w)
		if !ok {
			t.Fatal("progress watch closed")
		}
		if ev.Type != storage.EventProgress {
			t.Fatalf("got %s on a quiet prefix, want only progress", describe(ev))
		}
		if ev.Revision >= noisy {
			break
		}
	}
	// Progress never runs ahead of events: a write after it comes at a
	// higher revision, and is delivered.
	r2 := mustApply(t, ctx, st, storage.Update(p+"quiet/a", []byte("b"), r))
	expectEvent(t, w, wantEvent{storage.EventModified, p + "quiet/a", "b", "a", r2})
}

func testWatchCompacted(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	k := p + "c/a"
	r1 := mustApply(t, ctx, st, storage.Create(k, []byte("1")))
	r2 := mustApply(t, ctx, st, storage.Update(k, []byte("2"), r1))
	r3 := mustApply(t, ctx, st, storage.Update(k, []byte("3"), r2))
	if err := st.Compact(ctx, r3); err != nil {
		t.Fatal(err)
	}
	w := watch(t, ctx, st, p+"c/", r1, false)
	ev, ok := nextAny(t, w)
	if !ok || ev.Type != storage.EventError || !errors.Is(ev.Err, storage.ErrCompacted) {
		t.Fatalf("watch from compacted revision %d: %s (open=%v), want an error wrapping ErrCompacted", r1, describe(ev), ok)
	}
	if _, ok := nextAny(t, w); ok {
		t.Fatal("watch channel stays open after an error event")
	}
	// Watching from the compaction revision itself still works.
	w = watch(t, ctx, st, p+"c/", r3, false)
	r4 := mustApply(t, ctx, st, storage.Update(k, []byte("4"), r3))
	expectEvent(t, w, wantEvent{storage.EventModified, k, "4", "3", r4})
}

func testWatchCancel(t *testing.T, s *suite) {
	st, p := s.store(t), root(t)
	ctx, cancel := context.WithCancel(ctxFor(t))
	w := watch(t, ctx, st, p+"x/", 0, true)
	cancel()
	for {
		ev, ok := nextAny(t, w)
		if !ok {
			return
		}
		if ev.Type == storage.EventError && !errors.Is(ev.Err, context.Canceled) {
			t.Fatalf("after cancel: %s", describe(ev))
		}
	}
}

// Watches that end must leave no goroutine behind, in the caller's process:
// an API server opens and closes watches all day.
func testWatchNoGoroutineLeak(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	// Warm up connections and pools so their goroutines count as baseline.
	warm, stop := context.WithCancel(ctx)
	drain(t, watch(t, warm, st, p+"warm/", 0, true), stop)
	mustApply(t, ctx, st, storage.Create(p+"warm/a", nil))

	baseline := settledGoroutines()
	const n = 20
	var stops []context.CancelFunc
	var chans []<-chan storage.Event
	for i := range n {
		wctx, stop := context.WithCancel(ctx)
		stops = append(stops, stop)
		chans = append(chans, watch(t, wctx, st, fmt.Sprintf("%sleak/%d/", p, i), 0, i%2 == 0))
	}
	r := mustApply(t, ctx, st, storage.Create(p+"leak/3/x", nil))
	expectEvent(t, chans[3], wantEvent{storage.EventCreated, p + "leak/3/x", "", "", r})
	for i := range n {
		drain(t, chans[i], stops[i])
	}
	deadline := time.Now().Add(hangLimit)
	for {
		now := settledGoroutines()
		if now <= baseline {
			return
		}
		if time.Now().After(deadline) {
			buf := make([]byte, 1<<20)
			t.Fatalf("%d goroutines after closing %d watches, %d before:\n%s", now, n, baseline, buf[:runtime.Stack(buf, true)])
		}
		time.Sleep(50 * time.Millisecond)
	}
}

func drain(t *testing.T, w <-chan storage.Event, stop context.CancelFunc) {
	t.Helper()
	stop()
	for {
		if _, ok := nextAny(t, w); !ok {
			return
		}
	}
}

func settledGoroutines() int {
	runtime.GC()
	time.Sleep(20 * time.Millisecond)
	return runtime.NumGoroutine()
}
