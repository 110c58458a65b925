package podnet

import (
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"path/filepath"
)

// Defaults.
const (
	DefaultBridge = "tug0"
	DefaultMTU    = 1500
	// selfNetns names the calling process's own network namespace.
	selfNetns = "/proc/self/ns/net"
)

// Config describes the node side of pod networking.
type Config struct {
	// HostNetns is the path of the node's network namespace (where the
	// bridge and host veths live). Empty means this process's namespace;
	// tests pass a namespace of their own.
	HostNetns string
	// RunDir is tug's runtime directory; pins go to RunDir/netns unless
	// NetnsDir is set.
	RunDir string
	// NetnsDir overrides where pod namespace pins live, e.g. /run/netns to
	// make them visible to `ip netns`.
	NetnsDir string
	// Bridge is the bridge's name (default "tug0").
	Bridge string
	// Gateway is the bridge's address within the node's pod CIDR, with the
	// CIDR's prefix length, e.g. 10.244.1.1/24 (ipam.Allocator.Gateway).
	Gateway netip.Prefix
	// MTU of the bridge, the veths and eth0 (default 1500). With the vxlan
	// overlay use the underlay MTU minus overlay.Overhead.
	MTU int
	// Logger receives one line per sandbox created or removed; nil discards.
	Logger *slog.Logger
}

func (c Config) hostNetns() string {
	if c.HostNetns == "" {
		return selfNetns
	}
	return c.HostNetns
}

func (c Config) netnsDir() string {
	if c.NetnsDir != "" {
		return c.NetnsDir
	}
	return filepath.Join(c.RunDir, "netns")
}

func (c Config) bridge() string {
	if c.Bridge == "" {
		return DefaultBridge
	}
	return c.Bridge
}

func (c Config) mtu() int {
	if c.MTU == 0 {
		return DefaultMTU
	}
	return c.MTU
}

func (c Config) logger() *slog.Logger {
	if c.Logger == nil {
		return slog.New(slog.DiscardHandler)
	}
	return c.Logger
}

// validateLocation checks what ResetNode needs: where things are.
func (c Config) validateLocation() error {
	if c.RunDir == "" && c.NetnsDir == "" {
		return errors.New("podnet: RunDir is not set (e.g. /run/tug)")
	}
	if n := c.bridge(); len(n) > 15 {
		return fmt.Errorf("podnet: bridge name %q is longer than 15 characters", n)
	}
	return nil
}

// validate checks everything New needs.
func (c Config) validate() error {
	if err := c.validateLocation(); err != nil {
		return err
	}
	if err := validateGateway(c.Gateway); err != nil {
		return err
	}
	if m := c.mtu(); m < 576 || m > 65535 {
		return fmt.Errorf("podnet: MTU %d is out of range (576-65535)", m)
	}
	return nil
}

func validateGateway(gw netip.Prefix) error {
	switch {
	case !gw.IsValid():
		return errors.New("podnet: Gateway is not set (want the bridge address with the pod CIDR's length, e.g. 10.244.1.1/24)")
	case !gw.Addr().Is4():
		return fmt.Errorf("podnet: Gateway %s is not IPv4", gw)
	case gw.Bits() > 30:
		return fmt.Errorf("podnet: Gateway %s: the pod CIDR must be a /30 or larger", gw)
	case gw.Addr() == gw.Masked().Addr():
		return fmt.Errorf("podnet: Gateway %s is the network address; use the first host address (e.g. %s/%d)", gw, gw.Addr().Next(), gw.Bits())
	}
	return nil
}

// validatePodIP checks that ip is a pod address of the gateway's subnet.
func validatePodIP(ip, gw netip.Prefix) error {
	switch {
	case !ip.IsValid():
		return errors.New("podnet: pod IP is not set")
	case ip.Bits() != gw.Bits() || !gw.Masked().Contains(ip.Addr()):
		return fmt.Errorf("podnet: pod IP %s is not in the node's pod CIDR %s", ip, gw.Masked())
	case ip.Addr() == gw.Addr():
		return fmt.Errorf("podnet: pod IP %s is the gateway's address", ip)
	case ip.Addr() == gw.Masked().Addr():
		return fmt.Errorf("podnet: pod IP %s is the network address", ip)
	case ip.Addr() == broadcast(gw):
		return fmt.Errorf("podnet: pod IP %s is the broadcast address", ip)
	}
	return nil
}

func broadcast(p netip.Prefix) netip.Addr {
	a := p.Masked().Addr().As4()
	host := ^uint32(0) >> p.Bits()
	v := (uint32(a[0])<<24 | uint32(a[1])<<16 | uint32(a[2])<<8 | uint32(a[3])) | host
	return netip.AddrFrom4([4]byte{byte(v >> 24), byte(v >> 16), byte(v >> 8), byte(v)})
}
