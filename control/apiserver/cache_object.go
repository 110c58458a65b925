package apiserver

import (
	"encoding/json"
	"strconv"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tug-sh/tug/control/registry"
	"github.com/tug-sh/tug/control/storage"
)

// cachedObject is one decoded object of the watch cache, shared by every
// list and watch that reads it: it is never modified after it is built.
// What selectors match on (labels, field set) is computed once with it,
// and so is, lazily, its JSON in each time-independent output form, which
// every watch event and list that carries it then copies.
type cachedObject struct {
	key    string
	ns     string
	obj    registry.Object // resourceVersion set
	labels labels.Set
	fields fields.Set

	mu      sync.Mutex
	encoded []encodedObject
}

// encodedObject is the JSON of an object in one output form.
type encodedObject struct {
	out  output
	data []byte
}

func newCachedObject(res *resource, key string, obj registry.Object) *cachedObject {
	set := res.Strategy.Fields(obj)
	set["metadata.name"] = obj.GetName()
	if res.Namespaced {
		set["metadata.namespace"] = obj.GetNamespace()
	}
	return &cachedObject{key: key, ns: obj.GetNamespace(), obj: obj, labels: labels.Set(obj.GetLabels()), fields: set}
}

// decodeCached decodes a stored value into a cachedObject.
func decodeCached(res *resource, kv storage.KV) (*cachedObject, error) {
	obj, err := res.decodeStored(kv)
	if err != nil {
		return nil, err
	}
	return newCachedObject(res, kv.Key, obj), nil
}

// atRevision is a copy of co whose resourceVersion is rev: a deletion is
// reported with the last state and the revision of the deletion.
func (co *cachedObject) atRevision(rev int64) *cachedObject {
	obj := co.obj.DeepCopyObject().(registry.Object)
	obj.SetResourceVersion(strconv.FormatInt(rev, 10))
	return &cachedObject{key: co.key, ns: co.ns, obj: obj, labels: co.labels, fields: co.fields}
}

// json returns co's JSON in the form out (not a Table, whose ages
// change), encoding it on first use.
func (co *cachedObject) json(res *resource, out output) ([]byte, error) {
	co.mu.Lock()
	defer co.mu.Unlock()
	for _, e := range co.encoded {
		if e.out == out {
			return e.data, nil
		}
	}
	data, err := json.Marshal(renderObject(res, co.obj, out, time.Time{}))
	if err != nil {
		return nil, err
	}
	co.encoded = append(co.encoded, encodedObject{out: out, data: data})
	return data, nil
}

// writeEvent writes co as a watch event of type typ in the negotiated
// form, without flushing: the object's JSON once encoded, between the
// event's own few bytes; a Table afresh.
func (co *cachedObject) writeEvent(enc *watchEncoder, typ watch.EventType) error {
	if enc.out.form == formTable {
		line, err := encodeWatchEvent(typ, renderObject(enc.res, co.obj, enc.out, time.Now()))
		if err != nil {
			return err
		}
		return enc.writeLine(line)
	}
	data, err := co.json(enc.res, enc.out)
	if err != nil {
		return err
	}
	if err := enc.writeLine([]byte(`{"type":"` + string(typ) + `","object":`)); err != nil {
		return err
	}
	if err := enc.writeLine(data); err != nil {
		return err
	}
	return enc.writeLine([]byte("}\n"))
}

// encodeWatchEvent is the newline-terminated JSON of one watch event.
func encodeWatchEvent(typ watch.EventType, obj any) ([]byte, error) {
	data, err := json.Marshal(watchEvent{Type: typ, Object: obj})
	if err != nil {
		return nil, err
	}
	return append(data, '\n'), nil
}

// cacheEvent is one change the watch cache saw, decoded once for every
// watcher: the object before (prev, nil for a creation) and after (cur,
// nil for a deletion).
type cacheEvent struct {
	rev  int64
	cur  *cachedObject
	prev *cachedObject

	deletedOnce sync.Once
	deleted     *cachedObject
}

// deletedObject is what a DELETED event for ev carries: the previous state
// at the event's revision (for a deletion, or an object that stopped
// matching a watcher's selectors).
func (ev *cacheEvent) deletedObject() *cachedObject {
	ev.deletedOnce.Do(func() { ev.deleted = ev.prev.atRevision(ev.rev) })
	return ev.deleted
}
