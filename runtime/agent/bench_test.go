package agent_test

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"os/exec"
	"os/signal"
	"path/filepath"
	"slices"
	"strconv"
	"strings"
	"sync"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/rest"

	"github.com/tug-sh/tug/bench/serverrss"
	"github.com/tug-sh/tug/bpf/lb"
	"github.com/tug-sh/tug/bpf/lb/lbtest"
	"github.com/tug-sh/tug/runtime/agent"
	"github.com/tug-sh/tug/runtime/agent/agenttest"
)

// childAgentEnv carries the configuration of an agent this test binary
// runs as a child process (for measuring its memory alone).
const childAgentEnv = "TUG_AGENT_TEST_CHILD"

// childConfig is the JSON form of the child agent's configuration.
type childConfig struct {
	Server, NodeName, NodeIP, DataDir, RunDir, CgroupParent, HostNetns, Bridge, PodCIDR string
}

// runChildAgent runs an agent until SIGTERM.
func runChildAgent(cfgJSON string) int {
	var cc childConfig
	if err := json.Unmarshal([]byte(cfgJSON), &cc); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 2
	}
	ctx, stop := signal.NotifyContext(context.Background(), syscall.SIGTERM, os.Interrupt)
	defer stop()
	a, err := agent.New(agent.Config{
		RestConfig: &rest.Config{Host: cc.Server, QPS: 50, Burst: 100},
		NodeName:   cc.NodeName, NodeIP: netip.MustParseAddr(cc.NodeIP), Listen: "127.0.0.1:0",
		DataDir: cc.DataDir, RunDir: cc.RunDir, CgroupParent: cc.CgroupParent,
		HostNetns: cc.HostNetns, Bridge: cc.Bridge, PodCIDR: netip.MustParsePrefix(cc.PodCIDR),
	})
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	if err := a.Run(ctx); err != nil {
		fmt.Fprintln(os.Stderr, err)
		return 1
	}
	return 0
}

