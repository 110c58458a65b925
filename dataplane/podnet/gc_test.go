package podnet_test

import (
	"errors"
	"fmt"
	"net/netip"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tug-sh/tug/dataplane/internal/nstest"
	"github.com/tug-sh/tug/dataplane/internal/nsutil"
	"github.com/tug-sh/tug/dataplane/podnet"
	"github.com/vishvananda/netlink"
)

func TestGarbageCollect(t *testing.T) {
	ctx := testCtx(t)
	n := newTestNode(t, "10.0.3.1/24")
	if err := n.node.EnsureBridge(ctx); err != nil {
		t.Fatal(err)
	}
	var keys []podnet.PodKey
	for i := range 3 {
		k := podKey(i)
		keys = append(keys, k)
		if _, err := n.node.SetupPod(ctx, podnet.PodSpec{Key: k, IP: netip.MustParsePrefix(fmt.Sprintf("10.0.3.%d/24", i+2))}); err != nil {
			t.Fatal(err)
		}
	}
	// Leftovers of an agent crash: a pin with no veth, and a tug veth (with a
	// readable alias) whose pin is gone.
	deadPin := podKey(7)
	pinPath := filepath.Join(n.netnsDir(), "tug-"+podnet.SandboxID(deadPin))
	if err := nsutil.CreateAt(pinPath); err != nil {
		t.Fatal(err)
	}
	deadVeth := podnet.SandboxID(podKey(8))
	orphan := &netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: podnet.HostVethName(deadVeth)}, PeerName: "peer" + nstest.UniqueSuffix()[:6]}
	if err := n.h.LinkAdd(orphan); err != nil {
		t.Fatal(err)
	}
	if err := n.h.LinkSetAlias(orphan, deadVeth+" default/gone"); err != nil {
		t.Fatal(err)
	}

	found, err := n.node.ListSandboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(found) != 5 {
		t.Fatalf("ListSandboxes found %d, want 5: %+v", len(found), found)
	}

	removed, err := n.node.GarbageCollect(ctx, []podnet.PodKey{keys[0], keys[2]})
	if err != nil {
		t.Fatal(err)
	}
	var removedIDs []string
	for _, sb := range removed {
		removedIDs = append(removedIDs, sb.ID)
	}
	slices.Sort(removedIDs)
	wantRemoved := []string{podnet.SandboxID(keys[1]), podnet.SandboxID(deadPin), deadVeth}
	slices.Sort(wantRemoved)
	if !slices.Equal(removedIDs, wantRemoved) {
		t.Fatalf("GarbageCollect removed %v, want %v", removedIDs, wantRemoved)
	}
	found, err = n.node.ListSandboxes(ctx)
	if err != nil {
		t.Fatal(err)
	}
	var left []string
	for _, sb := range found {
		if sb.NetnsPath == "" || sb.HostVeth == "" {
			t.Errorf("live sandbox lost a part: %+v", sb)
		}
		left = append(left, sb.ID)
	}
	wantLeft := []string{podnet.SandboxID(keys[0]), podnet.SandboxID(keys[2])}
	slices.Sort(wantLeft)
	if !slices.Equal(left, wantLeft) {
		t.Fatalf("after GC sandboxes %v, want %v", left, wantLeft)
	}
	for _, name := range n.linkNames(t) {
		if strings.HasPrefix(name, "peer") {
			t.Errorf("orphan veth's peer %s survived", name)
		}
	}
	if got := nstest.MountsUnder(t, n.netnsDir()); got != 3 {
		t.Fatalf("%d mounts under the netns dir, want 3 (dir + 2 live pins)", got)
	}
}

func TestSetupPodRejects(t *testing.T) {
	ctx := testCtx(t)
	n := newTestNode(t, "10.244.5.1/24")
	k := podKey(1)
	_, err := n.node.SetupPod(ctx, podnet.PodSpec{Key: k, IP: netip.MustParsePrefix("10.244.5.2/24")})
	if err == nil || !strings.Contains(err.Error(), "call EnsureBridge first") {
		t.Fatalf("SetupPod without a bridge: %v", err)
	}
	if err := n.node.EnsureBridge(ctx); err != nil {
		t.Fatal(err)
	}
	for ip, want := range map[string]string{
		"10.244.6.2/24": "not in the node's pod CIDR",
		"10.244.5.1/24": "gateway",
	} {
		if _, err := n.node.SetupPod(ctx, podnet.PodSpec{Key: k, IP: netip.MustParsePrefix(ip)}); err == nil || !strings.Contains(err.Error(), want) {
			t.Errorf("SetupPod with %s: %v, want %q", ip, err, want)
		}
	}
	if _, err := n.node.SetupPod(ctx, podnet.PodSpec{Key: podnet.PodKey{Name: "x"}, IP: netip.MustParsePrefix("10.244.5.2/24")}); err == nil || !strings.Contains(err.Error(), "namespace is empty") {
		t.Errorf("SetupPod with an incomplete key: %v", err)
	}

	// A foreign link holding the pod's veth name is reported, not deleted.
	name := podnet.HostVethName(podnet.SandboxID(k))
	foreign := &netlink.Bridge{LinkAttrs: netlink.LinkAttrs{Name: name}}
	if err := n.h.LinkAdd(foreign); err != nil {
		t.Fatal(err)
	}
	_, err = n.node.SetupPod(ctx, podnet.PodSpec{Key: k, IP: netip.MustParsePrefix("10.244.5.2/24")})
	if !errors.Is(err, podnet.ErrVethCollision) {
		t.Fatalf("SetupPod over a foreign link: %v, want ErrVethCollision", err)
	}
	if _, err := n.h.LinkByName(name); err != nil {
		t.Fatalf("the foreign link was removed: %v", err)
	}
	if err := n.node.TeardownPod(ctx, k); err != nil {
		t.Fatal(err)
	}
	if _, err := n.h.LinkByName(name); err != nil {
		t.Fatalf("TeardownPod removed a foreign link: %v", err)
	}
	if _, err := podnet.New(podnet.Config{HostNetns: n.host, RunDir: n.cfg.RunDir, Gateway: netip.MustParsePrefix("10.244.5.0/24")}); err == nil || !strings.Contains(err.Error(), "network address") {
		t.Errorf("New with the network address as gateway: %v", err)
	}

	// A link that is not a bridge under the bridge's name is reported.
	notBridge := "nb" + nstest.UniqueSuffix()
	if err := n.h.LinkAdd(&netlink.Veth{LinkAttrs: netlink.LinkAttrs{Name: notBridge}, PeerName: notBridge + "p"}); err != nil {
		t.Fatal(err)
	}
	other, err := podnet.New(podnet.Config{HostNetns: n.host, RunDir: n.cfg.RunDir, Bridge: notBridge, Gateway: n.cfg.Gateway})
	if err != nil {
		t.Fatal(err)
	}
	defer other.Close()
	if err := other.EnsureBridge(ctx); err == nil || !strings.Contains(err.Error(), "is a veth, not a bridge") {
		t.Fatalf("EnsureBridge over a veth: %v", err)
	}
}
