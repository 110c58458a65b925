// Package serviceproxy is tug's kube-proxy: it turns Kubernetes Services and
// Endpoints (plain core/v1 objects; the agent feeds them from its informers)
// into the eBPF load balancer's map entries (bpf/lb).
//
// For each Service port it programs one frontend per ClusterIP and, for
// NodePort and LoadBalancer Services, one per node address (for clients on
// the node), each with the ready addresses of the Endpoints subset port of
// the same name and protocol as backends, and ClientIP session affinity with
// its timeout. internalTrafficPolicy: Local keeps the node's own endpoints.
//
// What to program is a pure function of the objects (desiredFrontends) and
// what to change is a pure diff of desired against programmed frontends
// (diff); the Reconciler applies one Service's diff per event, upserts
// before deletes, and never rewrites what did not change. Resync compares
// everything with what the maps hold, which is how an agent adopts and
// repairs what a crashed one left. The maps sit behind the small LBMaps
// interface, which *lb.Maps implements and tests fake.
//
// EnsureServiceCIDRUnreachable routes the service CIDR nowhere, so a packet
// to a virtual IP that escaped translation fails on the node instead of
// leaving it.
package serviceproxy
