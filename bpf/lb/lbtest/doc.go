// Package lbtest is the scaffolding the load balancer's tests and benchmarks
// run in: a private BPF filesystem, a cgroup2 subtree of their own (never the
// root), a network namespace holding backend servers, and client processes
// started inside that cgroup and namespace (the test binary re-executed in a
// client mode), so the test process itself is never translated.
//
// Everything is created with unique names and removed in t.Cleanup, also
// when the test fails. A test binary using Client must call ClientMain first
// thing in TestMain.
package lbtest
