package gc

import (
	"sort"
	"sync"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/control/controller/internal/apiresources"
)

// object is what the collector knows of one API object. Objects are
// replaced, never modified, once in the graph.
type object struct {
	uid        types.UID
	res        apiresources.Resource
	namespace  string
	name       string
	owners     []metav1.OwnerReference
	finalizers []string
	deleting   bool
}

func (o *object) String() string {
	if o.namespace == "" {
		return o.res.GVR.Resource + "/" + o.name
	}
	return o.res.GVR.Resource + "/" + o.namespace + "/" + o.name
}

// waitingForDependents: being deleted in the foreground.
func (o *object) waitingForDependents() bool {
	return o.deleting && hasString(o.finalizers, FinalizerForeground)
}

// orphaning: being deleted with the orphan policy.
func (o *object) orphaning() bool {
	return o.deleting && hasString(o.finalizers, FinalizerOrphan)
}

// graph indexes objects by UID and owners to their dependents. Safe for
// concurrent use.
type graph struct {
	mu         sync.RWMutex
	objects    map[types.UID]*object
	dependents map[types.UID]map[types.UID]bool // owner → dependents, owner may be absent
}

func newGraph() *graph {
	return &graph{objects: map[types.UID]*object{}, dependents: map[types.UID]map[types.UID]bool{}}
}

// upsert stores o and returns the object it replaced, if any.
func (g *graph) upsert(o *object) *object {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.objects[o.uid]
	if old != nil {
		g.unlinkLocked(old)
	}
	g.objects[o.uid] = o
	for _, r := range o.owners {
		if g.dependents[r.UID] == nil {
			g.dependents[r.UID] = map[types.UID]bool{}
		}
		g.dependents[r.UID][o.uid] = true
	}
	return old
}

// remove drops the object with uid and returns it, if it was there.
func (g *graph) remove(uid types.UID) *object {
	g.mu.Lock()
	defer g.mu.Unlock()
	old := g.objects[uid]
	if old != nil {
		g.unlinkLocked(old)
		delete(g.objects, uid)
	}
	return old
}

func (g *graph) unlinkLocked(o *object) {
	for _, r := range o.owners {
		if deps := g.dependents[r.UID]; deps != nil {
			delete(deps, o.uid)
			if len(deps) == 0 {
				delete(g.dependents, r.UID)
			}
		}
	}
}

func (g *graph) get(uid types.UID) (*object, bool) {
	g.mu.RLock()
	defer g.mu.RUnlock()
	o, ok := g.objects[uid]
	return o, ok
}

// dependentsOf returns the known dependents of owner, by UID order.
func (g *graph) dependentsOf(owner types.UID) []*object {
	g.mu.RLock()
	defer g.mu.RUnlock()
	var out []*object
	for uid := range g.dependents[owner] {
		if o, ok := g.objects[uid]; ok {
			out = append(out, o)
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].uid < out[j].uid })
	return out
}

func (g *graph) hasDependents(owner types.UID) bool {
	g.mu.RLock()
	defer g.mu.RUnlock()
	return len(g.dependents[owner]) > 0
}
