package registry

import (
	"strings"
	"testing"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func validPod() *corev1.Pod {
	return &corev1.Pod{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.PodSpec{Containers: []corev1.Container{{
			Name: "web", Image: "nginx:1.27",
			Ports: []corev1.ContainerPort{{Name: "http", ContainerPort: 80}},
		}}},
	}
}

func TestPodValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Pod)
		want   string // errorSummary
		msg    string // optional substring of the aggregate message
	}{
		{name: "valid", mutate: func(*corev1.Pod) {}},
		{name: "bad name", mutate: func(p *corev1.Pod) { p.Name = "Web_1" }, want: "metadata.name: FieldValueInvalid"},
		{name: "no containers", mutate: func(p *corev1.Pod) { p.Spec.Containers = nil }, want: "spec.containers: FieldValueRequired"},
		{name: "container name", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Name = "Web" }, want: "spec.containers[0].name: FieldValueInvalid"},
		{name: "no container name", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Name = "" }, want: "spec.containers[0].name: FieldValueRequired"},
		{name: "duplicate container", mutate: func(p *corev1.Pod) {
			p.Spec.InitContainers = []corev1.Container{{Name: "web", Image: "busybox"}}
		}, want: "spec.containers[0].name: FieldValueDuplicate"},
		{name: "no image", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = "" }, want: "spec.containers[0].image: FieldValueRequired"},
		{name: "image whitespace", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Image = " nginx" },
			want: "spec.containers[0].image: FieldValueInvalid", msg: "must not have leading or trailing whitespace"},
		{name: "port 0", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 0 }, want: "spec.containers[0].ports[0].containerPort: FieldValueRequired"},
		{name: "port too big", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 70000 },
			want: "spec.containers[0].ports[0].containerPort: FieldValueInvalid", msg: "must be between 1 and 65535, inclusive"},
		{name: "protocol", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Ports[0].Protocol = "ICMP" },
			want: "spec.containers[0].ports[0].protocol: FieldValueNotSupported", msg: `supported values: "SCTP", "TCP", "UDP"`},
		{name: "duplicate port name", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, corev1.ContainerPort{Name: "http", ContainerPort: 81})
		}, want: "spec.containers[0].ports[1].name: FieldValueDuplicate"},
		{name: "duplicate host port", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Ports[0].HostPort = 8080
			p.Spec.Containers = append(p.Spec.Containers, corev1.Container{Name: "b", Image: "b", Ports: []corev1.ContainerPort{{ContainerPort: 90, HostPort: 8080}}})
		}, want: "spec.containers[1].ports[0].hostPort: FieldValueDuplicate"},
		{name: "env name", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "A=B"}} }, want: "spec.containers[0].env[0].name: FieldValueInvalid"},
		{name: "env value and valueFrom", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "IP", Value: "x", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "status.podIP"}}}}
		}, want: "spec.containers[0].env[0].valueFrom: FieldValueInvalid"},
		{name: "env fieldPath", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Env = []corev1.EnvVar{{Name: "X", ValueFrom: &corev1.EnvVarSource{FieldRef: &corev1.ObjectFieldSelector{FieldPath: "spec.hostname"}}}}
		}, want: "spec.containers[0].env[0].valueFrom.fieldRef.fieldPath: FieldValueNotSupported"},
		{name: "requests above limits", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources = corev1.ResourceRequirements{
				Limits:   corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("100m")},
				Requests: corev1.ResourceList{corev1.ResourceCPU: resource.MustParse("200m")},
			}
		}, want: "spec.containers[0].resources.requests: FieldValueInvalid", msg: "must be less than or equal to cpu limit of 100m"},
		{name: "negative quantity", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{corev1.ResourceMemory: resource.MustParse("-1")}
			// The request defaults to the limit and fails too.
		}, want: "spec.containers[0].resources.limits[memory]: FieldValueInvalid\nspec.containers[0].resources.requests[memory]: FieldValueInvalid"},
		{name: "unknown resource", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].Resources.Limits = corev1.ResourceList{"gpus": resource.MustParse("1")}
		}, want: "spec.containers[0].resources.limits[gpus]: FieldValueInvalid\nspec.containers[0].resources.requests[gpus]: FieldValueInvalid",
			msg: "must be a standard resource for containers"},
		{name: "probe without handler", mutate: func(p *corev1.Pod) { p.Spec.Containers[0].LivenessProbe = &corev1.Probe{} },
			want: "spec.containers[0].livenessProbe: FieldValueRequired"},
		{name: "liveness success threshold", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].LivenessProbe = &corev1.Probe{SuccessThreshold: 2, ProbeHandler: corev1.ProbeHandler{TCPSocket: &corev1.TCPSocketAction{Port: intstr.FromInt32(80)}}}
		}, want: "spec.containers[0].livenessProbe.successThreshold: FieldValueInvalid"},
		{name: "probe port", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].ReadinessProbe = &corev1.Probe{ProbeHandler: corev1.ProbeHandler{HTTPGet: &corev1.HTTPGetAction{Port: intstr.FromInt32(0)}}}
		}, want: "spec.containers[0].readinessProbe.httpGet.port: FieldValueInvalid"},
		{name: "restartPolicy", mutate: func(p *corev1.Pod) { p.Spec.RestartPolicy = "Sometimes" }, want: "spec.restartPolicy: FieldValueNotSupported"},
		{name: "dnsPolicy", mutate: func(p *corev1.Pod) { p.Spec.DNSPolicy = "Google" }, want: "spec.dnsPolicy: FieldValueNotSupported"},
		{name: "nodeName", mutate: func(p *corev1.Pod) { p.Spec.NodeName = "Node_1" }, want: "spec.nodeName: FieldValueInvalid"},
		{name: "hostNetwork ports", mutate: func(p *corev1.Pod) {
			p.Spec.HostNetwork = true
			p.Spec.Containers[0].Ports[0].HostPort = 8080
		}, want: "spec.containers[0].ports[0].containerPort: FieldValueInvalid", msg: "must match `hostPort` when `hostNetwork` is true"},
		{name: "volume mount not found", mutate: func(p *corev1.Pod) {
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}, want: "spec.containers[0].volumeMounts[0].name: FieldValueNotFound"},
		{name: "volume mounted", mutate: func(p *corev1.Pod) {
			p.Spec.Volumes = []corev1.Volume{{Name: "data"}} // defaults to emptyDir
			p.Spec.Containers[0].VolumeMounts = []corev1.VolumeMount{{Name: "data", MountPath: "/data"}}
		}},
		{name: "toleration operator", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "a", Operator: "Maybe"}}
		}, want: "spec.tolerations[0].operator: FieldValueNotSupported"},
		{name: "toleration seconds", mutate: func(p *corev1.Pod) {
			p.Spec.Tolerations = []corev1.Toleration{{Key: "a", Operator: corev1.TolerationOpExists, Effect: corev1.TaintEffectNoSchedule, TolerationSeconds: ptrTo(int64(5))}}
		}, want: "spec.tolerations[0].effect: FieldValueInvalid"},
		{name: "activeDeadlineSeconds", mutate: func(p *corev1.Pod) { p.Spec.ActiveDeadlineSeconds = ptrTo(int64(0)) }, want: "spec.activeDeadlineSeconds: FieldValueInvalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			pod := validPod()
			tt.mutate(pod)
			errs := create(t, "pods", pod)
			if got := errorSummary(errs); got != tt.want {
				t.Fatalf("errors:\n%s\nwant:\n%s\n(%v)", got, tt.want, errs.ToAggregate())
			}
			if tt.msg != "" && !strings.Contains(errs.ToAggregate().Error(), tt.msg) {
				t.Errorf("message %q does not contain %q", errs.ToAggregate(), tt.msg)
			}
		})
	}
}

