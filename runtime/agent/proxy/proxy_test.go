package proxy_test

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/kubernetes"

	"github.com/tug-sh/tug/bpf/lb"
	"github.com/tug-sh/tug/bpf/lb/lbtest"
	"github.com/tug-sh/tug/control/apiserver/apitest"
	"github.com/tug-sh/tug/runtime/agent/proxy"
)

// env is an API server, a private BPF filesystem, a cgroup of the test's
// own to attach to (never the root) and a network namespace standing in
// for the node's.
type env struct {
	t      *testing.T
	client kubernetes.Interface
	cfg    proxy.Config
	netns  netns.NsHandle
}

func newEnv(t *testing.T) *env {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN) for BPF, cgroups and namespaces")
	}
	if err := lb.CheckKernel(); err != nil {
		if errors.Is(err, lb.ErrNoBTF) || errors.Is(err, lb.ErrNoSockAddrHooks) {
			t.Skipf("needs kernel support: %v", err)
		}
		t.Fatal(err)
	}
	root, err := lb.Cgroup2Root()
	if err != nil {
		t.Skipf("needs cgroup2: %v", err)
	}
	api := apitest.Start(t)
	bpffs := lbtest.BPFFS(t)
	e := &env{t: t, client: api.Client}
	path, h := newNetns(t)
	e.netns = h
	e.cfg = proxy.Config{
		RestConfig:  api.Config,
		NodeName:    lbtest.UniqueName("node-"),
		ServiceCIDR: proxy.DefaultServiceCIDR,
		HostNetns:   path,
		LB:          lb.Config{BPFFS: bpffs, PinDir: bpffs + "/tug", Cgroup: lbtest.Cgroup(t, root)},
		Logger:      testLogger(t),
	}
	t.Cleanup(func() {
		if err := lb.Reset(e.cfg.LB); err != nil {
			t.Errorf("cleanup: reset the load balancer: %v", err)
		}
	})
	return e
}

// newNetns creates a network namespace and names it by a /proc path to
// its handle (what Config.HostNetns takes); it goes away in cleanup.
func newNetns(t *testing.T) (string, netns.NsHandle) {
	t.Helper()
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		t.Fatal(err)
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		t.Fatalf("create network namespace: %v", err)
	}
	if err := netns.Set(orig); err != nil {
		runtime.LockOSThread() // the thread is stuck in the new namespace: let it die
		t.Fatal(err)
	}
	t.Cleanup(func() { ns.Close() })
	return fmt.Sprintf("/proc/%d/fd/%d", os.Getpid(), int(ns)), ns
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// running is a Proxy.Run in progress.
type running struct {
	p      *proxy.Proxy
	cancel context.CancelFunc
	done   chan error
}

func (e *env) start() *running {
	e.t.Helper()
	p, err := proxy.New(e.cfg)
	if err != nil {
		e.t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	r := &running{p: p, cancel: cancel, done: make(chan error, 1)}
	go func() { r.done <- p.Run(ctx) }()
	e.t.Cleanup(func() { r.stop(e.t) })
	return r
}

func (r *running) stop(t *testing.T) {
	if r.cancel == nil {
		return
	}
	r.cancel()
	r.cancel = nil
	if err := <-r.done; err != nil {
		t.Errorf("Run: %v", err)
	}
}

func (r *running) waitReady(t *testing.T) {
	t.Helper()
	eventually(t, "the proxy Ready", func() (bool, string) { return r.p.Ready() })
}

// eventually polls cond until it holds; the bound only turns a hang into
// a failure.
func eventually(t *testing.T, what string, cond func() (bool, string)) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for {
		ok, detail := cond()
		if ok {
			return
		}
		if time.Now().After(deadline) {
			t.Fatalf("waiting for %s: %s", what, detail)
		}
		time.Sleep(20 * time.Millisecond)
	}
}

func (e *env) inspector() *lb.Inspector {
	e.t.Helper()
	in, err := lb.OpenPinned(e.cfg.LB)
	if err != nil {
		e.t.Fatal(err)
	}
	e.t.Cleanup(func() { in.Close() })
	return in
}

// programmed lists the maps' frontends as "frontend → backends".
func programmed(in *lb.Inspector) (map[string]string, error) {
	svcs, err := in.Services()
	if err != nil {
		return nil, err
	}
	out := map[string]string{}
	for _, s := range svcs {
		var bes []string
		for _, b := range s.Backends {
			bes = append(bes, b.Backend.String())
		}
		slices.Sort(bes)
		out[s.Frontend.String()] = strings.Join(bes, ",")
	}
	return out, nil
}

