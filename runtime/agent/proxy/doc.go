// Package proxy is the node agent's Service proxy (kube-proxy's role, in
// the agent's process): it loads the eBPF load balancer (bpf/lb) and keeps
// its maps equal to the cluster's Services and Endpoints through
// dataplane/serviceproxy's Reconciler. *Proxy implements the agent's
// ServiceProxy hook (runtime/agent.Config.ServiceProxy): the agent runs it
// and reports Ready in the Node's ServiceProxyReady condition.
//
// Run, in order:
//
//  1. lb.Load with MountBPFFS: programs on the configured cgroup2
//     directory (default the cgroup2 root: every process on the node),
//     maps and links pinned under the BPF filesystem. A restarted agent
//     adopts the pins: each link's program is swapped in place, never
//     detached, so Services are translated while the agent is down and
//     while it starts. Only `tug reset` (lb.Reset) detaches.
//  2. The service CIDR becomes an unreachable route in the node's network
//     namespace (Config.HostNetns), so a ClusterIP that escapes translation
//     fails at once instead of leaving the node.
//  3. Informers on Services and Endpoints (all namespaces) and on the
//     node's own Node (for the NodePort addresses: its InternalIP and
//     ExternalIP, unless Config.NodeAddresses is set) fill caches; once
//     they have synced, one full Resync makes the maps match them (removing
//     what no Service wants any more, e.g. a Service deleted while the
//     agent was down) and the proxy is Ready.
//  4. Every add, update and delete is then applied incrementally through a
//     rate-limited work queue (failed writes are retried), and a full
//     Resync repairs the maps every ResyncInterval.
//
// A missing kernel feature (BTF, cgroup sock_addr hooks, a BPF filesystem,
// cgroup2) or maps of an incompatible layout make Run return at once, and
// Ready stay false for good with lb's message, which names the feature and
// how to get it; the agent keeps running pods without ClusterIPs. Other
// failures (of Load, the route, a resync) are retried with backoff, Ready
// saying what is being retried.
//
// Closing leaves everything in the kernel: programs attached, maps pinned.
package proxy
