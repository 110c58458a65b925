package apiserver

import (
	"context"
	"errors"
	"log/slog"
	"path/filepath"
	"testing"

	"github.com/tug-sh/tug/control/storage"
	"github.com/tug-sh/tug/control/storage/embedetcd"
)

// TestCompactorTick checks kube's compaction rhythm: each tick compacts
// to the revision seen at the tick before, so one interval of history is
// always kept.
func TestCompactorTick(t *testing.T) {
	ctx := context.Background()
	e, err := embedetcd.Start(ctx, embedetcd.Config{Dir: filepath.Join(t.TempDir(), "etcd")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	st := e.Store
	put := func(key string) int64 {
		t.Helper()
		rev, err := st.Apply(ctx, storage.Create(key, []byte("v")))
		if err != nil {
			t.Fatal(err)
		}
		return rev
	}
	c := &compactor{store: st, log: slog.New(slog.DiscardHandler)}
	put("/registry/x/a")
	if rev, err := c.tick(ctx); err != nil || rev != 0 {
		t.Fatalf("first tick compacted to %d (%v); want nothing", rev, err)
	}
	first := c.prev
	second := put("/registry/x/b")
	if rev, err := c.tick(ctx); err != nil || rev != first {
		t.Fatalf("second tick compacted to %d (%v), want %d", rev, err, first)
	}
	// History since the previous tick is still there, older is gone.
	if _, err := st.List(ctx, "/registry/x/", storage.ListOptions{Revision: second}); err != nil {
		t.Errorf("revision %d after compaction to %d: %v", second, first, err)
	}
	if _, err := st.List(ctx, "/registry/x/", storage.ListOptions{Revision: first - 1}); !errors.Is(err, storage.ErrCompacted) {
		t.Errorf("revision %d: %v, want ErrCompacted", first-1, err)
	}
	// A tick without writes in between compacts to the same revision
	// again, which is no error.
	if _, err := c.tick(ctx); err != nil {
		t.Fatal(err)
	}
	if _, err := c.tick(ctx); err != nil {
		t.Errorf("compacting to an already compacted revision: %v", err)
	}
}
