package storage_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/tug-sh/tug/control/storage"
	"github.com/tug-sh/tug/control/storage/etcdtest"
)

// electionTTL is short so failovers are quick; etcd's minimum lease for
// its default election timeout is 2s anyway.
const electionTTL = 2 * time.Second

// hang turns a missing outcome into a failure; it is not a latency goal.
const hang = 60 * time.Second

// backends runs fn against an embedded member and a 3-member cluster of
// Debian's etcd, both reached over the network as separate processes of
// `tug server` would reach them.
func backends(t *testing.T, fn func(t *testing.T, endpoints []string, stopAll func())) {
	t.Run("embedded", func(t *testing.T) {
		m := startEmbedded(t)
		fn(t, m.Endpoints, m.Close)
	})
	t.Run("external", func(t *testing.T) {
		c := etcdtest.StartCluster(t, 3)
		fn(t, c.Endpoints(), c.Stop)
	})
}

func dialed(t *testing.T, endpoints []string) *storage.Etcd {
	st := dial(t, endpoints)
	t.Cleanup(func() { st.Close() })
	return st
}

func waitDone(t *testing.T, l *storage.Leadership, what string) {
	t.Helper()
	select {
	case <-l.Done():
	case <-time.After(hang):
		t.Fatalf("%s: Done not closed within %s", what, hang)
	}
}

func isDone(l *storage.Leadership) bool {
	select {
	case <-l.Done():
		return true
	default:
		return false
	}
}

func wantLeader(t *testing.T, st *storage.Etcd, name, want string) {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), hang)
	defer cancel()
	got, err := st.Leader(ctx, name)
	if err != nil || got != want {
		t.Fatalf("Leader(%s) = %q, %v; want %q", name, got, err, want)
	}
}

func electionName() string {
	return fmt.Sprintf("test-%d", time.Now().UnixNano())
}

// Three contenders take turns; whoever holds the office is alone in it.
func TestElectionOneLeaderAtATime(t *testing.T) {
	backends(t, func(t *testing.T, endpoints []string, _ func()) {
		name := electionName()
		observer := dialed(t, endpoints)
		const contenders, rounds = 3, 4
		var mu sync.Mutex
		holder, terms := "", 0
		errs := make(chan error, contenders)
		var wg sync.WaitGroup
		for i := range contenders {
			st := dialed(t, endpoints)
			id := fmt.Sprintf("server-%d", i)
			wg.Add(1)
			go func() {
				defer wg.Done()
				ctx, cancel := context.WithTimeout(context.Background(), hang)
				defer cancel()
				for range rounds {
					l, err := st.Elect(ctx, name, id, electionTTL)
					if err != nil {
						errs <- fmt.Errorf("%s: Elect: %w", id, err)
						return
					}
					mu.Lock()
					if holder != "" {
						errs <- fmt.Errorf("%s elected while %s leads", id, holder)
					}
					holder = id
					terms++
					mu.Unlock()
					if got, err := observer.Leader(ctx, name); err != nil || got != id {
						errs <- fmt.Errorf("Leader = %q, %v while %s leads", got, err, id)
					}
					if isDone(l) {
						errs <- fmt.Errorf("%s: Done closed while leading: %v", id, l.Err())
					}
					mu.Lock()
					holder = ""
					mu.Unlock()
					if err := l.Resign(ctx); err != nil {
						errs <- fmt.Errorf("%s: Resign: %w", id, err)
					}
					if !isDone(l) || !errors.Is(l.Err(), storage.ErrResigned) {
						errs <- fmt.Errorf("%s: after Resign Done closed=%v, Err=%v", id, isDone(l), l.Err())
					}
				}
			}()
		}
		wg.Wait()
		close(errs)
		for err := range errs {
			t.Error(err)
		}
		if terms != contenders*rounds {
			t.Fatalf("%d terms served, want %d", terms, contenders*rounds)
		}
		ctx, cancel := context.WithTimeout(context.Background(), hang)
		defer cancel()
		if id, err := observer.Leader(ctx, name); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("after everyone resigned Leader = %q, %v; want ErrNotFound", id, err)
		}
	})
}

