package registry

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func TestStrategyWrongTypePanics(t *testing.T) {
	defer func() {
		msg, _ := recover().(string)
		if !strings.Contains(msg, "strategy for *v1.Pod called with *v1.Service") {
			t.Errorf("panic message %q", msg)
		}
	}()
	strategyFor(t, "pods").Default(&corev1.Service{})
}

func TestEndpointsAndEventsUpdate(t *testing.T) {
	ep := stored(t, "endpoints", &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Subsets: []corev1.EndpointSubset{{
		Addresses: []corev1.EndpointAddress{{IP: "10.244.1.5"}}, Ports: []corev1.EndpointPort{{Port: 80}}}}})
	if ep.Subsets[0].Ports[0].Protocol != corev1.ProtocolTCP {
		t.Errorf("endpoint port protocol not defaulted")
	}
	ep2 := ep.DeepCopy()
	ep2.Subsets[0].Addresses = append(ep2.Subsets[0].Addresses, corev1.EndpointAddress{IP: "169.254.1.1"})
	if got := errorSummary(update(t, "endpoints", ep2, ep)); got != "subsets[0].addresses[1].ip: FieldValueInvalid" {
		t.Errorf("got %q", got)
	}
	if strategyFor(t, "endpoints").SpecChanged(ep2, ep) {
		t.Error("endpoints have no generation")
	}

	ev := stored(t, "events", &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "web.1"}, Count: 1,
		InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", Namespace: "default"}})
	if ev.Count != 1 {
		t.Errorf("count changed to %d", ev.Count)
	}
	ev2 := ev.DeepCopy()
	ev2.Count = 2
	mustValid(t, update(t, "events", ev2, ev))
	ev2.InvolvedObject.Namespace = "elsewhere"
	if got := errorSummary(update(t, "events", ev2, ev)); got != "involvedObject.namespace: FieldValueInvalid" {
		t.Errorf("got %q", got)
	}
}

func TestPodSpecDetails(t *testing.T) {
	pod := validPod()
	pod.Spec.Volumes = []corev1.Volume{
		{Name: "a"},
		{Name: "b", VolumeSource: corev1.VolumeSource{HostPath: &corev1.HostPathVolumeSource{Path: "/var/log"}}},
		{Name: "c", VolumeSource: corev1.VolumeSource{Secret: &corev1.SecretVolumeSource{SecretName: "s"}}},
	}
	pod.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PreStop: &corev1.LifecycleHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromString("http")}}}
	pod.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "NODE", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.nodeName"}}},
		{Name: "APP", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "metadata.labels['app']"}}}}
	mustValid(t, create(t, "pods", pod))
	v := pod.Spec.Volumes
	if v[0].EmptyDir == nil || *v[1].HostPath.Type != corev1.HostPathUnset || *v[2].Secret.DefaultMode != corev1.SecretVolumeSourceDefaultMode {
		t.Errorf("volume defaults: %+v", v)
	}
	h := pod.Spec.Containers[0].Lifecycle.PreStop.HTTPGet
	if h.Path != "/" || h.Scheme != corev1.URISchemeHTTP {
		t.Errorf("preStop defaults: %+v", h)
	}
	if pod.Spec.Containers[0].Env[0].ValueFrom.FieldRef.APIVersion != "v1" {
		t.Error("fieldRef apiVersion not defaulted")
	}

	bad := validPod()
	bad.Spec.Volumes = []corev1.Volume{
		{Name: "a", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}, HostPath: &corev1.HostPathVolumeSource{}}},
		{Name: "a"},
	}
	bad.Spec.Containers[0].Lifecycle = &corev1.Lifecycle{PostStart: &corev1.LifecycleHandler{}}
	got := errorSummary(create(t, "pods", bad))
	want := "spec.containers[0].lifecycle.postStart: FieldValueRequired\nspec.volumes[0].hostPath.path: FieldValueRequired\nspec.volumes[0]: FieldValueForbidden\nspec.volumes[1].name: FieldValueDuplicate"
	if got != want {
		t.Errorf("errors:\n%s\nwant:\n%s", got, want)
	}
	if !IsPodTerminal(&corev1.Pod{Status: corev1.PodStatus{Phase: corev1.PodFailed}}) || IsPodTerminal(pod) {
		t.Error("IsPodTerminal")
	}
	ready, total := PodReadyCount(podWith(2, 0, func(p *corev1.Pod) {
		p.Status.ContainerStatuses = []corev1.ContainerStatus{running(true, 0), running(false, 0)}
	}))
	if ready != 1 || total != 2 {
		t.Errorf("PodReadyCount = %d/%d", ready, total)
	}
}

func TestServiceExternalIPColumn(t *testing.T) {
	lb := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ExternalIPs: []string{"198.51.100.9"}},
		Status: corev1.ServiceStatus{LoadBalancer: corev1.LoadBalancerStatus{Ingress: []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}, {Hostname: "lb.example.com"}, {IP: "192.0.2.1"}}}}}
	if got := serviceExternalIP(lb); got != "192.0.2.1,lb.example.com,198.51.100.9" {
		t.Errorf("got %q", got)
	}
	cip := &corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ExternalIPs: []string{"198.51.100.9", "198.51.100.10"}}}
	if got := serviceExternalIP(cip); got != "198.51.100.9,198.51.100.10" {
		t.Errorf("got %q", got)
	}
	if !IsHeadlessService(&corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "None"}}) || ServiceNeedsClusterIP(&corev1.Service{Spec: corev1.ServiceSpec{ClusterIP: "None"}}) {
		t.Error("headless")
	}
	off := false
	if ServiceNeedsNodePorts(&corev1.Service{Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, AllocateLoadBalancerNodePorts: &off}}) {
		t.Error("LoadBalancer without node ports")
	}
}
