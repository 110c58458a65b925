package endpoints

import (
	"fmt"
	"maps"
	"net/netip"
	"sort"
	"strings"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/intstr"

	"github.com/tug-sh/tug/control/controller/internal/podstate"
)

// LabelHeadless marks the Endpoints of a headless Service, as Kubernetes does.
const LabelHeadless = "service.kubernetes.io/headless"

// Selects reports whether svc's selector selects pod.
func Selects(svc *v1.Service, pod *v1.Pod) bool {
	return len(svc.Spec.Selector) > 0 && pod.Namespace == svc.Namespace &&
		labels.SelectorFromSet(svc.Spec.Selector).Matches(labels.Set(pod.Labels))
}

// listed reports whether a pod appears in Endpoints at all.
func listed(pod *v1.Pod) bool {
	return pod.Status.PodIP != "" && pod.DeletionTimestamp == nil && !podstate.IsTerminal(pod)
}

// FindPort resolves a Service port's targetPort for one pod: a number is
// used as is (0 means the Service port), a name is looked up among the
// pod's container ports of the same protocol.
func FindPort(pod *v1.Pod, sp v1.ServicePort) (int32, error) {
	tp := sp.TargetPort
	if tp.Type == intstr.String && tp.StrVal != "" {
		proto := sp.Protocol
		if proto == "" {
			proto = v1.ProtocolTCP
		}
		for _, c := range pod.Spec.Containers {
			for _, p := range c.Ports {
				pp := p.Protocol
				if pp == "" {
					pp = v1.ProtocolTCP
				}
				if p.Name == tp.StrVal && pp == proto {
					return p.ContainerPort, nil
				}
			}
		}
		return 0, fmt.Errorf("pod %s/%s has no container port named %q (%s)", pod.Namespace, pod.Name, tp.StrVal, proto)
	}
	if tp.Type == intstr.Int && tp.IntVal != 0 {
		return tp.IntVal, nil
	}
	return sp.Port, nil
}

// Subsets computes the Endpoints subsets of svc from the pods it selects
// (pods not selected are ignored).
func Subsets(svc *v1.Service, pods []*v1.Pod) []v1.EndpointSubset {
	var subsets []v1.EndpointSubset
	headless := svc.Spec.ClusterIP == v1.ClusterIPNone
	for _, pod := range pods {
		if !Selects(svc, pod) || !listed(pod) {
			continue
		}
		addr := address(svc, pod)
		ready := svc.Spec.PublishNotReadyAddresses || podstate.IsReady(pod)
		if !ready && !mayBecomeReady(pod) {
			continue
		}
		if len(svc.Spec.Ports) == 0 {
			if headless {
				subsets = append(subsets, subset(addr, ready, nil))
			}
			continue
		}
		for _, sp := range svc.Spec.Ports {
			port, err := FindPort(pod, sp)
			if err != nil {
				continue
			}
			proto := sp.Protocol
			if proto == "" {
				proto = v1.ProtocolTCP
			}
			ep := v1.EndpointPort{Name: sp.Name, Port: port, Protocol: proto, AppProtocol: sp.AppProtocol}
			subsets = append(subsets, subset(addr, ready, []v1.EndpointPort{ep}))
		}
	}
	return Repack(subsets)
}

// mayBecomeReady: a not-ready pod is listed unless its restart policy means
// it will never run again.
func mayBecomeReady(pod *v1.Pod) bool {
	switch pod.Spec.RestartPolicy {
	case v1.RestartPolicyNever:
		return !podstate.IsTerminal(pod)
	case v1.RestartPolicyOnFailure:
		return pod.Status.Phase != v1.PodSucceeded
	}
	return true
}

func address(svc *v1.Service, pod *v1.Pod) v1.EndpointAddress {
	a := v1.EndpointAddress{
		IP: pod.Status.PodIP,
		TargetRef: &v1.ObjectReference{
			Kind: "Pod", Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID,
		},
	}
	if pod.Spec.NodeName != "" {
		n := pod.Spec.NodeName
		a.NodeName = &n
	}
	if pod.Spec.Hostname != "" && pod.Spec.Subdomain == svc.Name {
		a.Hostname = pod.Spec.Hostname
	}
	return a
}

func subset(addr v1.EndpointAddress, ready bool, ports []v1.EndpointPort) v1.EndpointSubset {
	if ready {
		return v1.EndpointSubset{Addresses: []v1.EndpointAddress{addr}, Ports: ports}
	}
	return v1.EndpointSubset{NotReadyAddresses: []v1.EndpointAddress{addr}, Ports: ports}
}

// portKey is an EndpointPort usable as a map key.
type portKey struct {
	name, protocol, appProtocol string
	port                        int32
	hasApp                      bool
}

func keyOfPort(p v1.EndpointPort) portKey {
	k := portKey{name: p.Name, protocol: string(p.Protocol), port: p.Port}
	if p.AppProtocol != nil {
		k.appProtocol, k.hasApp = *p.AppProtocol, true
	}
	return k
}

// addrKey identifies an address: its IP and the pod behind it.
type addrKey struct {
	ip  string
	uid types.UID
}

func keyOfAddr(a *v1.EndpointAddress) addrKey {
	k := addrKey{ip: a.IP}
	if a.TargetRef != nil {
		k.uid = a.TargetRef.UID
	}
	return k
}

