package registry

import (
	"errors"
	"reflect"
	"strings"
	"testing"
	"time"

	autoscalingv1 "k8s.io/api/autoscaling/v1"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/runtime"
)

func TestResources(t *testing.T) {
	type summary struct {
		Name, Singular, Kind string
		Short, Categories    []string
		Namespaced           bool
		Sub                  []string
	}
	var got []summary
	for _, r := range Resources() {
		got = append(got, summary{r.Name, r.SingularName, r.Kind, r.ShortNames, r.Categories, r.Namespaced, r.Subresources})
	}
	all := []string{"all"}
	want := []summary{
		{"endpoints", "endpoints", "Endpoints", []string{"ep"}, nil, true, nil},
		{"events", "event", "Event", []string{"ev"}, nil, true, nil},
		{"namespaces", "namespace", "Namespace", []string{"ns"}, nil, false, []string{"status", "finalize"}},
		{"nodes", "node", "Node", []string{"no"}, nil, false, []string{"status"}},
		{"pods", "pod", "Pod", []string{"po"}, all, true, []string{"status", "binding", "log", "exec"}},
		{"replicationcontrollers", "replicationcontroller", "ReplicationController", []string{"rc"}, all, true, []string{"status", "scale"}},
		{"services", "service", "Service", []string{"svc"}, all, true, []string{"status"}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("resources\n got %+v\nwant %+v", got, want)
	}

	scheme := NewScheme()
	for _, r := range Resources() {
		for _, obj := range []runtime.Object{r.New(), r.NewList()} {
			gvks, _, err := scheme.ObjectKinds(obj)
			if err != nil || len(gvks) == 0 || gvks[0].GroupVersion() != corev1.SchemeGroupVersion {
				t.Errorf("%s: %T kinds %v, %v", r.Name, obj, gvks, err)
				continue
			}
			wantKind := r.Kind
			if _, isList := obj.(interface{ GetContinue() string }); isList {
				wantKind += "List"
			}
			if gvks[0].Kind != wantKind {
				t.Errorf("%s: kind %s, want %s", r.Name, gvks[0].Kind, wantKind)
			}
		}
		if r.HasSubresource(SubScale) != (r.Name == "replicationcontrollers") {
			t.Errorf("%s: HasSubresource(scale) wrong", r.Name)
		}
	}
	for _, obj := range []runtime.Object{&autoscalingv1.Scale{}, &metav1.Table{}, &metav1.PartialObjectMetadataList{}, &metav1.Status{}, &corev1.Binding{}} {
		if _, _, err := scheme.ObjectKinds(obj); err != nil {
			t.Errorf("%T not in the scheme: %v", obj, err)
		}
	}
	// Each call returns independent values.
	a, b := Resources(), Resources()
	a[0].ShortNames[0] = "changed"
	if b[0].ShortNames[0] != "ep" {
		t.Error("Resources shares slices between calls")
	}
}

func TestFields(t *testing.T) {
	deleted := metav1.NewTime(now)
	objs := map[string]Object{
		"pods": &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", Namespace: "ns", DeletionTimestamp: &deleted},
			Spec:   corev1.PodSpec{NodeName: "n1", RestartPolicy: corev1.RestartPolicyAlways, SchedulerName: "default-scheduler", ServiceAccountName: "sa", HostNetwork: true},
			Status: corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.0.0.1", PodIPs: []corev1.PodIP{{IP: "10.0.0.1"}, {IP: "fd00::1"}}, NominatedNodeName: "n2"}},
		"replicationcontrollers": &corev1.ReplicationController{ObjectMeta: metav1.ObjectMeta{Name: "rc", Namespace: "ns"}, Status: corev1.ReplicationControllerStatus{Replicas: 3}},
		"services":               &corev1.Service{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}, Spec: corev1.ServiceSpec{ClusterIP: "10.96.0.1", Type: corev1.ServiceTypeNodePort}},
		"endpoints":              &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "s", Namespace: "ns"}},
		"nodes":                  &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1"}, Spec: corev1.NodeSpec{Unschedulable: true}},
		"namespaces":             &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "ns"}, Status: corev1.NamespaceStatus{Phase: corev1.NamespaceTerminating}},
		"events": &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e", Namespace: "ns"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "p", UID: "u1", APIVersion: "v1", ResourceVersion: "7", FieldPath: "spec.containers{c}"},
			Reason:         "Started", Type: "Normal", ReportingController: "tug-agent"},
	}
	want := map[string]fields.Set{
		"pods": {"metadata.name": "p", "metadata.namespace": "ns", "spec.nodeName": "n1", "spec.restartPolicy": "Always",
			"spec.schedulerName": "default-scheduler", "spec.serviceAccountName": "sa", "spec.hostNetwork": "true",
			"status.phase": "Running", "status.podIP": "10.0.0.1", "status.podIPs": "10.0.0.1,fd00::1", "status.nominatedNodeName": "n2"},
		"replicationcontrollers": {"metadata.name": "rc", "metadata.namespace": "ns", "status.replicas": "3"},
		"services":               {"metadata.name": "s", "metadata.namespace": "ns", "spec.clusterIP": "10.96.0.1", "spec.type": "NodePort"},
		"endpoints":              {"metadata.name": "s", "metadata.namespace": "ns"},
		"nodes":                  {"metadata.name": "n1", "spec.unschedulable": "true"},
		"namespaces":             {"metadata.name": "ns", "name": "ns", "status.phase": "Terminating"},
		"events": {"metadata.name": "e", "metadata.namespace": "ns", "involvedObject.kind": "Pod", "involvedObject.namespace": "ns",
			"involvedObject.name": "p", "involvedObject.uid": "u1", "involvedObject.apiVersion": "v1", "involvedObject.resourceVersion": "7",
			"involvedObject.fieldPath": "spec.containers{c}", "reason": "Started", "reportingComponent": "tug-agent", "source": "tug-agent", "type": "Normal"},
	}
	for name, obj := range objs {
		if got := strategyFor(t, name).Fields(obj); !reflect.DeepEqual(got, want[name]) {
			t.Errorf("%s fields\n got %v\nwant %v", name, got, want[name])
		}
	}
	// kubectl describe's event query matches.
	sel := InvolvedObjectSelector(corev1.ObjectReference{Kind: "Pod", Namespace: "ns", Name: "p", UID: "u1"})
	if !sel.Matches(strategyFor(t, "events").Fields(objs["events"])) {
		t.Errorf("selector %s does not match the event", sel)
	}
	if sel.String() != "involvedObject.name=p,involvedObject.namespace=ns,involvedObject.uid=u1,involvedObject.kind=Pod" {
		t.Errorf("selector %s", sel)
	}
}

