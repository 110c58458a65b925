package registry

import (
	"reflect"
	"testing"
	"time"

	corev1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func ago(d time.Duration) metav1.Time { return metav1.NewTime(now.Add(-d)) }

func running(ready bool, restarts int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: "c", Ready: ready, RestartCount: restarts, State: corev1.ContainerState{Running: &corev1.ContainerStateRunning{}}}
}

func waiting(reason string) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: "c", State: corev1.ContainerState{Waiting: &corev1.ContainerStateWaiting{Reason: reason}}}
}

func terminated(reason string, code, signal int32) corev1.ContainerStatus {
	return corev1.ContainerStatus{Name: "c", State: corev1.ContainerState{Terminated: &corev1.ContainerStateTerminated{Reason: reason, ExitCode: code, Signal: signal}}}
}

func podWith(containers, inits int, mutate func(*corev1.Pod)) *corev1.Pod {
	p := &corev1.Pod{ObjectMeta: metav1.ObjectMeta{Name: "p", CreationTimestamp: ago(10 * time.Minute)}}
	for i := 0; i < containers; i++ {
		p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "c"})
	}
	for i := 0; i < inits; i++ {
		p.Spec.InitContainers = append(p.Spec.InitContainers, corev1.Container{Name: "i"})
	}
	p.Status.Phase = corev1.PodRunning
	mutate(p)
	return p
}

// TestPodRow checks the READY, STATUS and RESTARTS cells against what
// kubectl prints for the same pods.
func TestPodRow(t *testing.T) {
	readyCond := []corev1.PodCondition{{Type: corev1.PodReady, Status: corev1.ConditionTrue}}
	deleted := ago(time.Minute)
	sidecar := corev1.ContainerRestartPolicyAlways
	tests := []struct {
		name                    string
		pod                     *corev1.Pod
		ready, status, restarts string
	}{
		{"pending, no statuses", podWith(1, 0, func(p *corev1.Pod) { p.Status.Phase = corev1.PodPending }), "0/1", "Pending", "0"},
		{"running", podWith(1, 0, func(p *corev1.Pod) { p.Status.ContainerStatuses = []corev1.ContainerStatus{running(true, 0)} }), "1/1", "Running", "0"},
		{"creating", podWith(2, 0, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Status.ContainerStatuses = []corev1.ContainerStatus{waiting("ContainerCreating"), waiting("ContainerCreating")}
		}), "0/2", "ContainerCreating", "0"},
		{"crash loop with last restart", podWith(1, 0, func(p *corev1.Pod) {
			s := waiting("CrashLoopBackOff")
			s.RestartCount = 5
			s.LastTerminationState.Terminated = &corev1.ContainerStateTerminated{ExitCode: 1, FinishedAt: ago(2 * time.Minute)}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{s}
		}), "0/1", "CrashLoopBackOff", "5 (2m ago)"},
		{"restarts without termination time", podWith(1, 0, func(p *corev1.Pod) { p.Status.ContainerStatuses = []corev1.ContainerStatus{running(true, 3)} }), "1/1", "Running", "3"},
		{"completed", podWith(1, 0, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodSucceeded
			p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("Completed", 0, 0)}
		}), "0/1", "Completed", "0"},
		{"exit code", podWith(1, 0, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodFailed
			p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("", 2, 0)}
		}), "0/1", "ExitCode:2", "0"},
		{"signal", podWith(1, 0, func(p *corev1.Pod) { p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("", 137, 9)} }), "0/1", "Signal:9", "0"},
		{"completed but one still running and ready", podWith(2, 0, func(p *corev1.Pod) {
			p.Status.Conditions = readyCond
			p.Status.ContainerStatuses = []corev1.ContainerStatus{running(true, 0), terminated("Completed", 0, 0)}
		}), "1/2", "Running", "0"},
		{"completed but one still running, pod not ready", podWith(2, 0, func(p *corev1.Pod) {
			p.Status.ContainerStatuses = []corev1.ContainerStatus{running(true, 0), terminated("Completed", 0, 0)}
		}), "1/2", "NotReady", "0"},
		{"evicted", podWith(1, 0, func(p *corev1.Pod) { p.Status.Phase, p.Status.Reason = corev1.PodFailed, "Evicted" }), "0/1", "Evicted", "0"},
		{"init waiting", podWith(1, 2, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminated("Completed", 0, 0), waiting("PodInitializing")}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{waiting("PodInitializing")}
		}), "0/1", "Init:1/2", "0"},
		{"init crash loop", podWith(1, 1, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			s := waiting("CrashLoopBackOff")
			s.RestartCount = 4
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{s}
		}), "0/1", "Init:CrashLoopBackOff", "4"},
		{"init error", podWith(1, 1, func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminated("Error", 1, 0)}
		}), "0/1", "Init:Error", "0"},
		{"init exit code", podWith(1, 1, func(p *corev1.Pod) {
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{terminated("", 3, 0)}
		}), "0/1", "Init:ExitCode:3", "0"},
		{"sidecar started", podWith(1, 1, func(p *corev1.Pod) {
			p.Spec.InitContainers[0].RestartPolicy = &sidecar
			started := true
			s := running(true, 1)
			s.Name, s.Started = "i", &started
			p.Status.InitContainerStatuses = []corev1.ContainerStatus{s}
			p.Status.ContainerStatuses = []corev1.ContainerStatus{running(true, 0)}
			p.Status.Conditions = append(readyCond, corev1.PodCondition{Type: corev1.PodInitialized, Status: corev1.ConditionTrue})
		}), "2/2", "Running", "1"},
		{"terminating", podWith(1, 0, func(p *corev1.Pod) {
			p.DeletionTimestamp = &deleted
			p.Status.ContainerStatuses = []corev1.ContainerStatus{running(true, 0)}
		}), "1/1", "Terminating", "0"},
		{"deleted on a lost node", podWith(1, 0, func(p *corev1.Pod) {
			p.DeletionTimestamp = &deleted
			p.Status.Reason = NodeUnreachablePodReason
		}), "0/1", "Unknown", "0"},
		{"deleted after success", podWith(1, 0, func(p *corev1.Pod) {
			p.DeletionTimestamp = &deleted
			p.Status.Phase = corev1.PodSucceeded
			p.Status.ContainerStatuses = []corev1.ContainerStatus{terminated("Completed", 0, 0)}
		}), "0/1", "Completed", "0"},
		{"scheduling gated", podWith(1, 0, func(p *corev1.Pod) {
			p.Status.Phase = corev1.PodPending
			p.Status.Conditions = []corev1.PodCondition{{Type: corev1.PodScheduled, Status: corev1.ConditionFalse, Reason: corev1.PodReasonSchedulingGated}}
		}), "0/1", "SchedulingGated", "0"},
	}
	s := strategyFor(t, "pods")
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			row := s.Row(tt.pod, now)
			if row[1] != tt.ready || row[2] != tt.status || row[3] != tt.restarts || row[4] != "10m" {
				t.Errorf("READY STATUS RESTARTS AGE = %q %q %q %q, want %q %q %q \"10m\"", row[1], row[2], row[3], row[4], tt.ready, tt.status, tt.restarts)
			}
			if PodPhaseReason(tt.pod) != tt.status {
				t.Errorf("PodPhaseReason = %q", PodPhaseReason(tt.pod))
			}
		})
	}
}

