package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/http"
	"strconv"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tug-sh/tug/control/registry"
	"github.com/tug-sh/tug/control/storage"
)

// initialEventsEndAnnotation marks the bookmark that ends the initial
// events of a sendInitialEvents watch (client-go's watch-list).
const initialEventsEndAnnotation = "k8s.io/initial-events-end"

// watchStart is where a watch begins: with synthetic ADDED events for the
// current state (initial) or after a revision.
type watchStart struct {
	initial bool
	// initialEnd: finish the initial events with an initial-events-end
	// bookmark (sendInitialEvents=true).
	initialEnd bool
	// rev is the revision after which events are streamed; 0 means "now".
	rev int64
}

// decideWatchStart applies kube's watch semantics: resourceVersion "" or
// "0" replays the current state as ADDED events, a resourceVersion streams
// what happened after it, and sendInitialEvents overrides both.
func decideWatchStart(lo listOptions) watchStart {
	rv, _ := parseRV(lo.rv)
	if lo.sendInitialEvents != nil {
		if *lo.sendInitialEvents {
			return watchStart{initial: true, initialEnd: true}
		}
		return watchStart{rev: rv}
	}
	if rv == 0 {
		return watchStart{initial: true}
	}
	return watchStart{rev: rv}
}

// watchTransition says which event a change of an object is reported as
// to a watcher whose selectors matched the old object (oldMatch) and
// match the new one (newMatch): like kube's watch cache, an object that
// starts matching is ADDED, one that stops matching is DELETED.
func watchTransition(oldMatch, newMatch bool) (watch.EventType, bool) {
	switch {
	case oldMatch && newMatch:
		return watch.Modified, true
	case newMatch:
		return watch.Added, true
	case oldMatch:
		return watch.Deleted, true
	}
	return "", false
}

// serveWatch streams changes as chunked JSON, one event per line, until
// the client leaves or timeoutSeconds pass: from the resource's watch
// cache when it is serving, else from an etcd watch of its own.
func (s *Server) serveWatch(w http.ResponseWriter, r *http.Request, ri *requestInfo) {
	out, err := negotiateOutput(r)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	lo, err := parseListOptions(r, ri)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	ctx, cancel := context.WithCancel(r.Context())
	defer cancel()
	if lo.timeout > 0 {
		var cancelTimeout context.CancelFunc
		ctx, cancelTimeout = context.WithTimeout(ctx, lo.timeout)
		defer cancelTimeout()
	}
	if c := s.caches[ri.res.Name]; c != nil && s.serveWatchFromCache(ctx, w, r, ri, c, lo, out) {
		return
	}
	s.serveWatchFromStore(ctx, w, r, ri, lo, out)
}

// serveWatchFromStore serves a watch with its own etcd watch, decoding
// every change for this watcher alone.
func (s *Server) serveWatchFromStore(ctx context.Context, w http.ResponseWriter, r *http.Request, ri *requestInfo, lo listOptions, out output) {
	res := ri.res
	start := decideWatchStart(lo)
	var initial []registry.Object
	rev := start.rev
	var err error
	if start.initial {
		items, lm, err := s.listFromStore(ctx, res, ri.namespace, listOptions{labels: lo.labels, fields: lo.fields})
		if err != nil {
			s.writeError(w, r, err)
			return
		}
		initial = items
		rev, _ = parseRV(lm.ResourceVersion)
	} else if rev == 0 {
		if rev, err = s.store.Revision(ctx); err != nil {
			s.writeError(w, r, err)
			return
		}
	}
	events, err := s.store.Watch(ctx, res.prefix(ri.namespace), rev, lo.bookmarks)
	if err != nil {
		s.writeError(w, r, err)
		return
	}
	s.metrics.watchers.WithLabelValues(res.Name).Inc()
	defer s.metrics.watchers.WithLabelValues(res.Name).Dec()

	enc := startWatchStream(w, res, out)
	if err := enc.rc.Flush(); err != nil {
		return
	}
	for _, obj := range initial {
		if enc.send(watch.Added, obj) != nil {
			return
		}
	}
	if start.initialEnd {
		if enc.bookmark(rev, true) != nil {
			return
		}
	}
	for {
		select {
		case <-ctx.Done():
			return
		case ev, ok := <-events:
			if !ok {
				return
			}
			if !s.forward(enc, lo, ev) {
				return
			}
		}
	}
}

// startWatchStream answers 200 with the headers of a watch stream.
func startWatchStream(w http.ResponseWriter, res *resource, out output) *watchEncoder {
	w.Header().Set("Content-Type", "application/json")
	w.Header().Set("Cache-Control", "no-cache, private")
	w.WriteHeader(http.StatusOK)
	return &watchEncoder{w: w, rc: http.NewResponseController(w), res: res, out: out}
}