func validRC() *corev1.ReplicationController {
	return &corev1.ReplicationController{
		ObjectMeta: metav1.ObjectMeta{Name: "nginxs", Namespace: "default"},
		Spec: corev1.ReplicationControllerSpec{
			Replicas: ptrTo(int32(2)),
			Template: &corev1.PodTemplateSpec{
				ObjectMeta: metav1.ObjectMeta{Labels: map[string]string{"app": "nginx"}},
				Spec:       corev1.PodSpec{Containers: []corev1.Container{{Name: "nginx", Image: "nginx"}}},
			},
		},
	}
}

func TestRCValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.ReplicationController)
		want   string
		msg    string
	}{
		{name: "valid", mutate: func(*corev1.ReplicationController) {}},
		{name: "selector mismatch", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Selector = map[string]string{"app": "web"} },
			want: "spec.template.metadata.labels: FieldValueInvalid",
			msg:  "spec.template.metadata.labels: Invalid value: {\"app\":\"nginx\"}: `selector` does not match template `labels`"},
		{name: "no selector, no labels", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Template.Labels = nil },
			want: "spec.selector: FieldValueRequired"},
		{name: "negative replicas", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Replicas = ptrTo(int32(-1)) },
			want: "spec.replicas: FieldValueInvalid", msg: "spec.replicas: Invalid value: -1: must be greater than or equal to 0"},
		{name: "no template", mutate: func(rc *corev1.ReplicationController) {
			rc.Spec.Template = nil
			rc.Spec.Selector = map[string]string{"app": "nginx"}
		}, want: "spec.template: FieldValueRequired"},
		{name: "restartPolicy Never", mutate: func(rc *corev1.ReplicationController) {
			rc.Spec.Template.Spec.RestartPolicy = corev1.RestartPolicyNever
		},
			want: "spec.template.spec.restartPolicy: FieldValueNotSupported", msg: `Unsupported value: "Never": supported values: "Always"`},
		{name: "activeDeadlineSeconds", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Template.Spec.ActiveDeadlineSeconds = ptrTo(int64(10)) },
			want: "spec.template.spec.activeDeadlineSeconds: FieldValueForbidden"},
		{name: "template container", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Template.Spec.Containers[0].Image = "" },
			want: "spec.template.spec.containers[0].image: FieldValueRequired"},
		{name: "template label", mutate: func(rc *corev1.ReplicationController) { rc.Spec.Template.Labels["bad key!"] = "x" },
			// The selector and the RC's labels default to the template's.
			want: "metadata.labels: FieldValueInvalid\nspec.selector: FieldValueInvalid\nspec.template.metadata.labels: FieldValueInvalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			rc := validRC()
			tt.mutate(rc)
			errs := create(t, "replicationcontrollers", rc)
			if got := errorSummary(errs); got != tt.want {
				t.Fatalf("errors:\n%s\nwant:\n%s\n(%v)", got, tt.want, errs.ToAggregate())
			}
			if tt.msg != "" && !strings.Contains(errs.ToAggregate().Error(), tt.msg) {
				t.Errorf("message %q does not contain %q", errs.ToAggregate(), tt.msg)
			}
		})
	}
}

