// Package gc is the garbage collector: it deletes objects whose owners are
// gone and carries out the three deletion propagation policies, as
// Kubernetes' garbage collector does, over every resource the API server
// serves (discovered at start; events excluded).
//
// It keeps a graph of objects by UID and of owner → dependents edges from
// metadata.ownerReferences, fed by one metadata-only informer per
// resource (PartialObjectMetadata, as Kubernetes' collector watches: a
// cluster's objects are kept once more here, but only their metadata);
// whole objects are read and updated through the dynamic client. Workers
// act on the graph:
//
//   - Background: the API server deletes the owner at once. Its dependents
//     then reference a missing owner (checked in the graph, then confirmed by
//     a live GET by name, comparing UIDs). A dependent all of whose owners
//     are missing is deleted; one with other, existing owners only loses the
//     dangling references.
//   - Foreground: the owner stays, with deletionTimestamp and the finalizer
//     foregroundDeletion, while the collector deletes its dependents
//     (themselves in foreground if they have dependents of their own). When
//     no dependent with blockOwnerDeletion remains, the finalizer is removed
//     and the API server deletes the owner.
//   - Orphan: the owner carries the finalizer orphan; the collector removes
//     the ownerReferences to it from its dependents, then the finalizer.
//
// The decisions are pure functions (Classify, DecideDependent,
// BlockingDependents) with table tests; the live reads guard against a
// lagging cache, so an object is never deleted because its owner's watch
// was late.
package gc
