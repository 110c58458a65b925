// Package registry defines tug's API resources — namespaces, pods,
// replicationcontrollers, services, endpoints, nodes and events — and their
// rules: server-side defaults, validation, what create and update may touch,
// field-selector values, and the Table columns kubectl prints.
//
// Everything here is a pure function of the objects involved; the HTTP
// handlers and storage that apply them live in control/apiserver.
package registry
