// Package nodelifecycle watches node heartbeats and acts on nodes that stop
// sending them, like Kubernetes' node lifecycle controller.
//
// # Heartbeat convention (for node agents)
//
// An agent proves it is alive by updating its Node's status (PUT
// /api/v1/nodes/NAME/status) with a Ready condition whose lastHeartbeatTime
// is the current time, at least every grace/4 (every 10s for the default
// 40s grace period; the agent's clock need not agree with the controller's:
// the controller only looks at whether the value changed). The condition's
// status is True when the agent can run pods, False (with a reason) when it
// cannot; lastTransitionTime changes only when the status does.
// coordination.k8s.io Leases are not used: the API server need not serve
// them.
//
// # Decisions (the pure function Assess, on a fake clock in tests)
//
// The controller remembers for each node when, by its own clock, it last saw
// the heartbeat change (the probe time). Then, on every monitor pass
// (--node-monitor-period):
//
//   - no heartbeat change for --node-monitor-grace-period (default 40s):
//     every node condition becomes Unknown, Ready with reason
//     NodeStatusUnknown "Kubelet stopped posting node status." (or
//     NodeStatusNeverUpdated "Kubelet never posted node status." when the
//     node never had one), event NodeNotReady; the Ready conditions of the
//     node's pods are set to False so that Endpoints drop them at once;
//   - a node whose Ready is Unknown is tainted node.kubernetes.io/unreachable
//     (NoSchedule and NoExecute), one whose Ready is False
//     node.kubernetes.io/not-ready; a Ready node has neither;
//   - a node not ready for --pod-eviction-timeout (default 60s) has its pods
//     deleted with grace period 0 (no agent will confirm a graceful
//     deletion, so pods would stay Terminating): replication controllers
//     recreate them at once and the scheduler places them on healthy nodes.
//     A pod that tolerates the node's NoExecute taint stays, forever or for
//     its tolerationSeconds (PodEvictable, Kubernetes' taint-based eviction).
//     A returning agent must kill containers of pods that no longer exist.
//     Evictions stop while every node is not ready (the controller's own
//     network is then the likelier culprit), and at most one node is
//     evicted per 1/EvictionRate;
//   - when heartbeats resume (Ready True again, posted by the agent) the
//     taints are removed and event NodeReady is recorded.
//
// Pods bound to a node that no longer exists are deleted (grace 0) once the
// node has been missing for the grace period and a live read confirms it is
// gone, as Kubernetes' pod garbage collector does.
package nodelifecycle
