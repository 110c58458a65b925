package describe

import (
	"fmt"
	"net"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
)

// Service describes a service with the addresses of its Endpoints object
// (nil: none exists) and its events (nil: not fetched).
func Service(svc *corev1.Service, endpoints *corev1.Endpoints, events *corev1.EventList, now time.Time) string {
	w := newWriter()
	w.write(0, "Name:\t%s\n", svc.Name)
	w.write(0, "Namespace:\t%s\n", svc.Namespace)
	w.labelsMultiline("Labels", svc.Labels)
	w.annotationsMultiline("Annotations", svc.Annotations)
	w.write(0, "Selector:\t%s\n", labels.FormatLabels(svc.Spec.Selector))
	w.write(0, "Type:\t%s\n", svc.Spec.Type)
	if svc.Spec.IPFamilyPolicy != nil {
		w.write(0, "IP Family Policy:\t%s\n", *svc.Spec.IPFamilyPolicy)
	}
	if len(svc.Spec.IPFamilies) > 0 {
		families := make([]string, 0, len(svc.Spec.IPFamilies))
		for _, f := range svc.Spec.IPFamilies {
			families = append(families, string(f))
		}
		w.write(0, "IP Families:\t%s\n", strings.Join(families, ","))
	} else {
		w.write(0, "IP Families:\t<none>\n")
	}
	w.write(0, "IP:\t%s\n", svc.Spec.ClusterIP)
	if len(svc.Spec.ClusterIPs) > 0 {
		w.write(0, "IPs:\t%s\n", strings.Join(svc.Spec.ClusterIPs, ","))
	} else {
		w.write(0, "IPs:\t<none>\n")
	}
	if len(svc.Spec.ExternalIPs) > 0 {
		w.write(0, "External IPs:\t%v\n", strings.Join(svc.Spec.ExternalIPs, ","))
	}
	if svc.Spec.LoadBalancerIP != "" {
		w.write(0, "Desired LoadBalancer IP:\t%s\n", svc.Spec.LoadBalancerIP)
	}
	if svc.Spec.ExternalName != "" {
		w.write(0, "External Name:\t%s\n", svc.Spec.ExternalName)
	}
	if len(svc.Status.LoadBalancer.Ingress) > 0 {
		var ingress []string
		for _, in := range svc.Status.LoadBalancer.Ingress {
			if in.IP != "" {
				ingress = append(ingress, in.IP)
			} else {
				ingress = append(ingress, in.Hostname)
			}
		}
		w.write(0, "LoadBalancer Ingress:\t%s\n", strings.Join(ingress, ", "))
	}
	for _, sp := range svc.Spec.Ports {
		name := sp.Name
		if name == "" {
			name = "<unset>"
		}
		w.write(0, "Port:\t%s\t%d/%s\n", name, sp.Port, sp.Protocol)
		if sp.TargetPort.Type == intstr.Int {
			w.write(0, "TargetPort:\t%d/%s\n", sp.TargetPort.IntVal, sp.Protocol)
		} else {
			w.write(0, "TargetPort:\t%s/%s\n", sp.TargetPort.StrVal, sp.Protocol)
		}
		if sp.NodePort != 0 {
			w.write(0, "NodePort:\t%s\t%d/%s\n", name, sp.NodePort, sp.Protocol)
		}
		w.write(0, "Endpoints:\t%s\n", formatEndpoints(endpoints, sp.Name))
	}
	w.write(0, "Session Affinity:\t%s\n", svc.Spec.SessionAffinity)
	if svc.Spec.ExternalTrafficPolicy != "" {
		w.write(0, "External Traffic Policy:\t%s\n", svc.Spec.ExternalTrafficPolicy)
	}
	if svc.Spec.InternalTrafficPolicy != nil {
		w.write(0, "Internal Traffic Policy:\t%s\n", *svc.Spec.InternalTrafficPolicy)
	}
	if svc.Spec.HealthCheckNodePort != 0 {
		w.write(0, "HealthCheck NodePort:\t%d\n", svc.Spec.HealthCheckNodePort)
	}
	w.events(events, now)
	return w.String()
}

// formatEndpoints lists the ready addresses of the service port named
// portName as ip:port, the first three then "+ N more...", or "<none>".
func formatEndpoints(ep *corev1.Endpoints, portName string) string {
	if ep == nil {
		return "<none>"
	}
	const limit = 3
	var list []string
	count := 0
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 {
			for _, addr := range ss.Addresses {
				if len(list) < limit {
					list = append(list, addr.IP)
				}
				count++
			}
			continue
		}
		for _, port := range ss.Ports {
			if port.Name != portName {
				continue
			}
			for _, addr := range ss.Addresses {
				if len(list) < limit {
					list = append(list, net.JoinHostPort(addr.IP, strconv.Itoa(int(port.Port))))
				}
				count++
			}
		}
	}
	if count == 0 {
		return "<none>"
	}
	s := strings.Join(list, ",")
	if count > limit {
		s += fmt.Sprintf(" + %d more...", count-limit)
	}
	return s
}

// Endpoints describes an Endpoints object and its events (nil: not
// fetched).
func Endpoints(ep *corev1.Endpoints, events *corev1.EventList, now time.Time) string {
	w := newWriter()
	w.write(0, "Name:\t%s\n", ep.Name)
	w.write(0, "Namespace:\t%s\n", ep.Namespace)
	w.labelsMultiline("Labels", ep.Labels)
	w.annotationsMultiline("Annotations", ep.Annotations)
	w.write(0, "Subsets:\n")
	for _, ss := range ep.Subsets {
		w.write(1, "Addresses:\t%s\n", joinIPs(ss.Addresses))
		w.write(1, "NotReadyAddresses:\t%s\n", joinIPs(ss.NotReadyAddresses))
		if len(ss.Ports) > 0 {
			w.write(1, "Ports:\n")
			w.write(2, "Name\tPort\tProtocol\n")
			w.write(2, "----\t----\t--------\n")
			for _, p := range ss.Ports {
				name := p.Name
				if name == "" {
					name = "<unset>"
				}
				w.write(2, "%s\t%d\t%s\n", name, p.Port, p.Protocol)
			}
		}
		w.write(0, "\n")
	}
	w.events(events, now)
	return w.String()
}

func joinIPs(addrs []corev1.EndpointAddress) string {
	ips := make([]string, 0, len(addrs))
	for _, a := range addrs {
		ips = append(ips, a.IP)
	}
	return stringOrNone(strings.Join(ips, ","))
}
