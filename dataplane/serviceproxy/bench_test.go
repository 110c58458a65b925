package serviceproxy

import (
	"context"
	"fmt"
	"slices"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
)

// BenchmarkEndpointsChange measures the programming latency of one
// Endpoints change (a pod replaced) with 1, 1,000 and 10,000 Services of
// three backends each already programmed, into the real maps: from the
// reconciler's UpsertEndpoints call to the maps updated. Reported: p50 and
// p99 per change (goal: p99 at most 10 ms at 10,000 Services).
//
//	go test -run '^$' -bench EndpointsChange ./dataplane/serviceproxy/
func BenchmarkEndpointsChange(b *testing.B) {
	for _, n := range []int{1, 1000, 10000} {
		b.Run(fmt.Sprintf("services=%d", n), func(b *testing.B) {
			env := newKernelEnv(b)
			r, err := New(Config{Maps: env.dp.Maps()})
			if err != nil {
				b.Fatal(err)
			}
			services := make([]*corev1.Service, n)
			eps := make([]*corev1.Endpoints, n)
			for i := range n {
				name := fmt.Sprintf("svc-%d", i)
				services[i] = webService(name, fmt.Sprintf("10.96.%d.%d", (i+1)>>8, (i+1)&0xff))
				eps[i] = endpoints(name, subset(httpPort, podIPs(i, 0)))
			}
			start := time.Now()
			if err := r.Resync(context.Background(), services, eps); err != nil {
				b.Fatal(err)
			}
			b.Logf("programmed %d services in %s", n, time.Since(start))

			var lat []time.Duration
			i := 0
			for b.Loop() {
				// Replace one pod of one Service, round-robin over them.
				svc := i % n
				e := endpoints(fmt.Sprintf("svc-%d", svc), subset(httpPort, podIPs(svc, i/n+1)))
				t0 := time.Now()
				if err := r.UpsertEndpoints(e); err != nil {
					b.Fatal(err)
				}
				lat = append(lat, time.Since(t0))
				i++
			}
			slices.Sort(lat)
			b.ReportMetric(float64(lat[len(lat)/2].Nanoseconds()), "p50-ns")
			b.ReportMetric(float64(lat[(len(lat)*99+99)/100-1].Nanoseconds()), "p99-ns")
		})
	}
}

// podIPs are the three pod addresses of Service i at generation g: each
// generation replaces the third pod.
func podIPs(i, g int) []string {
	base := fmt.Sprintf("10.%d.%d.", 128+i>>8&0x3f, i&0xff)
	return []string{base + "1", base + "2", base + fmt.Sprint(3+g%250)}
}
