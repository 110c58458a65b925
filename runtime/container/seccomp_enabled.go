//go:build cgo && seccomp

package container

// seccompBuiltIn reports whether libcontainer was compiled with libseccomp
// (the "seccomp" build tag, which needs cgo and libseccomp-dev).
const seccompBuiltIn = true
