package container

import (
	"os"
	"strings"

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
		resetIgnoredSignals()
		libcontainer.Init() // exits the process
		return 255, true
	case monitorArg:
		return runMonitor(args[2:]), true
	}
	return 0, false
}

// monitorGOMAXPROCS is the monitor's GOMAXPROCS (monitorEnv): neither
// the monitor nor libcontainer's init has parallel work, and a start with
// one processor wakes fewer threads, which on a node starting many
// containers at once compete for the CPU (measured: about 1 ms of CPU time
// less per container, and one thread less in each monitor). libcontainer
// passes the variable on to its init, and only there: the container's
// process gets the environment of its spec.
const monitorGOMAXPROCS = "GOMAXPROCS=1"

// monitorEnv is the monitor's environment: environ (the agent's) with
// monitorGOMAXPROCS in place of any GOMAXPROCS.
func monitorEnv(environ []string) []string {
	out := make([]string, 0, len(environ)+1)
	for _, kv := range environ {
		if !strings.HasPrefix(kv, "GOMAXPROCS=") {
			out = append(out, kv)
		}
	}
	return append(out, monitorGOMAXPROCS)
}
