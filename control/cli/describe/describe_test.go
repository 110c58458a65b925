package describe

import (
	"flag"
	"os"
	"path/filepath"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/util/intstr"
)

var update = flag.Bool("update", false, "rewrite the golden files in testdata/")

// now is the fixed clock of every test: ages are computed from it.
var now = time.Date(2015, 7, 8, 12, 0, 0, 0, time.UTC)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func golden(t *testing.T, name, got string) {
	t.Helper()
	path := filepath.Join("testdata", name+".golden")
	if *update {
		if err := os.WriteFile(path, []byte(got), 0o644); err != nil {
			t.Fatal(err)
		}
		return
	}
	want, err := os.ReadFile(path)
	if err != nil {
		t.Fatalf("%v (run go test -update to create it)", err)
	}
	if got != string(want) {
		t.Fatalf("%s differs from %s:\n--- got ---\n%s\n--- want ---\n%s", name, path, got, want)
	}
}

func ptr[T any](v T) *T { return &v }

func rcEvents() *corev1.EventList {
	return &corev1.EventList{Items: []corev1.Event{
		{
			Type: "Normal", Reason: "SuccessfulCreate", Message: "Created pod: nginxs-x2v9q",
			Source: corev1.EventSource{Component: "replication-controller"}, Count: 1,
			FirstTimestamp: ago(3 * time.Minute), LastTimestamp: ago(3 * time.Minute),
		},
		{
			Type: "Normal", Reason: "SuccessfulCreate", Message: "Created pod: nginxs-n5gks\n",
			Source: corev1.EventSource{Component: "replication-controller"}, Count: 1,
			FirstTimestamp: ago(5 * time.Minute), LastTimestamp: ago(5 * time.Minute),
		},
		{
			Type: "Warning", Reason: "FailedCreate", Message: "Error creating: quota exceeded",
			ReportingController: "tug-controller", Count: 4,
			FirstTimestamp: ago(10 * time.Minute), LastTimestamp: ago(2 * time.Minute),
		},
	}}
}

func nginxRC() *corev1.ReplicationController {
	return &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "nginxs", Namespace: "default", UID: "rc-uid", Labels: map[string]string{"app": "nginx"}},
		Spec: corev1.ReplicationControllerSpec{
			Replicas: ptr(int32(10)),
			Selector: map[string]string{"app": "nginx"},
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nginx"}},
				Spec: corev1.PodSpec{Containers: []corev1.Container{{
					Name: "nginx", Image: "ruo91/nginx:latest",
					Ports: []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}},
				}}},
			},
		},
		Status: corev1.ReplicationControllerStatus{Replicas: 10},
	}
}

func TestReplicationController(t *testing.T) {
	golden(t, "rc", ReplicationController(nginxRC(), PodCounts{Running: 8, Waiting: 2}, rcEvents(), now))
	golden(t, "rc-no-events", ReplicationController(nginxRC(), PodCounts{}, &corev1.EventList{}, now))
}

func TestCountPods(t *testing.T) {
	owned := func(name string, uid string, phase corev1.PodPhase) corev1.Pod {
		p := corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: name}, Status: corev1.PodStatus{Phase: phase}}
		if uid != "" {
			p.OwnerReferences = []metav1.OwnerReference{{Kind: "ReplicationController", Name: "nginxs", UID: "rc-uid", Controller: ptr(uid == "rc-uid")}}
			if uid != "rc-uid" {
				p.OwnerReferences[0].UID = "other"
				p.OwnerReferences[0].Controller = ptr(true)
			}
		}
		return p
	}
	pods := []corev1.Pod{
		owned("a", "rc-uid", corev1.PodRunning),
		owned("b", "rc-uid", corev1.PodRunning),
		owned("c", "rc-uid", corev1.PodPending),
		owned("d", "rc-uid", corev1.PodSucceeded),
		owned("e", "rc-uid", corev1.PodFailed),
		owned("f", "", corev1.PodRunning),      // matches the selector, no owner
		owned("g", "other", corev1.PodRunning), // another controller's
	}
	got := CountPods(pods, "rc-uid")
	if want := (PodCounts{Running: 2, Waiting: 1, Succeeded: 1, Failed: 1}); got != want {
		t.Fatalf("CountPods = %+v, want %+v", got, want)
	}
}

