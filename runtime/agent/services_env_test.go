package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"runtime"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/client-go/util/retry"

	"github.com/tug-sh/tug/bpf/lb"
	"github.com/tug-sh/tug/bpf/lb/lbtest"
	"github.com/tug-sh/tug/control/controller/manager"
	"github.com/tug-sh/tug/runtime/agent"
	"github.com/tug-sh/tug/runtime/agent/agenttest"
	"github.com/tug-sh/tug/runtime/agent/proxy"
)

// serviceCIDR is the API server's default ClusterIP range (apitest's).
var serviceCIDR = netip.MustParsePrefix("10.96.0.0/12")

// svcNode is a test node whose agent runs the Service proxy. The programs
// attach to the node's own cgroup2 subtree, never the root: the agent's
// container cgroup parent is a cgroup2 directory of the test's own (on a
// hybrid host runtime/container creates each container's cgroup under
// /sys/fs/cgroup/unified/<parent>/ too), and host-side clients run in a
// child of it. Maps and links are pinned in a private BPF filesystem; the
// service CIDR's unreachable route goes into the node's namespace.
type svcNode struct {
	*node
	c  *cluster
	lb lb.Config
	// client runs clients as processes of the node: started straight into
	// a cgroup below the one the load balancer is attached to, inside the
	// node's network namespace.
	client lbtest.Client
	// udpEcho is a directory holding testdata/udpecho, built.
	udpEcho string
}

// requireLB skips on a machine that cannot run the load balancer, naming
// what it lacks.
func requireLB(t testing.TB) string {
	t.Helper()
	agenttest.RequireRoot(t)
	if err := lb.CheckKernel(); err != nil {
		if errors.Is(err, lb.ErrNoBTF) || errors.Is(err, lb.ErrNoSockAddrHooks) {
			t.Skipf("needs kernel support for the eBPF load balancer: %v", err)
		}
		t.Fatal(err)
	}
	root, err := lb.Cgroup2Root()
	if err != nil {
		t.Skipf("needs a cgroup2 hierarchy: %v", err)
	}
	return root
}

// newSvcNode starts a node with the Service proxy and the scheduler,
// replication and endpoints controllers, and waits for ServiceProxyReady.
func newSvcNode(t testing.TB, c *cluster) *svcNode {
	t.Helper()
	root := requireLB(t)
	bpffs := lbtest.BPFFS(t) // unmounted last, after the reset below
	lbc := lb.Config{BPFFS: bpffs, PinDir: filepath.Join(bpffs, "tug")}
	parent := "tug-svc-" + agenttest.Suffix()
	lbc.Cgroup = filepath.Join(root, parent)
	if err := os.Mkdir(lbc.Cgroup, 0o755); err != nil {
		t.Fatalf("create the node's cgroup: %v", err)
	}
	// Runs after the node's cleanup (registered later, run earlier), whose
	// agent.Reset removes the cgroup parent with the containers.
	t.Cleanup(func() {
		if err := lb.Reset(lbc); err != nil {
			t.Errorf("cleanup: reset the load balancer: %v", err)
		}
		if err := os.Remove(lbc.Cgroup); err != nil && !errors.Is(err, os.ErrNotExist) {
			t.Errorf("cleanup: remove %s: %v", lbc.Cgroup, err)
		}
	})
	// Built before the node starts, so the directory outlives its pods.
	sn := &svcNode{c: c, lb: lbc, udpEcho: buildUDPEcho(t)}
	sn.node = newNode(t, c, func(cfg *agent.Config) {
		cfg.CgroupParent = parent
		cfg.ServiceProxy = sn.newProxy(t, *cfg)
	})
	runControllers(t, c, manager.Scheduler, manager.Replication, manager.Endpoints)
	sn.client = lbtest.Client{Cgroup: lbtest.Cgroup(t, lbc.Cgroup), Netns: lbtest.OpenNetns(t, sn.netns)}
	sn.waitProxyReady(t)
	return sn
}

func (sn *svcNode) newProxy(t testing.TB, cfg agent.Config) *proxy.Proxy {
	t.Helper()
	p, err := proxy.New(proxy.Config{
		RestConfig:  cfg.RestConfig,
		NodeName:    cfg.NodeName,
		ServiceCIDR: serviceCIDR,
		HostNetns:   cfg.HostNetns,
		LB:          sn.lb,
		Logger:      cfg.Logger.With("subsystem", "proxy"),
	})
	if err != nil {
		t.Fatal(err)
	}
	return p
}