func TestSpecChanged(t *testing.T) {
	pod := validPod()
	s := strategyFor(t, "pods")
	p2 := pod.DeepCopy()
	p2.Labels = map[string]string{"a": "b"}
	p2.Status.Phase = corev1.PodRunning
	if s.SpecChanged(p2, pod) {
		t.Error("pod: metadata/status change counted as spec change")
	}
	p2.Spec.Containers[0].Image = "nginx:2"
	if !s.SpecChanged(p2, pod) {
		t.Error("pod: image change not a spec change")
	}
	svc := validService()
	s2 := svc.DeepCopy()
	s2.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "1.2.3.4"}}
	if strategyFor(t, "services").SpecChanged(s2, svc) {
		t.Error("service: status change counted")
	}
	ns := &corev1.Namespace{Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"kubernetes"}}}
	if !strategyFor(t, "namespaces").SpecChanged(&corev1.Namespace{}, ns) {
		t.Error("namespace: finalizer change not a spec change")
	}
	ev := &corev1.Event{Message: "a"}
	if strategyFor(t, "events").SpecChanged(&corev1.Event{Message: "b"}, ev) {
		t.Error("events have no spec")
	}
}

func TestScale(t *testing.T) {
	rc := stored(t, "replicationcontrollers", validRC())
	rc.Status.Replicas = 1
	sc := ScaleFromRC(rc)
	if sc.Spec.Replicas != 2 || sc.Status.Replicas != 1 || sc.Status.Selector != "app=nginx" ||
		sc.Name != rc.Name || sc.Namespace != "default" || sc.UID != rc.UID || sc.ResourceVersion != "5" || sc.Kind != "Scale" || sc.APIVersion != "autoscaling/v1" {
		t.Fatalf("scale %+v", sc)
	}
	sc.Spec.Replicas = 10
	sc.ResourceVersion = "4"
	mustValid(t, ApplyScale(rc, sc))
	if *rc.Spec.Replicas != 10 || rc.ResourceVersion != "4" {
		t.Errorf("after ApplyScale: replicas %d rv %s", *rc.Spec.Replicas, rc.ResourceVersion)
	}
	sc.Spec.Replicas = -1
	sc.Name = "other"
	if got := errorSummary(ApplyScale(rc, sc)); got != "metadata.name: FieldValueInvalid\nspec.replicas: FieldValueInvalid" {
		t.Errorf("got %q", got)
	}
	if *rc.Spec.Replicas != 10 {
		t.Error("a failed ApplyScale changed the RC")
	}
}

