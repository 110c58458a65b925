package allocator

import (
	"encoding/json"
	"errors"
	"strings"
	"testing"
)

func TestParsePortRange(t *testing.T) {
	tests := []struct {
		in, canonical string
		size          int
		wantErr       string
	}{
		{in: "30000-32767", canonical: "30000-32767", size: 2768},
		{in: " 30000-32767 ", canonical: "30000-32767", size: 2768},
		{in: "30000+10", canonical: "30000-30010", size: 11},
		{in: "8080", canonical: "8080-8080", size: 1},
		{in: "1-65535", canonical: "1-65535", size: 65535},
		{in: "", wantErr: "it is empty"},
		{in: "a-b", wantErr: `"a" is not a number`},
		{in: "100-x", wantErr: `"x" is not a number`},
		{in: "0-100", wantErr: "ports are 1 to 65535"},
		{in: "65000+1000", wantErr: "ports are 1 to 65535"},
		{in: "100-50", wantErr: "50 is below 100"},
		{in: "100+-5", wantErr: "the count is negative"},
	}
	for _, tt := range tests {
		t.Run(tt.in, func(t *testing.T) {
			r, err := ParsePortRange(tt.in)
			if tt.wantErr != "" {
				if !errors.Is(err, ErrInvalidRange) || !strings.Contains(err.Error(), tt.wantErr) || !strings.Contains(err.Error(), "30000-32767") {
					t.Fatalf("err = %v, want ErrInvalidRange containing %q and an example", err, tt.wantErr)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if r.String() != tt.canonical || r.Size() != tt.size || r.Free() != tt.size {
				t.Errorf("got %s size %d free %d, want %s size %d", r, r.Size(), r.Free(), tt.canonical, tt.size)
			}
		})
	}
}

func TestPortRangeAllocate(t *testing.T) {
	r, err := ParsePortRange("30000-30004")
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range []struct {
		port    int
		wantErr error
	}{
		{30000, nil}, {30004, nil}, {30000, ErrAllocated}, {29999, ErrNotInRange}, {30005, ErrNotInRange}, {80, ErrNotInRange},
	} {
		if err := r.Allocate(s.port); !errors.Is(err, s.wantErr) || (err == nil) != (s.wantErr == nil) {
			t.Errorf("Allocate(%d) = %v, want %v", s.port, err, s.wantErr)
		}
	}
	if err := r.Allocate(80); err == nil || err.Error() != "port 80 is not in the range 30000-30004; choose a nodePort in the range or leave it empty to have one assigned" {
		t.Errorf("message: %v", err)
	}
	if !r.Has(30004) || r.Has(30001) || r.Has(1) {
		t.Error("Has is wrong")
	}
	// Next skips the taken 30000, rotates, wraps.
	var got []int
	for r.Free() > 0 {
		p, err := r.AllocateNext()
		if err != nil {
			t.Fatal(err)
		}
		got = append(got, p)
	}
	if want := []int{30001, 30002, 30003}; !equalInts(got, want) {
		t.Fatalf("AllocateNext sequence %v, want %v", got, want)
	}
	_, err = r.AllocateNext()
	const want = "the range 30000-30004 is exhausted (5 of 5 ports in use); delete a NodePort Service or widen --service-node-port-range"
	if !errors.Is(err, ErrFull) || err.Error() != want {
		t.Fatalf("err = %v, want %q", err, want)
	}
	r.Release(30002)
	r.Release(30000)
	r.Release(99) // out of range: no effect
	if p, _ := r.AllocateNext(); p != 30000 {
		t.Errorf("after wrap got %d, want 30000 (the first free at or after the hint 30004+1)", p)
	}
	if p, _ := r.AllocateNext(); p != 30002 {
		t.Errorf("got %d, want 30002", p)
	}
}

func equalInts(a, b []int) bool {
	if len(a) != len(b) {
		return false
	}
	for i := range a {
		if a[i] != b[i] {
			return false
		}
	}
	return true
}

func TestPortRangeSnapshot(t *testing.T) {
	r, _ := ParsePortRange("30000-32767")
	for _, p := range []int{30000, 30080, 32767} {
		if err := r.Allocate(p); err != nil {
			t.Fatal(err)
		}
	}
	if _, err := r.AllocateNext(); err != nil { // 30000 taken: 30001
		t.Fatal(err)
	}
	data, err := json.Marshal(r)
	if err != nil {
		t.Fatal(err)
	}
	if !strings.HasPrefix(string(data), `{"range":"30000-32767","next":2,"data":"`) {
		t.Fatalf("snapshot %s", data)
	}
	for name, back := range map[string]*PortRange{"configured": mustPorts(t, "30000-32767"), "zero": {}} {
		if err := json.Unmarshal(data, back); err != nil {
			t.Fatalf("%s: %v", name, err)
		}
		if back.Used() != 4 || !back.Has(30080) || !back.Has(32767) || !back.Has(30001) || back.Has(30002) {
			t.Errorf("%s: restored state wrong: used %d", name, back.Used())
		}
		if p, _ := back.AllocateNext(); p != 30002 {
			t.Errorf("%s: next after restore %d, want 30002", name, p)
		}
	}

	other := mustPorts(t, "30000-31000")
	err = json.Unmarshal(data, other)
	if !errors.Is(err, ErrRangeChanged) || !strings.Contains(err.Error(), "--service-node-port-range=30000-32767") {
		t.Fatalf("err = %v, want ErrRangeChanged naming the stored range", err)
	}
	var zero PortRange
	if err := zero.UnmarshalJSON([]byte(`{"range":"30000+5","next":0,"data":""}`)); !errors.Is(err, ErrInvalidSnapshot) {
		t.Errorf("non-canonical range: err = %v, want ErrInvalidSnapshot", err)
	}
}

func mustPorts(t *testing.T, s string) *PortRange {
	t.Helper()
	r, err := ParsePortRange(s)
	if err != nil {
		t.Fatal(err)
	}
	return r
}
