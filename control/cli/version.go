package cli

import (
	"context"
	"errors"
	"fmt"

	"github.com/spf13/pflag"
)

func versionSpec() spec {
	return spec{
		name:    "version",
		summary: "Print the client and server versions",
		usage:   "version [--client]",
		setup: func(fs *pflag.FlagSet) func(context.Context, *env, []string) error {
			clientOnly := fs.Bool("client", false, "print the client version only (no server needed)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) > 0 {
					return fmt.Errorf("unexpected arguments %q", args)
				}
				fmt.Fprintf(e.Out, "Client Version: %s\n", e.opts.ClientVersion)
				if *clientOnly {
					return nil
				}
				c, err := e.connect()
				if err != nil {
					return err
				}
				v, err := c.ServerVersion(ctx)
				if err != nil {
					return err
				}
				if v.GitVersion == "" {
					return errors.New("the server's /version has no gitVersion")
				}
				fmt.Fprintf(e.Out, "Server Version: %s\n", v.GitVersion)
				return nil
			}
		},
	}
}
