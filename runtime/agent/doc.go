// Package agent is tug's node agent (the kubelet's role): it registers the
// node, runs the pods bound to it through the container runtime
// (runtime/container, libcontainer; no Docker daemon), and serves their
// logs, exec and statistics. It reaches the control plane only through the
// API server (client-go; core/v1).
//
// # Node
//
// Run creates (or takes over) the Node: capacity and allocatable (cores,
// MemTotal minus 100Mi, 110 pods, the data directory's file system),
// InternalIP (Config.NodeIP, else the default route's source address) and
// Hostname addresses, nodeInfo (kernel, PRETTY_NAME, runc's module version
// as containerRuntimeVersion "libcontainer://runc-<version>", kubeletVersion
// v1.32.0-tug) and daemonEndpoints.kubeletEndpoint.Port (the HTTP server's
// port). Heartbeats follow control/controller/nodelifecycle's convention:
// a status write every HeartbeatInterval (10s) moving the Ready
// condition's lastHeartbeatTime (no Leases); the Node is re-created if
// deleted. Conditions: Ready (False until the pod network is set up),
// MemoryPressure, DiskPressure, PIDPressure (measured, reported only), and
// ServiceProxyReady, the Service data path: False until a ServiceProxy is
// wired in through Config.ServiceProxy. Measured usage goes on the Node as
// the scheduler's annotations (tug.sh/cpu-usage-nanocores,
// tug.sh/memory-working-set-bytes, tug.sh/usage-timestamp).
//
// The pod network needs the node's pod CIDR: Config.PodCIDR, or the
// Node's spec.podCIDR once the nodeipam controller set it. Addresses come
// from dataplane/ipam (persistent), sandboxes from dataplane/podnet
// (bridge, per-pod network namespace and veth).
//
// # Pods
//
// An informer watches the pods with spec.nodeName = the node; a
// rate-limited work queue keyed by pod UID coalesces the work, so a pod's
// syncs never overlap. Container exits (a waiter per instance on
// runtime/container's Wait), probe results, restart backoffs and a
// periodic resync queue syncs too. A sync:
//
//   - sets up the pod's sandbox once: address, network namespace, the
//     managed /etc/hosts, /etc/resolv.conf and /etc/hostname (bind-mounted
//     into every container), the IPC namespace and /dev/shm, emptyDir and
//     hostPath volumes (address exhaustion is a FailedCreatePodSandBox
//     event; the pod stays Pending);
//   - plans (the pure planPod): init containers one by one to completion,
//     then the containers in spec order; restartPolicy Always, OnFailure,
//     Never; restart backoff 10s doubling to 5m (CrashLoopBackOff); kills
//     for failed liveness or startup probes and for changed specs;
//   - starts containers: the image per imagePullPolicy (Pulling, Pulled,
//     Failed, BackOff events; ErrImagePull then ImagePullBackOff with the
//     registry's message), command and args resolved like Kubernetes
//     against the image's ENTRYPOINT and CMD with $(VAR) expansion, env
//     (fieldRef, resourceFieldRef, Service link variables), workingDir,
//     user (runAsUser, runAsGroup, the image's USER via its /etc/passwd),
//     securityContext, resources (cpu shares and quota, memory limit),
//     OOM score by QoS class; a failed start is a StartError exit shown as
//     RunContainerError;
//   - writes the status (the pure buildPodStatus: phase, conditions
//     PodReadyToStartContainers, Initialized, Ready, ContainersReady,
//     PodScheduled, container states with exit codes, OOMKilled,
//     restartCount, lastState, image, imageID, containerID "tug://<id>")
//     through pods/status, only when it changed.
//
// A pod with a deletionTimestamp is stopped (preStop hook, SIGTERM,
// SIGKILL after the grace period), its sandbox and address released, its
// final status written, and its removal confirmed with a DELETE of grace
// period 0 and the UID as precondition. A pod the API no longer has is
// stopped and all of it removed: containers, cgroups, mounts, namespace,
// veth, address, files and logs. A completed pod releases its sandbox and
// keeps its logs until it is deleted.
//
// Probes run in subpackage probe; the HTTP API (containerLogs, exec over
// WebSocket, stats/summary, healthz) is subpackage server.
//
// # Restarts
//
// Containers do not depend on the agent process (runtime/container keeps
// a monitor per container). What the agent knows about a pod is in
// <DataDir>/pods/<uid>/pod.json (address, instances, restart counts, last
// states, backoffs); a new agent reads the records, adopts the running
// containers (same processes, same addresses) and removes whatever
// belongs to no known pod before its first sync.
//
// # Layout
//
//	<DataDir>/containers/   runtime/container's state
//	<DataDir>/images/       runtime/image's store (garbage collected)
//	<DataDir>/ipam/         dataplane/ipam's allocations
//	<DataDir>/pods/<uid>/   pod.json, etc/, logs/<container>/<attempt>.log,
//	                        volumes/, termination/
//	<RunDir>/netns/         pod network namespace pins
//
// Reset removes all of it (and the bridge, veths, vxlan device, cgroups
// and optionally the eBPF load balancer), like `kubeadm reset`.
package agent
