package registry

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// stored runs the create path and returns the object as stored, with the
// metadata the server would have added.
func stored[T Object](t *testing.T, resource string, obj T) T {
	t.Helper()
	mustValid(t, create(t, resource, obj))
	obj.SetUID("uid-1")
	obj.SetResourceVersion("5")
	obj.SetCreationTimestamp(metav1.NewTime(now))
	return obj
}

func TestPodUpdate(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   string
		msg    string
	}{
		{name: "image", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "nginx:1.28" }},
		{name: "labels", mutate: func(p *corev1.Pod) { p.Labels = map[string]string{"tier": "web"} }},
		{name: "activeDeadlineSeconds set", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptrTo(int64(60)) }},
		{name: "toleration added", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = append(p.Spec.Tolerations, corev1.Toleration{Key: "b", Operator: corev1.TolerationOpExists})
		}},
		{name: "toleration removed", mutate: func(p *corev1.Pod) { p.Spec.Tolerations = nil },
			want: "spec.tolerations: FieldValueForbidden"},
		{name: "restartPolicy", mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = corev1.RestartPolicyNever },
			want: "spec: FieldValueForbidden", msg: "pod updates may not change fields other than `spec.containers[*].image`"},
		{name: "nodeName set by update", mutate: func(p *corev1.Pod) { p.Spec.NodeName = "node-1" },
			want: "spec: FieldValueForbidden", msg: "changed: spec.nodeName"},
		{name: "container added", mutate: func(p *corev1.Pod) {
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "b", Image: "b"})
		}, want: "spec.containers: FieldValueForbidden"},
		{name: "name", mutate: func(p *corev1.Pod) { p.Name = "other" }, want: "metadata.name: FieldValueInvalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			base := validPod()
			base.Spec.Tolerations = []corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpExists}}
			old := stored(t, "pods", base)
			pod := old.DeepCopy()
			tt.mutate(pod)
			errs := update(t, "pods", pod, old)
			if got := errorSummary(errs); got != tt.want {
				t.Fatalf("errors:\n%s\nwant:\n%s\n(%v)", got, tt.want, errs.ToAggregate())
			}
			if tt.msg != "" && !strings.Contains(errs.ToAggregate().Error(), tt.msg) {
				t.Errorf("message %q does not contain %q", errs.ToAggregate(), tt.msg)
			}
		})
	}

	t.Run("activeDeadlineSeconds may only decrease", func(t *testing.T) {
		base := validPod()
		base.Spec.ActiveDeadlineSeconds = ptrTo(int64(60))
		old := stored(t, "pods", base)
		for v, want := range map[int64]string{30: "", 90: "spec.activeDeadlineSeconds: FieldValueInvalid"} {
			pod := old.DeepCopy()
			pod.Spec.ActiveDeadlineSeconds = ptrTo(v)
			if got := errorSummary(update(t, "pods", pod, old)); got != want {
				t.Errorf("%d: %s, want %s", v, got, want)
			}
		}
	})
}

