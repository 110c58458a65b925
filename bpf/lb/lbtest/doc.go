// Package lbtest is the scaffolding the load balancer's tests and benchmarks
// (and the Service tests of the packages above it) run in: a private BPF
// filesystem, a cgroup2 subtree of their own (never the root), a network
// namespace holding backend servers (or an existing one, such as a test
// node's), and client processes started inside that cgroup and namespace
// (the test binary re-executed in a client mode), so the test process
// itself is never translated.
//
// Clients and backends speak HTTP/1.0 over TCP (one GET per connection,
// the page is the backend's name) and single datagrams over UDP, so the
// same clients measure the test's own backends and real pods.
//
// Everything is created with unique names and removed in t.Cleanup, also
// when the test fails. A test binary using Client must call ClientMain first
// thing in TestMain.
package lbtest
