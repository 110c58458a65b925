package replication

import (
	"sync"
	"time"

	"k8s.io/apimachinery/pkg/types"
	"k8s.io/utils/clock"
)

// ExpectationsTimeout bounds how long a controller waits for its watch to
// show the effects of its own writes before syncing anyway (Kubernetes'
// value).
const ExpectationsTimeout = 5 * time.Minute

// expectation is what one controller waits to observe.
type expectation struct {
	adds int
	// dels holds the UIDs of pods whose deletion is not yet observed.
	dels map[types.UID]bool
	set  time.Time
}

// Expectations tracks, per controller key, pod creations and deletions
// issued but not yet observed through the watch. It is safe for concurrent
// use.
type Expectations struct {
	clock clock.PassiveClock
	mu    sync.Mutex
	m     map[string]*expectation
}

// NewExpectations returns empty Expectations on the given clock.
func NewExpectations(clk clock.PassiveClock) *Expectations {
	return &Expectations{clock: clk, m: map[string]*expectation{}}
}

// Satisfied reports whether the controller may sync: nothing outstanding,
// or the expectations timed out.
func (e *Expectations) Satisfied(key string) bool {
	e.mu.Lock()
	defer e.mu.Unlock()
	x, ok := e.m[key]
	if !ok {
		return true
	}
	if x.adds <= 0 && len(x.dels) == 0 {
		return true
	}
	return e.clock.Since(x.set) > ExpectationsTimeout
}

// ExpectCreations records that n creations are about to be issued; it
// replaces whatever was expected before (a sync only runs when satisfied).
func (e *Expectations) ExpectCreations(key string, n int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	e.m[key] = &expectation{adds: n, dels: map[types.UID]bool{}, set: e.clock.Now()}
}

// ExpectDeletions records that the pods with these UIDs are about to be
// deleted.
func (e *Expectations) ExpectDeletions(key string, uids []types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	x := &expectation{dels: map[types.UID]bool{}, set: e.clock.Now()}
	for _, u := range uids {
		x.dels[u] = true
	}
	e.m[key] = x
}

// CreationObserved lowers the expected creations by one: a pod was seen,
// or a creation was not issued or failed.
func (e *Expectations) CreationObserved(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok && x.adds > 0 {
		x.adds--
	}
}

// DeletionObserved marks the deletion of pod uid as seen (or abandoned).
func (e *Expectations) DeletionObserved(key string, uid types.UID) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		delete(x.dels, uid)
	}
}

// Delete forgets a controller (it was deleted).
func (e *Expectations) Delete(key string) {
	e.mu.Lock()
	defer e.mu.Unlock()
	delete(e.m, key)
}

// Pending returns the outstanding creations and deletions of key.
func (e *Expectations) Pending(key string) (adds, dels int) {
	e.mu.Lock()
	defer e.mu.Unlock()
	if x, ok := e.m[key]; ok {
		return x.adds, len(x.dels)
	}
	return 0, 0
}
