package serviceproxy

import (
	"context"
	"errors"
	"log/slog"
	"net/netip"
	"os"
	"strings"
	"testing"

	"github.com/tug-sh/tug/bpf/lb"
	"github.com/tug-sh/tug/bpf/lb/lbtest"
)

func TestMain(m *testing.M) {
	if ok, code := lbtest.ClientMain(); ok {
		os.Exit(code)
	}
	os.Exit(m.Run())
}

var serviceCIDR = netip.MustParsePrefix("10.96.0.0/16")

// kernelEnv is a real load balancer attached to a test cgroup, and a test
// namespace whose service CIDR is unreachable, as on a node.
type kernelEnv struct {
	cfg    lb.Config
	dp     *lb.Datapath
	netns  *lbtest.Netns
	client lbtest.Client
}

func newKernelEnv(t testing.TB) *kernelEnv {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skip("needs root (CAP_BPF, CAP_NET_ADMIN, CAP_SYS_ADMIN) for BPF, namespaces and cgroups")
	}
	if err := lb.CheckKernel(); err != nil {
		if errors.Is(err, lb.ErrNoBTF) || errors.Is(err, lb.ErrNoSockAddrHooks) {
			t.Skipf("needs kernel support: %v", err)
		}
		t.Fatal(err)
	}
	root, err := lb.Cgroup2Root()
	if err != nil {
		t.Skipf("needs cgroup2: %v", err)
	}
	bpffs := lbtest.BPFFS(t)
	env := &kernelEnv{
		cfg:   lb.Config{BPFFS: bpffs, PinDir: bpffs + "/" + lbtest.UniqueName("tug-"), Cgroup: lbtest.Cgroup(t, root), Logger: testLogger(t)},
		netns: lbtest.NewNetns(t),
	}
	env.client = lbtest.Client{Cgroup: env.cfg.Cgroup, Netns: env.netns}
	t.Cleanup(func() {
		if err := lb.Reset(env.cfg); err != nil {
			t.Errorf("reset: %v", err)
		}
	})
	env.load(t)
	if err := EnsureServiceCIDRUnreachable(env.netns.Netlink(), serviceCIDR); err != nil {
		t.Fatal(err)
	}
	return env
}

// load (re)loads the datapath, as an agent start does.
func (env *kernelEnv) load(t testing.TB) {
	t.Helper()
	dp, err := lb.Load(context.Background(), env.cfg)
	if err != nil {
		t.Fatalf("load: %v", err)
	}
	env.dp = dp
	t.Cleanup(func() { dp.Close() })
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(tWriter{t}, nil))
}

type tWriter struct{ t testing.TB }

func (w tWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}
