package storagetest

import (
	"errors"
	"strconv"
	"sync"
	"testing"

	"github.com/tug-sh/tug/control/storage"
)

// Writers on separate clients increment one counter with read-modify-write
// and compare-and-swap retries; every increment must survive.
func testConcurrentCAS(t *testing.T, s *suite) {
	ctx, p := ctxFor(t), root(t)
	const writers, increments = 4, 25
	stores := make([]storage.Store, writers)
	for i := range stores {
		stores[i] = s.store(t)
	}
	k := p + "counter"
	mustApply(t, ctx, stores[0], storage.Create(k, []byte("0")))

	var wg sync.WaitGroup
	var mu sync.Mutex
	conflicts := 0
	errs := make(chan error, writers)
	for w := range writers {
		wg.Add(1)
		go func(st storage.Store) {
			defer wg.Done()
			for range increments {
				for {
					kv, err := st.Get(ctx, k)
					if err != nil {
						errs <- err
						return
					}
					n, err := strconv.Atoi(string(kv.Value))
					if err != nil {
						errs <- err
						return
					}
					_, err = st.Apply(ctx, storage.Update(k, []byte(strconv.Itoa(n+1)), kv.Revision))
					if err == nil {
						break
					}
					if !errors.Is(err, storage.ErrConflict) {
						errs <- err
						return
					}
					mu.Lock()
					conflicts++
					mu.Unlock()
				}
			}
		}(stores[w])
	}
	wg.Wait()
	close(errs)
	for err := range errs {
		t.Fatalf("writer: %v", err)
	}
	kv := mustGet(t, ctx, stores[0], k)
	if got, want := string(kv.Value), strconv.Itoa(writers*increments); got != want {
		t.Fatalf("counter = %s after %d writers x %d increments, want %s (%d conflicts retried)", got, writers, increments, want, conflicts)
	}
	t.Logf("%d conflicts retried", conflicts)
}
