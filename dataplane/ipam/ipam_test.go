package ipam

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	"golang.org/x/sys/unix"
)

func newAllocator(t *testing.T, dir, cidr string) *Allocator {
	t.Helper()
	a, err := New(context.Background(), Config{Dir: dir, CIDR: netip.MustParsePrefix(cidr)})
	if err != nil {
		t.Fatalf("New(%s, %s): %v", dir, cidr, err)
	}
	t.Cleanup(func() { a.Close() })
	return a
}

func mustAllocate(t *testing.T, a *Allocator, key string) string {
	t.Helper()
	p, err := a.Allocate(context.Background(), key)
	if err != nil {
		t.Fatalf("Allocate(%q): %v", key, err)
	}
	return p.String()
}

func TestAllocateOrderAndIdempotence(t *testing.T) {
	a := newAllocator(t, t.TempDir(), "10.244.1.0/24")
	if got := a.Gateway().String(); got != "10.244.1.1/24" {
		t.Errorf("Gateway = %s, want 10.244.1.1/24", got)
	}
	for i, want := range []string{"10.244.1.2/24", "10.244.1.3/24", "10.244.1.4/24"} {
		if got := mustAllocate(t, a, fmt.Sprintf("default/p%d/uid%d", i, i)); got != want {
			t.Errorf("allocation %d = %s, want %s", i, got, want)
		}
	}
	if got := mustAllocate(t, a, "default/p1/uid1"); got != "10.244.1.3/24" {
		t.Errorf("re-allocating default/p1/uid1 = %s, want its existing 10.244.1.3/24", got)
	}
	// A new uid for the same name is a new pod.
	if got := mustAllocate(t, a, "default/p1/uid9"); got != "10.244.1.5/24" {
		t.Errorf("new uid got %s, want 10.244.1.5/24", got)
	}
}

func TestReleaseRotatesBeforeReuse(t *testing.T) {
	ctx := context.Background()
	a := newAllocator(t, t.TempDir(), "10.9.0.0/29") // pods .2-.6
	for _, k := range []string{"a", "b", "c"} {
		mustAllocate(t, a, k)
	}
	if err := a.Release(ctx, "b"); err != nil { // frees .3
		t.Fatal(err)
	}
	if err := a.Release(ctx, "b"); err != nil {
		t.Fatalf("second Release of the same key: %v", err)
	}
	if err := a.Release(ctx, "never-allocated"); err != nil {
		t.Fatalf("Release of an unknown key: %v", err)
	}
	var got []string
	for _, k := range []string{"d", "e", "f"} {
		got = append(got, mustAllocate(t, a, k))
	}
	want := []string{"10.9.0.5/29", "10.9.0.6/29", "10.9.0.3/29"}
	if strings.Join(got, " ") != strings.Join(want, " ") {
		t.Fatalf("allocations after release = %v, want %v (released address reused only after wrapping)", got, want)
	}
	if _, ok, _ := a.Lookup(ctx, "b"); ok {
		t.Fatal("released key b still has an address")
	}
}

func TestRestartPersistence(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a1 := newAllocator(t, dir, "10.0.7.0/24")
	ip1 := mustAllocate(t, a1, "kube-system/dns/u1")
	ip2 := mustAllocate(t, a1, "default/web/u2")
	if err := a1.Close(); err != nil {
		t.Fatal(err)
	}

	a2 := newAllocator(t, dir, "10.0.7.0/24")
	if got, ok, err := a2.Lookup(ctx, "kube-system/dns/u1"); err != nil || !ok || got.String() != ip1 {
		t.Fatalf("after restart Lookup = %s %v %v, want %s", got, ok, err, ip1)
	}
	if got := mustAllocate(t, a2, "default/web/u2"); got != ip2 {
		t.Fatalf("after restart re-Allocate = %s, want %s", got, ip2)
	}
	if got := mustAllocate(t, a2, "default/new/u3"); got != "10.0.7.4/24" {
		t.Fatalf("after restart the hint was lost: got %s, want 10.0.7.4/24", got)
	}
	all, err := a2.List(ctx)
	if err != nil || len(all) != 3 {
		t.Fatalf("List = %v, %v; want 3 allocations", all, err)
	}
}

