// Package reexec runs the container runtime's re-executed roles while the
// binary is still initialising. A binary that runs containers through
// runtime/container imports it for its side effect, once, in package main:
//
//	import _ "github.com/tug-sh/tug/runtime/container/reexec"
//
// Every container costs two starts of the binary: its monitor, then
// libcontainer's init, which the monitor starts (see runtime/container).
// Go initialises every package a binary links before main runs, and for a
// binary that links the API server, etcd and client-go that is most of a
// start's CPU time (about 10 ms of package initialisation for tug, against
// 3 ms for what the two roles use). This package's init function runs the
// role as soon as the packages the roles need are initialised: Go
// initialises a package after its imports, and otherwise in the order of
// import paths, so it comes before the k8s.io, go.etcd.io and
// google.golang.org/grpc packages the roles never use, which are then
// never initialised in those processes. A process started in a role
// (container.RunReexecRole recognises them from the arguments and, for
// the init, libcontainer's environment) runs it and exits from this init
// function; any other start of the binary is not affected.
//
// The package also imports what the roles need to be linked in:
// libcontainer/nsenter, whose C constructor joins the container's
// namespaces before the Go runtime starts, and opencontainers/cgroups/
// devices, which registers the device cgroup rules libcontainer applies.
package reexec
