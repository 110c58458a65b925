// Package openapi generates the OpenAPI v2 (Swagger 2.0) document of tug's
// API from the k8s.io/api Go types, by reflection, the way Kubernetes
// names and shapes it: definitions such as io.k8s.api.core.v1.Pod with
// x-kubernetes-group-version-kind, and the REST operations of each
// resource with x-kubernetes-action. kubectl's client-side validation and
// `kubectl explain` find kinds through it.
//
// The generator is generic: JSON names and omitempty come from struct
// tags (a field without omitempty is required, as in Kubernetes), embedded
// structs are flattened, pointers are their element, slices arrays and
// maps objects; definition names come from the types' OpenAPIModelName
// methods, primitive forms from OpenAPISchemaType/OpenAPISchemaFormat
// (Time is a date-time string, Quantity a string, IntOrString a string of
// format int-or-string), descriptions from SwaggerDoc, and
// x-kubernetes-patch-strategy/-merge-key from the patchStrategy and
// patchMergeKey tags. Structs with their own JSON encoding (RawExtension,
// FieldsV1) are opaque objects.
//
// Build once at start-up and serve the cached bytes:
//
//	doc, err := openapi.Build([]openapi.Kind{
//		{Version: "v1", Kind: "Pod", Object: &corev1.Pod{}, List: &corev1.PodList{},
//			Resource: "pods", Namespaced: true,
//			Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}},
//		{Version: "v1", Kind: "Pod", Object: &corev1.Pod{}, Resource: "pods/status",
//			Namespaced: true, Verbs: []string{"get", "update", "patch"}},
//		{Group: "autoscaling", Version: "v1", Kind: "Scale", Object: &autoscalingv1.Scale{},
//			Resource: "replicationcontrollers/scale", Namespaced: true, PathPrefix: "/api/v1",
//			Verbs: []string{"get", "update", "patch"}},
//		...
//	})
//	mux.Handle("/openapi/v2", doc)
//
// Document.ServeHTTP negotiates on Accept: kubectl (client-go) asks for
// ProtobufAccept (application/com.github.proto-openapi.spec.v2@v1.0+protobuf)
// and gets gnostic's protobuf encoding, labelled ProtobufContentType as
// Kubernetes labels it; application/json (or no Accept) gets JSON; anything
// else 406. Both forms are gzipped when the client accepts gzip, carry an
// ETag, and If-None-Match is answered with 304. JSON and Protobuf return
// the bytes for other uses.
//
// Validation: kubectl --validate (the default) checks manifests against
// this document on the client, rejecting unknown fields and wrong types,
// unless the document lists the fieldValidation parameter on create,
// update and patch, in which case kubectl sends fieldValidation=Strict and
// leaves the checks to the server. Pass WithServerFieldValidation to Build
// only if the API server rejects unknown fields for Strict; without it the
// parameter is left out and kubectl validates.
//
// Not generated: x-kubernetes-list-type/-map-keys and other markers that
// live only in Go comments, defaults, and OpenAPI v3.
package openapi
