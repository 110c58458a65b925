// Package serverrss measures the memory of a real `tug server` process:
// the binary started on a random loopback port with a temporary data
// directory (embedded etcd, API server, controllers), first idle, then
// holding 1,000 pods created through the API. The idle figures are the
// baseline of the same run; the goal is at most 150 MiB resident with
// 1,000 pods (a k3s server takes about 1.6 GB).
//
// The binary is dropped from the page cache before it starts
// (EvictPageCache): just built, it would be mapped in whole large folios
// and count tens of MiB more than when deployed.
//
// Memory is read from /proc/PID/status (VmRSS, VmHWM, RssAnon, RssFile),
// /proc/PID/smaps_rollup (Pss) and the server's own /metrics (Go heap in
// use). Server starts and stops only the process it launched, by PID; the
// child also gets SIGKILL if the benchmark dies first.
//
//	go test -run '^$' -bench ServerRSS -benchtime 1x ./bench/serverrss/
//
// TUG_BENCH_BINARY names the tug binary to measure (make bench passes
// bin/tug); without it the benchmark builds ./cmd/tug into a temporary
// directory first (with GOFLAGS=-tags=seccomp, as the Makefile does).
package serverrss
