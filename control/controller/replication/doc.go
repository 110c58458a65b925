// Package replication is the replication controller: for every
// ReplicationController it keeps the number of active pods (not being
// deleted, not Succeeded or Failed) that match its selector and that it
// controls equal to spec.replicas.
//
// # Decisions (pure functions, table-tested)
//
//   - ClaimPods sorts the namespace's pods into those the controller owns,
//     orphans it should adopt (matching, no controller, not being deleted)
//     and pods it should release (its ownerReference, labels no longer
//     matching), as Kubernetes' ControllerRefManager does.
//   - RankForDeletion orders surplus pods: unscheduled first, then Pending
//     before Unknown before Running, not ready before ready, recently ready
//     before long ready, more restarts first, newest first.
//   - NewPod builds a pod from the template: generateName "<rc>-", the
//     template's labels and annotations, a controller ownerReference with
//     blockOwnerDeletion.
//   - CalculateStatus computes replicas, fullyLabeledReplicas,
//     readyReplicas, availableReplicas (ready for minReadySeconds),
//     observedGeneration and the ReplicaFailure condition.
//   - BatchSizes splits creations into slow-start batches 1, 2, 4, ...: a
//     batch runs only if the previous one fully succeeded, so a template the
//     API server rejects costs one request, not hundreds.
//
// # Expectations
//
// Creations and deletions the controller has issued but not yet seen
// through its pod watch are remembered per controller (Expectations, like
// Kubernetes' UIDTrackingControllerExpectations). A controller with
// outstanding expectations is not synced — its counts would be stale and it
// would create or delete twice — until the watch has caught up or
// ExpectationsTimeout has passed. At most BurstReplicas pods are created or
// deleted per sync.
//
// Events come from component "replication-controller": Normal
// SuccessfulCreate "Created pod: x" and SuccessfulDelete "Deleted pod: x",
// Warning FailedCreate and FailedDelete.
package replication
