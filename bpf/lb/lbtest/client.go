package lbtest

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"net"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"
	"time"
)

// clientEnv marks a re-executed test binary as a client; its value is the
// client's cgroup, which the client checks it was started in.
const clientEnv = "TUG_LBTEST_CLIENT_CGROUP"

// Result is one connection (or datagram exchange) as a client saw it.
type Result struct {
	// Reply is the name the backend answered with.
	Reply string `json:"reply,omitempty"`
	// Peer is the address the application sees as its peer: getpeername
	// for TCP and connected UDP, the reply's source for unconnected UDP.
	Peer string `json:"peer,omitempty"`
	// Source of the reply datagram, for UDP.
	Source string `json:"source,omitempty"`
	Err    string `json:"err,omitempty"`
	// Errno of the failure, when it was a system call's.
	Errno   syscall.Errno `json:"errno,omitempty"`
	Elapsed time.Duration `json:"elapsed"`
}

// LoopSummary is what a "tcp-loop" client reports when told to stop.
type LoopSummary struct {
	OK       int            `json:"ok"`
	Failed   int            `json:"failed"`
	FirstErr string         `json:"first_err,omitempty"`
	Replies  map[string]int `json:"replies"`
}

// Latencies is what a "latency" client reports: one duration per
// connect+request+response, alternating between the two targets.
type Latencies struct {
	VIP []time.Duration `json:"vip"`
	Pod []time.Duration `json:"pod"`
}

// Client runs client processes inside a cgroup and a network namespace.
type Client struct {
	Cgroup string
	Netns  *Netns
}

// command builds the re-executed test binary, started straight into the
// cgroup (CLONE_INTO_CGROUP), with the namespace handle as fd 3.
func (c Client) command(ctx context.Context, t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	self, err := os.Executable()
	if err != nil {
		t.Fatal(err)
	}
	cg, err := openDir(c.Cgroup)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cg.Close() })
	nsf, err := c.Netns.file()
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { nsf.Close() })
	cmd := exec.CommandContext(ctx, self, args...)
	cmd.Env = append(os.Environ(), clientEnv+"="+c.Cgroup)
	cmd.ExtraFiles = []*os.File{nsf}
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd()), Pdeathsig: syscall.SIGKILL}
	cmd.Stderr = &prefixWriter{t: t}
	return cmd
}

// Run runs a client to completion and returns what it printed on stdout.
// Modes:
//
//	tcp ADDR N               N connections, one request each: one Result per line
//	udp ADDR N connected     N exchanges over one connected socket
//	udp ADDR N unconnected   N exchanges with sendto/recvfrom
//	tcp6mapped ADDR N        as tcp, from IPv6 sockets to ::ffff:ADDR
//	udp6mapped ADDR N        as udp unconnected, from an IPv6 socket to ::ffff:ADDR
//	latency VIP POD N        N connections to each, interleaved: Latencies
func (c Client) Run(t testing.TB, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
	defer cancel()
	cmd := c.command(ctx, t, args...)
	out, err := cmd.Output()
	if err != nil {
		t.Fatalf("client %v: %v", args, err)
	}
	return out
}

// Results runs a tcp or udp client and decodes its results.
func (c Client) Results(t testing.TB, args ...string) []Result {
	t.Helper()
	var rs []Result
	for line := range strings.Lines(string(c.Run(t, args...))) {
		var r Result
		if err := json.Unmarshal([]byte(line), &r); err != nil {
			t.Fatalf("client output %q: %v", line, err)
		}
		rs = append(rs, r)
	}
	return rs
}

// Loop is a running "tcp-loop" client.
type Loop struct {
	cmd   *exec.Cmd
	stdin io.WriteCloser
	out   bytes.Buffer
}

// StartLoop starts a client connecting to addr over and over, one request
// per connection, until Stop.
func (c Client) StartLoop(t testing.TB, addr string) *Loop {
	t.Helper()
	cmd := c.command(context.Background(), t, "tcp-loop", addr)
	l := &Loop{cmd: cmd}
	cmd.Stdout = &l.out
	var err error
	if l.stdin, err = cmd.StdinPipe(); err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if cmd.ProcessState == nil {
			cmd.Process.Kill()
			cmd.Wait()
		}
	})
	return l
}

// Stop ends the loop and returns its summary.
func (l *Loop) Stop(t testing.TB) LoopSummary {
	t.Helper()
	l.stdin.Close()
	if err := l.cmd.Wait(); err != nil {
		t.Fatalf("loop client: %v", err)
	}
	var s LoopSummary
	if err := json.Unmarshal(l.out.Bytes(), &s); err != nil {
		t.Fatalf("loop client output %q: %v", l.out.String(), err)
	}
	return s
}

type prefixWriter struct{ t testing.TB }

func (w *prefixWriter) Write(p []byte) (int, error) {
	w.t.Logf("client: %s", bytes.TrimRight(p, "\n"))
	return len(p), nil
}

// ClientMain runs the client when this process is a re-executed client and
// reports whether it was one, and its exit code. Call it first in TestMain:
//
//	if ok, code := lbtest.ClientMain(); ok { os.Exit(code) }
func ClientMain() (bool, int) {
	cgroup := os.Getenv(clientEnv)
	if cgroup == "" {
		return false, 0
	}
	if err := runClient(cgroup, os.Args[1:]); err != nil {
		fmt.Fprintln(os.Stderr, "error:", err)
		return true, 1
	}
	return true, 0
}

