package apiserver

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/prometheus/client_golang/prometheus"

	"github.com/tug-sh/tug/control/storage"
)

// DefaultWatchCacheSize is how many recent events the watch cache keeps
// per resource. A client resumes a watch from the last resourceVersion it
// saw, which a bookmark refreshes every bookmarkInterval; the history must
// cover that interval plus a reconnection. 10,000 events hold about six
// seconds at the peak rate of the scheduling benchmark (3,000 pods bound
// and started in two seconds, three events each) and cost a few tens of
// megabytes at most, since an event shares its objects with its
// neighbours and the current state. A client whose resourceVersion has
// left the history gets 410 Expired and relists, from the cache too.
const DefaultWatchCacheSize = 10000

// Timing of the watch cache.
const (
	// bookmarkInterval is how often watchers that allow bookmarks are told
	// the cache's revision: when it moved past what they were last sent,
	// or when they heard nothing since the previous time (so an idle
	// watch still gets bookmarks). It is the store's progress interval
	// too.
	bookmarkInterval = 5 * time.Second
	// freshnessTimeout bounds how long a read that needs a more recent
	// state than the cache holds waits for it (kube's 3 s) before it is
	// served from etcd instead.
	freshnessTimeout = 3 * time.Second
	// progressRequestInterval is how often a waiting read asks etcd again
	// for a progress notification.
	progressRequestInterval = 100 * time.Millisecond
	// watcherQueueLength is how many events a watcher may fall behind the
	// cache before it is ended (the client resumes where it stopped).
	watcherQueueLength = 1024
	// relistPageSize bounds each etcd read of a (re)list.
	relistPageSize = 1000
	// cacheIndexField is indexed: a watch that selects one value of it
	// (a node agent's spec.nodeName) is only offered that value's events.
	cacheIndexField = "spec.nodeName"
)

// Why a watch cache could not answer; the request then goes to etcd, as
// it would without a cache.
var (
	// errCacheNotReady: the cache is (re)listing or was never started.
	errCacheNotReady = errors.New("watch cache not ready")
	// errCacheStale: the cache has not reached the revision asked for.
	errCacheStale = errors.New("watch cache not fresh enough")
)

// errCacheRebuilt ends the watchers of a rebuilt cache: 410 Expired.
var errCacheRebuilt = fmt.Errorf("%w: the watch cache fell behind etcd's compaction and was rebuilt; list again", storage.ErrCompacted)

// progressWatcher is a store whose watches can be asked for progress at
// once (storage.Etcd on members that answer such requests in order).
type progressWatcher interface {
	WatchProgressOnDemand(ctx context.Context, prefix string, fromRev int64, requests <-chan struct{}) (<-chan storage.Event, error)
}

// watchCache mirrors one resource: a single etcd watch on its prefix feeds
// the current state and a bounded history of decoded events, from which
// every list and watch of the resource is served (see doc.go). One
// goroutine (run) writes; readers take the read lock.
type watchCache struct {
	res      *resource
	store    storage.Store
	log      *slog.Logger
	m        cacheMetrics
	capacity int
	queueLen int
	// progress carries progress requests to the store's watch.
	progress chan struct{}

	mu    sync.RWMutex
	ready bool
	// onDemand: the store's watch answers progress requests, so a read
	// may wait for the cache to reach a revision.
	onDemand bool
	// rev is the revision up to which the cache has seen every change.
	rev   int64
	state map[string]*cachedObject
	ring  *eventRing
	// advanced is closed (and replaced) whenever rev moves or readiness
	// changes.
	advanced chan struct{}
	watchers watcherSet
}

// cacheMetrics are one resource's watch cache metrics.
type cacheMetrics struct {
	objects, events            prometheus.Gauge
	received, dispatched, slow prometheus.Counter
	initializations            prometheus.Counter
}

func newWatchCache(res *resource, store storage.Store, log *slog.Logger, m *metrics, capacity int) *watchCache {
	return &watchCache{
		res:      res,
		store:    store,
		log:      log.With("resource", res.Name),
		capacity: capacity,
		queueLen: watcherQueueLength,
		progress: make(chan struct{}, 1),
		advanced: make(chan struct{}),
		watchers: newWatcherSet(res),
		m:        m.forCache(res.Name),
	}
}

