package storagetest

import (
	"errors"
	"testing"
	"time"

	"github.com/tug-sh/tug/control/storage"
)

func testCreate(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	k := p + "pods/ns/a"
	r1 := mustApply(t, ctx, st, storage.Create(k, []byte("one")))
	_, err := st.Apply(ctx, storage.Create(k, []byte("two")))
	wantKeyErr(t, err, storage.ErrExists, k)
	if kv := mustGet(t, ctx, st, k); string(kv.Value) != "one" || kv.Revision != r1 {
		t.Fatalf("failed create changed the key: %q@%d", kv.Value, kv.Revision)
	}
	// An empty value is a value.
	mustApply(t, ctx, st, storage.Create(p+"pods/ns/empty", nil))
	if kv := mustGet(t, ctx, st, p+"pods/ns/empty"); len(kv.Value) != 0 {
		t.Fatalf("empty value reads back as %q", kv.Value)
	}
	// After a delete the key can be created again.
	mustApply(t, ctx, st, storage.Delete(k, 0))
	r3 := mustApply(t, ctx, st, storage.Create(k, []byte("three")))
	if kv := mustGet(t, ctx, st, k); string(kv.Value) != "three" || kv.Revision != r3 {
		t.Fatalf("re-created key reads %q@%d, want three@%d", kv.Value, kv.Revision, r3)
	}
}

func testUpdate(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	k := p + "pods/ns/a"
	_, err := st.Apply(ctx, storage.Update(k, []byte("x"), 0))
	wantKeyErr(t, err, storage.ErrNotFound, k)
	_, err = st.Apply(ctx, storage.Update(k, []byte("x"), 5))
	wantKeyErr(t, err, storage.ErrNotFound, k)
	wantAbsent(t, ctx, st, k)

	r1 := mustApply(t, ctx, st, storage.Create(k, []byte("v1")))
	r2 := mustApply(t, ctx, st, storage.Update(k, []byte("v2"), r1))
	if r2 <= r1 {
		t.Fatalf("update revision %d not after create revision %d", r2, r1)
	}
	// The revision the update was prepared against is now stale.
	_, err = st.Apply(ctx, storage.Update(k, []byte("lost"), r1))
	wantKeyErr(t, err, storage.ErrConflict, k)
	if kv := mustGet(t, ctx, st, k); string(kv.Value) != "v2" || kv.Revision != r2 {
		t.Fatalf("after a conflicting update the key is %q@%d, want v2@%d", kv.Value, kv.Revision, r2)
	}
	// Revision 0 is an unconditional update of an existing key.
	r3 := mustApply(t, ctx, st, storage.Update(k, []byte("v3"), 0))
	if kv := mustGet(t, ctx, st, k); string(kv.Value) != "v3" || kv.Revision != r3 {
		t.Fatalf("unconditional update reads %q@%d, want v3@%d", kv.Value, kv.Revision, r3)
	}
}

func testDelete(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	k := p + "pods/ns/a"
	_, err := st.Apply(ctx, storage.Delete(k, 0))
	wantKeyErr(t, err, storage.ErrNotFound, k)

	r1 := mustApply(t, ctx, st, storage.Create(k, []byte("v1")))
	r2 := mustApply(t, ctx, st, storage.Update(k, []byte("v2"), r1))
	_, err = st.Apply(ctx, storage.Delete(k, r1))
	wantKeyErr(t, err, storage.ErrConflict, k)
	mustGet(t, ctx, st, k)

	r3 := mustApply(t, ctx, st, storage.Delete(k, r2))
	if r3 <= r2 {
		t.Fatalf("delete revision %d not after %d", r3, r2)
	}
	wantAbsent(t, ctx, st, k)
	_, err = st.Apply(ctx, storage.Delete(k, r2))
	wantKeyErr(t, err, storage.ErrNotFound, k)
}

// When one precondition fails nothing is written, the store revision does
// not move, and the error names the failing key.
func testApplyAtomic(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	svc, bitmap, other := p+"services/ns/web", p+"ranges/serviceips", p+"services/ns/other"
	rb := mustApply(t, ctx, st, storage.Create(bitmap, []byte("0000")))
	mustApply(t, ctx, st, storage.Update(bitmap, []byte("0001"), rb)) // rb is now stale
	ro := mustApply(t, ctx, st, storage.Create(other, []byte("o")))

	for _, c := range []struct {
		name     string
		ops      []storage.Op
		sentinel error
		failing  string
	}{
		{"stale revision in the middle", []storage.Op{
			storage.Create(svc, []byte("svc")),
			storage.Update(bitmap, []byte("1001"), rb),
			storage.Delete(other, ro),
		}, storage.ErrConflict, bitmap},
		{"existing key last", []storage.Op{
			storage.Create(svc, []byte("svc")),
			storage.Delete(other, ro),
			storage.Create(bitmap, []byte("x")),
		}, storage.ErrExists, bitmap},
		{"missing key first", []storage.Op{
			storage.Update(p+"services/ns/missing", []byte("x"), 0),
			storage.Create(svc, []byte("svc")),
		}, storage.ErrNotFound, p + "services/ns/missing"},
	} {
		before := mustRevision(t, ctx, st)
		_, err := st.Apply(ctx, c.ops...)
		if err == nil {
			t.Fatalf("%s: Apply succeeded", c.name)
		}
		wantKeyErr(t, err, c.sentinel, c.failing)
		wantAbsent(t, ctx, st, svc)
		if kv := mustGet(t, ctx, st, other); kv.Revision != ro {
			t.Fatalf("%s: %s was touched (revision %d, want %d)", c.name, other, kv.Revision, ro)
		}
		if kv := mustGet(t, ctx, st, bitmap); string(kv.Value) != "0001" {
			t.Fatalf("%s: bitmap is %q, want 0001", c.name, kv.Value)
		}
		if after := mustRevision(t, ctx, st); after != before {
			t.Fatalf("%s: a failed Apply moved the store revision from %d to %d", c.name, before, after)
		}
	}
}

