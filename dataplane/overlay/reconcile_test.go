package overlay

import (
	"context"
	"errors"
	"maps"
	"net/netip"
	"reflect"
	"testing"
)

// memKernel models the device's entries in memory, to test Reconcile's
// control flow (order, stopping on failure, idempotence) without a kernel.
// The real kernel is exercised by overlay_test.go.
type memKernel struct {
	st      State
	applied []Op
	failOn  func(Op) bool
	spec    deviceSpec
}

func newMemKernel() *memKernel { return &memKernel{st: NewState()} }

func (m *memKernel) ensureDevice(_ context.Context, spec deviceSpec) (Device, error) {
	m.spec = spec
	return Device{Name: spec.name, Index: 7, MAC: spec.mac}, nil
}

func (m *memKernel) read(context.Context, Device) (State, error) {
	return State{Neighbors: maps.Clone(m.st.Neighbors), FDB: maps.Clone(m.st.FDB), Routes: maps.Clone(m.st.Routes)}, nil
}

func (m *memKernel) apply(_ context.Context, _ Device, op Op) error {
	if m.failOn != nil && m.failOn(op) {
		return errors.New("injected failure")
	}
	m.applied = append(m.applied, op)
	switch op.Kind {
	case SetNeighbor:
		m.st.Neighbors[op.Addr] = op.MAC
	case DelNeighbor:
		delete(m.st.Neighbors, op.Addr)
	case SetFDB:
		m.st.FDB[FDBEntry{op.MAC, op.Addr}] = true
	case DelFDB:
		delete(m.st.FDB, FDBEntry{op.MAC, op.Addr})
	case SetRoute:
		m.st.Routes[op.Dst] = op.Addr
	case DelRoute:
		delete(m.st.Routes, op.Dst)
	}
	return nil
}

func (m *memKernel) close() error { return nil }

func newMemOverlay(k kernel) *Overlay {
	cfg := Config{}.withDefaults()
	return &Overlay{cfg: cfg, k: k, log: cfg.Logger}
}

func TestReconcileFlow(t *testing.T) {
	ctx := context.Background()
	k := newMemKernel()
	o := newMemOverlay(k)
	peers := []Peer{peer("b", "192.168.0.2", "10.244.2.0/24"), peer("c", "192.168.0.3", "10.244.3.0/24")}

	ops, err := o.Reconcile(ctx, testSelf, peers)
	if err != nil {
		t.Fatal(err)
	}
	if len(ops) != 6 || !reflect.DeepEqual(ops, k.applied) {
		t.Fatalf("first Reconcile returned %s, applied %s", fmtOps(ops), fmtOps(k.applied))
	}
	if k.spec.name != "tug.1" || k.spec.vni != 1 || k.spec.port != 8472 || k.spec.addr != netip.MustParsePrefix("10.244.1.0/32") ||
		k.spec.mac.String() != VTEPMAC("a").String() || k.spec.local != testSelf.UnderlayIP {
		t.Fatalf("device spec = %+v", k.spec)
	}

	ops, err = o.Reconcile(ctx, testSelf, peers)
	if err != nil || len(ops) != 0 {
		t.Fatalf("second Reconcile = %s, %v; want no operations", fmtOps(ops), err)
	}

	// c leaves: its three entries go, in reverse order.
	k.applied = nil
	ops, err = o.Reconcile(ctx, testSelf, peers[:1])
	if err != nil {
		t.Fatal(err)
	}
	var kinds []OpKind
	for _, op := range ops {
		kinds = append(kinds, op.Kind)
	}
	if !reflect.DeepEqual(kinds, []OpKind{DelRoute, DelFDB, DelNeighbor}) {
		t.Fatalf("removing c applied %s", fmtOps(ops))
	}
	if _, ok := k.st.Routes[netip.MustParsePrefix("10.244.3.0/24")]; ok || len(k.st.Neighbors) != 1 || len(k.st.FDB) != 1 {
		t.Fatalf("c's entries remain: %+v", k.st)
	}
}

func TestReconcileStopsAtFailure(t *testing.T) {
	ctx := context.Background()
	k := newMemKernel()
	k.failOn = func(op Op) bool { return op.Kind == SetFDB }
	o := newMemOverlay(k)
	ops, err := o.Reconcile(ctx, testSelf, []Peer{peer("b", "192.168.0.2", "10.244.2.0/24")})
	if err == nil {
		t.Fatal("Reconcile reported success despite a failed operation")
	}
	if len(ops) != 1 || ops[0].Kind != SetNeighbor {
		t.Fatalf("applied before the failure: %s", fmtOps(ops))
	}
	if len(k.st.Routes) != 0 {
		t.Fatal("a route was added although its FDB entry failed")
	}
	k.failOn = nil
	ops, err = o.Reconcile(ctx, testSelf, []Peer{peer("b", "192.168.0.2", "10.244.2.0/24")})
	if err != nil || len(ops) != 2 || ops[0].Kind != SetFDB || ops[1].Kind != SetRoute {
		t.Fatalf("retry applied %s, %v; want the FDB entry and the route", fmtOps(ops), err)
	}
}

func TestReconcileReportsInvalidPeers(t *testing.T) {
	k := newMemKernel()
	o := newMemOverlay(k)
	ops, err := o.Reconcile(context.Background(), testSelf, []Peer{
		peer("b", "192.168.0.2", "10.244.2.0/24"),
		peer("bad", "192.168.0.9", "10.244.1.0/24"), // overlaps self
	})
	if !errors.Is(err, ErrInvalidPeer) {
		t.Fatalf("Reconcile error = %v, want ErrInvalidPeer", err)
	}
	if len(ops) != 3 {
		t.Fatalf("the valid peer was not programmed: %s", fmtOps(ops))
	}
	if _, err := o.Reconcile(context.Background(), Self{NodeName: "x"}, nil); !errors.Is(err, ErrInvalidSelf) {
		t.Fatalf("Reconcile with an invalid self: %v", err)
	}
}
