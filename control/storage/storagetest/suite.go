package storagetest

import (
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"testing"
	"time"

	"github.com/tug-sh/tug/control/storage"
)

// hangLimit turns a hung call or a missing event into a test failure. It is
// not a latency expectation.
const hangLimit = 30 * time.Second

// Run runs the conformance suite against the stores newStore returns.
func Run(t *testing.T, newStore func(t *testing.T) storage.Store) {
	s := suite{newStore: newStore}
	for _, c := range []struct {
		name string
		fn   func(t *testing.T, s *suite)
	}{
		{"Get", testGet},
		{"GetCancelled", testGetCancelled},
		{"ListPrefixIsolation", testListPrefixIsolation},
		{"ListOrder", testListOrder},
		{"ListPaging", testListPaging},
		{"ListKeysFromBounds", testListKeysFromBounds},
		{"ListAtRevision", testListAtRevision},
		{"ListCompacted", testListCompacted},
		{"Create", testCreate},
		{"Update", testUpdate},
		{"Delete", testDelete},
		{"ApplyAtomic", testApplyAtomic},
		{"ApplyMultiSuccess", testApplyMultiSuccess},
		{"ApplyNoOps", testApplyNoOps},
		{"ApplyBadOp", testApplyBadOp},
		{"TTL", testTTL},
		{"Revision", testRevision},
		{"WatchEvents", testWatchEvents},
		{"WatchFromRevision", testWatchFromRevision},
		{"WatchFromNow", testWatchFromNow},
		{"WatchPrefixIsolation", testWatchPrefixIsolation},
		{"WatchOrdering", testWatchOrdering},
		{"WatchProgress", testWatchProgress},
		{"WatchCompacted", testWatchCompacted},
		{"WatchCancel", testWatchCancel},
		{"WatchNoGoroutineLeak", testWatchNoGoroutineLeak},
		{"ConcurrentCAS", testConcurrentCAS},
	} {
		t.Run(c.name, func(t *testing.T) { c.fn(t, &s) })
	}
}

type suite struct {
	newStore func(t *testing.T) storage.Store
}

// store returns a fresh store closed at the end of the subtest.
func (s *suite) store(t *testing.T) storage.Store {
	t.Helper()
	st := s.newStore(t)
	if st == nil {
		t.Fatal("storagetest: newStore returned nil")
	}
	t.Cleanup(func() {
		if err := st.Close(); err != nil {
			t.Errorf("Close: %v", err)
		}
	})
	return st
}

// root returns a key prefix no other subtest or run uses, shaped like the
// API server's keys: /registry/storagetest-<random>/.
func root(t *testing.T) string {
	b := make([]byte, 6)
	if _, err := rand.Read(b); err != nil {
		t.Fatal(err)
	}
	return "/registry/storagetest-" + hex.EncodeToString(b) + "/"
}

func ctxFor(t *testing.T) context.Context {
	ctx, cancel := context.WithTimeout(context.Background(), 2*hangLimit)
	t.Cleanup(cancel)
	return ctx
}

func mustApply(t *testing.T, ctx context.Context, st storage.Store, ops ...storage.Op) int64 {
	t.Helper()
	rev, err := st.Apply(ctx, ops...)
	if err != nil {
		t.Fatalf("Apply(%v): %v", describeOps(ops), err)
	}
	if rev <= 0 {
		t.Fatalf("Apply(%v) returned revision %d, want > 0", describeOps(ops), rev)
	}
	return rev
}

func describeOps(ops []storage.Op) []string {
	out := make([]string, len(ops))
	for i, op := range ops {
		out[i] = op.Type.String() + " " + op.Key
	}
	return out
}

func mustGet(t *testing.T, ctx context.Context, st storage.Store, key string) storage.KV {
	t.Helper()
	kv, err := st.Get(ctx, key)
	if err != nil {
		t.Fatalf("Get(%s): %v", key, err)
	}
	return kv
}

func mustRevision(t *testing.T, ctx context.Context, st storage.Store) int64 {
	t.Helper()
	rev, err := st.Revision(ctx)
	if err != nil {
		t.Fatalf("Revision: %v", err)
	}
	return rev
}

// wantKeyErr checks that err wraps sentinel and names key.
func wantKeyErr(t *testing.T, err, sentinel error, key string) {
	t.Helper()
	if !errors.Is(err, sentinel) {
		t.Fatalf("error %v, want one wrapping %q", err, sentinel)
	}
	var ke *storage.KeyError
	if !errors.As(err, &ke) {
		t.Fatalf("error %v does not carry a *storage.KeyError naming %s", err, key)
	}
	if ke.Key != key {
		t.Fatalf("error %v names key %q, want %q", err, ke.Key, key)
	}
}

func wantAbsent(t *testing.T, ctx context.Context, st storage.Store, key string) {
	t.Helper()
	if kv, err := st.Get(ctx, key); !errors.Is(err, storage.ErrNotFound) {
		t.Fatalf("Get(%s) = %q, %v; want ErrNotFound", key, kv.Value, err)
	}
}

func keysOf(items []storage.KV) []string {
	out := make([]string, len(items))
	for i, kv := range items {
		out[i] = kv.Key
	}
	return out
}
