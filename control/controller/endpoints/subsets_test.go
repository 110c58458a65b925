package endpoints

import (
	"reflect"
	"testing"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"
)

func svc(ports ...v1.ServicePort) *v1.Service {
	return &v1.Service{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: "web", Labels: map[string]string{"team": "a"}},
		Spec:       v1.ServiceSpec{Selector: map[string]string{"app": "web"}, Ports: ports, ClusterIP: "10.96.0.10"},
	}
}

func port(name string, p int32, target intstr.IntOrString) v1.ServicePort {
	return v1.ServicePort{Name: name, Port: p, TargetPort: target, Protocol: v1.ProtocolTCP}
}

type podOpt func(*v1.Pod)

func pod(name, ip string, ready bool, opts ...podOpt) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name), Labels: map[string]string{"app": "web"}},
		Spec: v1.PodSpec{NodeName: "node1", Containers: []v1.Container{{Name: "c", Ports: []v1.ContainerPort{
			{Name: "http", ContainerPort: 8080, Protocol: v1.ProtocolTCP},
		}}}},
		Status: v1.PodStatus{Phase: v1.PodRunning, PodIP: ip},
	}
	status := v1.ConditionFalse
	if ready {
		status = v1.ConditionTrue
	}
	p.Status.Conditions = []v1.PodCondition{{Type: v1.PodReady, Status: status}}
	for _, o := range opts {
		o(p)
	}
	return p
}

func addr(name, ip string) v1.EndpointAddress {
	n := "node1"
	return v1.EndpointAddress{IP: ip, NodeName: &n, TargetRef: &v1.ObjectReference{Kind: "Pod", Namespace: "default", Name: name, UID: types.UID("uid-" + name)}}
}

func epPort(name string, p int32) v1.EndpointPort {
	return v1.EndpointPort{Name: name, Port: p, Protocol: v1.ProtocolTCP}
}

func TestSubsets(t *testing.T) {
	byNumber := port("", 80, intstr.FromInt32(9376))
	byName := port("http", 80, intstr.FromString("http"))
	tests := []struct {
		name string
		svc  *v1.Service
		pods []*v1.Pod
		want []v1.EndpointSubset
	}{
		{"no pods", svc(byNumber), nil, nil},
		{"ready and not ready", svc(byNumber), []*v1.Pod{pod("b", "10.0.0.12", true), pod("a", "10.0.0.2", true), pod("c", "10.0.0.3", false)},
			[]v1.EndpointSubset{{
				Addresses:         []v1.EndpointAddress{addr("a", "10.0.0.2"), addr("b", "10.0.0.12")},
				NotReadyAddresses: []v1.EndpointAddress{addr("c", "10.0.0.3")},
				Ports:             []v1.EndpointPort{epPort("", 9376)},
			}}},
		{"targetPort by name, per pod", svc(byName), []*v1.Pod{
			pod("a", "10.0.0.1", true),
			pod("b", "10.0.0.2", true, func(p *v1.Pod) { p.Spec.Containers[0].Ports[0].ContainerPort = 9090 }),
			pod("nohttp", "10.0.0.3", true, func(p *v1.Pod) { p.Spec.Containers[0].Ports = nil }),
		}, []v1.EndpointSubset{
			{Addresses: []v1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []v1.EndpointPort{epPort("http", 8080)}},
			{Addresses: []v1.EndpointAddress{addr("b", "10.0.0.2")}, Ports: []v1.EndpointPort{epPort("http", 9090)}},
		}},
		{"two ports, grouped", svc(port("a", 80, intstr.FromInt32(80)), port("b", 443, intstr.FromInt32(443))),
			[]*v1.Pod{pod("x", "10.0.0.1", true), pod("y", "10.0.0.2", false)},
			[]v1.EndpointSubset{{
				Addresses:         []v1.EndpointAddress{addr("x", "10.0.0.1")},
				NotReadyAddresses: []v1.EndpointAddress{addr("y", "10.0.0.2")},
				Ports:             []v1.EndpointPort{epPort("a", 80), epPort("b", 443)},
			}}},
		{"skipped pods", svc(byNumber), []*v1.Pod{
			pod("noip", "", true),
			pod("deleting", "10.0.0.1", true, func(p *v1.Pod) { t := metav1.Now(); p.DeletionTimestamp = &t }),
			pod("failed", "10.0.0.2", false, func(p *v1.Pod) { p.Status.Phase = v1.PodFailed }),
			pod("other", "10.0.0.3", true, func(p *v1.Pod) { p.Labels = map[string]string{"app": "db"} }),
			pod("elsewhere", "10.0.0.4", true, func(p *v1.Pod) { p.Namespace = "other" }),
			pod("never-again", "10.0.0.5", false, func(p *v1.Pod) { p.Spec.RestartPolicy = v1.RestartPolicyOnFailure; p.Status.Phase = v1.PodSucceeded }),
		}, nil},
		{"publishNotReadyAddresses", func() *v1.Service { s := svc(byNumber); s.Spec.PublishNotReadyAddresses = true; return s }(),
			[]*v1.Pod{pod("a", "10.0.0.1", false)},
			[]v1.EndpointSubset{{Addresses: []v1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []v1.EndpointPort{epPort("", 9376)}}}},
		{"headless without ports", func() *v1.Service { s := svc(); s.Spec.ClusterIP = v1.ClusterIPNone; return s }(),
			[]*v1.Pod{pod("a", "10.0.0.1", true)},
			[]v1.EndpointSubset{{Addresses: []v1.EndpointAddress{addr("a", "10.0.0.1")}}}},
		{"hostname for its subdomain", svc(byNumber), []*v1.Pod{pod("a", "10.0.0.1", true, func(p *v1.Pod) {
			p.Spec.Hostname, p.Spec.Subdomain = "a-host", "web"
		})}, []v1.EndpointSubset{{Addresses: []v1.EndpointAddress{func() v1.EndpointAddress {
			a := addr("a", "10.0.0.1")
			a.Hostname = "a-host"
			return a
		}()}, Ports: []v1.EndpointPort{epPort("", 9376)}}}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got := Subsets(tt.svc, tt.pods)
			if !reflect.DeepEqual(got, tt.want) {
				t.Errorf("Subsets =\n%+v\nwant\n%+v", got, tt.want)
			}
		})
	}
}