// waitProxyReady waits until the running agent's proxy is ready (its
// first resync is done) and the Node's ServiceProxyReady condition says so.
func (sn *svcNode) waitProxyReady(t testing.TB) {
	t.Helper()
	ctx := testCtx(t, 2*time.Minute)
	for {
		ok, _ := sn.cfg.ServiceProxy.Ready()
		cond := sn.proxyCondition(t, ctx)
		if ok && cond != nil && cond.Status == v1.ConditionTrue {
			return
		}
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for ServiceProxyReady=True: last %+v", cond)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

// proxyCondition is the Node's ServiceProxyReady condition (nil: none yet).
func (sn *svcNode) proxyCondition(t testing.TB, ctx context.Context) *v1.NodeCondition {
	node, err := sn.c.client().CoreV1().Nodes().Get(ctx, sn.cfg.NodeName, metav1.GetOptions{})
	if err != nil {
		return nil
	}
	return nodeCondition(node, agent.NodeConditionServiceProxyReady)
}

func runControllers(t testing.TB, c *cluster, controllers ...string) {
	t.Helper()
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() {
		done <- manager.RunControllers(ctx, manager.Options{Config: c.api.Config, Controllers: controllers, Logger: agenttest.Logger(t)})
	}()
	t.Cleanup(func() {
		cancel()
		if err := <-done; err != nil {
			t.Errorf("controllers: %v", err)
		}
	})
}

// inspector opens the node's load balancer through its pins, as
// `tug bpf` does.
func (sn *svcNode) inspector(t testing.TB) *lb.Inspector {
	t.Helper()
	in, err := lb.OpenPinned(sn.lb)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { in.Close() })
	return in
}

// buildUDPEcho builds testdata/udpecho statically (busybox has no UDP
// server) into a directory for a hostPath volume.
func buildUDPEcho(t testing.TB) string {
	t.Helper()
	dir := t.TempDir()
	goBin, err := exec.LookPath("go")
	if err != nil {
		goBin = filepath.Join(runtime.GOROOT(), "bin", "go")
	}
	cmd := exec.Command(goBin, "build", "-o", filepath.Join(dir, "udpecho"), "./testdata/udpecho")
	cmd.Env = append(os.Environ(), "CGO_ENABLED=0")
	if out, err := cmd.CombinedOutput(); err != nil {
		t.Fatalf("build testdata/udpecho: %v: %s", err, out)
	}
	return dir
}

// webApp is an RC of busybox httpd pods answering GET / with their host
// name (the pod's name), optionally with a UDP container answering the
// same on 5353, and a NodePort Service in front of them.
type webApp struct {
	name     string
	udp      bool
	service  *v1.Service
	vip      netip.Addr
	nodePort int32
}

const (
	httpPort = 80
	udpPort  = 5353
)

func (sn *svcNode) createWebApp(t testing.TB, name string, replicas int32, udp bool) *webApp {
	t.Helper()
	ctx := testCtx(t, time.Minute)
	sel := map[string]string{"app": name}
	web := v1.Container{
		Name: "web", Image: sn.c.image,
		Command: []string{"sh", "-c", "hostname > /www/index.html; exec httpd -f -p 80 -h /www"},
		Ports:   []v1.ContainerPort{{Name: "http", ContainerPort: httpPort}},
		ReadinessProbe: &v1.Probe{
			ProbeHandler:  v1.ProbeHandler{TCPSocket: &v1.TCPSocketAction{Port: intstr.FromInt32(httpPort)}},
			PeriodSeconds: 1,
		},
	}
	spec := v1.PodSpec{Containers: []v1.Container{web}}
	ports := []v1.ServicePort{{Name: "http", Port: httpPort, TargetPort: intstr.FromString("http"), Protocol: v1.ProtocolTCP}}
	if udp {
		dirType := v1.HostPathDirectory
		spec.Volumes = []v1.Volume{{Name: "udpecho", VolumeSource: v1.VolumeSource{HostPath: &v1.HostPathVolumeSource{Path: sn.udpEcho, Type: &dirType}}}}
		spec.Containers = append(spec.Containers, v1.Container{
			Name: "echo", Image: sn.c.image,
			Command:      []string{"/udpecho/udpecho", "-port", fmt.Sprint(udpPort)},
			Ports:        []v1.ContainerPort{{Name: "echo", ContainerPort: udpPort, Protocol: v1.ProtocolUDP}},
			VolumeMounts: []v1.VolumeMount{{Name: "udpecho", MountPath: "/udpecho", ReadOnly: true}},
			ReadinessProbe: &v1.Probe{
				ProbeHandler:  v1.ProbeHandler{Exec: &v1.ExecAction{Command: []string{"sh", "-c", fmt.Sprintf("netstat -lun | grep -q ':%d '", udpPort)}}},
				PeriodSeconds: 1,
			},
		})
		ports = append(ports, v1.ServicePort{Name: "echo", Port: udpPort, TargetPort: intstr.FromString("echo"), Protocol: v1.ProtocolUDP})
	}
	grace := int64(2)
	spec.TerminationGracePeriodSeconds = &grace
	rc := &v1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec: v1.ReplicationControllerSpec{
			Replicas: &replicas,
			Selector: sel,
			Template: &v1.PodTemplateSpec{ObjectMeta: metav1.ObjectMeta{Labels: sel}, Spec: spec},
		},
	}
	if _, err := sn.c.client().CoreV1().ReplicationControllers("default").Create(ctx, rc, metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	svc, err := sn.c.client().CoreV1().Services("default").Create(ctx, &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name, Namespace: "default"},
		Spec:       v1.ServiceSpec{Type: v1.ServiceTypeNodePort, Selector: sel, Ports: ports},
	}, metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	return &webApp{name: name, udp: udp, service: svc, vip: netip.MustParseAddr(svc.Spec.ClusterIP), nodePort: svc.Spec.Ports[0].NodePort}
}

