// Package storage is tug's only door to etcd: a narrow, revisioned key-value
// interface (Get, List, Apply, Watch, Compact) in the spirit of kine, and its
// etcd implementation.
//
// Keys follow Kubernetes' layout, /registry/<resource>/<namespace>/<name>, and
// every value carries the etcd revision that last wrote it: the API server
// exposes that revision as metadata.resourceVersion. Apply runs several
// conditional writes as one etcd transaction, which is how a Service and the
// ClusterIP bitmap it draws from change together or not at all.
//
// Errors are sentinels (ErrNotFound, ErrExists, ErrConflict, ErrCompacted,
// ErrUnavailable) wrapped with the key they concern; test with errors.Is.
package storage