func TestBindPod(t *testing.T) {
	pod := stored(t, "pods", validPod())
	b := &corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "web", Annotations: map[string]string{"scheduler": "tug"}},
		Target: corev1.ObjectReference{Kind: "Node", Name: "node-1"}}
	mustValid(t, ValidateBinding(b, "web"))
	if err := BindPod(pod, b, now); err != nil {
		t.Fatal(err)
	}
	c := podCondition(pod, corev1.PodScheduled)
	if pod.Spec.NodeName != "node-1" || pod.Annotations["scheduler"] != "tug" || c == nil || c.Status != corev1.ConditionTrue || !c.LastTransitionTime.Time.Equal(now) {
		t.Fatalf("bound pod: node %q annotations %v condition %+v", pod.Spec.NodeName, pod.Annotations, c)
	}
	err := BindPod(pod, b, now)
	if !errors.Is(err, ErrConflict) || !strings.Contains(err.Error(), `pod web is already assigned to node "node-1"`) {
		t.Errorf("second bind: %v", err)
	}
	fresh := stored(t, "pods", validPod())
	if err := BindPod(fresh, &corev1.Binding{ObjectMeta: metav1.ObjectMeta{UID: "other"}, Target: b.Target}, now); !errors.Is(err, ErrConflict) {
		t.Errorf("uid precondition: %v", err)
	}
	if got := errorSummary(ValidateBinding(&corev1.Binding{ObjectMeta: metav1.ObjectMeta{Name: "x"}, Target: corev1.ObjectReference{Kind: "Pod"}}, "web")); got !=
		"metadata.name: FieldValueInvalid\ntarget.kind: FieldValueNotSupported\ntarget.name: FieldValueRequired" {
		t.Errorf("got %q", got)
	}
}

func TestSetPodCondition(t *testing.T) {
	var st corev1.PodStatus
	SetPodCondition(&st, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse}, now)
	later := now.Add(time.Minute)
	SetPodCondition(&st, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionFalse, Reason: "x"}, later)
	if len(st.Conditions) != 1 || !st.Conditions[0].LastTransitionTime.Time.Equal(now) || st.Conditions[0].Reason != "x" {
		t.Fatalf("unchanged status moved the transition time: %+v", st.Conditions)
	}
	SetPodCondition(&st, corev1.PodCondition{Type: corev1.PodReady, Status: corev1.ConditionTrue}, later)
	if !st.Conditions[0].LastTransitionTime.Time.Equal(later) || !IsPodReady(&corev1.Pod{Status: st}) {
		t.Fatalf("transition: %+v", st.Conditions)
	}
}

