package agent_test

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"io"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/client-go/kubernetes"

	"github.com/tug-sh/tug/control/apiserver/apitest"
	"github.com/tug-sh/tug/runtime/agent"
	"github.com/tug-sh/tug/runtime/agent/agenttest"
	"github.com/tug-sh/tug/runtime/image/imagebuild"
	"github.com/tug-sh/tug/runtime/image/imagetest"
)

// indexHTML is what the test image's httpd serves.
const indexHTML = "hello from a tug pod\n"

// testCtx bounds a test's waits so a hang fails rather than blocks; it is
// not a timed assertion.
func testCtx(t testing.TB, d time.Duration) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), d)
	t.Cleanup(cancel)
	return ctx
}

// cluster is an API server with an image registry holding the busybox
// image.
type cluster struct {
	api   *apitest.Env
	image string // registry/busybox:1
	host  string // the registry
}

func newCluster(t testing.TB) *cluster {
	t.Helper()
	agenttest.RequireRoot(t)
	env := apitest.Start(t)
	host := imagetest.StartRegistry(t)
	img := imagetest.MustBusyboxImage(t, imagebuild.BusyboxOptions{IndexHTML: indexHTML})
	ref := imagetest.Push(t, host, "busybox:1", img)
	return &cluster{api: env, image: ref, host: host}
}

func (c *cluster) client() kubernetes.Interface { return c.api.Client }

// node is a running agent whose "node" network is a namespace of the
// test's own (bridge, veths and pod routes never touch the machine's).
type node struct {
	t      testing.TB
	cfg    agent.Config
	agent  *agent.Agent
	cancel context.CancelFunc
	done   chan error
	netns  string
	dir    string
}

// nodeOption adjusts a node's configuration.
type nodeOption func(*agent.Config)

// newNode starts an agent for a new node of c. Cleanup stops it and
// removes everything it created with agent.Reset, then checks nothing is
// left.
func newNode(t testing.TB, c *cluster, opts ...nodeOption) *node {
	t.Helper()
	nd := agenttest.NewNode(t, c.api.Config)
	cfg, dir, ns := nd.Config, nd.Dir, nd.NetnsPath
	for _, o := range opts {
		o(&cfg)
	}
	n := &node{t: t, cfg: cfg, netns: ns, dir: dir}
	t.Cleanup(func() {
		n.stop()
		agenttest.ResetNode(t, cfg, dir, ns)
	})
	n.start()
	return n
}

// start runs a new Agent on the node's configuration.
func (n *node) start() {
	n.t.Helper()
	a, err := agent.New(n.cfg)
	if err != nil {
		n.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	n.agent, n.cancel, n.done = a, cancel, make(chan error, 1)
	go func() { n.done <- a.Run(ctx) }()
}

// stop stops the agent (containers keep running).
func (n *node) stop() {
	if n.cancel == nil {
		return
	}
	n.cancel()
	select {
	case err := <-n.done:
		if err != nil {
			n.t.Errorf("agent Run: %v", err)
		}
	case <-time.After(time.Minute):
		n.t.Errorf("agent did not stop within a minute")
	}
	n.cancel = nil
}

// url is the agent's HTTP API.
func (n *node) url(t testing.TB) string {
	t.Helper()
	ctx := testCtx(t, time.Minute)
	for n.agent.Port() == 0 {
		select {
		case <-ctx.Done():
			t.Fatal("the agent never listened")
		case <-time.After(10 * time.Millisecond):
		}
	}
	return fmt.Sprintf("http://127.0.0.1:%d", n.agent.Port())
}

// inNetns runs fn on a thread switched into the namespace at path.
func inNetns(path string, fn func() error) error {
	errc := make(chan error, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			errc <- err
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(path)
		if err != nil {
			errc <- err
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			errc <- err
			return
		}
		ferr := fn()
		if err := netns.Set(orig); err != nil {
			errc <- errors.Join(ferr, err)
			return
		}
		runtime.UnlockOSThread()
		errc <- ferr
	}()
	return <-errc
}

// httpGetIn fetches url from inside the namespace at nsPath.
func httpGetIn(ctx context.Context, nsPath, url string) (string, error) {
	tr := &http.Transport{DisableKeepAlives: true, DialContext: func(ctx context.Context, network, addr string) (net.Conn, error) {
		var conn net.Conn
		err := inNetns(nsPath, func() error {
			var d net.Dialer
			var err error
			conn, err = d.DialContext(ctx, network, addr)
			return err
		})
		return conn, err
	}}
	req, err := http.NewRequestWithContext(ctx, http.MethodGet, url, nil)
	if err != nil {
		return "", err
	}
	res, err := (&http.Client{Transport: tr}).Do(req)
	if err != nil {
		return "", err
	}
	defer res.Body.Close()
	b, err := io.ReadAll(res.Body)
	if res.StatusCode != http.StatusOK {
		return string(b), fmt.Errorf("GET %s: %s", url, res.Status)
	}
	return string(b), err
}

// pod is a test pod bound to node (no scheduler needed).
func (n *node) pod(name string, containers ...v1.Container) *v1.Pod {
	grace := int64(5)
	return &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1.PodSpec{
			NodeName:                      n.cfg.NodeName,
			Containers:                    containers,
			TerminationGracePeriodSeconds: &grace,
		},
	}
}

// busybox is a container of the test image running a shell script.
func (c *cluster) busybox(name, script string) v1.Container {
	return v1.Container{Name: name, Image: c.image, Command: []string{"sh", "-c", script}}
}

