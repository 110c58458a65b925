package etcdtest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

// Binary is the etcd server the harness runs (Debian package etcd-server).
const Binary = "/usr/bin/etcd"

// startTimeout bounds how long StartCluster and Restart wait for health.
const startTimeout = 60 * time.Second

// Cluster is a running set of etcd member processes.
type Cluster struct {
	t       testing.TB
	token   string
	mu      sync.Mutex
	members []*member
	stopped bool
}

// StartCluster starts a cluster of the given number of members and returns
// once it is healthy. It fails the test if the cluster cannot start and
// skips it when /usr/bin/etcd is not installed. Call it from the test's
// goroutine.
func StartCluster(t testing.TB, members int) *Cluster {
	t.Helper()
	if members < 1 {
		t.Fatalf("etcdtest: a cluster needs at least one member, got %d", members)
	}
	if _, err := os.Stat(Binary); err != nil {
		t.Skipf("etcdtest needs the etcd server binary %s (apt-get install etcd-server): %v", Binary, err)
	}
	root := t.TempDir()
	c := &Cluster{t: t, token: "tug-etcdtest-" + randomHex(8)}
	// Registered after t.TempDir, so it runs before the directory is
	// removed: no process is left writing into a deleted directory.
	t.Cleanup(c.cleanup)

	began := time.Now()
	var lastErr error
	// Free ports are picked by binding port 0 and releasing it; another
	// process can grab one before etcd binds it. Such a start is retried
	// from scratch with new ports and directories.
	for attempt := 0; attempt < 3; attempt++ {
		ports, err := freePorts(2 * members)
		if err != nil {
			t.Fatalf("etcdtest: %v", err)
		}
		c.members = newMembers(filepath.Join(root, fmt.Sprintf("attempt-%d", attempt)), ports, members)
		if lastErr = c.startAll(); lastErr == nil {
			t.Logf("etcdtest: %d-member etcd cluster healthy in %s at %s", members, time.Since(began).Round(time.Millisecond), strings.Join(c.Endpoints(), ","))
			return c
		}
		portClash := c.anyLogContains("address already in use")
		c.killAll()
		if !portClash {
			break
		}
	}
	c.logMembers()
	t.Fatalf("etcdtest: starting a %d-member cluster: %v", members, lastErr)
	return nil
}

func (c *Cluster) startAll() error {
	initial := c.initialCluster()
	for _, m := range c.members {
		if err := m.start(c.token, initial); err != nil {
			return err
		}
	}
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	return c.waitHealthy(ctx)
}

func (c *Cluster) initialCluster() string {
	parts := make([]string, len(c.members))
	for i, m := range c.members {
		parts[i] = m.name + "=" + m.peerURL
	}
	return strings.Join(parts, ",")
}

// Size is the number of members, running or not.
func (c *Cluster) Size() int { return len(c.members) }

// Endpoints are the client URLs of every member, running or not, as a
// client that should fail over between them is configured.
func (c *Cluster) Endpoints() []string {
	eps := make([]string, len(c.members))
	for i, m := range c.members {
		eps[i] = m.clientURL
	}
	return eps
}

// Endpoint is the client URL of member i.
func (c *Cluster) Endpoint(i int) string { return c.member(i).clientURL }

// PID is the process id of member i, or 0 when it is not running.
func (c *Cluster) PID(i int) int {
	c.mu.Lock()
	defer c.mu.Unlock()
	return c.member(i).pid()
}

// Kill sends SIGKILL to member i's process and waits for it to exit. Killing
// a member that is not running does nothing. Kill may be called from any
// goroutine; a failure is reported with t.Errorf.
func (c *Cluster) Kill(i int) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if err := c.member(i).kill(); err != nil {
		c.t.Errorf("etcdtest: killing member %d: %v", i, err)
	}
}

// Restart starts member i again on its data directory and ports (killing it
// first if it still runs) and waits until the cluster is healthy with it.
// Call it from the test's goroutine.
func (c *Cluster) Restart(i int) {
	c.t.Helper()
	c.mu.Lock()
	m := c.member(i)
	if c.stopped {
		c.mu.Unlock()
		c.t.Fatalf("etcdtest: Restart(%d) after Stop", i)
	}
	err := m.kill()
	if err == nil {
		err = m.start(c.token, c.initialCluster())
	}
	c.mu.Unlock()
	if err == nil {
		ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
		defer cancel()
		err = c.waitHealthy(ctx)
	}
	if err != nil {
		c.logMember(m)
		c.t.Fatalf("etcdtest: restarting member %d: %v", i, err)
	}
}

// Stop kills every member. It is idempotent and also runs at cleanup.
func (c *Cluster) Stop() {
	c.mu.Lock()
	c.stopped = true
	c.mu.Unlock()
	c.killAll()
}

func (c *Cluster) cleanup() {
	c.Stop()
	if c.t.Failed() {
		c.logMembers()
	}
}

func (c *Cluster) killAll() {
	c.mu.Lock()
	defer c.mu.Unlock()
	for i, m := range c.members {
		if err := m.kill(); err != nil {
			c.t.Errorf("etcdtest: killing member %d: %v", i, err)
		}
	}
}

func (c *Cluster) member(i int) *member {
	if i < 0 || i >= len(c.members) {
		panic(fmt.Sprintf("etcdtest: member index %d out of range [0,%d)", i, len(c.members)))
	}
	return c.members[i]
}

// running returns the members whose process is alive.
func (c *Cluster) running() []*member {
	c.mu.Lock()
	defer c.mu.Unlock()
	var out []*member
	for _, m := range c.members {
		if m.alive() {
			out = append(out, m)
		}
	}
	return out
}

func (c *Cluster) anyLogContains(s string) bool {
	for _, m := range c.members {
		if b, err := os.ReadFile(m.logPath); err == nil && strings.Contains(string(b), s) {
			return true
		}
	}
	return false
}

// logLines is how much of each member's log a failing test shows.
const logLines = 40

func (c *Cluster) logMembers() {
	for _, m := range c.members {
		c.logMember(m)
	}
}

func (c *Cluster) logMember(m *member) {
	b, err := os.ReadFile(m.logPath)
	if err != nil {
		c.t.Logf("etcdtest: %s: no log: %v", m.name, err)
		return
	}
	lines := strings.Split(strings.TrimRight(string(b), "\n"), "\n")
	if len(lines) > logLines {
		lines = lines[len(lines)-logLines:]
	}
	c.t.Logf("etcdtest: last %d lines of %s:\n%s", len(lines), m.logPath, strings.Join(lines, "\n"))
}

func randomHex(n int) string {
	b := make([]byte, n)
	if _, err := rand.Read(b); err != nil {
		panic(err) // crypto/rand does not fail on Linux
	}
	return hex.EncodeToString(b)
}

// errExited marks a member whose process ended while it was awaited.
var errExited = errors.New("etcd process exited")
