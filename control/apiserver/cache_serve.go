package apiserver

import (
	"context"
	"errors"
	"net/http"

	"k8s.io/apimachinery/pkg/watch"

	"github.com/tug-sh/tug/control/storage"
)

// serveWatchFromCache serves a watch from c: its start state (current
// objects or recorded events), then what the cache queues for it. It
// returns false, having written nothing, when the cache is not serving,
// so that etcd serves the watch instead.
func (s *Server) serveWatchFromCache(ctx context.Context, w http.ResponseWriter, r *http.Request, ri *requestInfo, c *watchCache, lo listOptions, out output) bool {
	res := ri.res
	start := decideWatchStart(lo)
	req := watchRequest{filter: newWatchFilter(ri.namespace, lo), bookmarks: lo.bookmarks}
	var (
		wt  *cacheWatcher
		st  watchStartState
		err error
	)
	if start.initial {
		wt, st, err = s.registerInitial(ctx, c, ri, lo, req)
	} else {
		wt, st, err = s.registerFrom(ctx, c, start.rev, req)
	}
	switch {
	case errors.Is(err, errCacheNotReady):
		return false
	case errors.Is(err, storage.ErrCompacted):
		// As an etcd watch reports it: a stream with one ERROR event.
		enc := startWatchStream(w, res, out)
		enc.send(watch.Error, nil, watchErrorStatus(err))
		return true
	case err != nil:
		s.writeError(w, r, err)
		return true
	}
	defer c.remove(wt)
	s.metrics.watchers.WithLabelValues(res.Name).Inc()
	defer s.metrics.watchers.WithLabelValues(res.Name).Dec()

	enc := startWatchStream(w, res, out)
	if s.writeStartState(enc, wt, st, start.initialEnd) != nil || enc.rc.Flush() != nil {
		return true
	}
	for {
		select {
		case <-ctx.Done():
			return true
		case it, ok := <-wt.ch:
			if !ok {
				// Ended by the cache. A slow client resumes from the last
				// resourceVersion it read; after a rebuild that is gone
				// (the cache fell behind etcd's compaction): 410, relist.
				if wt.why == reasonRebuilt {
					enc.send(watch.Error, nil, watchErrorStatus(errCacheRebuilt))
				}
				return true
			}
			if s.writeItem(enc, it) != nil {
				return true
			}
			if len(wt.ch) == 0 && enc.rc.Flush() != nil {
				return true
			}
		}
	}
}

// registerInitial registers a watcher that starts with the current state:
// the cache's, once it is at least as recent as the request asks
// (resourceVersion unset: etcd's current revision). When the cache lags
// and cannot be hurried, the state comes from etcd and the cache streams
// what followed it.
func (s *Server) registerInitial(ctx context.Context, c *watchCache, ri *requestInfo, lo listOptions, req watchRequest) (*cacheWatcher, watchStartState, error) {
	var st watchStartState
	req.initial = true
	switch lo.rv {
	case "":
		rev, err := s.store.Revision(ctx)
		if err != nil {
			return nil, st, err
		}
		req.minRev = rev
	case "0":
	default:
		req.minRev, _ = parseRV(lo.rv)
	}
	err := c.waitFresh(ctx, req.minRev)
	if err == nil {
		var wt *cacheWatcher
		if wt, st, err = c.register(req); !errors.Is(err, errCacheStale) {
			if err == nil {
				s.metrics.lists.WithLabelValues(c.res.Name, "cache").Inc()
			}
			return wt, st, err
		}
	}
	if !errors.Is(err, errCacheStale) {
		return nil, st, err
	}
	items, lm, err := s.listFromStore(ctx, ri.res, ri.namespace, listOptions{labels: lo.labels, fields: lo.fields})
	if err != nil {
		return nil, st, err
	}
	rev, _ := parseRV(lm.ResourceVersion)
	wt, st, err := c.register(watchRequest{filter: req.filter, bookmarks: req.bookmarks, from: rev})
	if err != nil {
		return nil, st, err
	}
	st.initial = make([]*cachedObject, len(items))
	for i, obj := range items {
		st.initial[i] = newCachedObject(ri.res, ri.res.key(obj.GetNamespace(), obj.GetName()), obj)
	}
	return wt, st, nil
}

// registerFrom registers a watcher that streams the changes after from
// (0: now). A start in the past that etcd has compacted is 410 Expired,
// as an etcd watch would answer, even if the cache still holds it; one
// beyond etcd's revision is kube's 504 (too large resource version). A
// start the cache has not reached yet simply waits for its events.
func (s *Server) registerFrom(ctx context.Context, c *watchCache, from int64, req watchRequest) (*cacheWatcher, watchStartState, error) {
	var err error
	switch cacheRev := c.revision(); {
	case from == 0:
		if from, err = s.store.Revision(ctx); err != nil {
			return nil, watchStartState{}, err
		}
	case from < cacheRev:
		// A watch from the past reads etcd from from+1; one key is enough
		// to learn whether that revision is gone.
		if _, err := s.store.List(ctx, c.res.prefix(""), storage.ListOptions{Revision: from + 1, Limit: 1}); err != nil {
			return nil, watchStartState{}, err
		}
	case from > cacheRev:
		cur, err := s.store.Revision(ctx)
		if err != nil {
			return nil, watchStartState{}, err
		}
		if from > cur {
			return nil, watchStartState{}, tooLargeResourceVersion(from, cur)
		}
	}
	req.from = from
	return c.register(req)
}

// writeStartState writes a new watcher's initial objects (and the
// initial-events-end bookmark when asked) or the recorded events it
// resumes with.
func (s *Server) writeStartState(enc *watchEncoder, wt *cacheWatcher, st watchStartState, initialEnd bool) error {
	for _, co := range st.initial {
		if err := co.writeEvent(enc, watch.Added); err != nil {
			return err
		}
	}
	if initialEnd {
		if err := s.writeItem(enc, watchItem{typ: watch.Bookmark, rev: st.rev, initialEnd: true}); err != nil {
			return err
		}
	}
	for _, ev := range st.replay {
		if typ, ok := wt.eventFor(ev); ok {
			if err := s.writeItem(enc, watchItem{ev: ev, typ: typ, rev: ev.rev}); err != nil {
				return err
			}
		}
	}
	return nil
}

// writeItem writes one queued event or bookmark, without flushing.
func (s *Server) writeItem(enc *watchEncoder, it watchItem) error {
	if it.ev != nil {
		return it.object().writeEvent(enc, it.typ)
	}
	line, err := encodeWatchEvent(watch.Bookmark, enc.bookmarkObject(it.rev, it.initialEnd))
	if err != nil {
		return err
	}
	return enc.writeLine(line)
}