func TestExhaustion(t *testing.T) {
	ctx := context.Background()
	a := newAllocator(t, t.TempDir(), "10.9.0.8/29")
	if a.Capacity() != 5 {
		t.Fatalf("Capacity = %d, want 5", a.Capacity())
	}
	seen := map[string]bool{}
	for i := range 5 {
		ip := mustAllocate(t, a, fmt.Sprint("pod", i))
		for _, bad := range []string{"10.9.0.8/29", "10.9.0.9/29", "10.9.0.15/29"} {
			if ip == bad {
				t.Fatalf("handed out reserved address %s", ip)
			}
		}
		seen[ip] = true
	}
	if len(seen) != 5 {
		t.Fatalf("got %d distinct addresses, want 5", len(seen))
	}
	_, err := a.Allocate(ctx, "one-too-many")
	if !errors.Is(err, ErrExhausted) {
		t.Fatalf("Allocate on a full CIDR: %v, want ErrExhausted", err)
	}
	for _, want := range []string{"10.9.0.8/29", "5 pod addresses", "all 5 are allocated"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("exhaustion error %q does not mention %q", err, want)
		}
	}
	if err := a.Release(ctx, "pod2"); err != nil {
		t.Fatal(err)
	}
	if got := mustAllocate(t, a, "one-too-many"); got != "10.9.0.12/29" {
		t.Fatalf("after release got %s, want the freed 10.9.0.12/29", got)
	}
}

func TestCIDRChange(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := newAllocator(t, dir, "10.244.1.0/24")
	mustAllocate(t, a, "default/a/1")
	a.Close()

	_, err := New(ctx, Config{Dir: dir, CIDR: netip.MustParsePrefix("10.244.2.0/24")})
	if !errors.Is(err, ErrCIDRChanged) {
		t.Fatalf("New with another CIDR and live allocations: %v, want ErrCIDRChanged", err)
	}
	for _, want := range []string{"10.244.1.0/24", "10.244.2.0/24", "1 allocations"} {
		if !strings.Contains(err.Error(), want) {
			t.Errorf("error %q does not mention %q", err, want)
		}
	}

	a = newAllocator(t, dir, "10.244.1.0/24")
	if err := a.Release(ctx, "default/a/1"); err != nil {
		t.Fatal(err)
	}
	a.Close()
	b := newAllocator(t, dir, "10.244.2.0/24")
	if got := mustAllocate(t, b, "default/b/2"); got != "10.244.2.2/24" {
		t.Fatalf("first address of the new CIDR = %s, want 10.244.2.2/24", got)
	}
}

func TestCorruptStateStopsAllocation(t *testing.T) {
	dir := t.TempDir()
	if err := os.WriteFile(filepath.Join(dir, stateName), []byte(`{"version":1,"cidr":"10.0.0.0/24","allocations":{"a":"10.0.0.2","b":"10.0.0.2"}}`), 0o600); err != nil {
		t.Fatal(err)
	}
	_, err := New(context.Background(), Config{Dir: dir, CIDR: netip.MustParsePrefix("10.0.0.0/24")})
	if !errors.Is(err, ErrCorruptState) || !strings.Contains(err.Error(), "allocated to both") {
		t.Fatalf("New on a corrupt state: %v, want ErrCorruptState naming the duplicate", err)
	}
}

func TestStaleTempFilesRemoved(t *testing.T) {
	dir := t.TempDir()
	stale := filepath.Join(dir, tempPrefix+"123"+tempSuffix)
	if err := os.WriteFile(stale, []byte("half"), 0o600); err != nil {
		t.Fatal(err)
	}
	newAllocator(t, dir, "10.0.0.0/24")
	if _, err := os.Stat(stale); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("stale temporary file still there: %v", err)
	}
}