func validService() *corev1.Service {
	return &corev1.Service{
		ObjectMeta: metav1.ObjectMeta{Name: "web", Namespace: "default"},
		Spec: corev1.ServiceSpec{
			Selector: map[string]string{"app": "web"},
			Ports:    []corev1.ServicePort{{Port: 80}},
		},
	}
}

func TestServiceValidation(t *testing.T) {
	tests := []struct {
		name   string
		mutate func(*corev1.Service)
		want   string
		msg    string
	}{
		{name: "valid", mutate: func(*corev1.Service) {}},
		{name: "name not DNS-1035", mutate: func(s *corev1.Service) { s.Name = "1web" }, want: "metadata.name: FieldValueInvalid"},
		{name: "no ports", mutate: func(s *corev1.Service) { s.Spec.Ports = nil }, want: "spec.ports: FieldValueRequired"},
		{name: "headless without ports", mutate: func(s *corev1.Service) { s.Spec.Ports, s.Spec.ClusterIP = nil, "None" }},
		{name: "port names required", mutate: func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 80}, {Port: 443}}
		}, want: "spec.ports[1].name: FieldValueRequired"},
		{name: "duplicate port names", mutate: func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "http", Port: 80}, {Name: "http", Port: 443}}
		}, want: "spec.ports[1].name: FieldValueDuplicate"},
		{name: "duplicate port", mutate: func(s *corev1.Service) {
			s.Spec.Ports = []corev1.ServicePort{{Name: "a", Port: 80}, {Name: "b", Port: 80}}
		}, want: "spec.ports[1]: FieldValueDuplicate"},
		{name: "port 0", mutate: func(s *corev1.Service) { s.Spec.Ports[0].Port = 0; s.Spec.Ports[0].TargetPort = intstr.FromInt32(80) },
			want: "spec.ports[0].port: FieldValueInvalid"},
		{name: "targetPort name", mutate: func(s *corev1.Service) { s.Spec.Ports[0].TargetPort = intstr.FromString("HTTP_PORT") },
			want: "spec.ports[0].targetPort: FieldValueInvalid\nspec.ports[0].targetPort: FieldValueInvalid", msg: "must contain only alpha-numeric characters"},
		{name: "nodePort on ClusterIP", mutate: func(s *corev1.Service) { s.Spec.Ports[0].NodePort = 30080 },
			want: "spec.ports[0].nodePort: FieldValueForbidden", msg: "may not be used when `type` is 'ClusterIP'"},
		{name: "NodePort", mutate: func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeNodePort; s.Spec.Ports[0].NodePort = 30080 }},
		{name: "type", mutate: func(s *corev1.Service) { s.Spec.Type = "Internal" }, want: "spec.type: FieldValueNotSupported"},
		{name: "sessionAffinity", mutate: func(s *corev1.Service) { s.Spec.SessionAffinity = "Cookie" }, want: "spec.sessionAffinity: FieldValueNotSupported"},
		{name: "ClientIP timeout", mutate: func(s *corev1.Service) {
			s.Spec.SessionAffinity = corev1.ServiceAffinityClientIP
			s.Spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo(int32(100000))}}
		}, want: "spec.sessionAffinityConfig.clientIP.timeoutSeconds: FieldValueInvalid"},
		{name: "clusterIP invalid", mutate: func(s *corev1.Service) { s.Spec.ClusterIP = "10.96.0.300" }, want: "spec.clusterIPs[0]: FieldValueInvalid"},
		{name: "clusterIP and clusterIPs differ", mutate: func(s *corev1.Service) {
			s.Spec.ClusterIP, s.Spec.ClusterIPs = "10.96.0.10", []string{"10.96.0.11"}
		}, want: "spec.clusterIPs: FieldValueInvalid"},
		{name: "IPv6 family", mutate: func(s *corev1.Service) { s.Spec.IPFamilies = []corev1.IPFamily{corev1.IPv6Protocol} },
			want: "spec.ipFamilies[0]: FieldValueInvalid", msg: "not configured on this cluster"},
		{name: "headless NodePort", mutate: func(s *corev1.Service) { s.Spec.Type, s.Spec.ClusterIP = corev1.ServiceTypeNodePort, "None" },
			want: "spec.clusterIPs[0]: FieldValueInvalid"},
		{name: "externalTrafficPolicy on ClusterIP", mutate: func(s *corev1.Service) { s.Spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyLocal },
			want: "spec.externalTrafficPolicy: FieldValueInvalid"},
		{name: "ExternalName", mutate: func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName, s.Spec.Ports, s.Spec.Selector = corev1.ServiceTypeExternalName, "db.example.com.", nil, nil
		}},
		{name: "ExternalName with clusterIP", mutate: func(s *corev1.Service) {
			s.Spec.Type, s.Spec.ExternalName, s.Spec.ClusterIP = corev1.ServiceTypeExternalName, "db.example.com", "10.96.0.10"
		}, want: "spec.clusterIPs: FieldValueForbidden"},
		{name: "ExternalName missing", mutate: func(s *corev1.Service) { s.Spec.Type = corev1.ServiceTypeExternalName },
			want: "spec.externalName: FieldValueRequired"},
		{name: "selector", mutate: func(s *corev1.Service) { s.Spec.Selector = map[string]string{"app": "not valid!"} },
			want: "spec.selector: FieldValueInvalid"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			svc := validService()
			tt.mutate(svc)
			errs := create(t, "services", svc)
			if got := errorSummary(errs); got != tt.want {
				t.Fatalf("errors:\n%s\nwant:\n%s\n(%v)", got, tt.want, errs.ToAggregate())
			}
			if tt.msg != "" && !strings.Contains(errs.ToAggregate().Error(), tt.msg) {
				t.Errorf("message %q does not contain %q", errs.ToAggregate(), tt.msg)
			}
		})
	}
}

