// Package client connects the tug CLI (and any other tool) to a tug or
// Kubernetes API server through client-go.
//
// It owns four things and nothing else:
//
//   - resolving the server address: the seed's `-s host:port`, a URL,
//     $TUG_SERVER or http://127.0.0.1:8080 (ServerURL);
//   - building a *rest.Config and the clients on top of it: dynamic, typed
//     core/v1, raw REST and discovery (New);
//   - mapping what users type or manifests say to API resources from the
//     server's own discovery document: plural, singular, kind and short
//     names, categories such as "all", subresources (Mapper);
//   - turning failures into the one-line messages kubectl prints: a refused
//     connection becomes `cannot reach the API server at ...`, a Status
//     becomes `Error from server (NotFound): pods "x" not found`, a 422
//     becomes `The ReplicationController "x" is invalid: ...` (Message).
package client
