package apilatency

import (
	"crypto/rand"
	"encoding/hex"
	"flag"
	"fmt"
	"log/slog"
	"strings"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/apiserver/apitest"
)

// Knobs for shorter or longer runs (bench/cmd/benchrun passes them with
// -args). Defaults are the recorded configuration.
var (
	flagSteady = flag.Duration("apilatency.steady", 60*time.Second, "steady phase length per target (API and raw etcd), split into -apilatency.rounds alternating rounds")
	flagRounds = flag.Int("apilatency.rounds", 3, "alternating API/etcd rounds the steady phase is split into (evens out background load)")
	flagRate   = flag.Float64("apilatency.rate", 20, "writes per second of the steady phase")
	flagStep   = flag.Duration("apilatency.step", 5*time.Second, "length of each concurrency step of the max-rate ramp")
)

// mutatingP99Goal is the goal for create, update and delete p99 (the
// Kubernetes SLO is 1 s).
const mutatingP99Goal = 50 * time.Millisecond

// BenchmarkAPILatency measures pods' create, update, delete, get and list
// latency through client-go against the API server on an embedded etcd,
// and the same requests made straight to that etcd through storage.Store
// (the baseline, same run, same etcd):
//
//   - steady: writes paced at -apilatency.rate (20/s), 20 gets/s and 5
//     lists/s of 100 pods alongside; p50/p99 per op for both, and the
//     API/etcd p99 ratios. Goal: mutating p99 ≤ 50 ms.
//
//   - max: closed-loop writers ramped 1, 2, 4, ... 64 (API and etcd steps
//     alternating) until throughput fails twice to grow by 10% or p99
//     passes 1 s; the highest sustainable writes/s of both, their ratio,
//     each side's latencies at its own maximum, and the API's highest rate
//     whose mutating p99 met the 50 ms goal.
//
//     go test -run '^$' -bench APILatency -benchtime 1x ./bench/apilatency/
func BenchmarkAPILatency(b *testing.B) {
	b.Run("steady", benchSteady)
	b.Run("max", benchMax)
}

