package loop_test

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"log/slog"
	"strings"
	"sync"
	"testing"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/runtime/schema"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/tug-sh/tug/control/controller/internal/loop"
)

// newQueue is a real rate-limited queue whose backoff is short enough for
// a retry to come round at once.
func newQueue() workqueue.TypedRateLimitingInterface[string] {
	return workqueue.NewTypedRateLimitingQueue(
		workqueue.NewTypedItemExponentialFailureRateLimiter[string](time.Millisecond, time.Millisecond))
}

// logBuffer is a slog logger writing text lines to a buffer that is safe
// to read while workers log.
type logBuffer struct {
	mu  sync.Mutex
	buf bytes.Buffer
}

func (b *logBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.Write(p)
}

func (b *logBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

func (b *logBuffer) logger() *slog.Logger {
	return slog.New(slog.NewTextHandler(b, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

// start runs loop.Run in the background and returns a function that stops
// it and returns its error.
func start(t *testing.T, cfg loop.Config[string]) (stop func() error) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- loop.Run(ctx, cfg) }()
	var once sync.Once
	var err error
	stop = func() error {
		once.Do(func() {
			cancel()
			err = <-done
		})
		return err
	}
	t.Cleanup(func() { _ = stop() })
	return stop
}

// receive waits for a value on ch; the bound only turns a hang into a
// failure message.
func receive[T any](t *testing.T, ch <-chan T, what string) T {
	t.Helper()
	select {
	case v := <-ch:
		return v
	case <-time.After(30 * time.Second):
		t.Fatalf("%s never happened", what)
		var zero T
		return zero
	}
}

func synced() bool { return true }

func TestFailedSyncIsRetriedWithBackoffAndForgottenOnSuccess(t *testing.T) {
	q := newQueue()
	var logs logBuffer
	type call struct {
		key      string
		requeues int // q.NumRequeues of "ns/a" when the sync ran
	}
	calls := make(chan call, 10)
	failed := false
	stop := start(t, loop.Config[string]{
		Name: "test", Synced: []cache.InformerSynced{synced}, Queue: q, Workers: 1,
		Log: logs.logger(), Failed: "sync failed; retrying", KeyAttr: "service",
		Sync: func(_ context.Context, key string) error {
			calls <- call{key, q.NumRequeues("ns/a")}
			if key == "ns/a" && !failed {
				failed = true
				return errors.New("boom")
			}
			return nil
		},
	})
	q.Add("ns/a")
	if c := receive(t, calls, "first sync"); c != (call{"ns/a", 0}) {
		t.Fatalf("first sync %+v, want ns/a with no requeues", c)
	}
	if c := receive(t, calls, "retry"); c != (call{"ns/a", 1}) {
		t.Fatalf("retry %+v, want ns/a after one rate-limited requeue", c)
	}
	// One worker: by the time ns/b syncs, ns/a's success has been handled.
	q.Add("ns/b")
	if c := receive(t, calls, "sync of ns/b"); c != (call{"ns/b", 0}) {
		t.Fatalf("after success %+v, want ns/a forgotten (0 requeues)", c)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	got := logs.String()
	for _, want := range []string{
		`level=INFO msg="test controller started" workers=1`,
		`level=WARN msg="sync failed; retrying" service=ns/a err=boom`,
	} {
		if !strings.Contains(got, want) {
			t.Errorf("log lacks %q:\n%s", want, got)
		}
	}
	if n := strings.Count(got, "level=WARN"); n != 1 {
		t.Errorf("%d warnings, want 1:\n%s", n, got)
	}
}

var errNotYet = errors.New("not yet")

func TestRecheckIsNotBackoffAndQuietIsNotLogged(t *testing.T) {
	q := newQueue()
	var logs logBuffer
	type call struct {
		key      string
		requeues int
	}
	calls := make(chan call, 10)
	errFull := errors.New("full")
	attempts := map[string]int{}
	stop := start(t, loop.Config[string]{
		Name: "test", Queue: q, Workers: 1, Log: logs.logger(),
		Recheck: errNotYet, RecheckAfter: time.Millisecond, Quiet: errFull,
		Sync: func(_ context.Context, key string) error {
			calls <- call{key, q.NumRequeues(key)}
			attempts[key]++
			if attempts[key] > 1 {
				return nil
			}
			if key == "recheck" {
				return fmt.Errorf("3 objects left: %w", errNotYet)
			}
			return fmt.Errorf("no room: %w", errFull)
		},
	})
	q.Add("recheck")
	receive(t, calls, "first recheck sync")
	if c := receive(t, calls, "recheck"); c != (call{"recheck", 0}) {
		t.Fatalf("recheck came back as %+v, want without backoff (0 requeues)", c)
	}
	q.Add("quiet")
	receive(t, calls, "first quiet sync")
	if c := receive(t, calls, "quiet retry"); c != (call{"quiet", 1}) {
		t.Fatalf("quiet retry %+v, want after one rate-limited requeue", c)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := logs.String(); strings.Contains(got, "level=WARN") {
		t.Errorf("recheck or quiet failure was logged:\n%s", got)
	}
}

// A 409 Conflict (the informer's copy was stale) is retried with backoff
// like any failure, but it is expected under churn: not a warning.
func TestConflictIsRetriedWithoutWarning(t *testing.T) {
	q := newQueue()
	var logs logBuffer
	calls := make(chan int, 10)
	attempts := 0
	stop := start(t, loop.Config[string]{
		Name: "test", Queue: q, Workers: 1, Log: logs.logger(), Failed: "sync failed",
		Sync: func(_ context.Context, key string) error {
			calls <- q.NumRequeues(key)
			attempts++
			if attempts > 1 {
				return nil
			}
			return apierrors.NewConflict(schema.GroupResource{Resource: "endpoints"}, key, errors.New("the object has been modified"))
		},
	})
	q.Add("web")
	receive(t, calls, "first sync")
	if n := receive(t, calls, "retry"); n != 1 {
		t.Fatalf("retry after %d requeues, want 1 (rate-limited)", n)
	}
	if err := stop(); err != nil {
		t.Fatalf("Run: %v", err)
	}
	if got := logs.String(); strings.Contains(got, "level=WARN") {
		t.Errorf("a conflict was logged as a warning:\n%s", got)
	}
}

func TestWorkersRunConcurrentlyAndStopWithContext(t *testing.T) {
	const workers = 3
	q := newQueue()
	entered := make(chan string, workers+1)
	release := make(chan struct{})
	var mu sync.Mutex
	active := 0 // syncs in flight
	stop := start(t, loop.Config[string]{
		Name: "test", Queue: q, Workers: workers,
		Sync: func(ctx context.Context, key string) error {
			mu.Lock()
			active++
			mu.Unlock()
			defer func() {
				mu.Lock()
				active--
				mu.Unlock()
			}()
			entered <- key
			<-release
			return ctx.Err()
		},
	})
	for i := range workers {
		q.Add(fmt.Sprint("k", i))
	}
	// All three syncs are in flight at once: three workers.
	for range workers {
		receive(t, entered, "a concurrent sync")
	}
	q.Add("late") // queued while every worker is busy
	stopErr := make(chan error, 1)
	go func() { stopErr <- stop() }()
	// Let the blocked syncs see the cancelled context and finish.
	close(release)
	if err := receive(t, stopErr, "Run returning after cancel"); err != nil {
		t.Fatalf("Run: %v", err)
	}
	mu.Lock()
	inFlight := active
	mu.Unlock()
	if inFlight != 0 {
		t.Errorf("Run returned with %d syncs still running", inFlight)
	}
	if !q.ShuttingDown() {
		t.Error("queue not shut down after Run returned")
	}
	// A sync cut short by the cancel is not retried.
	for _, key := range []string{"k0", "k1", "k2", "late"} {
		if n := q.NumRequeues(key); n != 0 {
			t.Errorf("%s requeued %d times after cancel, want 0", key, n)
		}
	}
}

func TestUnsyncedInformersAreAnError(t *testing.T) {
	q := newQueue()
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	called := false
	err := loop.Run(ctx, loop.Config[string]{
		Name: "test", Synced: []cache.InformerSynced{synced, func() bool { return false }},
		Queue: q, Sync: func(context.Context, string) error { called = true; return nil },
	})
	if err == nil || !errors.Is(err, context.Canceled) || !strings.HasPrefix(err.Error(), "test: informers did not sync") {
		t.Fatalf("Run with an unsynced informer: %v; want \"test: informers did not sync\" wrapping context.Canceled", err)
	}
	if called {
		t.Error("Sync ran before the informers synced")
	}
	if !q.ShuttingDown() {
		t.Error("queue left running after Run failed")
	}
}

func TestConfigWithoutQueueOrSyncIsAnError(t *testing.T) {
	for name, cfg := range map[string]loop.Config[string]{
		"no queue": {Name: "test", Sync: func(context.Context, string) error { return nil }},
		"no sync":  {Name: "test", Queue: newQueue()},
	} {
		t.Run(name, func(t *testing.T) {
			if err := loop.Run(context.Background(), cfg); !errors.Is(err, loop.ErrConfig) {
				t.Errorf("Run: %v, want ErrConfig", err)
			}
			if err := loop.Work(context.Background(), cfg); !errors.Is(err, loop.ErrConfig) {
				t.Errorf("Work: %v, want ErrConfig", err)
			}
		})
	}
}
