package scheduler

import (
	"container/list"
	"context"
	"sort"
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// Backoff bounds for pods that failed to schedule: 1s, 2s, 4s, 8s, 10s, ...
const (
	InitialBackoff = 1 * time.Second
	MaxBackoff     = 10 * time.Second
	// unschedulableTimeout moves pods parked as unschedulable back to the
	// active queue even when no event suggested they might fit now.
	unschedulableTimeout = time.Minute
)

// queuedPod is a pending pod's place in the queue.
type queuedPod struct {
	key      string // namespace/name
	uid      types.UID
	attempts int
	// firstSeen is when the pod entered the queue (scheduling latency).
	firstSeen time.Time
	// lastFailure is when the last attempt failed (backoff, timeouts).
	lastFailure time.Time
}

// backoffUntil is when the pod may be tried again.
func (qp *queuedPod) backoffUntil() time.Time {
	return qp.lastFailure.Add(backoffFor(qp.attempts))
}

// backoffFor is the wait after the n-th failed attempt.
func backoffFor(attempts int) time.Duration {
	if attempts <= 0 {
		return 0
	}
	d := InitialBackoff
	for i := 1; i < attempts && d < MaxBackoff; i++ {
		d *= 2
	}
	return min(d, MaxBackoff)
}

// schedulingQueue is kube-scheduler's queue, simplified: an active FIFO, a
// backoff set and an unschedulable set. A pod is in at most one of them,
// or "in flight" between Pop and the end of its attempt.
type schedulingQueue struct {
	clock clock.Clock

	mu            sync.Mutex
	cond          *sync.Cond
	active        *list.List // of *queuedPod
	activeIdx     map[string]*list.Element
	backoff       map[string]*queuedPod
	unschedulable map[string]*queuedPod
	inFlight      map[string]*queuedPod
	// cycle counts Pops; moveCycle is the cycle of the last cluster event
	// that may make unschedulable pods fit. A pod whose attempt started
	// before such an event goes to backoff, not unschedulable, so the event
	// is not missed.
	cycle, moveCycle int64
	closed           bool
}

func newSchedulingQueue(clk clock.Clock) *schedulingQueue {
	q := &schedulingQueue{
		clock:         clk,
		active:        list.New(),
		activeIdx:     map[string]*list.Element{},
		backoff:       map[string]*queuedPod{},
		unschedulable: map[string]*queuedPod{},
		inFlight:      map[string]*queuedPod{},
		moveCycle:     -1,
	}
	q.cond = sync.NewCond(&q.mu)
	return q
}

// add enqueues a pending pod seen by the watch. A pod already waiting stays
// where it is, except that an unschedulable pod whose spec or labels
// changed is tried again (after its backoff).
func (q *schedulingQueue) add(key string, uid types.UID, changed bool) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if e, ok := q.activeIdx[key]; ok && e.Value.(*queuedPod).uid == uid {
		return
	}
	if qp, ok := q.inFlight[key]; ok && qp.uid == uid {
		return
	}
	if qp, ok := q.backoff[key]; ok && qp.uid == uid {
		return
	}
	if qp, ok := q.unschedulable[key]; ok && qp.uid == uid {
		if changed {
			delete(q.unschedulable, key)
			q.requeueLocked(qp)
		}
		return
	}
	q.deleteLocked(key)
	q.pushActiveLocked(&queuedPod{key: key, uid: uid, firstSeen: q.clock.Now()})
}

func (q *schedulingQueue) pushActiveLocked(qp *queuedPod) {
	q.activeIdx[qp.key] = q.active.PushBack(qp)
	q.cond.Signal()
}

// requeueLocked puts a pod in active or, if still backing off, in backoff.
func (q *schedulingQueue) requeueLocked(qp *queuedPod) {
	if q.clock.Now().Before(qp.backoffUntil()) {
		q.backoff[qp.key] = qp
		return
	}
	q.pushActiveLocked(qp)
}

// delete drops a pod that was bound, deleted or is no longer ours.
func (q *schedulingQueue) delete(key string) {
	q.mu.Lock()
	defer q.mu.Unlock()
	q.deleteLocked(key)
}

