package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"net/http"
	"strconv"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/registry"
)

// freshness is how recent a state a read asks for, by its resourceVersion
// parameters.
type freshness int

const (
	// freshExact: one past revision (resourceVersionMatch=Exact, or a
	// continued list): only etcd keeps past states.
	freshExact freshness = iota
	// freshAny: any state (resourceVersion "0").
	freshAny
	// freshNotOlderThan: a state at least as new as the resourceVersion.
	freshNotOlderThan
	// freshLatest: the latest state (resourceVersion unset): a consistent
	// read.
	freshLatest
)

// decideListFreshness maps a list's parameters onto the state it needs;
// for freshNotOlderThan also the revision.
func decideListFreshness(lo listOptions) (freshness, int64) {
	switch {
	case lo.continueToken != "" || lo.rvMatch == metav1.ResourceVersionMatchExact:
		return freshExact, 0
	case lo.rv == "":
		return freshLatest, 0
	case lo.rv == "0":
		return freshAny, 0
	}
	rv, _ := parseRV(lo.rv)
	return freshNotOlderThan, rv
}

// list reads the objects of res in ns that match lo, from the watch cache
// when it can answer (see doc.go), else from etcd. It returns them with
// the list's metadata (resourceVersion, continue).
func (s *Server) list(ctx context.Context, res *resource, ns string, lo listOptions) ([]registry.Object, metav1.ListMeta, error) {
	if c := s.caches[res.Name]; c != nil {
		objs, lm, err := s.listFromCache(ctx, c, ns, lo)
		if !errors.Is(err, errCacheNotReady) && !errors.Is(err, errCacheStale) {
			items := make([]registry.Object, len(objs))
			for i, co := range objs {
				items[i] = co.obj
			}
			return items, lm, err
		}
	}
	return s.listFromStore(ctx, res, ns, lo)
}

// listFromCache answers a list from c once c holds a state fresh enough
// for it. It fails with errCacheNotReady or errCacheStale when etcd must
// answer instead.
func (s *Server) listFromCache(ctx context.Context, c *watchCache, ns string, lo listOptions) ([]*cachedObject, metav1.ListMeta, error) {
	var lm metav1.ListMeta
	fresh, min := decideListFreshness(lo)
	switch {
	case fresh == freshExact:
		return nil, lm, errCacheStale
	case !c.isReady():
		return nil, lm, errCacheNotReady
	}
	switch fresh {
	case freshLatest:
		// kube's consistent read from cache: etcd's current revision, then
		// the cache at least there.
		rev, err := s.store.Revision(ctx)
		if err != nil {
			return nil, lm, err
		}
		min = rev
	case freshNotOlderThan:
		if c.revision() < min {
			cur, err := s.store.Revision(ctx)
			if err != nil {
				return nil, lm, err
			}
			if min > cur {
				return nil, lm, tooLargeResourceVersion(min, cur)
			}
		}
	}
	if err := c.waitFresh(ctx, min); err != nil {
		return nil, lm, err
	}
	objs, rev, err := c.list(newWatchFilter(ns, lo), min)
	if err != nil {
		return nil, lm, err
	}
	s.metrics.lists.WithLabelValues(c.res.Name, "cache").Inc()
	if lo.limit > 0 && int64(len(objs)) > lo.limit {
		// Later pages read etcd at this revision, which holds the same
		// state.
		objs = objs[:lo.limit]
		lm.Continue = encodeContinue(rev, objs[len(objs)-1].key+"\x00", c.res.prefix(ns))
	}
	lm.ResourceVersion = strconv.FormatInt(rev, 10)
	return objs, lm, nil
}

// serveCachedList answers a list from cached objects: in the plain form
// with each object's JSON encoded once for every list and watch.
func (s *Server) serveCachedList(w http.ResponseWriter, r *http.Request, res *resource, objs []*cachedObject, lm metav1.ListMeta, out output) {
	if out.form != formObject {
		items := make([]registry.Object, len(objs))
		for i, co := range objs {
			items[i] = co.obj
		}
		writeJSON(w, http.StatusOK, renderList(res, items, lm, out, time.Now()))
		return
	}
	l := rawList{TypeMeta: res.listKind(), ListMeta: lm, Items: make([]json.RawMessage, len(objs))}
	for i, co := range objs {
		data, err := co.json(res, out)
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		l.Items[i] = data
	}
	writeJSON(w, http.StatusOK, &l)
}

// rawList is objectList with its items already encoded.
type rawList struct {
	metav1.TypeMeta `json:",inline"`
	metav1.ListMeta `json:"metadata"`
	Items           []json.RawMessage `json:"items"`
}

// list returns the objects f matches, in key order, and the revision of
// the state they come from, which is at least min.
func (c *watchCache) list(f watchFilter, min int64) ([]*cachedObject, int64, error) {
	c.mu.RLock()
	if !c.ready {
		c.mu.RUnlock()
		return nil, 0, errCacheNotReady
	}
	if c.rev < min { // rebuilt meanwhile
		c.mu.RUnlock()
		return nil, 0, errCacheStale
	}
	objs, rev := c.selectLocked(f), c.rev
	c.mu.RUnlock()
	sortByKey(objs)
	return objs, rev, nil
}
