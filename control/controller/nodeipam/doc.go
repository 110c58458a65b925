// Package nodeipam gives every node a pod CIDR: spec.podCIDR and
// spec.podCIDRs, a /--node-cidr-mask-size subnet of --cluster-cidr, as
// Kubernetes' range allocator does.
//
// The Nodes themselves are the persistent record: at start the controller
// reads every node's podCIDR back into an allocator.CIDRSet (Assigner), and
// only then assigns subnets to nodes without one: the next free subnet after
// the last one handed out (wrapping), so a freed subnet is reused last.
// A subnet is never given to two nodes; a node's subnet is freed when the
// node is deleted. When the cluster CIDR is exhausted the node gets a
// Warning event CIDRNotAvailable ("no remaining CIDRs in 10.0.0.0/16 for
// node n7") and is tried again when a subnet is freed. A node whose
// podCIDR is outside the cluster CIDR, or taken by another node, is left
// as it is and reported (Warning CIDRAssignmentFailed).
package nodeipam
