package proxy

import (
	"errors"
	"fmt"
	"net/netip"
	"slices"
	"strings"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/rest"

	"github.com/tug-sh/tug/bpf/lb"
)

func TestNodePortAddresses(t *testing.T) {
	for _, tc := range []struct {
		name  string
		addrs []v1.NodeAddress
		want  []netip.Addr
	}{
		{"no node", nil, nil},
		{"internal IP", []v1.NodeAddress{{Type: v1.NodeInternalIP, Address: "192.168.1.10"}, {Type: v1.NodeHostName, Address: "n1"}},
			[]netip.Addr{netip.MustParseAddr("192.168.1.10")}},
		{"internal and external, sorted, repeats dropped", []v1.NodeAddress{
			{Type: v1.NodeExternalIP, Address: "203.0.113.7"},
			{Type: v1.NodeInternalIP, Address: "10.0.0.5"},
			{Type: v1.NodeExternalIP, Address: "10.0.0.5"},
		}, []netip.Addr{netip.MustParseAddr("10.0.0.5"), netip.MustParseAddr("203.0.113.7")}},
		{"IPv6, DNS names and garbage are not frontends", []v1.NodeAddress{
			{Type: v1.NodeInternalIP, Address: "fd00::5"},
			{Type: v1.NodeInternalDNS, Address: "10.0.0.9"},
			{Type: v1.NodeInternalIP, Address: "not-an-ip"},
		}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var node *v1.Node
			if tc.addrs != nil {
				node = &v1.Node{Status: v1.NodeStatus{Addresses: tc.addrs}}
			}
			if got := nodePortAddresses(node); !slices.Equal(got, tc.want) {
				t.Fatalf("got %v, want %v", got, tc.want)
			}
		})
	}
}

func TestPermanent(t *testing.T) {
	for _, tc := range []struct {
		err  error
		want bool
	}{
		{fmt.Errorf("load: %w", lb.ErrNoCgroup2), true},
		{lb.ErrNoBTF, true},
		{lb.ErrNoSockAddrHooks, true},
		{lb.ErrNoBPFFS, true},
		{lb.ErrIncompatibleMaps, true},
		{lb.ErrInvalidConfig, true},
		{errors.New("load load-balancer programs and maps: operation not permitted"), false},
		{lb.ErrInvalidService, false},
	} {
		if got := permanent(tc.err); got != tc.want {
			t.Errorf("permanent(%v) = %v, want %v", tc.err, got, tc.want)
		}
	}
}

func TestNextRetry(t *testing.T) {
	var got []time.Duration
	d := time.Duration(0)
	for range 8 {
		d = nextRetry(d)
		got = append(got, d)
	}
	want := []time.Duration{time.Second, 2 * time.Second, 4 * time.Second, 8 * time.Second, 16 * time.Second, 30 * time.Second, 30 * time.Second, 30 * time.Second}
	if !slices.Equal(got, want) {
		t.Fatalf("backoff %v, want %v", got, want)
	}
}

func TestConfigValidate(t *testing.T) {
	good := Config{RestConfig: &rest.Config{Host: "http://127.0.0.1:8080"}, NodeName: "n1", ServiceCIDR: DefaultServiceCIDR}
	if _, err := New(good); err != nil {
		t.Fatalf("valid config: %v", err)
	}
	for _, tc := range []struct {
		name   string
		change func(*Config)
		want   string
	}{
		{"no API server", func(c *Config) { c.RestConfig = nil }, "no API server"},
		{"no node name", func(c *Config) { c.NodeName = "" }, "node name is empty"},
		{"no service CIDR", func(c *Config) { c.ServiceCIDR = netip.Prefix{} }, "--service-cluster-ip-range"},
		{"IPv6 service CIDR", func(c *Config) { c.ServiceCIDR = netip.MustParsePrefix("fd00:96::/108") }, "IPv4"},
		{"IPv6 node address", func(c *Config) { c.NodeAddresses = []netip.Addr{netip.MustParseAddr("fd00::1")} }, "IPv4 only"},
		{"negative resync", func(c *Config) { c.ResyncInterval = -time.Second }, "negative"},
	} {
		t.Run(tc.name, func(t *testing.T) {
			cfg := good
			tc.change(&cfg)
			_, err := New(cfg)
			if err == nil || !strings.Contains(err.Error(), tc.want) {
				t.Fatalf("New: %v, want an error mentioning %q", err, tc.want)
			}
		})
	}
}

func TestNotReadyUntilRun(t *testing.T) {
	p, err := New(Config{RestConfig: &rest.Config{Host: "http://127.0.0.1:1"}, NodeName: "n1", ServiceCIDR: DefaultServiceCIDR})
	if err != nil {
		t.Fatal(err)
	}
	if ok, msg := p.Ready(); ok || !strings.Contains(msg, "not started") {
		t.Fatalf("Ready() = %v, %q before Run", ok, msg)
	}
}