// startupLatencies creates the pods at once and returns, for each, the
// time from its create request to the watch showing it Running.
func startupLatencies(b *testing.B, c *cluster, pods []*v1.Pod) []time.Duration {
	b.Helper()
	ctx := testCtx(b, 5*time.Minute)
	w, err := c.client().CoreV1().Pods("default").Watch(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	defer w.Stop()
	var mu sync.Mutex
	created := map[string]time.Time{}
	var wg sync.WaitGroup
	for _, p := range pods {
		wg.Add(1)
		go func() {
			defer wg.Done()
			mu.Lock()
			created[p.Name] = time.Now()
			mu.Unlock()
			if _, err := c.client().CoreV1().Pods("default").Create(ctx, p, metav1.CreateOptions{}); err != nil {
				b.Error(err)
			}
		}()
	}
	var out []time.Duration
	done := map[string]bool{}
	for len(out) < len(pods) {
		select {
		case <-ctx.Done():
			b.Fatalf("%d of %d pods running", len(out), len(pods))
		case ev, ok := <-w.ResultChan():
			if !ok {
				b.Fatal("watch closed")
			}
			p, isPod := ev.Object.(*v1.Pod)
			if !isPod || ev.Type == watch.Deleted || done[p.Name] || !running(p) {
				continue
			}
			now := time.Now()
			mu.Lock()
			t0, ok := created[p.Name]
			mu.Unlock()
			if !ok {
				continue
			}
			done[p.Name] = true
			out = append(out, now.Sub(t0))
		}
	}
	wg.Wait()
	return out
}

func percentile(ds []time.Duration, p float64) time.Duration {
	s := slices.Clone(ds)
	slices.Sort(s)
	return s[int(float64(len(s)-1)*p)]
}

func ms(d time.Duration) float64 { return float64(d) / float64(time.Millisecond) }

func deleteAll(b *testing.B, c *cluster) {
	b.Helper()
	ctx := testCtx(b, 5*time.Minute)
	list, err := c.client().CoreV1().Pods("default").List(ctx, metav1.ListOptions{})
	if err != nil {
		b.Fatal(err)
	}
	grace := int64(0)
	for _, p := range list.Items {
		_ = c.client().CoreV1().Pods("default").Delete(ctx, p.Name, metav1.DeleteOptions{GracePeriodSeconds: &grace})
	}
	for _, p := range list.Items {
		waitGone(b, ctx, c, "default", p.Name)
	}
}

// waitIdle waits until the agent has cleaned up after every pod (the next
// round should not compete with the last one's cleanup).
func waitIdle(b *testing.B, n *node) {
	ctx := testCtx(b, 5*time.Minute)
	waitFor(b, ctx, "the agent idle", func() bool {
		ents, _ := os.ReadDir(filepath.Join(n.cfg.DataDir, "pods"))
		return len(ents) == 0
	})
}

// warmUp runs one pod so the image is present (pulled and unpacked).
func warmUp(b *testing.B, c *cluster, n *node) {
	b.Helper()
	ctx := testCtx(b, 2*time.Minute)
	createPod(b, c, n.pod("warmup", c.busybox("main", "exec sleep 3600")))
	waitPod(b, ctx, c, "default", "warmup", "Running", running)
	deleteAll(b, c)
	waitIdle(b, n)
}

// BenchmarkPodStartup measures pod startup latency with the image present:
// from the create request to the pod observed Running through the API
// (scheduling excluded: pods are created bound). Goal: p99 ≤ 1s.
func BenchmarkPodStartup(b *testing.B) {
	for _, batch := range []int{1, 30} {
		b.Run(fmt.Sprintf("pods=%d", batch), func(b *testing.B) {
			c := newCluster(b)
			n := newNode(b, c, func(cfg *agent.Config) { cfg.Logger = slog.New(slog.DiscardHandler) })
			warmUp(b, c, n)
			var all []time.Duration
			b.ResetTimer()
			for i := range b.N {
				var pods []*v1.Pod
				for j := range batch {
					pods = append(pods, n.pod(fmt.Sprintf("p-%d-%d", i, j), c.busybox("main", "exec sleep 3600")))
				}
				all = append(all, startupLatencies(b, c, pods)...)
				b.StopTimer()
				deleteAll(b, c)
				waitIdle(b, n)
				b.StartTimer()
			}
			b.StopTimer()
			b.ReportMetric(ms(percentile(all, 0.5)), "p50-ms")
			b.ReportMetric(ms(percentile(all, 0.99)), "p99-ms")
			b.ReportMetric(ms(percentile(all, 1)), "max-ms")
		})
	}
}

// memKiB reads a field (VmRSS, RssAnon, RssFile; or Pss from
// smaps_rollup) of a process's memory accounting, in KiB.
func memKiB(pid int, field string) (int, error) {
	file := "status"
	if field == "Pss" {
		file = "smaps_rollup"
	}
	data, err := os.ReadFile(fmt.Sprintf("/proc/%d/%s", pid, file))
	if err != nil {
		return 0, err
	}
	for _, line := range strings.Split(string(data), "\n") {
		if v, ok := strings.CutPrefix(line, field+":"); ok {
			return strconv.Atoi(strings.TrimSuffix(strings.TrimSpace(v), " kB"))
		}
	}
	return 0, fmt.Errorf("no %s for pid %d", field, pid)
}

// BenchmarkAgentRSS measures the resident memory of an agent running 30
// pods, in a process of its own. Goal: ≤ 40 MB. With TUG_BENCH_NODE_BINARY
// (make build-node) and TUG_BENCH_BINARY (make build) it measures `tug
// agent` of each build, as build=node and build=full; without either, this
// test binary in its child-agent role.
func BenchmarkAgentRSS(b *testing.B) {
	ran := false
	for _, build := range []struct{ name, env string }{{"node", "TUG_BENCH_NODE_BINARY"}, {"full", "TUG_BENCH_BINARY"}} {
		if bin := os.Getenv(build.env); bin != "" {
			ran = true
			b.Run("build="+build.name, func(b *testing.B) { agentRSS(b, bin) })
		}
	}
	if !ran {
		agentRSS(b, "")
	}
}

// agentRSS runs `bin agent` (this test binary's child agent when bin is
// "") with 30 pods and reports its memory.
func agentRSS(b *testing.B, bin string) {
	c := newCluster(b)
	dir := b.TempDir()
	ns := agenttest.NewNetns(b, filepath.Join(dir, "node-netns"))
	sfx := agenttest.Suffix()
	cc := childConfig{
		Server: c.api.URL, NodeName: "rss-" + sfx, NodeIP: "127.0.0.1",
		DataDir: filepath.Join(dir, "data"), RunDir: filepath.Join(dir, "run"), CgroupParent: "tug-bench-" + sfx,
		HostNetns: ns, Bridge: "tugb" + sfx, PodCIDR: "10.248.0.0/24",
	}
	cfgJSON, _ := json.Marshal(cc)
	var cmd *exec.Cmd
	var lbc *lb.Config
	if bin != "" {
		// tug agent runs its Service proxy, as deployed; its load balancer
		// goes to a BPF filesystem and a cgroup2 subtree of the
		// benchmark's own, never the node's root cgroup, and is removed
		// in the reset below.
		lbc = rssBenchLB(b, sfx)
		cmd = exec.Command(bin, "agent", "--server", cc.Server, "--node-name", cc.NodeName, "--node-ip", cc.NodeIP,
			"--listen", "127.0.0.1:0", "--data-dir", cc.DataDir, "--run-dir", cc.RunDir, "--cgroup-parent", cc.CgroupParent,
			"--bridge", cc.Bridge, "--pod-cidr", cc.PodCIDR, "--host-netns", cc.HostNetns,
			"--bpffs", lbc.BPFFS, "--bpf-cgroup", lbc.Cgroup)
	} else {
		cmd = exec.Command(os.Args[0])
		cmd.Env = append(os.Environ(), childAgentEnv+"="+string(cfgJSON))
	}
	cmd.Stderr = agenttest.LogWriter(b)
	// Measure the binary as deployed, not as just linked: see
	// serverrss.EvictPageCache.
	if err := serverrss.EvictPageCache(cmd.Path); err != nil {
		b.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		b.Fatal(err)
	}
	b.Cleanup(func() {
		_ = cmd.Process.Signal(syscall.SIGTERM) // the child this benchmark started
		_ = cmd.Wait()
		ctx, cancel := context.WithTimeout(context.Background(), 2*time.Minute)
		defer cancel()
		if err := agent.Reset(ctx, agent.ResetConfig{DataDir: cc.DataDir, RunDir: cc.RunDir, CgroupParent: cc.CgroupParent, Bridge: cc.Bridge, HostNetns: ns, BPF: lbc}); err != nil {
			b.Errorf("cleanup: reset: %v", err)
		}
	})
	n := &node{t: b, cfg: agent.Config{NodeName: cc.NodeName}}
	var pods []*v1.Pod
	for j := range 30 {
		pods = append(pods, n.pod(fmt.Sprintf("rss-%d", j), c.busybox("main", "exec sleep 3600")))
	}
	b.ResetTimer()
	lat := startupLatencies(b, c, pods)
	b.StopTimer()
	// Let the agent settle (probes, heartbeats, a status round) before
	// reading its memory.
	time.Sleep(15 * time.Second)
	// VmRSS counts the binary's file pages mapped into the agent (shared
	// with every process of the same binary: the containers' monitors).
	// tug agent turns read-around off for its binary's read-only mappings
	// and drops what its start-up left cached (cmd/tug trimBinaryPages),
	// so they are the pages it runs plus the fault-around of the cached
	// ones near them. RssAnon is the agent's own memory; PSS shares the
	// file pages among the processes mapping them.
	for _, f := range []struct{ field, unit string }{{"VmRSS", "RSS-MB"}, {"RssAnon", "anon-MB"}, {"RssFile", "file-MB"}, {"Pss", "PSS-MB"}} {
		kib, err := memKiB(cmd.Process.Pid, f.field)
		if err != nil {
			b.Fatal(err)
		}
		b.ReportMetric(float64(kib)/1024, f.unit)
	}
	b.ReportMetric(ms(percentile(lat, 0.99)), "p99-ms")
}

// rssBenchLB makes the BPF filesystem and the cgroup2 directory the agent
// of BenchmarkAgentRSS attaches its load balancer to, both removed in
// cleanup (after the agent's reset, which detaches and unpins).
func rssBenchLB(b *testing.B, sfx string) *lb.Config {
	root := requireLB(b)
	bpffs := lbtest.BPFFS(b)
	cfg := &lb.Config{BPFFS: bpffs, PinDir: filepath.Join(bpffs, "tug"), Cgroup: filepath.Join(root, "tug-rss-"+sfx)}
	if err := os.Mkdir(cfg.Cgroup, 0o755); err != nil {
		b.Fatalf("create the agent's cgroup: %v", err)
	}
	b.Cleanup(func() {
		if err := os.Remove(cfg.Cgroup); err != nil && !errors.Is(err, os.ErrNotExist) {
			b.Errorf("cleanup: remove %s: %v", cfg.Cgroup, err)
		}
	})
	return cfg
}