// Repack regroups subsets so that each subset holds the addresses offering
// exactly the same set of ports, each address once (ready wins over not
// ready), everything sorted. It is Kubernetes' RepackSubsets with a
// deterministic order.
func Repack(subsets []v1.EndpointSubset) []v1.EndpointSubset {
	addrs := map[addrKey]v1.EndpointAddress{}
	ready := map[addrKey]bool{}
	// noPort stands for "no ports" so port-less addresses are kept.
	noPort := portKey{port: -1}
	portAddrs := map[portKey]map[addrKey]bool{}
	ports := map[portKey]v1.EndpointPort{}
	record := func(a *v1.EndpointAddress, isReady bool, pk portKey) {
		k := keyOfAddr(a)
		if _, ok := addrs[k]; !ok {
			addrs[k] = *a
		}
		ready[k] = ready[k] || isReady
		if portAddrs[pk] == nil {
			portAddrs[pk] = map[addrKey]bool{}
		}
		portAddrs[pk][k] = true
	}
	for i := range subsets {
		s := &subsets[i]
		pks := []portKey{noPort}
		if len(s.Ports) > 0 {
			pks = pks[:0]
			for _, p := range s.Ports {
				pk := keyOfPort(p)
				ports[pk] = p
				pks = append(pks, pk)
			}
		}
		for _, pk := range pks {
			for j := range s.Addresses {
				record(&s.Addresses[j], true, pk)
			}
			for j := range s.NotReadyAddresses {
				record(&s.NotReadyAddresses[j], false, pk)
			}
		}
	}
	// Group ports by the exact set of addresses offering them.
	groups := map[string]*v1.EndpointSubset{}
	for pk, set := range portAddrs {
		keys := make([]addrKey, 0, len(set))
		for k := range set {
			keys = append(keys, k)
		}
		sort.Slice(keys, func(i, j int) bool { return lessAddrKey(keys[i], keys[j]) })
		var id strings.Builder
		for _, k := range keys {
			id.WriteString(k.ip + "/" + string(k.uid) + ",")
		}
		g, ok := groups[id.String()]
		if !ok {
			g = &v1.EndpointSubset{}
			for _, k := range keys {
				if ready[k] {
					g.Addresses = append(g.Addresses, addrs[k])
				} else {
					g.NotReadyAddresses = append(g.NotReadyAddresses, addrs[k])
				}
			}
			groups[id.String()] = g
		}
		if pk != noPort {
			g.Ports = append(g.Ports, ports[pk])
		}
	}
	out := make([]v1.EndpointSubset, 0, len(groups))
	for _, g := range groups {
		sort.Slice(g.Ports, func(i, j int) bool { return lessPort(g.Ports[i], g.Ports[j]) })
		out = append(out, *g)
	}
	sort.Slice(out, func(i, j int) bool { return subsetSortKey(out[i]) < subsetSortKey(out[j]) })
	if len(out) == 0 {
		return nil
	}
	return out
}

func lessAddrKey(a, b addrKey) bool {
	if a.ip != b.ip {
		return ipLess(a.ip, b.ip)
	}
	return a.uid < b.uid
}

// ipLess orders addresses numerically when both parse, else as strings.
func ipLess(a, b string) bool {
	x, errx := netip.ParseAddr(a)
	y, erry := netip.ParseAddr(b)
	if errx == nil && erry == nil {
		return x.Less(y)
	}
	return a < b
}

func lessPort(a, b v1.EndpointPort) bool {
	if a.Name != b.Name {
		return a.Name < b.Name
	}
	if a.Port != b.Port {
		return a.Port < b.Port
	}
	return a.Protocol < b.Protocol
}

func subsetSortKey(s v1.EndpointSubset) string {
	var b strings.Builder
	for _, p := range s.Ports {
		fmt.Fprintf(&b, "%s:%s:%010d,", p.Name, p.Protocol, p.Port)
	}
	b.WriteString("|")
	if len(s.Addresses) > 0 {
		b.WriteString(s.Addresses[0].IP)
	} else if len(s.NotReadyAddresses) > 0 {
		b.WriteString(s.NotReadyAddresses[0].IP)
	}
	return b.String()
}

// Desired returns the Endpoints to write for svc given the current one
// (nil if absent) and the pods of its namespace, or nil when current is
// already right.
func Desired(svc *v1.Service, current *v1.Endpoints, pods []*v1.Pod) *v1.Endpoints {
	subsets := Subsets(svc, pods)
	want := maps.Clone(svc.Labels)
	if want == nil {
		want = map[string]string{}
	}
	if svc.Spec.ClusterIP == v1.ClusterIPNone {
		want[LabelHeadless] = ""
	}
	if current != nil && apiequality.Semantic.DeepEqual(normalize(current.Subsets), subsets) &&
		labels.Equals(current.Labels, want) {
		return nil
	}
	var ep *v1.Endpoints
	if current != nil {
		ep = current.DeepCopy()
	} else {
		ep = &v1.Endpoints{ObjectMeta: metav1.ObjectMeta{Namespace: svc.Namespace, Name: svc.Name}}
	}
	ep.Labels = want
	ep.Subsets = subsets
	return ep
}

// normalize treats an empty subset list like none.
func normalize(s []v1.EndpointSubset) []v1.EndpointSubset {
	if len(s) == 0 {
		return nil
	}
	return s
}

// Relevant reports whether a pod update can change any Endpoints.
func Relevant(old, cur *v1.Pod) bool {
	return old.Status.PodIP != cur.Status.PodIP ||
		podstate.IsReady(old) != podstate.IsReady(cur) ||
		!labels.Equals(old.Labels, cur.Labels) ||
		(old.DeletionTimestamp == nil) != (cur.DeletionTimestamp == nil) ||
		old.Status.Phase != cur.Status.Phase ||
		old.Spec.NodeName != cur.Spec.NodeName ||
		old.Spec.Hostname != cur.Spec.Hostname || old.Spec.Subdomain != cur.Spec.Subdomain
}
