package storage

import (
	"context"
	"strconv"
	"strings"
	"sync"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
)

// progressSupport remembers whether the cluster's members answer a watch
// progress request in order with the events it covers. Members before etcd
// 3.4.31 and 3.5.13 answer with their current revision straight away, ahead
// of events still queued for the watch (etcd issues 15220 and 17507): a
// bookmark built from that answer would let a client resume past events it
// never received. Unsolicited notifications (WithProgressNotify) are sent
// in order by every version and stay in use.
type progressSupport struct {
	mu    sync.Mutex
	known bool
	safe  bool
}

// requestsSafe asks every member its version once; until that succeeds the
// answer is the cautious false.
func (p *progressSupport) requestsSafe(ctx context.Context, c *clientv3.Client) bool {
	p.mu.Lock()
	defer p.mu.Unlock()
	if p.known {
		return p.safe
	}
	eps := c.Endpoints()
	if len(eps) == 0 {
		eps = []string{""} // an in-process client ignores the endpoint
	}
	ctx, cancel := context.WithTimeout(ctx, 5*time.Second)
	defer cancel()
	safe := true
	for _, ep := range eps {
		st, err := c.Status(ctx, ep)
		if err != nil {
			// An unreachable member may be an old one: decide later.
			return false
		}
		safe = safe && orderedProgressRequests(st.Version)
	}
	p.known, p.safe = true, safe
	return safe
}

// orderedProgressRequests reports whether an etcd server of version v
// ("3.4.23") sends requested progress notifications in order with events.
func orderedProgressRequests(v string) bool {
	parts := strings.SplitN(strings.TrimPrefix(v, "v"), ".", 3)
	if len(parts) < 3 {
		return false
	}
	var n [3]int
	for i, p := range parts {
		// Drop a pre-release or build suffix ("3.6.0-rc.1").
		if j := strings.IndexFunc(p, func(r rune) bool { return r < '0' || r > '9' }); j >= 0 {
			p = p[:j]
		}
		x, err := strconv.Atoi(p)
		if err != nil {
			return false
		}
		n[i] = x
	}
	switch {
	case n[0] != 3:
		return n[0] > 3
	case n[1] == 4:
		return n[2] >= 31
	case n[1] == 5:
		return n[2] >= 13
	default:
		return n[1] > 5
	}
}
