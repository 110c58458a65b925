package agent_test

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"strconv"
	"strings"
	"syscall"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

// svcClientEnv marks this test binary re-executed as a host-side Service
// client; its value is the cgroup the client must be running in.
const svcClientEnv = "TUG_AGENT_TEST_SVC_CLIENT"

// hostClient runs clients as processes of the node: started straight into
// a cgroup below the one the load balancer is attached to
// (CLONE_INTO_CGROUP), inside the node's network namespace (passed as fd
// 3). The test process itself is never translated.
type hostClient struct {
	cgroup string // a cgroup2 directory
	netns  string // the node's namespace (nsfs file)
}

// result is one connection or datagram exchange as a client saw it.
type result struct {
	// Reply is the body (TCP) or datagram (UDP) the backend sent: the
	// pod's host name.
	Reply string `json:"reply,omitempty"`
	// Peer is what the application sees as its peer: getpeername(2) for
	// TCP and connected UDP, the reply's source address for unconnected UDP.
	Peer  string        `json:"peer,omitempty"`
	Err   string        `json:"err,omitempty"`
	Errno syscall.Errno `json:"errno,omitempty"`
	// Elapsed is connect + request + response.
	Elapsed time.Duration `json:"elapsed"`
}

// loopSummary is what an http-loop client reports: connections per phase
// (the test starts a new phase by writing a line to its stdin).
type loopSummary struct {
	Phases   []phaseCount   `json:"phases"`
	FirstErr string         `json:"first_err,omitempty"`
	Replies  map[string]int `json:"replies"`
}

type phaseCount struct {
	OK, Failed int
	// Slowest is the longest connect + request + response.
	Slowest time.Duration
}

// latencies is what a latency client reports, alternating targets.
type latencies struct {
	VIP []time.Duration `json:"vip"`
	Pod []time.Duration `json:"pod"`
}

func (h hostClient) command(ctx context.Context, t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cg, err := os.OpenFile(h.cgroup, os.O_RDONLY|unix.O_DIRECTORY, 0)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cg.Close() })
	ns, err := os.Open(h.netns)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Env = append(os.Environ(), svcClientEnv+"="+h.cgroup)
	cmd.ExtraFiles = []*os.File{ns}
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd()), Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = testWriter{t}
	return cmd
}

// run runs a client to completion and returns its standard output.
func (h hostClient) run(t testing.TB, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
	defer cancel()
	out, err := h.command(ctx, t, args...).Output()
	if err != nil {
		t.Fatalf("client %v: %v", args, err)
	}
	return out
}

// results runs an http or udp client and decodes its results.
func (h hostClient) results(t testing.TB, args ...string) []result {
	t.Helper()
	var rs []result
	for line := range strings.Lines(string(h.run(t, args...))) {
		var r result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("client output %q: %v", line, err)
		}
		rs = append(rs, r)
	}
	return rs
}

// loop is a running http-loop client. It prints {"phase": N, "ok": K}
// when phase N has had K successful connections (K = 1, 50, 100, ...), and
// its summary last.
type loop struct {
	cmd      *exec.Cmd
	stdin    io.WriteCloser
	progress chan progress
	summary  chan []byte
}

type progress struct{ Phase, OK int }

func (h hostClient) startLoop(t testing.TB, addr string) *loop {
	t.Helper()
	l := &loop{cmd: h.command(context.Background(), t, "http-loop", addr), progress: make(chan progress, 16), summary: make(chan []byte, 1)}
	stdout, err := l.cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if l.stdin, err = l.cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := l.cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if l.cmd.ProcessState == nil {
			l.cmd.Process.Kill() // the process this test started, by PID
			l.cmd.Wait()
		}
	})
	go func() {
		defer close(l.summary)
		defer close(l.progress)
		sc := bufio.NewScanner(stdout)
		for sc.Scan() {
			var p struct{ Phase, OK *int }
			if json.Unmarshal(sc.Bytes(), &p) == nil && p.Phase != nil && p.OK != nil {
				l.progress <- progress{*p.Phase, *p.OK}
				continue
			}
			l.summary <- bytes.Clone(sc.Bytes())
		}
	}()
	return l
}

