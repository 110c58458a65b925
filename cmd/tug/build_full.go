//go:build !tug_node

package main

// buildCommands are the full build's control-plane commands: the API
// server, the one-machine cluster and the kubectl-style CLI (whose version
// command reports the client's and the server's versions).
func buildCommands() []command {
	return append([]command{
		{name: "up", summary: "run a one-machine cluster: API server, controllers and a node agent in one process", run: runUp},
		{name: "server", summary: "run the API server, its etcd and the controllers", run: runServer},
	}, cliCommands()...)
}

// notInThisBuild completes the unknown-command error; the full build has
// every command.
const notInThisBuild = ""