// run keeps the cache in step with etcd until ctx ends: it fills it,
// then follows the watch; a watch that breaks resumes from the cache's
// revision, and one that cannot (etcd compacted that revision while the
// cache was cut off) rebuilds the cache from a new fill, ending every
// watcher with 410 Expired (its client relists).
func (c *watchCache) run(ctx context.Context) {
	defer c.reset(reasonStopped)
	delay := retryDelay(0)
	for ctx.Err() == nil {
		if !c.isReady() {
			if err := c.fill(ctx); err != nil {
				if ctx.Err() == nil {
					c.log.Warn("watch cache: filling from etcd failed; retrying", "err", err, "retryIn", delay)
				}
				delay = c.sleep(ctx, delay)
				continue
			}
			delay = retryDelay(0)
		}
		started := time.Now()
		err := c.follow(ctx)
		switch {
		case ctx.Err() != nil:
			return
		case errors.Is(err, storage.ErrCompacted):
			c.log.Warn("watch cache: etcd compacted the history the cache needed to resume; rebuilding it (its watchers get 410 Expired and relist)", "err", err)
			c.reset(reasonRebuilt)
			continue
		}
		if time.Since(started) > time.Minute {
			delay = retryDelay(0)
		}
		c.log.Warn("watch cache: etcd watch failed; resuming", "err", err, "retryIn", delay)
		delay = c.sleep(ctx, delay)
	}
}

// fill lists the resource at the oldest revision etcd still holds among
// the last capacity revisions, and lets follow replay the changes since
// into the history: watches that resume from a resourceVersion given out
// before this server started (or before a rebuild) need not relist.
func (c *watchCache) fill(ctx context.Context) error {
	cur, err := c.store.Revision(ctx)
	if err != nil {
		return err
	}
	prefix := c.res.prefix("")
	from, err := oldestRetained(max(1, cur-int64(c.capacity)), cur, func(rev int64) (bool, error) {
		_, err := c.store.List(ctx, prefix, storage.ListOptions{Revision: rev, Limit: 1})
		if errors.Is(err, storage.ErrCompacted) {
			return false, nil
		}
		return err == nil, err
	})
	if err != nil {
		return err
	}
	return c.relist(ctx, from)
}

// oldestRetained is the oldest revision in [lo, hi] that held reports
// etcd still holds; hi must be held. Compaction discards a prefix of the
// history, so a binary search finds it.
func oldestRetained(lo, hi int64, held func(rev int64) (bool, error)) (int64, error) {
	for lo < hi {
		mid := lo + (hi-lo)/2
		ok, err := held(mid)
		if err != nil {
			return 0, err
		}
		if ok {
			hi = mid
		} else {
			lo = mid + 1
		}
	}
	return hi, nil
}

// retryDelay is the wait after a failure that followed one of prev:
// doubling from 100 ms up to 5 s.
func retryDelay(prev time.Duration) time.Duration {
	switch {
	case prev <= 0:
		return 100 * time.Millisecond
	case prev >= 5*time.Second/2:
		return 5 * time.Second
	}
	return 2 * prev
}

// sleep waits d (or until ctx ends) and returns the next delay.
func (c *watchCache) sleep(ctx context.Context, d time.Duration) time.Duration {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
	return retryDelay(d)
}

// relist reads the whole prefix at rev and makes it the cache's state,
// with an empty history starting there.
func (c *watchCache) relist(ctx context.Context, rev int64) error {
	prefix := c.res.prefix("")
	state := map[string]*cachedObject{}
	start := prefix
	for {
		page, err := c.store.List(ctx, prefix, storage.ListOptions{Revision: rev, KeysFrom: start, Limit: relistPageSize})
		if err != nil {
			return err
		}
		rev = page.Revision
		for _, kv := range page.Items {
			co, err := decodeCached(c.res, kv)
			if err != nil {
				c.log.Warn("watch cache: skipping undecodable object", "key", kv.Key, "err", err)
				continue
			}
			state[kv.Key] = co
		}
		if !page.More || len(page.Items) == 0 {
			break
		}
		start = page.Items[len(page.Items)-1].Key + "\x00"
	}
	c.mu.Lock()
	c.state, c.ring, c.rev, c.ready = state, newEventRing(c.capacity, rev), rev, true
	c.signalLocked()
	c.mu.Unlock()
	c.m.initializations.Inc()
	c.m.objects.Set(float64(len(state)))
	c.m.events.Set(0)
	return nil
}

// follow applies the prefix's changes after the cache's revision until
// the watch fails or ctx ends, and sends bookmarks meanwhile.
func (c *watchCache) follow(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	events, err := c.watch(ctx, c.revision())
	if err != nil {
		return err
	}
	tick := time.NewTicker(bookmarkInterval)
	defer tick.Stop()
	for {
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-tick.C:
			c.sendBookmarks()
		case ev, ok := <-events:
			if !ok {
				return errors.New("the store closed the watch")
			}
			if ev.Type == storage.EventError {
				return ev.Err
			}
			c.apply(ev)
		}
	}
}

// watch opens the store watch, with progress on demand when the store
// can answer it in order with events.
func (c *watchCache) watch(ctx context.Context, from int64) (<-chan storage.Event, error) {
	prefix := c.res.prefix("")
	if pw, ok := c.store.(progressWatcher); ok {
		events, err := pw.WatchProgressOnDemand(ctx, prefix, from, c.progress)
		if err == nil || !errors.Is(err, errors.ErrUnsupported) {
			c.setOnDemand(err == nil)
			return events, err
		}
	}
	c.setOnDemand(false)
	return c.store.Watch(ctx, prefix, from, true)
}

