package ctrltest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"fmt"
	"io"
	"log/slog"
	"net/http"
	"net/netip"
	"os"
	"sort"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tug-sh/tug/control/apiserver/apitest"
	"github.com/tug-sh/tug/control/controller/manager"
	"github.com/tug-sh/tug/control/hollow"
)

// Logger returns a logger for test output: debug logs with TUG_TEST_LOG=debug,
// warnings and errors otherwise.
func Logger(t testing.TB) *slog.Logger {
	level := slog.LevelWarn
	if os.Getenv("TUG_TEST_LOG") == "debug" {
		level = slog.LevelDebug
	} else if os.Getenv("TUG_TEST_LOG") == "info" {
		level = slog.LevelInfo
	}
	w := &testWriter{t: t}
	t.Cleanup(w.stop)
	return slog.New(slog.NewTextHandler(w, &slog.HandlerOptions{Level: level}))
}

// testWriter logs through t until the test's cleanup, then drops output
// (goroutines winding down must not log after the test ended).
type testWriter struct {
	mu      sync.Mutex
	t       testing.TB
	stopped bool
}

func (w *testWriter) stop() {
	w.mu.Lock()
	w.stopped = true
	w.mu.Unlock()
}

func (w *testWriter) Write(p []byte) (int, error) {
	w.mu.Lock()
	defer w.mu.Unlock()
	if !w.stopped {
		w.t.Log(strings.TrimRight(string(p), "\n"))
	}
	return len(p), nil
}

// Cluster is an API server with hollow nodes and controllers.
type Cluster struct {
	Env    *apitest.Env
	Client kubernetes.Interface
	// Stream is a client without an overall request timeout, for watches
	// that must outlive Client's 30s timeout.
	Stream kubernetes.Interface
	Nodes  []*hollow.Node
	t      testing.TB
}

// Start starts an API server (embedded etcd) for the test.
func Start(t testing.TB, opts ...apitest.Option) *Cluster {
	t.Helper()
	return Attach(t, apitest.Start(t, opts...))
}

// Attach wraps an already started API server.
func Attach(t testing.TB, env *apitest.Env) *Cluster {
	t.Helper()
	cfg := rest.CopyConfig(env.Config)
	client, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("building a client: %v", err)
	}
	cfg = rest.CopyConfig(cfg)
	cfg.Timeout = 0
	stream, err := kubernetes.NewForConfig(cfg)
	if err != nil {
		t.Fatalf("building a streaming client: %v", err)
	}
	return &Cluster{Env: env, Client: client, Stream: stream, t: t}
}

// Name returns a name unique to this run: prefix-<random>.
func Name(prefix string) string {
	b := make([]byte, 4)
	_, _ = rand.Read(b)
	return prefix + "-" + hex.EncodeToString(b)
}

// NodeOptions shape AddNodes.
type NodeOptions struct {
	CPU, Memory string
	Pods        int64
	Heartbeat   time.Duration
	// CIDRBase is the first pod CIDR (a /24), the next nodes get the
	// following /24s; zero: 10.200.0.0/24. Ignored when NoPodCIDR.
	CIDRBase  netip.Prefix
	NoPodCIDR bool
	Workers   int
	// SharedWatch runs the nodes as a hollow.Fleet over one pod watch.
	SharedWatch bool
}

// AddNodes starts n hollow nodes named prefix-000, prefix-001, ...; they
// stop when the test ends.
func (c *Cluster) AddNodes(ctx context.Context, prefix string, n int, o NodeOptions) []*hollow.Node {
	c.t.Helper()
	base := o.CIDRBase
	if !base.IsValid() {
		base = netip.MustParsePrefix("10.200.0.0/24")
	}
	cfgs := make([]hollow.Config, n)
	for i := range cfgs {
		cfg := hollow.Config{
			Client: c.Client, Name: fmt.Sprintf("%s-%03d", prefix, i),
			CPU: o.CPU, Memory: o.Memory, Pods: o.Pods, HeartbeatInterval: o.Heartbeat, Workers: o.Workers,
			Logger: Logger(c.t),
		}
		if !o.NoPodCIDR {
			a := base.Addr().As4()
			idx := int(a[2]) + i
			a[1] += byte(idx / 256)
			a[2] = byte(idx % 256)
			cfg.PodCIDR = netip.PrefixFrom(netip.AddrFrom4(a), 24)
		}
		cfgs[i] = cfg
	}
	var out []*hollow.Node
	if o.SharedWatch {
		f, err := hollow.StartFleet(ctx, c.Client, cfgs)
		if err != nil {
			c.t.Fatalf("starting hollow fleet: %v", err)
		}
		c.t.Cleanup(f.Stop)
		out = f.Nodes
	} else {
		for _, cfg := range cfgs {
			node, err := hollow.Start(ctx, cfg)
			if err != nil {
				c.t.Fatalf("starting hollow node %s: %v", cfg.Name, err)
			}
			c.t.Cleanup(node.Stop)
			out = append(out, node)
		}
	}
	c.Nodes = append(c.Nodes, out...)
	return out
}

