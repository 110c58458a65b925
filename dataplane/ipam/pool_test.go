package ipam

import (
	"net/netip"
	"strings"
	"testing"
)

func TestNewPool(t *testing.T) {
	tests := []struct {
		cidr    string
		size    int
		gateway string
		first   string
		last    string
		wantErr string
	}{
		{cidr: "10.244.1.0/24", size: 253, gateway: "10.244.1.1", first: "10.244.1.2", last: "10.244.1.254"},
		{cidr: "10.0.3.0/24", size: 253, gateway: "10.0.3.1", first: "10.0.3.2", last: "10.0.3.254"},
		{cidr: "10.244.0.0/16", size: 65533, gateway: "10.244.0.1", first: "10.244.0.2", last: "10.244.255.254"},
		{cidr: "192.168.7.8/29", size: 5, gateway: "192.168.7.9", first: "192.168.7.10", last: "192.168.7.14"},
		{cidr: "10.1.1.4/30", size: 1, gateway: "10.1.1.5", first: "10.1.1.6", last: "10.1.1.6"},
		{cidr: "10.1.1.0/31", wantErr: "too small"},
		{cidr: "10.1.1.1/32", wantErr: "too small"},
		{cidr: "10.1.1.1/24", wantErr: "host bits set: use 10.1.1.0/24"},
		{cidr: "fd00::/64", wantErr: "not IPv4"},
		{cidr: "10.0.0.0/7", wantErr: "too large"},
		{cidr: "", wantErr: "not set"},
	}
	for _, tt := range tests {
		t.Run(tt.cidr, func(t *testing.T) {
			var cidr netip.Prefix
			if tt.cidr != "" {
				cidr = netip.MustParsePrefix(tt.cidr)
			}
			p, err := newPool(cidr)
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) {
					t.Fatalf("newPool(%s) error = %v, want one containing %q", tt.cidr, err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatalf("newPool(%s): %v", tt.cidr, err)
			}
			if p.size != tt.size || p.gateway.String() != tt.gateway || p.first.String() != tt.first || p.last.String() != tt.last {
				t.Errorf("newPool(%s) = size %d gateway %s range %s-%s, want %d %s %s-%s",
					tt.cidr, p.size, p.gateway, p.first, p.last, tt.size, tt.gateway, tt.first, tt.last)
			}
		})
	}
}

func TestPoolNext(t *testing.T) {
	p, err := newPool(netip.MustParsePrefix("10.9.0.0/29")) // pods: .2-.6
	if err != nil {
		t.Fatal(err)
	}
	set := func(addrs ...string) map[netip.Addr]bool {
		m := map[netip.Addr]bool{}
		for _, a := range addrs {
			m[netip.MustParseAddr(a)] = true
		}
		return m
	}
	tests := []struct {
		name string
		used map[netip.Addr]bool
		hint string
		want string // "" = exhausted
	}{
		{name: "empty, no hint", used: set(), want: "10.9.0.2"},
		{name: "after hint", used: set("10.9.0.2"), hint: "10.9.0.2", want: "10.9.0.3"},
		{name: "skips used after hint", used: set("10.9.0.2", "10.9.0.4"), hint: "10.9.0.3", want: "10.9.0.5"},
		{name: "released address not reused before wrap", used: set("10.9.0.3"), hint: "10.9.0.3", want: "10.9.0.4"},
		{name: "wraps after last", used: set("10.9.0.6"), hint: "10.9.0.6", want: "10.9.0.2"},
		{name: "wraps past used", used: set("10.9.0.2", "10.9.0.6"), hint: "10.9.0.5", want: "10.9.0.3"},
		{name: "hint outside range ignored", used: set(), hint: "10.9.0.7", want: "10.9.0.2"},
		{name: "hint gateway ignored", used: set(), hint: "10.9.0.1", want: "10.9.0.2"},
		{name: "exhausted", used: set("10.9.0.2", "10.9.0.3", "10.9.0.4", "10.9.0.5", "10.9.0.6"), hint: "10.9.0.4", want: ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var hint netip.Addr
			if tt.hint != "" {
				hint = netip.MustParseAddr(tt.hint)
			}
			got, ok := p.next(tt.used, hint)
			if tt.want == "" {
				if ok {
					t.Fatalf("next = %s, want exhausted", got)
				}
				return
			}
			if !ok || got.String() != tt.want {
				t.Fatalf("next = %s (ok=%v), want %s", got, ok, tt.want)
			}
		})
	}
}
