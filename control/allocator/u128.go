package allocator

import (
	"encoding/binary"
	"math/bits"
	"net/netip"
)

// u128 is an address as a 128-bit number (IPv4 in its IPv4-mapped IPv6
// form), for offset arithmetic that works for both families.
type u128 struct{ hi, lo uint64 }

func u128Of(a netip.Addr) u128 {
	b := a.As16()
	return u128{binary.BigEndian.Uint64(b[:8]), binary.BigEndian.Uint64(b[8:])}
}

// addr converts back; is4 unmaps to an IPv4 address.
func (u u128) addr(is4 bool) netip.Addr {
	var b [16]byte
	binary.BigEndian.PutUint64(b[:8], u.hi)
	binary.BigEndian.PutUint64(b[8:], u.lo)
	a := netip.AddrFrom16(b)
	if is4 {
		return a.Unmap()
	}
	return a
}

func (u u128) add(v u128) u128 {
	lo, c := bits.Add64(u.lo, v.lo, 0)
	hi, _ := bits.Add64(u.hi, v.hi, c)
	return u128{hi, lo}
}

func (u u128) sub(v u128) u128 {
	lo, b := bits.Sub64(u.lo, v.lo, 0)
	hi, _ := bits.Sub64(u.hi, v.hi, b)
	return u128{hi, lo}
}

// shl shifts left by n in [0, 128).
func (u u128) shl(n int) u128 {
	switch {
	case n == 0:
		return u
	case n >= 64:
		return u128{u.lo << uint(n-64), 0}
	default:
		return u128{u.hi<<uint(n) | u.lo>>uint(64-n), u.lo << uint(n)}
	}
}

// shr shifts right by n in [0, 128).
func (u u128) shr(n int) u128 {
	switch {
	case n == 0:
		return u
	case n >= 64:
		return u128{0, u.hi >> uint(n-64)}
	default:
		return u128{u.hi >> uint(n), u.lo>>uint(n) | u.hi<<uint(64-n)}
	}
}

// offsetAddr is base + off.
func offsetAddr(base netip.Addr, off int) netip.Addr {
	return u128Of(base).add(u128{0, uint64(off)}).addr(base.Is4())
}

// addrOffset is a - base; the caller ensures a >= base and that the
// difference is small.
func addrOffset(a, base netip.Addr) int {
	return int(u128Of(a).sub(u128Of(base)).lo)
}
