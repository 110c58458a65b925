package loop

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"
)

// ErrConfig is wrapped by the error for a Config that cannot run.
var ErrConfig = errors.New("loop: invalid Config")

// Config describes one queue and the workers that drain it.
type Config[K comparable] struct {
	// Name names the controller in Run's messages ("<Name> controller
	// started", "<Name>: informers did not sync"). Only Run uses it.
	Name string
	// Synced are the informers Run waits for before starting workers.
	// Only Run uses them.
	Synced []cache.InformerSynced

	// Queue holds the keys to sync. Required.
	Queue workqueue.TypedRateLimitingInterface[K]
	// Workers is the number of concurrent syncs (1 when 0).
	Workers int
	// Sync brings one key in line. Required.
	Sync func(ctx context.Context, key K) error

	// Log receives the started line and one warning per failed sync
	// (discarded when nil); a 409 Conflict, which the retry resolves by
	// reading anew, is logged at debug level instead.
	Log *slog.Logger
	// Failed is the message of that warning ("sync failed; retrying"
	// when empty); the key is logged under KeyAttr ("key" when empty),
	// the error under "err".
	Failed  string
	KeyAttr string

	// Recheck marks a failure that means "not finished yet" rather than
	// an error: a Sync error that wraps it puts the key back after
	// RecheckAfter, with its backoff forgotten and nothing logged.
	Recheck      error
	RecheckAfter time.Duration
	// Quiet marks a failure that is retried with backoff like any other
	// but not logged, because it is expected and reported elsewhere.
	Quiet error
}

func (c *Config[K]) setDefaults() error {
	if c.Queue == nil || c.Sync == nil {
		return fmt.Errorf("%w: %q needs Queue and Sync", ErrConfig, c.Name)
	}
	if c.Workers <= 0 {
		c.Workers = 1
	}
	if c.Log == nil {
		c.Log = slog.New(slog.DiscardHandler)
	}
	if c.Failed == "" {
		c.Failed = "sync failed; retrying"
	}
	if c.KeyAttr == "" {
		c.KeyAttr = "key"
	}
	return nil
}

// Run waits for cfg.Synced, logs "<Name> controller started" with the
// worker count, and runs the workers until ctx ends (see Work). The queue
// is shut down when Run returns, also when the informers never synced.
func Run[K comparable](ctx context.Context, cfg Config[K]) error {
	if err := cfg.setDefaults(); err != nil {
		return err
	}
	defer cfg.Queue.ShutDown()
	if err := WaitForSync(ctx, cfg.Name, cfg.Synced...); err != nil {
		return err
	}
	cfg.Log.Info(cfg.Name+" controller started", "workers", cfg.Workers)
	return Work(ctx, cfg)
}

// WaitForSync waits until every informer has synced. It fails, naming the
// controller, only when ctx ends first.
func WaitForSync(ctx context.Context, name string, synced ...cache.InformerSynced) error {
	if !cache.WaitForCacheSync(ctx.Done(), synced...) {
		return fmt.Errorf("%s: informers did not sync: %w", name, ctx.Err())
	}
	return nil
}

// Work starts the workers of every cfg (informers already synced), and
// when ctx ends shuts the queues down and returns once every worker has
// stopped. A sync in flight when ctx ends finishes; its key is not retried.
func Work[K comparable](ctx context.Context, cfgs ...Config[K]) error {
	for i := range cfgs {
		if err := cfgs[i].setDefaults(); err != nil {
			return err
		}
	}
	var wg sync.WaitGroup
	for _, cfg := range cfgs {
		for range cfg.Workers {
			wg.Go(func() { wait.UntilWithContext(ctx, cfg.process, time.Second) })
		}
	}
	<-ctx.Done()
	for _, cfg := range cfgs {
		cfg.Queue.ShutDown()
	}
	wg.Wait()
	return nil
}

// process syncs keys until the queue shuts down.
func (c Config[K]) process(ctx context.Context) {
	for {
		key, quit := c.Queue.Get()
		if quit {
			return
		}
		err := c.Sync(ctx, key)
		switch {
		case err == nil:
			c.Queue.Forget(key)
		case c.Recheck != nil && errors.Is(err, c.Recheck):
			c.Queue.Forget(key)
			c.Queue.AddAfter(key, c.RecheckAfter)
		case ctx.Err() != nil:
		default:
			switch {
			case c.Quiet != nil && errors.Is(err, c.Quiet):
			case apierrors.IsConflict(err):
				// The write raced another one (the informer's copy was
				// stale): expected under churn, and the retry reads anew.
				c.Log.Debug(c.Failed, c.KeyAttr, key, "err", err)
			default:
				c.Log.Warn(c.Failed, c.KeyAttr, key, "err", err)
			}
			c.Queue.AddRateLimited(key)
		}
		c.Queue.Done(key)
	}
}
