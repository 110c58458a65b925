package scheduler_test

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/tools/cache"
	watchtools "k8s.io/client-go/tools/watch"

	"github.com/tug-sh/tug/control/controller/internal/ctrltest"
	"github.com/tug-sh/tug/control/controller/manager"
)

// bindTimes follows a namespace's pods and records when each was first
// seen and when it was first seen bound.
type bindTimes struct {
	mu      sync.Mutex
	created map[types.UID]time.Time
	bound   map[types.UID]time.Time
	first   time.Time
	last    time.Time
	want    int
	done    chan struct{}
}

func (b *bindTimes) follow(w watch.Interface) {
	for ev := range w.ResultChan() {
		p, ok := ev.Object.(*v1.Pod)
		if !ok {
			continue
		}
		now := time.Now()
		b.mu.Lock()
		if _, ok := b.created[p.UID]; !ok {
			b.created[p.UID] = now
			if b.first.IsZero() {
				b.first = now
			}
		}
		if _, ok := b.bound[p.UID]; !ok && p.Spec.NodeName != "" {
			b.bound[p.UID] = now
			b.last = now
			if len(b.bound) == b.want {
				close(b.done)
			}
		}
		b.mu.Unlock()
	}
}

func (b *bindTimes) progress() (created, bound int) {
	b.mu.Lock()
	defer b.mu.Unlock()
	return len(b.created), len(b.bound)
}

// latencies returns the per-pod creation-to-binding latencies, sorted.
func (b *bindTimes) latencies() []time.Duration {
	b.mu.Lock()
	defer b.mu.Unlock()
	var out []time.Duration
	for uid, at := range b.bound {
		out = append(out, at.Sub(b.created[uid]))
	}
	sort.Slice(out, func(i, j int) bool { return out[i] < out[j] })
	return out
}

// BenchmarkSchedulingThroughput measures, on 100 hollow nodes, the time
// from creating a ReplicationController of 3,000 replicas to every pod
// bound, as seen through a watch: pods/s, and the p50/p99 latency from a
// pod's creation to its binding. The replication controller and the hollow
// nodes (marking pods Running) run at the same time, as in a real cluster.
//
// Sub-benchmarks: "shared-watch" runs the hollow nodes over one pod watch
// (hollow.Fleet), measuring the control plane; "watch-per-node" gives each
// hollow node its own watch, as real agents have, so the API server also
// serves 100 pod watches.
func BenchmarkSchedulingThroughput(b *testing.B) {
	b.Run("shared-watch", func(b *testing.B) { benchmarkScheduling(b, true) })
	b.Run("watch-per-node", func(b *testing.B) { benchmarkScheduling(b, false) })
}

func benchmarkScheduling(b *testing.B, sharedWatch bool) {
	const nodes, replicas = 100, 3000
	ctx := context.Background()
	c := ctrltest.Start(b)
	c.AddNodes(ctx, ctrltest.Name("bench"), nodes, ctrltest.NodeOptions{
		CPU: "32", Memory: "128Gi", Pods: 110, Heartbeat: 10 * time.Second,
		CIDRBase: netip.MustParsePrefix("10.200.0.0/24"), SharedWatch: sharedWatch,
	})
	c.RunControllers(manager.Options{Controllers: []string{"scheduler", "replication"}})
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		ns := c.Namespace(ctx, "bench")
		w := followPods(ctx, b, c, ns)
		bt := &bindTimes{created: map[types.UID]time.Time{}, bound: map[types.UID]time.Time{}, want: replicas, done: make(chan struct{})}
		go bt.follow(w)
		rc := ctrltest.RC(ns, "load", replicas)
		rc.Spec.Template.Spec.Containers[0].Resources.Requests = v1.ResourceList{
			v1.ResourceCPU: mustQuantity("100m"), v1.ResourceMemory: mustQuantity("64Mi"),
		}
		b.StartTimer()
		cpu0 := ctrltest.CPUTime()
		start := time.Now()
		if _, err := c.Client.CoreV1().ReplicationControllers(ns).Create(ctx, rc, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
		timeout := time.After(5 * time.Minute)
		tick := time.NewTicker(5 * time.Second)
	wait:
		for {
			select {
			case <-bt.done:
				break wait
			case <-tick.C:
				created, bound := bt.progress()
				b.Logf("after %v: %d pods created, %d bound", time.Since(start).Round(time.Second), created, bound)
			case <-timeout:
				created, bound := bt.progress()
				b.Fatalf("after 5 minutes: %d pods created, %d of %d bound", created, bound, replicas)
			}
		}
		tick.Stop()
		elapsed := time.Since(start)
		cpu := ctrltest.CPUTime() - cpu0
		b.StopTimer()
		w.Stop()
		lat := bt.latencies()
		b.ReportMetric(float64(replicas)/elapsed.Seconds(), "pods/s")
		b.ReportMetric(float64(lat[len(lat)*50/100].Microseconds())/1000, "p50-ms")
		b.ReportMetric(float64(lat[len(lat)*99/100].Microseconds())/1000, "p99-ms")
		b.ReportMetric(float64(cpu.Microseconds())/1000/replicas, "cpu-ms/pod")
		b.Logf("%d pods on %d nodes: all bound %v after the RC was created (%.0f pods/s, %.2f CPU cores busy), creation→binding p50 %v p99 %v max %v",
			replicas, nodes, elapsed.Round(time.Millisecond), float64(replicas)/elapsed.Seconds(), cpu.Seconds()/elapsed.Seconds(),
			lat[len(lat)*50/100].Round(time.Millisecond), lat[len(lat)*99/100].Round(time.Millisecond), lat[len(lat)-1].Round(time.Millisecond))
		// Make room for the next round.
		if i+1 < b.N {
			zero := int32(0)
			rc, err := c.Client.CoreV1().ReplicationControllers(ns).Get(ctx, "load", metav1.GetOptions{})
			if err != nil {
				b.Fatal(err)
			}
			rc.Spec.Replicas = &zero
			if _, err := c.Client.CoreV1().ReplicationControllers(ns).Update(ctx, rc, metav1.UpdateOptions{}); err != nil {
				b.Fatal(err)
			}
			ctrltest.Eventually(b, 5*time.Minute, func() (bool, string) {
				n := len(c.Pods(ctx, ns, "app=load"))
				return n == 0, fmt.Sprintf("%d pods left", n)
			})
		}
		b.StartTimer()
	}
}

// followPods watches the pods of ns from now on, resuming after the
// server ends the watch: under load the API server ends a watch that
// falls too far behind (as Kubernetes does), and the benchmark's count
// must not stop there.
func followPods(ctx context.Context, b *testing.B, c *ctrltest.Cluster, ns string) watch.Interface {
	b.Helper()
	pods := c.Stream.CoreV1().Pods(ns)
	list, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	w, err := watchtools.NewRetryWatcherWithContext(ctx, list.ResourceVersion, &cache.ListWatch{
		WatchFuncWithContext: func(ctx context.Context, opts metav1.ListOptions) (watch.Interface, error) {
			return pods.Watch(ctx, opts)
		},
	})
	if err != nil {
		b.Fatal(err)
	}
	return w
}

func mustQuantity(s string) resource.Quantity { return resource.MustParse(s) }
