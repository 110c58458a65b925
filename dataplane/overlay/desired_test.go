package overlay

import (
	"errors"
	"net"
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func peer(name, underlay, cidr string) Peer {
	return Peer{NodeName: name, UnderlayIP: netip.MustParseAddr(underlay), PodCIDR: netip.MustParsePrefix(cidr), VTEPMAC: VTEPMAC(name)}
}

var testSelf = Self{NodeName: "a", UnderlayIP: netip.MustParseAddr("192.168.0.1"), PodCIDR: netip.MustParsePrefix("10.244.1.0/24")}

func TestVTEPMAC(t *testing.T) {
	m := VTEPMAC("node-1")
	if len(m) != 6 || m[0]&1 != 0 || m[0]&2 == 0 {
		t.Fatalf("VTEPMAC = %s, want a locally administered unicast address", m)
	}
	if m.String() != VTEPMAC("node-1").String() {
		t.Fatal("VTEPMAC is not deterministic")
	}
	if m.String() == VTEPMAC("node-2").String() {
		t.Fatal("two names gave one MAC")
	}
}

func TestDesired(t *testing.T) {
	st, err := Desired(testSelf, []Peer{
		peer("c", "192.168.0.3", "10.244.3.0/24"),
		peer("a", "192.168.0.1", "10.244.1.0/24"), // self: skipped
		peer("b", "192.168.0.2", "10.244.2.0/24"),
	})
	if err != nil {
		t.Fatal(err)
	}
	want := State{
		Neighbors: map[netip.Addr]string{
			netip.MustParseAddr("10.244.2.0"): VTEPMAC("b").String(),
			netip.MustParseAddr("10.244.3.0"): VTEPMAC("c").String(),
		},
		FDB: map[FDBEntry]bool{
			{MAC: VTEPMAC("b").String(), Dst: netip.MustParseAddr("192.168.0.2")}: true,
			{MAC: VTEPMAC("c").String(), Dst: netip.MustParseAddr("192.168.0.3")}: true,
		},
		Routes: map[netip.Prefix]netip.Addr{
			netip.MustParsePrefix("10.244.2.0/24"): netip.MustParseAddr("10.244.2.0"),
			netip.MustParsePrefix("10.244.3.0/24"): netip.MustParseAddr("10.244.3.0"),
		},
	}
	if !reflect.DeepEqual(st, want) {
		t.Fatalf("Desired =\n%+v\nwant\n%+v", st, want)
	}
}

func TestDesiredSkipsInvalidPeers(t *testing.T) {
	zeroMAC := peer("z", "192.168.0.26", "10.244.26.0/24")
	zeroMAC.VTEPMAC = make(net.HardwareAddr, 6)
	multicast := peer("m", "192.168.0.13", "10.244.13.0/24")
	multicast.VTEPMAC = net.HardwareAddr{0x01, 0, 0x5e, 0, 0, 1}
	shortMAC := peer("s", "192.168.0.19", "10.244.19.0/24")
	shortMAC.VTEPMAC = net.HardwareAddr{1, 2}
	sameMAC := peer("e", "192.168.0.5", "10.244.5.0/24")
	sameMAC.VTEPMAC = VTEPMAC("b")
	peers := []Peer{
		peer("b", "192.168.0.2", "10.244.2.0/24"),   // valid
		peer("c", "192.168.0.3", "10.244.2.128/25"), // overlaps b
		peer("d", "192.168.0.4", "10.244.1.0/24"),   // overlaps self
		sameMAC, // b's MAC
		peer("f", "192.168.0.2", "10.244.6.0/24"),                                               // b's underlay
		{NodeName: "g", PodCIDR: netip.MustParsePrefix("10.244.7.0/24"), VTEPMAC: VTEPMAC("g")}, // no underlay
		peer("h", "192.168.0.8", "10.244.8.1/24"),                                               // host bits
		peer("i", "fd00::9", "10.244.9.0/24"),                                                   // IPv6 underlay
		zeroMAC, multicast, shortMAC,
		peer("y", "192.168.0.25", "10.244.25.0/24"), // valid
	}
	st, err := Desired(testSelf, peers)
	if !errors.Is(err, ErrInvalidPeer) {
		t.Fatalf("Desired error = %v, want ErrInvalidPeer", err)
	}
	for _, want := range []string{`"c": pod CIDR 10.244.2.128/25 overlaps 10.244.2.0/24 of b`, `"d": pod CIDR 10.244.1.0/24 overlaps`,
		`"e": VTEP MAC`, `"f": underlay address 192.168.0.2 is also b's`, `"g": underlay`, `"h": pod CIDR`, `"i": underlay`,
		`"z": VTEP MAC is all zeros`, `"m": VTEP MAC 01:00:5e:00:00:01 is a multicast`, `"s": VTEP MAC`} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error does not mention %s:\n%v", want, err)
		}
	}
	if len(st.Routes) != 2 || st.Routes[netip.MustParsePrefix("10.244.2.0/24")] != netip.MustParseAddr("10.244.2.0") ||
		st.Routes[netip.MustParsePrefix("10.244.25.0/24")] != netip.MustParseAddr("10.244.25.0") {
		t.Fatalf("valid peers b and y not both in the desired state: %+v", st.Routes)
	}
	if len(st.Neighbors) != 2 || len(st.FDB) != 2 {
		t.Fatalf("desired state has entries of invalid peers: %+v", st)
	}

	bad := testSelf
	bad.PodCIDR = netip.MustParsePrefix("10.244.1.1/24")
	if _, err := Desired(bad, nil); !errors.Is(err, ErrInvalidSelf) {
		t.Fatalf("Desired with an unmasked self CIDR: %v", err)
	}
}

