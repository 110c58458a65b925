package describe

import (
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
)

// Node describes a node, the pods bound to it that have not terminated
// (nil: could not be listed) and its events (nil: not fetched).
func Node(node *corev1.Node, pods []corev1.Pod, events *corev1.EventList, now time.Time) string {
	w := newWriter()
	w.write(0, "Name:\t%s\n", node.Name)
	w.write(0, "Roles:\t%s\n", stringOrNone(strings.Join(nodeRoles(node), ",")))
	w.labelsMultiline("Labels", node.Labels)
	w.annotationsMultiline("Annotations", node.Annotations)
	w.write(0, "CreationTimestamp:\t%s\n", node.CreationTimestamp.Time.Format(rfc1123z))
	w.taints("Taints", node.Spec.Taints)
	w.write(0, "Unschedulable:\t%v\n", node.Spec.Unschedulable)
	if len(node.Status.Conditions) > 0 {
		w.write(0, "Conditions:\n  Type\tStatus\tLastHeartbeatTime\tLastTransitionTime\tReason\tMessage\n")
		w.write(1, "----\t------\t-----------------\t------------------\t------\t-------\n")
		for _, c := range node.Status.Conditions {
			w.write(1, "%v \t%v \t%s \t%s \t%v \t%v\n", c.Type, c.Status,
				c.LastHeartbeatTime.Time.Format(rfc1123z), c.LastTransitionTime.Time.Format(rfc1123z), c.Reason, c.Message)
		}
	}
	w.write(0, "Addresses:\n")
	for _, a := range node.Status.Addresses {
		w.write(1, "%s:\t%s\n", a.Type, a.Address)
	}
	for _, part := range []struct {
		title string
		list  corev1.ResourceList
	}{{"Capacity", node.Status.Capacity}, {"Allocatable", node.Status.Allocatable}} {
		if len(part.list) == 0 {
			continue
		}
		w.write(0, "%s:\n", part.title)
		for _, name := range sortedResourceNames(part.list) {
			q := part.list[name]
			w.write(0, "  %s:\t%s\n", name, q.String())
		}
	}
	info := node.Status.NodeInfo
	w.write(0, "System Info:\n")
	w.write(0, "  Machine ID:\t%s\n", info.MachineID)
	w.write(0, "  System UUID:\t%s\n", info.SystemUUID)
	w.write(0, "  Boot ID:\t%s\n", info.BootID)
	w.write(0, "  Kernel Version:\t%s\n", info.KernelVersion)
	w.write(0, "  OS Image:\t%s\n", info.OSImage)
	w.write(0, "  Operating System:\t%s\n", info.OperatingSystem)
	w.write(0, "  Architecture:\t%s\n", info.Architecture)
	w.write(0, "  Container Runtime Version:\t%s\n", info.ContainerRuntimeVersion)
	w.write(0, "  Kubelet Version:\t%s\n", info.KubeletVersion)
	w.write(0, "  Kube-Proxy Version:\t%s\n", info.KubeProxyVersion)
	if node.Spec.PodCIDR != "" {
		w.write(0, "PodCIDR:\t%s\n", node.Spec.PodCIDR)
	}
	if len(node.Spec.PodCIDRs) > 0 {
		w.write(0, "PodCIDRs:\t%s\n", strings.Join(node.Spec.PodCIDRs, ","))
	}
	if node.Spec.ProviderID != "" {
		w.write(0, "ProviderID:\t%s\n", node.Spec.ProviderID)
	}
	if pods == nil {
		w.write(0, "Pods:\tnot listed\n")
	} else {
		w.nodeResources(node, pods, now)
	}
	w.events(events, now)
	return w.String()
}

