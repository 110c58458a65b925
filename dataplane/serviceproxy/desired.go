package serviceproxy

import (
	"fmt"
	"net/netip"
	"slices"
	"sort"
	"time"

	"github.com/tug-sh/tug/bpf/lb"
	corev1 "k8s.io/api/core/v1"
)

// node is what the desired state depends on besides the objects.
type node struct {
	name      string
	addresses []netip.Addr // IPv4 addresses NodePorts are reachable at
}

// desiredFrontends is every frontend one Service programs on a node, with
// its backends (sorted) and affinity. eps may be nil (no Endpoints yet: the
// frontends exist, without backends, so connections are refused). The
// returned problems are things skipped, each worth a log line.
func desiredFrontends(svc *corev1.Service, eps *corev1.Endpoints, n node) (map[lb.Frontend]lb.Service, []error) {
	out := map[lb.Frontend]lb.Service{}
	if svc == nil || svc.Spec.Type == corev1.ServiceTypeExternalName {
		return out, nil
	}
	var problems []error
	var clusterIPs []netip.Addr
	ips := svc.Spec.ClusterIPs
	if len(ips) == 0 && svc.Spec.ClusterIP != "" {
		ips = []string{svc.Spec.ClusterIP}
	}
	for _, s := range ips {
		if s == corev1.ClusterIPNone || s == "" {
			continue
		}
		ip, err := netip.ParseAddr(s)
		switch {
		case err != nil:
			problems = append(problems, fmt.Errorf("clusterIP %q: %w", s, err))
		case !ip.Is4():
			problems = append(problems, fmt.Errorf("clusterIP %s: IPv6 Services are not supported yet", ip))
		default:
			clusterIPs = append(clusterIPs, ip)
		}
	}
	nodePorts := svc.Spec.Type == corev1.ServiceTypeNodePort || svc.Spec.Type == corev1.ServiceTypeLoadBalancer
	affinity := affinityTimeout(svc)
	localOnly := svc.Spec.InternalTrafficPolicy != nil && *svc.Spec.InternalTrafficPolicy == corev1.ServiceInternalTrafficPolicyLocal

	for _, sp := range svc.Spec.Ports {
		proto, err := lb.ParseProtocol(protocolOr(sp.Protocol))
		if err != nil {
			problems = append(problems, fmt.Errorf("port %q: %w", sp.Name, err))
			continue
		}
		backends, bad := backendsFor(sp.Name, proto, eps, "")
		problems = append(problems, bad...)
		clusterBackends := backends
		if localOnly {
			clusterBackends, _ = backendsFor(sp.Name, proto, eps, n.name)
		}
		for _, ip := range clusterIPs {
			fe := lb.Frontend{Address: ip, Port: uint16(sp.Port), Protocol: proto}
			out[fe] = lb.Service{Frontend: fe, Backends: clusterBackends, AffinityTimeout: affinity}
		}
		if nodePorts && sp.NodePort != 0 {
			for _, ip := range n.addresses {
				fe := lb.Frontend{Address: ip, Port: uint16(sp.NodePort), Protocol: proto}
				out[fe] = lb.Service{Frontend: fe, Backends: backends, AffinityTimeout: affinity}
			}
		}
	}
	return out, problems
}

func protocolOr(p corev1.Protocol) string {
	if p == "" {
		return string(corev1.ProtocolTCP)
	}
	return string(p)
}

func affinityTimeout(svc *corev1.Service) time.Duration {
	if svc.Spec.SessionAffinity != corev1.ServiceAffinityClientIP {
		return 0
	}
	secs := corev1.DefaultClientIPServiceAffinitySeconds
	if c := svc.Spec.SessionAffinityConfig; c != nil && c.ClientIP != nil && c.ClientIP.TimeoutSeconds != nil && *c.ClientIP.TimeoutSeconds > 0 {
		secs = *c.ClientIP.TimeoutSeconds
	}
	return time.Duration(secs) * time.Second
}

// backendsFor resolves a Service port to backends: the ready addresses of
// every Endpoints subset that has a port of the same name and protocol, at
// that port's number (the endpoints controller resolved targetPort). With
// nodeName set, only addresses on that node count.
func backendsFor(portName string, proto lb.Protocol, eps *corev1.Endpoints, nodeName string) ([]lb.Backend, []error) {
	if eps == nil {
		return nil, nil
	}
	var out []lb.Backend
	var problems []error
	for _, ss := range eps.Subsets {
		for _, p := range ss.Ports {
			if p.Name != portName || protocolOr(p.Protocol) != proto.String() {
				continue
			}
			if p.Port <= 0 || p.Port > 65535 {
				problems = append(problems, fmt.Errorf("endpoints port %q: %d is not a port", p.Name, p.Port))
				continue
			}
			for _, a := range ss.Addresses { // NotReadyAddresses never serve
				if nodeName != "" && (a.NodeName == nil || *a.NodeName != nodeName) {
					continue
				}
				ip, err := netip.ParseAddr(a.IP)
				if err != nil || !ip.Is4() {
					problems = append(problems, fmt.Errorf("endpoint address %q: not an IPv4 address", a.IP))
					continue
				}
				out = append(out, lb.Backend{Address: ip, Port: uint16(p.Port)})
			}
		}
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Compare(out[j]) < 0 })
	return slices.Compact(out), problems
}

// diff is what to change to take the maps from current to desired: the
// frontends to write (new, or with other backends or affinity) and the ones
// to delete, each sorted.
func diff(current, desired map[lb.Frontend]lb.Service) (upserts []lb.Service, deletes []lb.Frontend) {
	for fe, want := range desired {
		if have, ok := current[fe]; !ok || !sameService(have, want) {
			upserts = append(upserts, want)
		}
	}
	for fe := range current {
		if _, ok := desired[fe]; !ok {
			deletes = append(deletes, fe)
		}
	}
	sort.Slice(upserts, func(i, j int) bool { return upserts[i].Frontend.Compare(upserts[j].Frontend) < 0 })
	sort.Slice(deletes, func(i, j int) bool { return deletes[i].Compare(deletes[j]) < 0 })
	return upserts, deletes
}

// sameService compares backends as sets (the maps keep their own slot
// order), but a repeated backend makes a difference: only a rewrite
// removes it.
func sameService(a, b lb.Service) bool {
	if a.Frontend != b.Frontend || a.AffinityTimeout.Round(time.Second) != b.AffinityTimeout.Round(time.Second) {
		return false
	}
	return slices.Equal(sortedBackends(a.Backends), sortedBackends(b.Backends))
}

func sortedBackends(bs []lb.Backend) []lb.Backend {
	out := slices.Clone(bs)
	sort.Slice(out, func(i, j int) bool { return out[i].Compare(out[j]) < 0 })
	return out
}
