// Package nsutil holds the few operations on Linux network namespaces that
// dataplane/podnet and dataplane/overlay share: running a function on an OS
// thread switched into a namespace (and always switching back), creating a
// namespace pinned by a bind mount at a chosen path (like `ip netns add`, but
// anywhere), unmounting such a pin, and retrying netlink dumps that the
// kernel interrupted.
//
// Switching namespaces is per OS thread, so every switch happens on a
// dedicated goroutine locked to its thread. If switching back fails the
// thread is left locked, which makes the Go runtime destroy it when the
// goroutine exits instead of reusing a thread that sits in the wrong
// namespace.
package nsutil