func benchSteady(b *testing.B) {
	w := Workload{Logger: benchLogger(b)}
	api, raw := setupTargets(b, w)
	ctx := b.Context()
	apiRec, rawRec := NewRecorder(), NewRecorder()
	rounds := max(*flagRounds, 1)
	per := *flagSteady / time.Duration(rounds)
	// A short warm-up of each target (connections, caches), not recorded.
	for _, t := range []Target{raw, api} {
		if err := RunSteady(ctx, t, NewRecorder(), SteadyConfig{Workload: w, WriteRate: *flagRate, Duration: time.Second, Name: "warmup"}); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	var apiTime time.Duration
	for i := range b.N {
		for r := range rounds {
			name := fmt.Sprintf("steady-%d-%d", i, r)
			if err := RunSteady(ctx, raw, rawRec, SteadyConfig{Workload: w, WriteRate: *flagRate, Duration: per, Name: "etcd-" + name}); err != nil {
				b.Fatal(err)
			}
			t0 := time.Now()
			if err := RunSteady(ctx, api, apiRec, SteadyConfig{Workload: w, WriteRate: *flagRate, Duration: per, Name: "api-" + name}); err != nil {
				b.Fatal(err)
			}
			apiTime += time.Since(t0)
		}
	}
	b.StopTimer()
	as, rs := apiRec.Summary(), rawRec.Summary()
	for _, s := range []struct {
		what string
		sum  Summary
	}{{"API", as}, {"raw etcd", rs}} {
		if n := s.sum.Errors(); n > 0 {
			b.Errorf("%d %s requests failed at a steady %g writes/s; first: %v", n, s.what, *flagRate, s.sum.FirstErr)
		}
	}
	reportOps(b, "", as)
	reportOps(b, "etcd-", rs)
	reportRatios(b, as, rs)
	b.ReportMetric(float64(as.Writes())/apiTime.Seconds(), "writes-per-s")
	for _, op := range Mutating() {
		a, r := as.Ops[op].P99, rs.Ops[op].P99
		b.Logf("API %s p99 = %.1f ms = %.1f× raw etcd %s p99 (%.1f ms), %d samples; goal ≤ %s: %s",
			op, Ms(a), ratio(a, r), op, Ms(r), as.Ops[op].Count, mutatingP99Goal, passMiss(a <= mutatingP99Goal))
	}
}

func benchMax(b *testing.B) {
	w := Workload{Logger: benchLogger(b)}
	api, raw := setupTargets(b, w)
	ctx := b.Context()
	b.ResetTimer()
	var apiRes, rawRes RampResult
	for range b.N {
		// The two ramps alternate steps, so both meet the same background.
		rr := NewRamper(raw, RampConfig{Workload: w, StepDuration: *flagStep, Name: "etcd"})
		ar := NewRamper(api, RampConfig{Workload: w, StepDuration: *flagStep, Name: "api"})
		for !rr.Done() || !ar.Done() {
			for _, r := range []*Ramper{rr, ar} {
				if err := r.Step(ctx); err != nil {
					b.Fatal(err)
				}
			}
		}
		rawRes, apiRes = rr.Result(), ar.Result()
	}
	b.StopTimer()
	b.Logf("raw etcd ramp stopped: %s", rawRes.StopReason)
	b.Logf("API ramp stopped: %s", apiRes.StopReason)
	if apiRes.Best < 0 || rawRes.Best < 0 {
		b.Fatalf("no sustainable step (API best %d, etcd best %d): API %s; etcd %s", apiRes.Best, rawRes.Best, apiRes.StopReason, rawRes.StopReason)
	}
	best, rawBest := apiRes.Steps[apiRes.Best], rawRes.Steps[rawRes.Best]
	b.ReportMetric(best.Throughput, "max-writes-per-s")
	b.ReportMetric(float64(best.Concurrency), "max-concurrency")
	b.ReportMetric(rawBest.Throughput, "etcd-max-writes-per-s")
	b.ReportMetric(float64(rawBest.Concurrency), "etcd-max-concurrency")
	b.ReportMetric(best.Throughput/rawBest.Throughput, "max-writes-ratio")
	// The highest rate that still meets the goal, which is stricter than
	// the 1 s limit of "sustainable".
	if i := BestStep(apiRes.Steps, RampRules{P99Limit: mutatingP99Goal}); i >= 0 {
		b.ReportMetric(apiRes.Steps[i].Throughput, "writes-per-s-at-p99-50ms")
		b.Logf("API highest rate with mutating p99 ≤ %s: %.0f writes/s at concurrency %d", mutatingP99Goal, apiRes.Steps[i].Throughput, apiRes.Steps[i].Concurrency)
	}
	// Each side's latencies at its own maximum: at equal concurrency the
	// faster store carries more load, so those would not compare.
	reportOps(b, "", best.Summary)
	reportOps(b, "etcd-", rawBest.Summary)
	b.Logf("API max sustainable rate = %.0f writes/s (concurrency %d, mutating p99 %.1f ms) = %.2f× raw etcd's (%.0f writes/s at concurrency %d, p99 %.1f ms)",
		best.Throughput, best.Concurrency, Ms(best.P99), best.Throughput/rawBest.Throughput, rawBest.Throughput, rawBest.Concurrency, Ms(rawBest.P99))
}

// setupTargets starts an API server on an embedded etcd and returns a target for
// the pods of a fresh namespace through the API, and a target for an
// equivalent prefix in the same etcd; both hold w.BasePods pods.
func setupTargets(b testing.TB, w Workload) (api, raw Target) {
	b.Helper()
	env := apitest.Start(b)
	ctx := b.Context()
	suffix := randomSuffix(b)
	ns := "apilatency-" + suffix
	if _, err := env.Client.CoreV1().Namespaces().Create(ctx, &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: ns}}, metav1.CreateOptions{}); err != nil {
		b.Fatalf("creating namespace %s: %v", ns, err)
	}
	api = NewAPITarget(env.Client, ns)
	if err := Populate(ctx, api, w); err != nil {
		b.Fatal(err)
	}
	// The raw writes carry exactly what the API server stored for a pod.
	key := "/registry/pods/" + ns + "/" + basePodName(0)
	kv, err := env.Store.Get(ctx, key)
	if err != nil {
		b.Fatalf("reading the stored pod %s: %v", key, err)
	}
	st, err := NewStoreTarget(env.Store, "/bench/apilatency/"+suffix+"/pods/", kv.Value)
	if err != nil {
		b.Fatal(err)
	}
	if err := Populate(ctx, st, w); err != nil {
		b.Fatal(err)
	}
	b.Logf("stored pod value: %d bytes", len(kv.Value))
	return api, st
}

func reportOps(b *testing.B, prefix string, s Summary) {
	for _, op := range Ops() {
		b.ReportMetric(Ms(s.Ops[op].P50), fmt.Sprintf("%s%s-p50-ms", prefix, op))
		b.ReportMetric(Ms(s.Ops[op].P99), fmt.Sprintf("%s%s-p99-ms", prefix, op))
	}
}

func reportRatios(b *testing.B, api, raw Summary) {
	for _, op := range Ops() {
		b.ReportMetric(ratio(api.Ops[op].P99, raw.Ops[op].P99), fmt.Sprintf("%s-p99-ratio", op))
	}
}

func ratio(a, base time.Duration) float64 {
	if base <= 0 {
		return 0
	}
	return float64(a) / float64(base)
}

func passMiss(ok bool) string {
	if ok {
		return "PASS"
	}
	return "MISS"
}

func randomSuffix(tb testing.TB) string {
	var buf [4]byte
	if _, err := rand.Read(buf[:]); err != nil {
		tb.Fatal(err)
	}
	return hex.EncodeToString(buf[:])
}

// benchLogger sends progress lines to the benchmark's log, which go test
// -json streams as it goes.
func benchLogger(tb testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(logWriter{tb}, &slog.HandlerOptions{
		ReplaceAttr: func(_ []string, a slog.Attr) slog.Attr {
			if a.Key == slog.TimeKey || a.Key == slog.LevelKey {
				return slog.Attr{}
			}
			return a
		},
	}))
}

type logWriter struct{ tb testing.TB }

func (w logWriter) Write(p []byte) (int, error) {
	w.tb.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