func TestPodRowWide(t *testing.T) {
	p := podWith(1, 0, func(p *corev1.Pod) {
		p.Spec.NodeName = "node-1"
		p.Status.PodIPs = []corev1.PodIP{{IP: "10.244.1.7"}}
		p.Spec.ReadinessGates = []corev1.PodReadinessGate{{ConditionType: "a"}, {ConditionType: "b"}}
		p.Status.Conditions = []corev1.PodCondition{{Type: "a", Status: corev1.ConditionTrue}, {Type: "b", Status: corev1.ConditionFalse}}
	})
	row := strategyFor(t, "pods").Row(p, now)
	if want := []interface{}{"10.244.1.7", "node-1", "<none>", "1/2"}; !reflect.DeepEqual(row[5:], want) {
		t.Errorf("wide cells %v, want %v", row[5:], want)
	}
	row = strategyFor(t, "pods").Row(podWith(1, 0, func(*corev1.Pod) {}), now)
	if want := []interface{}{"<none>", "<none>", "<none>", "<none>"}; !reflect.DeepEqual(row[5:], want) {
		t.Errorf("wide cells %v, want %v", row[5:], want)
	}
}

func TestRows(t *testing.T) {
	created := ago(3*time.Hour + 20*time.Minute)
	meta := metav1.ObjectMeta{Name: "x", Namespace: "default", CreationTimestamp: created}
	tests := []struct {
		resource string
		obj      Object
		want     []interface{}
	}{
		{"replicationcontrollers", &corev1.ReplicationController{ObjectMeta: meta,
			Spec: corev1.ReplicationControllerSpec{Replicas: ptrTo(int32(10)), Selector: map[string]string{"app": "nginx"},
				Template: &corev1.PodTemplateSpec{Spec: corev1.PodSpec{Containers: []corev1.Container{{Name: "a", Image: "nginx"}, {Name: "b", Image: "busybox"}}}}},
			Status: corev1.ReplicationControllerStatus{Replicas: 7, ReadyReplicas: 5}},
			[]interface{}{"x", int64(10), int64(7), int64(5), "3h20m", "a,b", "nginx,busybox", "app=nginx"}},
		{"services", &corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIP: "10.96.0.1", ClusterIPs: []string{"10.96.0.1"},
			Ports: []corev1.ServicePort{{Port: 443, Protocol: corev1.ProtocolTCP}}}},
			[]interface{}{"x", "ClusterIP", "10.96.0.1", "<none>", "443/TCP", "3h20m", "<none>"}},
		{"services", &corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeNodePort, ClusterIPs: []string{"10.96.0.2"},
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP}, {Port: 53, NodePort: 30053, Protocol: corev1.ProtocolUDP}}}},
			[]interface{}{"x", "NodePort", "10.96.0.2", "<none>", "80:30080/TCP,53:30053/UDP", "3h20m", "app=web"}},
		{"services", &corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeLoadBalancer, ClusterIPs: []string{"10.96.0.3"},
			Ports: []corev1.ServicePort{{Port: 80, NodePort: 30081, Protocol: corev1.ProtocolTCP}}}},
			[]interface{}{"x", "LoadBalancer", "10.96.0.3", "<pending>", "80:30081/TCP", "3h20m", "<none>"}},
		{"services", &corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeExternalName, ExternalName: "db.example.com"}},
			[]interface{}{"x", "ExternalName", "<none>", "db.example.com", "<none>", "3h20m", "<none>"}},
		{"services", &corev1.Service{ObjectMeta: meta, Spec: corev1.ServiceSpec{Type: corev1.ServiceTypeClusterIP, ClusterIPs: []string{"None"}}},
			[]interface{}{"x", "ClusterIP", "None", "<none>", "<none>", "3h20m", "<none>"}},
		{"endpoints", &corev1.Endpoints{ObjectMeta: meta}, []interface{}{"x", "<none>", "3h20m"}},
		{"endpoints", &corev1.Endpoints{ObjectMeta: meta, Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.0.0.2"}, {IP: "10.0.0.3"}},
			Ports:     []corev1.EndpointPort{{Name: "http", Port: 80}, {Name: "https", Port: 443}},
		}}}, []interface{}{"x", "10.0.0.2:80,10.0.0.3:80,10.0.0.2:443 + 1 more...", "3h20m"}},
		{"endpoints", &corev1.Endpoints{ObjectMeta: meta, Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.0.0.2"}, {IP: "fd00::3"}}, Ports: []corev1.EndpointPort{{Port: 80}},
		}}}, []interface{}{"x", "10.0.0.2:80,[fd00::3]:80", "3h20m"}},
		{"endpoints", &corev1.Endpoints{ObjectMeta: meta, Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.0.0.2"}},
		}}}, []interface{}{"x", "10.0.0.2", "3h20m"}},
		{"nodes", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n1", CreationTimestamp: created, Labels: map[string]string{
			"node-role.kubernetes.io/control-plane": "", "node-role.kubernetes.io/worker": "", "kubernetes.io/role": "edge"}},
			Spec: corev1.NodeSpec{Unschedulable: true},
			Status: corev1.NodeStatus{
				Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionTrue}},
				Addresses:  []corev1.NodeAddress{{Type: corev1.NodeHostName, Address: "n1"}, {Type: corev1.NodeInternalIP, Address: "192.168.1.10"}},
				NodeInfo:   corev1.NodeSystemInfo{KubeletVersion: "v1.32.0-tug", OSImage: "Debian GNU/Linux 12", KernelVersion: "6.18.0", ContainerRuntimeVersion: "tug://0.1"},
			}},
			[]interface{}{"n1", "Ready,SchedulingDisabled", "control-plane,edge,worker", "3h20m", "v1.32.0-tug", "192.168.1.10", "<none>", "Debian GNU/Linux 12", "6.18.0", "tug://0.1"}},
		{"nodes", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n2", CreationTimestamp: created},
			Status: corev1.NodeStatus{Conditions: []corev1.NodeCondition{{Type: corev1.NodeReady, Status: corev1.ConditionUnknown}}}},
			[]interface{}{"n2", "NotReady", "<none>", "3h20m", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"}},
		{"nodes", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n3"}},
			[]interface{}{"n3", "Unknown", "<none>", "<unknown>", "", "<none>", "<none>", "<unknown>", "<unknown>", "<unknown>"}},
		{"namespaces", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "kube-system", CreationTimestamp: ago(49 * time.Hour)},
			Status: corev1.NamespaceStatus{Phase: corev1.NamespaceActive}},
			[]interface{}{"kube-system", "Active", "2d1h"}},
		{"events", &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "nginxs-abcde.17f", Namespace: "default"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "nginxs-abcde", FieldPath: "spec.containers{nginx}"},
			Reason:         "Pulled", Message: "Successfully pulled image\n", Type: corev1.EventTypeNormal, Count: 3,
			Source:         corev1.EventSource{Component: "kubelet", Host: "node-1"},
			FirstTimestamp: ago(5 * time.Minute), LastTimestamp: ago(90 * time.Second)},
			[]interface{}{"90s", "Normal", "Pulled", "pod/nginxs-abcde", "spec.containers{nginx}", "kubelet, node-1", "Successfully pulled image", "5m", int64(3), "nginxs-abcde.17f"}},
		{"events", &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e"}, InvolvedObject: corev1.ObjectReference{Kind: "Node"},
			ReportingController: "tug-scheduler", ReportingInstance: "s-1", EventTime: metav1.NewMicroTime(now.Add(-30 * time.Second)),
			Type: corev1.EventTypeWarning, Reason: "FailedScheduling", Message: "0/1 nodes are available"},
			[]interface{}{"30s", "Warning", "FailedScheduling", "node", "", "tug-scheduler, s-1", "0/1 nodes are available", "30s", int64(1), "e"}},
	}
	for _, tt := range tests {
		t.Run(tt.resource, func(t *testing.T) {
			if got := strategyFor(t, tt.resource).Row(tt.obj, now); !reflect.DeepEqual(got, tt.want) {
				t.Errorf("row\n got %#v\nwant %#v", got, tt.want)
			}
		})
	}
}

