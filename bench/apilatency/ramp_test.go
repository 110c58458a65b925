package apilatency

import (
	"strings"
	"testing"
	"time"
)

func step(c int, tput float64, p99ms int, errRate float64) Step {
	return Step{Concurrency: c, Throughput: tput, P99: time.Duration(p99ms) * time.Millisecond, ErrorRate: errRate}
}

func TestRampVerdict(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []Step
		stop  bool
		why   string // a substring of the reason
	}{
		{"no steps", nil, false, ""},
		{"first step fine", []Step{step(1, 100, 5, 0)}, false, ""},
		{"growing", []Step{step(1, 100, 5, 0), step(2, 180, 6, 0)}, false, ""},
		{"grew 20% goes on", []Step{step(1, 100, 5, 0), step(2, 120, 6, 0)}, false, ""},
		{"one flat step goes on", []Step{step(1, 100, 5, 0), step(2, 105, 6, 0)}, false, ""},
		{"two flat steps stop", []Step{step(1, 100, 5, 0), step(2, 105, 6, 0), step(4, 108, 7, 0)}, true, "2 steps in a row"},
		{"a noisy dip then growth goes on", []Step{step(1, 300, 5, 0), step(2, 200, 6, 0), step(4, 400, 9, 0)}, false, ""},
		{"fell twice stops", []Step{step(1, 100, 5, 0), step(2, 300, 6, 0), step(4, 250, 9, 0), step(8, 240, 12, 0)}, true, "stopped growing"},
		{"compared with the best, not the previous", []Step{step(1, 300, 5, 0), step(2, 200, 6, 0), step(4, 320, 9, 0)}, true, "stopped growing"},
		{"p99 exploded", []Step{step(1, 100, 5, 0), step(2, 400, 1500, 0)}, true, "over the 1s limit"},
		{"errors", []Step{step(1, 100, 5, 0), step(2, 400, 6, 0.05)}, true, "failed"},
		{"p99 limit on the first step", []Step{step(1, 10, 2000, 0)}, true, "limit"},
	} {
		stop, why := RampVerdict(tc.steps, RampRules{})
		if stop != tc.stop || !strings.Contains(why, tc.why) {
			t.Errorf("%s: RampVerdict = %v, %q; want %v, containing %q", tc.name, stop, why, tc.stop, tc.why)
		}
	}
}

func TestBestStep(t *testing.T) {
	for _, tc := range []struct {
		name  string
		steps []Step
		want  int
	}{
		{"none", nil, -1},
		{"highest throughput", []Step{step(1, 100, 5, 0), step(2, 180, 6, 0), step(4, 170, 12, 0)}, 1},
		{"skips unsustainable p99", []Step{step(1, 100, 5, 0), step(2, 500, 1200, 0)}, 0},
		{"skips errors", []Step{step(1, 100, 5, 0), step(2, 500, 10, 0.5)}, 0},
		{"nothing sustainable", []Step{step(1, 100, 5000, 0)}, -1},
	} {
		if got := BestStep(tc.steps, RampRules{}); got != tc.want {
			t.Errorf("%s: BestStep = %d, want %d", tc.name, got, tc.want)
		}
	}
}
