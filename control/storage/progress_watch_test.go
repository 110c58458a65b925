package storage_test

import (
	"context"
	"errors"
	"testing"
	"time"

	"github.com/tug-sh/tug/control/storage"
	"github.com/tug-sh/tug/control/storage/etcdtest"
)

// TestWatchProgressOnDemand writes outside a watched prefix and asks the
// watch for progress: the answer covers the write, so a reader waiting for
// the watch to reach the store's revision is released. Each round asks
// again after a new write elsewhere.
func TestWatchProgressOnDemand(t *testing.T) {
	m := startEmbedded(t)
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	requests := make(chan struct{}, 1)
	events, err := m.Store.WatchProgressOnDemand(ctx, "/quiet/", 0, requests)
	if err != nil {
		t.Fatal(err)
	}
	for i := 0; i < 3; i++ {
		rev, err := m.Store.Apply(ctx, storage.Create("/busy/"+string(rune('a'+i)), []byte("x")))
		if err != nil {
			t.Fatal(err)
		}
		requests <- struct{}{}
		for progressed := false; !progressed; {
			select {
			case ev, ok := <-events:
				if !ok {
					t.Fatal("watch ended")
				}
				if ev.Type != storage.EventProgress {
					t.Fatalf("event %+v on a prefix nobody writes", ev)
				}
				progressed = ev.Revision >= rev
			case <-ctx.Done():
				t.Fatalf("no progress covering revision %d", rev)
			}
		}
	}
}

// TestWatchProgressOnDemandRefusedByOldMembers: Debian's etcd 3.4.23 may
// answer a progress request ahead of queued events, so the store refuses.
func TestWatchProgressOnDemandRefusedByOldMembers(t *testing.T) {
	c := etcdtest.StartCluster(t, 1)
	st := dial(t, c.Endpoints())
	defer st.Close()
	_, err := st.WatchProgressOnDemand(context.Background(), "/quiet/", 0, make(chan struct{}))
	if !errors.Is(err, errors.ErrUnsupported) {
		t.Fatalf("on etcd 3.4.23: %v, want errors.ErrUnsupported", err)
	}
}
