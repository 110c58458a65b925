package agent_test

import (
	"os"
	"testing"

	// The container runtime re-executes this binary as each container's
	// monitor and as libcontainer's init; reexec runs those roles before
	// the rest of the test binary initialises.
	_ "github.com/tug-sh/tug/runtime/container/reexec"

	"github.com/tug-sh/tug/bpf/lb/lbtest"
	"github.com/tug-sh/tug/runtime/container"
)

func TestMain(m *testing.M) {
	// The container runtime re-executes this binary as each container's
	// monitor and as libcontainer's init.
	if code, ok := container.RunReexecRole(os.Args); ok {
		os.Exit(code)
	}
	// The Service tests run clients as processes of the node.
	if ok, code := lbtest.ClientMain(); ok {
		os.Exit(code)
	}
	// The RSS benchmark runs an agent in a child process of its own.
	if cfg := os.Getenv(childAgentEnv); cfg != "" {
		os.Exit(runChildAgent(cfg))
	}
	os.Exit(m.Run())
}