func (q *schedulingQueue) deleteLocked(key string) {
	if e, ok := q.activeIdx[key]; ok {
		q.active.Remove(e)
		delete(q.activeIdx, key)
	}
	delete(q.backoff, key)
	delete(q.unschedulable, key)
	delete(q.inFlight, key)
}

// inOrder lists pods oldest first (then by key), so that pods leave a set
// in a deterministic order.
func inOrder(set map[string]*queuedPod) []*queuedPod {
	out := make([]*queuedPod, 0, len(set))
	for _, qp := range set {
		out = append(out, qp)
	}
	sort.Slice(out, func(i, j int) bool {
		if !out[i].firstSeen.Equal(out[j].firstSeen) {
			return out[i].firstSeen.Before(out[j].firstSeen)
		}
		return out[i].key < out[j].key
	})
	return out
}

// pop blocks until a pod is active (or ctx ends) and marks it in flight.
// It returns the pod and the scheduling cycle it starts.
func (q *schedulingQueue) pop(ctx context.Context) (*queuedPod, int64, bool) {
	stop := context.AfterFunc(ctx, func() {
		q.mu.Lock()
		q.closed = true
		q.mu.Unlock()
		q.cond.Broadcast()
	})
	defer stop()
	q.mu.Lock()
	defer q.mu.Unlock()
	for q.active.Len() == 0 && !q.closed {
		q.cond.Wait()
	}
	if q.closed {
		return nil, 0, false
	}
	qp := q.active.Remove(q.active.Front()).(*queuedPod)
	delete(q.activeIdx, qp.key)
	q.inFlight[qp.key] = qp
	q.cycle++
	return qp, q.cycle, true
}

// done ends a successful attempt (the pod is bound or gone).
func (q *schedulingQueue) done(qp *queuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.inFlight[qp.key] == qp {
		delete(q.inFlight, qp.key)
	}
}

// unschedulableAttempt ends an attempt that found no node: the pod waits
// for a cluster event (or backoff, if one happened during the attempt).
func (q *schedulingQueue) unschedulableAttempt(qp *queuedPod, cycle int64) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.inFlight[qp.key] != qp {
		return // deleted or replaced meanwhile
	}
	delete(q.inFlight, qp.key)
	qp.attempts++
	qp.lastFailure = q.clock.Now()
	if q.moveCycle >= cycle {
		q.backoff[qp.key] = qp
		return
	}
	q.unschedulable[qp.key] = qp
}

// failedAttempt ends an attempt that failed for another reason (a binding
// error): the pod retries after backoff.
func (q *schedulingQueue) failedAttempt(qp *queuedPod) {
	q.mu.Lock()
	defer q.mu.Unlock()
	if q.inFlight[qp.key] != qp {
		return
	}
	delete(q.inFlight, qp.key)
	qp.attempts++
	qp.lastFailure = q.clock.Now()
	q.backoff[qp.key] = qp
}

// moveAll is called on cluster events that may let unschedulable pods fit
// (a node added or changed, a pod removed from a node).
func (q *schedulingQueue) moveAll() {
	q.mu.Lock()
	defer q.mu.Unlock()
	for _, qp := range inOrder(q.unschedulable) {
		delete(q.unschedulable, qp.key)
		q.requeueLocked(qp)
	}
	q.moveCycle = q.cycle
}

// flush moves pods whose backoff is over to active, and pods unschedulable
// for longer than unschedulableTimeout to active or backoff.
func (q *schedulingQueue) flush() {
	q.mu.Lock()
	defer q.mu.Unlock()
	now := q.clock.Now()
	for _, qp := range inOrder(q.backoff) {
		if !now.Before(qp.backoffUntil()) {
			delete(q.backoff, qp.key)
			q.pushActiveLocked(qp)
		}
	}
	for _, qp := range inOrder(q.unschedulable) {
		if now.Sub(qp.lastFailure) >= unschedulableTimeout {
			delete(q.unschedulable, qp.key)
			q.requeueLocked(qp)
		}
	}
}

// lengths reports the sizes of active, backoff and unschedulable.
func (q *schedulingQueue) lengths() (active, backoff, unschedulable int) {
	q.mu.Lock()
	defer q.mu.Unlock()
	return q.active.Len(), len(q.backoff), len(q.unschedulable)
}
