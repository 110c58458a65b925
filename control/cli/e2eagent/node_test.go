package e2eagent

import (
	"context"
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
	nd := agenttest.NewNode(t, env.Config)
	cfg, dir, ns := nd.Config, nd.Dir, nd.NetnsPath
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
