package allocator

import (
	"fmt"
	"net/netip"
)

// MaxSubnetBits bounds a CIDRSet to 2^16 subnets, as Kubernetes' node IPAM
// does (--node-cidr-mask-size at most 16 bits longer than --cluster-cidr).
const MaxSubnetBits = 16

// CIDRSet allocates the subnets of one mask size inside a cluster CIDR:
// 10.244.0.0/16 split into /24s gives 10.244.0.0/24 ... 10.244.255.0/24.
// No subnet is reserved. The zero CIDRSet is empty; UnmarshalJSON on it
// adopts the snapshot's cluster CIDR and mask size.
type CIDRSet struct {
	cluster  netip.Prefix
	maskSize int
	bm       bitmap
}

// NewCIDRSet splits the canonical prefix cluster into subnets of maskSize
// bits, at most 2^MaxSubnetBits of them.
func NewCIDRSet(cluster netip.Prefix, maskSize int) (*CIDRSet, error) {
	if !cluster.IsValid() {
		return nil, newError(ErrInvalidRange, "invalid cluster CIDR %v; give a CIDR such as 10.244.0.0/16", cluster)
	}
	if cluster.Addr().Is4In6() {
		return nil, newError(ErrInvalidRange, "cluster CIDR %s is IPv4-mapped IPv6; write it as an IPv4 CIDR", cluster)
	}
	if cluster.Masked() != cluster {
		return nil, newError(ErrInvalidRange, "cluster CIDR %s has host bits set; did you mean %s?", cluster, cluster.Masked())
	}
	if maskSize < cluster.Bits() || maskSize > cluster.Addr().BitLen() {
		return nil, newError(ErrInvalidRange, "node CIDR mask size /%d does not fit in cluster CIDR %s; use a mask size from %d to %d",
			maskSize, cluster, cluster.Bits(), cluster.Addr().BitLen())
	}
	if maskSize-cluster.Bits() > MaxSubnetBits {
		return nil, newError(ErrInvalidRange, "node CIDR mask size /%d splits cluster CIDR %s into more than 2^%d subnets; use a mask size of at most /%d",
			maskSize, cluster, MaxSubnetBits, cluster.Bits()+MaxSubnetBits)
	}
	return &CIDRSet{cluster: cluster, maskSize: maskSize, bm: newBitmap(1 << (maskSize - cluster.Bits()))}, nil
}

// Cluster returns the cluster CIDR.
func (s *CIDRSet) Cluster() netip.Prefix { return s.cluster }

// MaskSize returns the subnets' prefix length.
func (s *CIDRSet) MaskSize() int { return s.maskSize }

// Size is the number of subnets.
func (s *CIDRSet) Size() int { return s.bm.size }

// Free is the number of subnets not allocated.
func (s *CIDRSet) Free() int { return s.bm.size - s.bm.used }

// Used is the number of subnets allocated.
func (s *CIDRSet) Used() int { return s.bm.used }

func (s *CIDRSet) hostBits() int { return s.cluster.Addr().BitLen() - s.maskSize }

func (s *CIDRSet) subnet(off int) netip.Prefix {
	a := u128Of(s.cluster.Addr()).add(u128{0, uint64(off)}.shl(s.hostBits())).addr(s.cluster.Addr().Is4())
	return netip.PrefixFrom(a, s.maskSize)
}

// offset maps sub to its bit, or fails with ErrNotInRange.
func (s *CIDRSet) offset(sub netip.Prefix) (int, error) {
	if s.bm.size == 0 {
		return 0, newError(ErrNotInRange, "%s is not in the cluster CIDR: the set has no range", sub)
	}
	if !sub.IsValid() || sub.Addr().Is4In6() || sub.Bits() != s.maskSize || sub.Masked() != sub || !s.cluster.Contains(sub.Addr()) {
		return 0, newError(ErrNotInRange, "%v is not a /%d subnet of the cluster CIDR %s; give a podCIDR such as %s",
			sub, s.maskSize, s.cluster, s.subnet(0))
	}
	return int(u128Of(sub.Addr()).sub(u128Of(s.cluster.Addr())).shr(s.hostBits()).lo), nil
}

// Allocate marks sub used; ErrNotInRange or ErrAllocated on failure.
func (s *CIDRSet) Allocate(sub netip.Prefix) error {
	off, err := s.offset(sub)
	if err != nil {
		return err
	}
	if !s.bm.set(off) {
		return newError(ErrAllocated, "%s is already allocated from the cluster CIDR %s (another node has it)", sub, s.cluster)
	}
	return nil
}

// AllocateNext allocates the first free subnet at or after the hint
// (wrapping), or fails with ErrFull.
func (s *CIDRSet) AllocateNext() (netip.Prefix, error) {
	off, ok := s.bm.allocateNext()
	if !ok {
		return netip.Prefix{}, newError(ErrFull, "the cluster CIDR %s is exhausted (%d of %d /%d subnets in use); delete a Node or widen --cluster-cidr",
			s.cluster, s.bm.used, s.bm.size, s.maskSize)
	}
	return s.subnet(off), nil
}

// Release frees sub; releasing a free or foreign subnet does nothing.
func (s *CIDRSet) Release(sub netip.Prefix) {
	if off, err := s.offset(sub); err == nil {
		s.bm.clear(off)
	}
}

// Has reports whether sub is allocated.
func (s *CIDRSet) Has(sub netip.Prefix) bool {
	off, err := s.offset(sub)
	return err == nil && s.bm.has(off)
}

// String describes the set's state.
func (s *CIDRSet) String() string {
	return fmt.Sprintf("%s split into /%d (%d of %d subnets in use)", s.cluster, s.maskSize, s.bm.used, s.bm.size)
}

// MarshalJSON returns the snapshot {"range","maskSize","next","data"}.
func (s *CIDRSet) MarshalJSON() ([]byte, error) {
	return marshalSnapshot(s.cluster.String(), s.maskSize, &s.bm)
}

// UnmarshalJSON restores a snapshot. On a set built with NewCIDRSet the
// snapshot must be for the same cluster CIDR and mask size (else
// ErrRangeChanged); a zero CIDRSet takes the snapshot's. On error s is
// unchanged.
func (s *CIDRSet) UnmarshalJSON(data []byte) error {
	snap, err := decodeSnapshot(data)
	if err != nil {
		return err
	}
	target := s
	if !s.cluster.IsValid() {
		p, err := netip.ParsePrefix(snap.Range)
		if err != nil {
			return invalidSnapshotRange(snap.Range, err)
		}
		if target, err = NewCIDRSet(p, snap.MaskSize); err != nil {
			return invalidSnapshotRange(snap.Range, err)
		}
	} else if snap.Range != s.cluster.String() || snap.MaskSize != s.maskSize {
		return rangeChanged("pod CIDR", fmt.Sprintf("%s (/%d subnets)", snap.Range, snap.MaskSize),
			fmt.Sprintf("%s (/%d subnets)", s.cluster, s.maskSize),
			fmt.Sprintf("--cluster-cidr=%s and node CIDR mask size %d", snap.Range, snap.MaskSize))
	}
	bm := target.bm
	if err := restoreBitmap(&bm, snap); err != nil {
		return err
	}
	*s = CIDRSet{cluster: target.cluster, maskSize: target.maskSize, bm: bm}
	return nil
}