func TestPodStatusSeparation(t *testing.T) {
	old := stored(t, "pods", validPod())
	s := strategyFor(t, "pods")

	// The main resource may not change status.
	pod := old.DeepCopy()
	pod.Status.Phase = corev1.PodRunning
	s.PrepareForUpdate(pod, old)
	if pod.Status.Phase != corev1.PodPending {
		t.Errorf("update changed status.phase to %s", pod.Status.Phase)
	}

	// /status may not change spec, owners or deletion, and keeps the QoS.
	pod = old.DeepCopy()
	pod.Spec.NodeName = "node-9"
	pod.Status = corev1.PodStatus{Phase: corev1.PodRunning, PodIP: "10.244.1.5"}
	pod.OwnerReferences = []metav1.OwnerReference{{Name: "x"}}
	s.PrepareForStatusUpdate(pod, old)
	mustValid(t, s.ValidateStatusUpdate(pod, old))
	if pod.Spec.NodeName != "" || pod.OwnerReferences != nil || pod.Status.QOSClass != corev1.PodQOSBestEffort {
		t.Errorf("status update leaked: nodeName %q owners %v qos %q", pod.Spec.NodeName, pod.OwnerReferences, pod.Status.QOSClass)
	}
	if len(pod.Status.PodIPs) != 1 || pod.Status.PodIPs[0].IP != "10.244.1.5" {
		t.Errorf("podIPs not synced from podIP: %v", pod.Status.PodIPs)
	}

	// A container of a restartPolicy=Never pod cannot come back to life.
	never := validPod()
	never.Spec.RestartPolicy = corev1.RestartPolicyNever
	old = stored(t, "pods", never)
	old.Status.ContainerStatuses = []corev1.ContainerStatus{{Name: "web", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{ExitCode: 1}}}}
	pod = old.DeepCopy()
	pod.Status.ContainerStatuses[0].State = corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}
	s.PrepareForStatusUpdate(pod, old)
	if got := errorSummary(s.ValidateStatusUpdate(pod, old)); got != "status.containerStatuses[0].state: FieldValueForbidden" {
		t.Errorf("got %q", got)
	}
	pod.Status.ContainerStatuses[0].Name = "ghost"
	if got := errorSummary(s.ValidateStatusUpdate(pod, old)); got != "status.containerStatuses[0].name: FieldValueNotFound" {
		t.Errorf("got %q", got)
	}
}

func TestServiceUpdate(t *testing.T) {
	base := validService()
	base.Spec.ClusterIP = "10.96.0.10"
	old := stored(t, "services", base)
	if !equality.Semantic.DeepEqual(old.Spec.ClusterIPs, []string{"10.96.0.10"}) {
		t.Fatalf("clusterIPs not set from clusterIP on create: %v", old.Spec.ClusterIPs)
	}

	// A PUT of the original manifest (no clusterIP) keeps the address.
	svc := validService()
	svc.ObjectMeta = *old.ObjectMeta.DeepCopy()
	mustValid(t, update(t, "services", svc, old))
	if svc.Spec.ClusterIP != "10.96.0.10" || len(svc.Spec.ClusterIPs) != 1 {
		t.Errorf("clusterIP not kept: %q %v", svc.Spec.ClusterIP, svc.Spec.ClusterIPs)
	}

	// Changing it is refused.
	svc = old.DeepCopy()
	svc.Spec.ClusterIP = "10.96.0.11"
	errs := update(t, "services", svc, old)
	const want = `spec.clusterIPs[0]: Invalid value: ["10.96.0.11"]: may not change once set`
	if errs.ToAggregate() == nil || errs.ToAggregate().Error() != want {
		t.Errorf("got %v, want %s", errs.ToAggregate(), want)
	}

	// NodePort keeps its allocated node port when the client omits it, and
	// switching back to ClusterIP drops it.
	np := validService()
	np.Spec.Type = corev1.ServiceTypeNodePort
	np.Spec.ClusterIP = "10.96.0.12"
	np.Spec.Ports[0].NodePort = 30080
	oldNP := stored(t, "services", np)
	if oldNP.Spec.ExternalTrafficPolicy != corev1.ServiceExternalTrafficPolicyCluster {
		t.Errorf("externalTrafficPolicy = %q", oldNP.Spec.ExternalTrafficPolicy)
	}
	svc = oldNP.DeepCopy()
	svc.Spec.Ports[0].NodePort = 0
	mustValid(t, update(t, "services", svc, oldNP))
	if svc.Spec.Ports[0].NodePort != 30080 {
		t.Errorf("nodePort not kept: %d", svc.Spec.Ports[0].NodePort)
	}
	svc = oldNP.DeepCopy()
	svc.Spec.Type = corev1.ServiceTypeClusterIP
	mustValid(t, update(t, "services", svc, oldNP))
	if svc.Spec.Ports[0].NodePort != 0 || svc.Spec.ExternalTrafficPolicy != "" || svc.Spec.ClusterIP != "10.96.0.12" {
		t.Errorf("type change to ClusterIP: nodePort %d, externalTrafficPolicy %q, clusterIP %q",
			svc.Spec.Ports[0].NodePort, svc.Spec.ExternalTrafficPolicy, svc.Spec.ClusterIP)
	}

	// To ExternalName: the cluster IP and families go.
	svc = old.DeepCopy()
	svc.Spec.Type, svc.Spec.ExternalName = corev1.ServiceTypeExternalName, "db.example.com"
	mustValid(t, update(t, "services", svc, old))
	if svc.Spec.ClusterIP != "" || svc.Spec.ClusterIPs != nil || svc.Spec.IPFamilies != nil || svc.Spec.InternalTrafficPolicy != nil {
		t.Errorf("ExternalName kept cluster fields: %+v", svc.Spec)
	}

	// To ExternalName with the cluster IP cleared by the client (what
	// `kubectl edit` produces): the families go too, as in kube.
	svc = old.DeepCopy()
	svc.Spec.Type, svc.Spec.ExternalName = corev1.ServiceTypeExternalName, "db.example.com"
	svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "", nil
	mustValid(t, update(t, "services", svc, old))
	if svc.Spec.IPFamilies != nil || svc.Spec.IPFamilyPolicy != nil {
		t.Errorf("ExternalName kept families: %v %v", svc.Spec.IPFamilies, svc.Spec.IPFamilyPolicy)
	}

	// Status updates leave the spec alone.
	s := strategyFor(t, "services")
	svc = old.DeepCopy()
	svc.Spec.Ports[0].Port = 81
	svc.Status.LoadBalancer.Ingress = []corev1.LoadBalancerIngress{{IP: "192.0.2.1"}}
	s.PrepareForStatusUpdate(svc, old)
	mustValid(t, s.ValidateStatusUpdate(svc, old))
	if svc.Spec.Ports[0].Port != 80 || len(svc.Status.LoadBalancer.Ingress) != 1 {
		t.Error("status update did not separate spec and status")
	}
}