func richPod() *corev1.Pod {
	grace := int64(30)
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{
			Name: "nginxs-n5gks", Namespace: "default", UID: "pod-uid",
			Labels:      map[string]string{"app": "nginx", "tier": "web"},
			Annotations: map[string]string{"note": "hello", lastApplied: "{}"},
			OwnerReferences: []metav1.OwnerReference{{
				APIVersion: "v1", Kind: "ReplicationController", Name: "nginxs", UID: "rc-uid", Controller: ptr(true),
			}},
		},
		Spec: corev1.PodSpec{
			NodeName:           "node-1",
			Priority:           ptr(int32(0)),
			ServiceAccountName: "default",
			Containers: []corev1.Container{
				{
					Name: "nginx", Image: "ruo91/nginx:latest",
					Ports:   []corev1.ContainerPort{{ContainerPort: 80, Protocol: corev1.ProtocolTCP}, {ContainerPort: 443, Protocol: corev1.ProtocolTCP}},
					Command: []string{"nginx", "-g", "daemon off;"},
					Resources: corev1.ResourceRequirements{
						Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("50Mi")},
						Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m"), corev1.ResourceMemory: resource.MustParse("50Mi")},
					},
					LivenessProbe: &corev1.Probe{
						ProbeHandler:        corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Path: "/", Port: intstr.FromInt32(8080), Scheme: corev1.URISchemeHTTP}},
						InitialDelaySeconds: 30, TimeoutSeconds: 5, PeriodSeconds: 10, SuccessThreshold: 1, FailureThreshold: 3,
					},
					Env: []corev1.EnvVar{
						{Name: "MODE", Value: "production"},
						{Name: "PASSWORD", ValueFrom: &corev1.EnvVarSource{SecretKeyRef: &corev1.SecretKeySelector{
							LocalObjectReference: corev1.LocalObjectReference{Name: "db"}, Key: "password"}}},
					},
					VolumeMounts: []corev1.VolumeMount{{Name: "html", MountPath: "/usr/share/nginx/html", ReadOnly: true}},
				},
			},
			Volumes: []corev1.Volume{
				{Name: "html", VolumeSource: corev1.VolumeSource{EmptyDir: &corev1.EmptyDirVolumeSource{}}},
			},
			Tolerations: []corev1.Toleration{
				{Key: "node.kubernetes.io/not-ready", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoExecute, TolerationSeconds: ptr(int64(300))},
			},
			TerminationGracePeriodSeconds: &grace,
		},
		Status: corev1.PodStatus{
			Phase:     corev1.PodRunning,
			HostIP:    "10.0.0.5",
			PodIP:     "10.244.1.7",
			PodIPs:    []corev1.PodIP{{IP: "10.244.1.7"}},
			StartTime: ptr(ago(5 * time.Minute)),
			Conditions: []corev1.PodCondition{
				{Type: corev1.PodScheduled, Status: corev1.ConditionTrue},
				{Type: corev1.PodReady, Status: corev1.ConditionTrue},
			},
			ContainerStatuses: []corev1.ContainerStatus{{
				Name: "nginx", Ready: true, RestartCount: 1, ContainerID: "tug://0123abcd", ImageID: "sha256:feed",
				State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{StartedAt: ago(4 * time.Minute)}},
				LastTerminationState: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{
					ExitCode: 137, Reason: "OOMKilled", StartedAt: ago(5 * time.Minute), FinishedAt: ago(4*time.Minute + 5*time.Second),
				}},
			}},
		},
	}
}

func TestPod(t *testing.T) {
	pending := &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web-0", Namespace: "default", Labels: map[string]string{"app": "web"}},
		Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "web", Image: "busybox"}}},
		Status:     corev1.PodStatus{Phase: corev1.PodPending},
	}
	golden(t, "pod-pending", Pod(pending, &corev1.EventList{}, now))
	golden(t, "pod-running", Pod(richPod(), &corev1.EventList{Items: []corev1.Event{{
		Type: "Normal", Reason: "Scheduled", Message: "Successfully assigned default/nginxs-n5gks to node-1",
		Source: corev1.EventSource{Component: "default-scheduler"}, FirstTimestamp: ago(5 * time.Minute), LastTimestamp: ago(5 * time.Minute), Count: 1,
	}}}, now))
	golden(t, "pod-no-events-fetched", Pod(pending, nil, now))
}

