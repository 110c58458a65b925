// Package storage is tug's only door to etcd: a narrow, revisioned key-value
// interface (Get, List, Apply, Watch, Compact) in the spirit of kine, its
// etcd implementation, and leader election.
//
// Keys follow Kubernetes' layout, /registry/<resource>/<namespace>/<name>, and
// every value carries the etcd revision that last wrote it: the API server
// exposes that revision as metadata.resourceVersion. Apply runs several
// conditional writes as one etcd transaction, which is how a Service and the
// ClusterIP bitmap it draws from change together or not at all.
//
// Errors are sentinels (ErrNotFound, ErrExists, ErrConflict, ErrCompacted,
// ErrUnavailable, ErrFutureRevision, ErrInvalid) wrapped with the key they
// concern; test with errors.Is, and errors.As with *KeyError for the key.
// A write that fails with ErrUnavailable may still have been applied.
//
// Watches that ask for progress get an EventProgress every few seconds
// when the cluster answers progress requests in order with events (etcd
// 3.4.31+, 3.5.13+, 3.6+, and the embedded member); on older members (such
// as Debian's 3.4.23) only etcd's own periodic notifications are used, so
// run such a cluster with --experimental-watch-progress-notify-interval=5s.
// Etcd.WatchProgressOnDemand also asks for progress whenever its caller
// says so (the API server's watch cache, before a consistent read); it
// refuses (errors.ErrUnsupported) where requests are not answered in
// order.
//
// Leader election: several `tug server` processes may share one etcd. All
// of them serve the API; only the one elected under the name
// "controllers" runs the controllers (scheduler, replication, endpoints,
// node lifecycle, garbage collector, namespace):
//
//	l, err := store.Elect(ctx, "controllers", hostname+"/"+pid, 5*time.Second)
//	// run the controllers with a context cancelled when <-l.Done()
//	// on shutdown: stop them, then l.Resign(ctx)
//
// Elect blocks until this process is elected. Done closes when the office
// is lost (the lease could not be renewed because etcd is unreachable, or
// it was revoked or its key deleted), and always before the lease can have
// expired in etcd, so before any successor is elected. When a leader dies,
// the next contender takes over within the TTL (plus etcd's 0.5s expiry
// check); Resign hands over at once. Leader reports the current holder.
//
// The conformance suite every Store passes is in storagetest; etcdtest runs
// a real multi-member etcd for tests.
package storage
