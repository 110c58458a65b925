package overlay

import (
	"bytes"
	"cmp"
	"errors"
	"fmt"
	"net/netip"
	"slices"
)

// Desired computes the per-peer entries the node should hold. Peers are
// taken in node-name order; the node itself (same name) is skipped. A peer
// that is malformed or conflicts with the node or with an earlier peer
// (overlapping pod subnet, same VTEP MAC, same underlay address) is left out
// and reported in the returned error (wrapping ErrInvalidPeer), so one bad
// annotation never cuts the node off from the others. An invalid self
// returns an empty State and an error wrapping ErrInvalidSelf.
func Desired(self Self, peers []Peer) (State, error) {
	st := NewState()
	if err := self.validate(); err != nil {
		return st, err
	}
	sorted := slices.Clone(peers)
	slices.SortStableFunc(sorted, func(a, b Peer) int { return cmp.Compare(a.NodeName, b.NodeName) })

	selfMAC := VTEPMAC(self.NodeName)
	var (
		errs     []error
		accepted = []Peer{{NodeName: self.NodeName, UnderlayIP: self.UnderlayIP, PodCIDR: self.PodCIDR, VTEPMAC: selfMAC}}
	)
	for _, p := range sorted {
		if p.NodeName == self.NodeName {
			continue
		}
		if err := validatePeer(p, accepted); err != nil {
			errs = append(errs, fmt.Errorf("overlay: %w %q: %v", ErrInvalidPeer, p.NodeName, err))
			continue
		}
		accepted = append(accepted, p)
		mac := p.VTEPMAC.String()
		vx := VXLANAddr(p.PodCIDR)
		st.Neighbors[vx] = mac
		st.FDB[FDBEntry{MAC: mac, Dst: p.UnderlayIP}] = true
		st.Routes[p.PodCIDR] = vx
	}
	return st, errors.Join(errs...)
}

func validatePeer(p Peer, accepted []Peer) error {
	switch {
	case p.NodeName == "":
		return errors.New("node name is empty")
	case !p.UnderlayIP.Is4():
		return fmt.Errorf("underlay address %v is not IPv4", p.UnderlayIP)
	case !p.PodCIDR.IsValid() || !p.PodCIDR.Addr().Is4() || p.PodCIDR.Masked() != p.PodCIDR:
		return fmt.Errorf("pod CIDR %v is not a masked IPv4 prefix", p.PodCIDR)
	case len(p.VTEPMAC) != 6:
		return fmt.Errorf("VTEP MAC %q is not a 6-byte Ethernet address", p.VTEPMAC)
	case p.VTEPMAC[0]&1 == 1:
		return fmt.Errorf("VTEP MAC %s is a multicast address", p.VTEPMAC)
	case bytes.Equal(p.VTEPMAC, make([]byte, 6)):
		return errors.New("VTEP MAC is all zeros")
	}
	for _, a := range accepted {
		switch {
		case p.PodCIDR.Overlaps(a.PodCIDR):
			return fmt.Errorf("pod CIDR %s overlaps %s of %s", p.PodCIDR, a.PodCIDR, a.NodeName)
		case bytes.Equal(p.VTEPMAC, a.VTEPMAC):
			return fmt.Errorf("VTEP MAC %s is also %s's", p.VTEPMAC, a.NodeName)
		case p.UnderlayIP == a.UnderlayIP:
			return fmt.Errorf("underlay address %s is also %s's", p.UnderlayIP, a.NodeName)
		}
	}
	return nil
}

// Diff returns the operations that turn current into desired: removals of
// what is not desired (routes, then FDB entries, then neighbors), then
// additions and changes (neighbors, then FDB entries, then routes), each
// group sorted. Equal states give no operations.
func Diff(desired, current State) []Op {
	var ops []Op
	for _, dst := range sortedKeys(current.Routes, netip.Prefix.Compare) {
		if _, ok := desired.Routes[dst]; !ok {
			ops = append(ops, Op{Kind: DelRoute, Dst: dst, Addr: current.Routes[dst]})
		}
	}
	for _, e := range sortedKeys(current.FDB, compareFDB) {
		if !desired.FDB[e] {
			ops = append(ops, Op{Kind: DelFDB, MAC: e.MAC, Addr: e.Dst})
		}
	}
	for _, a := range sortedKeys(current.Neighbors, netip.Addr.Compare) {
		if _, ok := desired.Neighbors[a]; !ok {
			ops = append(ops, Op{Kind: DelNeighbor, Addr: a, MAC: current.Neighbors[a]})
		}
	}
	for _, a := range sortedKeys(desired.Neighbors, netip.Addr.Compare) {
		if mac, ok := current.Neighbors[a]; !ok || mac != desired.Neighbors[a] {
			ops = append(ops, Op{Kind: SetNeighbor, Addr: a, MAC: desired.Neighbors[a]})
		}
	}
	for _, e := range sortedKeys(desired.FDB, compareFDB) {
		if !current.FDB[e] {
			ops = append(ops, Op{Kind: SetFDB, MAC: e.MAC, Addr: e.Dst})
		}
	}
	for _, dst := range sortedKeys(desired.Routes, netip.Prefix.Compare) {
		if gw, ok := current.Routes[dst]; !ok || gw != desired.Routes[dst] {
			ops = append(ops, Op{Kind: SetRoute, Dst: dst, Addr: desired.Routes[dst]})
		}
	}
	return ops
}

func compareFDB(a, b FDBEntry) int { return cmp.Or(cmp.Compare(a.MAC, b.MAC), a.Dst.Compare(b.Dst)) }

func sortedKeys[K comparable, V any](m map[K]V, cmp func(K, K) int) []K {
	keys := make([]K, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	slices.SortFunc(keys, cmp)
	return keys
}
