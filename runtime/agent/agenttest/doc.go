// Package agenttest holds what tests that run a real node agent share:
// network namespaces of the test's own (pinned, removed at the end),
// unique names, logs into the test log, the listings of cgroups and mounts
// with which a test checks that nothing it created is left, and ResetNode,
// the reset-and-check every real agent's cleanup ends with. Used by
// runtime/agent's tests and control/cli/e2eagent.
package agenttest
