// Package hollow provides hollow nodes: in-process stand-ins for node agents,
// FOR SCALE TESTS AND BENCHMARKS ONLY. A hollow node runs no containers and
// programs no network; it only plays an agent's part in the API, so that the
// control plane (API server, scheduler, controllers) can be exercised with
// many nodes on one machine, as Kubernetes' kubemark does.
//
// A hollow Node:
//
//   - registers a Node object with the configured capacity (cpu, memory,
//     pods) as capacity and allocatable, and a Ready condition;
//   - heartbeats: every HeartbeatInterval it sets the Ready condition's
//     lastHeartbeatTime (the convention documented in
//     control/controller/nodelifecycle);
//   - watches the pods bound to it (fieldSelector spec.nodeName) and marks
//     each new one Running: phase Running, conditions Initialized,
//     ContainersReady and Ready True, a pod IP from the node's podCIDR (or
//     Config.PodCIDR), running container statuses;
//   - confirms graceful deletions: a pod with a deletionTimestamp is deleted
//     with grace period 0, as an agent does once its containers are gone.
//
// StartFleet runs many hollow nodes over one shared pod watch instead of one
// watch each, so that a benchmark of the control plane on one machine does
// not also pay for a hundred watch streams in its own process.
//
// Pause stops both heartbeats and pod handling (a dead or partitioned node);
// Resume restarts them. SetUsage writes the measured-usage annotations the
// scheduler reads (see control/controller/scheduler).
//
// Never use hollow nodes outside tests and benchmarks: pods "run" nowhere.
package hollow
