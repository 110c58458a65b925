// Package overlay connects the pod subnets of all nodes over a vxlan device,
// the way flannel's vxlan backend does, without a flanneld: the agent
// passes the node's own description (Self) and the other nodes' (Peers, from
// their Node objects' annotations) to Reconcile whenever they change.
//
// On each node there is one vxlan device (default "tug.1": VNI 1, UDP port
// 8472, no learning, local = the node's underlay address, MTU = underlay
// MTU - Overhead) whose address is the node's pod subnet's network address
// as a /32 (10.244.1.0/32 for 10.244.1.0/24). For each peer the node gets:
//
//  1. a permanent neighbor: the peer's vxlan address → the peer's VTEP MAC;
//  2. a permanent FDB entry (AF_BRIDGE, NTF_SELF): the peer's VTEP MAC →
//     the peer's underlay address, telling vxlan where to send the frame;
//  3. a route: the peer's pod subnet via the peer's vxlan address, onlink.
//
// Entries are added in that order and removed in the reverse order, so a
// route never points at a neighbor the device cannot resolve. Desired and
// Diff are pure functions (desired state from Self and Peers; ordered
// operations from desired and current state); the kernel sits behind a small
// interface, so the reconciliation logic is unit-tested without one and
// exercised for real between namespaced "nodes".
//
// EnsureDevice creates or repairs the device alone (the agent calls it at
// start to learn the pod MTU and its VTEP MAC); Reset deletes it, and with it
// every entry (for `tug reset`).
//
// A node's VTEP MAC is derived from its name (VTEPMAC), so it survives agent
// restarts and device re-creation and peers never need to relearn it. The
// agent publishes it (like flannel's flannel.alpha.coreos.com/backend-data
// annotation) together with the underlay address.
package overlay
