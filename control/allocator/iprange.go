package allocator

import (
	"fmt"
	"net/netip"
)

// MaxHostBits bounds the size of IP ranges (2^20 addresses, a 128 KiB
// bitmap), as Kubernetes bounds --service-cluster-ip-range (/12 for IPv4).
const MaxHostBits = 20

// IPRange allocates the addresses of an IP prefix. The network address is
// never handed out, nor, for IPv4, the broadcast address. The zero IPRange
// is empty; UnmarshalJSON on it adopts the snapshot's range.
type IPRange struct {
	prefix netip.Prefix
	// first is the address at offset 0: the network address + 1.
	first netip.Addr
	bm    bitmap
}

// NewIPRange returns an allocator with every address of prefix free. The
// prefix must be canonical (no host bits set), have at most MaxHostBits
// host bits and at least one assignable address (so no IPv4 /31 or /32).
func NewIPRange(prefix netip.Prefix) (*IPRange, error) {
	if !prefix.IsValid() {
		return nil, newError(ErrInvalidRange, "invalid IP range %v; give a CIDR such as 10.96.0.0/12", prefix)
	}
	if prefix.Addr().Is4In6() {
		return nil, newError(ErrInvalidRange, "IP range %s is IPv4-mapped IPv6; write it as an IPv4 CIDR", prefix)
	}
	if prefix.Masked() != prefix {
		return nil, newError(ErrInvalidRange, "IP range %s has host bits set; did you mean %s?", prefix, prefix.Masked())
	}
	hostBits := prefix.Addr().BitLen() - prefix.Bits()
	if hostBits > MaxHostBits {
		return nil, newError(ErrInvalidRange, "IP range %s is too large: at most %d host bits (a /%d) are supported",
			prefix, MaxHostBits, prefix.Addr().BitLen()-MaxHostBits)
	}
	size := 1<<hostBits - 1 // the network address
	if prefix.Addr().Is4() {
		size-- // the broadcast address
	}
	if size <= 0 {
		return nil, newError(ErrInvalidRange, "IP range %s has no assignable address (the network and broadcast addresses are reserved); use a /30 or larger", prefix)
	}
	return &IPRange{prefix: prefix, first: prefix.Addr().Next(), bm: newBitmap(size)}, nil
}

// Range returns the prefix the allocator covers.
func (r *IPRange) Range() netip.Prefix { return r.prefix }

// Size is the number of assignable addresses.
func (r *IPRange) Size() int { return r.bm.size }

// Free is the number of addresses not allocated.
func (r *IPRange) Free() int { return r.bm.size - r.bm.used }

// Used is the number of addresses allocated.
func (r *IPRange) Used() int { return r.bm.used }

// offset maps addr to its bit, or fails with ErrNotInRange.
func (r *IPRange) offset(addr netip.Addr) (int, error) {
	if r.bm.size == 0 {
		return 0, newError(ErrNotInRange, "%s is not in the range: the allocator has no range", addr)
	}
	if !addr.IsValid() || addr.Is4In6() || !r.prefix.Contains(addr) {
		return 0, newError(ErrNotInRange, "%s is not in the range %s (assignable: %s to %s); choose an address in the range or leave it empty to have one assigned",
			addr, r.prefix, r.first, offsetAddr(r.first, r.bm.size-1))
	}
	if addr == r.prefix.Addr() {
		return 0, newError(ErrNotInRange, "%s is the network address of %s, which is never assigned; choose another address or leave it empty to have one assigned", addr, r.prefix)
	}
	off := addrOffset(addr, r.first)
	if off >= r.bm.size {
		return 0, newError(ErrNotInRange, "%s is the broadcast address of %s, which is never assigned; choose another address or leave it empty to have one assigned", addr, r.prefix)
	}
	return off, nil
}

// Allocate marks addr used. It fails with ErrNotInRange if addr is outside
// the range or reserved, and ErrAllocated if it is already in use.
func (r *IPRange) Allocate(addr netip.Addr) error {
	off, err := r.offset(addr)
	if err != nil {
		return err
	}
	if !r.bm.set(off) {
		return newError(ErrAllocated, "%s is already allocated in the range %s; choose another address or leave it empty to have one assigned", addr, r.prefix)
	}
	return nil
}

// AllocateNext allocates the first free address at or after the hint
// (wrapping), or fails with ErrFull.
func (r *IPRange) AllocateNext() (netip.Addr, error) {
	off, ok := r.bm.allocateNext()
	if !ok {
		return netip.Addr{}, newError(ErrFull, "the range %s is exhausted (%d of %d addresses in use); delete a Service or widen --service-cluster-ip-range",
			r.prefix, r.bm.used, r.bm.size)
	}
	return offsetAddr(r.first, off), nil
}

// Release frees addr. Releasing a free or out-of-range address does
// nothing, so that releases can be retried.
func (r *IPRange) Release(addr netip.Addr) {
	if off, err := r.offset(addr); err == nil {
		r.bm.clear(off)
	}
}

// Has reports whether addr is allocated.
func (r *IPRange) Has(addr netip.Addr) bool {
	off, err := r.offset(addr)
	return err == nil && r.bm.has(off)
}

// String describes the allocator's state.
func (r *IPRange) String() string {
	return fmt.Sprintf("%s (%d of %d addresses in use)", r.prefix, r.bm.used, r.bm.size)
}

// MarshalJSON returns the snapshot {"range","next","data"}.
func (r *IPRange) MarshalJSON() ([]byte, error) {
	return marshalSnapshot(r.prefix.String(), 0, &r.bm)
}

// UnmarshalJSON restores a snapshot. On an allocator built with NewIPRange
// the snapshot must be for the same prefix (else ErrRangeChanged); a zero
// IPRange takes the snapshot's prefix. On error r is unchanged.
func (r *IPRange) UnmarshalJSON(data []byte) error {
	s, err := decodeSnapshot(data)
	if err != nil {
		return err
	}
	target := r
	if !r.prefix.IsValid() {
		if s.MaskSize != 0 {
			return invalidSnapshotRange(s.Range, fmt.Errorf("it is a CIDR set snapshot (maskSize %d), not an IP range", s.MaskSize))
		}
		p, err := netip.ParsePrefix(s.Range)
		if err != nil {
			return invalidSnapshotRange(s.Range, err)
		}
		if target, err = NewIPRange(p); err != nil {
			return invalidSnapshotRange(s.Range, err)
		}
	} else if s.Range != r.prefix.String() || s.MaskSize != 0 {
		return rangeChanged("IP", s.Range, r.prefix.String(), "--service-cluster-ip-range="+s.Range)
	}
	bm := target.bm
	if err := restoreBitmap(&bm, s); err != nil {
		return err
	}
	*r = IPRange{prefix: target.prefix, first: target.first, bm: bm}
	return nil
}
