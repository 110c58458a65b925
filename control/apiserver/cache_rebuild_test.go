package apiserver_test

import (
	"context"
	"fmt"
	"io"
	"net"
	"net/url"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/watch"

	"github.com/tug-sh/tug/control/apiserver/apitest"
	"github.com/tug-sh/tug/control/storage"
	"github.com/tug-sh/tug/control/storage/embedetcd"
)

// cuttableProxy forwards TCP connections on a loopback port to target
// until cut, which drops them all and refuses new ones until restore.
type cuttableProxy struct {
	t      testing.TB
	addr   string
	target string
	mu     sync.Mutex
	ln     net.Listener
	conns  map[net.Conn]struct{}
}

func startProxy(t testing.TB, target string) *cuttableProxy {
	ln, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	p := &cuttableProxy{t: t, addr: ln.Addr().String(), target: target, conns: map[net.Conn]struct{}{}}
	p.serve(ln)
	t.Cleanup(p.cut)
	return p
}

func (p *cuttableProxy) serve(ln net.Listener) {
	p.mu.Lock()
	p.ln = ln
	p.mu.Unlock()
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			up, err := net.Dial("tcp", p.target)
			if err != nil {
				c.Close()
				continue
			}
			p.mu.Lock()
			p.conns[c], p.conns[up] = struct{}{}, struct{}{}
			p.mu.Unlock()
			go func() { io.Copy(up, c); up.Close() }()
			go func() { io.Copy(c, up); c.Close() }()
		}
	}()
}

// cut closes the listener and every forwarded connection.
func (p *cuttableProxy) cut() {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.ln != nil {
		p.ln.Close()
		p.ln = nil
	}
	for c := range p.conns {
		c.Close()
		delete(p.conns, c)
	}
}

// restore listens again on the same port.
func (p *cuttableProxy) restore() {
	ln, err := net.Listen("tcp", p.addr)
	if err != nil {
		p.t.Fatalf("proxy: listening again on %s: %v", p.addr, err)
	}
	p.serve(ln)
}

// eventually polls cond until it holds, failing after a minute.
func eventually(t testing.TB, what string, cond func() bool) {
	t.Helper()
	deadline := time.Now().Add(time.Minute)
	for !cond() {
		if time.Now().After(deadline) {
			t.Fatalf("after a minute: %s", what)
		}
		time.Sleep(50 * time.Millisecond)
	}
}

// TestCacheRebuildsAfterCompactionWhileCutOff cuts one API server (a) off
// etcd while another (b) writes and compacts: when a reconnects, its
// caches cannot resume and are rebuilt from a new list. Watchers of a
// from before are ended (they resume or relist), a resourceVersion from
// before is 410 Expired, and lists and new watches show what happened
// during the cut.
func TestCacheRebuildsAfterCompactionWhileCutOff(t *testing.T) {
	e, err := embedetcd.Start(context.Background(), embedetcd.Config{Dir: filepath.Join(t.TempDir(), "etcd")})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(e.Close)
	u, err := url.Parse(e.Endpoints[0])
	if err != nil {
		t.Fatal(err)
	}
	proxy := startProxy(t, u.Host)
	dialCtx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	viaProxy, err := storage.Dial(dialCtx, storage.EtcdConfig{Endpoints: []string{"http://" + proxy.addr}})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { viaProxy.Close() })
	a := apitest.Start(t, apitest.WithStore(viaProxy))
	b := apitest.Start(t, apitest.WithStore(e.Store))

	before, err := a.Client.CoreV1().Pods("default").Create(ctx(t), testPod("before"), metav1.CreateOptions{})
	if err != nil {
		t.Fatal(err)
	}
	w := openWatch(t, a, "/api/v1/namespaces/default/pods?watch=true")
	w.expect(watch.Added, "before")
	inits := `apiserver_watch_cache_initializations_total{resource="pods"}`
	if n := metric(t, a, inits); n != 1 {
		t.Fatalf("pods cache filled %v times, want 1", n)
	}

	proxy.cut()
	for i := 0; i < 3; i++ {
		if _, err := b.Client.CoreV1().Pods("default").Create(ctx(t), testPod(fmt.Sprintf("during%d", i)), metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	if err := e.Store.Compact(ctx(t), storeRevision(t, b)); err != nil {
		t.Fatal(err)
	}
	proxy.restore()

	eventually(t, "a's pods cache is rebuilt", func() bool { return metric(t, a, inits) == 2 })
	// The watch from before the cut was ended with 410 Expired, without
	// the changes it could not be told in order.
	if ev := w.next(); ev.Type != watch.Error || !strings.Contains(string(ev.Object), `"code":410`) {
		t.Errorf("after the cut the old watch got %s %s, want ERROR 410", ev.Type, ev.Object)
	}
	for ev := range w.events {
		t.Errorf("after the ERROR the old watch got %s %s", ev.Type, ev.Object)
	}
	old := openWatch(t, a, "/api/v1/namespaces/default/pods?watch=true&resourceVersion="+before.ResourceVersion)
	if ev := old.next(); ev.Type != watch.Error {
		t.Errorf("watch from before the compaction: %s %s, want ERROR 410", ev.Type, ev.Object)
	}
	list, err := a.Client.CoreV1().Pods("default").List(ctx(t), metav1.ListOptions{ResourceVersion: "0"})
	if err != nil || fmt.Sprint(names(list.Items)) != "[default/before default/during0 default/during1 default/during2]" {
		t.Fatalf("list from the rebuilt cache: %v %v", err, names(list.Items))
	}
	fresh := openWatch(t, a, "/api/v1/namespaces/default/pods?watch=true&resourceVersion=0")
	for _, n := range []string{"before", "during0", "during1", "during2"} {
		fresh.expect(watch.Added, n)
	}
	if _, err := b.Client.CoreV1().Pods("default").Create(ctx(t), testPod("after"), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	fresh.expect(watch.Added, "after")
}
