package lbtest

import (
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"os"
	"os/exec"
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
	// Reply is what the backend answered, white space trimmed: the body of
	// the HTTP response (TCP) or the datagram (UDP), a backend's name.
	Reply string `json:"reply,omitempty"`
	// Peer is the address the application sees as its peer: getpeername
	// for TCP and connected UDP, the reply's source for unconnected UDP.
	Peer string `json:"peer,omitempty"`
	// Source of the reply datagram, for UDP.
	Source string `json:"source,omitempty"`
	Err    string `json:"err,omitempty"`
	// Errno of the failure, when it was a system call's.
	Errno syscall.Errno `json:"errno,omitempty"`
	// Elapsed is connect + request + response.
	Elapsed time.Duration `json:"elapsed"`
}

// Latencies is what a "latency" client reports: one duration per
// connect+request+response, alternating between the two targets.
type Latencies struct {
	VIP []time.Duration `json:"vip"`
	Pod []time.Duration `json:"pod"`
}

// Client runs client processes: the test binary re-executed straight into
// Cgroup (CLONE_INTO_CGROUP, so the programs attached there or above
// translate its sockets from the first one on) and inside Netns (NewNetns
// for a namespace of the test's own, OpenNetns for an existing one such as
// a node's). The test process itself is never translated.
//
// TCP clients speak HTTP/1.0: one GET per connection, the response's body
// is the Reply. Netns.ServeTCP answers so, as does any web server whose
// page is its name (busybox httpd serving its host name).
type Client struct {
	Cgroup string
	Netns  *Netns
}

// command builds the re-executed test binary, started straight into the
// cgroup, with the namespace handle as fd 3.
func (c Client) command(ctx context.Context, t testing.TB, args ...string) *exec.Cmd {
	t.Helper()
	if c.Netns == nil {
		t.Fatal("lbtest.Client needs a Netns to run in (NewNetns or OpenNetns)")
	}
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
	// No Pdeathsig: it fires when the forking thread exits, and the Go
	// runtime retires threads left in another namespace (the agent's
	// runtime does so for every pod), which killed clients mid-test.
	// Clients end by themselves: every exchange has a deadline, a loop
	// stops when its stdin closes, and cleanup kills them by PID.
	cmd.SysProcAttr = &syscall.SysProcAttr{UseCgroupFD: true, CgroupFD: int(cg.Fd())}
	cmd.Stderr = &prefixWriter{t: t}
	return cmd
}

// Run runs a client to completion and returns what it printed on stdout.
// Modes:
//
//	tcp ADDR N               N connections, one GET each: one Result per line
//	udp ADDR N connected     N exchanges over one connected socket
//	udp ADDR N unconnected   N exchanges with sendto/recvfrom
//	tcp6mapped ADDR N        as tcp, from IPv6 sockets to ::ffff:ADDR
//	udp6mapped ADDR N        as udp unconnected, from an IPv6 socket to ::ffff:ADDR
//	latency VIP POD[,POD] N  N connections to the VIP and N straight to the
//	                         pods (in rotation), interleaved: Latencies
func (c Client) Run(t testing.TB, args ...string) []byte {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), 5*time.Minute)
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
