package allocator

import (
	"encoding/json"
	"errors"
	"net/netip"
	"strings"
	"testing"
)

func mustIPRange(t *testing.T, prefix string) *IPRange {
	t.Helper()
	r, err := NewIPRange(netip.MustParsePrefix(prefix))
	if err != nil {
		t.Fatalf("NewIPRange(%s): %v", prefix, err)
	}
	return r
}

func TestNewIPRange(t *testing.T) {
	tests := []struct {
		prefix  string
		size    int
		wantErr string // substring; "" means success
	}{
		{prefix: "10.96.0.0/12", size: 1<<20 - 2},
		{prefix: "10.96.0.0/28", size: 14},
		{prefix: "10.96.0.0/30", size: 2},
		{prefix: "10.96.0.0/31", wantErr: "has no assignable address"},
		{prefix: "10.96.0.1/32", wantErr: "has no assignable address"},
		{prefix: "10.0.0.0/11", wantErr: "too large: at most 20 host bits (a /12)"},
		{prefix: "10.96.0.1/28", wantErr: "has host bits set; did you mean 10.96.0.0/28?"},
		{prefix: "fd00::/120", size: 255}, // IPv6 has no broadcast address
		{prefix: "fd00::/127", size: 1},
		{prefix: "fd00::/128", wantErr: "has no assignable address"},
		{prefix: "fd00::/100", wantErr: "too large: at most 20 host bits (a /108)"},
		{prefix: "::ffff:10.0.0.0/124", wantErr: "IPv4-mapped"},
	}
	for _, tt := range tests {
		t.Run(tt.prefix, func(t *testing.T) {
			r, err := NewIPRange(netip.MustParsePrefix(tt.prefix))
			if tt.wantErr != "" {
				if err == nil || !strings.Contains(err.Error(), tt.wantErr) || !errors.Is(err, ErrInvalidRange) {
					t.Fatalf("err = %v, want ErrInvalidRange containing %q", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.Size() != tt.size || r.Free() != tt.size || r.Used() != 0 {
				t.Errorf("size/free/used = %d/%d/%d, want %d/%d/0", r.Size(), r.Free(), r.Used(), tt.size, tt.size)
			}
		})
	}
	if _, err := NewIPRange(netip.Prefix{}); !errors.Is(err, ErrInvalidRange) {
		t.Errorf("zero prefix: err = %v, want ErrInvalidRange", err)
	}
}

func TestIPRangeAllocate(t *testing.T) {
	r := mustIPRange(t, "10.96.0.0/28")
	steps := []struct {
		addr    string
		wantErr error
		msg     string
	}{
		{addr: "10.96.0.1"},
		{addr: "10.96.0.14"},
		{addr: "10.96.0.1", wantErr: ErrAllocated, msg: "10.96.0.1 is already allocated in the range 10.96.0.0/28"},
		{addr: "10.96.0.0", wantErr: ErrNotInRange, msg: "10.96.0.0 is the network address of 10.96.0.0/28, which is never assigned"},
		{addr: "10.96.0.15", wantErr: ErrNotInRange, msg: "10.96.0.15 is the broadcast address of 10.96.0.0/28"},
		{addr: "10.96.0.16", wantErr: ErrNotInRange, msg: "10.96.0.16 is not in the range 10.96.0.0/28 (assignable: 10.96.0.1 to 10.96.0.14)"},
		{addr: "::ffff:10.96.0.2", wantErr: ErrNotInRange},
		{addr: "fd00::1", wantErr: ErrNotInRange},
	}
	for _, s := range steps {
		err := r.Allocate(netip.MustParseAddr(s.addr))
		if !errors.Is(err, s.wantErr) || (s.wantErr == nil) != (err == nil) {
			t.Fatalf("Allocate(%s) = %v, want %v", s.addr, err, s.wantErr)
		}
		if s.msg != "" && !strings.Contains(err.Error(), s.msg) {
			t.Errorf("Allocate(%s) message %q does not contain %q", s.addr, err, s.msg)
		}
	}
	if err := r.Allocate(netip.Addr{}); !errors.Is(err, ErrNotInRange) {
		t.Errorf("Allocate(invalid) = %v, want ErrNotInRange", err)
	}
	if r.Used() != 2 || r.Free() != 12 {
		t.Errorf("used/free = %d/%d, want 2/12", r.Used(), r.Free())
	}
	for addr, want := range map[string]bool{"10.96.0.1": true, "10.96.0.14": true, "10.96.0.2": false, "10.96.0.0": false, "10.96.0.15": false, "1.1.1.1": false} {
		if got := r.Has(netip.MustParseAddr(addr)); got != want {
			t.Errorf("Has(%s) = %v, want %v", addr, got, want)
		}
	}
	r.Release(netip.MustParseAddr("10.96.0.1"))
	r.Release(netip.MustParseAddr("10.96.0.1"))  // twice: no effect
	r.Release(netip.MustParseAddr("192.0.2.1"))  // foreign: no effect
	r.Release(netip.MustParseAddr("10.96.0.15")) // reserved: no effect
	if r.Used() != 1 || r.Has(netip.MustParseAddr("10.96.0.1")) {
		t.Errorf("after release: used = %d, has .1 = %v", r.Used(), r.Has(netip.MustParseAddr("10.96.0.1")))
	}
}

// TestIPRangeAllocateNext walks a /29 (six addresses) through rotation,
// skipping taken addresses, wraparound and exhaustion.
func TestIPRangeAllocateNext(t *testing.T) {
	r := mustIPRange(t, "10.0.0.0/29")
	next := func(want string) {
		t.Helper()
		got, err := r.AllocateNext()
		if err != nil {
			t.Fatalf("AllocateNext: %v (want %s)", err, want)
		}
		if got.String() != want {
			t.Fatalf("AllocateNext = %s, want %s", got, want)
		}
	}
	next("10.0.0.1")
	next("10.0.0.2")
	if err := r.Allocate(netip.MustParseAddr("10.0.0.4")); err != nil {
		t.Fatal(err)
	}
	next("10.0.0.3")
	r.Release(netip.MustParseAddr("10.0.0.2"))
	next("10.0.0.5") // .4 is taken; .2 was just released and must wait
	next("10.0.0.6")
	next("10.0.0.2") // wrapped around
	if r.Free() != 0 {
		t.Fatalf("free = %d, want 0", r.Free())
	}
	_, err := r.AllocateNext()
	const want = "the range 10.0.0.0/29 is exhausted (6 of 6 addresses in use); delete a Service or widen --service-cluster-ip-range"
	if !errors.Is(err, ErrFull) || err.Error() != want {
		t.Fatalf("AllocateNext on full range = %v, want ErrFull %q", err, want)
	}
	r.Release(netip.MustParseAddr("10.0.0.6"))
	next("10.0.0.6")
}

func TestIPRangeExhaustedMessage(t *testing.T) {
	r := mustIPRange(t, "10.96.0.0/28")
	for i := 0; i < 14; i++ {
		if _, err := r.AllocateNext(); err != nil {
			t.Fatalf("allocation %d: %v", i, err)
		}
	}
	_, err := r.AllocateNext()
	const want = "the range 10.96.0.0/28 is exhausted (14 of 14 addresses in use); delete a Service or widen --service-cluster-ip-range"
	if err == nil || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
}

// TestIPRangeSmallest: a /30 has exactly two assignable addresses.
func TestIPRangeSmallest(t *testing.T) {
	r := mustIPRange(t, "192.168.7.0/30")
	a, _ := r.AllocateNext()
	b, _ := r.AllocateNext()
	if a.String() != "192.168.7.1" || b.String() != "192.168.7.2" {
		t.Fatalf("got %s, %s", a, b)
	}
	if _, err := r.AllocateNext(); !errors.Is(err, ErrFull) {
		t.Fatalf("third allocation: %v, want ErrFull", err)
	}
}

func TestIPRangeIPv6(t *testing.T) {
	r := mustIPRange(t, "fd00:10:96::/112")
	got, err := r.AllocateNext()
	if err != nil || got.String() != "fd00:10:96::1" {
		t.Fatalf("AllocateNext = %v, %v", got, err)
	}
	// The last address is assignable: IPv6 has no broadcast.
	last := netip.MustParseAddr("fd00:10:96::ffff")
	if err := r.Allocate(last); err != nil {
		t.Fatal(err)
	}
	if r.Size() != 65535 {
		t.Errorf("size = %d", r.Size())
	}
}

func TestIPRangeSnapshotFormat(t *testing.T) {
	r := mustIPRange(t, "10.96.0.0/28")
	for i := 0; i < 2; i++ {
		if _, err := r.AllocateNext(); err != nil {
			t.Fatal(err)
		}
	}
	if err := r.Allocate(netip.MustParseAddr("10.96.0.10")); err != nil {
		t.Fatal(err)
	}
	got, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	// .1 and .2 are bits 0 and 1 (0x03); .10 is bit 9 (0x02 in byte 1).
	const want = `{"range":"10.96.0.0/28","next":2,"data":"AwI="}`
	if string(got) != want {
		t.Fatalf("snapshot = %s, want %s", got, want)
	}

	empty := mustIPRange(t, "10.96.0.0/12")
	got, _ = json.Marshal(empty)
	if string(got) != `{"range":"10.96.0.0/12","next":0,"data":""}` {
		t.Errorf("empty /12 snapshot = %s", got)
	}
	if err := empty.Allocate(netip.MustParseAddr("10.96.0.1")); err != nil {
		t.Fatal(err)
	}
	got, _ = json.Marshal(empty)
	if len(got) > 60 {
		t.Errorf("a sparse /12 snapshot should be short, got %d bytes: %s", len(got), got)
	}
}

func TestIPRangeSnapshotRoundTrip(t *testing.T) {
	orig := mustIPRange(t, "10.96.0.0/24")
	for i := 0; i < 100; i++ {
		if _, err := orig.AllocateNext(); err != nil {
			t.Fatal(err)
		}
	}
	for i := 10; i < 100; i += 3 {
		orig.Release(offsetAddr(netip.MustParseAddr("10.96.0.1"), i))
	}
	data, err := json.Marshal(orig)
	if err != nil {
		t.Fatal(err)
	}

	for name, restored := range map[string]*IPRange{"configured": mustIPRange(t, "10.96.0.0/24"), "zero": {}} {
		t.Run(name, func(t *testing.T) {
			if err := json.Unmarshal(data, restored); err != nil {
				t.Fatal(err)
			}
			if restored.Range() != orig.Range() || restored.Used() != orig.Used() || restored.Free() != orig.Free() {
				t.Fatalf("restored %v, original %v", restored, orig)
			}
			for i := 0; i < orig.Size(); i++ {
				a := offsetAddr(netip.MustParseAddr("10.96.0.1"), i)
				if restored.Has(a) != orig.Has(a) {
					t.Fatalf("Has(%s) differs", a)
				}
			}
			// The hint is restored: both hand out the same next address.
			o, r := *orig, *restored
			o.bm.words = append([]uint64(nil), orig.bm.words...)
			a, _ := o.AllocateNext()
			b, _ := r.AllocateNext()
			if a != b || a.String() != "10.96.0.101" {
				t.Fatalf("next after restore = %s, original %s, want 10.96.0.101", b, a)
			}
		})
	}
}

func TestIPRangeRangeChanged(t *testing.T) {
	old := mustIPRange(t, "10.96.0.0/12")
	if err := old.Allocate(netip.MustParseAddr("10.96.0.10")); err != nil {
		t.Fatal(err)
	}
	data, _ := json.Marshal(old)
	r := mustIPRange(t, "10.100.0.0/16")
	err := json.Unmarshal(data, r)
	if !errors.Is(err, ErrRangeChanged) {
		t.Fatalf("err = %v, want ErrRangeChanged", err)
	}
	for _, s := range []string{"10.96.0.0/12", "10.100.0.0/16", "--service-cluster-ip-range=10.96.0.0/12"} {
		if !strings.Contains(err.Error(), s) {
			t.Errorf("message %q does not name %s", err, s)
		}
	}
	if r.Used() != 0 || r.Range().String() != "10.100.0.0/16" {
		t.Errorf("a failed restore changed the allocator: %v", r)
	}
	// A CIDR set snapshot is not an IP range snapshot.
	if err := json.Unmarshal([]byte(`{"range":"10.100.0.0/16","maskSize":24,"next":0,"data":""}`), r); !errors.Is(err, ErrRangeChanged) {
		t.Errorf("CIDR set snapshot: err = %v, want ErrRangeChanged", err)
	}
}

func TestIPRangeCorruptSnapshots(t *testing.T) {
	tests := []struct {
		name, data string
	}{
		{"not json", `{"range":`},
		{"bad base64", `{"range":"10.96.0.0/28","next":0,"data":"!!!"}`},
		{"bits beyond the range", `{"range":"10.96.0.0/28","next":0,"data":"AEA="}`}, // bit 14: offset 14 of a 14-address range
		{"too many bytes", `{"range":"10.96.0.0/28","next":0,"data":"AAAA"}`},
		{"next past the end", `{"range":"10.96.0.0/28","next":14,"data":""}`},
		{"negative next", `{"range":"10.96.0.0/28","next":-1,"data":""}`},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			r := mustIPRange(t, "10.96.0.0/28")
			if err := r.UnmarshalJSON([]byte(tt.data)); !errors.Is(err, ErrInvalidSnapshot) {
				t.Fatalf("err = %v, want ErrInvalidSnapshot", err)
			}
		})
	}
	for _, data := range []string{
		`{"range":"bogus","next":0,"data":""}`,
		`{"range":"10.96.0.1/28","next":0,"data":""}`,
		`{"range":"10.96.0.0/31","next":0,"data":""}`,
		`{"range":"10.96.0.0/16","maskSize":24,"next":0,"data":""}`,
	} {
		var zero IPRange
		if err := zero.UnmarshalJSON([]byte(data)); !errors.Is(err, ErrInvalidSnapshot) {
			t.Errorf("zero IPRange, %s: err = %v, want ErrInvalidSnapshot", data, err)
		}
	}
}

func BenchmarkIPRangeAllocateNextNearlyFull(b *testing.B) {
	// A /12 with every address but the last in use: the worst-case scan.
	r, _ := NewIPRange(netip.MustParsePrefix("10.96.0.0/12"))
	for r.Free() > 1 {
		if _, err := r.AllocateNext(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		a, err := r.AllocateNext()
		if err != nil {
			b.Fatal(err)
		}
		r.Release(a)
	}
}

func BenchmarkIPRangeSnapshotRoundTrip(b *testing.B) {
	r, _ := NewIPRange(netip.MustParsePrefix("10.96.0.0/12"))
	for i := 0; i < 5000; i++ {
		if _, err := r.AllocateNext(); err != nil {
			b.Fatal(err)
		}
	}
	b.ResetTimer()
	for i := 0; i < b.N; i++ {
		data, err := r.MarshalJSON()
		if err != nil {
			b.Fatal(err)
		}
		var back IPRange
		if err := back.UnmarshalJSON(data); err != nil {
			b.Fatal(err)
		}
	}
}
