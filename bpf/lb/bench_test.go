package lb

import (
	"encoding/json"
	"slices"
	"strconv"
	"strings"
	"testing"
	"time"

	"github.com/cilium/ebpf"
	"github.com/tug-sh/tug/bpf/lb/lbtest"
	"golang.org/x/sys/unix"
)

// BenchmarkConnectLatency measures connect + one request + its response
// through the VIP and straight to the pod IPs (rotating over the same
// backends as the VIP's round-robin), alternating, in one client
// process in the test cgroup: the same backends, the same run. b.N is the
// number of connections to each. Reported: p50 and p99 of each, and the
// VIP/pod ratios (goal: at most 1.05).
//
//	go test -run '^$' -bench ConnectLatency -benchtime 5000x ./bpf/lb/
func BenchmarkConnectLatency(b *testing.B) {
	env := newTestEnv(b)
	bes := env.backends(b, 3, 8080, false)
	fe := Frontend{Address: vip, Port: 80, Protocol: TCP}
	if err := env.dp.Maps().UpsertService(Service{Frontend: fe, Backends: bes}); err != nil {
		b.Fatal(err)
	}
	// Straight to the same pods, in rotation as the VIP's round-robin.
	pods := make([]string, len(bes))
	for i, be := range bes {
		pods[i] = be.String()
	}
	pod := strings.Join(pods, ",")
	// Warm both paths (ARP-free local routes, but caches and the counter).
	env.client.Run(b, "latency", addrOf(fe), pod, "50")

	// Also measure the programs themselves (kernel.bpf_stats_enabled, on
	// only while this handle is open).
	stats, err := ebpf.EnableStats(uint32(unix.BPF_STATS_RUN_TIME))
	if err != nil {
		b.Fatalf("enable BPF run-time stats: %v", err)
	}
	defer stats.Close()
	before := programStats(b, env.dp)

	b.ResetTimer()
	out := env.client.Run(b, "latency", addrOf(fe), pod, strconv.Itoa(b.N))
	b.StopTimer()
	after := programStats(b, env.dp)
	for _, h := range []string{"connect4", "getpeername4"} {
		runs := after[h].RunCount - before[h].RunCount
		if runs > 0 {
			b.ReportMetric(float64(after[h].Runtime-before[h].Runtime)/float64(runs), h+"-ns/run")
		}
	}
	var lat lbtest.Latencies
	if err := json.Unmarshal(out, &lat); err != nil {
		b.Fatal(err)
	}
	vip50, vip99 := percentile(lat.VIP, 50), percentile(lat.VIP, 99)
	pod50, pod99 := percentile(lat.Pod, 50), percentile(lat.Pod, 99)
	b.ReportMetric(float64(vip50.Nanoseconds()), "vip-p50-ns")
	b.ReportMetric(float64(vip99.Nanoseconds()), "vip-p99-ns")
	b.ReportMetric(float64(pod50.Nanoseconds()), "pod-p50-ns")
	b.ReportMetric(float64(pod99.Nanoseconds()), "pod-p99-ns")
	b.ReportMetric(float64(vip50)/float64(pod50), "p50-ratio")
	b.ReportMetric(float64(vip99)/float64(pod99), "p99-ratio")
}

func programStats(b *testing.B, dp *Datapath) map[string]*ebpf.ProgramStats {
	out := map[string]*ebpf.ProgramStats{}
	for _, h := range hooks() {
		st, err := h.prog(&dp.objs.lbPrograms).Stats()
		if err != nil {
			b.Fatal(err)
		}
		out[h.name] = st
	}
	return out
}

func percentile(ds []time.Duration, p int) time.Duration {
	if len(ds) == 0 {
		return 0
	}
	s := slices.Clone(ds)
	slices.Sort(s)
	i := (len(s)*p + 99) / 100
	return s[max(i-1, 0)]
}
