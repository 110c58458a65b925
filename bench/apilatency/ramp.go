package apilatency

import (
	"context"
	"fmt"
	"time"
)

// RampRules say when a ramp stops and which steps count as sustainable.
type RampRules struct {
	// MinGrowth is the least relative throughput gain over the best
	// earlier step that keeps the ramp going (default 0.10: 10%).
	MinGrowth float64
	// P99Limit is the highest mutating p99 of a sustainable step
	// (default 1s, Kubernetes' API latency SLO).
	P99Limit time.Duration
	// MaxErrorRate is the highest share of failed requests of a
	// sustainable step (default 0.01).
	MaxErrorRate float64
	// Patience is how many steps in a row may fail to grow before the
	// ramp stops (default 2), so that one noisy step does not end it.
	Patience int
}

func (r RampRules) withDefaults() RampRules {
	if r.MinGrowth == 0 {
		r.MinGrowth = 0.10
	}
	if r.P99Limit == 0 {
		r.P99Limit = time.Second
	}
	if r.MaxErrorRate == 0 {
		r.MaxErrorRate = 0.01
	}
	if r.Patience == 0 {
		r.Patience = 2
	}
	return r
}

// Step is the outcome of one ramp step.
type Step struct {
	Concurrency int
	// Throughput is successful writes per second.
	Throughput float64
	// P99 is the worst p99 of the mutating Ops.
	P99 time.Duration
	// ErrorRate is failed requests over all requests.
	ErrorRate float64
	Summary   Summary
}

// Sustainable reports whether s stayed within the rules' p99 and errors.
func Sustainable(s Step, r RampRules) bool {
	r = r.withDefaults()
	return s.P99 <= r.P99Limit && s.ErrorRate <= r.MaxErrorRate
}

// RampVerdict decides, after the last of steps, whether the ramp stops
// and why: the last step was not sustainable (p99 exploded or requests
// failed), or the last Patience steps each failed to beat the best step
// before them by MinGrowth.
func RampVerdict(steps []Step, r RampRules) (stop bool, reason string) {
	r = r.withDefaults()
	if len(steps) == 0 {
		return false, ""
	}
	last := steps[len(steps)-1]
	if last.P99 > r.P99Limit {
		return true, fmt.Sprintf("mutating p99 %.0f ms at concurrency %d is over the %s limit", Ms(last.P99), last.Concurrency, r.P99Limit)
	}
	if last.ErrorRate > r.MaxErrorRate {
		return true, fmt.Sprintf("%.1f%% of requests failed at concurrency %d", 100*last.ErrorRate, last.Concurrency)
	}
	flat := 0 // trailing steps that did not grow
	best := 0.0
	for i, s := range steps {
		if i > 0 && s.Throughput < best*(1+r.MinGrowth) {
			flat++
		} else {
			flat = 0
		}
		best = max(best, s.Throughput)
	}
	if flat >= r.Patience {
		return true, fmt.Sprintf("throughput stopped growing: %d steps in a row under +%.0f%% of the best (%.0f writes/s), last %.0f writes/s at concurrency %d",
			flat, 100*r.MinGrowth, best, last.Throughput, last.Concurrency)
	}
	return false, ""
}

// BestStep is the index of the sustainable step with the highest
// throughput, or -1 when no step was sustainable.
func BestStep(steps []Step, r RampRules) int {
	best := -1
	for i, s := range steps {
		if Sustainable(s, r) && (best < 0 || s.Throughput > steps[best].Throughput) {
			best = i
		}
	}
	return best
}

// RampConfig is a ramp of closed-loop phases at growing concurrency.
type RampConfig struct {
	Workload
	// Concurrency lists the writers of each step (default 1, 2, 4, ... 64).
	Concurrency []int
	// StepDuration is how long each step runs (default 5s).
	StepDuration time.Duration
	Rules        RampRules
	// Name prefixes pod names and progress lines.
	Name string
}

// RampResult is a finished ramp.
type RampResult struct {
	Steps []Step
	// Best indexes the maximum sustainable step in Steps (-1: none).
	Best int
	// StopReason says why the ramp ended.
	StopReason string
}

// Ramper runs a ramp one step at a time, so that the ramps of two
// targets can alternate steps and meet the same background load.
type Ramper struct {
	t    Target
	cfg  RampConfig
	res  RampResult
	done bool
}

// NewRamper prepares a ramp of t.
func NewRamper(t Target, cfg RampConfig) *Ramper {
	cfg.Workload = cfg.Workload.withDefaults()
	if len(cfg.Concurrency) == 0 {
		cfg.Concurrency = []int{1, 2, 4, 8, 16, 32, 64}
	}
	if cfg.StepDuration == 0 {
		cfg.StepDuration = 5 * time.Second
	}
	return &Ramper{t: t, cfg: cfg, res: RampResult{Best: -1}}
}

// Done reports whether the ramp has stopped.
func (r *Ramper) Done() bool { return r.done }

// Step runs the next step and decides whether the ramp stops there.
func (r *Ramper) Step(ctx context.Context) error {
	if r.done {
		return nil
	}
	c := r.cfg.Concurrency[len(r.res.Steps)]
	rec := NewRecorder()
	elapsed, err := RunClosed(ctx, r.t, rec, ClosedConfig{
		Workload: r.cfg.Workload, Concurrency: c, Duration: r.cfg.StepDuration,
		Name: fmt.Sprintf("%s-c%d", r.cfg.Name, c),
	})
	if err != nil {
		r.done = true
		return err
	}
	s := rec.Summary()
	step := Step{Concurrency: c, Throughput: float64(s.Writes()) / elapsed.Seconds(), P99: s.MutatingP99(), Summary: s}
	if n := s.Requests(); n > 0 {
		step.ErrorRate = float64(s.Errors()) / float64(n)
	}
	r.res.Steps = append(r.res.Steps, step)
	r.cfg.Logger.Info("ramp step", "phase", r.cfg.Name, "concurrency", c,
		"writes_per_s", fmt.Sprintf("%.0f", step.Throughput),
		"mutating_p99_ms", fmt.Sprintf("%.1f", Ms(step.P99)), "errors", s.Errors())
	if stop, why := RampVerdict(r.res.Steps, r.cfg.Rules); stop {
		r.res.StopReason, r.done = why, true
	} else if len(r.res.Steps) == len(r.cfg.Concurrency) {
		r.res.StopReason, r.done = fmt.Sprintf("reached the highest concurrency tried (%d)", c), true
	}
	r.res.Best = BestStep(r.res.Steps, r.cfg.Rules)
	return nil
}

// Result is the ramp so far.
func (r *Ramper) Result() RampResult { return r.res }

// Ramp runs closed-loop steps at cfg.Concurrency until RampVerdict stops
// it or the list ends, and picks the best sustainable step.
func Ramp(ctx context.Context, t Target, cfg RampConfig) (RampResult, error) {
	r := NewRamper(t, cfg)
	for !r.Done() {
		if err := r.Step(ctx); err != nil {
			return r.Result(), err
		}
	}
	return r.Result(), nil
}
