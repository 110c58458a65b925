package main

import (
	"encoding/json"
	"fmt"
	"io"
	"os"
	"strings"
	"sync"
	"time"
)

// progress prints what the run is doing, with elapsed times and estimates
// from the previous run's durations.
type progress struct {
	mu      sync.Mutex
	w       io.Writer
	start   time.Time
	prev    map[string]float64 // seconds by invocation command, from the last run
	partial map[string]string  // unfinished output line by test
	current string             // the benchmark running now
	since   time.Time
}

func newProgress(w io.Writer, prev map[string]float64) *progress {
	return &progress{w: w, start: time.Now(), prev: prev, partial: map[string]string{}}
}

// loadPrevious reads the invocation durations of the run recorded in file
// (latest.json); a missing or unreadable file gives no estimates.
func loadPrevious(file string) map[string]float64 {
	out := map[string]float64{}
	b, err := os.ReadFile(file)
	if err != nil {
		return out
	}
	var r Run
	if json.Unmarshal(b, &r) != nil {
		return out
	}
	for _, s := range r.Suites {
		for _, inv := range s.Invocations {
			if inv.Error == "" {
				out[inv.Command] = inv.Elapsed
			}
		}
	}
	return out
}

func (p *progress) printf(format string, args ...any) {
	p.mu.Lock()
	defer p.mu.Unlock()
	p.printfLocked(format, args...)
}

func (p *progress) printfLocked(format string, args ...any) {
	fmt.Fprintf(p.w, "[benchrun %s] %s\n", fmtDuration(time.Since(p.start)), fmt.Sprintf(format, args...))
}

// estimate is the previous duration of a command, if known.
func (p *progress) estimate(command string) (time.Duration, bool) {
	s, ok := p.prev[command]
	return time.Duration(s * float64(time.Second)), ok
}

// event shows a go test event: which benchmark starts, and its output
// lines (logs, results, skips), indented.
func (p *progress) event(e event) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if e.Test == "" {
		return
	}
	switch e.Action {
	case "run":
		p.current, p.since = e.Test, time.Now()
	case "output":
		text := p.partial[e.Test] + e.Output
		for {
			line, rest, ok := strings.Cut(text, "\n")
			if !ok {
				break
			}
			text = rest
			if show(line, e.Test) {
				fmt.Fprintf(p.w, "    %s\n", line)
			}
		}
		p.partial[e.Test] = text
	}
}

// show leaves out go test's own bookkeeping lines and debug logs.
func show(line, test string) bool {
	t := strings.TrimSpace(line)
	return t != "" && t != test && !strings.HasPrefix(t, "=== ") && !isDebug(line)
}

// text shows a line of output that is not a test event (go's own errors).
func (p *progress) text(line string) {
	p.mu.Lock()
	defer p.mu.Unlock()
	fmt.Fprintf(p.w, "    | %s\n", line)
}

// heartbeat says what is still running; called periodically.
func (p *progress) heartbeat(suite string, deadline time.Time) {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.current == "" {
		return
	}
	p.printfLocked("%s: still running %s (%s so far; suite budget left %s)", suite, p.current,
		fmtDuration(time.Since(p.since)), fmtDuration(time.Until(deadline)))
}

func (p *progress) idle() {
	p.mu.Lock()
	p.current = ""
	p.mu.Unlock()
}

func fmtDuration(d time.Duration) string {
	if d < 0 {
		d = 0
	}
	return d.Round(time.Second).String()
}