func TestPodQOSClass(t *testing.T) {
	rl := func(kv ...string) corev1.ResourceList {
		out := corev1.ResourceList{}
		for i := 0; i < len(kv); i += 2 {
			out[corev1.ResourceName(kv[i])] = resource.MustParse(kv[i+1])
		}
		return out
	}
	tests := []struct {
		name       string
		containers []corev1.ResourceRequirements
		want       corev1.PodQOSClass
	}{
		{"none", []corev1.ResourceRequirements{{}}, corev1.PodQOSBestEffort},
		{"limits only", []corev1.ResourceRequirements{{Limits: rl("cpu", "100m", "memory", "50Mi")}}, corev1.PodQOSGuaranteed},
		{"equal", []corev1.ResourceRequirements{{Limits: rl("cpu", "1", "memory", "1Gi"), Requests: rl("cpu", "1", "memory", "1Gi")}}, corev1.PodQOSGuaranteed},
		{"lower request", []corev1.ResourceRequirements{{Limits: rl("cpu", "1", "memory", "1Gi"), Requests: rl("cpu", "500m")}}, corev1.PodQOSBurstable},
		{"cpu limit only", []corev1.ResourceRequirements{{Limits: rl("cpu", "1")}}, corev1.PodQOSBurstable},
		{"requests only", []corev1.ResourceRequirements{{Requests: rl("memory", "10Mi")}}, corev1.PodQOSBurstable},
		{"one of two containers", []corev1.ResourceRequirements{{Limits: rl("cpu", "1", "memory", "1Gi")}, {}}, corev1.PodQOSBurstable},
		{"other resources ignored", []corev1.ResourceRequirements{{Limits: rl("ephemeral-storage", "1Gi")}}, corev1.PodQOSBestEffort},
	}
	for _, tt := range tests {
		pod := &corev1.Pod{}
		for _, r := range tt.containers {
			pod.Spec.Containers = append(pod.Spec.Containers, corev1.Container{Resources: r})
		}
		if got := PodQOSClass(pod); got != tt.want {
			t.Errorf("%s: %s, want %s", tt.name, got, tt.want)
		}
	}
}

func TestImagePullPolicyDefault(t *testing.T) {
	for image, want := range map[string]corev1.PullPolicy{
		"nginx":                            corev1.PullAlways,
		"nginx:latest":                     corev1.PullAlways,
		"ruo91/nginx:latest":               corev1.PullAlways,
		"nginx:1.27":                       corev1.PullIfNotPresent,
		"127.0.0.1:5000/busybox":           corev1.PullAlways,
		"127.0.0.1:5000/busybox:v1":        corev1.PullIfNotPresent,
		"busybox@sha256:" + hex64():        corev1.PullIfNotPresent,
		"busybox:latest@sha256:" + hex64(): corev1.PullAlways,
	} {
		c := corev1.Container{Image: image}
		setContainerDefaults(&c)
		if c.ImagePullPolicy != want {
			t.Errorf("%s: %s, want %s", image, c.ImagePullPolicy, want)
		}
	}
}

func hex64() string { return strings.Repeat("ab", 32) }

func TestNodeHelpers(t *testing.T) {
	n := &corev1.Node{}
	if IsNodeReady(n) || NodeStatusString(n) != "Unknown" {
		t.Error("no conditions")
	}
	n.Status.Conditions = []corev1.NodeCondition{{Type: corev1.NodeMemoryPressure, Status: corev1.ConditionFalse}, {Type: corev1.NodeReady, Status: corev1.ConditionTrue}}
	if !IsNodeReady(n) || NodeStatusString(n) != "Ready" {
		t.Error("ready")
	}
	n.Labels = map[string]string{"node-role.kubernetes.io/": "", "kubernetes.io/role": ""}
	if roles := NodeRoles(n); len(roles) != 0 {
		t.Errorf("empty role labels give roles %v", roles)
	}
}

func TestEventAggregationKey(t *testing.T) {
	a := &corev1.Event{InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "p"}, Reason: "BackOff", Message: "m", Source: corev1.EventSource{Component: "kubelet"}}
	b := a.DeepCopy()
	b.Count, b.Name = 7, "other-name"
	if EventAggregationKey(a) != EventAggregationKey(b) {
		t.Error("repeats have different keys")
	}
	b.Message = "m2"
	if EventAggregationKey(a) == EventAggregationKey(b) {
		t.Error("different messages share a key")
	}
}
