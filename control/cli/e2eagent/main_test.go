package e2eagent

import (
	// The container runtime re-executes this test binary as each
	// container's monitor and as libcontainer's init; reexec runs those
	// roles before the rest of the binary initialises.
	_ "github.com/tug-sh/tug/runtime/container/reexec"
)