// The leader process is SIGKILLed: the next contender takes over once the
// dead leader's lease expires. That one then loses its etcd client
// (a process cut off from etcd): its Done closes, and before the third
// contender is elected.
func TestElectionFailover(t *testing.T) {
	backends(t, func(t *testing.T, endpoints []string, _ func()) {
		name := electionName()
		observer := dialed(t, endpoints)
		killed := startContender(t, endpoints, name, "server-a")
		wantLeader(t, observer, name, "server-a")

		type result struct {
			l   *storage.Leadership
			err error
			at  time.Time
		}
		elect := func(st *storage.Etcd, id string) <-chan result {
			ch := make(chan result, 1)
			go func() {
				ctx, cancel := context.WithTimeout(context.Background(), hang)
				defer cancel()
				l, err := st.Elect(ctx, name, id, electionTTL)
				ch <- result{l, err, time.Now()}
			}()
			return ch
		}
		stB, err := storage.Dial(context.Background(), storage.EtcdConfig{Endpoints: endpoints})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { stB.Close() })
		b := elect(stB, "server-b")
		waitCandidates(t, endpoints, name, 2)
		c := elect(dialed(t, endpoints), "server-c")
		waitCandidates(t, endpoints, name, 3)
		select {
		case r := <-b:
			t.Fatalf("server-b elected while server-a lives: %v", r.err)
		default:
		}

		killedAt := killed()
		rb := <-b
		if rb.err != nil {
			t.Fatalf("server-b: %v", rb.err)
		}
		t.Logf("failover after SIGKILL of the leader: %s (ttl %s)", rb.at.Sub(killedAt).Round(time.Millisecond), electionTTL)
		wantLeader(t, observer, name, "server-b")
		select {
		case r := <-c:
			t.Fatalf("server-c elected while server-b leads: %v", r.err)
		default:
		}

		// server-b's process loses etcd: no more renewals, no revocation.
		cutAt := time.Now()
		stB.Close()
		rc := <-c
		if rc.err != nil {
			t.Fatalf("server-c: %v", rc.err)
		}
		if !isDone(rb.l) {
			t.Fatal("server-c was elected while server-b's Done was still open")
		}
		if !errors.Is(rb.l.Err(), storage.ErrLeadershipLost) {
			t.Fatalf("server-b's Err = %v, want ErrLeadershipLost", rb.l.Err())
		}
		t.Logf("failover after the leader lost etcd: %s", rc.at.Sub(cutAt).Round(time.Millisecond))
		wantLeader(t, observer, name, "server-c")
		if err := rc.l.Resign(context.Background()); err != nil {
			t.Fatal(err)
		}
	})
}

// When etcd itself goes away the leader learns it within the TTL.
func TestLeadershipLostWhenEtcdStops(t *testing.T) {
	backends(t, func(t *testing.T, endpoints []string, stopAll func()) {
		st := dialed(t, endpoints)
		ctx, cancel := context.WithTimeout(context.Background(), hang)
		defer cancel()
		l, err := st.Elect(ctx, electionName(), "server-a", electionTTL)
		if err != nil {
			t.Fatal(err)
		}
		doneAt := make(chan time.Time, 1)
		go func() { <-l.Done(); doneAt <- time.Now() }()
		stopping := time.Now()
		stopAll()
		stopped := time.Now()
		waitDone(t, l, "after etcd stopped")
		if !errors.Is(l.Err(), storage.ErrLeadershipLost) {
			t.Fatalf("Err = %v, want ErrLeadershipLost", l.Err())
		}
		t.Logf("Done %s after etcd began stopping, which took %s (ttl %s): %v", (<-doneAt).Sub(stopping).Round(time.Millisecond),
			stopped.Sub(stopping).Round(time.Millisecond), electionTTL, l.Err())
		if err := l.Resign(ctx); err != nil {
			t.Fatalf("Resign after loss: %v", err)
		}
	})
}

// Deleting the office key (an operator, a revoked lease) deposes the leader
// at once: with a 60s TTL, Done closing well within the test's limit can
// only come from the key watch.
func TestLeadershipLostWhenKeyDeleted(t *testing.T) {
	backends(t, func(t *testing.T, endpoints []string, _ func()) {
		st := dialed(t, endpoints)
		name := electionName()
		ctx, cancel := context.WithTimeout(context.Background(), hang)
		defer cancel()
		l, err := st.Elect(ctx, name, "server-a", time.Minute)
		if err != nil {
			t.Fatal(err)
		}
		defer l.Resign(ctx)
		cli := rawClient(t, endpoints)
		resp, err := cli.Delete(ctx, "/tug/elections/"+name+"/", clientv3.WithPrefix())
		if err != nil || resp.Deleted != 1 {
			t.Fatalf("deleting the election key: %v, deleted %d", err, resp.Deleted)
		}
		select {
		case <-l.Done():
		case <-time.After(30 * time.Second):
			t.Fatal("Done not closed 30s after the key was deleted (ttl 60s)")
		}
		if !errors.Is(l.Err(), storage.ErrLeadershipLost) || !strings.Contains(l.Err().Error(), "deleted") {
			t.Fatalf("Err = %v, want a deleted key", l.Err())
		}
	})
}