// RunControllers runs the manager's controllers (no election) until the
// test ends. opts.Config defaults to the cluster's API server.
func (c *Cluster) RunControllers(opts manager.Options) {
	c.t.Helper()
	c.t.Cleanup(c.StartControllers(opts))
}

// StartControllers runs the controllers until the returned stop is called
// (which waits for them to stop and fails the test if they failed).
func (c *Cluster) StartControllers(opts manager.Options) (stop func()) {
	c.t.Helper()
	if opts.Config == nil {
		opts.Config = c.Env.Config
	}
	if opts.Logger == nil {
		opts.Logger = Logger(c.t)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- manager.RunControllers(ctx, opts) }()
	var once sync.Once
	return func() {
		once.Do(func() {
			cancel()
			if err := <-done; err != nil {
				c.t.Errorf("controllers: %v", err)
			}
		})
	}
}

// Namespace creates a namespace with a unique name.
func (c *Cluster) Namespace(ctx context.Context, prefix string) string {
	c.t.Helper()
	name := Name(prefix)
	_, err := c.Client.CoreV1().Namespaces().Create(ctx, &v1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: name}}, metav1.CreateOptions{})
	if err != nil {
		c.t.Fatalf("creating namespace %s: %v", name, err)
	}
	return name
}

// Eventually polls cond every interval until it returns true or timeout
// passes; then it fails the test with cond's last message.
func Eventually(t testing.TB, timeout time.Duration, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(timeout)
	var msg string
	for {
		var ok bool
		ok, msg = cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("condition not met within %v: %s", timeout, msg)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// Pods lists the pods of ns matching the label selector.
func (c *Cluster) Pods(ctx context.Context, ns, selector string) []v1.Pod {
	c.t.Helper()
	l, err := c.Client.CoreV1().Pods(ns).List(ctx, metav1.ListOptions{LabelSelector: selector})
	if err != nil {
		c.t.Fatalf("listing pods: %v", err)
	}
	sort.Slice(l.Items, func(i, j int) bool { return l.Items[i].Name < l.Items[j].Name })
	return l.Items
}

// Events lists the events about one object.
func (c *Cluster) Events(ctx context.Context, ns, kind, name string) []v1.Event {
	c.t.Helper()
	sel := fields.Set{"involvedObject.name": name, "involvedObject.kind": kind}.AsSelector().String()
	l, err := c.Client.CoreV1().Events(ns).List(ctx, metav1.ListOptions{FieldSelector: sel})
	if err != nil {
		c.t.Fatalf("listing events: %v", err)
	}
	return l.Items
}

// RC returns a ReplicationController of busybox pods labeled app=name.
func RC(ns, name string, replicas int32) *v1.ReplicationController {
	labels := map[string]string{"app": name}
	return &v1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: name},
		Spec: v1.ReplicationControllerSpec{
			Replicas: &replicas,
			Selector: labels,
			Template: &v1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: labels},
				Spec: v1.PodSpec{Containers: []v1.Container{{
					Name: "main", Image: "busybox",
					Ports: []v1.ContainerPort{{Name: "http", ContainerPort: 8080}},
				}}},
			},
		},
	}
}

// CPUTime returns the CPU time (user + system) this process has used: the
// benchmarks report CPU per operation, which other load on the machine
// does not inflate the way it inflates wall time.
func CPUTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}

// Requests returns how many requests with this HTTP verb (POST, PUT, ...)
// on this resource the API server has served, from its /metrics.
func (c *Cluster) Requests(verb, resource string) int {
	c.t.Helper()
	resp, err := http.Get(c.Env.URL + "/metrics")
	if err != nil {
		c.t.Fatalf("reading metrics: %v", err)
	}
	defer resp.Body.Close()
	body, err := io.ReadAll(resp.Body)
	if err != nil {
		c.t.Fatalf("reading metrics: %v", err)
	}
	total := 0
	for _, line := range strings.Split(string(body), "\n") {
		if !strings.HasPrefix(line, "apiserver_request_total{") ||
			!strings.Contains(line, `verb="`+verb+`"`) || !strings.Contains(line, `resource="`+resource+`"`) ||
			!strings.Contains(line, `subresource=""`) {
			continue
		}
		var n float64
		if _, err := fmt.Sscan(line[strings.LastIndex(line, " ")+1:], &n); err == nil {
			total += int(n)
		}
	}
	return total
}
