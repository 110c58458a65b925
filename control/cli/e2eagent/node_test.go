package e2eagent

import (
	"context"
	"crypto/rand"
	"fmt"
	"math/big"
	"net/netip"
	"path/filepath"
	"testing"
	"time"

	"github.com/tug-sh/tug/control/apiserver/apitest"
	"github.com/tug-sh/tug/runtime/agent"
	"github.com/tug-sh/tug/runtime/agent/agenttest"
)

// The node set-up follows runtime/agent's own tests (helpers_test.go):
// an agent on loopback whose bridge, veths and pod routes live in a
// network namespace of the test's own, containers under a cgroup parent
// of the test's own, and agent.Reset plus checks that nothing is left
// when the test ends.

// node is a running agent registered with env.
type node struct {
	name  string
	agent *agent.Agent
}

// startNode runs an agent for a new node of env until the test ends, then
// stops it and removes everything it created.
func startNode(t *testing.T, env *apitest.Env) *node {
	t.Helper()
	dir := t.TempDir()
	ns := agenttest.NewNetns(t, filepath.Join(dir, "node-netns"))
	sfx := agenttest.Suffix()
	third, _ := rand.Int(rand.Reader, big.NewInt(250))
	cfg := agent.Config{
		RestConfig:        env.Config,
		NodeName:          "node-" + sfx,
		NodeIP:            netip.MustParseAddr("127.0.0.1"),
		Listen:            "127.0.0.1:0",
		DataDir:           filepath.Join(dir, "data"),
		RunDir:            filepath.Join(dir, "run"),
		CgroupParent:      "tug-test-" + sfx,
		HostNetns:         ns,
		Bridge:            "tugt" + sfx,
		PodCIDR:           netip.MustParsePrefix(fmt.Sprintf("10.244.%d.0/24", third.Int64()+1)),
		HeartbeatInterval: time.Second,
		ResyncInterval:    5 * time.Second,
		Logger:            agenttest.Logger(t),
	}
	a, err := agent.New(cfg)
	if err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	done := make(chan error, 1)
	go func() { done <- a.Run(ctx) }()
	t.Cleanup(func() {
		cancel()
		select {
		case err := <-done:
			if err != nil {
				t.Errorf("agent Run: %v", err)
			}
		case <-time.After(time.Minute):
			t.Errorf("the agent did not stop within a minute")
		}
		agenttest.ResetNode(t, cfg, dir, ns)
	})
	return &node{name: cfg.NodeName, agent: a}
}
