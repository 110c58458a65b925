package podnet

import (
	"context"
	"errors"
	"fmt"

	"github.com/tug-sh/tug/dataplane/internal/nsutil"
)

// ResetNode removes everything podnet creates on a node: every tug veth,
// every pod namespace pin in the netns directory (and the directory's own
// shared mount once it is empty), and the bridge with its address and the
// pod-CIDR route that goes with it. It needs only cfg's location fields
// (HostNetns, RunDir/NetnsDir, Bridge). It leaves IPv4 forwarding on: the
// node may need it for other reasons. Running it again is harmless.
func ResetNode(ctx context.Context, cfg Config) error {
	if err := cfg.validateLocation(); err != nil {
		return err
	}
	hostNs, host, err := openNetns(cfg.hostNetns())
	if err != nil {
		return fmt.Errorf("podnet: reset: node namespace: %w", err)
	}
	defer hostNs.Close()
	defer host.Close()
	n := &Node{cfg: cfg, log: cfg.logger(), hostNs: hostNs, host: host}

	var errs []error
	// Two rounds: unmounting the directory's own bind mount may uncover pins
	// that were hidden below it.
	for range 2 {
		found, err := n.ListSandboxes(ctx)
		if err != nil {
			return err
		}
		for _, sb := range found {
			if err := n.RemoveSandbox(ctx, sb); err != nil {
				errs = append(errs, err)
			}
		}
		if err := nsutil.RemoveSharedDir(cfg.netnsDir()); err != nil {
			errs = append(errs, fmt.Errorf("podnet: reset: %w", err))
		}
	}
	br, err := linkByName(host, cfg.bridge())
	switch {
	case err != nil:
		errs = append(errs, fmt.Errorf("podnet: reset: %w", err))
	case br == nil:
	case br.Type() != "bridge":
		errs = append(errs, fmt.Errorf("podnet: reset: %s is a %s, not tug's bridge: left alone", cfg.bridge(), br.Type()))
	default:
		if err := host.LinkDel(br); err != nil && !isNotFound(err) {
			errs = append(errs, fmt.Errorf("podnet: reset: delete bridge %s: %w", cfg.bridge(), err))
		} else {
			n.log.Info("deleted bridge", "bridge", cfg.bridge())
		}
	}
	return errors.Join(errs...)
}