// All ops of one Apply land at the same revision.
func testApplyMultiSuccess(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	a, b, c := p+"x/a", p+"x/b", p+"x/c"
	ra := mustApply(t, ctx, st, storage.Create(a, []byte("a")))
	rc := mustApply(t, ctx, st, storage.Create(c, []byte("c")))
	rev := mustApply(t, ctx, st,
		storage.Update(a, []byte("a2"), ra),
		storage.Create(b, []byte("b")),
		storage.Delete(c, rc),
	)
	for _, k := range []string{a, b} {
		if kv := mustGet(t, ctx, st, k); kv.Revision != rev {
			t.Fatalf("%s at revision %d, want the Apply's %d", k, kv.Revision, rev)
		}
	}
	wantAbsent(t, ctx, st, c)
	if got := mustRevision(t, ctx, st); got < rev {
		t.Fatalf("store revision %d is before the Apply's %d", got, rev)
	}
}

func testApplyNoOps(t *testing.T, s *suite) {
	st, ctx := s.store(t), ctxFor(t)
	before := mustRevision(t, ctx, st)
	rev, err := st.Apply(ctx)
	if err != nil {
		t.Fatalf("Apply() with no ops: %v", err)
	}
	if rev < before {
		t.Fatalf("Apply() with no ops returned revision %d, before the store's %d", rev, before)
	}
	if after := mustRevision(t, ctx, st); after != rev {
		t.Fatalf("Apply() with no ops wrote something: revision %d -> %d", rev, after)
	}
}

func testApplyBadOp(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	for _, c := range []struct {
		name string
		ops  []storage.Op
	}{
		{"unknown type", []storage.Op{{Type: storage.OpType(42), Key: p + "a"}}},
		{"empty key", []storage.Op{storage.Create("", []byte("x"))}},
		{"same key twice", []storage.Op{storage.Create(p+"a", []byte("1")), storage.Create(p+"a", []byte("2"))}},
	} {
		if _, err := st.Apply(ctx, c.ops...); err == nil {
			t.Fatalf("%s: Apply succeeded", c.name)
		} else if errors.Is(err, storage.ErrUnavailable) {
			t.Fatalf("%s: a bad request reported as unavailable storage: %v", c.name, err)
		}
		wantAbsent(t, ctx, st, p+"a")
	}
}

func testTTL(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	short, long, plain := p+"events/ns/short", p+"events/ns/long", p+"events/ns/plain"
	rev := mustApply(t, ctx, st,
		storage.Op{Type: storage.OpCreate, Key: short, Value: []byte("s"), TTL: time.Second},
		storage.Op{Type: storage.OpCreate, Key: long, Value: []byte("l"), TTL: time.Hour},
		storage.Create(plain, []byte("p")),
	)
	mustGet(t, ctx, st, short)
	w, err := st.Watch(ctx, p+"events/", rev, false)
	if err != nil {
		t.Fatal(err)
	}
	// The expiry is etcd's business; the suite only waits for it, bounded
	// by hangLimit, and sees it as an ordinary delete.
	ev := nextEvent(t, w)
	if ev.Type != storage.EventDeleted || ev.Key != short || string(ev.Prev) != "s" {
		t.Fatalf("after the TTL: %s, want the deletion of %s", describe(ev), short)
	}
	wantAbsent(t, ctx, st, short)
	mustGet(t, ctx, st, long)
	mustGet(t, ctx, st, plain)

	// An update may also carry a TTL, re-attaching the key to a new lease.
	mustApply(t, ctx, st, storage.Op{Type: storage.OpUpdate, Key: plain, Value: []byte("p2"), TTL: time.Second})
	ev = nextEvent(t, w)
	if ev.Type != storage.EventModified || ev.Key != plain {
		t.Fatalf("got %s, want the update of %s", describe(ev), plain)
	}
	ev = nextEvent(t, w)
	if ev.Type != storage.EventDeleted || ev.Key != plain {
		t.Fatalf("got %s, want %s to expire", describe(ev), plain)
	}
}

func testRevision(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	r0 := mustRevision(t, ctx, st)
	if r0 <= 0 {
		t.Fatalf("Revision = %d, want > 0", r0)
	}
	if again := mustRevision(t, ctx, st); again != r0 {
		t.Fatalf("Revision moved from %d to %d without writes", r0, again)
	}
	last := r0
	for i := range 5 {
		rev := mustApply(t, ctx, st, storage.Op{Type: storage.OpCreate, Key: p + "r/" + string(rune('a'+i)), Value: []byte{}})
		if rev <= last {
			t.Fatalf("write %d at revision %d, not after %d", i, rev, last)
		}
		if cur := mustRevision(t, ctx, st); cur < rev {
			t.Fatalf("Revision %d is before the last write's %d", cur, rev)
		}
		last = rev
	}
}
