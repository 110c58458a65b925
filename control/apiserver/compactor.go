package apiserver

import (
	"context"
	"log/slog"
	"time"

	"github.com/tug-sh/tug/control/storage"
)

// compactor discards etcd history the way kube-apiserver does: at every
// tick it compacts to the revision it saw at the previous tick, so that
// watchers and paged lists have at least one interval of history to
// resume from.
type compactor struct {
	store storage.Store
	log   *slog.Logger
	// prev is the revision seen at the previous tick (0 = none yet).
	prev int64
}

// tick compacts to the previous tick's revision and records the current
// one. It returns the revision compacted to (0 when nothing was done).
func (c *compactor) tick(ctx context.Context) (int64, error) {
	cur, err := c.store.Revision(ctx)
	if err != nil {
		return 0, err
	}
	target := c.prev
	c.prev = cur
	if target == 0 {
		return 0, nil
	}
	if err := c.store.Compact(ctx, target); err != nil {
		return 0, err
	}
	return target, nil
}

// runCompactor ticks every interval until ctx ends.
func runCompactor(ctx context.Context, store storage.Store, interval time.Duration, log *slog.Logger) {
	c := &compactor{store: store, log: log}
	t := time.NewTicker(interval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		rev, err := c.tick(ctx)
		switch {
		case err != nil && ctx.Err() == nil:
			log.Warn("compacting etcd history failed; retrying at the next interval", "err", err)
		case rev > 0:
			log.Debug("compacted etcd history", "revision", rev)
		}
	}
}
