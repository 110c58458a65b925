package hollow

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/tools/cache"
)

// podSource is where a hollow node reads its pods: its own watch, or the
// watch a Fleet shares among its nodes.
type podSource interface {
	get(key string) (*v1.Pod, bool)
	// keys lists the keys of the pods bound to node.
	keys(node string) []string
}

// storeSource is a node's own informer store (already filtered by node).
type storeSource struct{ store cache.Store }

func (s storeSource) get(key string) (*v1.Pod, bool) {
	obj, ok, err := s.store.GetByKey(key)
	if err != nil || !ok {
		return nil, false
	}
	return obj.(*v1.Pod), true
}

func (s storeSource) keys(string) []string { return s.store.ListKeys() }
