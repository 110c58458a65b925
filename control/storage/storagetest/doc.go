// Package storagetest is the conformance suite every storage.Store backend
// passes. A backend's test calls Run with a constructor:
//
//	func TestEtcdConformance(t *testing.T) {
//		m := startEtcd(t)
//		storagetest.Run(t, func(t *testing.T) storage.Store { return dial(t, m) })
//	}
//
// Run calls newStore once or more per subtest (the concurrency checks want
// several clients) and closes every store it gets. Stores may share one
// backend: every subtest works under its own unique key prefix, and the one
// subtest that compacts only compacts revisions it wrote itself. Subtests
// run one after another, because compaction is store-wide.
//
// The suite checks semantics, never speed: waits are bounded only to turn
// a hang into a failure, with limits far above any healthy latency.
package storagetest