// waitPhase waits until phase has had at least n successful connections
// (n = 1 or a multiple of 50).
func (l *loop) waitPhase(t testing.TB, phase, n int) {
	t.Helper()
	ctx := testCtx(t, time.Minute)
	for {
		select {
		case p, ok := <-l.progress:
			if !ok {
				t.Fatalf("loop client ended before phase %d had %d connections", phase, n)
			}
			if p.Phase == phase && p.OK >= n {
				return
			}
		case <-ctx.Done():
			t.Fatalf("phase %d did not get %d successful connections", phase, n)
		}
	}
}

// nextPhase makes the loop count into a new phase.
func (l *loop) nextPhase(t testing.TB) {
	t.Helper()
	if _, err := io.WriteString(l.stdin, "next\n"); err != nil {
		t.Fatal(err)
	}
}

func (l *loop) stop(t testing.TB) loopSummary {
	t.Helper()
	l.stdin.Close()
	for range l.progress { // unblock the reader until the client's EOF
	}
	out := <-l.summary // nil if the client died without one
	if err := l.cmd.Wait(); err != nil {
		t.Fatalf("loop client: %v", err)
	}
	var s loopSummary
	if err := json.Unmarshal(out, &s); err != nil {
		t.Fatalf("loop client output %q: %v", out, err)
	}
	return s
}

// runSvcClient is the client process (see hostClient). Modes:
//
//	http ADDR N                  N connections with one GET each: one result per line
//	udp ADDR N connected         N exchanges over one connected socket
//	udp ADDR N unconnected       N exchanges with sendto/recvfrom
//	http-loop ADDR               GETs until stdin ends: loopSummary
//	latency VIP POD N            N GETs to each, interleaved: latencies
func runSvcClient(cgroup string, args []string) int {
	if err := svcClient(cgroup, args); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return 1
	}
	return 0
}

func svcClient(cgroup string, args []string) error {
	// Sockets belong to the namespace of the thread that creates them: one
	// thread, moved into the node's namespace, does everything.
	runtime.LockOSThread()
	if err := unix.Setns(3, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("enter the node's network namespace: %w", err)
	}
	if err := checkInCgroup(cgroup); err != nil {
		return err
	}
	if len(args) < 2 {
		return errors.New("usage: MODE ADDR ...")
	}
	out := json.NewEncoder(os.Stdout)
	mode, addr := args[0], args[1]
	count := func(i int) (int, error) {
		if len(args) <= i {
			return 0, fmt.Errorf("%s: missing count", mode)
		}
		return strconv.Atoi(args[i])
	}
	switch mode {
	case "http":
		n, err := count(2)
		if err != nil {
			return err
		}
		for range n {
			if err := out.Encode(httpOnce(addr)); err != nil {
				return err
			}
		}
	case "udp":
		n, err := count(2)
		if err != nil || len(args) < 4 {
			return fmt.Errorf("udp ADDR N connected|unconnected: %v", err)
		}
		for _, r := range udpExchanges(addr, n, args[3] == "connected") {
			if err := out.Encode(r); err != nil {
				return err
			}
		}
	case "http-loop":
		return out.Encode(httpLoop(addr))
	case "latency":
		n, err := count(3)
		if err != nil {
			return err
		}
		l, err := measureLatencies(addr, args[2], n)
		if err != nil {
			return err
		}
		return out.Encode(l)
	default:
		return fmt.Errorf("unknown client mode %q", mode)
	}
	return nil
}

// checkInCgroup makes sure the client runs where the programs translate.
func checkInCgroup(want string) error {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	for line := range strings.Lines(string(data)) {
		if path, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok {
			if path != "/" && strings.HasSuffix(want, filepath.Clean(path)) {
				return nil
			}
			return fmt.Errorf("client runs in cgroup %s, not in %s", path, want)
		}
	}
	return fmt.Errorf("client is in no cgroup2 cgroup: %q", data)
}

