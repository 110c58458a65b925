package image

import (
	"context"
	"sync"
)

// flights runs one pull per key at a time: callers asking for a key whose
// pull is running wait for its result instead of pulling again. Unlike
// x/sync/singleflight, the pull runs on its own context that is cancelled
// only when every caller waiting for it has given up, so one pod's
// deletion does not fail another pod's pull of the same image.
type flights struct {
	mu      sync.Mutex
	m       map[string]*flight
	running sync.WaitGroup // pulls still working, including abandoned ones
	closed  bool
	all     map[*flight]bool
}

type flight struct {
	done    chan struct{}
	res     PullResult
	err     error
	cancel  context.CancelFunc
	waiters int // guarded by flights.mu

	pmu      sync.Mutex
	progress map[int]func(Progress)
	nextID   int
}

// report sends p to every waiter's progress callback.
func (f *flight) report(p Progress) {
	f.pmu.Lock()
	fns := make([]func(Progress), 0, len(f.progress))
	for id := range f.nextID {
		if fn, ok := f.progress[id]; ok {
			fns = append(fns, fn)
		}
	}
	f.pmu.Unlock()
	for _, fn := range fns {
		fn(p)
	}
}

// do runs work once for key; shared reports whether this caller joined a
// pull another caller started.
func (fs *flights) do(ctx context.Context, key string, progress func(Progress),
	work func(ctx context.Context, f *flight) (PullResult, error)) (res PullResult, shared bool, err error) {
	fs.mu.Lock()
	if fs.m == nil {
		fs.m = map[string]*flight{}
	}
	if fs.closed {
		fs.mu.Unlock()
		return PullResult{}, false, errStoreClosed
	}
	f, shared := fs.m[key]
	if !shared {
		// The pull outlives the caller that started it if others wait;
		// keep ctx's values (loggers, traces), not its cancellation.
		wctx, cancel := context.WithCancel(context.WithoutCancel(ctx))
		f = &flight{done: make(chan struct{}), cancel: cancel}
		fs.m[key] = f
		if fs.all == nil {
			fs.all = map[*flight]bool{}
		}
		fs.all[f] = true
		fs.running.Add(1)
		go func() {
			defer fs.running.Done()
			f.res, f.err = work(wctx, f)
			fs.mu.Lock()
			if fs.m[key] == f {
				delete(fs.m, key)
			}
			delete(fs.all, f)
			fs.mu.Unlock()
			cancel()
			close(f.done)
		}()
	}
	f.waiters++
	fs.mu.Unlock()
	pid := -1
	if progress != nil {
		f.pmu.Lock()
		if f.progress == nil {
			f.progress = map[int]func(Progress){}
		}
		pid = f.nextID
		f.progress[pid] = progress
		f.nextID++
		f.pmu.Unlock()
	}

	select {
	case <-f.done:
		return f.res, shared, f.err
	case <-ctx.Done():
		f.pmu.Lock()
		delete(f.progress, pid)
		f.pmu.Unlock()
		fs.mu.Lock()
		f.waiters--
		if f.waiters == 0 {
			// Nobody wants it any more: stop it, and let the next caller
			// start afresh rather than join a dying pull.
			f.cancel()
			if fs.m[key] == f {
				delete(fs.m, key)
			}
		}
		fs.mu.Unlock()
		return PullResult{}, shared, ctx.Err()
	}
}

// waiters is the number of callers waiting for key's pull (tests).
func (fs *flights) waiters(key string) int {
	fs.mu.Lock()
	defer fs.mu.Unlock()
	if f, ok := fs.m[key]; ok {
		return f.waiters
	}
	return 0
}

// close cancels every pull and waits until they have stopped.
func (fs *flights) close() {
	fs.mu.Lock()
	fs.closed = true
	for f := range fs.all {
		f.cancel()
	}
	fs.mu.Unlock()
	fs.running.Wait()
}