func (w *webApp) httpFrontend() lb.Frontend {
	return lb.Frontend{Address: w.vip, Port: httpPort, Protocol: lb.TCP}
}

func (w *webApp) httpAddr() string { return netip.AddrPortFrom(w.vip, httpPort).String() }
func (w *webApp) udpAddr() string  { return netip.AddrPortFrom(w.vip, udpPort).String() }

// frontends are every frontend the Service programs on the node: the
// ClusterIP's and the NodePorts on the node's InternalIP, 127.0.0.1.
func (w *webApp) frontends() []lb.Frontend {
	var out []lb.Frontend
	node := netip.MustParseAddr("127.0.0.1")
	for _, p := range w.service.Spec.Ports {
		proto, _ := lb.ParseProtocol(string(p.Protocol))
		out = append(out, lb.Frontend{Address: w.vip, Port: uint16(p.Port), Protocol: proto},
			lb.Frontend{Address: node, Port: uint16(p.NodePort), Protocol: proto})
	}
	return out
}

// scale sets the RC's replicas.
func (sn *svcNode) scale(t testing.TB, w *webApp, replicas int32) {
	t.Helper()
	ctx := testCtx(t, time.Minute)
	rcs := sn.c.client().CoreV1().ReplicationControllers("default")
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		rc, err := rcs.Get(ctx, w.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		rc.Spec.Replicas = &replicas
		_, err = rcs.Update(ctx, rc, metav1.UpdateOptions{})
		return err
	})
	if err != nil {
		t.Fatal(err)
	}
}

