package nodeipam

import (
	"errors"
	"net/netip"
	"testing"

	"github.com/tug-sh/tug/control/allocator"
)

func TestAssigner(t *testing.T) {
	a, err := NewAssigner(netip.MustParsePrefix("10.0.0.0/22"), 24)
	if err != nil {
		t.Fatal(err)
	}
	// Rebuilt from existing nodes: n2 has the second subnet.
	if err := a.Occupy("n2", "10.0.1.0/24"); err != nil {
		t.Fatal(err)
	}
	if err := a.Occupy("n2", "10.0.1.0/24"); err != nil {
		t.Errorf("re-occupying the same subnet: %v", err)
	}
	steps := []struct{ node, want string }{
		{"n1", "10.0.0.0/24"},
		{"n3", "10.0.2.0/24"},
		{"n1", "10.0.0.0/24"}, // already has one
		{"n4", "10.0.3.0/24"},
	}
	for _, s := range steps {
		got, err := a.Assign(s.node)
		if err != nil || got.String() != s.want {
			t.Fatalf("Assign(%s) = %v, %v; want %s", s.node, got, err, s.want)
		}
	}
	if _, err := a.Assign("n5"); !errors.Is(err, allocator.ErrFull) {
		t.Fatalf("exhausted: %v, want ErrFull", err)
	}
	a.Release("n3")
	a.Release("n3") // twice: no effect
	if got, err := a.Assign("n5"); err != nil || got.String() != "10.0.2.0/24" {
		t.Fatalf("after release: %v, %v", got, err)
	}
	if a.Free() != 0 {
		t.Errorf("Free = %d", a.Free())
	}
}

func TestAssignerOccupyErrors(t *testing.T) {
	a, _ := NewAssigner(netip.MustParsePrefix("10.0.0.0/16"), 24)
	if err := a.Occupy("n1", "10.0.5.0/24"); err != nil {
		t.Fatal(err)
	}
	tests := []struct {
		node, cidr string
		want       error
	}{
		{"n2", "10.0.5.0/24", ErrConflict},
		{"n2", "192.168.0.0/24", allocator.ErrNotInRange},
		{"n2", "10.0.6.0/25", allocator.ErrNotInRange},
		{"n2", "garbage", allocator.ErrNotInRange},
	}
	for _, tt := range tests {
		if err := a.Occupy(tt.node, tt.cidr); !errors.Is(err, tt.want) {
			t.Errorf("Occupy(%s, %s) = %v, want %v", tt.node, tt.cidr, err, tt.want)
		}
	}
	// A node whose podCIDR changed moves.
	if err := a.Occupy("n1", "10.0.7.0/24"); err != nil {
		t.Fatal(err)
	}
	if err := a.Occupy("n2", "10.0.5.0/24"); err != nil {
		t.Errorf("old subnet of n1 not freed: %v", err)
	}
}

func TestNewAssignerRejectsBadRanges(t *testing.T) {
	if _, err := NewAssigner(netip.MustParsePrefix("10.0.0.0/16"), 8); !errors.Is(err, allocator.ErrInvalidRange) {
		t.Errorf("mask shorter than cluster: %v", err)
	}
}
