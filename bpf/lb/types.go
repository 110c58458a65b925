package lb

import (
	"cmp"
	"encoding/binary"
	"fmt"
	"math"
	"net/netip"
	"strconv"
	"strings"
	"time"
)

// Protocol is the transport protocol of a frontend, as its IP protocol
// number (the value the kernel hands the programs).
type Protocol uint8

// The protocols the load balancer translates.
const (
	TCP Protocol = 6
	UDP Protocol = 17
)

func (p Protocol) String() string {
	switch p {
	case TCP:
		return "TCP"
	case UDP:
		return "UDP"
	}
	return "proto-" + strconv.Itoa(int(p))
}

// ParseProtocol reads "TCP" or "UDP" (any case), as in a Kubernetes port.
func ParseProtocol(s string) (Protocol, error) {
	switch strings.ToUpper(s) {
	case "TCP":
		return TCP, nil
	case "UDP":
		return UDP, nil
	}
	return 0, newError(ErrInvalidService, "protocol %q is not supported: use TCP or UDP", s)
}

// Frontend is where clients connect: a Service's virtual IP (or a node
// address, for a NodePort), a port and a protocol.
type Frontend struct {
	Address  netip.Addr
	Port     uint16
	Protocol Protocol
}

func (f Frontend) String() string {
	return netip.AddrPortFrom(f.Address, f.Port).String() + "/" + f.Protocol.String()
}

// Compare orders frontends by address, port, then protocol.
func (f Frontend) Compare(o Frontend) int {
	return cmp.Or(f.Address.Compare(o.Address), cmp.Compare(f.Port, o.Port), cmp.Compare(f.Protocol, o.Protocol))
}

func (f Frontend) validate() error {
	if !f.Address.Is4() {
		return newError(ErrInvalidService, "frontend %s: only IPv4 addresses are supported", f)
	}
	if f.Port == 0 {
		return newError(ErrInvalidService, "frontend %s: port 0 cannot be connected to", f)
	}
	if f.Protocol != TCP && f.Protocol != UDP {
		return newError(ErrInvalidService, "frontend %s: protocol must be TCP or UDP", f)
	}
	return nil
}

// Backend is one pod serving a frontend: its IP and the target port.
type Backend struct {
	Address netip.Addr
	Port    uint16
}

func (b Backend) String() string { return netip.AddrPortFrom(b.Address, b.Port).String() }

// Compare orders backends by address, then port.
func (b Backend) Compare(o Backend) int {
	return cmp.Or(b.Address.Compare(o.Address), cmp.Compare(b.Port, o.Port))
}

// valid is false for the zero Backend, which stands for an empty slot.
func (b Backend) valid() bool { return b.Address.IsValid() }

func (b Backend) validate(fe Frontend) error {
	if !b.Address.Is4() {
		return newError(ErrInvalidService, "frontend %s: backend %s: only IPv4 addresses are supported", fe, b)
	}
	if b.Address.IsUnspecified() || b.Port == 0 {
		return newError(ErrInvalidService, "frontend %s: backend %s: needs an address and a port", fe, b)
	}
	return nil
}

// MaxBackends is the largest number of backends of one frontend (the
// frontend's backend_count is 16 bits wide).
const MaxBackends = math.MaxUint16

// Service is one frontend and the backends connections to it are spread
// over, in the order of Backends (round-robin). Zero backends make connect()
// and sendmsg() to the frontend fail at once with ECONNREFUSED.
type Service struct {
	Frontend Frontend
	Backends []Backend
	// AffinityTimeout, when not zero, keeps sending a client to the backend
	// it used last until it has been idle this long (Kubernetes'
	// sessionAffinity: ClientIP). Whole seconds; rounded up.
	AffinityTimeout time.Duration
}

func (s Service) validate() error {
	if err := s.Frontend.validate(); err != nil {
		return err
	}
	if len(s.Backends) > MaxBackends {
		return newError(ErrInvalidService, "frontend %s: %d backends, at most %d are supported", s.Frontend, len(s.Backends), MaxBackends)
	}
	for _, b := range s.Backends {
		if err := b.validate(s.Frontend); err != nil {
			return err
		}
	}
	if s.AffinityTimeout < 0 || s.AffinityTimeout > math.MaxUint32*time.Second {
		return newError(ErrInvalidService, "frontend %s: affinity timeout %s out of range", s.Frontend, s.AffinityTimeout)
	}
	return nil
}

// flags for the frontend value (LB_F_* in lb.c).
const flagAffinity uint16 = 1 << 0

// affinitySeconds is the timeout as stored in the map: whole seconds,
// rounded up so that a sub-second timeout still means "affinity".
func affinitySeconds(d time.Duration) uint32 {
	return uint32((d + time.Second - 1) / time.Second)
}

// The kernel keeps addresses and ports in network byte order: the bytes in
// memory are the bytes on the wire. NativeEndian reads them back into the
// integer type the generated struct has, whatever the host's byte order.

func be32(a netip.Addr) uint32 {
	b := a.As4()
	return binary.NativeEndian.Uint32(b[:])
}

func addrFromBE32(v uint32) netip.Addr {
	var b [4]byte
	binary.NativeEndian.PutUint32(b[:], v)
	return netip.AddrFrom4(b)
}

func be16(port uint16) uint16 {
	var b [2]byte
	binary.BigEndian.PutUint16(b[:], port)
	return binary.NativeEndian.Uint16(b[:])
}

func portFromBE16(v uint16) uint16 {
	var b [2]byte
	binary.NativeEndian.PutUint16(b[:], v)
	return binary.BigEndian.Uint16(b[:])
}

func encodeFrontend(f Frontend) lbFrontendKey {
	return lbFrontendKey{Address: be32(f.Address), Port: be16(f.Port), Protocol: uint8(f.Protocol)}
}

func decodeFrontend(k lbFrontendKey) Frontend {
	return Frontend{Address: addrFromBE32(k.Address), Port: portFromBE16(k.Port), Protocol: Protocol(k.Protocol)}
}

func encodeBackend(b Backend) lbBackend {
	return lbBackend{Address: be32(b.Address), Port: be16(b.Port)}
}

func decodeBackend(v lbBackend) Backend {
	return Backend{Address: addrFromBE32(v.Address), Port: portFromBE16(v.Port)}
}

func selectionKey(id uint32, b Backend) lbSelectionKey {
	return lbSelectionKey{ServiceId: id, Address: be32(b.Address), Port: be16(b.Port)}
}

// dedupe returns backends without repeats, first occurrence first.
func dedupe(backends []Backend) []Backend {
	seen := make(map[Backend]bool, len(backends))
	out := make([]Backend, 0, len(backends))
	for _, b := range backends {
		if !seen[b] {
			seen[b] = true
			out = append(out, b)
		}
	}
	return out
}

func mustFitUint16(n int) uint16 {
	if n < 0 || n > math.MaxUint16 {
		panic(fmt.Sprintf("lb: %d does not fit a backend count", n))
	}
	return uint16(n)
}
