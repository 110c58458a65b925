// Package scheduler assigns pods to nodes: it watches pods whose
// spec.nodeName is empty and whose spec.schedulerName is "default-scheduler"
// (or empty), picks a node, and binds the pod through the pods/binding
// subresource, as kube-scheduler does.
//
// # Decisions
//
// The decision for one pod is the pure function Schedule over a list of
// NodeInfo (a node plus the aggregate of the pods already on it). A node is
// feasible when, checked in this order (the first failure names the
// reason):
//
//   - its Ready condition is True                   "node(s) were not ready"
//   - spec.unschedulable is false                   "node(s) were unschedulable"
//   - the pod tolerates its NoSchedule and NoExecute taints
//     "node(s) had untolerated taint {key: value}"
//   - its labels match the pod's nodeSelector       "node(s) didn't match Pod's node affinity/selector"
//   - the pod's host ports are free on it           "node(s) didn't have free ports for the requested pod ports"
//   - the pod's cpu and memory requests and one more pod fit in the node's
//     allocatable minus what pods on it request     "Insufficient cpu", "Insufficient memory", "Too many pods"
//
// When no node is feasible, the FailedScheduling event carries Kubernetes'
// aggregated message, reasons sorted as strings:
//
//	0/3 nodes are available: 1 node(s) were not ready, 2 Insufficient memory.
//
// Feasible nodes are scored (higher is better), each term from 0 to
// MaxTermScore:
//
//   - cpu: the node's free fraction of allocatable cpu, where the load is the
//     larger of what pods request and what the node measures (see below);
//   - memory: the same for memory;
//   - pods: the free fraction of the node's pod slots;
//   - spread, weighted twice: fewer pods of the same controller (the pod's
//     controller ownerReference) on this node than on the most crowded
//     feasible node scores higher.
//
// Pods without requests count as 100m cpu and 200Mi memory when scoring
// (never when filtering), as in Kubernetes, so that least-loaded placement
// spreads them too. Ties go to the node whose name sorts first.
//
// # Measured usage (convention for node agents)
//
// A node agent may report what the node actually uses as annotations on its
// Node object (metadata, not status; e.g. a JSON merge patch):
//
//	tug.sh/cpu-usage-nanocores:       "1250000000"   whole-node cpu use, nanocores (1.25 cores)
//	tug.sh/memory-working-set-bytes:  "2147483648"   whole-node memory working set, bytes
//	tug.sh/usage-timestamp:           "2025-11-25T18:00:00Z"  when the sample was taken (RFC 3339)
//
// Values are decimal integers. A sample older than UsageMaxAge (by the
// scheduler's clock), or without a timestamp, is ignored; so is an
// unparsable one. Nodes without annotations are scored on requests alone.
//
// # Machinery
//
// Around the pure function, the Scheduler keeps (like kube-scheduler):
//
//   - a cache of NodeInfo updated incrementally from the shared pod and node
//     informers, in which a pod is "assumed" on its chosen node as soon as
//     the decision is made, so the next decision already counts it while the
//     binding is in flight and until the watch shows the pod bound;
//   - a scheduling queue: an active FIFO, a backoff set (1s doubling to 10s
//     per failed attempt) and an unschedulable set that node changes and pod
//     deletions move back to active (and, as a safety net, every minute);
//   - one scheduling goroutine and several binder goroutines that POST the
//     bindings concurrently. A binding that fails un-assumes the pod and
//     retries it after backoff; a binding conflict (the pod was bound
//     meanwhile) drops it.
//
// Events: Normal "Scheduled" ("Successfully assigned default/x to node1")
// and Warning "FailedScheduling" from component "default-scheduler"; a pod
// that does not fit also gets a PodScheduled=False condition with reason
// Unschedulable, as kubectl describe shows it.
package scheduler