func TestQOSClass(t *testing.T) {
	if got := qosClass(richPod()); got != corev1.PodQOSGuaranteed {
		t.Errorf("rich pod QoS = %s", got)
	}
	burstable := richPod()
	burstable.Spec.Containers[0].Resources.Requests = corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("50m")}
	if got := qosClass(burstable); got != corev1.PodQOSBurstable {
		t.Errorf("burstable pod QoS = %s", got)
	}
	best := &corev1.Pod{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "c"}}}}
	if got := qosClass(best); got != corev1.PodQOSBestEffort {
		t.Errorf("best-effort pod QoS = %s", got)
	}
	best.Status.QOSClass = corev1.PodQOSBurstable
	if got := qosClass(best); got != corev1.PodQOSBurstable {
		t.Errorf("recorded QoS ignored: %s", got)
	}
}

func kubeUIService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "kube-ui", Namespace: "kube-system", Labels: map[string]string{
			"k8s-app": "kube-ui", "kubernetes.io/cluster-service": "true", "kubernetes.io/name": "KubeUI"}},
		Spec: corev1.ServiceSpec{
			Selector:        map[string]string{"k8s-app": "kube-ui"},
			Type:            corev1.ServiceTypeClusterIP,
			ClusterIP:       "10.0.0.20",
			ClusterIPs:      []string{"10.0.0.20"},
			IPFamilies:      []corev1.IPFamily{corev1.IPv4Protocol},
			IPFamilyPolicy:  ptr(corev1.IPFamilyPolicySingleStack),
			SessionAffinity: corev1.ServiceAffinityNone,
			Ports:           []corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}},
		},
	}
}

func kubeUIEndpoints(n int) *corev1.Endpoints {
	ep := &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "kube-ui", Namespace: "kube-system"}}
	ss := corev1.EndpointSubset{Ports: []corev1.EndpointPort{{Port: 8080, Protocol: corev1.ProtocolTCP}}}
	for i := 0; i < n; i++ {
		ss.Addresses = append(ss.Addresses, corev1.EndpointAddress{IP: "10.244.1." + string(rune('1'+i))})
	}
	ss.NotReadyAddresses = []corev1.EndpointAddress{{IP: "10.244.2.9"}}
	ep.Subsets = []corev1.EndpointSubset{ss}
	return ep
}

func TestService(t *testing.T) {
	golden(t, "svc-no-endpoints", Service(kubeUIService(), nil, &corev1.EventList{}, now))
	golden(t, "svc-endpoints", Service(kubeUIService(), kubeUIEndpoints(5), &corev1.EventList{}, now))
	golden(t, "endpoints", Endpoints(kubeUIEndpoints(2), &corev1.EventList{}, now))
}

func TestFormatEndpoints(t *testing.T) {
	if got := formatEndpoints(kubeUIEndpoints(2), ""); got != "10.244.1.1:8080,10.244.1.2:8080" {
		t.Errorf("two = %q", got)
	}
	if got := formatEndpoints(kubeUIEndpoints(5), ""); got != "10.244.1.1:8080,10.244.1.2:8080,10.244.1.3:8080 + 2 more..." {
		t.Errorf("five = %q", got)
	}
	if got := formatEndpoints(kubeUIEndpoints(2), "http"); got != "<none>" {
		t.Errorf("other port name = %q", got)
	}
	if got := formatEndpoints(nil, ""); got != "<none>" {
		t.Errorf("nil = %q", got)
	}
}

