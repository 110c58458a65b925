package serverrss

import (
	"cmp"
	"context"
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"strings"
	"sync"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/rest"

	"github.com/tug-sh/tug/bench/apilatency"
)

var (
	flagPods   = flag.Int("serverrss.pods", 1000, "pods to create through the API")
	flagSettle = flag.Duration("serverrss.settle", 10*time.Second, "wait before each reading (controllers start, caches fill, GC runs)")
)

// rssGoal is the goal for the server's RSS with 1,000 pods.
const rssGoal = 150 << 20

// BenchmarkServerRSS runs the real tug binary as `tug server` (embedded
// etcd, API server, controllers) on a random loopback port with a fresh
// data directory, reads its memory idle (the baseline), creates
// -serverrss.pods pods through client-go, and reads it again. Pods stay
// Pending (there are no nodes), so the scheduler also records its
// FailedScheduling events, as it would on a cluster without capacity.
// Reported in MiB: RSS, PSS, Go heap in use, idle and with the pods, and
// the file-backed (the binary) and anonymous parts of the RSS with the
// pods; the peak RSS (VmHWM); the with-pods/idle RSS ratio. The binary is
// evicted from the page cache before the server starts (EvictPageCache). Goal: RSS ≤ 150 MiB with
// 1,000 pods.
//
//	go test -run '^$' -bench ServerRSS -benchtime 1x ./bench/serverrss/
func BenchmarkServerRSS(b *testing.B) {
	bin := tugBinary(b)
	ctx := b.Context()
	var idle, full []Memory
	var peak int64
	var createRate float64
	for range b.N {
		if err := EvictPageCache(bin); err != nil {
			b.Fatal(err)
		}
		srv := startServer(b, bin)
		b.Logf("tug server pid %d at %s; settling %s", srv.PID, srv.URL, *flagSettle)
		idle = append(idle, settledMemory(b, srv))
		i := idle[len(idle)-1]
		b.Logf("idle: RSS %.1f MiB (file %.1f, anon %.1f), PSS %.1f MiB, Go heap %.1f MiB", MiB(i.RSS), MiB(i.RSSFile), MiB(i.RSSAnon), MiB(i.PSS), MiB(i.GoHeap))

		t0 := time.Now()
		createPods(b, srv.URL, *flagPods)
		createRate = float64(*flagPods) / time.Since(t0).Seconds()
		b.Logf("created %d pods in %s; settling %s", *flagPods, time.Since(t0).Round(time.Millisecond), *flagSettle)
		full = append(full, settledMemory(b, srv))
		m := full[len(full)-1]
		b.Logf("with %d pods: RSS %.1f MiB (file %.1f, anon %.1f), PSS %.1f MiB, Go heap %.1f MiB, peak RSS %.1f MiB", *flagPods, MiB(m.RSS), MiB(m.RSSFile), MiB(m.RSSAnon), MiB(m.PSS), MiB(m.GoHeap), MiB(m.HWM))
		peak = max(peak, m.HWM)
		if exited, err := srv.Exited(); exited {
			b.Fatalf("tug server exited during the benchmark: %v", err)
		}
		if err := srv.Stop(ctx); err != nil {
			b.Errorf("stopping tug server: %v", err)
		}
	}
	i, f := medianMemory(idle), medianMemory(full)
	b.ReportMetric(MiB(i.RSS), "idle-rss-MiB")
	b.ReportMetric(MiB(i.PSS), "idle-pss-MiB")
	b.ReportMetric(MiB(i.GoHeap), "idle-heap-MiB")
	b.ReportMetric(MiB(f.RSS), "pods-rss-MiB")
	b.ReportMetric(MiB(f.PSS), "pods-pss-MiB")
	b.ReportMetric(MiB(f.GoHeap), "pods-heap-MiB")
	b.ReportMetric(MiB(f.RSSFile), "pods-file-MiB")
	b.ReportMetric(MiB(f.RSSAnon), "pods-anon-MiB")
	b.ReportMetric(MiB(peak), "peak-rss-MiB")
	b.ReportMetric(float64(f.RSS)/float64(i.RSS), "rss-ratio")
	b.ReportMetric(createRate, "creates-per-s")
	verdict := "PASS"
	if f.RSS > rssGoal {
		verdict = "MISS"
	}
	b.Logf("tug server RSS with %d pods = %.1f MiB = %.2f× idle (%.1f MiB); goal ≤ %d MiB: %s",
		*flagPods, MiB(f.RSS), float64(f.RSS)/float64(i.RSS), MiB(i.RSS), rssGoal>>20, verdict)
}

