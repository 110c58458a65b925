package podnet

import (
	"cmp"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"slices"

	"github.com/tug-sh/tug/dataplane/internal/nsutil"
	"github.com/vishvananda/netlink"
)

// Sandbox is what podnet finds on the node for one sandbox id: its pin, its
// host veth, or both.
type Sandbox struct {
	// ID is the sandbox id; "" for a tug-named veth whose alias is unreadable.
	ID string
	// Pod is "namespace/name" from the veth alias (possibly truncated), for
	// logs; empty when there is no veth.
	Pod string
	// NetnsPath is the pin's path, "" if there is none.
	NetnsPath string
	// HostVeth is the host veth's name, "" if there is none.
	HostVeth string
}

// ListSandboxes returns every pin in the netns directory and every tug veth
// in the node namespace, merged by sandbox id and sorted.
func (n *Node) ListSandboxes(ctx context.Context) ([]Sandbox, error) {
	if err := ctx.Err(); err != nil {
		return nil, err
	}
	pins, err := listPins(n.cfg.netnsDir())
	if err != nil {
		return nil, err
	}
	veths, err := listVeths(n.host)
	if err != nil {
		return nil, err
	}
	return mergeSandboxes(pins, veths), nil
}

// listPins maps sandbox id → pin path for the pin files in dir.
func listPins(dir string) (map[string]string, error) {
	entries, err := os.ReadDir(dir)
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("podnet: list %s: %w", dir, err)
	}
	pins := map[string]string{}
	for _, e := range entries {
		if id := idFromPin(e.Name()); id != "" {
			pins[id] = filepath.Join(dir, e.Name())
		}
	}
	return pins, nil
}

// listVeths returns the tug-named veths of the node namespace as sandboxes
// carrying the id and pod label of their alias.
func listVeths(h *netlink.Handle) ([]Sandbox, error) {
	links, err := nsutil.Dump(h.LinkList)
	if err != nil {
		return nil, fmt.Errorf("podnet: list links: %w", err)
	}
	var out []Sandbox
	for _, l := range links {
		name := l.Attrs().Name
		if l.Type() != "veth" || !vethNamePattern.MatchString(name) {
			continue
		}
		id, pod := parseVethAlias(l.Attrs().Alias)
		if id != "" && HostVethName(id) != name {
			id, pod = "", "" // alias does not belong to this name
		}
		out = append(out, Sandbox{ID: id, Pod: pod, HostVeth: name})
	}
	return out, nil
}

// mergeSandboxes joins pins and veths on the sandbox id. It is pure.
func mergeSandboxes(pins map[string]string, veths []Sandbox) []Sandbox {
	byID := map[string]*Sandbox{}
	var out []Sandbox
	for _, v := range veths {
		if v.ID == "" {
			out = append(out, v)
			continue
		}
		sb := v
		byID[v.ID] = &sb
	}
	for id, p := range pins {
		if sb, ok := byID[id]; ok {
			sb.NetnsPath = p
			continue
		}
		byID[id] = &Sandbox{ID: id, NetnsPath: p}
	}
	for _, sb := range byID {
		out = append(out, *sb)
	}
	slices.SortFunc(out, func(a, b Sandbox) int {
		return cmp.Or(cmp.Compare(a.ID, b.ID), cmp.Compare(a.HostVeth, b.HostVeth))
	})
	return out
}

// Leftovers returns the sandboxes that belong to none of the live pods. It
// is pure: the agent passes what ListSandboxes found and the pods it runs.
func Leftovers(found []Sandbox, live []PodKey) []Sandbox {
	keep := make(map[string]bool, len(live))
	for _, k := range live {
		keep[SandboxID(k)] = true
	}
	var out []Sandbox
	for _, sb := range found {
		if sb.ID == "" || !keep[sb.ID] {
			out = append(out, sb)
		}
	}
	return out
}

// GarbageCollect removes every sandbox that belongs to none of the live pods
// and returns what it removed. It goes on after a failed removal and returns
// all errors joined.
func (n *Node) GarbageCollect(ctx context.Context, live []PodKey) ([]Sandbox, error) {
	found, err := n.ListSandboxes(ctx)
	if err != nil {
		return nil, err
	}
	var (
		removed []Sandbox
		errs    []error
	)
	for _, sb := range Leftovers(found, live) {
		if err := n.RemoveSandbox(ctx, sb); err != nil {
			errs = append(errs, err)
			continue
		}
		removed = append(removed, sb)
	}
	return removed, errors.Join(errs...)
}
