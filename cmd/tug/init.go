package main

// reexec runs the container runtime's roles (libcontainer's init, a
// container's monitor) when tug is re-executed for one, from its init
// function: before the packages the roles do not use (API server, etcd,
// client-go) are initialised, which is most of a start's CPU time. It
// also links libcontainer's nsenter and the cgroup device filter.
import _ "github.com/tug-sh/tug/runtime/container/reexec"
