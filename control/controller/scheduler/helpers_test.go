package scheduler

import (
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
)

// node builds a Ready node with the given allocatable cpu, memory and pods.
func node(name, cpu, mem string, pods int64, opts ...func(*v1.Node)) *v1.Node {
	n := &v1.Node{
		ObjectMeta: metav1.ObjectMeta{Name: name, Labels: map[string]string{"kubernetes.io/hostname": name}},
		Status: v1.NodeStatus{
			Allocatable: v1.ResourceList{
				v1.ResourceCPU:    resource.MustParse(cpu),
				v1.ResourceMemory: resource.MustParse(mem),
				v1.ResourcePods:   *resource.NewQuantity(pods, resource.DecimalSI),
			},
			Conditions: []v1.NodeCondition{{Type: v1.NodeReady, Status: v1.ConditionTrue}},
		},
	}
	for _, o := range opts {
		o(n)
	}
	return n
}

func notReady(n *v1.Node) { n.Status.Conditions[0].Status = v1.ConditionUnknown }
func cordoned(n *v1.Node) { n.Spec.Unschedulable = true }
func labeled(k, v string) func(*v1.Node) {
	return func(n *v1.Node) { n.Labels[k] = v }
}
func tainted(key, value string, effect v1.TaintEffect) func(*v1.Node) {
	return func(n *v1.Node) {
		n.Spec.Taints = append(n.Spec.Taints, v1.Taint{Key: key, Value: value, Effect: effect})
	}
}

// pod builds a pending pod with one container requesting cpu and mem ("" = none).
func pod(name, cpu, mem string, opts ...func(*v1.Pod)) *v1.Pod {
	p := &v1.Pod{
		ObjectMeta: metav1.ObjectMeta{Namespace: "default", Name: name, UID: types.UID("uid-" + name)},
		Spec:       v1.PodSpec{Containers: []v1.Container{{Name: "c", Image: "busybox"}}},
	}
	req := v1.ResourceList{}
	if cpu != "" {
		req[v1.ResourceCPU] = resource.MustParse(cpu)
	}
	if mem != "" {
		req[v1.ResourceMemory] = resource.MustParse(mem)
	}
	if len(req) > 0 {
		p.Spec.Containers[0].Resources.Requests = req
	}
	for _, o := range opts {
		o(p)
	}
	return p
}

func ownedBy(uid string) func(*v1.Pod) {
	return func(p *v1.Pod) {
		t := true
		p.OwnerReferences = []metav1.OwnerReference{{APIVersion: "v1", Kind: "ReplicationController", Name: "rc", UID: types.UID(uid), Controller: &t}}
	}
}

func hostPort(port int32) func(*v1.Pod) {
	return func(p *v1.Pod) {
		p.Spec.Containers[0].Ports = append(p.Spec.Containers[0].Ports, v1.ContainerPort{ContainerPort: 80, HostPort: port})
	}
}

func onNode(name string) func(*v1.Pod) { return func(p *v1.Pod) { p.Spec.NodeName = name } }

// infos builds NodeInfos with the given pods counted on their nodes.
func infos(nodes []*v1.Node, pods ...*v1.Pod) []*NodeInfo {
	var out []*NodeInfo
	byName := map[string]*NodeInfo{}
	for _, n := range nodes {
		ni := NewNodeInfo(n)
		out = append(out, ni)
		byName[n.Name] = ni
	}
	for _, p := range pods {
		byName[p.Spec.NodeName].AddPod(NewPodInfo(p))
	}
	return out
}

func mustQ(s string) resource.Quantity { return resource.MustParse(s) }