func TestNode(t *testing.T) {
	node := &corev1.Node{
		ObjectMeta: metav1.ObjectMeta{
			Name: "node-1", CreationTimestamp: ago(time.Hour),
			Labels: map[string]string{"kubernetes.io/hostname": "node-1", "node-role.kubernetes.io/control-plane": ""},
		},
		Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24", PodCIDRs: []string{"10.244.1.0/24"},
			Taints: []corev1.Taint{{Key: "node.kubernetes.io/not-ready", Effect: corev1.TaintEffectNoSchedule}}},
		Status: corev1.NodeStatus{
			Capacity:    corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Allocatable: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("2"), corev1.ResourceMemory: resource.MustParse("4Gi"), corev1.ResourcePods: resource.MustParse("110")},
			Conditions: []corev1.NodeCondition{{
				Type: corev1.NodeReady, Status: corev1.ConditionTrue, Reason: "AgentReady", Message: "tug agent is posting ready status",
				LastHeartbeatTime: ago(10 * time.Second), LastTransitionTime: ago(time.Hour),
			}},
			Addresses: []corev1.NodeAddress{{Type: corev1.NodeInternalIP, Address: "10.0.0.5"}, {Type: corev1.NodeHostName, Address: "node-1"}},
			NodeInfo:  corev1.NodeSystemInfo{KernelVersion: "6.18.0", OSImage: "Debian GNU/Linux 13", OperatingSystem: "linux", Architecture: "amd64", ContainerRuntimeVersion: "tug://v0.1.0", KubeletVersion: "v1.32.0-tug"},
		},
	}
	pod := richPod()
	pod.CreationTimestamp = ago(5 * time.Minute)
	golden(t, "node", Node(node, []corev1.Pod{*pod}, &corev1.EventList{}, now))
	golden(t, "node-pods-not-listed", Node(node, nil, nil, now))
}

func TestNamespace(t *testing.T) {
	ns := &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", Labels: map[string]string{"kubernetes.io/metadata.name": "kube-system"}},
		Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}}
	golden(t, "namespace", Namespace(ns))
}

func TestGenericEvent(t *testing.T) {
	ev := &unstructured.Unstructured{Object: map[string]any{
		"apiVersion": "v1", "kind": "Event",
		"metadata": map[string]any{"name": "nginxs.17a1", "namespace": "default", "uid": "ev-uid", "resourceVersion": "42",
			"creationTimestamp": "2015-07-08T11:55:00Z", "managedFields": []any{map[string]any{"manager": "x"}}},
		"involvedObject": map[string]any{"apiVersion": "v1", "kind": "ReplicationController", "name": "nginxs", "namespace": "default", "uid": "rc-uid"},
		"reason":         "SuccessfulCreate", "message": "Created pod: nginxs-n5gks", "type": "Normal",
		"source": map[string]any{"component": "replication-controller"},
		"count":  int64(1), "firstTimestamp": "2015-07-08T11:55:00Z", "lastTimestamp": "2015-07-08T11:55:00Z",
		"eventTime": nil, "reportingComponent": "", "reportingInstance": "",
	}}
	golden(t, "event", Generic(ev, &corev1.EventList{}, now))
}

func TestSmartLabel(t *testing.T) {
	for in, want := range map[string]string{
		"apiVersion":         "API Version",
		"involvedObject":     "Involved Object",
		"firstTimestamp":     "First Timestamp",
		"uid":                "UID",
		"reportingComponent": "Reporting Component",
		"HTTPServer":         "HTTP Server",
		"hostIP":             "Host IP",
		"k8s-app":            "k8s-app",
		"kubernetes.io/name": "kubernetes.io/name",
	} {
		if got := smartLabel(in); got != want {
			t.Errorf("smartLabel(%q) = %q, want %q", in, got, want)
		}
	}
}

func TestEventSelector(t *testing.T) {
	got := EventSelector("nginxs", "default", "ReplicationController", "rc-uid")
	want := "involvedObject.name=nginxs,involvedObject.namespace=default,involvedObject.kind=ReplicationController,involvedObject.uid=rc-uid"
	if got != want {
		t.Fatalf("EventSelector = %q, want %q", got, want)
	}
	if got := EventSelector("a,b", "", "", ""); got != `involvedObject.name=a\,b,involvedObject.namespace=` {
		t.Fatalf("escaped = %q", got)
	}
}
