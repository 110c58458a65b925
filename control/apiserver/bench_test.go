package apiserver_test

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/http"
	"syscall"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/apiserver"
	"github.com/tug-sh/tug/control/apiserver/apitest"
)

// The benchmarks drive the server over loopback HTTP with client-go, on an
// embedded etcd that syncs to disk: they measure the whole write and read
// paths as a client sees them.

func BenchmarkCreatePod(b *testing.B) {
	env := apitest.Start(b)
	pods := env.Client.CoreV1().Pods("default")
	c := context.Background()
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		if _, err := pods.Create(c, testPod(fmt.Sprintf("p%d", i)), metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

func BenchmarkUpdatePod(b *testing.B) {
	env := apitest.Start(b)
	pods := env.Client.CoreV1().Pods("default")
	c := context.Background()
	p, err := pods.Create(c, testPod("p"), metav1.CreateOptions{})
	if err != nil {
		b.Fatal(err)
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		p.Labels["n"] = fmt.Sprint(i)
		if p, err = pods.Update(c, p, metav1.UpdateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
}

// BenchmarkList lists 500 pods (kubectl's page size), with and without a
// label selector that matches a tenth of them: consistent lists, served
// from the watch cache once it has caught up with etcd.
func BenchmarkList(b *testing.B) { benchmarkList(b) }

func benchmarkList(b *testing.B, opts ...apitest.Option) {
	env := apitest.Start(b, opts...)
	pods := env.Client.CoreV1().Pods("default")
	c := context.Background()
	for i := 0; i < 500; i++ {
		p := testPod(fmt.Sprintf("p%03d", i))
		p.Labels["tenth"] = fmt.Sprint(i%10 == 0)
		if _, err := pods.Create(c, p, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for _, sel := range []string{"", "tenth=true"} {
		b.Run("selector="+sel, func(b *testing.B) {
			for i := 0; i < b.N; i++ {
				if _, err := pods.List(c, metav1.ListOptions{LabelSelector: sel, Limit: 500}); err != nil {
					b.Fatal(err)
				}
			}
		})
	}
}

// BenchmarkListFromEtcd is BenchmarkList with the watch cache disabled:
// every list reads and decodes the pods from etcd (as before the cache).
func BenchmarkListFromEtcd(b *testing.B) {
	benchmarkList(b, apitest.WithConfig(func(c *apiserver.Config) { c.WatchCacheSize = -1 }))
}

// BenchmarkWatchFanout has 100 node watches (fieldSelector
// spec.nodeName, as node agents have) while pods are created on the nodes
// in turn: pods/s until every watcher saw its pods, and the process CPU
// (server, etcd and clients) per pod. "cache" serves the watches from the
// watch cache, "etcd" gives each its own etcd watch (as before the cache).
func BenchmarkWatchFanout(b *testing.B) {
	for _, tc := range []struct {
		name string
		size int
	}{{"cache", 0}, {"etcd", -1}} {
		b.Run(tc.name, func(b *testing.B) {
			env := apitest.Start(b, apitest.WithConfig(func(c *apiserver.Config) { c.WatchCacheSize = tc.size }))
			benchmarkWatchFanout(b, env, 100)
		})
	}
}

func benchmarkWatchFanout(b *testing.B, env *apitest.Env, nodes int) {
	c := context.Background()
	ctx, cancel := context.WithCancel(c)
	defer cancel()
	rev, err := env.Store.Revision(c)
	if err != nil {
		b.Fatal(err)
	}
	// Each watcher counts its ADDED events and reports when it has want.
	want := make([]int, nodes)
	for i := 0; i < b.N; i++ {
		want[i%nodes]++
	}
	done := make(chan struct{}, nodes)
	for n := 0; n < nodes; n++ {
		req, err := http.NewRequestWithContext(ctx, "GET", fmt.Sprintf("%s/api/v1/pods?watch=true&resourceVersion=%d&fieldSelector=spec.nodeName%%3Dnode-%03d", env.URL, rev, n), nil)
		if err != nil {
			b.Fatal(err)
		}
		resp, err := http.DefaultClient.Do(req)
		if err != nil {
			b.Fatal(err)
		}
		defer resp.Body.Close()
		go func(n int) {
			sc := bufio.NewScanner(resp.Body)
			sc.Buffer(make([]byte, 1<<20), 1<<20)
			seen := 0
			if want[n] == 0 {
				done <- struct{}{}
			}
			for sc.Scan() {
				if bytes.HasPrefix(sc.Bytes(), []byte(`{"type":"ADDED"`)) {
					if seen++; seen == want[n] {
						done <- struct{}{}
					}
				}
			}
		}(n)
	}
	pods := env.Client.CoreV1().Pods("default")
	b.ResetTimer()
	cpu0, start := cpuTime(), time.Now()
	for i := 0; i < b.N; i++ {
		p := testPod(fmt.Sprintf("p%d", i))
		p.Spec.NodeName = fmt.Sprintf("node-%03d", i%nodes)
		if _, err := pods.Create(c, p, metav1.CreateOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	for n := 0; n < nodes; n++ {
		select {
		case <-done:
		case <-time.After(5 * time.Minute):
			b.Fatalf("%d of %d watchers saw all their pods after 5 minutes", n, nodes)
		}
	}
	elapsed, cpu := time.Since(start), cpuTime()-cpu0
	b.StopTimer()
	b.ReportMetric(float64(b.N)/elapsed.Seconds(), "pods/s")
	b.ReportMetric(float64(cpu.Microseconds())/1000/float64(b.N), "cpu-ms/pod")
}

// BenchmarkWatchListStart starts a watch-list (sendInitialEvents, as
// client-go's informers do) of 500 pods and reads it to the
// initial-events-end bookmark: from the watch cache, and from etcd.
func BenchmarkWatchListStart(b *testing.B) {
	for _, tc := range []struct {
		name string
		size int
	}{{"cache", 0}, {"etcd", -1}} {
		b.Run(tc.name, func(b *testing.B) {
			env := apitest.Start(b, apitest.WithConfig(func(c *apiserver.Config) { c.WatchCacheSize = tc.size }))
			pods := env.Client.CoreV1().Pods("default")
			c := context.Background()
			for i := 0; i < 500; i++ {
				if _, err := pods.Create(c, testPod(fmt.Sprintf("p%03d", i)), metav1.CreateOptions{}); err != nil {
					b.Fatal(err)
				}
			}
			b.ResetTimer()
			for i := 0; i < b.N; i++ {
				req, err := http.NewRequestWithContext(c, "GET", env.URL+"/api/v1/pods?watch=true&sendInitialEvents=true&resourceVersionMatch=NotOlderThan&allowWatchBookmarks=true", nil)
				if err != nil {
					b.Fatal(err)
				}
				resp, err := http.DefaultClient.Do(req)
				if err != nil {
					b.Fatal(err)
				}
				sc := bufio.NewScanner(resp.Body)
				sc.Buffer(make([]byte, 1<<20), 1<<20)
				added := 0
				for sc.Scan() && !bytes.HasPrefix(sc.Bytes(), []byte(`{"type":"BOOKMARK"`)) {
					added++
				}
				resp.Body.Close()
				if added != 500 {
					b.Fatalf("%d initial events, want 500", added)
				}
			}
		})
	}
}

// cpuTime is the CPU time of this process so far.
func cpuTime() time.Duration {
	var ru syscall.Rusage
	if err := syscall.Getrusage(syscall.RUSAGE_SELF, &ru); err != nil {
		return 0
	}
	return time.Duration(ru.Utime.Nano() + ru.Stime.Nano())
}
