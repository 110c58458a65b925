package podnet_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/tug-sh/tug/dataplane/podnet"
)

// BenchmarkSetupTeardown measures one pod sandbox's life on the node:
// namespace, veth pair, addresses and routes, then their removal.
func BenchmarkSetupTeardown(b *testing.B) {
	ctx := testCtx(b)
	n := newTestNode(b, "10.244.0.1/16")
	if err := n.node.EnsureBridge(ctx); err != nil {
		b.Fatal(err)
	}
	var setup, teardown time.Duration
	for i := 0; b.Loop(); i++ {
		key := podnet.PodKey{Namespace: "bench", Name: fmt.Sprint("p", i), UID: fmt.Sprint(i)}
		ip := netip.MustParsePrefix(fmt.Sprintf("10.244.%d.%d/16", 1+i/250%250, 2+i%250))
		t0 := time.Now()
		if _, err := n.node.SetupPod(ctx, podnet.PodSpec{Key: key, IP: ip}); err != nil {
			b.Fatal(err)
		}
		t1 := time.Now()
		if err := n.node.TeardownPod(ctx, key); err != nil {
			b.Fatal(err)
		}
		setup += t1.Sub(t0)
		teardown += time.Since(t1)
	}
	b.ReportMetric(float64(setup.Microseconds())/1000/float64(b.N), "setup-ms/op")
	b.ReportMetric(float64(teardown.Microseconds())/1000/float64(b.N), "teardown-ms/op")
	b.ReportMetric(float64((setup+teardown).Microseconds())/1000/float64(b.N), "ms/op")
}

// BenchmarkSetupPodIdempotent measures SetupPod on an existing sandbox: the
// cost of the agent's periodic re-assertion.
func BenchmarkSetupPodIdempotent(b *testing.B) {
	ctx := testCtx(b)
	n := newTestNode(b, "10.244.0.1/16")
	if err := n.node.EnsureBridge(ctx); err != nil {
		b.Fatal(err)
	}
	spec := podnet.PodSpec{Key: podnet.PodKey{Namespace: "bench", Name: "p", UID: "u"}, IP: netip.MustParsePrefix("10.244.0.2/16")}
	if _, err := n.node.SetupPod(ctx, spec); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for b.Loop() {
		if _, err := n.node.SetupPod(ctx, spec); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
}
