package storagetest

import (
	"context"
	"errors"
	"fmt"
	"slices"
	"strings"
	"testing"

	"github.com/tug-sh/tug/control/storage"
)

func testGet(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	key := p + "pods/default/a"

	_, err := st.Get(ctx, key)
	wantKeyErr(t, err, storage.ErrNotFound, key)

	rev := mustApply(t, ctx, st, storage.Create(key, []byte("v1")))
	kv := mustGet(t, ctx, st, key)
	if kv.Key != key || string(kv.Value) != "v1" || kv.Revision != rev {
		t.Fatalf("Get = {%s %q %d}, want {%s %q %d}", kv.Key, kv.Value, kv.Revision, key, "v1", rev)
	}
	// A key's revision is the one that last modified it, not the store's.
	mustApply(t, ctx, st, storage.Create(p+"pods/default/b", []byte("x")))
	if kv := mustGet(t, ctx, st, key); kv.Revision != rev {
		t.Fatalf("revision of an untouched key moved from %d to %d", rev, kv.Revision)
	}
	// A prefix of a key is not that key.
	_, err = st.Get(ctx, p+"pods/default/")
	wantKeyErr(t, err, storage.ErrNotFound, p+"pods/default/")
}

func testGetCancelled(t *testing.T, s *suite) {
	st, p := s.store(t), root(t)
	ctx, cancel := context.WithCancel(context.Background())
	cancel()
	if _, err := st.Get(ctx, p+"x"); !errors.Is(err, context.Canceled) {
		t.Fatalf("Get with a cancelled context: %v, want context.Canceled", err)
	}
	if _, err := st.Apply(ctx, storage.Create(p+"x", nil)); !errors.Is(err, context.Canceled) {
		t.Fatalf("Apply with a cancelled context: %v, want context.Canceled", err)
	}
	wantAbsent(t, ctxFor(t), st, p+"x")
}

func testListPrefixIsolation(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	for _, k := range []string{"pods/ns/a", "pods/ns/b", "pods/other/c", "podsx/ns/d", "pods", "pod/ns/e", "pods0"} {
		mustApply(t, ctx, st, storage.Create(p+k, []byte(k)))
	}
	for _, c := range []struct {
		prefix string
		want   []string
	}{
		{"pods/", []string{"pods/ns/a", "pods/ns/b", "pods/other/c"}},
		{"pods/ns/", []string{"pods/ns/a", "pods/ns/b"}},
		{"podsx/", []string{"podsx/ns/d"}},
		{"nothing/", []string{}},
	} {
		res, err := st.List(ctx, p+c.prefix, storage.ListOptions{})
		if err != nil {
			t.Fatalf("List(%s): %v", c.prefix, err)
		}
		want := make([]string, len(c.want))
		for i, k := range c.want {
			want[i] = p + k
		}
		if got := keysOf(res.Items); !slices.Equal(got, want) {
			t.Fatalf("List(%s) = %v, want %v", c.prefix, got, want)
		}
		for _, kv := range res.Items {
			if string(kv.Value) != strings.TrimPrefix(kv.Key, p) || kv.Revision <= 0 {
				t.Fatalf("List(%s) item %s = %q @%d", c.prefix, kv.Key, kv.Value, kv.Revision)
			}
		}
		if res.More {
			t.Fatalf("List(%s) without a limit says More", c.prefix)
		}
	}
}

