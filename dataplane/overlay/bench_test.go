package overlay_test

import (
	"fmt"
	"net/netip"
	"testing"
	"time"

	"github.com/tug-sh/tug/dataplane/overlay"
)

func benchPeers(n int) []overlay.Peer {
	peers := make([]overlay.Peer, n)
	for i := range peers {
		name := fmt.Sprint("peer-", i)
		peers[i] = overlay.Peer{
			NodeName:   name,
			UnderlayIP: netip.AddrFrom4([4]byte{172, 30, byte(i / 250), byte(1 + i%250)}),
			PodCIDR:    netip.PrefixFrom(netip.AddrFrom4([4]byte{10, 100 + byte(i/250), byte(i % 250), 0}), 24),
			VTEPMAC:    overlay.VTEPMAC(name),
		}
	}
	return peers
}

// BenchmarkReconcile measures, for a node with 100 and 500 peers, the
// steady-state Reconcile (read everything, diff, nothing to apply: what the
// agent pays on every Node update) and a full join (all peers' entries
// added to an empty device, then removed).
func BenchmarkReconcile(b *testing.B) {
	for _, n := range []int{100, 500} {
		b.Run(fmt.Sprintf("steady/peers=%d", n), func(b *testing.B) {
			ctx := testCtx(b)
			nd := newCluster(b, 1).nodes[0]
			peers := benchPeers(n)
			if _, err := nd.ov.Reconcile(ctx, nd.self, peers); err != nil {
				b.Fatal(err)
			}
			start := time.Now()
			for b.Loop() {
				ops, err := nd.ov.Reconcile(ctx, nd.self, peers)
				if err != nil || len(ops) != 0 {
					b.Fatalf("steady Reconcile = %d ops, %v", len(ops), err)
				}
			}
			b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
		})
		b.Run(fmt.Sprintf("join-leave/peers=%d", n), func(b *testing.B) {
			ctx := testCtx(b)
			nd := newCluster(b, 1).nodes[0]
			peers := benchPeers(n)
			var join, leave time.Duration
			for b.Loop() {
				t0 := time.Now()
				if ops, err := nd.ov.Reconcile(ctx, nd.self, peers); err != nil || len(ops) != 3*n {
					b.Fatalf("join = %d ops, %v", len(ops), err)
				}
				t1 := time.Now()
				if ops, err := nd.ov.Reconcile(ctx, nd.self, nil); err != nil || len(ops) != 3*n {
					b.Fatalf("leave = %d ops, %v", len(ops), err)
				}
				join += t1.Sub(t0)
				leave += time.Since(t1)
			}
			b.ReportMetric(float64(join.Microseconds())/1000/float64(b.N), "join-ms/op")
			b.ReportMetric(float64(leave.Microseconds())/1000/float64(b.N), "leave-ms/op")
		})
	}
}
