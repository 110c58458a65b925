package openapi_test

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"

	"github.com/tug-sh/tug/control/apiserver/openapi"
)

var allVerbs = []string{"get", "list", "watch", "create", "update", "patch", "delete", "deletecollection"}
var statusVerbs = []string{"get", "update", "patch"}

// tugKinds is the API tug serves (the API server's list may grow).
func tugKinds() []openapi.Kind {
	return []openapi.Kind{
		{Version: "v1", Kind: "Pod", Object: &corev1.Pod{}, List: &corev1.PodList{}, Resource: "pods", Namespaced: true, Verbs: allVerbs},
		{Version: "v1", Kind: "Pod", Object: &corev1.Pod{}, Resource: "pods/status", Namespaced: true, Verbs: statusVerbs},
		{Version: "v1", Kind: "Binding", Object: &corev1.Binding{}, Resource: "pods/binding", Namespaced: true, Verbs: []string{"create"}},
		{Version: "v1", Kind: "ReplicationController", Object: &corev1.ReplicationController{}, List: &corev1.ReplicationControllerList{}, Resource: "replicationcontrollers", Namespaced: true, Verbs: allVerbs},
		{Version: "v1", Kind: "ReplicationController", Object: &corev1.ReplicationController{}, Resource: "replicationcontrollers/status", Namespaced: true, Verbs: statusVerbs},
		{Group: "autoscaling", Version: "v1", Kind: "Scale", Object: &autoscalingv1.Scale{}, Resource: "replicationcontrollers/scale", Namespaced: true, PathPrefix: "/api/v1", Verbs: statusVerbs},
		{Version: "v1", Kind: "Service", Object: &corev1.Service{}, List: &corev1.ServiceList{}, Resource: "services", Namespaced: true, Verbs: allVerbs},
		{Version: "v1", Kind: "Service", Object: &corev1.Service{}, Resource: "services/status", Namespaced: true, Verbs: statusVerbs},
		{Version: "v1", Kind: "Endpoints", Object: &corev1.Endpoints{}, List: &corev1.EndpointsList{}, Resource: "endpoints", Namespaced: true, Verbs: allVerbs},
		{Version: "v1", Kind: "Node", Object: &corev1.Node{}, List: &corev1.NodeList{}, Resource: "nodes", Verbs: allVerbs},
		{Version: "v1", Kind: "Node", Object: &corev1.Node{}, Resource: "nodes/status", Verbs: statusVerbs},
		{Version: "v1", Kind: "Namespace", Object: &corev1.Namespace{}, List: &corev1.NamespaceList{}, Resource: "namespaces", Verbs: []string{"get", "list", "watch", "create", "update", "patch", "delete"}},
		{Version: "v1", Kind: "Namespace", Object: &corev1.Namespace{}, Resource: "namespaces/status", Verbs: statusVerbs},
		{Version: "v1", Kind: "Event", Object: &corev1.Event{}, List: &corev1.EventList{}, Resource: "events", Namespaced: true, Verbs: allVerbs},
	}
}
