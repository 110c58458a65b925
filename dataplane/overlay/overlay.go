package overlay

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Overlay programs the vxlan device of one node namespace.
type Overlay struct {
	cfg Config
	k   kernel
	log *slog.Logger
}

// New opens a netlink handle on the node namespace. It changes nothing.
func New(cfg Config) (*Overlay, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	k, err := newNetlinkKernel(cfg.HostNetns, cfg.Logger)
	if err != nil {
		return nil, err
	}
	return &Overlay{cfg: cfg, k: k, log: cfg.Logger}, nil
}

// Close releases the handles. The device and its entries stay.
func (o *Overlay) Close() error { return o.k.close() }

func (o *Overlay) spec(self Self) deviceSpec {
	return deviceSpec{
		name:  o.cfg.Device,
		vni:   o.cfg.VNI,
		port:  o.cfg.Port,
		local: self.UnderlayIP,
		mtu:   self.MTU,
		mac:   VTEPMAC(self.NodeName),
		addr:  netip.PrefixFrom(VXLANAddr(self.PodCIDR), 32),
	}
}

// EnsureDevice creates or repairs the vxlan device for self (re-creating
// it if its VNI, port, local address, learning or underlay link differ) and
// returns what it programmed. The agent calls it at start to learn the
// device MTU (for pod MTUs) and VTEP MAC (for its Node annotation).
func (o *Overlay) EnsureDevice(ctx context.Context, self Self) (Device, error) {
	if err := self.validate(); err != nil {
		return Device{}, err
	}
	dev, err := o.k.ensureDevice(ctx, o.spec(self))
	if err != nil {
		return Device{}, fmt.Errorf("overlay: %w", err)
	}
	return dev, nil
}

// Reconcile makes the node's overlay match self and peers: it ensures the
// device, reads the per-peer entries it holds, and applies Diff(desired,
// current) in order, removing entries of peers that are gone. It returns
// the operations applied (none when everything already matched). It stops
// at the first failed operation (the next Reconcile resumes from what the
// kernel then holds). Invalid peers are skipped and reported in the error
// (ErrInvalidPeer) after every valid peer is programmed.
func (o *Overlay) Reconcile(ctx context.Context, self Self, peers []Peer) ([]Op, error) {
	if err := self.validate(); err != nil {
		return nil, err
	}
	desired, peerErr := Desired(self, peers)
	dev, err := o.k.ensureDevice(ctx, o.spec(self))
	if err != nil {
		return nil, fmt.Errorf("overlay: %w", err)
	}
	current, err := o.k.read(ctx, dev)
	if err != nil {
		return nil, fmt.Errorf("overlay: %w", err)
	}
	ops := Diff(desired, current)
	for i, op := range ops {
		if err := o.k.apply(ctx, dev, op); err != nil {
			return ops[:i], errors.Join(fmt.Errorf("overlay: %w", err), peerErr)
		}
		o.log.Info("overlay change", "op", op.String())
	}
	return ops, peerErr
}

// Reset deletes the vxlan device named in cfg, and with it every neighbor,
// FDB entry and route the overlay added. Running it again is harmless.
func Reset(ctx context.Context, cfg Config) error {
	cfg = cfg.withDefaults()
	if err := ctx.Err(); err != nil {
		return err
	}
	ns, err := netns.GetFromPath(cfg.HostNetns)
	if err != nil {
		return fmt.Errorf("overlay: reset: open %s: %w", cfg.HostNetns, err)
	}
	defer ns.Close()
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		return fmt.Errorf("overlay: reset: %w", err)
	}
	defer h.Close()
	link, err := h.LinkByName(cfg.Device)
	var nf netlink.LinkNotFoundError
	switch {
	case errors.As(err, &nf):
		return nil
	case err != nil:
		return fmt.Errorf("overlay: reset: look up %s: %w", cfg.Device, err)
	case link.Type() != "vxlan":
		return fmt.Errorf("overlay: reset: %s is a %s, not tug's vxlan device: left alone", cfg.Device, link.Type())
	}
	if err := h.LinkDel(link); err != nil {
		return fmt.Errorf("overlay: reset: delete %s: %w", cfg.Device, err)
	}
	cfg.Logger.Info("deleted vxlan device", "device", cfg.Device)
	return nil
}
