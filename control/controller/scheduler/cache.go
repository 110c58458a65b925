package scheduler

import (
	"sort"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/control/controller/internal/podstate"
)

// podState is one pod the cache counts on a node.
type podState struct {
	info *PodInfo
	node string
	// assumed: placed by this scheduler, not yet seen bound by the watch.
	assumed bool
}

// schedCache holds the NodeInfo of every node, updated from informer events
// and from the scheduler's own decisions (assumed pods). It is safe for
// concurrent use.
type schedCache struct {
	mu     sync.Mutex
	nodes  map[string]*NodeInfo
	sorted []*NodeInfo // nodes with a Node object, by name; nil when stale
	pods   map[types.UID]*podState
}

func newSchedCache() *schedCache {
	return &schedCache{nodes: map[string]*NodeInfo{}, pods: map[types.UID]*podState{}}
}

func (c *schedCache) setNode(node *v1.Node) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni, ok := c.nodes[node.Name]
	if !ok {
		c.nodes[node.Name] = NewNodeInfo(node)
		c.sorted = nil
		return
	}
	if ni.Node == nil {
		c.sorted = nil
	}
	ni.SetNode(node)
}

func (c *schedCache) removeNode(name string) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni, ok := c.nodes[name]
	if !ok {
		return
	}
	c.sorted = nil
	if ni.Pods == 0 {
		delete(c.nodes, name)
		return
	}
	// Pods still count there until their deletion is observed.
	ni.SetNode(nil)
}

// nodeInfoLocked returns the NodeInfo for name, creating a placeholder.
func (c *schedCache) nodeInfoLocked(name string) *NodeInfo {
	ni, ok := c.nodes[name]
	if !ok {
		ni = &NodeInfo{Owners: map[types.UID]int{}}
		c.nodes[name] = ni
	}
	return ni
}

// observePod records the state the watch reports for a pod: counted on
// its node when assigned and not finished, not counted otherwise. An
// assumed pod seen bound is confirmed; one seen bound elsewhere moves.
func (c *schedCache) observePod(pod *v1.Pod) {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, known := c.pods[pod.UID]
	counts := pod.Spec.NodeName != "" && !podstate.IsTerminal(pod)
	if known && st.assumed && pod.Spec.NodeName == "" && !podstate.IsTerminal(pod) && pod.DeletionTimestamp == nil {
		// The watch has not caught up with our binding yet.
		return
	}
	if known {
		c.nodeInfoLocked(st.node).RemovePod(st.info)
		c.dropEmptyLocked(st.node)
		delete(c.pods, pod.UID)
	}
	if counts {
		st := &podState{info: NewPodInfo(pod), node: pod.Spec.NodeName}
		c.pods[pod.UID] = st
		c.nodeInfoLocked(st.node).AddPod(st.info)
	}
}

// removePod forgets a deleted pod.
func (c *schedCache) removePod(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	c.removePodLocked(uid)
}

func (c *schedCache) removePodLocked(uid types.UID) {
	st, ok := c.pods[uid]
	if !ok {
		return
	}
	c.nodeInfoLocked(st.node).RemovePod(st.info)
	c.dropEmptyLocked(st.node)
	delete(c.pods, uid)
}

// dropEmptyLocked removes the placeholder of a deleted node once empty.
func (c *schedCache) dropEmptyLocked(name string) {
	if ni := c.nodes[name]; ni != nil && ni.Node == nil && ni.Pods == 0 {
		delete(c.nodes, name)
	}
}

// forget un-assumes a pod whose binding failed.
func (c *schedCache) forget(uid types.UID) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if st, ok := c.pods[uid]; ok && st.assumed {
		c.removePodLocked(uid)
	}
}

// isAssumed reports whether the pod is placed but not yet seen bound.
func (c *schedCache) isAssumed(uid types.UID) bool {
	c.mu.Lock()
	defer c.mu.Unlock()
	st, ok := c.pods[uid]
	return ok && st.assumed
}

// scheduleAndAssume decides the pod's node and, on success, counts the pod
// there at once, so that the next decision sees it.
func (c *schedCache) scheduleAndAssume(pi *PodInfo, now time.Time) (string, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.sorted == nil {
		c.sorted = make([]*NodeInfo, 0, len(c.nodes))
		for _, ni := range c.nodes {
			if ni.Node != nil {
				c.sorted = append(c.sorted, ni)
			}
		}
		sort.Slice(c.sorted, func(i, j int) bool { return c.sorted[i].Node.Name < c.sorted[j].Node.Name })
	}
	node, err := Schedule(pi, c.sorted, now)
	if err != nil {
		return "", err
	}
	st := &podState{info: pi, node: node, assumed: true}
	c.removePodLocked(pi.Pod.UID)
	c.pods[pi.Pod.UID] = st
	c.nodes[node].AddPod(pi)
	return node, nil
}

// nodeInfo returns a copy of a node's aggregate (for tests and logs).
func (c *schedCache) nodeInfo(name string) (NodeInfo, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	ni, ok := c.nodes[name]
	if !ok {
		return NodeInfo{}, false
	}
	cp := *ni
	return cp, true
}
