// Package probe runs the liveness, readiness and startup probes of a node's
// containers, with the kubelet's semantics.
//
// A Prober performs one check: httpGet (GET from the node to the pod's
// address, port by number or by the container port's name, status 200-399
// is success; redirects are followed within the same host), tcpSocket (a
// TCP connection opens) or exec (the command exits 0, run through the
// container runtime's exec). Connections are opened with a dial function
// the agent supplies, so that they start from the node's network
// namespace.
//
// A Manager keeps one worker per (pod, container, probe kind). A worker
// probes every periodSeconds, not before initialDelaySeconds after the
// container started, liveness and readiness only once the startup probe
// has succeeded, and publishes a result only after successThreshold
// consecutive successes or failureThreshold consecutive failures. Initial
// results, before any threshold is reached, are as in Kubernetes:
// readiness Failure (not ready), liveness Success, startup Unknown. A
// liveness or startup Failure is published once for a container instance
// and the worker then holds until the instance is replaced; the agent
// kills and restarts the container. While a pod is being deleted, liveness
// and startup probes stop. A restarted agent adopting a running container
// starts from the readiness and startup verdicts the pod's status already
// shows for it (Container.WasReady, WasStarted), so adoption does not
// flap readiness.
//
// The decisions (when to probe, what to publish) are the pure methods of
// state, tested with a fake clock; the Manager only adds goroutines,
// timers and locking around them.
package probe
