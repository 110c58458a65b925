package endpoints_test

import (
	"context"
	"fmt"
	"net/netip"
	"sort"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tug-sh/tug/control/controller/internal/ctrltest"
	"github.com/tug-sh/tug/control/controller/internal/podstate"
	"github.com/tug-sh/tug/control/controller/manager"
)

// endpointsWatch follows one Endpoints object and reports, for an IP,
// when it was last seen ready or not ready.
type endpointsWatch struct {
	mu      sync.Mutex
	ready   map[string]bool
	changed chan struct{}
}

func (e *endpointsWatch) follow(w watch.Interface, name string) {
	for ev := range w.ResultChan() {
		ep, ok := ev.Object.(*v1.Endpoints)
		if !ok || ep.Name != name {
			continue
		}
		m := map[string]bool{}
		for _, s := range ep.Subsets {
			for _, a := range s.Addresses {
				m[a.IP] = true
			}
			for _, a := range s.NotReadyAddresses {
				m[a.IP] = false
			}
		}
		e.mu.Lock()
		e.ready = m
		close(e.changed)
		e.changed = make(chan struct{})
		e.mu.Unlock()
	}
}

// waitFor blocks until ip is listed with the given readiness.
func (e *endpointsWatch) waitFor(ip string, ready bool, timeout time.Duration) error {
	deadline := time.After(timeout)
	for {
		e.mu.Lock()
		r, listed := e.ready[ip]
		ch := e.changed
		e.mu.Unlock()
		if listed && r == ready {
			return nil
		}
		select {
		case <-ch:
		case <-deadline:
			return fmt.Errorf("%s not listed ready=%v within %v", ip, ready, timeout)
		}
	}
}

// BenchmarkEndpointsUpdateDelay measures the time from a pod's Ready
// condition changing (its status write returning) to the Service's
// Endpoints showing the change through a watch, with 100 pods behind the
// Service on 10 hollow nodes. ns/op is the mean delay; p99-ms its 99th
// percentile.
func BenchmarkEndpointsUpdateDelay(b *testing.B) {
	const pods = 100
	ctx := context.Background()
	c := ctrltest.Start(b)
	c.AddNodes(ctx, ctrltest.Name("bench"), 10, ctrltest.NodeOptions{
		CPU: "32", Memory: "128Gi", Heartbeat: 10 * time.Second, SharedWatch: true,
		CIDRBase: netip.MustParsePrefix("10.200.0.0/24"),
	})
	c.RunControllers(manager.Options{Controllers: []string{"scheduler", "replication", "endpoints"}})
	ns := c.Namespace(ctx, "epbench")
	svc := &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: ns, Name: "web"},
		Spec: v1.ServiceSpec{Selector: map[string]string{"app": "web"},
			Ports: []v1.ServicePort{{Port: 80, TargetPort: intstr.FromString("http"), Protocol: v1.ProtocolTCP}}},
	}
	if _, err := c.Client.CoreV1().Services(ns).Create(ctx, svc, metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	if _, err := c.Client.CoreV1().ReplicationControllers(ns).Create(ctx, ctrltest.RC(ns, "web", pods), metav1.CreateOptions{}); err != nil {
		b.Fatal(err)
	}
	ew := &endpointsWatch{changed: make(chan struct{})}
	w, err := c.Stream.CoreV1().Endpoints(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.Cleanup(w.Stop)
	go ew.follow(w, "web")
	var running []v1.Pod
	ctrltest.Eventually(b, 2*time.Minute, func() (bool, string) {
		running = running[:0]
		for _, p := range c.Pods(ctx, ns, "app=web") {
			if podstate.IsReady(&p) && p.Status.PodIP != "" {
				running = append(running, p)
			}
		}
		return len(running) == pods, fmt.Sprintf("%d of %d pods ready", len(running), pods)
	})
	for _, p := range running {
		if err := ew.waitFor(p.Status.PodIP, true, time.Minute); err != nil {
			b.Fatal(err)
		}
	}

	var delays []time.Duration
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		b.StopTimer()
		pod, err := c.Client.CoreV1().Pods(ns).Get(ctx, running[i%pods].Name, metav1.GetOptions{})
		if err != nil {
			b.Fatal(err)
		}
		ready := !podstate.IsReady(pod)
		for j := range pod.Status.Conditions {
			if pod.Status.Conditions[j].Type == v1.PodReady {
				pod.Status.Conditions[j].Status = map[bool]v1.ConditionStatus{true: v1.ConditionTrue, false: v1.ConditionFalse}[ready]
			}
		}
		b.StartTimer()
		if _, err := c.Client.CoreV1().Pods(ns).UpdateStatus(ctx, pod, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
		start := time.Now()
		if err := ew.waitFor(pod.Status.PodIP, ready, 30*time.Second); err != nil {
			b.Fatal(err)
		}
		delays = append(delays, time.Since(start))
	}
	b.StopTimer()
	sort.Slice(delays, func(i, j int) bool { return delays[i] < delays[j] })
	b.ReportMetric(float64(delays[len(delays)*99/100].Microseconds())/1000, "p99-ms")
	b.Logf("%d readiness flips behind a Service of %d pods: Endpoints updated after p50 %v, p99 %v, max %v",
		len(delays), pods, delays[len(delays)/2], delays[len(delays)*99/100], delays[len(delays)-1])
}