func testListOrder(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	names := []string{"m", "b", "z", "a", "ba", "b-", "B", "0", "zz"}
	for _, n := range names {
		mustApply(t, ctx, st, storage.Create(p+"things/"+n, []byte(n)))
	}
	rev := mustRevision(t, ctx, st)
	res, err := st.List(ctx, p+"things/", storage.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	var want []string
	for _, n := range names {
		want = append(want, p+"things/"+n)
	}
	slices.Sort(want) // byte order, as etcd keeps keys
	if got := keysOf(res.Items); !slices.Equal(got, want) {
		t.Fatalf("List order %v, want %v", got, want)
	}
	if res.Revision < rev {
		t.Fatalf("List revision %d is older than the store revision %d read before it", res.Revision, rev)
	}
}

func testListPaging(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	prefix := p + "items/"
	var all []string
	for i := range 5 {
		k := fmt.Sprintf("%sk%d", prefix, i)
		all = append(all, k)
		mustApply(t, ctx, st, storage.Create(k, []byte("v")))
	}
	mustApply(t, ctx, st, storage.Create(p+"itemsz", []byte("outside")))

	// Page through with Limit 2 at the revision of the first page, while a
	// concurrent write lands between pages: it must not show.
	var got []string
	opts := storage.ListOptions{Limit: 2}
	pages := 0
	for {
		res, err := st.List(ctx, prefix, opts)
		if err != nil {
			t.Fatalf("List page %d: %v", pages, err)
		}
		pages++
		if int64(len(res.Items)) > opts.Limit {
			t.Fatalf("page %d has %d items, over the limit %d", pages, len(res.Items), opts.Limit)
		}
		got = append(got, keysOf(res.Items)...)
		if pages == 1 {
			opts.Revision = res.Revision
			mustApply(t, ctx, st, storage.Create(prefix+"k1a", []byte("late")))
		} else if res.Revision != opts.Revision {
			t.Fatalf("page %d read at revision %d, asked %d", pages, res.Revision, opts.Revision)
		}
		if !res.More {
			break
		}
		if len(res.Items) == 0 {
			t.Fatal("List says More but returned no items")
		}
		// Continue just after the last key, as an API server's continue
		// token does.
		opts.KeysFrom = res.Items[len(res.Items)-1].Key + "\x00"
		if pages > 10 {
			t.Fatal("paging does not end")
		}
	}
	if !slices.Equal(got, all) || pages != 3 {
		t.Fatalf("paged listing = %v in %d pages, want %v in 3", got, pages, all)
	}

	// A limit equal to the number of items is not "more".
	res, err := st.List(ctx, prefix, storage.ListOptions{Limit: 6})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 6 || res.More {
		t.Fatalf("List(limit 6) of 6 items: %d items, More=%v; want 6, false", len(res.Items), res.More)
	}
	res, err = st.List(ctx, prefix, storage.ListOptions{Limit: 5})
	if err != nil {
		t.Fatal(err)
	}
	if len(res.Items) != 5 || !res.More {
		t.Fatalf("List(limit 5) of 6 items: %d items, More=%v; want 5, true", len(res.Items), res.More)
	}
}

// KeysFrom means "keys of the prefix that are >= KeysFrom": it never widens
// the listing beyond the prefix.
func testListKeysFromBounds(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	for _, k := range []string{"a/1", "a/2", "b/1"} {
		mustApply(t, ctx, st, storage.Create(p+k, []byte("v")))
	}
	for _, c := range []struct {
		from string
		want []string
	}{
		{p + "a/2", []string{p + "a/2"}},
		{p + "a/", []string{p + "a/1", p + "a/2"}},
		{p, []string{p + "a/1", p + "a/2"}},   // before the prefix
		{"/", []string{p + "a/1", p + "a/2"}}, // far before it
		{p + "b/", []string{}},                // after it
		{p + "a0", []string{}},                // the prefix's range end
		{"\xff\xff", []string{}},              // far after it
		{p + "a/1\x00", []string{p + "a/2"}},  // just after a key
		{p + "a/2\x00", []string{}},           // just after the last key
	} {
		res, err := st.List(ctx, p+"a/", storage.ListOptions{KeysFrom: c.from})
		if err != nil {
			t.Fatalf("List(%s, KeysFrom %q): %v", p+"a/", c.from, err)
		}
		if got := keysOf(res.Items); !slices.Equal(got, c.want) {
			t.Fatalf("List(%s, KeysFrom %q) = %v, want %v", p+"a/", c.from, got, c.want)
		}
		if res.More {
			t.Fatalf("List(%s, KeysFrom %q) says More without a limit", p+"a/", c.from)
		}
	}
}

func testListAtRevision(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	a, b := p+"r/a", p+"r/b"
	r1 := mustApply(t, ctx, st, storage.Create(a, []byte("a1")))
	r2 := mustApply(t, ctx, st, storage.Update(a, []byte("a2"), r1))
	r3 := mustApply(t, ctx, st, storage.Create(b, []byte("b1")))
	r4 := mustApply(t, ctx, st, storage.Delete(a, r2))

	for _, c := range []struct {
		rev  int64
		want []string // key=value@rev
	}{
		{r1, []string{a + "=a1@" + fmt.Sprint(r1)}},
		{r2, []string{a + "=a2@" + fmt.Sprint(r2)}},
		{r3, []string{a + "=a2@" + fmt.Sprint(r2), b + "=b1@" + fmt.Sprint(r3)}},
		{r4, []string{b + "=b1@" + fmt.Sprint(r3)}},
		{r1 - 1, []string{}},
	} {
		res, err := st.List(ctx, p+"r/", storage.ListOptions{Revision: c.rev})
		if err != nil {
			t.Fatalf("List at %d: %v", c.rev, err)
		}
		got := []string{}
		for _, kv := range res.Items {
			got = append(got, fmt.Sprintf("%s=%s@%d", kv.Key, kv.Value, kv.Revision))
		}
		if !slices.Equal(got, c.want) {
			t.Fatalf("List at %d = %v, want %v", c.rev, got, c.want)
		}
		if res.Revision != c.rev {
			t.Fatalf("List at %d reports revision %d", c.rev, res.Revision)
		}
	}
	// A revision the store has not reached yet is an error, not an empty
	// or current listing.
	if res, err := st.List(ctx, p+"r/", storage.ListOptions{Revision: r4 + 1_000_000}); !errors.Is(err, storage.ErrFutureRevision) {
		t.Fatalf("List at a future revision: %v, %v; want ErrFutureRevision", keysOf(res.Items), err)
	}
}

func testListCompacted(t *testing.T, s *suite) {
	st, ctx, p := s.store(t), ctxFor(t), root(t)
	k := p + "c/a"
	r1 := mustApply(t, ctx, st, storage.Create(k, []byte("1")))
	r2 := mustApply(t, ctx, st, storage.Update(k, []byte("2"), r1))
	if err := st.Compact(ctx, r2); err != nil {
		t.Fatalf("Compact(%d): %v", r2, err)
	}
	_, err := st.List(ctx, p+"c/", storage.ListOptions{Revision: r1})
	if !errors.Is(err, storage.ErrCompacted) {
		t.Fatalf("List at compacted revision %d: %v, want ErrCompacted", r1, err)
	}
	// The compaction revision itself is still readable.
	res, err := st.List(ctx, p+"c/", storage.ListOptions{Revision: r2})
	if err != nil || len(res.Items) != 1 || string(res.Items[0].Value) != "2" {
		t.Fatalf("List at the compaction revision %d: %v, %v", r2, res.Items, err)
	}
	// Compacting again at or before an earlier compaction is harmless.
	if err := st.Compact(ctx, r1); err != nil {
		t.Fatalf("Compact(%d) after Compact(%d): %v", r1, r2, err)
	}
}
