package nodeipam

import (
	"errors"
	"fmt"
	"net/netip"

	"github.com/tug-sh/tug/control/allocator"
)

// ErrConflict: a node claims a subnet another node has.
var ErrConflict = errors.New("pod CIDR conflict")

// Assigner maps nodes to subnets of the cluster CIDR. It is a pure data
// structure (no I/O, no locking).
type Assigner struct {
	set    *allocator.CIDRSet
	byNode map[string]netip.Prefix
	owner  map[netip.Prefix]string
}

// NewAssigner splits cluster into /maskSize subnets.
func NewAssigner(cluster netip.Prefix, maskSize int) (*Assigner, error) {
	set, err := allocator.NewCIDRSet(cluster, maskSize)
	if err != nil {
		return nil, err
	}
	return &Assigner{set: set, byNode: map[string]netip.Prefix{}, owner: map[netip.Prefix]string{}}, nil
}

// Cluster returns the cluster CIDR.
func (a *Assigner) Cluster() netip.Prefix { return a.set.Cluster() }

// Free returns the number of unassigned subnets.
func (a *Assigner) Free() int { return a.set.Free() }

// Lookup returns the subnet recorded for node.
func (a *Assigner) Lookup(node string) (netip.Prefix, bool) {
	p, ok := a.byNode[node]
	return p, ok
}

// Occupy records that node already has podCIDR (read back from the Node).
// It fails, wrapping ErrConflict, when another node has it, or with the
// allocator's ErrNotInRange when it is not a subnet of the cluster CIDR.
func (a *Assigner) Occupy(node, podCIDR string) error {
	p, err := netip.ParsePrefix(podCIDR)
	if err != nil {
		return fmt.Errorf("node %s has podCIDR %q, which is not a CIDR: %w", node, podCIDR, allocator.ErrNotInRange)
	}
	if have, ok := a.byNode[node]; ok {
		if have == p {
			return nil
		}
		a.Release(node)
	}
	if other, ok := a.owner[p]; ok && other != node {
		return fmt.Errorf("node %s has podCIDR %s, already assigned to node %s: %w", node, p, other, ErrConflict)
	}
	if err := a.set.Allocate(p); err != nil {
		return fmt.Errorf("node %s: %w", node, err)
	}
	a.byNode[node], a.owner[p] = p, node
	return nil
}

// Assign returns node's subnet, allocating the next free one if it has
// none; allocator.ErrFull when the cluster CIDR is exhausted.
func (a *Assigner) Assign(node string) (netip.Prefix, error) {
	if p, ok := a.byNode[node]; ok {
		return p, nil
	}
	p, err := a.set.AllocateNext()
	if err != nil {
		return netip.Prefix{}, err
	}
	a.byNode[node], a.owner[p] = p, node
	return p, nil
}

// Release frees node's subnet, if it has one.
func (a *Assigner) Release(node string) {
	p, ok := a.byNode[node]
	if !ok {
		return
	}
	a.set.Release(p)
	delete(a.byNode, node)
	delete(a.owner, p)
}
