package apilatency

import (
	"errors"
	"testing"
	"time"
)

func TestPercentile(t *testing.T) {
	ms := func(v ...int) []time.Duration {
		out := make([]time.Duration, len(v))
		for i, x := range v {
			out[i] = time.Duration(x) * time.Millisecond
		}
		return out
	}
	hundred := make([]time.Duration, 100)
	for i := range hundred {
		hundred[i] = time.Duration(i+1) * time.Millisecond
	}
	for _, tc := range []struct {
		name   string
		sorted []time.Duration
		p      float64
		want   time.Duration
	}{
		{"empty", nil, 99, 0},
		{"one sample", ms(7), 50, 7 * time.Millisecond},
		{"one sample p99", ms(7), 99, 7 * time.Millisecond},
		{"median of four is the second", ms(1, 2, 3, 4), 50, 2 * time.Millisecond},
		{"p99 of 100 is the 99th", hundred, 99, 99 * time.Millisecond},
		{"p100 is the max", hundred, 100, 100 * time.Millisecond},
		{"p99 of 10 is the max", ms(1, 2, 3, 4, 5, 6, 7, 8, 9, 10), 99, 10 * time.Millisecond},
		{"tiny p is the min", ms(3, 4, 5), 0.1, 3 * time.Millisecond},
	} {
		if got := Percentile(tc.sorted, tc.p); got != tc.want {
			t.Errorf("%s: Percentile(p=%g) = %s, want %s", tc.name, tc.p, got, tc.want)
		}
	}
}

func TestRecorderSummary(t *testing.T) {
	r := NewRecorder()
	for _, d := range []int{5, 1, 3, 2, 4} {
		r.Observe(OpCreate, time.Duration(d)*time.Millisecond, nil)
	}
	r.Observe(OpUpdate, 9*time.Millisecond, nil)
	boom := errors.New("boom")
	r.Observe(OpDelete, time.Hour, boom)
	r.Observe(OpGet, time.Millisecond, nil)
	s := r.Summary()
	c := s.Ops[OpCreate]
	if c.Count != 5 || c.P50 != 3*time.Millisecond || c.P99 != 5*time.Millisecond || c.Max != 5*time.Millisecond {
		t.Errorf("create summary = %+v", c)
	}
	if d := s.Ops[OpDelete]; d.Count != 0 || d.Errors != 1 || d.P99 != 0 {
		t.Errorf("a failed request must be counted, not timed: %+v", d)
	}
	if s.Writes() != 6 || s.Errors() != 1 || s.Requests() != 8 {
		t.Errorf("writes, errors, requests = %d, %d, %d; want 6, 1, 8", s.Writes(), s.Errors(), s.Requests())
	}
	if s.MutatingP99() != 9*time.Millisecond {
		t.Errorf("MutatingP99 = %s, want the update's 9ms", s.MutatingP99())
	}
	if !errors.Is(s.FirstErr, boom) {
		t.Errorf("FirstErr = %v, want boom", s.FirstErr)
	}
}
