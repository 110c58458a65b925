package container

import (
	"os"

	"github.com/opencontainers/runc/libcontainer"
)

// monitorArg is argv[1] of the monitor role.
const monitorArg = "__tug-container-monitor"

// RunReexecRole runs the role the binary was re-executed for, if any, and
// then the caller must exit with exitCode. A binary using Runtime calls it
// first thing in main with os.Args (and in tests, in TestMain), and must
// blank-import github.com/opencontainers/runc/libcontainer/nsenter and
// github.com/opencontainers/cgroups/devices. The roles:
//
//   - "init": libcontainer's container init (what `runc init` is). It does
//     not return. Recognised only with libcontainer's environment, so a
//     CLI command named init is not shadowed.
//   - the monitor: the per-container process that creates and starts the
//     container, holds its output pipes and waits for its exit (see the
//     package documentation).
func RunReexecRole(args []string) (exitCode int, handled bool) {
	if len(args) < 2 {
		return 0, false
	}
	switch args[1] {
	case "init":
		if os.Getenv("_LIBCONTAINER_INITPIPE") == "" {
			return 0, false
		}
		libcontainer.Init() // exits the process
		return 255, true
	case monitorArg:
		return runMonitor(args[2:]), true
	}
	return 0, false
}
