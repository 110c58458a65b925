package storage_test

import (
	"context"
	"errors"
	"fmt"
	"testing"
	"time"

	"github.com/tug-sh/tug/control/storage"
	"github.com/tug-sh/tug/control/storage/etcdtest"
)

// createRetrying writes key, retrying while the cluster is unavailable (a
// member died, an election runs). A retry of a create whose first attempt
// did land reports ErrExists; the key's value tells whether it was ours.
func createRetrying(t *testing.T, ctx context.Context, st storage.Store, key, value string) (rev int64, retries int) {
	t.Helper()
	for {
		actx, cancel := context.WithTimeout(ctx, time.Second)
		rev, err := st.Apply(actx, storage.Create(key, []byte(value)))
		cancel()
		switch {
		case err == nil:
			return rev, retries
		case errors.Is(err, storage.ErrExists) && retries > 0:
			kv, gerr := st.Get(ctx, key)
			if gerr == nil && string(kv.Value) == value {
				return kv.Revision, retries
			}
			t.Fatalf("create %s: %v (value %q, %v)", key, err, kv.Value, gerr)
		case errors.Is(err, storage.ErrUnavailable), errors.Is(err, context.DeadlineExceeded):
			if ctx.Err() != nil {
				t.Fatalf("create %s: still failing when the test's time ran out: %v", key, err)
			}
			retries++
			time.Sleep(50 * time.Millisecond)
		default:
			t.Fatalf("create %s: %v", key, err)
		}
	}
}

// Killing any one member of a 3-member cluster, the leader included, leaves
// one client's writes and its open watch working: the client moves to the
// surviving endpoints by itself, and the watch resumes where it was with
// no event lost or repeated.
func TestExternalClusterSurvivesMemberKill(t *testing.T) {
	c := etcdtest.StartCluster(t, 3)
	st := dial(t, c.Endpoints())
	t.Cleanup(func() { st.Close() })
	ctx, cancel := context.WithTimeout(context.Background(), 3*time.Minute)
	defer cancel()

	prefix := fmt.Sprintf("/registry/failover-%d/", time.Now().UnixNano())
	w, err := st.Watch(ctx, prefix, 0, true)
	if err != nil {
		t.Fatal(err)
	}
	var revs []int64
	write := func(n int) {
		for range n {
			key := fmt.Sprintf("%sk%04d", prefix, len(revs))
			rev, retries := createRetrying(t, ctx, st, key, key)
			if retries > 0 {
				t.Logf("%s written after %d retries", key, retries)
			}
			revs = append(revs, rev)
		}
	}
	write(10)
	// The leader first (an election follows), then each member in turn, so
	// whichever member holds the client's watch stream dies at some point.
	order := []int{c.Leader()}
	for i := range c.Size() {
		if i != order[0] {
			order = append(order, i)
		}
	}
	for _, victim := range order {
		began := time.Now()
		c.Kill(victim)
		write(10)
		t.Logf("member %d killed: 10 writes in %s", victim, time.Since(began).Round(time.Millisecond))
		c.Restart(victim)
		write(5)
	}

	// The same watch, never re-established by the test, saw every write
	// exactly once and in order.
	for i, want := range revs {
		var ev storage.Event
		for {
			var ok bool
			select {
			case ev, ok = <-w:
			case <-ctx.Done():
				t.Fatalf("waiting for event %d: %v", i, ctx.Err())
			}
			if !ok {
				t.Fatalf("watch closed after %d of %d events", i, len(revs))
			}
			if ev.Type != storage.EventProgress {
				break
			}
		}
		wantKey := fmt.Sprintf("%sk%04d", prefix, i)
		if ev.Type != storage.EventCreated || ev.Key != wantKey || ev.Revision != want {
			t.Fatalf("event %d: type %v key %s rev %d err %v; want created %s at %d", i, ev.Type, ev.Key, ev.Revision, ev.Err, wantKey, want)
		}
	}
}
