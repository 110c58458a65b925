package nodeipam_test

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"

	"github.com/tug-sh/tug/control/controller/internal/ctrltest"
	"github.com/tug-sh/tug/control/controller/manager"
)

// TestNodeIPAM assigns the four /24s of a /22 to nodes, across a restart of
// the controller, reports exhaustion on the fifth node, and reuses the
// subnet of a deleted node.
func TestNodeIPAM(t *testing.T) {
	ctx := context.Background()
	c := ctrltest.Start(t)
	nodes := c.Client.CoreV1().Nodes()
	opts := manager.Options{Controllers: []string{"nodeipam"}, ClusterCIDR: "10.0.0.0/22", NodeCIDRMaskSize: 24}
	prefix := ctrltest.Name("n")
	name := func(i int) string { return fmt.Sprintf("%s-%d", prefix, i) }
	create := func(i int) {
		if _, err := nodes.Create(ctx, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: name(i)}}, metav1.CreateOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	// cidrs returns the podCIDR of each node that has one, and checks
	// podCIDRs agrees and no two nodes share one.
	cidrs := func() (map[string]string, string) {
		l, err := nodes.List(ctx, metav1.ListOptions{})
		if err != nil {
			return nil, err.Error()
		}
		out, owner := map[string]string{}, map[string]string{}
		cluster := netip.MustParsePrefix("10.0.0.0/22")
		for _, n := range l.Items {
			if n.Spec.PodCIDR == "" {
				continue
			}
			p, err := netip.ParsePrefix(n.Spec.PodCIDR)
			if err != nil || p.Bits() != 24 || !cluster.Contains(p.Addr()) {
				t.Fatalf("node %s has podCIDR %q, not a /24 of %s", n.Name, n.Spec.PodCIDR, cluster)
			}
			if len(n.Spec.PodCIDRs) != 1 || n.Spec.PodCIDRs[0] != n.Spec.PodCIDR {
				t.Fatalf("node %s: podCIDRs %v disagree with podCIDR %s", n.Name, n.Spec.PodCIDRs, n.Spec.PodCIDR)
			}
			if other, dup := owner[n.Spec.PodCIDR]; dup {
				t.Fatalf("podCIDR %s given to both %s and %s", n.Spec.PodCIDR, other, n.Name)
			}
			owner[n.Spec.PodCIDR] = n.Name
			out[n.Name] = n.Spec.PodCIDR
		}
		return out, fmt.Sprint(out)
	}

	stop := c.StartControllers(opts)
	for i := range 3 {
		create(i)
	}
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		m, msg := cidrs()
		return len(m) == 3, msg
	})
	stop()

	// While no controller runs, two more nodes join; a new controller
	// reads the three assignments back before handing out the last /24.
	create(3)
	create(4)
	first, _ := cidrs()
	c.RunControllers(opts)
	var assigned map[string]string
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		var msg string
		assigned, msg = cidrs()
		return len(assigned) == 4, msg
	})
	for n, p := range first {
		if assigned[n] != p {
			t.Errorf("node %s changed podCIDR across the restart: %s → %s", n, p, assigned[n])
		}
	}
	waiting := name(3)
	if _, ok := assigned[waiting]; ok {
		waiting = name(4)
	}
	want := fmt.Sprintf("no remaining CIDRs in 10.0.0.0/22 for node %s", waiting)
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		for _, e := range c.Events(ctx, "default", "Node", waiting) {
			if e.Reason == "CIDRNotAvailable" && e.Type == v1.EventTypeWarning {
				return e.Message == want, fmt.Sprintf("message %q, want %q", e.Message, want)
			}
		}
		return false, "no CIDRNotAvailable event for " + waiting
	})

	// A node leaves: its subnet goes to the waiting node.
	freed := assigned[name(1)]
	if err := nodes.Delete(ctx, name(1), metav1.DeleteOptions{}); err != nil {
		t.Fatal(err)
	}
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		m, msg := cidrs()
		return m[waiting] == freed, fmt.Sprintf("%s has %q, want the freed %s (%s)", waiting, m[waiting], freed, msg)
	})
}
