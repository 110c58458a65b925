package replication_test

import (
	"context"
	"fmt"
	"net/netip"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/tools/cache"

	"github.com/tug-sh/tug/control/controller/internal/ctrltest"
	"github.com/tug-sh/tug/control/controller/internal/podstate"
	"github.com/tug-sh/tug/control/controller/manager"
)

// runningSet counts, from a watch, the active Running pods of a namespace
// and signals when the count reaches want.
type runningSet struct {
	mu      sync.Mutex
	running map[types.UID]bool
	want    int
	reached chan struct{}
}

func (r *runningSet) observe(obj any, deleted bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	p, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	r.mu.Lock()
	defer r.mu.Unlock()
	if !deleted && podstate.IsActive(p) && p.Status.Phase == v1.PodRunning {
		r.running[p.UID] = true
	} else {
		delete(r.running, p.UID)
	}
	if len(r.running) == r.want && r.reached != nil {
		close(r.reached)
		r.reached = nil
	}
}

// await arms the signal for want running pods.
func (r *runningSet) await(want int) <-chan struct{} {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.want = want
	ch := make(chan struct{})
	if len(r.running) == want {
		close(ch)
		return ch
	}
	r.reached = ch
	return ch
}

// anyOf reports whether any of the pods is still counted.
func (r *runningSet) anyOf(pods []v1.Pod) bool {
	r.mu.Lock()
	defer r.mu.Unlock()
	for _, p := range pods {
		if r.running[p.UID] {
			return true
		}
	}
	return false
}

func (r *runningSet) count() int {
	r.mu.Lock()
	defer r.mu.Unlock()
	return len(r.running)
}

// BenchmarkConvergenceAfterLosingTenPercent deletes 10% of an RC's 1,000
// running pods (on 100 hollow nodes) and measures the time until 1,000
// active pods run again: the deletions (graceful, confirmed by the hollow
// nodes), the replacements' creation, scheduling, binding and start.
func BenchmarkConvergenceAfterLosingTenPercent(b *testing.B) {
	const nodes, replicas, lost = 100, 1000, 100
	ctx := context.Background()
	c := ctrltest.Start(b)
	c.AddNodes(ctx, ctrltest.Name("bench"), nodes, ctrltest.NodeOptions{
		CPU: "32", Memory: "128Gi", Heartbeat: 10 * time.Second, SharedWatch: true,
		CIDRBase: netip.MustParsePrefix("10.200.0.0/24"),
	})
	c.RunControllers(manager.Options{Controllers: []string{"scheduler", "replication"}})
	ns := c.Namespace(ctx, "conv")

	set := &runningSet{running: map[types.UID]bool{}}
	factory := informers.NewSharedInformerFactoryWithOptions(c.Stream, 0, informers.WithNamespace(ns))
	inf := factory.Core().V1().Pods().Informer()
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { set.observe(obj, false) },
		UpdateFunc: func(_, cur any) { set.observe(cur, false) },
		DeleteFunc: func(obj any) { set.observe(obj, true) },
	}); err != nil {
		b.Fatal(err)
	}
	stop := make(chan struct{})
	factory.Start(stop)
	b.Cleanup(func() { close(stop); factory.Shutdown() })

	full := set.await(replicas)
	if _, err := c.Client.CoreV1().ReplicationControllers(ns).Create(ctx, ctrltest.RC(ns, "web", replicas), metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	select {
	case <-full:
	case <-time.After(2 * time.Minute):
		b.Fatalf("only %d of %d pods running after 2 minutes", set.count(), replicas)
	}

	var total, totalCPU time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pods := c.Pods(ctx, ns, "app=web")
		var victims []v1.Pod
		for _, p := range pods {
			if podstate.IsActive(&p) && len(victims) < lost {
				victims = append(victims, p)
			}
		}
		b.StartTimer()
		cpu0 := ctrltest.CPUTime()
		start := time.Now()
		var wg sync.WaitGroup
		for _, p := range victims {
			wg.Go(func() {
				if err := c.Client.CoreV1().Pods(ns).Delete(ctx, p.Name, metav1.DeleteOptions{}); err != nil {
					b.Error(err)
				}
			})
		}
		wg.Wait()
		// Wait for the watch to show the victims gone (terminating pods
		// are not active), then for the count to be full again.
		for set.anyOf(victims) {
			time.Sleep(time.Millisecond)
		}
		select {
		case <-set.await(replicas):
		case <-time.After(2 * time.Minute):
			b.Fatalf("%d of %d pods running 2 minutes after deleting %d", set.count(), replicas, lost)
		}
		elapsed := time.Since(start)
		cpu := ctrltest.CPUTime() - cpu0
		total += elapsed
		totalCPU += cpu
		b.Logf("deleted %d of %d running pods: %d running again after %v (%s)", lost, replicas, replicas, elapsed.Round(time.Millisecond),
			fmt.Sprintf("%.2f CPU cores busy", cpu.Seconds()/elapsed.Seconds()))
	}
	b.ReportMetric(total.Seconds()*1000/float64(b.N), "ms-to-converge")
	b.ReportMetric(float64(totalCPU.Microseconds())/1000/float64(b.N*lost), "cpu-ms/replaced-pod")
}
