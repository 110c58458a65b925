package apiserver

import (
	"bufio"
	"bytes"
	"context"
	"encoding/json"
	"fmt"
	"io"
	"net/http"
	"net/http/httptest"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tug-sh/tug/control/storage/embedetcd"
)

// TestCacheEndsSlowWatcher registers a watcher that never reads, with a
// short queue, next to an HTTP watch: the writes go on, the HTTP watch
// gets every event, and the slow watcher is ended (its client would
// resume from the last resourceVersion it read) instead of holding up the
// others.
func TestCacheEndsSlowWatcher(t *testing.T) {
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	e, err := embedetcd.Start(ctx, embedetcd.Config{Dir: filepath.Join(t.TempDir(), "etcd")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	s, err := New(ctx, Config{Store: e.Store, CompactionInterval: -1})
	if err != nil {
		t.Fatal(err)
	}
	c := s.caches["pods"]
	runCtx, stop := context.WithCancel(ctx)
	ran := make(chan struct{})
	go func() { defer close(ran); s.Run(runCtx) }()
	t.Cleanup(func() { stop(); <-ran })
	hs := httptest.NewServer(s.Handler())
	t.Cleanup(hs.Close)
	for !c.isReady() {
		select {
		case <-ctx.Done():
			t.Fatal("the pods cache never filled")
		case <-time.After(10 * time.Millisecond):
		}
	}

	// Only this watcher has a short queue.
	c.mu.Lock()
	c.queueLen = 4
	c.mu.Unlock()
	slow, _, err := c.register(watchRequest{filter: watchFilter{labels: labels.Everything(), fields: fields.Everything()}, from: c.revision()})
	if err != nil {
		t.Fatal(err)
	}
	c.mu.Lock()
	c.queueLen = watcherQueueLength
	c.mu.Unlock()
	req, _ := http.NewRequestWithContext(ctx, "GET", hs.URL+"/api/v1/namespaces/default/pods?watch=true&resourceVersion="+fmt.Sprint(c.revision()), nil)
	resp, err := http.DefaultClient.Do(req)
	if err != nil {
		t.Fatal(err)
	}
	defer resp.Body.Close()
	const pods = 10
	for i := 0; i < pods; i++ {
		body := fmt.Sprintf(`{"metadata":{"name":"p%d"},"spec":{"containers":[{"name":"c","image":"busybox"}]}}`, i)
		r, err := http.Post(hs.URL+"/api/v1/namespaces/default/pods", "application/json", bytes.NewReader([]byte(body)))
		if err != nil {
			t.Fatal(err)
		}
		r.Body.Close()
		if r.StatusCode != http.StatusCreated {
			t.Fatalf("creating p%d: %d", i, r.StatusCode)
		}
	}
	sc := bufio.NewScanner(resp.Body)
	for i := 0; i < pods; i++ {
		if !sc.Scan() {
			t.Fatalf("watch ended after %d events: %v", i, sc.Err())
		}
		var ev struct {
			Type   watch.EventType `json:"type"`
			Object struct {
				Metadata struct{ Name string } `json:"metadata"`
			} `json:"object"`
		}
		if err := json.Unmarshal(sc.Bytes(), &ev); err != nil {
			t.Fatal(err)
		}
		if want := fmt.Sprintf("p%d", i); ev.Type != watch.Added || ev.Object.Metadata.Name != want {
			t.Fatalf("event %d: %s %s, want ADDED %s", i, ev.Type, ev.Object.Metadata.Name, want)
		}
	}
	queued := 0
	for range slow.ch {
		queued++
	}
	if queued != 4 || slow.why != reasonSlow {
		t.Errorf("slow watcher: %d events queued, ended for %d; want 4 and reasonSlow", queued, slow.why)
	}
	r, err := http.Get(hs.URL + "/metrics")
	if err != nil {
		t.Fatal(err)
	}
	defer r.Body.Close()
	text, _ := io.ReadAll(r.Body)
	if !strings.Contains(string(text), "\napiserver_terminated_watchers_total{resource=\"pods\"} 1\n") {
		t.Errorf("apiserver_terminated_watchers_total for pods is not 1")
	}
}