// TestServerLifecycle checks the harness on the real binary: the server
// starts on a random port, answers the API, its memory reads, and Stop
// ends exactly the process it started.
func TestServerLifecycle(t *testing.T) {
	srv := startServer(t, tugBinary(t))
	m, err := srv.Memory(t.Context())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.GoHeap <= 0 {
		t.Errorf("implausible reading of tug server: %+v", m)
	}
	createPods(t, srv.URL, 3)
	if err := srv.Stop(t.Context()); err != nil {
		t.Fatalf("stop: %v", err)
	}
	if exited, _ := srv.Exited(); !exited {
		t.Fatal("server still running after Stop")
	}
	if _, err := os.Stat(fmt.Sprintf("/proc/%d/status", srv.PID)); err == nil {
		// The pid may have been reused, but not by a tug server of ours.
		if b, _ := os.ReadFile(fmt.Sprintf("/proc/%d/cmdline", srv.PID)); strings.Contains(string(b), "server") && strings.Contains(string(b), "tug") {
			t.Errorf("pid %d still runs %q after Stop", srv.PID, b)
		}
	}
}

// tugBinary is $TUG_BENCH_BINARY, or ./cmd/tug built into a temporary
// directory.
func tugBinary(tb testing.TB) string {
	tb.Helper()
	if p := os.Getenv("TUG_BENCH_BINARY"); p != "" {
		abs, err := filepath.Abs(p)
		if err != nil {
			tb.Fatal(err)
		}
		if _, err := os.Stat(abs); err != nil {
			tb.Fatalf("TUG_BENCH_BINARY: %v (run make build, or unset it to build one)", err)
		}
		return abs
	}
	out, err := exec.Command("go", "env", "GOMOD").Output()
	root := filepath.Dir(strings.TrimSpace(string(out)))
	if err != nil || root == "." {
		// go test runs in the package directory, two levels below the root.
		root, _ = filepath.Abs("../..")
	}
	tb.Logf("building ./cmd/tug (set TUG_BENCH_BINARY to use a built one)")
	ctx, cancel := context.WithTimeout(tb.Context(), 10*time.Minute)
	defer cancel()
	bin, err := BuildTug(ctx, root, tb.TempDir())
	if err != nil {
		tb.Fatal(err)
	}
	return bin
}

func startServer(tb testing.TB, bin string) *Server {
	tb.Helper()
	srv, err := StartServer(tb.Context(), ServerConfig{Binary: bin, DataDir: tb.TempDir(), Logger: slog.New(slog.DiscardHandler)})
	if err != nil {
		tb.Fatal(err)
	}
	tb.Cleanup(func() {
		if err := srv.Stop(context.Background()); err != nil {
			tb.Logf("stopping tug server: %v", err)
		}
	})
	return srv
}

// settledMemory waits -serverrss.settle, then reads the server's memory
// three times a second apart and keeps the median RSS reading.
func settledMemory(b *testing.B, srv *Server) Memory {
	b.Helper()
	select {
	case <-time.After(*flagSettle):
	case <-b.Context().Done():
		b.Fatal(b.Context().Err())
	}
	var ms []Memory
	for i := range 3 {
		if i > 0 {
			time.Sleep(time.Second)
		}
		m, err := srv.Memory(b.Context())
		if err != nil {
			b.Fatal(err)
		}
		ms = append(ms, m)
	}
	return medianMemory(ms)
}

func medianMemory(ms []Memory) Memory {
	s := slices.Clone(ms)
	slices.SortFunc(s, func(a, b Memory) int { return cmp.Compare(a.RSS, b.RSS) })
	return s[len(s)/2]
}

// createPods creates n pods in a fresh namespace through client-go, eight
// at a time.
func createPods(tb testing.TB, url string, n int) {
	tb.Helper()
	ctx := tb.Context()
	cs, err := kubernetes.NewForConfig(&rest.Config{Host: url, QPS: -1, Timeout: 30 * time.Second})
	if err != nil {
		tb.Fatal(err)
	}
	var buf [4]byte
	if _, err := rand.Read(buf[:]); err != nil {
		tb.Fatal(err)
	}
	ns := "serverrss-" + hex.EncodeToString(buf[:])
	if _, err := cs.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		tb.Fatalf("creating namespace %s: %v", ns, err)
	}
	pods := cs.CoreV1().Pods(ns)
	sem := make(chan struct{}, 8)
	errc := make(chan error, n)
	var wg sync.WaitGroup
	for i := range n {
		sem <- struct{}{}
		wg.Go(func() {
			defer func() { <-sem }()
			if _, err := pods.Create(ctx, apilatency.Pod(fmt.Sprintf("pod-%05d", i)), metav1.CreateOptions{}); err != nil {
				errc <- err
			}
		})
	}
	wg.Wait()
	close(errc)
	if err := <-errc; err != nil {
		tb.Fatalf("creating pods: %v", err)
	}
	l, err := pods.List(ctx, metav1.ListOptions{})
	if err != nil {
		tb.Fatal(err)
	}
	if len(l.Items) != n {
		tb.Fatalf("listed %d pods after creating %d", len(l.Items), n)
	}
}
