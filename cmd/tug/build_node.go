//go:build tug_node

package main

import (
	"context"
	"fmt"
)

// The node build (go build -tags tug_node, make build-node → bin/tug-node)
// is tug for the machines that only run pods: the agent, reset, image and
// bpf commands, without the API server, etcd, controllers and CLI. Go links
// only what is reachable, so it is less than half the full binary, and
// package initialisers of etcd and client-go's full scheme never run: an
// agent of it has several MB less resident (BenchmarkAgentRSS measures
// both builds). Nothing else differs: `tug-node agent` is `tug agent`.
func buildCommands() []command {
	return []command{
		{name: "version", summary: "print tug's version (the node build has no API client to ask the server)", run: runNodeVersion},
	}
}

const notInThisBuild = " (this is tug's node build: agent, bpf, image, reset, version; up, server and the kubectl-style CLI are in the full build, make build → bin/tug)"

func runNodeVersion(_ context.Context, args []string, io stdio) error {
	if len(args) > 0 && args[0] != "--client" {
		return fmt.Errorf("version: unexpected argument %q", args[0])
	}
	fmt.Fprintf(io.out, "tug %s (node build)\n", version)
	return nil
}
