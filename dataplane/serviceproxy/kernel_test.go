package serviceproxy

import (
	"context"
	"fmt"
	"net/netip"
	"syscall"
	"testing"

	"github.com/tug-sh/tug/bpf/lb"
	"github.com/tug-sh/tug/bpf/lb/lbtest"
	corev1 "k8s.io/api/core/v1"
)

// countingMaps counts the writes that reach the real maps.
type countingMaps struct {
	LBMaps
	upserts, deletes int
}

func (c *countingMaps) UpsertService(s lb.Service) error {
	c.upserts++
	return c.LBMaps.UpsertService(s)
}

func (c *countingMaps) DeleteService(fe lb.Frontend) error {
	c.deletes++
	return c.LBMaps.DeleteService(fe)
}

func replyCounts(t *testing.T, rs []lbtest.Result, peer string) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for i, r := range rs {
		if r.Err != "" || r.Peer != peer {
			t.Fatalf("connection %d: %+v, want a reply with peer %s", i, r, peer)
		}
		counts[r.Reply]++
	}
	return counts
}

// Services and Endpoints, through the reconciler, into the kernel: a client
// in the cgroup reaches the ready pods through the ClusterIP and the
// NodePort; an Endpoints change is two map writes; a restarted agent's
// resync writes nothing; a Service deleted while the agent was down is
// removed by the next resync.
func TestReconcilerProgramsKernel(t *testing.T) {
	env := newKernelEnv(t)
	nodeIP := netip.MustParseAddr("192.168.77.1")
	env.netns.AddAddress(t, nodeIP)
	for i := 1; i <= 4; i++ {
		addr := netip.AddrFrom4([4]byte{10, 244, 1, byte(i)})
		env.netns.AddAddress(t, addr)
		env.netns.ServeTCP(t, netip.AddrPortFrom(addr, 8080), fmt.Sprintf("be%d", i))
	}
	svc := service("web", "10.96.0.10", corev1.ServicePort{Name: "http", Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP})
	svc.Spec.Type = corev1.ServiceTypeNodePort
	eps := endpoints("web", subset(httpPort, []string{"10.244.1.1", "10.244.1.2", "10.244.1.3"}, "10.244.1.4"))

	maps := &countingMaps{LBMaps: env.dp.Maps()}
	r, err := New(Config{Maps: maps, NodeAddresses: []netip.Addr{nodeIP}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	must(t, r.Resync(context.Background(), []*corev1.Service{svc}, []*corev1.Endpoints{eps}))
	counts := replyCounts(t, env.client.Results(t, "tcp", "10.96.0.10:80", "30"), "10.96.0.10:80")
	if fmt.Sprint(counts) != "map[be1:10 be2:10 be3:10]" {
		t.Fatalf("replies through the ClusterIP %v, want 10 from each ready pod", counts)
	}
	counts = replyCounts(t, env.client.Results(t, "tcp", "192.168.77.1:30080", "3"), "192.168.77.1:30080")
	if fmt.Sprint(counts) != "map[be1:1 be2:1 be3:1]" {
		t.Fatalf("replies through the NodePort %v, want one from each ready pod", counts)
	}

	maps.upserts = 0
	must(t, r.UpsertEndpoints(endpoints("web", subset(httpPort, []string{"10.244.1.1", "10.244.1.3"}, "10.244.1.2", "10.244.1.4"))))
	if maps.upserts != 2 || maps.deletes != 0 {
		t.Fatalf("an Endpoints change made %d upserts and %d deletes, want 2 upserts (ClusterIP, NodePort)", maps.upserts, maps.deletes)
	}
	counts = replyCounts(t, env.client.Results(t, "tcp", "10.96.0.10:80", "10"), "10.96.0.10:80")
	if fmt.Sprint(counts) != "map[be1:5 be3:5]" {
		t.Fatalf("replies after scaling down %v, want 5 from each of be1, be3", counts)
	}

	// The agent restarts: new datapath handles, new reconciler, same objects.
	if err := env.dp.Close(); err != nil {
		t.Fatal(err)
	}
	env.load(t)
	maps2 := &countingMaps{LBMaps: env.dp.Maps()}
	r2, err := New(Config{Maps: maps2, NodeAddresses: []netip.Addr{nodeIP}, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	eps2 := endpoints("web", subset(httpPort, []string{"10.244.1.1", "10.244.1.3"}))
	must(t, r2.Resync(context.Background(), []*corev1.Service{svc}, []*corev1.Endpoints{eps2}))
	if maps2.upserts+maps2.deletes != 0 {
		t.Fatalf("resync after a restart wrote %d upserts and %d deletes, want none", maps2.upserts, maps2.deletes)
	}

	// The Service was deleted while the agent was down.
	must(t, r2.Resync(context.Background(), nil, nil))
	if maps2.deletes != 2 {
		t.Fatalf("resync without the service made %d deletes, want 2", maps2.deletes)
	}
	list, err := env.dp.Maps().List()
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 0 {
		t.Fatalf("maps still hold %+v", list)
	}
	if r := env.client.Results(t, "tcp", "10.96.0.10:80", "1")[0]; r.Errno != syscall.EHOSTUNREACH {
		t.Fatalf("connect to the deleted service: %+v, want EHOSTUNREACH from the unreachable service CIDR", r)
	}
}
