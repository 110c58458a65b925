package apilatency

import (
	"fmt"
	"math"
	"slices"
	"sync"
	"time"
)

// Op names one kind of request the workload makes.
type Op string

const (
	OpCreate Op = "create"
	OpUpdate Op = "update"
	OpDelete Op = "delete"
	OpGet    Op = "get"
	OpList   Op = "list"
)

// Ops lists every Op in report order.
func Ops() []Op { return []Op{OpCreate, OpUpdate, OpDelete, OpGet, OpList} }

// Mutating lists the Ops that write.
func Mutating() []Op { return []Op{OpCreate, OpUpdate, OpDelete} }

// Recorder collects the latency of every request by Op. It is safe for
// concurrent use.
type Recorder struct {
	mu       sync.Mutex
	samples  map[Op][]time.Duration
	errors   map[Op]int
	firstErr error
}

// NewRecorder returns an empty Recorder.
func NewRecorder() *Recorder {
	return &Recorder{samples: map[Op][]time.Duration{}, errors: map[Op]int{}}
}

// Observe records one request of op that took d and ended with err.
// Failed requests are counted, not timed.
func (r *Recorder) Observe(op Op, d time.Duration, err error) {
	r.mu.Lock()
	defer r.mu.Unlock()
	if err != nil {
		r.errors[op]++
		if r.firstErr == nil {
			r.firstErr = fmt.Errorf("%s: %w", op, err)
		}
		return
	}
	r.samples[op] = append(r.samples[op], d)
}

// Summary is the outcome of one phase, per Op.
type Summary struct {
	Ops map[Op]OpSummary
	// FirstErr is the first failed request, if any.
	FirstErr error
}

// OpSummary describes the requests of one Op.
type OpSummary struct {
	Count  int // successful requests
	Errors int
	P50    time.Duration
	P99    time.Duration
	Max    time.Duration
}

// Summary computes percentiles over everything recorded so far.
func (r *Recorder) Summary() Summary {
	r.mu.Lock()
	defer r.mu.Unlock()
	s := Summary{Ops: map[Op]OpSummary{}, FirstErr: r.firstErr}
	for _, op := range Ops() {
		d := slices.Clone(r.samples[op])
		slices.Sort(d)
		s.Ops[op] = OpSummary{
			Count:  len(d),
			Errors: r.errors[op],
			P50:    Percentile(d, 50),
			P99:    Percentile(d, 99),
			Max:    Percentile(d, 100),
		}
	}
	return s
}

// Writes is the number of successful mutating requests.
func (s Summary) Writes() int {
	n := 0
	for _, op := range Mutating() {
		n += s.Ops[op].Count
	}
	return n
}

// Errors is the number of failed requests of any Op.
func (s Summary) Errors() int {
	n := 0
	for _, o := range s.Ops {
		n += o.Errors
	}
	return n
}

// Requests is the number of requests of any Op, failed or not.
func (s Summary) Requests() int {
	n := 0
	for _, o := range s.Ops {
		n += o.Count + o.Errors
	}
	return n
}

// MutatingP99 is the worst p99 among the mutating Ops.
func (s Summary) MutatingP99() time.Duration {
	var worst time.Duration
	for _, op := range Mutating() {
		worst = max(worst, s.Ops[op].P99)
	}
	return worst
}

// Percentile is the nearest-rank p-th percentile (0 < p <= 100) of sorted
// durations: the smallest sample that at least p% of the samples do not
// exceed. It is 0 for no samples.
func Percentile(sorted []time.Duration, p float64) time.Duration {
	if len(sorted) == 0 {
		return 0
	}
	rank := int(math.Ceil(p / 100 * float64(len(sorted))))
	return sorted[min(max(rank, 1), len(sorted))-1]
}

// Ms converts a duration to fractional milliseconds, the unit reported.
func Ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }
