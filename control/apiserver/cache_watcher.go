package apiserver

import (
	"fmt"
	"sort"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tug-sh/tug/control/storage"
)

// watchFilter is what a list or watch selects: a namespace ("" = all) and
// label and field selectors, matched against the sets cached with each
// object.
type watchFilter struct {
	ns     string
	labels labels.Selector
	fields fields.Selector
}

func newWatchFilter(ns string, lo listOptions) watchFilter {
	f := watchFilter{ns: ns, labels: lo.labels, fields: lo.fields}
	if f.labels == nil {
		f.labels = labels.Everything()
	}
	if f.fields == nil {
		f.fields = fields.Everything()
	}
	return f
}

func (f watchFilter) matches(co *cachedObject) bool {
	if f.ns != "" && co.ns != f.ns {
		return false
	}
	if !f.labels.Empty() && !f.labels.Matches(co.labels) {
		return false
	}
	return f.fields.Empty() || f.fields.Matches(co.fields)
}

// terminationReason says why the cache ended a watcher.
type terminationReason int

const (
	reasonNone terminationReason = iota
	// reasonSlow: its queue was full (the client reads too slowly).
	reasonSlow
	// reasonRebuilt: the cache was rebuilt; the history it resumes from
	// is gone, so it gets 410 Expired.
	reasonRebuilt
	// reasonStopped: the server stopped.
	reasonStopped
)

// watchItem is one entry of a watcher's queue: an event as this watcher
// sees it, or a bookmark (ev nil).
type watchItem struct {
	ev  *cacheEvent
	typ watch.EventType
	rev int64
	// initialEnd marks the bookmark that ends a watch-list's initial
	// events.
	initialEnd bool
}

// object is what the item's event carries for its watcher.
func (it watchItem) object() *cachedObject {
	if it.typ == watch.Deleted {
		return it.ev.deletedObject()
	}
	return it.ev.cur
}

// cacheWatcher is one watch served from the cache. The cache offers it
// events without ever blocking: a watcher whose queue is full is ended.
type cacheWatcher struct {
	filter    watchFilter
	bookmarks bool
	// from: events at or below this revision are not for the watcher.
	from int64
	// index is the value of cacheIndexField the watcher requires, when
	// indexed.
	index   string
	indexed bool
	ch      chan watchItem

	// Guarded by the cache's lock.
	sentRev int64 // revision of the last event or bookmark queued
	// heard: an event was queued since the last bookmark tick.
	heard   bool
	stopped bool
	// why is set before ch is closed by the cache.
	why terminationReason
}

// eventFor says how ev appears to the watcher, if at all.
func (w *cacheWatcher) eventFor(ev *cacheEvent) (watch.EventType, bool) {
	oldMatch := ev.prev != nil && w.filter.matches(ev.prev)
	newMatch := ev.cur != nil && w.filter.matches(ev.cur)
	return watchTransition(oldMatch, newMatch)
}

// watcherSet holds a cache's watchers, those selecting one value of the
// index field apart, so that an event is offered only to the watchers
// that can want it.
type watcherSet struct {
	indexField string // "" when the resource has no such field
	all        map[*cacheWatcher]struct{}
	byIndex    map[string]map[*cacheWatcher]struct{}
}

func newWatcherSet(res *resource) watcherSet {
	s := watcherSet{all: map[*cacheWatcher]struct{}{}, byIndex: map[string]map[*cacheWatcher]struct{}{}}
	if res.fieldKeys[cacheIndexField] {
		s.indexField = cacheIndexField
	}
	return s
}

// add registers w, indexing it when its field selector requires one value
// of the index field.
func (s *watcherSet) add(w *cacheWatcher) {
	if s.indexField != "" {
		w.index, w.indexed = w.filter.fields.RequiresExactMatch(s.indexField)
	}
	if !w.indexed {
		s.all[w] = struct{}{}
		return
	}
	m := s.byIndex[w.index]
	if m == nil {
		m = map[*cacheWatcher]struct{}{}
		s.byIndex[w.index] = m
	}
	m[w] = struct{}{}
}

func (s *watcherSet) remove(w *cacheWatcher) {
	if !w.indexed {
		delete(s.all, w)
		return
	}
	m := s.byIndex[w.index]
	delete(m, w)
	if len(m) == 0 {
		delete(s.byIndex, w.index)
	}
}

// each calls f for every watcher; f may remove it.
func (s *watcherSet) each(f func(*cacheWatcher)) {
	for w := range s.all {
		f(w)
	}
	for _, m := range s.byIndex {
		for w := range m {
			f(w)
		}
	}
}

// candidates calls f for every watcher that may want ev: the unindexed
// ones and those indexed under the old or new value of the index field.
func (s *watcherSet) candidates(ev *cacheEvent, f func(*cacheWatcher)) {
	for w := range s.all {
		f(w)
	}
	if len(s.byIndex) == 0 {
		return
	}
	var seen string
	if ev.cur != nil {
		seen = ev.cur.fields[s.indexField]
		for w := range s.byIndex[seen] {
			f(w)
		}
	}
	if ev.prev != nil {
		if v := ev.prev.fields[s.indexField]; ev.cur == nil || v != seen {
			for w := range s.byIndex[v] {
				f(w)
			}
		}
	}
}