func TestOtherValidation(t *testing.T) {
	tests := []struct {
		name     string
		resource string
		obj      Object
		want     string
	}{
		{"namespace name", "namespaces", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "my.ns"}}, "metadata.name: FieldValueInvalid"},
		{"namespace ok", "namespaces", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "team-a"}}, ""},
		{"namespace finalizer", "namespaces", &corev1.Namespace{ObjectMeta: metav1.ObjectMeta{Name: "a"},
			Spec: corev1.NamespaceSpec{Finalizers: []corev1.FinalizerName{"custom"}}}, "spec.finalizers: FieldValueInvalid"},
		{"node ok", "nodes", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "node-1.example"}, Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/24"}}, ""},
		{"node cidr", "nodes", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{PodCIDR: "10.244.1.0/33"}}, "spec.podCIDRs[0]: FieldValueInvalid"},
		{"node taint", "nodes", &corev1.Node{ObjectMeta: metav1.ObjectMeta{Name: "n"}, Spec: corev1.NodeSpec{Taints: []corev1.Taint{{Key: "k", Effect: "Never"}}}},
			"spec.taints[0].effect: FieldValueNotSupported"},
		{"endpoints ok", "endpoints", &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.244.1.5"}}, Ports: []corev1.EndpointPort{{Port: 80}}}}}, ""},
		{"endpoints loopback", "endpoints", &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "127.0.0.1"}}, Ports: []corev1.EndpointPort{{Port: 80}}}}}, "subsets[0].addresses[0].ip: FieldValueInvalid"},
		{"endpoints port names", "endpoints", &corev1.Endpoints{ObjectMeta: metav1.ObjectMeta{Name: "web"}, Subsets: []corev1.EndpointSubset{{
			Addresses: []corev1.EndpointAddress{{IP: "10.0.0.1"}}, Ports: []corev1.EndpointPort{{Port: 80}, {Port: 81}}}}},
			"subsets[0].ports[0].name: FieldValueRequired\nsubsets[0].ports[1].name: FieldValueRequired"},
		{"event ok", "events", &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "web.1"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", Namespace: "default"}}, ""},
		{"event about a node", "events", &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "n.1"},
			InvolvedObject: corev1.ObjectReference{Kind: "Node", Name: "n"}}, ""},
		{"event namespace mismatch", "events", &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "web.1"},
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", Namespace: "other"}}, "involvedObject.namespace: FieldValueInvalid"},
		{"event without object", "events", &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e.1"}}, "involvedObject: FieldValueRequired"},
		{"new-style event", "events", &corev1.Event{ObjectMeta: metav1.ObjectMeta{Name: "e.2"}, EventTime: metav1.NewMicroTime(now),
			InvolvedObject: corev1.ObjectReference{Kind: "Pod", Name: "web", Namespace: "default"}},
			"action: FieldValueRequired\nreason: FieldValueRequired\nreportingComponent: FieldValueRequired\nreportingInstance: FieldValueRequired"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			errs := create(t, tt.resource, tt.obj)
			if got := errorSummary(errs); got != tt.want {
				t.Fatalf("errors:\n%s\nwant:\n%s\n(%v)", got, tt.want, errs.ToAggregate())
			}
		})
	}
}