func TestFindPort(t *testing.T) {
	p := pod("a", "10.0.0.1", true)
	p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, v1.ContainerPort{Name: "dns", ContainerPort: 53, Protocol: v1.ProtocolUDP})
	tests := []struct {
		sp      v1.ServicePort
		want    int32
		wantErr bool
	}{
		{v1.ServicePort{Port: 80, TargetPort: intstr.FromInt32(8080)}, 8080, false},
		{v1.ServicePort{Port: 80}, 80, false},
		{v1.ServicePort{Port: 80, TargetPort: intstr.FromString("http")}, 8080, false},
		{v1.ServicePort{Port: 53, Protocol: v1.ProtocolUDP, TargetPort: intstr.FromString("dns")}, 53, false},
		{v1.ServicePort{Port: 53, Protocol: v1.ProtocolTCP, TargetPort: intstr.FromString("dns")}, 0, true},
		{v1.ServicePort{Port: 80, TargetPort: intstr.FromString("missing")}, 0, true},
	}
	for _, tt := range tests {
		got, err := FindPort(p, tt.sp)
		if got != tt.want || (err != nil) != tt.wantErr {
			t.Errorf("FindPort(%+v) = %d, %v; want %d (error %v)", tt.sp, got, err, tt.want, tt.wantErr)
		}
	}
}

func TestRepack(t *testing.T) {
	// The same address offered in two subsets for two ports, once ready and
	// once not: ready wins, one subset with both ports.
	in := []v1.EndpointSubset{
		{NotReadyAddresses: []v1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []v1.EndpointPort{epPort("b", 2)}},
		{Addresses: []v1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []v1.EndpointPort{epPort("a", 1)}},
		{Addresses: []v1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []v1.EndpointPort{epPort("b", 2)}},
	}
	want := []v1.EndpointSubset{{Addresses: []v1.EndpointAddress{addr("a", "10.0.0.1")}, Ports: []v1.EndpointPort{epPort("a", 1), epPort("b", 2)}}}
	if got := Repack(in); !reflect.DeepEqual(got, want) {
		t.Errorf("Repack =\n%+v\nwant\n%+v", got, want)
	}
	if Repack(nil) != nil {
		t.Error("Repack(nil) not nil")
	}
}

func TestDesired(t *testing.T) {
	s := svc(port("", 80, intstr.FromInt32(8080)))
	pods := []*v1.Pod{pod("a", "10.0.0.1", true)}
	first := Desired(s, nil, pods)
	if first == nil || first.Name != "web" || first.Namespace != "default" || len(first.Subsets) != 1 || first.Labels["team"] != "a" {
		t.Fatalf("Desired(nil) = %+v", first)
	}
	first.ResourceVersion = "5"
	if again := Desired(s, first, pods); again != nil {
		t.Errorf("unchanged Endpoints rewritten: %+v", again)
	}
	notReady := []*v1.Pod{pod("a", "10.0.0.1", false)}
	upd := Desired(s, first, notReady)
	if upd == nil || upd.ResourceVersion != "5" || len(upd.Subsets[0].Addresses) != 0 || len(upd.Subsets[0].NotReadyAddresses) != 1 {
		t.Errorf("readiness change: %+v", upd)
	}
	empty := Desired(s, first, nil)
	if empty == nil || empty.Subsets != nil {
		t.Errorf("no pods: %+v", empty)
	}
	emptyStored := empty.DeepCopy()
	emptyStored.Subsets = []v1.EndpointSubset{}
	if Desired(s, emptyStored, nil) != nil {
		t.Error("empty list vs nil subsets counted as a change")
	}
	headless := svc()
	headless.Spec.ClusterIP = v1.ClusterIPNone
	if h := Desired(headless, nil, nil); h.Labels[LabelHeadless] != "" || len(h.Labels) != 2 {
		t.Errorf("headless labels %v", h.Labels)
	}
}

func TestRelevant(t *testing.T) {
	base := pod("a", "10.0.0.1", true)
	tests := []struct {
		name   string
		change func(*v1.Pod)
		want   bool
	}{
		{"nothing", func(*v1.Pod) {}, false},
		{"container status only", func(p *v1.Pod) { p.Status.ContainerStatuses = []v1.ContainerStatus{{Name: "c"}} }, false},
		{"ip", func(p *v1.Pod) { p.Status.PodIP = "10.0.0.9" }, true},
		{"readiness", func(p *v1.Pod) { p.Status.Conditions[0].Status = v1.ConditionFalse }, true},
		{"labels", func(p *v1.Pod) { p.Labels = map[string]string{"app": "x"} }, true},
		{"deleting", func(p *v1.Pod) { t := metav1.Now(); p.DeletionTimestamp = &t }, true},
		{"phase", func(p *v1.Pod) { p.Status.Phase = v1.PodFailed }, true},
	}
	for _, tt := range tests {
		cur := base.DeepCopy()
		tt.change(cur)
		if got := Relevant(base, cur); got != tt.want {
			t.Errorf("%s: Relevant = %v, want %v", tt.name, got, tt.want)
		}
	}
}