// dispatchLocked queues ev for every watcher it concerns.
func (c *watchCache) dispatchLocked(ev *cacheEvent) {
	c.watchers.candidates(ev, func(w *cacheWatcher) {
		if ev.rev <= w.from {
			return
		}
		if typ, ok := w.eventFor(ev); ok {
			c.queueLocked(w, watchItem{ev: ev, typ: typ, rev: ev.rev})
		}
	})
}

// queueLocked offers it to w without blocking. A full queue ends the
// watcher when the item is an event; a bookmark is simply dropped.
func (c *watchCache) queueLocked(w *cacheWatcher, it watchItem) {
	select {
	case w.ch <- it:
		w.sentRev = it.rev
		if it.ev != nil {
			w.heard = true
			c.m.dispatched.Inc()
		}
	default:
		if it.ev != nil {
			c.m.slow.Inc()
			c.terminateLocked(w, reasonSlow)
		}
	}
}

// terminateLocked ends w: it gets nothing more and its queue closes.
func (c *watchCache) terminateLocked(w *cacheWatcher, why terminationReason) {
	if w.stopped {
		return
	}
	c.watchers.remove(w)
	w.stopped, w.why = true, why
	close(w.ch)
}

// remove forgets a watcher whose client left.
func (c *watchCache) remove(w *cacheWatcher) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if !w.stopped {
		c.watchers.remove(w)
		w.stopped = true
	}
}

// bookmarkDue says whether a watcher that allows bookmarks gets one at a
// bookmark tick: when the cache's revision moved past what it was last
// sent, or when it was sent no event since the previous tick (so an idle
// watch still hears from the server every interval). Never below the
// revision it watches from.
func bookmarkDue(cacheRev, from, sentRev int64, heard bool) bool {
	if cacheRev < from {
		return false
	}
	return cacheRev > sentRev || !heard
}

// sendBookmarks queues a bookmark at the cache's revision for every
// watcher that is due one. Bookmarks share the event queue, so one
// reaches a watcher after every event up to its revision.
func (c *watchCache) sendBookmarks() {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.watchers.each(func(w *cacheWatcher) {
		if !w.bookmarks {
			return
		}
		due := bookmarkDue(c.rev, w.from, w.sentRev, w.heard)
		w.heard = false
		if due {
			c.queueLocked(w, watchItem{typ: watch.Bookmark, rev: c.rev})
		}
	})
}

// watchRequest says where a new watcher starts.
type watchRequest struct {
	filter    watchFilter
	bookmarks bool
	// initial: start with the current state (at least minRev recent) as
	// ADDED events; otherwise stream the changes after from.
	initial bool
	minRev  int64
	from    int64
}

// watchStartState is what a new watcher is sent before its queue: the
// initial objects (key order) at revision rev, or the recorded events to
// replay.
type watchStartState struct {
	initial []*cachedObject
	replay  []*cacheEvent
	rev     int64
}

// register adds a watcher. It fails with errCacheNotReady, with
// errCacheStale when the state is older than req.minRev, and with an
// error wrapping storage.ErrCompacted (410 Expired) when the history no
// longer reaches back to req.from.
func (c *watchCache) register(req watchRequest) (*cacheWatcher, watchStartState, error) {
	c.mu.Lock()
	if !c.ready {
		c.mu.Unlock()
		return nil, watchStartState{}, errCacheNotReady
	}
	// A new watcher counts as told: its first bookmark comes with news
	// or after a whole tick.
	w := &cacheWatcher{filter: req.filter, bookmarks: req.bookmarks, ch: make(chan watchItem, c.queueLen), heard: true}
	var st watchStartState
	if req.initial {
		if c.rev < req.minRev {
			c.mu.Unlock()
			return nil, st, errCacheStale
		}
		w.from = c.rev
		st.initial = c.selectLocked(req.filter)
	} else {
		replay, ok := c.ring.after(req.from)
		if !ok {
			covered := c.ring.coveredFrom
			c.mu.Unlock()
			return nil, st, fmt.Errorf("%w: resourceVersion %d is older than the watch cache's history, which starts after %d", storage.ErrCompacted, req.from, covered)
		}
		w.from, st.replay = req.from, replay
	}
	st.rev = w.from
	// After its start state the watcher has heard of everything up to
	// the cache's revision, or up to the one it watches from.
	w.sentRev = max(w.from, c.rev)
	c.watchers.add(w)
	c.mu.Unlock()
	sortByKey(st.initial)
	return w, st, nil
}

// selectLocked returns the objects of the state that f matches.
func (c *watchCache) selectLocked(f watchFilter) []*cachedObject {
	var out []*cachedObject
	for _, co := range c.state {
		if f.matches(co) {
			out = append(out, co)
		}
	}
	return out
}

func sortByKey(objs []*cachedObject) {
	sort.Slice(objs, func(i, j int) bool { return objs[i].key < objs[j].key })
}
