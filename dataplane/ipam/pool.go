package ipam

import (
	"fmt"
	"net/netip"
)

// pool is the address arithmetic of one IPv4 pod CIDR: which addresses exist
// for pods and in which order they are tried. It does no I/O.
type pool struct {
	cidr    netip.Prefix
	gateway netip.Addr // network + 1, the bridge's address
	first   netip.Addr // first address handed to pods (network + 2)
	last    netip.Addr // last address handed to pods (broadcast - 1)
	size    int        // number of addresses for pods
}

// maxPodPrefixBits is the longest prefix that still leaves an address for a
// pod after the network, gateway and broadcast addresses: a /30.
const maxPodPrefixBits = 30

func newPool(cidr netip.Prefix) (pool, error) {
	if !cidr.IsValid() {
		return pool{}, fmt.Errorf("pod CIDR is not set (want an IPv4 prefix such as 10.244.1.0/24)")
	}
	if !cidr.Addr().Is4() {
		return pool{}, fmt.Errorf("pod CIDR %s is not IPv4: only IPv4 pod networks are supported", cidr)
	}
	if cidr.Masked() != cidr {
		return pool{}, fmt.Errorf("pod CIDR %s has host bits set: use %s", cidr, cidr.Masked())
	}
	if cidr.Bits() > maxPodPrefixBits {
		return pool{}, fmt.Errorf("pod CIDR %s is too small: it needs at least a /%d (network, gateway, one pod, broadcast)", cidr, maxPodPrefixBits)
	}
	if cidr.Bits() < 8 {
		return pool{}, fmt.Errorf("pod CIDR %s is too large for one node: use a /8 or longer prefix", cidr)
	}
	network := cidr.Addr()
	broadcast := lastAddr(cidr)
	return pool{
		cidr:    cidr,
		gateway: network.Next(),
		first:   network.Next().Next(),
		last:    broadcast.Prev(),
		size:    1<<(32-cidr.Bits()) - 3,
	}, nil
}

// lastAddr returns the highest address of an IPv4 prefix (its broadcast).
func lastAddr(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := uint32(1)<<(32-p.Bits()) - 1
	v := uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])
	v |= host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}

// assignable reports whether a may be handed to a pod.
func (p pool) assignable(a netip.Addr) bool {
	return a.Is4() && p.first.Compare(a) <= 0 && a.Compare(p.last) <= 0
}

// next returns the first address not in used, searching from the address
// after hint (or from the start of the range when hint is not assignable)
// and wrapping around once. ok is false when every address is in use.
func (p pool) next(used map[netip.Addr]bool, hint netip.Addr) (a netip.Addr, ok bool) {
	if len(used) >= p.size {
		return netip.Addr{}, false
	}
	a = p.first
	if p.assignable(hint) && hint != p.last {
		a = hint.Next()
	}
	for range p.size {
		if !used[a] {
			return a, true
		}
		if a == p.last {
			a = p.first
		} else {
			a = a.Next()
		}
	}
	return netip.Addr{}, false
}