func failed(r result, err error) result {
	r.Err = err.Error()
	var errno syscall.Errno
	if errors.As(err, &errno) {
		r.Errno = errno
	}
	return r
}

// httpOnce connects, sends one GET and reads the whole response (HTTP/1.0:
// the server closes).
func httpOnce(addr string) result {
	start := time.Now()
	var r result
	c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
	if err != nil {
		r.Elapsed = time.Since(start)
		return failed(r, err)
	}
	defer c.Close()
	r.Peer = c.RemoteAddr().String() // getpeername(2), read by Dial
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := io.WriteString(c, "GET / HTTP/1.0\r\n\r\n"); err != nil {
		return failed(r, err)
	}
	res, err := http.ReadResponse(bufio.NewReader(c), nil)
	if err != nil {
		return failed(r, err)
	}
	body, err := io.ReadAll(res.Body)
	res.Body.Close()
	r.Elapsed = time.Since(start)
	if err != nil {
		return failed(r, err)
	}
	if res.StatusCode != http.StatusOK {
		return failed(r, fmt.Errorf("GET: %s", res.Status))
	}
	r.Reply = strings.TrimSpace(string(body))
	return r
}

func udpExchanges(addr string, n int, connected bool) []result {
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return []result{failed(result{}, err)}
	}
	var conn *net.UDPConn
	if connected {
		conn, err = net.DialUDP("udp4", nil, ua)
	} else {
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	}
	if err != nil {
		return []result{failed(result{}, err)}
	}
	defer conn.Close()
	var rs []result
	buf := make([]byte, 1500)
	for range n {
		start := time.Now()
		var r result
		if connected {
			r.Peer = conn.RemoteAddr().String()
			_, err = conn.Write([]byte("hello"))
		} else {
			_, err = conn.WriteToUDP([]byte("hello"), ua)
		}
		if err != nil {
			rs = append(rs, failed(r, err))
			continue
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		m, from, err := conn.ReadFromUDP(buf) // the source passes recvmsg4
		r.Elapsed = time.Since(start)
		if err != nil {
			rs = append(rs, failed(r, err))
			continue
		}
		r.Reply = strings.TrimSpace(string(buf[:m]))
		if !connected {
			r.Peer = from.String()
		} else if from.String() != r.Peer {
			r.Err = fmt.Sprintf("reply from %s on a socket connected to %s", from, r.Peer)
		}
		rs = append(rs, r)
	}
	return rs
}

func httpLoop(addr string) loopSummary {
	phase := make(chan struct{}, 16)
	stop := make(chan struct{})
	go func() {
		sc := bufio.NewScanner(os.Stdin)
		for sc.Scan() {
			phase <- struct{}{}
		}
		close(stop)
	}()
	s := loopSummary{Phases: []phaseCount{{}}, Replies: map[string]int{}}
	for {
		select {
		case <-stop:
			return s
		case <-phase:
			s.Phases = append(s.Phases, phaseCount{})
		default:
		}
		cur := &s.Phases[len(s.Phases)-1]
		r := httpOnce(addr)
		cur.Slowest = max(cur.Slowest, r.Elapsed)
		if r.Err != "" {
			cur.Failed++
			if s.FirstErr == "" {
				s.FirstErr = r.Err
			}
			continue
		}
		cur.OK++
		if cur.OK == 1 || cur.OK%50 == 0 {
			fmt.Printf("{\"phase\": %d, \"ok\": %d}\n", len(s.Phases)-1, cur.OK)
		}
		s.Replies[r.Reply]++
	}
}

func measureLatencies(vip, pod string, n int) (latencies, error) {
	var l latencies
	for i := range n {
		targets := []struct {
			addr string
			out  *[]time.Duration
		}{{vip, &l.VIP}, {pod, &l.Pod}}
		if i%2 == 1 { // neither target always goes first
			targets[0], targets[1] = targets[1], targets[0]
		}
		for _, target := range targets {
			r := httpOnce(target.addr)
			if r.Err != "" {
				return l, fmt.Errorf("%s: %s", target.addr, r.Err)
			}
			*target.out = append(*target.out, r.Elapsed)
		}
	}
	return l, nil
}
