package manager_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tug-sh/tug/control/apiserver/apitest"
	"github.com/tug-sh/tug/control/controller/internal/ctrltest"
	"github.com/tug-sh/tug/control/controller/manager"
	"github.com/tug-sh/tug/control/storage"
	"github.com/tug-sh/tug/control/storage/etcdtest"
)

// server is one `tug server`: an API server and a manager contending for
// leadership, each with its own etcd client.
type server struct {
	env    *apitest.Env
	store  *storage.Etcd
	mgr    *manager.Manager
	cancel context.CancelFunc
	done   chan error
	once   sync.Once
}

// stop ends the server's manager and waits for it.
func (s *server) stop(t *testing.T) {
	s.once.Do(func() {
		s.cancel()
		if err := <-s.done; err != nil {
			t.Errorf("manager: %v", err)
		}
	})
}

// podLedger records, from a watch, every pod ever created and every node
// each pod was bound to.
type podLedger struct {
	mu      sync.Mutex
	created map[types.UID]string
	nodes   map[types.UID][]string
}

func (l *podLedger) follow(w watch.Interface) {
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*v1.Pod)
		if !ok {
			continue
		}
		l.mu.Lock()
		if ev.Type == watch.Added {
			l.created[p.UID] = p.Name
		}
		if n := p.Spec.NodeName; n != "" {
			seen := l.nodes[p.UID]
			if len(seen) == 0 || seen[len(seen)-1] != n {
				l.nodes[p.UID] = append(seen, n)
			}
		}
		l.mu.Unlock()
	}
}

func (l *podLedger) counts() (created int, rebound []string) {
	l.mu.Lock()
	defer l.mu.Unlock()
	for uid, nodes := range l.nodes {
		if len(nodes) > 1 {
			rebound = append(rebound, fmt.Sprintf("%s bound to %v", l.created[uid], nodes))
		}
	}
	return len(l.created), rebound
}

// TestHighAvailability runs three servers over a three-member etcd, each
// with a manager contending for the controllers. The leader is stopped in
// the middle of scaling an RC up (gracefully: it resigns), then the next
// leader is cut off from etcd in the middle of another scale-up (a crash:
// its lease must expire). Each time another server takes over within
// seconds and the RC converges exactly once: no pod created beyond the
// replicas, no pod bound twice.
func TestHighAvailability(t *testing.T) {
	ctx := context.Background()
	cluster := etcdtest.StartCluster(t, 3)
	dial := func() *storage.Etcd {
		st, err := storage.Dial(ctx, storage.EtcdConfig{Endpoints: cluster.Endpoints()})
		if err != nil {
			t.Fatal(err)
		}
		t.Cleanup(func() { _ = st.Close() })
		return st
	}
	// An observer server (no manager) serves the hollow nodes and the test.
	c := ctrltest.Attach(t, apitest.Start(t, apitest.WithStore(dial())))

	servers := make([]*server, 3)
	for i := range servers {
		st := dial()
		env := apitest.Start(t, apitest.WithStore(st))
		m, err := manager.New(manager.Options{
			Config:        env.Config,
			Controllers:   []string{"scheduler", "replication"},
			Identity:      fmt.Sprintf("server-%d", i),
			LeaseDuration: 2 * time.Second,
			Logger:        ctrltest.Logger(t).With("server", i),
		}, manager.ElectorFrom(st.Elect))
		if err != nil {
			t.Fatal(err)
		}
		mctx, cancel := context.WithCancel(ctx)
		s := &server{env: env, store: st, mgr: m, cancel: cancel, done: make(chan error, 1)}
		go func() { s.done <- m.Run(mctx) }()
		t.Cleanup(func() { s.stop(t) })
		servers[i] = s
	}
	leader := func() (int, string) {
		idx, n := -1, 0
		for i, s := range servers {
			if s.mgr.IsLeader() {
				idx, n = i, n+1
			}
		}
		return idx, fmt.Sprintf("%d leaders", n)
	}
	waitLeader := func(exclude ...int) int {
		var l int
		ctrltest.Eventually(t, 15*time.Second, func() (bool, string) {
			var msg string
			l, msg = leader()
			for _, x := range exclude {
				if l == x {
					return false, fmt.Sprintf("server %d still leads", x)
				}
			}
			return l >= 0, msg
		})
		return l
	}

	c.AddNodes(ctx, ctrltest.Name("node"), 3, ctrltest.NodeOptions{Heartbeat: time.Second, Workers: 4})
	ns := c.Namespace(ctx, "ha")
	ledger := &podLedger{created: map[types.UID]string{}, nodes: map[types.UID][]string{}}
	w, err := c.Stream.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(w.Stop)
	go ledger.follow(w)

	first := waitLeader()
	t.Logf("server-%d leads", first)
	rcs := c.Client.CoreV1().ReplicationControllers(ns)
	if _, err := rcs.Create(ctx, ctrltest.RC(ns, "ha", 150), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	stopMidScale := func(what string, atLeast int, stop func()) {
		ctrltest.Eventually(t, 15*time.Second, func() (bool, string) {
			n, _ := ledger.counts()
			return n >= atLeast, fmt.Sprintf("%d pods created", n)
		})
		n, _ := ledger.counts()
		stop()
		t.Logf("%s at %d pods created", what, n)
	}

	// 1. Graceful: the leader's process stops.
	stopMidScale(fmt.Sprintf("stopped server-%d", first), 20, func() {
		servers[first].stop(t)
	})
	began := time.Now()
	second := waitLeader(first)
	t.Logf("server-%d took over %v after server-%d stopped", second, time.Since(began).Round(time.Millisecond), first)
	waitRunning(t, ctx, c, ns, "ha", 150)

	// 2. Crash: the new leader loses etcd in the middle of a scale-up.
	patch := []byte(`{"spec":{"replicas":300}}`)
	if _, err := rcs.Patch(ctx, "ha", types.MergePatchType, patch, metav1.PatchOptions{}, "scale"); err != nil {
		t.Fatal(err)
	}
	var crashed time.Time
	stopMidScale(fmt.Sprintf("cut server-%d off etcd", second), 170, func() {
		_ = servers[second].store.Close()
		crashed = time.Now()
	})
	third := waitLeader(first, second)
	t.Logf("server-%d took over %v after server-%d lost etcd", third, time.Since(crashed).Round(time.Millisecond), second)
	waitRunning(t, ctx, c, ns, "ha", 300)

	time.Sleep(2 * time.Second) // room for a late duplicate to show
	created, rebound := ledger.counts()
	if created != 300 {
		t.Errorf("%d pods created in total, want exactly 300 (a leader change duplicated work)", created)
	}
	if len(rebound) > 0 {
		t.Errorf("pods bound twice: %v", rebound)
	}
	for i, s := range servers {
		t.Logf("server-%d led %d term(s)", i, s.mgr.Terms())
	}
}