// forward turns one storage event into the watch event the client sees,
// if any; false ends the stream.
func (s *Server) forward(enc *watchEncoder, lo listOptions, ev storage.Event) bool {
	res := enc.res
	decode := func(value []byte) registry.Object {
		if value == nil {
			return nil
		}
		obj, err := res.decodeStored(storage.KV{Key: ev.Key, Value: value, Revision: ev.Revision})
		if err != nil {
			s.log.Warn("watch: skipping undecodable object", "key", ev.Key, "err", err)
			return nil
		}
		return obj
	}
	var typ watch.EventType
	var obj registry.Object
	switch ev.Type {
	case storage.EventProgress:
		if !lo.bookmarks {
			return true
		}
		return enc.bookmark(ev.Revision, false) == nil
	case storage.EventError:
		enc.send(watch.Error, nil, watchErrorStatus(ev.Err))
		return false
	case storage.EventCreated:
		if obj = decode(ev.Value); obj == nil || !lo.matches(res, obj) {
			return true
		}
		typ = watch.Added
	case storage.EventModified:
		cur, prev := decode(ev.Value), decode(ev.Prev)
		if cur == nil {
			return true
		}
		newMatch := lo.matches(res, cur)
		oldMatch := newMatch // without the previous value, assume nothing changed
		if prev != nil {
			oldMatch = lo.matches(res, prev)
		}
		var ok bool
		if typ, ok = watchTransition(oldMatch, newMatch); !ok {
			return true
		}
		obj = cur
		if typ == watch.Deleted {
			obj = prev
		}
	case storage.EventDeleted:
		if obj = decode(ev.Prev); obj == nil || !lo.matches(res, obj) {
			return true
		}
		typ = watch.Deleted
	default:
		return true
	}
	obj.SetResourceVersion(strconv.FormatInt(ev.Revision, 10))
	return enc.send(typ, obj) == nil
}

// watchErrorStatus is the Status of an ERROR event: 410 Expired for a
// compacted revision (the client relists), else the error's Status.
func watchErrorStatus(err error) *metav1.Status {
	var st *apierrors.StatusError
	if errors.Is(err, storage.ErrCompacted) {
		st = apierrors.NewResourceExpired(fmt.Sprintf("too old resource version: %v", err))
	} else {
		st = toStatus(err)
	}
	status := st.Status()
	status.Kind, status.APIVersion = "Status", "v1"
	return &status
}

// watchEncoder writes watch events in the negotiated form.
type watchEncoder struct {
	w   http.ResponseWriter
	rc  *http.ResponseController
	res *resource
	out output
}

type watchEvent struct {
	Type   watch.EventType `json:"type"`
	Object any             `json:"object"`
}

// send writes one event and flushes it. A non-nil raw replaces the object
// (ERROR events carry a Status).
func (e *watchEncoder) send(typ watch.EventType, obj registry.Object, raw ...any) error {
	ev := watchEvent{Type: typ}
	switch {
	case len(raw) > 0:
		ev.Object = raw[0]
	default:
		ev.Object = renderObject(e.res, obj, e.out, time.Now())
	}
	data, err := json.Marshal(ev)
	if err != nil {
		return err
	}
	if _, err := e.w.Write(append(data, '\n')); err != nil {
		return err
	}
	return e.rc.Flush()
}

// bookmark writes a BOOKMARK.
func (e *watchEncoder) bookmark(rev int64, initialEnd bool) error {
	return e.send(watch.Bookmark, nil, e.bookmarkObject(rev, initialEnd))
}

// bookmarkObject is what a BOOKMARK carries: an object of the resource's
// kind with only its resourceVersion (and the initial-events-end
// annotation), in the negotiated form.
func (e *watchEncoder) bookmarkObject(rev int64, initialEnd bool) any {
	obj := e.res.New()
	e.res.setTypeMeta(obj)
	obj.SetResourceVersion(strconv.FormatInt(rev, 10))
	if initialEnd {
		obj.SetAnnotations(map[string]string{initialEventsEndAnnotation: "true"})
	}
	switch e.out.form {
	case formTable:
		return table(e.res, nil, metav1.ListMeta{ResourceVersion: obj.GetResourceVersion()}, e.out, time.Now())
	case formPartial:
		return renderObject(e.res, obj, e.out, time.Now())
	}
	// Only kind, apiVersion and metadata, not an empty spec and status.
	return &metav1.PartialObjectMetadata{
		TypeMeta:   metav1.TypeMeta{Kind: e.res.Kind, APIVersion: "v1"},
		ObjectMeta: metav1.ObjectMeta{ResourceVersion: obj.GetResourceVersion(), Annotations: obj.GetAnnotations()},
	}
}

// writeLine writes one encoded event without flushing it.
func (e *watchEncoder) writeLine(line []byte) error {
	_, err := e.w.Write(line)
	return err
}