// A campaign abandoned through its context leaves no candidacy behind.
func TestElectCancelled(t *testing.T) {
	backends(t, func(t *testing.T, endpoints []string, _ func()) {
		st := dialed(t, endpoints)
		name := electionName()
		ctx, cancel := context.WithTimeout(context.Background(), hang)
		defer cancel()
		a, err := st.Elect(ctx, name, "server-a", electionTTL)
		if err != nil {
			t.Fatal(err)
		}
		bctx, bcancel := context.WithCancel(ctx)
		berr := make(chan error, 1)
		go func() {
			_, err := dialed(t, endpoints).Elect(bctx, name, "server-b", electionTTL)
			berr <- err
		}()
		waitCandidates(t, endpoints, name, 2)
		bcancel()
		if err := <-berr; !errors.Is(err, context.Canceled) {
			t.Fatalf("cancelled Elect: %v, want context.Canceled", err)
		}
		waitCandidates(t, endpoints, name, 1)
		if err := a.Resign(ctx); err != nil {
			t.Fatal(err)
		}
		if id, err := st.Leader(ctx, name); !errors.Is(err, storage.ErrNotFound) {
			t.Fatalf("Leader after the only leader resigned = %q, %v; want ErrNotFound", id, err)
		}
	})
}

func TestElectInvalid(t *testing.T) {
	m := startEmbedded(t)
	ctx := context.Background()
	for _, c := range []struct {
		name, id string
		ttl      time.Duration
	}{
		{"", "a", time.Minute},
		{"a/b", "a", time.Minute},
		{"ok", "", time.Minute},
		{"ok", "a", 500 * time.Millisecond},
	} {
		if _, err := m.Store.Elect(ctx, c.name, c.id, c.ttl); !errors.Is(err, storage.ErrInvalid) {
			t.Errorf("Elect(%q, %q, %s) = %v, want ErrInvalid", c.name, c.id, c.ttl, err)
		}
	}
}

func rawClient(t *testing.T, endpoints []string) *clientv3.Client {
	cli, err := clientv3.New(clientv3.Config{Endpoints: endpoints, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

// waitCandidates waits until the election has n campaign keys: the
// contenders queued, so their order is known.
func waitCandidates(t *testing.T, endpoints []string, name string, n int64) {
	t.Helper()
	cli := rawClient(t, endpoints)
	deadline := time.Now().Add(hang)
	for {
		ctx, cancel := context.WithTimeout(context.Background(), 5*time.Second)
		resp, err := cli.Get(ctx, "/tug/elections/"+name+"/", clientv3.WithPrefix(), clientv3.WithCountOnly())
		cancel()
		if err == nil && resp.Count == n {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("election %s never had %d candidates (last: %v)", name, n, err)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

// startContender runs a contender in a child process (this test binary,
// see TestMain) and returns once it is elected. The returned function
// SIGKILLs it by PID and returns when it did.
func startContender(t *testing.T, endpoints []string, name, id string) (kill func() time.Time) {
	t.Helper()
	cmd := exec.Command(os.Args[0])
	cmd.Env = append(os.Environ(),
		contenderEnv+"="+strings.Join([]string{strings.Join(endpoints, ","), name, id, electionTTL.String()}, " "))
	cmd.Stderr = os.Stderr
	cmd.SysProcAttr = &syscall.SysProcAttr{Pdeathsig: syscall.SIGKILL}
	stdin, err := cmd.StdinPipe()
	if err != nil {
		t.Fatal(err)
	}
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	exited := make(chan struct{})
	go func() { cmd.Wait(); close(exited) }()
	kill = func() time.Time {
		at := time.Now()
		cmd.Process.Kill()
		<-exited
		return at
	}
	t.Cleanup(func() { stdin.Close(); kill() })
	line, err := bufio.NewReader(out).ReadString('\n')
	if err != nil || line != "elected "+id+"\n" {
		t.Fatalf("contender %s: %q, %v", id, line, err)
	}
	return kill
}

const contenderEnv = "TUG_STORAGE_TEST_CONTENDER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(contenderEnv); spec != "" {
		runContender(spec)
		return
	}
	m.Run()
}

// runContender is the child process of startContender: it campaigns,
// announces its election on stdout and leads until killed or until its
// parent goes away (stdin closes).
func runContender(spec string) {
	f := strings.Fields(spec)
	ttl, _ := time.ParseDuration(f[3])
	ctx := context.Background()
	st, err := storage.Dial(ctx, storage.EtcdConfig{Endpoints: strings.Split(f[0], ",")})
	if err != nil {
		fmt.Fprintln(os.Stderr, "contender:", err)
		return
	}
	l, err := st.Elect(ctx, f[1], f[2], ttl)
	if err != nil {
		fmt.Fprintln(os.Stderr, "contender:", err)
		return
	}
	fmt.Printf("elected %s\n", f[2])
	parentGone := make(chan struct{})
	go func() { bufio.NewReader(os.Stdin).ReadString('\n'); close(parentGone) }()
	select {
	case <-l.Done():
	case <-parentGone:
		l.Resign(ctx)
	}
	st.Close()
}