func createPod(t testing.TB, c *cluster, pod *v1.Pod) *v1.Pod {
	t.Helper()
	out, err := c.client().CoreV1().Pods(pod.Namespace).Create(context.Background(), pod, metav1.CreateOptions{})
	if err != nil {
		t.Fatalf("create pod %s: %v", pod.Name, err)
	}
	return out
}

// waitPod polls the pod until ok says it is as wanted; it fails the test
// when ctx ends, showing the pod's last status.
func waitPod(t testing.TB, ctx context.Context, c *cluster, ns, name, what string, ok func(*v1.Pod) bool) *v1.Pod {
	t.Helper()
	var last *v1.Pod
	for {
		p, err := c.client().CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if err == nil {
			last = p
			if ok(p) {
				return p
			}
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pod %s/%s: waiting for %s: %v\nlast status: %s\nevents:\n%s", ns, name, what, err, statusString(last), events(c, ns, name))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

// waitGone waits until the pod is no longer in the API.
func waitGone(t testing.TB, ctx context.Context, c *cluster, ns, name string) {
	t.Helper()
	for {
		_, err := c.client().CoreV1().Pods(ns).Get(ctx, name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("pod %s/%s was never removed: %v\nevents:\n%s", ns, name, err, events(c, ns, name))
		case <-time.After(100 * time.Millisecond):
		}
	}
}

func running(p *v1.Pod) bool {
	if p.Status.Phase != v1.PodRunning {
		return false
	}
	for _, cs := range p.Status.ContainerStatuses {
		if cs.State.Running == nil {
			return false
		}
	}
	return len(p.Status.ContainerStatuses) == len(p.Spec.Containers)
}

func ready(p *v1.Pod) bool {
	for _, c := range p.Status.Conditions {
		if c.Type == v1.PodReady {
			return c.Status == v1.ConditionTrue
		}
	}
	return false
}

func containerStatus(p *v1.Pod, name string) v1.ContainerStatus {
	for _, cs := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
		if cs.Name == name {
			return cs
		}
	}
	return v1.ContainerStatus{}
}

func statusString(p *v1.Pod) string {
	if p == nil {
		return "<none>"
	}
	var b strings.Builder
	fmt.Fprintf(&b, "phase=%s ip=%s", p.Status.Phase, p.Status.PodIP)
	for _, cs := range append(slices.Clone(p.Status.InitContainerStatuses), p.Status.ContainerStatuses...) {
		fmt.Fprintf(&b, "\n  %s: restarts=%d ready=%v state=%s last=%s", cs.Name, cs.RestartCount, cs.Ready, stateString(cs.State), stateString(cs.LastTerminationState))
	}
	for _, c := range p.Status.Conditions {
		fmt.Fprintf(&b, "\n  condition %s=%s %s %s", c.Type, c.Status, c.Reason, c.Message)
	}
	return b.String()
}

func stateString(s v1.ContainerState) string {
	switch {
	case s.Running != nil:
		return "running"
	case s.Waiting != nil:
		return fmt.Sprintf("waiting(%s: %s)", s.Waiting.Reason, s.Waiting.Message)
	case s.Terminated != nil:
		return fmt.Sprintf("terminated(%d %s: %s)", s.Terminated.ExitCode, s.Terminated.Reason, s.Terminated.Message)
	}
	return "-"
}

// events lists the pod's events, one per line.
func events(c *cluster, ns, name string) string {
	list, err := c.client().CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.name", name).String(),
	})
	if err != nil {
		return err.Error()
	}
	var b strings.Builder
	for _, e := range list.Items {
		fmt.Fprintf(&b, "  %s %s %s (x%d): %s\n", e.Type, e.Reason, e.InvolvedObject.FieldPath, e.Count, e.Message)
	}
	return b.String()
}

// hasEvent reports whether the pod has an event with reason whose message
// contains substr.
func hasEvent(c *cluster, ns, name, reason, substr string) bool {
	list, err := c.client().CoreV1().Events(ns).List(context.Background(), metav1.ListOptions{
		FieldSelector: fields.OneTermEqualSelector("involvedObject.name", name).String(),
	})
	if err != nil {
		return false
	}
	for _, e := range list.Items {
		if e.Reason == reason && strings.Contains(e.Message, substr) {
			return true
		}
	}
	return false
}

// containerCgroups lists the container cgroups (below the parent).
func containerCgroups(t testing.TB, parent string) []string {
	var out []string
	for _, d := range agenttest.CgroupDirs(t, parent) {
		if filepath.Base(d) != parent {
			out = append(out, d)
		}
	}
	return out
}

// links lists the link names of a namespace.
func links(t testing.TB, nsPath string) []string {
	t.Helper()
	var names []string
	err := inNetns(nsPath, func() error {
		ls, err := netlink.LinkList()
		for _, l := range ls {
			names = append(names, l.Attrs().Name)
		}
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
	slices.Sort(names)
	return names
}

// netnsPins lists the pod namespace pins in the node's run directory.
func (n *node) netnsPins(t testing.TB) []string {
	ents, _ := os.ReadDir(filepath.Join(n.cfg.RunDir, "netns"))
	var out []string
	for _, e := range ents {
		out = append(out, e.Name())
	}
	return out
}

// readLines reads lines from r until n are read.
func readLines(r io.Reader, n int) ([]string, error) {
	sc := bufio.NewScanner(r)
	var out []string
	for len(out) < n && sc.Scan() {
		out = append(out, sc.Text())
	}
	if len(out) < n {
		return out, fmt.Errorf("read %d of %d lines: %v", len(out), n, sc.Err())
	}
	return out, nil
}