// waitServing waits until the app has exactly n ready pods, the Endpoints
// list exactly them, and every frontend of the maps has exactly their
// addresses; it returns the pods' names and IPs.
func (sn *svcNode) waitServing(t testing.TB, in *lb.Inspector, w *webApp, n int) (names []string, ips []netip.Addr) {
	t.Helper()
	ctx := testCtx(t, 3*time.Minute)
	var detail string
	ok := func() bool {
		pods, err := sn.c.client().CoreV1().Pods("default").List(ctx, metav1.ListOptions{LabelSelector: labels.Set{"app": w.name}.String()})
		if err != nil {
			detail = err.Error()
			return false
		}
		names, ips = nil, nil
		for _, p := range pods.Items {
			if p.DeletionTimestamp != nil {
				detail = "pods are terminating"
				return false
			}
			if running(&p) && ready(&p) {
				names = append(names, p.Name)
				ips = append(ips, netip.MustParseAddr(p.Status.PodIP))
			}
		}
		if len(pods.Items) != n || len(names) != n {
			detail = fmt.Sprintf("%d pods, %d ready", len(pods.Items), len(names))
			return false
		}
		slices.SortFunc(ips, netip.Addr.Compare)
		eps, err := sn.c.client().CoreV1().Endpoints("default").Get(ctx, w.name, metav1.GetOptions{})
		if err != nil {
			detail = err.Error()
			return false
		}
		if got := endpointIPs(eps); !slices.Equal(got, ips) {
			detail = fmt.Sprintf("endpoints %v, ready pods %v", got, ips)
			return false
		}
		for _, fe := range w.frontends() {
			info, found, err := in.Service(fe)
			if err != nil || !found {
				detail = fmt.Sprintf("frontend %s: found %v, %v", fe, found, err)
				return false
			}
			if got := backendAddrs(info); !slices.Equal(got, ips) {
				detail = fmt.Sprintf("frontend %s has backends %v, want %v", fe, got, ips)
				return false
			}
		}
		return true
	}
	for !ok() {
		select {
		case <-ctx.Done():
			t.Fatalf("waiting for %d serving pods of %s: %s", n, w.name, detail)
		case <-time.After(50 * time.Millisecond):
		}
	}
	slices.Sort(names)
	return names, ips
}

func endpointIPs(eps *v1.Endpoints) []netip.Addr {
	var out []netip.Addr
	for _, ss := range eps.Subsets {
		for _, a := range ss.Addresses {
			if ip, err := netip.ParseAddr(a.IP); err == nil && !slices.Contains(out, ip) {
				out = append(out, ip)
			}
		}
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

func backendAddrs(info lb.ServiceInfo) []netip.Addr {
	var out []netip.Addr
	for _, b := range info.Backends {
		out = append(out, b.Backend.Address)
	}
	slices.SortFunc(out, netip.Addr.Compare)
	return out
}

// rotation checks that replies go round the backends in a fixed order:
// the first len(names) replies are every name once, then the same order
// repeats.
func rotation(replies, names []string) error {
	k := len(names)
	if len(replies) < k {
		return fmt.Errorf("%d replies for %d backends", len(replies), k)
	}
	first := slices.Clone(replies[:k])
	slices.Sort(first)
	if !slices.Equal(first, names) {
		return fmt.Errorf("first %d replies %v are not each of %v once", k, replies[:k], names)
	}
	for i, r := range replies {
		if r != replies[i%k] {
			return fmt.Errorf("reply %d is %s, want %s (rotation %v): %v", i, r, replies[i%k], replies[:k], replies)
		}
	}
	return nil
}

// kubectlJSON runs the real kubectl against the test's API server and
// decodes its JSON output.
func kubectlJSON(t testing.TB, c *cluster, out any, args ...string) {
	t.Helper()
	cmd := exec.Command(kubectl, append([]string{"-s", c.api.URL, "-o", "json"}, args...)...)
	b, err := cmd.Output()
	if err != nil {
		t.Fatalf("kubectl %v: %v: %s", args, err, stderrOf(err))
	}
	if err := json.Unmarshal(b, out); err != nil {
		t.Fatalf("kubectl %v output: %v", args, err)
	}
}

// kubectlExec runs a command in a pod through the real kubectl (the API
// server's pods/exec proxied to the agent).
func kubectlExec(t testing.TB, c *cluster, pod string, command ...string) (string, error) {
	t.Helper()
	ctx := testCtx(t, 2*time.Minute)
	cmd := exec.CommandContext(ctx, kubectl, append([]string{"-s", c.api.URL, "exec", pod, "--"}, command...)...)
	out, err := cmd.Output()
	if err != nil {
		return string(out), fmt.Errorf("kubectl exec %s: %v: %s", pod, err, stderrOf(err))
	}
	return string(out), nil
}

// deleteService deletes the app's Service.
func (sn *svcNode) deleteService(t testing.TB, w *webApp) {
	t.Helper()
	err := sn.c.client().CoreV1().Services("default").Delete(context.Background(), w.name, metav1.DeleteOptions{})
	if err != nil && !apierrors.IsNotFound(err) {
		t.Fatal(err)
	}
}

func lines(s string) []string {
	var out []string
	for l := range strings.Lines(s) {
		if l = strings.TrimSpace(l); l != "" {
			out = append(out, l)
		}
	}
	return out
}