func (c *watchCache) setOnDemand(v bool) {
	c.mu.Lock()
	c.onDemand = v
	c.mu.Unlock()
}

// apply decodes one change (once, for every watcher), updates the state
// and the history, and offers the event to the watchers.
func (c *watchCache) apply(ev storage.Event) {
	if ev.Type == storage.EventProgress {
		c.mu.Lock()
		c.advanceLocked(ev.Revision)
		c.mu.Unlock()
		return
	}
	var cur *cachedObject
	if ev.Type != storage.EventDeleted {
		co, err := decodeCached(c.res, storage.KV{Key: ev.Key, Value: ev.Value, Revision: ev.Revision})
		if err != nil {
			c.log.Warn("watch cache: skipping undecodable object", "key", ev.Key, "err", err)
			c.mu.Lock()
			c.advanceLocked(ev.Revision)
			c.mu.Unlock()
			return
		}
		cur = co
	}
	c.m.received.Inc()
	c.mu.Lock()
	defer c.mu.Unlock()
	var prev *cachedObject
	if ev.Type != storage.EventCreated {
		prev = c.state[ev.Key]
	}
	if prev == nil && ev.Type == storage.EventDeleted && ev.Prev != nil {
		// Not in the state (it could not be decoded when written).
		prev, _ = decodeCached(c.res, storage.KV{Key: ev.Key, Value: ev.Prev, Revision: ev.Revision})
	}
	if cur != nil {
		c.state[ev.Key] = cur
	} else {
		delete(c.state, ev.Key)
	}
	ce := &cacheEvent{rev: ev.Revision, cur: cur, prev: prev}
	c.ring.add(ce)
	c.advanceLocked(ev.Revision)
	if cur != nil || prev != nil {
		c.dispatchLocked(ce)
	}
	c.m.objects.Set(float64(len(c.state)))
	c.m.events.Set(float64(c.ring.len()))
}

// advanceLocked moves the cache's revision forward and wakes waiters.
// Each revision holds at most one change of a resource (every write
// transaction of the server touches one object and, for Services, keys
// outside the resource's prefix), so a revision seen is complete.
func (c *watchCache) advanceLocked(rev int64) {
	if rev > c.rev {
		c.rev = rev
		c.signalLocked()
	}
}

func (c *watchCache) signalLocked() {
	close(c.advanced)
	c.advanced = make(chan struct{})
}

// reset empties the cache and ends every watcher (why says why).
func (c *watchCache) reset(why terminationReason) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watchers.each(func(w *cacheWatcher) { c.terminateLocked(w, why) })
	c.ready, c.state, c.ring = false, nil, nil
	c.signalLocked()
}

func (c *watchCache) isReady() bool {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.ready
}

func (c *watchCache) revision() int64 {
	c.mu.RLock()
	defer c.mu.RUnlock()
	return c.rev
}

// waitFresh returns once the cache has seen every change up to rev,
// asking the store's watch for progress meanwhile. It fails with
// errCacheStale when the store cannot be asked or freshnessTimeout
// passes, and with errCacheNotReady when the cache is not serving.
func (c *watchCache) waitFresh(ctx context.Context, rev int64) error {
	advanced, err := c.freshness(rev)
	if err != errWait {
		return err
	}
	c.requestProgress()
	deadline := time.NewTimer(freshnessTimeout)
	defer deadline.Stop()
	tick := time.NewTicker(progressRequestInterval)
	defer tick.Stop()
	for {
		select {
		case <-advanced:
		case <-tick.C:
			c.requestProgress()
		case <-deadline.C:
			return errCacheStale
		case <-ctx.Done():
			return ctx.Err()
		}
		if advanced, err = c.freshness(rev); err != errWait {
			return err
		}
	}
}

// errWait: the cache may reach the revision soon.
var errWait = errors.New("wait for the watch cache")

// freshness says whether the cache has reached rev (nil), cannot serve
// (errCacheNotReady, errCacheStale) or may be waited for (errWait, with
// the channel that closes when that may have changed).
func (c *watchCache) freshness(rev int64) (<-chan struct{}, error) {
	c.mu.RLock()
	defer c.mu.RUnlock()
	switch {
	case !c.ready:
		return nil, errCacheNotReady
	case c.rev >= rev:
		return nil, nil
	case !c.onDemand:
		return nil, errCacheStale
	}
	return c.advanced, errWait
}

// requestProgress asks the store's watch for a progress notification;
// requests made while one is pending are merged.
func (c *watchCache) requestProgress() {
	select {
	case c.progress <- struct{}{}:
	default:
	}
}
