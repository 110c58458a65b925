// Package nstest is test scaffolding for the dataplane packages: network
// namespaces created and destroyed by a test (t.Cleanup, even on failure),
// TCP echo servers and clients bound inside a namespace, and mount counting
// under a directory so tests can prove nothing leaked. It is imported only by
// _test files.
package nstest
