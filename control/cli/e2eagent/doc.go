// Package e2eagent holds end-to-end tests of the CLI against a real node
// agent: runtime/agent running pods through libcontainer, with its
// network in a namespace of the test's own, registered with a real API
// server (control/apiserver/apitest). `tug top` and the real `kubectl
// top` read the statistics the agent measures in the containers' cgroups
// through the API server's metrics.k8s.io API and nodes/proxy.
//
// It has no code outside its tests. It is a package of its own so that
// the CLI's other tests do not link the container runtime, and its test
// binary doubles as the containers' monitor and libcontainer's init (see
// runtime/container/reexec). The tests need root.
package e2eagent
