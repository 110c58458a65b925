package allocator

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func mustCIDRSet(t *testing.T, cluster string, mask int) *CIDRSet {
	t.Helper()
	s, err := NewCIDRSet(netip.MustParsePrefix(cluster), mask)
	if err != nil {
		t.Fatalf("NewCIDRSet(%s, %d): %v", cluster, mask, err)
	}
	return s
}

func TestNewCIDRSet(t *testing.T) {
	tests := []struct {
		cluster string
		mask    int
		size    int
		first   string
		last    string
		wantErr string
	}{
		{cluster: "10.244.0.0/16", mask: 24, size: 256, first: "10.244.0.0/24", last: "10.244.255.0/24"},
		{cluster: "10.0.0.0/16", mask: 24, size: 256, first: "10.0.0.0/24", last: "10.0.255.0/24"},
		{cluster: "10.0.0.0/8", mask: 24, size: 65536, first: "10.0.0.0/24", last: "10.255.255.0/24"},
		{cluster: "10.244.0.0/24", mask: 24, size: 1, first: "10.244.0.0/24", last: "10.244.0.0/24"},
		{cluster: "10.244.0.0/30", mask: 32, size: 4, first: "10.244.0.0/32", last: "10.244.0.3/32"},
		{cluster: "fd00:10:244::/48", mask: 64, size: 65536, first: "fd00:10:244::/64", last: "fd00:10:244:ffff::/64"},
		{cluster: "fd00::/8", mask: 24, size: 65536, first: "fd00::/24", last: "fdff:ff00::/24"},
		{cluster: "10.244.0.0/16", mask: 12, wantErr: "does not fit in cluster CIDR 10.244.0.0/16; use a mask size from 16 to 32"},
		{cluster: "10.244.0.0/16", mask: 33, wantErr: "does not fit"},
		{cluster: "10.0.0.0/8", mask: 25, wantErr: "more than 2^16 subnets; use a mask size of at most /24"},
		{cluster: "10.244.1.0/16", mask: 24, wantErr: "host bits set; did you mean 10.244.0.0/16?"},
	}
	for _, tt := range tests {
		t.Run(tt.cluster, func(t *testing.T) {
			s, err := NewCIDRSet(netip.MustParsePrefix(tt.cluster), tt.mask)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidRange) || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("err = %v, want ErrInvalidRange containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if s.Size() != tt.size {
				t.Errorf("size = %d, want %d", s.Size(), tt.size)
			}
			if got := s.subnet(0).String(); got != tt.first {
				t.Errorf("first = %s, want %s", got, tt.first)
			}
			if got := s.subnet(s.Size() - 1).String(); got != tt.last {
				t.Errorf("last = %s, want %s", got, tt.last)
			}
			// offset and subnet are inverse.
			for _, off := range []int{0, s.Size() / 2, s.Size() - 1} {
				if got, err := s.offset(s.subnet(off)); err != nil || got != off {
					t.Errorf("offset(subnet(%d)) = %d, %v", off, got, err)
				}
			}
		})
	}
}

// TestCIDRSetNodeIPAM: the node IPAM controller rebuilds the set from the
// existing nodes' podCIDRs, then hands the next free one to a new node.
func TestCIDRSetNodeIPAM(t *testing.T) {
	s := mustCIDRSet(t, "10.244.0.0/16", 24)
	for _, existing := range []string{"10.244.0.0/24", "10.244.1.0/24", "10.244.3.0/24"} {
		if err := s.Allocate(netip.MustParsePrefix(existing)); err != nil {
			t.Fatal(err)
		}
	}
	var got []string
	for i := 0; i < 3; i++ {
		p, err := s.AllocateNext()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.244.2.0/24 10.244.4.0/24 10.244.5.0/24" {
		t.Fatalf("AllocateNext gave %v", got)
	}
	if s.Used() != 6 || s.Free() != 250 || !s.Has(netip.MustParsePrefix("10.244.4.0/24")) {
		t.Errorf("used %d free %d", s.Used(), s.Free())
	}

	for _, tt := range []struct {
		sub     string
		wantErr error
	}{
		{"10.244.1.0/24", ErrAllocated},
		{"10.245.0.0/24", ErrNotInRange},
		{"10.244.8.0/23", ErrNotInRange},
		{"10.244.8.0/25", ErrNotInRange},
		{"10.244.8.7/24", ErrNotInRange},
		{"fd00::/24", ErrNotInRange},
	} {
		err := s.Allocate(netip.MustParsePrefix(tt.sub))
		if !errors.Is(err, tt.wantErr) {
			t.Errorf("Allocate(%s) = %v, want %v", tt.sub, err, tt.wantErr)
		}
	}
	err := s.Allocate(netip.MustParsePrefix("10.244.8.0/23"))
	if err == nil || err.Error() != "10.244.8.0/23 is not a /24 subnet of the cluster CIDR 10.244.0.0/16; give a podCIDR such as 10.244.0.0/24" {
		t.Errorf("message: %v", err)
	}

	// A deleted node's subnet is not reused until the set wraps.
	s.Release(netip.MustParsePrefix("10.244.2.0/24"))
	if p, _ := s.AllocateNext(); p.String() != "10.244.6.0/24" {
		t.Errorf("after release got %s, want 10.244.6.0/24", p)
	}
}