func TestNodeUpdate(t *testing.T) {
	old := stored(t, "nodes", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1"}})
	// The IPAM controller sets the pod CIDR once.
	node := old.DeepCopy()
	node.Spec.PodCIDR = "10.244.1.0/24"
	mustValid(t, update(t, "nodes", node, old))
	if len(node.Spec.PodCIDRs) != 1 || node.Spec.PodCIDRs[0] != "10.244.1.0/24" {
		t.Fatalf("podCIDRs = %v", node.Spec.PodCIDRs)
	}
	withCIDR := node.DeepCopy()
	node = withCIDR.DeepCopy()
	node.Spec.PodCIDR, node.Spec.PodCIDRs = "10.244.2.0/24", nil
	if got := errorSummary(update(t, "nodes", node, withCIDR)); got != "spec.podCIDRs: FieldValueForbidden" {
		t.Errorf("changing podCIDR: %q", got)
	}
	// Cordoning is a spec change; heartbeats are status updates.
	node = withCIDR.DeepCopy()
	node.Spec.Unschedulable = true
	mustValid(t, update(t, "nodes", node, withCIDR))
	s := strategyFor(t, "nodes")
	if !s.SpecChanged(node, withCIDR) {
		t.Error("cordon is not a spec change")
	}
	node = withCIDR.DeepCopy()
	node.Spec.Unschedulable = true
	node.Status.Capacity = corev1.ResourceList{corev1.ResourceCPU: *resourceQuantity("2")}
	s.PrepareForStatusUpdate(node, withCIDR)
	mustValid(t, s.ValidateStatusUpdate(node, withCIDR))
	if node.Spec.Unschedulable || node.Status.Allocatable.Cpu().String() != "2" {
		t.Errorf("status update: unschedulable %v, allocatable %v", node.Spec.Unschedulable, node.Status.Allocatable)
	}
}

func TestNamespaceLifecycle(t *testing.T) {
	old := stored(t, "namespaces", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a", Labels: map[string]string{LabelMetadataName: "spoofed"}}})
	if old.Labels[LabelMetadataName] != "team-a" {
		t.Errorf("name label = %q", old.Labels[LabelMetadataName])
	}
	// A plain update may not touch finalizers or status.
	ns := old.DeepCopy()
	ns.Spec.Finalizers = nil
	ns.Status.Phase = corev1.NamespaceTerminating
	mustValid(t, update(t, "namespaces", ns, old))
	if len(ns.Spec.Finalizers) != 1 || ns.Status.Phase != corev1.NamespaceActive {
		t.Errorf("update changed finalizers %v or phase %s", ns.Spec.Finalizers, ns.Status.Phase)
	}

	// DELETE marks it Terminating while the finalizer is there.
	ns = old.DeepCopy()
	if MarkNamespaceTerminating(ns, now) {
		t.Fatal("deleted at once despite the kubernetes finalizer")
	}
	if ns.DeletionTimestamp == nil || !ns.DeletionTimestamp.Time.Equal(now) || ns.Status.Phase != corev1.NamespaceTerminating {
		t.Fatalf("not marked: %v %s", ns.DeletionTimestamp, ns.Status.Phase)
	}
	terminating := ns.DeepCopy()

	// Status: Active is refused once deleting.
	s := strategyFor(t, "namespaces")
	ns = terminating.DeepCopy()
	ns.Status.Phase = corev1.NamespaceActive
	s.PrepareForStatusUpdate(ns, terminating)
	if got := errorSummary(s.ValidateStatusUpdate(ns, terminating)); got != "status.Phase: FieldValueInvalid" {
		t.Errorf("got %q", got)
	}

	// The namespace controller finalizes through /finalize.
	ns = terminating.DeepCopy()
	ns.Spec.Finalizers = nil
	ns.Status.Phase = corev1.NamespaceActive // ignored by /finalize
	PrepareForFinalize(ns, terminating)
	mustValid(t, ValidateFinalize(ns, terminating))
	if len(ns.Spec.Finalizers) != 0 || ns.Status.Phase != corev1.NamespaceTerminating {
		t.Errorf("finalize: finalizers %v, phase %s", ns.Spec.Finalizers, ns.Status.Phase)
	}
	if !MarkNamespaceTerminating(ns, now) {
		t.Error("a namespace without finalizers is not deleted at once")
	}
	bad := terminating.DeepCopy()
	bad.Spec.Finalizers = []corev1.FinalizerName{"not qualified"}
	if got := errorSummary(ValidateFinalize(bad, terminating)); !strings.Contains(got, "spec.finalizers: FieldValueInvalid") {
		t.Errorf("bad finalizer: %q", got)
	}
}

func TestRCUpdateAndStatus(t *testing.T) {
	old := stored(t, "replicationcontrollers", validRC())
	s := strategyFor(t, "replicationcontrollers")
	rc := old.DeepCopy()
	rc.Spec.Replicas = ptrTo(int32(5))
	rc.Status.Replicas = 3
	mustValid(t, update(t, "replicationcontrollers", rc, old))
	if rc.Status.Replicas != 0 || !s.SpecChanged(rc, old) {
		t.Errorf("update: status %d, specChanged %v", rc.Status.Replicas, s.SpecChanged(rc, old))
	}
	rc = old.DeepCopy()
	rc.Labels = map[string]string{"new": "label"}
	mustValid(t, update(t, "replicationcontrollers", rc, old))
	if s.SpecChanged(rc, old) {
		t.Error("a label change is not a spec change")
	}

	rc = old.DeepCopy()
	rc.Spec.Replicas = ptrTo(int32(7))
	rc.Status = corev1.ReplicationControllerStatus{Replicas: 2, ReadyReplicas: 3, AvailableReplicas: 1}
	s.PrepareForStatusUpdate(rc, old)
	if *rc.Spec.Replicas != 2 {
		t.Errorf("status update changed spec.replicas to %d", *rc.Spec.Replicas)
	}
	if got := errorSummary(s.ValidateStatusUpdate(rc, old)); got != "status.readyReplicas: FieldValueInvalid" {
		t.Errorf("got %q", got)
	}
}
