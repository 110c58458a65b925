package lb

import (
	"encoding/binary"
	"errors"
	"net/netip"
	"testing"
	"time"
	"unsafe"
)

// The maps hold addresses and ports in network byte order: the bytes of
// the encoded struct must be the bytes on the wire.
func TestEncodingIsNetworkOrder(t *testing.T) {
	fe := Frontend{Address: netip.MustParseAddr("10.96.0.10"), Port: 80, Protocol: TCP}
	k := encodeFrontend(fe)
	raw := unsafe.Slice((*byte)(unsafe.Pointer(&k.Address)), 4)
	if want := []byte{10, 96, 0, 10}; string(raw) != string(want) {
		t.Fatalf("address bytes %v, want %v", raw, want)
	}
	port := unsafe.Slice((*byte)(unsafe.Pointer(&k.Port)), 2)
	if binary.BigEndian.Uint16(port) != 80 {
		t.Fatalf("port bytes %v, want 80 big-endian", port)
	}
	if got := decodeFrontend(k); got != fe {
		t.Fatalf("round trip %v, want %v", got, fe)
	}
	b := Backend{Address: netip.MustParseAddr("10.244.1.7"), Port: 8080}
	if got := decodeBackend(encodeBackend(b)); got != b {
		t.Fatalf("round trip %v, want %v", got, b)
	}
}

func TestServiceValidation(t *testing.T) {
	fe := Frontend{Address: netip.MustParseAddr("10.96.0.10"), Port: 80, Protocol: TCP}
	ok := Backend{Address: netip.MustParseAddr("10.244.0.1"), Port: 80}
	for _, tc := range []struct {
		name string
		svc  Service
	}{
		{"ipv6 frontend", Service{Frontend: Frontend{Address: netip.MustParseAddr("fd00::1"), Port: 80, Protocol: TCP}}},
		{"port 0", Service{Frontend: Frontend{Address: fe.Address, Protocol: TCP}}},
		{"sctp", Service{Frontend: Frontend{Address: fe.Address, Port: 80, Protocol: 132}}},
		{"ipv6 backend", Service{Frontend: fe, Backends: []Backend{{Address: netip.MustParseAddr("fd00::2"), Port: 80}}}},
		{"backend port 0", Service{Frontend: fe, Backends: []Backend{{Address: ok.Address}}}},
		{"negative affinity", Service{Frontend: fe, Backends: []Backend{ok}, AffinityTimeout: -time.Second}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			err := tc.svc.validate()
			if !errors.Is(err, ErrInvalidService) {
				t.Fatalf("validate = %v, want ErrInvalidService", err)
			}
		})
	}
	if err := (Service{Frontend: fe, Backends: []Backend{ok}}).validate(); err != nil {
		t.Fatal(err)
	}
}

func TestAffinitySecondsRoundsUp(t *testing.T) {
	for d, want := range map[time.Duration]uint32{time.Millisecond: 1, time.Second: 1, 10800 * time.Second: 10800, 1500 * time.Millisecond: 2} {
		if got := affinitySeconds(d); got != want {
			t.Errorf("affinitySeconds(%s) = %d, want %d", d, got, want)
		}
	}
}

func TestConfigDefaultsAndErrors(t *testing.T) {
	c, err := Config{}.complete()
	if err != nil || c.BPFFS != "/sys/fs/bpf" || c.PinDir != "/sys/fs/bpf/tug" {
		t.Fatalf("defaults: %+v, %v", c, err)
	}
	for _, bad := range []Config{
		{BPFFS: "/sys/fs/bpf", PinDir: "/tmp/tug"},
		{BPFFS: "/sys/fs/bpf", PinDir: "/sys/fs/bpf"},
		{BPFFS: "relative/bpf"},
	} {
		if _, err := bad.complete(); !errors.Is(err, ErrInvalidConfig) {
			t.Errorf("%+v: got %v, want ErrInvalidConfig", bad, err)
		}
	}
}
