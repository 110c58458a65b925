//go:build cgo && seccomp

package container

// seccompBuiltIn reports whether libcontainer was compiled with libseccomp
// (the "seccomp" build tag, which needs cgo and libseccomp-dev).
const seccompBuiltIn = true

// SeccompSupported reports whether this binary can give containers a
// seccomp profile (built with cgo and the seccomp tag).
func SeccompSupported() bool { return seccompBuiltIn }
