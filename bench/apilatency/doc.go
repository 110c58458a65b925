// Package apilatency measures tug's API latency under churn, through a real
// HTTP client (client-go) against a real API server on an embedded etcd,
// against a baseline measured in the same run on the same etcd: the raw
// storage calls (storage.Store Apply, Get, List) of equivalent values.
//
// The workload is the same for both targets (Target): a namespace holding
// BasePods pods that are read (Get of a random one, List of all) at a steady
// pace, while writers churn pods through create, update (a label change)
// and delete. Two shapes:
//
//   - RunSteady paces the writes at a fixed rate (20 writes/s in the
//     benchmark), each pod's three writes one interval apart, so results
//     read "API create p99 = X ms = Y× raw etcd create p99" at equal load.
//   - Ramp (or a Ramper, one step at a time, to alternate the steps of
//     two targets) runs closed-loop writers at growing concurrency (1, 2,
//     4, ...) until throughput stops growing, p99 passes a limit or errors
//     appear, and reports the highest sustainable throughput and the
//     latencies there (RampVerdict and BestStep decide, as pure functions).
//
// Latencies are kept per operation (Recorder) and summarised as nearest-rank
// percentiles. The benchmarks are in bench_test.go:
//
//	go test -run '^$' -bench APILatency -benchtime 1x ./bench/apilatency/
//
// Client, server and etcd share one process and the machine's cores, as
// they would on a single-node control plane; the baseline shares them too.
package apilatency
