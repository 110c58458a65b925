// Package registry defines tug's API resources — namespaces, pods,
// replicationcontrollers, services, endpoints, nodes and events — and their
// rules: server-side defaults, validation, what create and update may touch,
// field-selector values, and the Table columns kubectl prints.
//
// Everything here is a pure function of the objects involved (and, where
// time matters, of a `now` passed in); the HTTP handlers and storage that
// apply them live in control/apiserver. The rules follow Kubernetes v1.32
// (pkg/apis/core/v1/defaults.go, pkg/apis/core/validation,
// pkg/registry/core/*/strategy.go, pkg/printers/internalversion), written
// compactly against the k8s.io/api types, with Kubernetes' field paths and
// messages for the fields tug supports.
//
// # Entry points
//
// Resources lists the resources in discovery order with their names, kinds,
// short names, categories, subresources and Strategy; NewScheme returns a
// runtime.Scheme with core/v1, autoscaling/v1 and meta.k8s.io/v1.
//
// A Strategy is applied by the API server in this order (see Strategy):
//
//	create:        PrepareForCreate, Default, Validate
//	update:        PrepareForUpdate, Default, ValidateUpdate, SpecChanged
//	update status: PrepareForStatusUpdate, ValidateStatusUpdate
//
// The server sets namespace, uid, resourceVersion, creationTimestamp and
// generation itself, and turns generateName into a name before Validate
// (which requires a name).
//
// # Helpers for subresources and the API server
//
//   - ScaleFromRC, ApplyScale: replicationcontrollers/scale.
//   - ValidateBinding, BindPod (errors wrap ErrConflict, HTTP 409):
//     pods/binding.
//   - PrepareForFinalize, ValidateFinalize: namespaces/finalize, the only
//     way to change a namespace's spec.finalizers; MarkNamespaceTerminating
//     applies a DELETE (deletionTimestamp and phase Terminating while
//     finalizers remain).
//   - ServiceNeedsClusterIP, ServiceNeedsNodePorts, IsHeadlessService: what
//     a Service draws from the allocators (see serviceStrategy for the
//     allocation contract); ServicePortsString formats its ports.
//
// # Helpers for controllers, agents and the CLI
//
//   - PodPhaseReason (kubectl's STATUS column), PodReadyCount, IsPodReady,
//     IsPodTerminal, PodQOSClass, SetPodCondition, NodeUnreachablePodReason.
//   - IsNodeReady, NodeStatusString, NodeRoles.
//   - FormatEndpoints (kubectl's ENDPOINTS column).
//   - EventSourceComponent, EventAggregationKey (when to bump an event's
//     count instead of creating another), InvolvedObjectSelector (the field
//     selector kubectl describe uses for an object's events).
//   - LabelMetadataName, the label every namespace carries with its name.
//
// # Deliberate differences from Kubernetes
//
// Service IP families are single-stack IPv4 (tug's service ranges are
// IPv4); a pod's status.podIPs field selector matches the comma-joined
// addresses; an event must name its involved object; the events table
// declares COUNT as an integer column (Kubernetes says string but sends an
// integer).
package registry
