package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"google.golang.org/grpc/metadata"
)

// progressInterval is how often a progress-requesting watch asks etcd for a
// progress notification (the API server turns these into bookmarks). It is
// also the interval embedetcd configures for etcd's own notifications.
const progressInterval = 5 * time.Second

// Watch maps etcd's watch onto Events. With progress set, the watch asks
// etcd for progress every progressInterval when the members answer such
// requests in order with the events (see progressSupport); otherwise it
// relies on the notifications etcd sends by itself every
// --experimental-watch-progress-notify-interval (10 minutes by default in
// etcd 3.4 and 3.5: set it to a few seconds on an external cluster).
func (s *Etcd) Watch(ctx context.Context, prefix string, fromRev int64, progress bool) (<-chan Event, error) {
	return s.watch(ctx, prefix, fromRev, progress, nil)
}

// WatchProgressOnDemand is Watch with progress, where in addition every
// value received from requests asks etcd at once for a progress
// notification. A caller that must know the watch has caught up with a
// revision (a consistent read served from the API server's watch cache)
// then waits one round trip, not the periodic interval. It fails with an
// error wrapping errors.ErrUnsupported when the members may answer such
// requests ahead of queued events (see progressSupport): a read built on
// that answer could miss writes.
func (s *Etcd) WatchProgressOnDemand(ctx context.Context, prefix string, fromRev int64, requests <-chan struct{}) (<-chan Event, error) {
	if !s.progress.requestsSafe(ctx, s.client) {
		return nil, fmt.Errorf("watch on %s: progress requests: %w: some etcd member is older than 3.4.31/3.5.13 or did not report its version", prefix, errors.ErrUnsupported)
	}
	return s.watch(ctx, prefix, fromRev, true, requests)
}

func (s *Etcd) watch(ctx context.Context, prefix string, fromRev int64, progress bool, requests <-chan struct{}) (<-chan Event, error) {
	if fromRev < 0 {
		return nil, keyErr(prefix, fmt.Errorf("%w: watch from negative revision %d", ErrInvalid, fromRev))
	}
	if fromRev == 0 {
		// "From now" is the revision as Watch is called, not whenever the
		// watch request reaches etcd: a write made after Watch returns must
		// be seen even if it overtakes the watch's creation.
		rev, err := s.Revision(ctx)
		if err != nil {
			return nil, err
		}
		fromRev = rev
	}
	ctx, cancel := context.WithCancel(ctx)
	// A private metadata value gives this watch its own gRPC stream, so a
	// progress request is answered for this watch alone.
	wctx := metadata.AppendToOutgoingContext(clientv3.WithRequireLeader(ctx), "tug-watch", strconv.FormatUint(s.watchSeq.Add(1), 10))
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV(), clientv3.WithRev(fromRev + 1)}
	var requestProgress bool
	if progress {
		opts = append(opts, clientv3.WithProgressNotify())
		requestProgress = s.progress.requestsSafe(ctx, s.client)
	}
	watcher := s.client.Watcher
	wch := watcher.Watch(wctx, prefix, opts...)
	out := make(chan Event, 64)
	go func() {
		defer close(out)
		defer cancel()
		var tick <-chan time.Time
		if requestProgress {
			t := time.NewTicker(progressInterval)
			defer t.Stop()
			tick = t.C
		}
		send := func(ev Event) bool {
			select {
			case out <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick:
				// Errors here only delay the next bookmark.
				_ = watcher.RequestProgress(wctx)
			case <-requests:
				_ = watcher.RequestProgress(wctx)
			case resp, ok := <-wch:
				if !ok {
					if ctx.Err() == nil {
						send(Event{Type: EventError, Err: fmt.Errorf("%w: watch on %s closed", ErrUnavailable, prefix)})
					}
					return
				}
				if resp.CompactRevision != 0 {
					send(Event{Type: EventError, Err: keyErr(prefix, fmt.Errorf("%w: revision %d is older than the compacted revision %d", ErrCompacted, fromRev, resp.CompactRevision))})
					return
				}
				if err := resp.Err(); err != nil {
					send(Event{Type: EventError, Err: wrapEtcd(prefix, err)})
					return
				}
				if resp.IsProgressNotify() {
					if !send(Event{Type: EventProgress, Revision: resp.Header.Revision}) {
						return
					}
					continue
				}
				for _, e := range resp.Events {
					ev := Event{Key: string(e.Kv.Key), Revision: e.Kv.ModRevision}
					if e.PrevKv != nil {
						ev.Prev = e.PrevKv.Value
					}
					switch {
					case e.Type == clientv3.EventTypeDelete:
						ev.Type = EventDeleted
						ev.Revision = resp.Header.Revision
						if e.Kv.ModRevision != 0 {
							ev.Revision = e.Kv.ModRevision
						}
					case e.IsCreate():
						ev.Type, ev.Value = EventCreated, e.Kv.Value
					default:
						ev.Type, ev.Value = EventModified, e.Kv.Value
					}
					if !send(ev) {
						return
					}
				}
			}
		}
	}()
	return out, nil
}