func runClient(cgroup string, args []string) error {
	// Sockets belong to the namespace of the thread that creates them:
	// stay on one thread and move it into the test namespace.
	if err := enterNetns(); err != nil {
		return err
	}
	if err := checkCgroup(cgroup); err != nil {
		return err
	}
	if len(args) < 2 {
		return fmt.Errorf("usage: MODE ADDR ...")
	}
	out := json.NewEncoder(os.Stdout)
	switch mode, addr := args[0], args[1]; mode {
	case "tcp":
		var n int
		if _, err := fmt.Sscan(args[2], &n); err != nil {
			return err
		}
		for range n {
			if err := out.Encode(tcpOnce(addr)); err != nil {
				return err
			}
		}
	case "udp":
		var n int
		if _, err := fmt.Sscan(args[2], &n); err != nil {
			return err
		}
		for _, r := range udpExchanges(addr, n, args[3] == "connected") {
			if err := out.Encode(r); err != nil {
				return err
			}
		}
	case "tcp6mapped", "udp6mapped":
		var n int
		if _, err := fmt.Sscan(args[2], &n); err != nil {
			return err
		}
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return err
		}
		var rs []Result
		if mode == "tcp6mapped" {
			for range n {
				rs = append(rs, tcp6MappedOnce(ap))
			}
		} else {
			rs = udp6MappedExchanges(ap, n)
		}
		for _, r := range rs {
			if err := out.Encode(r); err != nil {
				return err
			}
		}
	case "tcp-loop":
		return out.Encode(tcpLoop(addr))
	case "latency":
		var n int
		if _, err := fmt.Sscan(args[3], &n); err != nil {
			return err
		}
		lat, err := latencies(addr, args[2], n)
		if err != nil {
			return err
		}
		return out.Encode(lat)
	default:
		return fmt.Errorf("unknown client mode %q", mode)
	}
	return nil
}

func checkCgroup(want string) error {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	for line := range strings.Lines(string(data)) {
		if path, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok {
			if strings.HasSuffix(want, filepath.Clean(path)) && path != "/" {
				return nil
			}
			return fmt.Errorf("client runs in cgroup %s, not in %s", path, want)
		}
	}
	return fmt.Errorf("client is in no cgroup2 cgroup: %q", data)
}

func errResult(r Result, err error) Result {
	r.Err = err.Error()
	var errno syscall.Errno
	if errors.As(err, &errno) {
		r.Errno = errno
	}
	return r
}

// tcpOnce connects, sends one line, reads the answer and closes.
func tcpOnce(addr string) Result {
	start := time.Now()
	var r Result
	c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
	if err != nil {
		r.Elapsed = time.Since(start)
		return errResult(r, err)
	}
	defer c.Close()
	r.Peer = c.RemoteAddr().String() // getpeername(2), read by Dial
	c.SetDeadline(time.Now().Add(5 * time.Second))
	if _, err := c.Write([]byte("hello\n")); err != nil {
		return errResult(r, err)
	}
	line, err := bufio.NewReader(c).ReadString('\n')
	r.Elapsed = time.Since(start)
	if err != nil {
		return errResult(r, err)
	}
	r.Reply = strings.TrimSpace(line)
	return r
}

func udpExchanges(addr string, n int, connected bool) []Result {
	var rs []Result
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return []Result{errResult(Result{}, err)}
	}
	var conn *net.UDPConn
	if connected {
		conn, err = net.DialUDP("udp4", nil, ua)
	} else {
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	}
	if err != nil {
		return []Result{errResult(Result{}, err)}
	}
	defer conn.Close()
	buf := make([]byte, 1500)
	for range n {
		start := time.Now()
		var r Result
		if connected {
			r.Peer = conn.RemoteAddr().String()
			_, err = conn.Write([]byte("hello"))
		} else {
			_, err = conn.WriteToUDP([]byte("hello"), ua)
		}
		if err != nil {
			rs = append(rs, errResult(r, err))
			continue
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		m, from, err := conn.ReadFromUDP(buf) // recvfrom(2): the source passes recvmsg4
		r.Elapsed = time.Since(start)
		if err != nil {
			rs = append(rs, errResult(r, err))
			continue
		}
		r.Reply, r.Source = string(buf[:m]), from.String()
		if !connected {
			r.Peer = r.Source
		}
		rs = append(rs, r)
	}
	return rs
}

func tcpLoop(addr string) LoopSummary {
	stop := make(chan struct{})
	go func() {
		io.Copy(io.Discard, os.Stdin)
		close(stop)
	}()
	s := LoopSummary{Replies: map[string]int{}}
	for {
		select {
		case <-stop:
			return s
		default:
		}
		r := tcpOnce(addr)
		if r.Err != "" {
			s.Failed++
			if s.FirstErr == "" {
				s.FirstErr = r.Err
			}
			continue
		}
		s.OK++
		s.Replies[r.Reply]++
	}
}

func latencies(vip, pod string, n int) (Latencies, error) {
	var l Latencies
	for i := range n {
		targets := []struct {
			addr string
			out  *[]time.Duration
		}{{vip, &l.VIP}, {pod, &l.Pod}}
		if i%2 == 1 { // neither target always goes first
			targets[0], targets[1] = targets[1], targets[0]
		}
		for _, target := range targets {
			r := tcpOnce(target.addr)
			if r.Err != "" {
				return l, fmt.Errorf("%s: %s", target.addr, r.Err)
			}
			*target.out = append(*target.out, r.Elapsed)
		}
	}
	return l, nil
}