// TestColumns pins the column names kubectl shows (upper-cased) and checks
// every row's cells against the column types.
func TestColumns(t *testing.T) {
	want := map[string][]string{
		"pods":                   {"Name", "Ready", "Status", "Restarts", "Age", "IP*", "Node*", "Nominated Node*", "Readiness Gates*"},
		"replicationcontrollers": {"Name", "Desired", "Current", "Ready", "Age", "Containers*", "Images*", "Selector*"},
		"services":               {"Name", "Type", "Cluster-IP", "External-IP", "Port(s)", "Age", "Selector*"},
		"endpoints":              {"Name", "Endpoints", "Age"},
		"nodes":                  {"Name", "Status", "Roles", "Age", "Version", "Internal-IP*", "External-IP*", "OS-Image*", "Kernel-Version*", "Container-Runtime*"},
		"namespaces":             {"Name", "Status", "Age"},
		"events":                 {"Last Seen", "Type", "Reason", "Object", "Subobject*", "Source*", "Message", "First Seen*", "Count*", "Name*"},
	}
	for _, r := range Resources() {
		cols := r.Strategy.Columns()
		var names []string
		nameFormat := 0
		for _, c := range cols {
			n := c.Name
			if c.Priority == 1 {
				n += "*"
			}
			names = append(names, n)
			if c.Description == "" {
				t.Errorf("%s: column %s has no description", r.Name, c.Name)
			}
			if c.Format == "name" {
				nameFormat++
			}
		}
		if !reflect.DeepEqual(names, want[r.Name]) {
			t.Errorf("%s columns %v, want %v", r.Name, names, want[r.Name])
		}
		if nameFormat != 1 {
			t.Errorf("%s: %d columns with format name, want 1", r.Name, nameFormat)
		}
		obj := r.New()
		row := r.Strategy.Row(obj, now)
		if len(row) != len(cols) {
			t.Fatalf("%s: %d cells for %d columns", r.Name, len(row), len(cols))
		}
		for i, c := range cols {
			ok := false
			switch c.Type {
			case "string":
				_, ok = row[i].(string)
			case "integer":
				_, ok = row[i].(int64)
			}
			if !ok {
				t.Errorf("%s: cell %s is %T, column type %s", r.Name, c.Name, row[i], c.Type)
			}
		}
	}
}

func TestServicePortsString(t *testing.T) {
	if got := ServicePortsString([]corev1.ServicePort{{Port: 80, TargetPort: intstr.FromInt32(8080), Protocol: corev1.ProtocolTCP}}); got != "80/TCP" {
		t.Errorf("got %q", got)
	}
}