func TestCIDRSetExhaustion(t *testing.T) {
	s := mustCIDRSet(t, "10.0.0.0/16", 18)
	var got []string
	for {
		p, err := s.AllocateNext()
		if err != nil {
			const want = "the cluster CIDR 10.0.0.0/16 is exhausted (4 of 4 /18 subnets in use); delete a Node or widen --cluster-cidr"
			if !errors.Is(err, ErrFull) || err.Error() != want {
				t.Fatalf("err = %v, want %q", err, want)
			}
			break
		}
		got = append(got, p.String())
	}
	if strings.Join(got, " ") != "10.0.0.0/18 10.0.64.0/18 10.0.128.0/18 10.0.192.0/18" {
		t.Fatalf("got %v", got)
	}
	s.Release(netip.MustParsePrefix("10.0.64.0/18"))
	if p, err := s.AllocateNext(); err != nil || p.String() != "10.0.64.0/18" {
		t.Fatalf("after release: %v, %v", p, err)
	}
}

func TestCIDRSetSnapshot(t *testing.T) {
	s := mustCIDRSet(t, "10.244.0.0/16", 24)
	for i := 0; i < 3; i++ {
		if _, err := s.AllocateNext(); err != nil {
			t.Fatal(err)
		}
	}
	data, err := json.Marshal(s)
	if err != nil {
		t.Fatal(err)
	}
	if string(data) != `{"range":"10.244.0.0/16","maskSize":24,"next":3,"data":"Bw=="}` {
		t.Fatalf("snapshot %s", data)
	}
	var zero CIDRSet
	if err := json.Unmarshal(data, &zero); err != nil {
		t.Fatal(err)
	}
	if zero.Cluster() != s.Cluster() || zero.MaskSize() != 24 || zero.Used() != 3 {
		t.Fatalf("restored %v", &zero)
	}
	if p, _ := zero.AllocateNext(); p.String() != "10.244.3.0/24" {
		t.Errorf("next after restore %s", p)
	}

	for _, other := range []*CIDRSet{mustCIDRSet(t, "10.244.0.0/16", 25), mustCIDRSet(t, "10.245.0.0/16", 24)} {
		err := json.Unmarshal(data, other)
		if !errors.Is(err, ErrRangeChanged) || !strings.Contains(err.Error(), "10.244.0.0/16 (/24 subnets)") {
			t.Errorf("restore into %v: err = %v, want ErrRangeChanged naming the stored range", other, err)
		}
	}
	if err := zero.UnmarshalJSON([]byte(`{"range":"10.244.0.0/16","next":0,"data":""}`)); !errors.Is(err, ErrRangeChanged) {
		t.Errorf("IP range snapshot into CIDR set: %v, want ErrRangeChanged", err)
	}
	var z2 CIDRSet
	if err := z2.UnmarshalJSON([]byte(`{"range":"10.244.0.0/16","next":0,"data":""}`)); !errors.Is(err, ErrInvalidSnapshot) {
		t.Errorf("snapshot without maskSize into zero CIDR set: %v, want ErrInvalidSnapshot", err)
	}
}
