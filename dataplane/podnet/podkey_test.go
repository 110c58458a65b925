package podnet

import (
	"net/netip"
	"reflect"
	"strings"
	"testing"
)

func TestNames(t *testing.T) {
	k := PodKey{Namespace: "default", Name: "web", UID: "0f6b3c9e-1111-2222-3333-444455556666"}
	id := SandboxID(k)
	if !sandboxIDPattern.MatchString(id) {
		t.Fatalf("SandboxID = %q, want 16 hex digits", id)
	}
	if id != SandboxID(k) {
		t.Fatal("SandboxID is not deterministic")
	}
	other := k
	other.UID = "another"
	if SandboxID(other) == id {
		t.Fatal("a new pod UID must give a new sandbox")
	}
	v := HostVethName(id)
	if len(v) > 15 || !vethNamePattern.MatchString(v) || !strings.HasSuffix(id[:8], v[3:]) {
		t.Fatalf("HostVethName = %q", v)
	}
	if got := idFromPin(pinName(id)); got != id {
		t.Fatalf("idFromPin(pinName) = %q", got)
	}
	for _, bad := range []string{"tug-xyz", "other", "tug-" + id + "x", "tug-" + strings.ToUpper(id)} {
		if idFromPin(bad) != "" {
			t.Errorf("idFromPin(%q) accepted a foreign name", bad)
		}
	}
	gotID, pod := parseVethAlias(vethAlias(id, k))
	if gotID != id || pod != "default/web" {
		t.Fatalf("alias round trip = %q %q", gotID, pod)
	}
	long := PodKey{Namespace: strings.Repeat("n", 63), Name: strings.Repeat("p", 253), UID: "u"}
	if a := vethAlias(SandboxID(long), long); len(a) > maxAliasLen {
		t.Fatalf("alias of a long pod name is %d bytes", len(a))
	}
	if err := (PodKey{Namespace: "a/b", Name: "", UID: "u"}).Validate(); err == nil ||
		!strings.Contains(err.Error(), "namespace") || !strings.Contains(err.Error(), "name is empty") {
		t.Fatalf("Validate = %v", err)
	}
}

func TestValidatePodIP(t *testing.T) {
	gw := netip.MustParsePrefix("10.244.1.1/24")
	for ip, want := range map[string]string{
		"10.244.1.5/24":   "",
		"10.244.1.254/24": "",
		"10.244.2.5/24":   "not in the node's pod CIDR",
		"10.244.1.5/16":   "not in the node's pod CIDR",
		"10.244.1.1/24":   "gateway",
		"10.244.1.0/24":   "network address",
		"10.244.1.255/24": "broadcast",
	} {
		err := validatePodIP(netip.MustParsePrefix(ip), gw)
		if (want == "") != (err == nil) || (err != nil && !strings.Contains(err.Error(), want)) {
			t.Errorf("validatePodIP(%s) = %v, want %q", ip, err, want)
		}
	}
}

func TestMergeAndLeftovers(t *testing.T) {
	a := PodKey{"default", "a", "1"}
	b := PodKey{"default", "b", "2"}
	c := PodKey{"default", "c", "3"}
	ida, idb, idc := SandboxID(a), SandboxID(b), SandboxID(c)
	pins := map[string]string{ida: "/run/netns/tug-" + ida, idc: "/run/netns/tug-" + idc}
	veths := []Sandbox{
		{ID: ida, Pod: "default/a", HostVeth: HostVethName(ida)},
		{ID: idb, Pod: "default/b", HostVeth: HostVethName(idb)},
		{HostVeth: "tug0badbad0"},
	}
	found := mergeSandboxes(pins, veths)
	byID := map[string]Sandbox{}
	for _, sb := range found {
		byID[sb.ID] = sb
	}
	if len(found) != 4 {
		t.Fatalf("merged %d sandboxes, want 4: %+v", len(found), found)
	}
	if sb := byID[ida]; sb.NetnsPath == "" || sb.HostVeth == "" {
		t.Errorf("pin and veth of a were not merged: %+v", sb)
	}
	if sb := byID[idb]; sb.NetnsPath != "" || sb.HostVeth == "" {
		t.Errorf("b (veth only) = %+v", sb)
	}
	if sb := byID[idc]; sb.NetnsPath == "" || sb.HostVeth != "" {
		t.Errorf("c (pin only) = %+v", sb)
	}

	left := Leftovers(found, []PodKey{a, c})
	var got []string
	for _, sb := range left {
		got = append(got, sb.ID+"|"+sb.HostVeth)
	}
	want := []string{"|tug0badbad0", idb + "|" + HostVethName(idb)}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("Leftovers = %v, want %v", got, want)
	}
	if l := Leftovers(found, nil); len(l) != 4 {
		t.Fatalf("with no live pods every sandbox is a leftover, got %d", len(l))
	}
}
