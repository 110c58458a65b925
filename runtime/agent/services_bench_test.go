package agent_test

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"testing"
	"time"

	"golang.org/x/sync/errgroup"
	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tug-sh/tug/bpf/lb"
	"github.com/tug-sh/tug/bpf/lb/lbtest"
)

func micros(d time.Duration) float64 { return float64(d) / float64(time.Microsecond) }

// BenchmarkServiceLatency: connect + GET + response from a process on the
// node, through the ClusterIP and straight to the pod's IP, interleaved, in
// the same run against the same pod (busybox httpd run by the agent). One
// op is one connection to each. The client runs in the cgroup the programs
// are attached to, so both paths pay the hook; only the ClusterIP's is
// translated.
func BenchmarkServiceLatency(b *testing.B) {
	c := newCluster(b)
	sn := newSvcNode(b, c)
	in := sn.inspector(b)
	web := sn.createWebApp(b, "lat", 1, false)
	_, ips := sn.waitServing(b, in, web, 1)
	pod := netip.AddrPortFrom(ips[0], httpPort).String()
	sn.client.Run(b, "latency", web.httpAddr(), pod, "200") // warm up

	b.ResetTimer()
	out := sn.client.Run(b, "latency", web.httpAddr(), pod, fmt.Sprint(b.N))
	b.StopTimer()
	var l lbtest.Latencies
	if err := json.Unmarshal(out, &l); err != nil {
		b.Fatal(err)
	}
	vip50, vip99 := percentile(l.VIP, 0.50), percentile(l.VIP, 0.99)
	pod50, pod99 := percentile(l.Pod, 0.50), percentile(l.Pod, 0.99)
	b.ReportMetric(micros(vip50), "clusterip-p50-µs")
	b.ReportMetric(micros(vip99), "clusterip-p99-µs")
	b.ReportMetric(micros(pod50), "podip-p50-µs")
	b.ReportMetric(micros(pod99), "podip-p99-µs")
	b.ReportMetric(float64(vip50)/float64(pod50), "p50-ratio")
	b.ReportMetric(float64(vip99)/float64(pod99), "p99-ratio")
}

// BenchmarkServiceProgramming: an Endpoints change written to the API
// server until the node's maps hold it (API server, watch, the agent's
// proxy, map writes), with 1, 1,000 and 10,000 Services programmed. Each
// op moves one Service's single backend to another address; the maps are
// read by single lookups through the pins. The background Services are
// selector-less with Endpoints of their own, so no controller touches them.
func BenchmarkServiceProgramming(b *testing.B) {
	c := newCluster(b)
	sn := newSvcNode(b, c)
	in := sn.inspector(b)
	ctx := testCtx(b, 30*time.Minute)
	probe := createStaticService(b, ctx, c, "probe", "10.244.200.1")
	fe := lb.Frontend{Address: netip.MustParseAddr(probe.Spec.ClusterIP), Port: httpPort, Protocol: lb.TCP}
	have := 1
	for _, total := range []int{1, 1000, 10000} {
		have = ensureStaticServices(b, ctx, c, have, total)
		waitFrontends(b, ctx, in, total)
		b.Run(fmt.Sprintf("services=%d", total), func(b *testing.B) {
			var lat []time.Duration
			eps := c.client().CoreV1().Endpoints("default")
			for i := range b.N {
				want := netip.AddrFrom4([4]byte{10, 244, 201 + byte(i/250%50), byte(i%250 + 1)})
				cur, err := eps.Get(ctx, "probe", metav1.GetOptions{})
				if err != nil {
					b.Fatal(err)
				}
				cur.Subsets[0].Addresses = []v1.EndpointAddress{{IP: want.String()}}
				start := time.Now()
				if _, err := eps.Update(ctx, cur, metav1.UpdateOptions{}); err != nil {
					b.Fatal(err)
				}
				for {
					info, ok, err := in.Service(fe)
					if err != nil {
						b.Fatal(err)
					}
					if ok && len(info.Backends) == 1 && info.Backends[0].Backend.Address == want {
						break
					}
					if ctx.Err() != nil {
						b.Fatalf("the maps never got %s for %s", want, fe)
					}
					time.Sleep(50 * time.Microsecond)
				}
				lat = append(lat, time.Since(start))
			}
			b.ReportMetric(ms(percentile(lat, 0.50)), "p50-ms")
			b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
		})
	}
}

// createStaticService creates a selector-less ClusterIP Service with one
// endpoint of its own.
func createStaticService(b *testing.B, ctx context.Context, c *cluster, name, ip string) *v1.Service {
	b.Helper()
	svc, err := c.client().CoreV1().Services("default").Create(ctx, &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.ServiceSpec{Ports: []v1.ServicePort{
			{Name: "http", Port: httpPort, TargetPort: intstr.FromInt32(httpPort), Protocol: v1.ProtocolTCP},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	_, err = c.client().CoreV1().Endpoints("default").Create(ctx, &v1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Subsets: []v1.EndpointSubset{{
			Addresses: []v1.EndpointAddress{{IP: ip}},
			Ports:     []v1.EndpointPort{{Name: "http", Port: httpPort, Protocol: v1.ProtocolTCP}},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	return svc
}

// ensureStaticServices creates background Services have..total-1, 8 at
// a time, and returns total.
func ensureStaticServices(b *testing.B, ctx context.Context, c *cluster, have, total int) int {
	b.Helper()
	var g errgroup.Group
	g.SetLimit(8)
	for i := have; i < total; i++ {
		g.Go(func() error { return createBackground(ctx, c, i) })
	}
	if err := g.Wait(); err != nil {
		b.Fatal(err)
	}
	return total
}

func createBackground(ctx context.Context, c *cluster, i int) error {
	name := fmt.Sprintf("bg-%05d", i)
	_, err := c.client().CoreV1().Services("default").Create(ctx, &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Spec: v1.ServiceSpec{Ports: []v1.ServicePort{
			{Name: "http", Port: httpPort, TargetPort: intstr.FromInt32(httpPort), Protocol: v1.ProtocolTCP},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create service %s: %w", name, err)
	}
	_, err = c.client().CoreV1().Endpoints("default").Create(ctx, &v1.Endpoints{
		ObjectMeta: metav1.ObjectMeta{Name: name},
		Subsets: []v1.EndpointSubset{{
			Addresses: []v1.EndpointAddress{{IP: netip.AddrFrom4([4]byte{10, 245, byte(i / 250), byte(i%250 + 1)}).String()}},
			Ports:     []v1.EndpointPort{{Name: "http", Port: httpPort, Protocol: v1.ProtocolTCP}},
		}},
	}, metav1.CreateOptions{})
	if err != nil {
		return fmt.Errorf("create endpoints %s: %w", name, err)
	}
	return nil
}

// waitFrontends waits until the maps hold n frontends.
func waitFrontends(b *testing.B, ctx context.Context, in *lb.Inspector, n int) {
	b.Helper()
	start := time.Now()
	for {
		maps, err := in.Maps()
		if err != nil {
			b.Fatal(err)
		}
		for _, m := range maps {
			if m.Name == "tug_lb4_front" && m.Entries == n {
				b.Logf("%d frontends programmed in %s", n, time.Since(start))
				return
			}
		}
		select {
		case <-ctx.Done():
			b.Fatalf("the maps never held %d frontends", n)
		case <-time.After(100 * time.Millisecond):
		}
	}
}
