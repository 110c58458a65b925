//go:build !tug_node

package main

import (
	"context"
	"os"

	"github.com/tug-sh/tug/control/cli"
)

// cliCommands are the kubectl-style commands of control/cli (create, apply,
// get, describe, delete/stop, scale, logs, exec, version) as entries of the
// binary's command table.
func cliCommands() []command {
	var out []command
	for _, c := range cli.Commands(cli.Options{ClientVersion: version, Getenv: os.Getenv}) {
		out = append(out, command{
			name:    c.Name,
			aliases: c.Aliases,
			summary: c.Summary,
			run: func(ctx context.Context, args []string, io stdio) error {
				code := c.Run(ctx, args, cli.Streams{In: io.in, Out: io.out, ErrOut: io.err})
				if code != 0 {
					return exitStatus(code)
				}
				return nil
			},
		})
	}
	return out
}