func (e *env) waitProgrammed(in *lb.Inspector, want map[string]string) {
	e.t.Helper()
	eventually(e.t, fmt.Sprintf("maps %v", want), func() (bool, string) {
		got, err := programmed(in)
		if err != nil {
			return false, err.Error()
		}
		return fmt.Sprint(got) == fmt.Sprint(want), fmt.Sprintf("maps hold %v", got)
	})
}

func (e *env) createNode(addr string) {
	e.t.Helper()
	ctx := context.Background()
	node, err := e.client.CoreV1().Nodes().Create(ctx, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: e.cfg.NodeName}}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	e.setNodeAddress(node, addr)
}

func (e *env) setNodeAddress(node *v1.Node, addr string) {
	e.t.Helper()
	ctx := context.Background()
	if node == nil {
		var err error
		if node, err = e.client.CoreV1().Nodes().Get(ctx, e.cfg.NodeName, metav1.GetOptions{}); err != nil {
			e.t.Fatal(err)
		}
	}
	node.Status.Addresses = []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: addr}, {Type: v1.NodeHostName, Address: e.cfg.NodeName}}
	if _, err := e.client.CoreV1().Nodes().UpdateStatus(ctx, node, metav1.UpdateOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) createService(name string, typ v1.ServiceType) *v1.Service {
	e.t.Helper()
	svc, err := e.client.CoreV1().Services("default").Create(context.Background(), &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.ServiceSpec{Type: typ, Ports: []v1.ServicePort{
			{Name: "http", Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: v1.ProtocolTCP},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		e.t.Fatal(err)
	}
	return svc
}

// setEndpoints writes the Service's Endpoints (created or replaced).
func (e *env) setEndpoints(name string, ready []string, notReady ...string) {
	e.t.Helper()
	ctx := context.Background()
	eps := &v1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"}}
	ss := v1.EndpointSubset{Ports: []v1.EndpointPort{{Name: "http", Port: 8080, Protocol: v1.ProtocolTCP}}}
	for _, ip := range ready {
		ss.Addresses = append(ss.Addresses, v1.EndpointAddress{IP: ip})
	}
	for _, ip := range notReady {
		ss.NotReadyAddresses = append(ss.NotReadyAddresses, v1.EndpointAddress{IP: ip})
	}
	eps.Subsets = []v1.EndpointSubset{ss}
	cur, err := e.client.CoreV1().Endpoints("default").Get(ctx, name, metav1.GetOptions{})
	if err == nil {
		eps.ResourceVersion = cur.ResourceVersion
		_, err = e.client.CoreV1().Endpoints("default").Update(ctx, eps, metav1.UpdateOptions{})
	} else {
		_, err = e.client.CoreV1().Endpoints("default").Create(ctx, eps, metav1.CreateOptions{})
	}
	if err != nil {
		e.t.Fatal(err)
	}
}

func (e *env) deleteService(name string) {
	e.t.Helper()
	if err := e.client.CoreV1().Services("default").Delete(context.Background(), name, metav1.DeleteOptions{}); err != nil {
		e.t.Fatal(err)
	}
}

// linkIDs are the ids of the pinned links, by hook.
func linkIDs(t *testing.T, in *lb.Inspector) map[string]uint32 {
	t.Helper()
	progs, err := in.Programs()
	if err != nil {
		t.Fatal(err)
	}
	out := map[string]uint32{}
	for _, p := range progs {
		out[p.Hook] = p.LinkID
	}
	return out
}

// The proxy programs what the API holds: ClusterIP and NodePort
// frontends with the ready addresses, Endpoints and Node address changes,
// deletions; a restarted proxy adopts the pins (the same links, never
// detached) and its first resync removes what was deleted while it was
// down.
func TestProxyProgramsServices(t *testing.T) {
	e := newEnv(t)
	e.createNode("192.168.77.1")
	web := e.createService("web", v1.ServiceTypeNodePort)
	e.setEndpoints("web", []string{"10.244.1.2", "10.244.1.3"}, "10.244.1.4")
	vip, np := web.Spec.ClusterIP, web.Spec.Ports[0].NodePort

	r := e.start()
	r.waitReady(t)
	in := e.inspector()
	e.waitProgrammed(in, map[string]string{
		vip + ":80/TCP":                        "10.244.1.2:8080,10.244.1.3:8080",
		fmt.Sprintf("192.168.77.1:%d/TCP", np): "10.244.1.2:8080,10.244.1.3:8080",
	})

	// The service CIDR is unreachable in the node's namespace only.
	h, err := netlink.NewHandleAt(e.netns)
	if err != nil {
		t.Fatal(err)
	}
	defer h.Close()
	_, dst, _ := net.ParseCIDR(proxy.DefaultServiceCIDR.String())
	routes, err := h.RouteListFiltered(netlink.FAMILY_V4, &netlink.Route{Dst: dst, Table: unix.RT_TABLE_MAIN}, netlink.RT_FILTER_DST|netlink.RT_FILTER_TABLE)
	if err != nil || len(routes) != 1 || routes[0].Type != unix.RTN_UNREACHABLE {
		t.Fatalf("routes for the service CIDR in the node namespace: %+v, %v", routes, err)
	}

	e.setEndpoints("web", []string{"10.244.1.2", "10.244.1.3", "10.244.1.4"})
	e.setNodeAddress(nil, "192.168.77.2")
	all3 := "10.244.1.2:8080,10.244.1.3:8080,10.244.1.4:8080"
	e.waitProgrammed(in, map[string]string{
		vip + ":80/TCP":                        all3,
		fmt.Sprintf("192.168.77.2:%d/TCP", np): all3,
	})

	// A ClusterIP Service without Endpoints yet refuses connections.
	api := e.createService("api", v1.ServiceTypeClusterIP)
	e.waitProgrammed(in, map[string]string{
		vip + ":80/TCP":                        all3,
		fmt.Sprintf("192.168.77.2:%d/TCP", np): all3,
		api.Spec.ClusterIP + ":80/TCP":         "",
	})

	// Restart: while the proxy is down, web goes and db comes.
	links := linkIDs(t, in)
	r.stop(t)
	if ok, msg := r.p.Ready(); ok || !strings.Contains(msg, "stopped") {
		t.Errorf("Ready() after Run returned = %v, %q", ok, msg)
	}
	e.deleteService("web")
	db := e.createService("db", v1.ServiceTypeClusterIP)
	e.setEndpoints("db", []string{"10.244.1.9"})
	stillThere, err := programmed(in)
	if err != nil || stillThere[vip+":80/TCP"] != all3 {
		t.Fatalf("the maps changed while no proxy ran: %v, %v", stillThere, err)
	}
	r2 := e.start()
	r2.waitReady(t)
	e.waitProgrammed(in, map[string]string{
		api.Spec.ClusterIP + ":80/TCP": "",
		db.Spec.ClusterIP + ":80/TCP":  "10.244.1.9:8080",
	})
	if got := linkIDs(t, in); fmt.Sprint(got) != fmt.Sprint(links) {
		t.Errorf("links after the restart %v, before %v: a restart must update links in place, never detach", got, links)
	}
}

// Static node addresses replace the Node's for NodePorts.
func TestProxyStaticNodeAddresses(t *testing.T) {
	e := newEnv(t)
	e.cfg.NodeAddresses = []netip.Addr{netip.MustParseAddr("192.168.88.1")}
	web := e.createService("web", v1.ServiceTypeNodePort)
	e.setEndpoints("web", []string{"10.244.2.2"})
	r := e.start()
	r.waitReady(t)
	e.waitProgrammed(e.inspector(), map[string]string{
		web.Spec.ClusterIP + ":80/TCP":                                 "10.244.2.2:8080",
		fmt.Sprintf("192.168.88.1:%d/TCP", web.Spec.Ports[0].NodePort): "10.244.2.2:8080",
	})
}

// A node that cannot run the load balancer: Run returns the feature error
// and Ready stays false with a message naming it.
func TestProxyMissingFeature(t *testing.T) {
	e := newEnv(t)
	e.cfg.LB.Cgroup = t.TempDir() // not a cgroup2 directory
	p, err := proxy.New(e.cfg)
	if err != nil {
		t.Fatal(err)
	}
	err = p.Run(context.Background())
	if !errors.Is(err, lb.ErrNoCgroup2) {
		t.Fatalf("Run = %v, want ErrNoCgroup2", err)
	}
	ok, msg := p.Ready()
	if ok || !strings.Contains(msg, "not a cgroup2 directory") || !strings.Contains(msg, "pods still run") {
		t.Fatalf("Ready() = %v, %q: want false, naming cgroup2", ok, msg)
	}
}
