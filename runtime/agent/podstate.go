package agent

import (
	"context"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/runtime/container"
)

// podState is the agent's in-memory knowledge of one pod (by UID). A
// pod's syncs never run concurrently (the work queue guarantees it), so
// the sync reads its own fields freely; fields other goroutines read (the
// HTTP server, stats, waiters) are changed under mu.
type podState struct {
	mu  sync.Mutex
	rec *podRecord
	// saveMu serializes writes of the record file.
	saveMu sync.Mutex
	// sandbox is set once the pod's network, files and IPC are ready.
	sandbox *sandbox
	// waiting holds, per container, why it is not running (the kubelet's
	// reason cache): an image pull failure, a start failure, a backoff.
	waiting map[string]*v1.ContainerStateWaiting
	// pullFailures tracks image pull backoff per image reference.
	pullFailures map[string]pullFailure
	// done holds, per running instance ID, a channel closed when it ends.
	done map[string]chan struct{}
	// lastStatus is the status last written, to skip identical writes
	// while the informer's copy lags.
	lastStatus *v1.PodStatus
	// lastStatusFor is the resourceVersion of the pod lastStatus was
	// computed from.
	lastStatusFor string
	// syncCancel cancels the sync in flight (set while one runs).
	syncCancel context.CancelFunc
}

// sandbox is a pod's set-up environment.
type sandbox struct {
	podIP     string
	netnsPath string
	hostNet   bool
	ipc       container.PodIPC
	etcDir    string
}

// pullFailure is the last failed pull of an image for a pod.
type pullFailure struct {
	at      time.Time
	message string
	backoff backoff
}

func newPodState(rec *podRecord) *podState {
	return &podState{
		rec:          rec,
		waiting:      map[string]*v1.ContainerStateWaiting{},
		pullFailures: map[string]pullFailure{},
		done:         map[string]chan struct{}{},
	}
}

func (ps *podState) cancelSync() {
	ps.mu.Lock()
	defer ps.mu.Unlock()
	if ps.syncCancel != nil {
		ps.syncCancel()
	}
}

// stateFor returns the pod's state, creating it for a pod the API has
// (recordless) or loading nothing for one it neither has nor knows.
func (a *Agent) stateFor(uid types.UID, pod *v1.Pod) *podState {
	a.mu.Lock()
	defer a.mu.Unlock()
	if ps, ok := a.pods[uid]; ok {
		return ps
	}
	if pod == nil {
		return nil
	}
	ps := newPodState(&podRecord{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID, HostNetwork: pod.Spec.HostNetwork})
	a.pods[uid] = ps
	return ps
}

func (a *Agent) forget(uid types.UID) {
	a.mu.Lock()
	defer a.mu.Unlock()
	delete(a.pods, uid)
}

// findPod returns the state of the pod namespace/name, preferring the
// one the API still has and that is not being deleted.
func (a *Agent) findPod(namespace, name string) (*podState, *v1.Pod) {
	a.mu.Lock()
	var cands []*podState
	for _, ps := range a.pods {
		if ps.rec.Namespace == namespace && ps.rec.Name == name {
			cands = append(cands, ps)
		}
	}
	a.mu.Unlock()
	var best *podState
	var bestPod *v1.Pod
	for _, ps := range cands {
		pod := a.lookupPod(ps.rec.UID)
		switch {
		case best == nil:
			best, bestPod = ps, pod
		case pod != nil && pod.DeletionTimestamp == nil:
			best, bestPod = ps, pod
		}
	}
	return best, bestPod
}
