// Package ctrltest is the harness of the controllers' integration tests and
// benchmarks: a real API server over a real etcd (apitest), hollow nodes,
// the controllers under test, and helpers to wait for the cluster to reach
// a state. Everything it starts stops when the test ends.
package ctrltest
