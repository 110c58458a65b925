package lb

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/tug-sh/tug/bpf/lb/lbtest"
	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

func TestMain(m *testing.M) {
	if ok, code := lbtest.ClientMain(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

// testEnv is a loaded load balancer attached to a test cgroup, with a test
// network namespace whose local addresses are the backends.
type testEnv struct {
	cfg    Config
	dp     *Datapath
	netns  *lbtest.Netns
	client lbtest.Client

	hasAddress map[netip.Addr]bool
}

// serviceCIDR is routed nowhere in the test namespace, as on a node: a VIP
// that escapes translation fails at once instead of leaving.
var serviceCIDR = netip.MustParsePrefix("10.96.0.0/16")

func newTestEnv(t testing.TB) *testEnv {
	t.Helper()
	requireKernel(t)
	root, err := Cgroup2Root()
	if err != nil {
		t.Skipf("needs cgroup2: %v", err)
	}
	bpffs := lbtest.BPFFS(t)
	env := &testEnv{
		cfg:        Config{BPFFS: bpffs, PinDir: bpffs + "/" + lbtest.UniqueName("tug-"), Cgroup: lbtest.Cgroup(t, root), Logger: testLogger(t)},
		netns:      lbtest.NewNetns(t),
		hasAddress: map[netip.Addr]bool{},
	}
	env.client = lbtest.Client{Cgroup: env.cfg.Cgroup, Netns: env.netns}
	t.Cleanup(func() {
		if err := Reset(env.cfg); err != nil {
			t.Errorf("reset: %v", err)
		}
	})
	env.dp, err = Load(context.Background(), env.cfg)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	t.Cleanup(func() { env.dp.Close() })
	route := &netlink.Route{Dst: prefixToIPNet(serviceCIDR), Type: unix.RTN_UNREACHABLE}
	if err := env.netns.Netlink().RouteAdd(route); err != nil {
		t.Fatalf("unreachable route for the service CIDR: %v", err)
	}
	return env
}

func requireKernel(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN) for BPF, namespaces and cgroups")
	}
	if err := CheckKernel(); err != nil {
		if errors.Is(err, ErrNoBTF) || errors.Is(err, ErrNoSockAddrHooks) {
			t.Skipf("needs kernel support: %v", err)
		}
		t.Fatal(err)
	}
}

func prefixToIPNet(p netip.Prefix) *net.IPNet {
	return &net.IPNet{IP: p.Addr().AsSlice(), Mask: net.CIDRMask(p.Bits(), p.Addr().BitLen())}
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

// backends puts n backend addresses (10.244.1.1, ...) in the namespace,
// each with a server named be1, be2, ... on port.
func (env *testEnv) backends(t testing.TB, n int, port uint16, udp bool) []Backend {
	t.Helper()
	var out []Backend
	for i := 1; i <= n; i++ {
		addr := netip.AddrFrom4([4]byte{10, 244, 1, byte(i)})
		if !env.hasAddress[addr] {
			env.netns.AddAddress(t, addr)
			env.hasAddress[addr] = true
		}
		name := fmt.Sprintf("be%d", i)
		if udp {
			env.netns.ServeUDP(t, netip.AddrPortFrom(addr, port), name)
		} else {
			env.netns.ServeTCP(t, netip.AddrPortFrom(addr, port), name)
		}
		out = append(out, Backend{Address: addr, Port: port})
	}
	return out
}
