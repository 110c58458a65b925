package lbtest

import (
	"bufio"
	"context"
	"encoding/json"
	"io"
	"os"
	"os/exec"
	"slices"
	"sync"
	"testing"
	"time"
)

// LoopSummary is what a looping client reports when stopped.
type LoopSummary struct {
	// OK and Failed count the connections of all phases.
	OK       int            `json:"ok"`
	Failed   int            `json:"failed"`
	FirstErr string         `json:"first_err,omitempty"`
	Replies  map[string]int `json:"replies"`
	// Phases are the counts per phase: the first starts with the client,
	// each Loop.NextPhase starts another.
	Phases []PhaseCount `json:"phases"`
}

// PhaseCount is one phase of a looping client.
type PhaseCount struct {
	OK     int `json:"ok"`
	Failed int `json:"failed"`
	// Slowest is the longest connect + request + response.
	Slowest time.Duration `json:"slowest"`
}

// loopEvent is one line of a looping client's output: progress while it
// runs, its summary last.
type loopEvent struct {
	Progress *loopProgress `json:"progress,omitempty"`
	Summary  *LoopSummary  `json:"summary,omitempty"`
}

// loopProgress says phase has had OK successful connections. It is printed
// at a phase's first success and every progressEvery-th: often enough to
// wait on, rarely enough not to slow the loop.
type loopProgress struct {
	Phase int `json:"phase"`
	OK    int `json:"ok"`
}

const progressEvery = 50

// Loop is a running "tcp-loop" client.
type Loop struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	done  chan struct{} // closed when the client's output ends

	mu      sync.Mutex
	ok      []int         // successful connections per phase, as last reported
	changed chan struct{} // closed, and replaced, at each progress report
	summary *LoopSummary
	other   []string // output lines that are no event
}

// StartLoop starts a client connecting to addr over and over, one GET per
// connection, until Stop. Its output is read as it comes, so the client
// never waits for the test.
func (c Client) StartLoop(t testing.TB, addr string) *Loop {
	t.Helper()
	cmd := c.command(context.Background(), t, "tcp-loop", addr)
	l := &Loop{cmd: cmd, done: make(chan struct{}), changed: make(chan struct{})}
	stdout, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if l.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	go l.read(stdout)
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill() // the process this test started, by PID
			<-l.done
			cmd.Wait()
		}
	})
	return l
}

func (l *Loop) read(stdout io.Reader) {
	defer close(l.done)
	sc := bufio.NewScanner(stdout)
	for sc.Scan() {
		var ev loopEvent
		err := json.Unmarshal(sc.Bytes(), &ev)
		l.mu.Lock()
		switch {
		case err == nil && ev.Progress != nil:
			for len(l.ok) <= ev.Progress.Phase {
				l.ok = append(l.ok, 0)
			}
			l.ok[ev.Progress.Phase] = ev.Progress.OK
			close(l.changed)
			l.changed = make(chan struct{})
		case err == nil && ev.Summary != nil:
			l.summary = ev.Summary
		default:
			l.other = append(l.other, sc.Text())
		}
		l.mu.Unlock()
	}
}

// reached reports whether phase has had n successful connections, and the
// channel that is closed at the next report.
func (l *Loop) reached(phase, n int) (bool, <-chan struct{}) {
	l.mu.Lock()
	defer l.mu.Unlock()
	return phase < len(l.ok) && l.ok[phase] >= n, l.changed
}

// WaitPhase waits until phase (0 for the first) has had at least n
// successful connections. Progress is reported at the first and every
// 50th, so it returns at the first report of n or more.
func (l *Loop) WaitPhase(t testing.TB, phase, n int) {
	t.Helper()
	timeout := time.After(time.Minute)
	for {
		ok, changed := l.reached(phase, n)
		if ok {
			return
		}
		select {
		case <-changed:
		case <-l.done:
			if ok, _ := l.reached(phase, n); !ok {
				t.Fatalf("loop client ended before phase %d had %d successful connections", phase, n)
			}
		case <-timeout:
			l.mu.Lock()
			got := slices.Clone(l.ok)
			l.mu.Unlock()
			t.Fatalf("phase %d did not get %d successful connections in a minute (per phase so far: %v)", phase, n, got)
		}
	}
}

// NextPhase makes the loop count into a new phase.
func (l *Loop) NextPhase(t testing.TB) {
	t.Helper()
	if _, err := io.WriteString(l.stdin, "next\n"); err != nil {
		t.Fatalf("start the loop client's next phase: %v", err)
	}
}

// Stop ends the loop and returns its summary.
func (l *Loop) Stop(t testing.TB) LoopSummary {
	t.Helper()
	l.stdin.Close()
	<-l.done
	if err := l.cmd.Wait(); err != nil {
		t.Fatalf("loop client: %v", err)
	}
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.summary == nil {
		t.Fatalf("loop client printed no summary (other output: %q)", l.other)
	}
	return *l.summary
}

// tcpLoop is the looping client: it connects to addr over and over, one
// GET per connection, until its stdin ends; each line read from stdin
// starts a new phase.
func tcpLoop(addr string, out *json.Encoder) error {
	next := make(chan struct{}, 16)
	stop := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			next <- struct{}{}
		}
		close(stop)
	}()
	s := LoopSummary{Phases: []PhaseCount{{}}, Replies: map[string]int{}}
	for {
		select {
		case <-stop:
			return out.Encode(loopEvent{Summary: &s})
		case <-next:
			s.Phases = append(s.Phases, PhaseCount{})
		default:
		}
		phase := len(s.Phases) - 1
		cur := &s.Phases[phase]
		r := tcpOnce(addr)
		cur.Slowest = max(cur.Slowest, r.Elapsed)
		if r.Err != "" {
			cur.Failed++
			s.Failed++
			if s.FirstErr == "" {
				s.FirstErr = r.Err
			}
			continue
		}
		cur.OK++
		s.OK++
		s.Replies[r.Reply]++
		if cur.OK == 1 || cur.OK%progressEvery == 0 {
			if err := out.Encode(loopEvent{Progress: &loopProgress{Phase: phase, OK: cur.OK}}); err != nil {
				return err
			}
		}
	}
}
