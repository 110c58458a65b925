package allocator

import (
	"fmt"
	"strconv"
	"strings"
)

// PortRange allocates the ports of a range such as 30000-32767. The zero
// PortRange is empty; UnmarshalJSON on it adopts the snapshot's range.
type PortRange struct {
	base int
	bm   bitmap
}

// ParsePortRange parses "low-high" (inclusive), "low+count" (low to
// low+count inclusive, as Kubernetes' --service-node-port-range accepts) or
// a single port, and returns an allocator with every port free.
func ParsePortRange(s string) (*PortRange, error) {
	bad := func(why string) error {
		return newError(ErrInvalidRange, "invalid port range %q: %s; write it as low-high, for example 30000-32767", s, why)
	}
	s = strings.TrimSpace(s)
	if s == "" {
		return nil, bad("it is empty")
	}
	lowText, highText, sep := s, "", ""
	if i := strings.IndexAny(s, "-+"); i >= 0 {
		lowText, highText, sep = s[:i], s[i+1:], s[i:i+1]
	}
	low, err := strconv.Atoi(lowText)
	if err != nil {
		return nil, bad(fmt.Sprintf("%q is not a number", lowText))
	}
	high := low
	if sep != "" {
		n, err := strconv.Atoi(highText)
		if err != nil {
			return nil, bad(fmt.Sprintf("%q is not a number", highText))
		}
		high = n
		if sep == "+" {
			if n < 0 {
				return nil, bad("the count is negative")
			}
			high = low + n
		}
	}
	if low < 1 || high > 65535 {
		return nil, bad("ports are 1 to 65535")
	}
	if high < low {
		return nil, bad(fmt.Sprintf("%d is below %d", high, low))
	}
	return &PortRange{base: low, bm: newBitmap(high - low + 1)}, nil
}

// String returns the range as "low-high".
func (r *PortRange) String() string {
	if r.bm.size == 0 {
		return ""
	}
	return fmt.Sprintf("%d-%d", r.base, r.base+r.bm.size-1)
}

// Size is the number of ports in the range.
func (r *PortRange) Size() int { return r.bm.size }

// Free is the number of ports not allocated.
func (r *PortRange) Free() int { return r.bm.size - r.bm.used }

// Used is the number of ports allocated.
func (r *PortRange) Used() int { return r.bm.used }

// Contains reports whether port is in the range.
func (r *PortRange) Contains(port int) bool {
	return port >= r.base && port-r.base < r.bm.size
}

// Allocate marks port used; ErrNotInRange or ErrAllocated on failure.
func (r *PortRange) Allocate(port int) error {
	if !r.Contains(port) {
		return newError(ErrNotInRange, "port %d is not in the range %s; choose a nodePort in the range or leave it empty to have one assigned", port, r)
	}
	if !r.bm.set(port - r.base) {
		return newError(ErrAllocated, "port %d is already allocated in the range %s; choose another nodePort or leave it empty to have one assigned", port, r)
	}
	return nil
}

// AllocateNext allocates the first free port at or after the hint
// (wrapping), or fails with ErrFull.
func (r *PortRange) AllocateNext() (int, error) {
	off, ok := r.bm.allocateNext()
	if !ok {
		return 0, newError(ErrFull, "the range %s is exhausted (%d of %d ports in use); delete a NodePort Service or widen --service-node-port-range",
			r, r.bm.used, r.bm.size)
	}
	return r.base + off, nil
}

// Release frees port; releasing a free or out-of-range port does nothing.
func (r *PortRange) Release(port int) {
	if r.Contains(port) {
		r.bm.clear(port - r.base)
	}
}

// Has reports whether port is allocated.
func (r *PortRange) Has(port int) bool {
	return r.Contains(port) && r.bm.has(port-r.base)
}

// MarshalJSON returns the snapshot {"range":"low-high","next","data"}.
func (r *PortRange) MarshalJSON() ([]byte, error) {
	return marshalSnapshot(r.String(), 0, &r.bm)
}

// UnmarshalJSON restores a snapshot. On an allocator built with
// ParsePortRange the snapshot must be for the same range (else
// ErrRangeChanged); a zero PortRange takes the snapshot's range. On error r
// is unchanged.
func (r *PortRange) UnmarshalJSON(data []byte) error {
	s, err := decodeSnapshot(data)
	if err != nil {
		return err
	}
	target := r
	if r.bm.size == 0 {
		if s.MaskSize != 0 {
			return invalidSnapshotRange(s.Range, fmt.Errorf("it is a CIDR set snapshot (maskSize %d), not a port range", s.MaskSize))
		}
		if target, err = ParsePortRange(s.Range); err != nil {
			return invalidSnapshotRange(s.Range, err)
		}
		if target.String() != s.Range {
			return invalidSnapshotRange(s.Range, fmt.Errorf("not in the canonical form %s", target))
		}
	} else if s.Range != r.String() || s.MaskSize != 0 {
		return rangeChanged("port", s.Range, r.String(), "--service-node-port-range="+s.Range)
	}
	bm := target.bm
	if err := restoreBitmap(&bm, s); err != nil {
		return err
	}
	*r = PortRange{base: target.base, bm: bm}
	return nil
}
