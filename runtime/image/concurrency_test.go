package image

import (
	"context"
	"errors"
	"net/http"
	"strings"
	"sync"
	"testing"
	"time"

	"github.com/tug-sh/tug/runtime/image/imagetest"
)

func TestConcurrentPullsShareTheWork(t *testing.T) {
	ctx := context.Background()
	var reqs imagetest.RequestLog
	host := imagetest.StartRegistry(t, imagetest.Wrap(reqs.Wrap))
	img := busyboxImage(t)
	imagetest.Push(t, host, "tug/busybox:1", img)
	layers, _ := img.Layers()
	layerDigest, _ := layers[0].Digest()
	reqs.Reset()
	s := newStore(t)

	const n = 8
	var wg sync.WaitGroup
	ids := make([]string, n)
	errs := make([]error, n)
	for i := range n {
		wg.Add(1)
		go func() {
			defer wg.Done()
			res, err := s.Pull(ctx, host+"/tug/busybox:1", PullOptions{})
			ids[i], errs[i] = res.Image.ID, err
		}()
	}
	wg.Wait()
	for i := range n {
		if errs[i] != nil || ids[i] != ids[0] {
			t.Fatalf("pull %d: %s, %v", i, ids[i], errs[i])
		}
	}
	if got := reqs.Count("GET", "/blobs/"+layerDigest.String()); got != 1 {
		t.Errorf("the layer was downloaded %d times by %d concurrent pulls, want 1", got, n)
	}
}

// Two Stores on one root stand for the agent and `tug image pull`: their
// pulls may overlap, and the store stays consistent.
func TestTwoStoresOnOneRoot(t *testing.T) {
	ctx := context.Background()
	host := imagetest.StartRegistry(t)
	imagetest.Push(t, host, "tug/busybox:1", busyboxImage(t))
	imagetest.Push(t, host, "tug/busybox:2", busyboxImage(t))
	a := newStore(t)
	b, err := Open(Config{Root: a.Root(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer b.Close()
	var wg sync.WaitGroup
	var errA, errB error
	wg.Add(2)
	go func() { defer wg.Done(); _, errA = a.Pull(ctx, host+"/tug/busybox:1", PullOptions{}) }()
	go func() { defer wg.Done(); _, errB = b.Pull(ctx, host+"/tug/busybox:2", PullOptions{}) }()
	wg.Wait()
	if errA != nil || errB != nil {
		t.Fatalf("pulls: %v, %v", errA, errB)
	}
	list, err := a.List()
	if err != nil || len(list) != 1 || len(list[0].RepoTags) != 2 {
		t.Fatalf("List = %+v, %v; want one image with two tags", list, err)
	}
	if _, err := b.Lower(ctx, host+"/tug/busybox:1"); err != nil {
		t.Fatal(err)
	}
}

// A caller giving up does not fail the pull for another caller waiting on
// it.
func TestPullSurvivesOneWaiterCancelling(t *testing.T) {
	gate := make(chan struct{})
	var once sync.Once
	blobRequested := make(chan struct{})
	hold := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				once.Do(func() { close(blobRequested) })
				<-gate
			}
			next.ServeHTTP(w, r)
		})
	}
	host := imagetest.StartRegistry(t, imagetest.Wrap(hold))
	imagetest.Push(t, host, "tug/busybox:1", busyboxImage(t))
	s := newStore(t)
	ref := host + "/tug/busybox:1"

	ctxA, cancelA := context.WithCancel(context.Background())
	errA := make(chan error, 1)
	go func() { _, err := s.Pull(ctxA, ref, PullOptions{}); errA <- err }()
	<-blobRequested
	resB := make(chan error, 1)
	go func() { _, err := s.Pull(context.Background(), ref, PullOptions{}); resB <- err }()
	waitFor(t, func() bool { return s.flights.waiters(ref) == 2 })
	cancelA()
	if err := <-errA; !errors.Is(err, context.Canceled) {
		t.Errorf("cancelled caller: %v, want context.Canceled", err)
	}
	close(gate)
	if err := <-resB; err != nil {
		t.Fatalf("the other caller's pull failed: %v", err)
	}
}

// waitFor polls cond (state changes made by other goroutines) without a
// timing assertion: the test's own deadline bounds it.
func waitFor(t *testing.T, cond func() bool) {
	t.Helper()
	for !cond() {
		time.Sleep(time.Millisecond)
	}
}

func TestCloseStopsPulls(t *testing.T) {
	gate := make(chan struct{})
	defer close(gate)
	var once sync.Once
	blobRequested := make(chan struct{})
	hold := func(next http.Handler) http.Handler {
		return http.HandlerFunc(func(w http.ResponseWriter, r *http.Request) {
			if r.Method == http.MethodGet && strings.Contains(r.URL.Path, "/blobs/") {
				once.Do(func() { close(blobRequested) })
				select {
				case <-gate:
				case <-r.Context().Done():
					return
				}
			}
			next.ServeHTTP(w, r)
		})
	}
	host := imagetest.StartRegistry(t, imagetest.Wrap(hold))
	imagetest.Push(t, host, "tug/busybox:1", busyboxImage(t))
	s, err := Open(Config{Root: t.TempDir(), Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	errc := make(chan error, 1)
	go func() { _, err := s.Pull(context.Background(), host+"/tug/busybox:1", PullOptions{}); errc <- err }()
	<-blobRequested
	if err := s.Close(); err != nil {
		t.Fatal(err)
	}
	if err := <-errc; !errors.Is(err, context.Canceled) {
		t.Errorf("pull on a closed store: %v, want context.Canceled", err)
	}
	if _, err := s.Pull(context.Background(), host+"/tug/busybox:1", PullOptions{}); !errors.Is(err, errStoreClosed) {
		t.Errorf("pull after Close: %v", err)
	}
}
