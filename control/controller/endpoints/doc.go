// Package endpoints is the endpoints controller: for every Service with a
// selector it maintains an Endpoints object of the same name listing the
// matching pods — ready pods under addresses, pods not (yet) ready under
// notReadyAddresses — with the Service's ports resolved per pod.
//
// The decision is the pure function Subsets (with Repack, which groups
// addresses that offer the same ports into one subset, as Kubernetes'
// RepackSubsets does, sorted deterministically). A pod is listed when it has
// a pod IP, is not being deleted and has not finished; its address carries
// targetRef (the pod) and nodeName. A Service port's targetPort is a number,
// or a name resolved to the container port of that name and protocol in each
// pod (a pod without such a port is left out of that port's subset). A
// headless Service (clusterIP None) without ports lists addresses without
// ports. spec.publishNotReadyAddresses lists every pod as ready.
//
// A Service whose selector matches no pod gets an Endpoints without subsets.
// Services without a selector are left alone (their Endpoints are the
// user's). When a Service is deleted its Endpoints are deleted. An
// Endpoints already equal to the desired one (subsets and labels) is not
// written.
package endpoints
