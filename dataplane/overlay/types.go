package overlay

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
)

// Defaults and the encapsulation overhead.
const (
	DefaultDevice = "tug.1"
	DefaultVNI    = 1
	DefaultPort   = 8472 // the Linux kernel's (and flannel's) vxlan port
	// Overhead is what vxlan adds to each inner frame over IPv4: outer IP
	// (20) + UDP (8) + VXLAN (8) + inner Ethernet (14). Pods' MTU on an
	// overlay node is the underlay MTU minus Overhead.
	Overhead = 50
)

var (
	// ErrInvalidPeer wraps the reason a peer was skipped. Reconcile still
	// programs every valid peer.
	ErrInvalidPeer = errors.New("invalid overlay peer")
	// ErrInvalidSelf wraps what is wrong with the node's own description.
	ErrInvalidSelf = errors.New("invalid overlay node")
)

// Config locates and names the vxlan device.
type Config struct {
	// HostNetns is the path of the node's network namespace; empty means
	// this process's namespace.
	HostNetns string
	// Device is the vxlan device's name (default "tug.1").
	Device string
	// VNI is the vxlan network identifier (default 1).
	VNI int
	// Port is the UDP destination port (default 8472).
	Port int
	// Logger receives one line per applied change; nil discards.
	Logger *slog.Logger
}

func (c Config) withDefaults() Config {
	if c.HostNetns == "" {
		c.HostNetns = "/proc/self/ns/net"
	}
	if c.Device == "" {
		c.Device = DefaultDevice
	}
	if c.VNI == 0 {
		c.VNI = DefaultVNI
	}
	if c.Port == 0 {
		c.Port = DefaultPort
	}
	if c.Logger == nil {
		c.Logger = slog.New(slog.DiscardHandler)
	}
	return c
}

func (c Config) validate() error {
	switch {
	case len(c.Device) > 15:
		return fmt.Errorf("overlay: device name %q is longer than 15 characters", c.Device)
	case c.VNI < 1 || c.VNI > 1<<24-1:
		return fmt.Errorf("overlay: VNI %d is out of range (1-16777215)", c.VNI)
	case c.Port < 1 || c.Port > 65535:
		return fmt.Errorf("overlay: port %d is out of range", c.Port)
	}
	return nil
}

// Self describes the local node.
type Self struct {
	// NodeName names the node; its VTEP MAC is VTEPMAC(NodeName).
	NodeName string
	// UnderlayIP is the node's address on the network between nodes; it
	// must be assigned to an interface in the node namespace.
	UnderlayIP netip.Addr
	// PodCIDR is the node's pod subnet, e.g. 10.244.1.0/24.
	PodCIDR netip.Prefix
	// MTU of the vxlan device; 0 means the underlay interface's MTU minus
	// Overhead.
	MTU int
}

func (s Self) validate() error {
	switch {
	case s.NodeName == "":
		return fmt.Errorf("overlay: %w: node name is empty", ErrInvalidSelf)
	case !s.UnderlayIP.Is4():
		return fmt.Errorf("overlay: %w: underlay address %v of %s is not an IPv4 address", ErrInvalidSelf, s.UnderlayIP, s.NodeName)
	case !s.PodCIDR.IsValid() || !s.PodCIDR.Addr().Is4() || s.PodCIDR.Masked() != s.PodCIDR:
		return fmt.Errorf("overlay: %w: pod CIDR %v of %s is not a masked IPv4 prefix", ErrInvalidSelf, s.PodCIDR, s.NodeName)
	case s.MTU != 0 && (s.MTU < 576 || s.MTU > 65535):
		return fmt.Errorf("overlay: %w: MTU %d is out of range (576-65535)", ErrInvalidSelf, s.MTU)
	}
	return nil
}

// Peer describes another node, as published in its Node object.
type Peer struct {
	NodeName   string
	UnderlayIP netip.Addr
	PodCIDR    netip.Prefix
	// VTEPMAC is the peer's vxlan device MAC (VTEPMAC of its name).
	VTEPMAC net.HardwareAddr
}

// VTEPMAC returns the vxlan device MAC of the node named nodeName: a
// locally administered unicast address derived from the name, so it is the
// same after every restart and on every node that computes it.
func VTEPMAC(nodeName string) net.HardwareAddr {
	sum := sha256.Sum256([]byte("tug-vtep/" + nodeName))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&0xfe | 0x02
	return mac
}

// VXLANAddr returns a node's address on the vxlan device: its pod subnet's
// network address (10.244.1.0 for 10.244.1.0/24), as flannel does.
func VXLANAddr(podCIDR netip.Prefix) netip.Addr { return podCIDR.Masked().Addr() }

// FDBEntry is one forwarding entry of the vxlan device: frames for MAC are
// sent to the VTEP at Dst.
type FDBEntry struct {
	MAC string // canonical lower-case form, e.g. "02:1a:..."
	Dst netip.Addr
}

// State is the per-peer part of the overlay: what Desired computes and what
// the kernel holds on the vxlan device.
type State struct {
	// Neighbors maps a peer's vxlan address to its VTEP MAC.
	Neighbors map[netip.Addr]string
	// FDB holds (VTEP MAC, underlay address) pairs.
	FDB map[FDBEntry]bool
	// Routes maps a peer's pod subnet to its vxlan address (the gateway).
	Routes map[netip.Prefix]netip.Addr
}

// NewState returns an empty State.
func NewState() State {
	return State{Neighbors: map[netip.Addr]string{}, FDB: map[FDBEntry]bool{}, Routes: map[netip.Prefix]netip.Addr{}}
}

// OpKind is the kind of one change to the vxlan device's entries, declared
// in the order Diff emits them: removals (route, FDB, neighbor), then
// additions (neighbor, FDB, route).
type OpKind uint8

const (
	DelRoute OpKind = iota
	DelFDB
	DelNeighbor
	SetNeighbor
	SetFDB
	SetRoute
)

func (k OpKind) String() string {
	switch k {
	case DelRoute:
		return "delete route"
	case DelFDB:
		return "delete fdb"
	case DelNeighbor:
		return "delete neighbor"
	case SetNeighbor:
		return "set neighbor"
	case SetFDB:
		return "set fdb"
	case SetRoute:
		return "set route"
	}
	return fmt.Sprintf("OpKind(%d)", uint8(k))
}

// Op is one change. Neighbor ops use Addr (vxlan address) and MAC; FDB ops
// use MAC and Addr (underlay address); route ops use Dst and Addr (the
// gateway, i.e. the peer's vxlan address).
type Op struct {
	Kind OpKind
	Addr netip.Addr
	MAC  string
	Dst  netip.Prefix
}

func (o Op) String() string {
	switch o.Kind {
	case DelNeighbor, SetNeighbor:
		return fmt.Sprintf("%s %s lladdr %s", o.Kind, o.Addr, o.MAC)
	case DelFDB, SetFDB:
		return fmt.Sprintf("%s %s dst %s", o.Kind, o.MAC, o.Addr)
	default:
		return fmt.Sprintf("%s %s via %s onlink", o.Kind, o.Dst, o.Addr)
	}
}
