package registry

import (
	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
)

// Resources returns tug's resources in discovery order (alphabetical, as
// the Kubernetes API server lists /api/v1). Each call returns fresh values.
func Resources() []Resource {
	return []Resource{
		{
			Name: "endpoints", SingularName: "endpoints", Kind: "Endpoints",
			ShortNames: []string{"ep"}, Namespaced: true,
			New:      func() Object { return &corev1.Endpoints{} },
			NewList:  func() runtime.Object { return &corev1.EndpointsList{} },
			Strategy: adapt[*corev1.Endpoints](endpointsStrategy{}),
		},
		{
			Name: "events", SingularName: "event", Kind: "Event",
			ShortNames: []string{"ev"}, Namespaced: true,
			New:      func() Object { return &corev1.Event{} },
			NewList:  func() runtime.Object { return &corev1.EventList{} },
			Strategy: adapt[*corev1.Event](eventStrategy{}),
		},
		{
			Name: "namespaces", SingularName: "namespace", Kind: "Namespace",
			ShortNames: []string{"ns"}, Namespaced: false,
			Subresources: []string{SubStatus, SubFinalize},
			New:          func() Object { return &corev1.Namespace{} },
			NewList:      func() runtime.Object { return &corev1.NamespaceList{} },
			Strategy:     adapt[*corev1.Namespace](namespaceStrategy{}),
		},
		{
			Name: "nodes", SingularName: "node", Kind: "Node",
			ShortNames: []string{"no"}, Namespaced: false,
			Subresources: []string{SubStatus},
			New:          func() Object { return &corev1.Node{} },
			NewList:      func() runtime.Object { return &corev1.NodeList{} },
			Strategy:     adapt[*corev1.Node](nodeStrategy{}),
		},
		{
			Name: "pods", SingularName: "pod", Kind: "Pod",
			ShortNames: []string{"po"}, Categories: []string{"all"}, Namespaced: true,
			Subresources: []string{SubStatus, SubBinding, SubLog, SubExec},
			New:          func() Object { return &corev1.Pod{} },
			NewList:      func() runtime.Object { return &corev1.PodList{} },
			Strategy:     adapt[*corev1.Pod](podStrategy{}),
		},
		{
			Name: "replicationcontrollers", SingularName: "replicationcontroller", Kind: "ReplicationController",
			ShortNames: []string{"rc"}, Categories: []string{"all"}, Namespaced: true,
			Subresources: []string{SubStatus, SubScale},
			New:          func() Object { return &corev1.ReplicationController{} },
			NewList:      func() runtime.Object { return &corev1.ReplicationControllerList{} },
			Strategy:     adapt[*corev1.ReplicationController](rcStrategy{}),
		},
		{
			Name: "services", SingularName: "service", Kind: "Service",
			ShortNames: []string{"svc"}, Categories: []string{"all"}, Namespaced: true,
			Subresources: []string{SubStatus},
			New:          func() Object { return &corev1.Service{} },
			NewList:      func() runtime.Object { return &corev1.ServiceList{} },
			Strategy:     adapt[*corev1.Service](serviceStrategy{}),
		},
	}
}

// NewScheme returns a scheme with core/v1 (and its Status, ListOptions,
// DeleteOptions, ...), autoscaling/v1 (Scale) and meta.k8s.io/v1 (Table,
// PartialObjectMetadata) registered. Serializers built from it
// (k8s.io/apimachinery/pkg/runtime/serializer) encode objects with their
// kind and apiVersion.
func NewScheme() *runtime.Scheme {
	s := runtime.NewScheme()
	// These only fail on conflicting registrations, which a fresh scheme
	// cannot have: a failure is a programming error.
	for _, add := range []func(*runtime.Scheme) error{
		corev1.AddToScheme,
		autoscalingv1.AddToScheme,
		metav1.AddMetaToScheme,
	} {
		if err := add(s); err != nil {
			panic("registry: building scheme: " + err.Error())
		}
	}
	// Options, WatchEvent and Status under meta.k8s.io/v1 too, for
	// requests that name that group (Table watches, PartialObjectMetadata).
	metav1.AddToGroupVersion(s, metav1.SchemeGroupVersion)
	return s
}
