package apiserver_test

import (
	"bytes"
	"encoding/json"
	"fmt"
	"math/rand/v2"
	"net/url"
	"strconv"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"

	"github.com/tug-sh/tug/control/apiserver"
	"github.com/tug-sh/tug/control/apiserver/apitest"
)

// randomWatchQuery draws a watch: a path (one namespace or all), a
// selector and a start (current state, a past resourceVersion, now, or
// watch-list), and sometimes the PartialObjectMetadata form.
func randomWatchQuery(rng *rand.Rand, nodes []string, pastRevs []int64) (path string, headers []string) {
	path = []string{"/api/v1/pods", "/api/v1/namespaces/default/pods"}[rng.IntN(2)] + "?watch=true&allowWatchBookmarks=true"
	switch rng.IntN(7) {
	case 1:
		path += "&labelSelector=" + url.QueryEscape("app=even")
	case 2:
		path += "&labelSelector=" + url.QueryEscape("app!=odd")
	case 3:
		path += "&fieldSelector=" + url.QueryEscape("spec.nodeName="+nodes[rng.IntN(len(nodes))])
	case 4:
		path += "&fieldSelector=" + url.QueryEscape("spec.nodeName=")
	case 5:
		path += "&fieldSelector=" + url.QueryEscape(fmt.Sprintf("metadata.name=p%03d", 1+rng.IntN(20)))
	case 6:
		path += "&labelSelector=" + url.QueryEscape("app in (even,none)") + "&fieldSelector=" + url.QueryEscape("spec.nodeName!="+nodes[0])
	}
	switch rng.IntN(4) {
	case 1:
		if len(pastRevs) > 0 {
			path += "&resourceVersion=" + strconv.FormatInt(pastRevs[rng.IntN(len(pastRevs))], 10)
		}
	case 2:
		path += "&sendInitialEvents=true&resourceVersionMatch=NotOlderThan"
	case 3:
		path += "&sendInitialEvents=false"
	}
	if rng.IntN(4) == 0 {
		headers = []string{"Accept", "application/json;as=PartialObjectMetadata;v=v1;g=meta.k8s.io,application/json"}
	}
	return path, headers
}

// TestCacheAgreesWithEtcd is a randomised differential test: two API
// servers on one etcd, one serving from its watch cache and one reading
// etcd for every watch and list (the behaviour before the cache). Random
// watches are opened on both at the same moments, between random pod
// changes; in the end every pair must have received the same events,
// byte for byte, and every list must agree.
func TestCacheAgreesWithEtcd(t *testing.T) {
	cached := apitest.Start(t)
	direct := apitest.Start(t, apitest.WithStore(cached.Store), apitest.WithConfig(func(c *apiserver.Config) { c.WatchCacheSize = -1 }))
	seed := uint64(time.Now().UnixNano())
	t.Logf("seed %d", seed)
	rng := rand.New(rand.NewPCG(seed, 2))
	w := &podWriter{t: t, env: cached, rng: rng, ns: "default", live: map[string]*corev1.Pod{}, nodes: []string{"n1", "n2", "n3"}}
	type pair struct {
		query      string
		cached, db *stream
	}
	var pairs []pair
	var pastRevs []int64
	for i := 0; i < 120; i++ {
		if rng.IntN(6) == 0 {
			path, headers := randomWatchQuery(rng, w.nodes, pastRevs)
			pairs = append(pairs, pair{query: path, cached: openWatch(t, cached, path, headers...), db: openWatch(t, direct, path, headers...)})
		}
		if rng.IntN(2) == 0 {
			w.env = direct // writes through either server
		} else {
			w.env = cached
		}
		w.step()
		pastRevs = append(pastRevs, w.changes[len(w.changes)-1].rev)
	}
	last := w.changes[len(w.changes)-1].rev
	for _, p := range pairs {
		got, want := p.cached.untilBookmark(last), p.db.untilBookmark(last)
		if len(got) != len(want) {
			t.Errorf("%s: %d events from the cache, %d from etcd:\ncache: %s\netcd:  %s", p.query, len(got), len(want), summary(t, got), summary(t, want))
			continue
		}
		for i := range got {
			if got[i].Type != want[i].Type || !bytes.Equal(got[i].Object, want[i].Object) {
				t.Errorf("%s: event %d differs:\ncache: %s %s\netcd:  %s %s", p.query, i, got[i].Type, got[i].Object, want[i].Type, want[i].Object)
				break
			}
		}
	}
	for _, q := range []string{"", "?labelSelector=app%3Deven", "?fieldSelector=spec.nodeName%3Dn2", "?fieldSelector=spec.nodeName%3D", "?limit=3"} {
		a, b := call(t, cached, "GET", "/api/v1/namespaces/default/pods"+q, nil), call(t, direct, "GET", "/api/v1/namespaces/default/pods"+q, nil)
		var la, lb struct {
			Items json.RawMessage `json:"items"`
		}
		a.into(t, &la)
		b.into(t, &lb)
		if !bytes.Equal(la.Items, lb.Items) || a.code != 200 || b.code != 200 {
			t.Errorf("list %q: cache %d %s\netcd %d %s", q, a.code, la.Items, b.code, lb.Items)
		}
	}
}

// summary lists events as "TYPE name@rv".
func summary(t testing.TB, evs []rawEvent) string {
	var out []string
	for _, ev := range evs {
		_, m := ev.meta(t)
		out = append(out, fmt.Sprintf("%s %s@%s", ev.Type, m.Name, m.ResourceVersion))
	}
	return fmt.Sprint(out)
}