func (w *writer) nodeResources(node *corev1.Node, pods []corev1.Pod, now time.Time) {
	allocatable := node.Status.Capacity
	if len(node.Status.Allocatable) > 0 {
		allocatable = node.Status.Allocatable
	}
	w.write(0, "Non-terminated Pods:\t(%d in total)\n", len(pods))
	w.write(1, "Namespace\tName\t\tCPU Requests\tCPU Limits\tMemory Requests\tMemory Limits\tAge\n")
	w.write(1, "---------\t----\t\t------------\t----------\t---------------\t-------------\t---\n")
	totalReq, totalLim := corev1.ResourceList{}, corev1.ResourceList{}
	for i := range pods {
		req, lim := podRequestsAndLimits(&pods[i])
		addResources(totalReq, req)
		addResources(totalLim, lim)
		cpuReq, cpuLim, memReq, memLim := req[corev1.ResourceCPU], lim[corev1.ResourceCPU], req[corev1.ResourceMemory], lim[corev1.ResourceMemory]
		w.write(1, "%s\t%s\t\t%s (%d%%)\t%s (%d%%)\t%s (%d%%)\t%s (%d%%)\t%s\n", pods[i].Namespace, pods[i].Name,
			cpuReq.String(), percent(cpuReq, allocatable, corev1.ResourceCPU),
			cpuLim.String(), percent(cpuLim, allocatable, corev1.ResourceCPU),
			memReq.String(), percent(memReq, allocatable, corev1.ResourceMemory),
			memLim.String(), percent(memLim, allocatable, corev1.ResourceMemory),
			since(pods[i].CreationTimestamp, now))
	}
	w.write(0, "Allocated resources:\n  (Total limits may be over 100 percent, i.e., overcommitted.)\n")
	w.write(1, "Resource\tRequests\tLimits\n")
	w.write(1, "--------\t--------\t------\n")
	for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage} {
		req, lim := totalReq[name], totalLim[name]
		w.write(1, "%s\t%s (%d%%)\t%s (%d%%)\n", name, req.String(), percent(req, allocatable, name), lim.String(), percent(lim, allocatable, name))
	}
}

// percent is q as a share of the node's allocatable amount of name.
func percent(q resource.Quantity, allocatable corev1.ResourceList, name corev1.ResourceName) int64 {
	total, ok := allocatable[name]
	if !ok || total.IsZero() {
		return 0
	}
	if name == corev1.ResourceCPU {
		return int64(float64(q.MilliValue()) / float64(total.MilliValue()) * 100)
	}
	return int64(float64(q.Value()) / float64(total.Value()) * 100)
}

// podRequestsAndLimits sums the containers' requests and limits; an init
// container counts when it asks for more than all app containers together
// (it runs alone).
func podRequestsAndLimits(pod *corev1.Pod) (corev1.ResourceList, corev1.ResourceList) {
	req, lim := corev1.ResourceList{}, corev1.ResourceList{}
	for _, c := range pod.Spec.Containers {
		addResources(req, c.Resources.Requests)
		addResources(lim, c.Resources.Limits)
	}
	for _, c := range pod.Spec.InitContainers {
		maxResources(req, c.Resources.Requests)
		maxResources(lim, c.Resources.Limits)
	}
	return req, lim
}

func addResources(into, add corev1.ResourceList) {
	for name, q := range add {
		cur := into[name]
		cur.Add(q)
		into[name] = cur
	}
}

func maxResources(into, other corev1.ResourceList) {
	for name, q := range other {
		if cur, ok := into[name]; !ok || q.Cmp(cur) > 0 {
			into[name] = q.DeepCopy()
		}
	}
}

func (w *writer) taints(title string, taints []corev1.Taint) {
	w.write(0, "%s:\t", title)
	if len(taints) == 0 {
		w.write(0, "<none>\n")
		return
	}
	sorted := append([]corev1.Taint(nil), taints...)
	sort.Slice(sorted, func(i, j int) bool {
		return string(sorted[i].Effect)+","+sorted[i].Key < string(sorted[j].Effect)+","+sorted[j].Key
	})
	for i, t := range sorted {
		if i != 0 {
			w.write(0, "\t")
		}
		w.write(0, "%s\n", t.ToString())
	}
}

// nodeRoles are the node-role.kubernetes.io/ROLE label suffixes and the
// kubernetes.io/role label value.
func nodeRoles(node *corev1.Node) []string {
	set := map[string]bool{}
	for k, v := range node.Labels {
		switch {
		case strings.HasPrefix(k, "node-role.kubernetes.io/"):
			if role := strings.TrimPrefix(k, "node-role.kubernetes.io/"); role != "" {
				set[role] = true
			}
		case k == "kubernetes.io/role" && v != "":
			set[v] = true
		}
	}
	roles := make([]string, 0, len(set))
	for r := range set {
		roles = append(roles, r)
	}
	sort.Strings(roles)
	return roles
}
