package main

import (
	"os"

	// libcontainer's container init runs in this binary (`tug init`, started
	// by libcontainer with its environment): nsenter's C constructor joins
	// the namespaces before the Go runtime starts, and the devices package
	// registers the cgroup device filter libcontainer applies.
	_ "github.com/opencontainers/cgroups/devices"
	_ "github.com/opencontainers/runc/libcontainer/nsenter"

	"github.com/tug-sh/tug/runtime/container"
)

// runReexecRole runs the role tug was re-executed for by the container
// runtime (libcontainer's init, or a container's monitor) and reports
// whether it did; main then exits with the code. It must run before
// anything else in main.
func runReexecRole() (exitCode int, handled bool) {
	return container.RunReexecRole(os.Args)
}
