package reexec

import (
	"os"

	_ "github.com/opencontainers/cgroups/devices"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	"github.com/tug-sh/tug/runtime/container"
)

// init runs the role this process was started for, if any, and exits with
// its status: a role must not return into the initialisation of the rest
// of the binary (see the package documentation).
func init() {
	if code, ok := container.RunReexecRole(os.Args); ok {
		os.Exit(code)
	}
}
