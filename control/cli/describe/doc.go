// Package describe renders objects the way `kubectl describe` (v1.32)
// lays them out: pods, replication controllers, services, endpoints,
// nodes, namespaces, and any other object through the generic describer
// (events included), each followed by its Events table.
//
// Every function here is pure: it takes the objects (and the time "now",
// for ages) and returns text. Fetching them — the object, the pods of a
// controller, the events whose involvedObject is the object — is the
// caller's job (control/cli), which keeps the layout testable from fixed
// objects.
//
// Layout follows kubectl's describers: label: value pairs aligned by a
// tabwriter (min width 0, tab width 8, padding 2), two spaces per nesting
// level, "<none>" for empty values.
package describe
