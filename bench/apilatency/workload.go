package apilatency

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"math"
	"math/rand/v2"
	"sync"
	"sync/atomic"
	"time"
)

// Workload is what every phase shares: the pods that stay, the reads made
// throughout, and the bounds on each request.
type Workload struct {
	// BasePods is how many pods stay for the whole run; Get reads a random
	// one of them and List reads them all (default 100).
	BasePods int
	// GetRate and ListRate are the reads per second made throughout a
	// phase, whatever the writers do (defaults 20 and 5).
	GetRate, ListRate float64
	// RequestTimeout bounds each request (default 10s).
	RequestTimeout time.Duration
	// Logger receives progress (default: discarded).
	Logger *slog.Logger
	// ProgressEvery is how often a running phase logs progress (default 10s).
	ProgressEvery time.Duration
}

func (w Workload) withDefaults() Workload {
	if w.BasePods == 0 {
		w.BasePods = 100
	}
	if w.GetRate == 0 {
		w.GetRate = 20
	}
	if w.ListRate == 0 {
		w.ListRate = 5
	}
	if w.RequestTimeout == 0 {
		w.RequestTimeout = 10 * time.Second
	}
	if w.Logger == nil {
		w.Logger = slog.New(slog.DiscardHandler)
	}
	if w.ProgressEvery == 0 {
		w.ProgressEvery = 10 * time.Second
	}
	return w
}

// basePodName names the i-th pod that stays.
func basePodName(i int) string { return fmt.Sprintf("base-%04d", i) }