func TestInvalidInput(t *testing.T) {
	ctx := context.Background()
	if _, err := New(ctx, Config{CIDR: netip.MustParsePrefix("10.0.0.0/24")}); err == nil || !strings.Contains(err.Error(), "directory is not set") {
		t.Errorf("New without Dir: %v", err)
	}
	if _, err := New(ctx, Config{Dir: t.TempDir(), CIDR: netip.MustParsePrefix("fd00::/64")}); err == nil || !strings.Contains(err.Error(), "not IPv4") {
		t.Errorf("New with IPv6: %v", err)
	}
	a := newAllocator(t, t.TempDir(), "10.0.0.0/24")
	if _, err := a.Allocate(ctx, ""); err == nil || !strings.Contains(err.Error(), "empty") {
		t.Errorf("Allocate empty key: %v", err)
	}
	if _, err := a.Allocate(ctx, "bad\xffkey"); err == nil || !strings.Contains(err.Error(), "UTF-8") {
		t.Errorf("Allocate invalid UTF-8 key: %v", err)
	}
}

// TestLockHonorsContext holds the state lock from a separate open file (as
// another process would) and checks that Allocate gives up with the
// context's error instead of blocking forever.
func TestLockHonorsContext(t *testing.T) {
	dir := t.TempDir()
	a := newAllocator(t, dir, "10.0.0.0/24")
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithTimeout(context.Background(), 50*time.Millisecond)
	defer cancel()
	if _, err := a.Allocate(ctx, "x"); !errors.Is(err, context.DeadlineExceeded) {
		t.Fatalf("Allocate while another holder has the lock: %v, want DeadlineExceeded", err)
	}
	unix.Flock(int(f.Fd()), unix.LOCK_UN)
	if got := mustAllocate(t, a, "x"); got != "10.0.0.2/24" {
		t.Fatalf("after unlock got %s", got)
	}
}

// TestConcurrentAllocators runs two Allocators on one directory (two open
// lock files, as two processes would have) with many goroutines each.
func TestConcurrentAllocators(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	allocs := []*Allocator{newAllocator(t, dir, "10.244.1.0/24"), newAllocator(t, dir, "10.244.1.0/24")}
	const perAllocator = 60
	var (
		mu  sync.Mutex
		got = map[string]string{} // ip → key
		wg  sync.WaitGroup
	)
	errc := make(chan error, 2*perAllocator+2)
	for ai, a := range allocs {
		for i := range perAllocator {
			wg.Go(func() {
				key := fmt.Sprintf("ns/pod-%d-%d/uid", ai, i)
				p, err := a.Allocate(ctx, key)
				if err != nil {
					errc <- err
					return
				}
				mu.Lock()
				defer mu.Unlock()
				if prev, dup := got[p.Addr().String()]; dup {
					errc <- fmt.Errorf("%s handed to both %s and %s", p.Addr(), prev, key)
				}
				got[p.Addr().String()] = key
			})
		}
		// Both allocators race for the same key too: one address results.
		wg.Go(func() {
			p, err := a.Allocate(ctx, "ns/shared/uid")
			if err != nil {
				errc <- err
				return
			}
			mu.Lock()
			defer mu.Unlock()
			got["shared from "+fmt.Sprint(ai)] = p.Addr().String()
		})
	}
	wg.Wait()
	close(errc)
	for err := range errc {
		t.Error(err)
	}
	if got["shared from 0"] != got["shared from 1"] {
		t.Errorf("same key got %s and %s from the two allocators", got["shared from 0"], got["shared from 1"])
	}
	list, err := allocs[0].List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2*perAllocator+1 {
		t.Fatalf("state holds %d allocations, want %d", len(list), 2*perAllocator+1)
	}
}
