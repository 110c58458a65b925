// Package podnet gives a pod its network sandbox on a node, the way the CNI
// bridge plugin does for a kubelet, with netlink and no plugin binaries:
//
//   - EnsureBridge: the node's bridge (default "tug0") carrying the gateway
//     address of the node's pod CIDR (e.g. 10.244.1.1/24), up, with a stable
//     MAC, and IPv4 forwarding on in the node's namespace. Nothing beyond the
//     pod CIDR is routed here; other nodes' subnets belong to
//     dataplane/overlay.
//   - SetupPod: a network namespace pinned by a bind mount at
//     <NetnsDir>/tug-<id> (like `ip netns add`, in tug's own directory), lo
//     up, a veth pair whose host end "tug<8 hex>" is a bridge port and whose
//     pod end is created inside the namespace as eth0 with the pod's address,
//     the MTU and a default route via the gateway. eth0's MAC is derived from
//     the sandbox id, so a repaired pair keeps it and neighbors' ARP caches
//     stay right. Re-running it repairs or keeps what exists.
//   - TeardownPod / RemoveSandbox: delete the veth pair, unmount and remove
//     the pin. Repeating it is harmless.
//   - ListSandboxes / Leftovers / GarbageCollect: find pins and tug veths of
//     pods that no longer exist; ResetNode removes everything podnet made.
//   - HostsFile and ResolvConf render a pod's /etc/hosts and
//     /etc/resolv.conf as bytes; the caller writes them.
//
// The sandbox id is the first 16 hex digits of the SHA-256 of the pod key
// (namespace/name/uid); the host veth is "tug" plus its first 8. The host
// veth's alias carries the full id (and namespace/name for people reading
// `ip link`), so a truncated-name collision between two pods is detected
// rather than silently sharing a link, and leftovers can be matched to pods.
//
// The node side is a network namespace given by path (Config.HostNetns):
// the real host in production, a namespace of its own in tests. Every
// netlink operation goes through handles bound to a namespace
// (netlink.NewHandleAt); the few operations that must run inside a namespace
// (creating one, writing its sysctls) run on a locked OS thread that always
// switches back (dataplane/internal/nsutil).
//
// Calls for the same pod must not run concurrently (the agent serializes per
// pod); calls for different pods may.
package podnet