// Populate creates the w.BasePods pods that Get and List read, eight at a
// time, and checks that List sees them.
func Populate(ctx context.Context, t Target, w Workload) error {
	w = w.withDefaults()
	sem := make(chan struct{}, 8)
	errc := make(chan error, w.BasePods)
	var wg sync.WaitGroup
	for i := range w.BasePods {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			rctx, cancel := context.WithTimeout(ctx, w.RequestTimeout)
			defer cancel()
			if _, err := t.Create(rctx, basePodName(i)); err != nil {
				errc <- fmt.Errorf("creating %s: %w", basePodName(i), err)
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		return fmt.Errorf("apilatency: populating: %w", err)
	}
	rctx, cancel := context.WithTimeout(ctx, w.RequestTimeout)
	defer cancel()
	n, err := t.List(rctx)
	if err != nil {
		return fmt.Errorf("apilatency: listing after populating: %w", err)
	}
	if n < w.BasePods {
		return fmt.Errorf("apilatency: listed %d pods after creating %d", n, w.BasePods)
	}
	return nil
}

// SteadyConfig is a phase of writes at a fixed rate.
type SteadyConfig struct {
	Workload
	// WriteRate is the writes per second (default 20): a new pod every
	// three intervals, its update one interval later, its delete one more.
	WriteRate float64
	// Duration is how long new pods are started (required).
	Duration time.Duration
	// Name prefixes the churned pods' names and the progress lines; it must
	// differ between phases on one target.
	Name string
}

// RunSteady writes at cfg.WriteRate for cfg.Duration while reading at the
// workload's pace, and records every request in rec. Writes start on
// schedule whatever earlier ones take (each pod's own three writes are in
// order), so a slow server gets the same load, not less.
func RunSteady(ctx context.Context, t Target, rec *Recorder, cfg SteadyConfig) error {
	cfg.Workload = cfg.Workload.withDefaults()
	if cfg.WriteRate == 0 {
		cfg.WriteRate = 20
	}
	if cfg.Duration <= 0 {
		return errors.New("apilatency: steady phase without a duration")
	}
	interval := time.Duration(float64(time.Second) / cfg.WriteRate)
	// One pod every three writes; the epsilon keeps 1s at 30/s at ten pods.
	pods := int(math.Ceil(cfg.Duration.Seconds()*cfg.WriteRate/3 - 1e-9))
	start := time.Now()
	stopReads := startReaders(ctx, t, rec, cfg.Workload)
	stopProgress := startProgress(rec, cfg.Workload, cfg.Name, start, cfg.Duration)
	defer stopProgress()
	var wg sync.WaitGroup
	for i := range pods {
		t0 := start.Add(time.Duration(float64(3*i) / cfg.WriteRate * float64(time.Second)))
		if err := sleepUntil(ctx, t0); err != nil {
			break
		}
		name := fmt.Sprintf("%s-%05d", cfg.Name, i)
		wg.Go(func() {
			runCycle(ctx, t, rec, cfg.Workload, name, func(step int) error {
				return sleepUntil(ctx, t0.Add(time.Duration(step)*interval))
			})
		})
	}
	wg.Wait()
	stopReads()
	return ctx.Err()
}

// ClosedConfig is a phase of closed-loop writers.
type ClosedConfig struct {
	Workload
	// Concurrency is the number of writers, each creating, updating and
	// deleting its own pods back to back.
	Concurrency int
	// Duration is how long writers start new pods (required).
	Duration time.Duration
	// Name prefixes the churned pods' names and the progress lines.
	Name string
}

// RunClosed runs cfg.Concurrency writers as fast as the target answers for
// cfg.Duration, with the workload's reads alongside, records every request
// in rec and returns how long the writers ran (until the last finished its
// pod).
func RunClosed(ctx context.Context, t Target, rec *Recorder, cfg ClosedConfig) (time.Duration, error) {
	cfg.Workload = cfg.Workload.withDefaults()
	if cfg.Concurrency < 1 || cfg.Duration <= 0 {
		return 0, fmt.Errorf("apilatency: closed phase needs writers and a duration (got %d, %s)", cfg.Concurrency, cfg.Duration)
	}
	start := time.Now()
	end := start.Add(cfg.Duration)
	stopReads := startReaders(ctx, t, rec, cfg.Workload)
	stopProgress := startProgress(rec, cfg.Workload, cfg.Name, start, cfg.Duration)
	defer stopProgress()
	var seq atomic.Int64
	var wg sync.WaitGroup
	for range cfg.Concurrency {
		wg.Go(func() {
			for ctx.Err() == nil && time.Now().Before(end) {
				name := fmt.Sprintf("%s-%06d", cfg.Name, seq.Add(1))
				runCycle(ctx, t, rec, cfg.Workload, name, func(int) error { return ctx.Err() })
			}
		})
	}
	wg.Wait()
	elapsed := time.Since(start)
	stopReads()
	return elapsed, ctx.Err()
}

// runCycle creates, updates and deletes one pod, calling wait before the
// update (1) and the delete (2). A failed write ends the cycle.
func runCycle(ctx context.Context, t Target, rec *Recorder, w Workload, name string, wait func(step int) error) {
	h, err := timed(ctx, rec, w, OpCreate, func(ctx context.Context) (Handle, error) { return t.Create(ctx, name) })
	if err != nil || wait(1) != nil {
		return
	}
	h, err = timed(ctx, rec, w, OpUpdate, func(ctx context.Context) (Handle, error) { return t.Update(ctx, h, 1) })
	if err != nil || wait(2) != nil {
		return
	}
	timed(ctx, rec, w, OpDelete, func(ctx context.Context) (Handle, error) { return nil, t.Delete(ctx, h) })
}

// timed runs one request under the workload's timeout and records it. A
// request cut short because the phase itself was cancelled is not counted.
func timed(ctx context.Context, rec *Recorder, w Workload, op Op, f func(context.Context) (Handle, error)) (Handle, error) {
	rctx, cancel := context.WithTimeout(ctx, w.RequestTimeout)
	defer cancel()
	t0 := time.Now()
	h, err := f(rctx)
	d := time.Since(t0)
	if ctx.Err() != nil {
		return nil, ctx.Err()
	}
	rec.Observe(op, d, err)
	return h, err
}

// startReaders issues Gets and Lists at the workload's rates until the
// returned function is called (which waits for reads in flight). Reads are
// started on schedule in their own goroutines, at most 64 in flight.
func startReaders(ctx context.Context, t Target, rec *Recorder, w Workload) (stop func()) {
	ctx, cancel := context.WithCancel(ctx)
	var wg sync.WaitGroup
	sem := make(chan struct{}, 64)
	pace := func(rate float64, read func(context.Context) error, op Op) {
		if rate <= 0 {
			return
		}
		interval := time.Duration(float64(time.Second) / rate)
		wg.Go(func() {
			start := time.Now()
			for i := 1; ; i++ {
				if sleepUntil(ctx, start.Add(time.Duration(i)*interval)) != nil {
					return
				}
				select {
				case sem <- struct{}{}:
				case <-ctx.Done():
					return
				}
				wg.Go(func() {
					defer func() { <-sem }()
					timed(ctx, rec, w, op, func(ctx context.Context) (Handle, error) { return nil, read(ctx) })
				})
			}
		})
	}
	pace(w.GetRate, func(ctx context.Context) error { return t.Get(ctx, basePodName(rand.IntN(w.BasePods))) }, OpGet)
	pace(w.ListRate, func(ctx context.Context) error {
		n, err := t.List(ctx)
		if err == nil && n < w.BasePods {
			err = fmt.Errorf("listed %d pods, want at least %d", n, w.BasePods)
		}
		return err
	}, OpList)
	return func() {
		cancel()
		wg.Wait()
	}
}

// startProgress logs the phase's counts every w.ProgressEvery.
func startProgress(rec *Recorder, w Workload, name string, start time.Time, planned time.Duration) (stop func()) {
	done := make(chan struct{})
	var wg sync.WaitGroup
	wg.Go(func() {
		tick := time.NewTicker(w.ProgressEvery)
		defer tick.Stop()
		for {
			select {
			case <-done:
				return
			case <-tick.C:
				s := rec.Summary()
				w.Logger.Info("progress", "phase", name,
					"elapsed", time.Since(start).Round(time.Second), "planned", planned,
					"writes", s.Writes(), "errors", s.Errors(),
					"create_p99_ms", fmt.Sprintf("%.1f", Ms(s.Ops[OpCreate].P99)))
			}
		}
	})
	return func() {
		close(done)
		wg.Wait()
	}
}

// sleepUntil waits until t or until ctx ends.
func sleepUntil(ctx context.Context, t time.Time) error {
	d := time.Until(t)
	if d <= 0 {
		return ctx.Err()
	}
	timer := time.NewTimer(d)
	defer timer.Stop()
	select {
	case <-timer.C:
		return nil
	case <-ctx.Done():
		return ctx.Err()
	}
}
