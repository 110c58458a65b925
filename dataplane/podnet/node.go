package podnet

import (
	"crypto/sha256"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"sync"

	"github.com/tug-sh/tug/dataplane/internal/nsutil"
	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Node programs pod networking in one node namespace. Create it with New and
// Close it when done.
type Node struct {
	cfg    Config
	log    *slog.Logger
	hostNs netns.NsHandle
	host   *netlink.Handle

	mu       sync.Mutex
	dirReady bool // NetnsDir prepared as a shared mount
}

// New opens handles on the node namespace. It changes nothing.
func New(cfg Config) (*Node, error) {
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	hostNs, host, err := openNetns(cfg.hostNetns())
	if err != nil {
		return nil, fmt.Errorf("podnet: node namespace: %w", err)
	}
	return &Node{cfg: cfg, log: cfg.logger(), hostNs: hostNs, host: host}, nil
}

// Close releases the namespace and netlink handles.
func (n *Node) Close() error {
	n.host.Close()
	return n.hostNs.Close()
}

// openNetns opens a namespace by path and a netlink handle bound to it.
func openNetns(path string) (netns.NsHandle, *netlink.Handle, error) {
	ns, err := netns.GetFromPath(path)
	if err != nil {
		return 0, nil, fmt.Errorf("open network namespace %s: %w", path, err)
	}
	h, err := netlink.NewHandleAt(ns, unix.NETLINK_ROUTE)
	if err != nil {
		ns.Close()
		return 0, nil, fmt.Errorf("netlink handle in %s: %w", path, err)
	}
	return ns, h, nil
}

// ensureNetnsDir prepares the pin directory once per Node.
func (n *Node) ensureNetnsDir() error {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.dirReady {
		return nil
	}
	if err := nsutil.EnsureSharedDir(n.cfg.netnsDir()); err != nil {
		return fmt.Errorf("podnet: %w", err)
	}
	n.dirReady = true
	return nil
}

func isNotFound(err error) bool {
	var nf netlink.LinkNotFoundError
	return errors.As(err, &nf)
}

// linkByName returns the link or nil when it does not exist.
func linkByName(h *netlink.Handle, name string) (netlink.Link, error) {
	l, err := h.LinkByName(name)
	if isNotFound(err) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("look up link %s: %w", name, err)
	}
	return l, nil
}

// stableMAC derives a locally administered unicast MAC from a seed, so a
// device re-created with the same seed gets the same address.
func stableMAC(seed string) net.HardwareAddr {
	sum := sha256.Sum256([]byte(seed))
	mac := net.HardwareAddr(sum[:6])
	mac[0] = mac[0]&0xfe | 0x02
	return mac
}
