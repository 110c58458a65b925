package lb

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error this package returns for these conditions
// wraps one of them (test with errors.Is). The full message says what is
// missing and how to fix it.
var (
	// ErrNoBTF: the kernel exposes no BTF (/sys/kernel/btf/vmlinux), so map
	// keys and values cannot be described to bpftool.
	ErrNoBTF = errors.New("kernel BTF not available")
	// ErrNoSockAddrHooks: the kernel cannot run the cgroup sock_addr programs
	// tug's load balancer is made of (or one helper they use).
	ErrNoSockAddrHooks = errors.New("kernel lacks cgroup sock_addr BPF hooks")
	// ErrNoBPFFS: the pin directory is not on a BPF filesystem.
	ErrNoBPFFS = errors.New("no BPF filesystem")
	// ErrNoCgroup2: the attach point is not a cgroup2 directory.
	ErrNoCgroup2 = errors.New("no cgroup2 hierarchy")
	// ErrNotLoaded: nothing is pinned where the datapath should be.
	ErrNotLoaded = errors.New("load balancer not loaded")
	// ErrIncompatibleMaps: maps pinned by an older tug have another layout.
	ErrIncompatibleMaps = errors.New("pinned maps have an incompatible layout")
	// ErrInvalidService: a frontend or backend cannot be programmed.
	ErrInvalidService = errors.New("invalid service")
	// ErrInvalidConfig: the configuration is inconsistent.
	ErrInvalidConfig = errors.New("invalid load balancer configuration")
)

// lbError carries a full, actionable message and unwraps to a sentinel (and,
// when there is one, to the underlying cause), so errors.Is works without the
// sentinel's text cluttering the message.
type lbError struct {
	kind  error
	cause error
	msg   string
}

func (e *lbError) Error() string { return e.msg }

func (e *lbError) Unwrap() []error {
	if e.cause == nil {
		return []error{e.kind}
	}
	return []error{e.kind, e.cause}
}

func newError(kind error, format string, args ...any) error {
	return &lbError{kind: kind, msg: fmt.Sprintf(format, args...)}
}

// wrapError is newError with an underlying cause that errors.Is and
// errors.As also see; the message should already mention it.
func wrapError(kind, cause error, format string, args ...any) error {
	return &lbError{kind: kind, cause: cause, msg: fmt.Sprintf(format, args...)}
}