func TestDiffOrder(t *testing.T) {
	ip := netip.MustParseAddr
	pf := netip.MustParsePrefix
	mac := func(last byte) net.HardwareAddr { return net.HardwareAddr{0x02, 0, 0, 0, 0, last} }
	withMAC := func(p Peer, m net.HardwareAddr) Peer { p.VTEPMAC = m; return p }
	macB, macC, macD, macE := mac(0xb).String(), mac(0xc).String(), mac(0xd).String(), mac(0xe).String()
	current := State{
		// b is up to date, c is gone, d changed underlay address, e is new.
		Neighbors: map[netip.Addr]string{ip("10.244.2.0"): macB, ip("10.244.3.0"): macC, ip("10.244.4.0"): macD},
		FDB: map[FDBEntry]bool{
			{macB, ip("192.168.0.2")}: true, {macC, ip("192.168.0.3")}: true, {macD, ip("192.168.0.4")}: true,
		},
		Routes: map[netip.Prefix]netip.Addr{pf("10.244.2.0/24"): ip("10.244.2.0"), pf("10.244.3.0/24"): ip("10.244.3.0"), pf("10.244.4.0/24"): ip("10.244.4.0")},
	}
	desired, err := Desired(testSelf, []Peer{
		withMAC(peer("e", "192.168.0.5", "10.244.5.0/24"), mac(0xe)),
		withMAC(peer("b", "192.168.0.2", "10.244.2.0/24"), mac(0xb)),
		withMAC(peer("d", "192.168.0.44", "10.244.4.0/24"), mac(0xd)),
	})
	if err != nil {
		t.Fatal(err)
	}
	got := Diff(desired, current)
	want := []Op{
		{Kind: DelRoute, Dst: pf("10.244.3.0/24"), Addr: ip("10.244.3.0")},
		{Kind: DelFDB, MAC: macC, Addr: ip("192.168.0.3")},
		{Kind: DelFDB, MAC: macD, Addr: ip("192.168.0.4")},
		{Kind: DelNeighbor, Addr: ip("10.244.3.0"), MAC: macC},
		{Kind: SetNeighbor, Addr: ip("10.244.5.0"), MAC: macE},
		{Kind: SetFDB, MAC: macD, Addr: ip("192.168.0.44")},
		{Kind: SetFDB, MAC: macE, Addr: ip("192.168.0.5")},
		{Kind: SetRoute, Dst: pf("10.244.5.0/24"), Addr: ip("10.244.5.0")},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Diff =\n%s\nwant\n%s", fmtOps(got), fmtOps(want))
	}
	if ops := Diff(desired, desired); len(ops) != 0 {
		t.Fatalf("Diff of equal states = %s", fmtOps(ops))
	}
	if ops := Diff(NewState(), NewState()); len(ops) != 0 {
		t.Fatalf("Diff of empty states = %s", fmtOps(ops))
	}
}

// TestDiffPerPeerOrder checks the per-peer invariant on adding and removing
// a single peer: neighbor → FDB → route when added, the reverse when removed.
func TestDiffPerPeerOrder(t *testing.T) {
	one, _ := Desired(testSelf, []Peer{peer("b", "192.168.0.2", "10.244.2.0/24")})
	kinds := func(ops []Op) []OpKind {
		var k []OpKind
		for _, o := range ops {
			k = append(k, o.Kind)
		}
		return k
	}
	if got := kinds(Diff(one, NewState())); !reflect.DeepEqual(got, []OpKind{SetNeighbor, SetFDB, SetRoute}) {
		t.Fatalf("adding a peer: %v", got)
	}
	if got := kinds(Diff(NewState(), one)); !reflect.DeepEqual(got, []OpKind{DelRoute, DelFDB, DelNeighbor}) {
		t.Fatalf("removing a peer: %v", got)
	}
	// A peer whose VTEP MAC changed (its node was re-created under another
	// name scheme): neighbor replaced, old FDB entry deleted first.
	changed := peer("b", "192.168.0.2", "10.244.2.0/24")
	changed.VTEPMAC = VTEPMAC("b2")
	two, _ := Desired(testSelf, []Peer{changed})
	if got := kinds(Diff(two, one)); !reflect.DeepEqual(got, []OpKind{DelFDB, SetNeighbor, SetFDB}) {
		t.Fatalf("changing a peer's MAC: %v", got)
	}
}

func fmtOps(ops []Op) string {
	var b strings.Builder
	for _, o := range ops {
		b.WriteString("  " + o.String() + "\n")
	}
	return b.String()
}
