package registry

import (
	"fmt"
	"net/netip"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// serviceStrategy: pkg/registry/core/service/strategy.go, plus the parts of
// the Service REST storage that are pure (cluster IP normalization, keeping
// allocated values a client left out on update, IP family defaults).
//
// Allocation itself is the API server's: after Default and Validate, a
// Service for which ServiceNeedsClusterIP is true and spec.clusterIP is ""
// gets an address (set both spec.clusterIP and spec.clusterIPs), one with
// an address given has that address allocated; ServiceNeedsNodePorts says
// whether ports with nodePort 0 get one. On update, values present in old
// and absent in the result are released.
type serviceStrategy struct{}

const (
	// maxClientIPAffinitySeconds bounds sessionAffinityConfig.clientIP.timeoutSeconds.
	maxClientIPAffinitySeconds = 86400
)

var (
	supportedServiceTypes         = []corev1.ServiceType{corev1.ServiceTypeClusterIP, corev1.ServiceTypeExternalName, corev1.ServiceTypeLoadBalancer, corev1.ServiceTypeNodePort}
	supportedSessionAffinity      = []corev1.ServiceAffinity{corev1.ServiceAffinityClientIP, corev1.ServiceAffinityNone}
	supportedExternalTraffic      = []corev1.ServiceExternalTrafficPolicy{corev1.ServiceExternalTrafficPolicyCluster, corev1.ServiceExternalTrafficPolicyLocal}
	supportedInternalTraffic      = []corev1.ServiceInternalTrafficPolicy{corev1.ServiceInternalTrafficPolicyCluster, corev1.ServiceInternalTrafficPolicyLocal}
	supportedIPFamilies           = []corev1.IPFamily{corev1.IPv4Protocol, corev1.IPv6Protocol}
	supportedIPFamilyPolicies     = []corev1.IPFamilyPolicy{corev1.IPFamilyPolicyPreferDualStack, corev1.IPFamilyPolicyRequireDualStack, corev1.IPFamilyPolicySingleStack}
	serviceIPFamiliesOfTheCluster = []corev1.IPFamily{corev1.IPv4Protocol}
)

func (serviceStrategy) prepareForCreate(svc *corev1.Service) {
	svc.Status = corev1.ServiceStatus{}
	// An old client sets only the singular field.
	if svc.Spec.ClusterIP != "" && len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
}

func (serviceStrategy) prepareForUpdate(svc, old *corev1.Service) {
	svc.Status = *old.Status.DeepCopy()
	dropTypeDependentFields(svc, old)
	patchAllocatedValues(svc, old)
	normalizeClusterIPs(svc, old)
}

func (serviceStrategy) prepareForStatusUpdate(svc, old *corev1.Service) {
	svc.Spec = *old.Spec.DeepCopy()
}

// dropTypeDependentFields clears what the new type does not use when the
// client changed the type but left those fields as they were (so that
// `type: ClusterIP` on a NodePort service just works).
func dropTypeDependentFields(svc, old *corev1.Service) {
	// As kube: each field the old type implied is cleared on its own when
	// the client left it as it was.
	if !ServiceNeedsClusterIP(svc) && ServiceNeedsClusterIP(old) {
		if sameStrings(svc.Spec.ClusterIPs, old.Spec.ClusterIPs) && svc.Spec.ClusterIP == old.Spec.ClusterIP {
			svc.Spec.ClusterIP, svc.Spec.ClusterIPs = "", nil
		}
		if equality.Semantic.DeepEqual(svc.Spec.IPFamilies, old.Spec.IPFamilies) {
			svc.Spec.IPFamilies = nil
		}
		if equality.Semantic.DeepEqual(svc.Spec.IPFamilyPolicy, old.Spec.IPFamilyPolicy) {
			svc.Spec.IPFamilyPolicy = nil
		}
	}
	if !ServiceNeedsNodePorts(svc) && ServiceNeedsNodePorts(old) && sameNodePorts(svc, old) {
		for i := range svc.Spec.Ports {
			svc.Spec.Ports[i].NodePort = 0
		}
	}
	if !externallyAccessible(svc) && svc.Spec.ExternalTrafficPolicy == old.Spec.ExternalTrafficPolicy {
		svc.Spec.ExternalTrafficPolicy = ""
	}
	if svc.Spec.Type == corev1.ServiceTypeExternalName && equality.Semantic.DeepEqual(svc.Spec.InternalTrafficPolicy, old.Spec.InternalTrafficPolicy) {
		svc.Spec.InternalTrafficPolicy = nil
	}
	if svc.Spec.Type != corev1.ServiceTypeLoadBalancer && equality.Semantic.DeepEqual(svc.Spec.AllocateLoadBalancerNodePorts, old.Spec.AllocateLoadBalancerNodePorts) {
		svc.Spec.AllocateLoadBalancerNodePorts = nil
	}
	if svc.Spec.HealthCheckNodePort == old.Spec.HealthCheckNodePort && !(svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal) {
		svc.Spec.HealthCheckNodePort = 0
	}
}

func sameStrings(a, b []string) bool { return equality.Semantic.DeepEqual(a, b) }

func sameNodePorts(svc, old *corev1.Service) bool {
	// Compare by port name, as the client may have reordered ports.
	oldPorts := map[string]int32{}
	for _, p := range old.Spec.Ports {
		oldPorts[p.Name] = p.NodePort
	}
	for _, p := range svc.Spec.Ports {
		if n, ok := oldPorts[p.Name]; !ok || n != p.NodePort {
			return false
		}
	}
	return true
}

// patchAllocatedValues fills in, on update, the cluster IP and node ports
// that the client left out but the Service already has, so that a PUT of
// the original manifest does not try to change them.
func patchAllocatedValues(svc, old *corev1.Service) {
	// Headless ("None") counts as allocated here, as in Kubernetes.
	if old.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.Type != corev1.ServiceTypeExternalName {
		if svc.Spec.ClusterIP == "" {
			svc.Spec.ClusterIP = old.Spec.ClusterIP
		}
		if len(svc.Spec.ClusterIPs) == 0 && len(old.Spec.ClusterIPs) > 0 {
			svc.Spec.ClusterIPs = append([]string(nil), old.Spec.ClusterIPs...)
		}
	}
	if ServiceNeedsNodePorts(old) && ServiceNeedsNodePorts(svc) {
		used := sets.New[int32]()
		for _, p := range svc.Spec.Ports {
			if p.NodePort != 0 {
				used.Insert(p.NodePort)
			}
		}
		byName := map[string]int32{}
		for _, p := range old.Spec.Ports {
			byName[p.Name] = p.NodePort
		}
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			if p.NodePort == 0 && !used.Has(byName[p.Name]) {
				p.NodePort = byName[p.Name]
				used.Insert(p.NodePort)
			}
		}
	}
	if svc.Spec.HealthCheckNodePort == 0 && needsHealthCheckNodePort(old) && needsHealthCheckNodePort(svc) {
		svc.Spec.HealthCheckNodePort = old.Spec.HealthCheckNodePort
	}
}

// normalizeClusterIPs keeps spec.clusterIPs in step with spec.clusterIP
// when an old client changed only the singular field.
func normalizeClusterIPs(svc, old *corev1.Service) {
	if svc.Spec.ClusterIP == "" && old.Spec.ClusterIP != "" && sameStrings(svc.Spec.ClusterIPs, old.Spec.ClusterIPs) {
		svc.Spec.ClusterIPs = nil
	}
	if svc.Spec.ClusterIP != "" && svc.Spec.ClusterIP != old.Spec.ClusterIP && sameStrings(svc.Spec.ClusterIPs, old.Spec.ClusterIPs) {
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
	if svc.Spec.ClusterIP != "" && len(svc.Spec.ClusterIPs) == 0 {
		svc.Spec.ClusterIPs = []string{svc.Spec.ClusterIP}
	}
}

// ServiceNeedsClusterIP reports whether svc is to have an allocated
// cluster IP: every type but ExternalName, unless headless (clusterIP
// "None").
func ServiceNeedsClusterIP(svc *corev1.Service) bool {
	return svc.Spec.Type != corev1.ServiceTypeExternalName && svc.Spec.ClusterIP != corev1.ClusterIPNone
}

// ServiceNeedsNodePorts reports whether svc's ports get node ports:
// NodePort services, and LoadBalancer services unless
// allocateLoadBalancerNodePorts is false.
func ServiceNeedsNodePorts(svc *corev1.Service) bool {
	switch svc.Spec.Type {
	case corev1.ServiceTypeNodePort:
		return true
	case corev1.ServiceTypeLoadBalancer:
		return svc.Spec.AllocateLoadBalancerNodePorts == nil || *svc.Spec.AllocateLoadBalancerNodePorts
	}
	return false
}

func needsHealthCheckNodePort(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer && svc.Spec.ExternalTrafficPolicy == corev1.ServiceExternalTrafficPolicyLocal
}

// externallyAccessible: reachable from outside the cluster (node ports, a
// load balancer, or external IPs).
func externallyAccessible(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeLoadBalancer || svc.Spec.Type == corev1.ServiceTypeNodePort ||
		(svc.Spec.Type == corev1.ServiceTypeClusterIP && len(svc.Spec.ExternalIPs) > 0)
}

func isHeadless(svc *corev1.Service) bool {
	return svc.Spec.Type == corev1.ServiceTypeClusterIP && len(svc.Spec.ClusterIPs) == 1 && svc.Spec.ClusterIPs[0] == corev1.ClusterIPNone
}

// IsHeadlessService reports whether svc has clusterIP "None": DNS names
// its endpoints directly, no virtual IP is load-balanced.
func IsHeadlessService(svc *corev1.Service) bool { return svc.Spec.ClusterIP == corev1.ClusterIPNone }

// setDefaults follows SetDefaults_Service and the IP family defaults of
// the Service REST storage (single-stack IPv4: tug's service ranges are
// IPv4).
func (serviceStrategy) setDefaults(svc *corev1.Service) {
	spec := &svc.Spec
	if spec.SessionAffinity == "" {
		spec.SessionAffinity = corev1.ServiceAffinityNone
	}
	if spec.SessionAffinity == corev1.ServiceAffinityNone {
		spec.SessionAffinityConfig = nil
	}
	if spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		if c := spec.SessionAffinityConfig; c == nil || c.ClientIP == nil || c.ClientIP.TimeoutSeconds == nil {
			spec.SessionAffinityConfig = &corev1.SessionAffinityConfig{
				ClientIP: &corev1.ClientIPConfig{TimeoutSeconds: ptrTo(corev1.DefaultClientIPServiceAffinitySeconds)},
			}
		}
	}
	if spec.Type == "" {
		spec.Type = corev1.ServiceTypeClusterIP
	}
	for i := range spec.Ports {
		p := &spec.Ports[i]
		if p.Protocol == "" {
			p.Protocol = corev1.ProtocolTCP
		}
		if p.TargetPort == intstr.FromInt32(0) || p.TargetPort == intstr.FromString("") {
			p.TargetPort = intstr.FromInt32(p.Port)
		}
	}
	if externallyAccessible(svc) && spec.ExternalTrafficPolicy == "" {
		spec.ExternalTrafficPolicy = corev1.ServiceExternalTrafficPolicyCluster
	}
	if spec.InternalTrafficPolicy == nil && spec.Type != corev1.ServiceTypeExternalName {
		spec.InternalTrafficPolicy = ptrTo(corev1.ServiceInternalTrafficPolicyCluster)
	}
	if spec.Type == corev1.ServiceTypeLoadBalancer && spec.AllocateLoadBalancerNodePorts == nil {
		spec.AllocateLoadBalancerNodePorts = ptrTo(true)
	}
	if spec.ClusterIP == corev1.ClusterIPNone && len(spec.ClusterIPs) == 0 {
		spec.ClusterIPs = []string{corev1.ClusterIPNone}
	}
	// IP families: none for ExternalName; the cluster's for a headless
	// service without selector; else single-stack of the cluster's family.
	switch {
	case spec.Type == corev1.ServiceTypeExternalName:
	case spec.ClusterIP == corev1.ClusterIPNone && len(spec.Selector) == 0:
		if spec.IPFamilyPolicy == nil {
			spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicyRequireDualStack)
		}
		if len(spec.IPFamilies) == 0 {
			spec.IPFamilies = append([]corev1.IPFamily(nil), serviceIPFamiliesOfTheCluster...)
		}
	default:
		if len(spec.IPFamilies) == 0 {
			family := serviceIPFamiliesOfTheCluster[0]
			if ip, err := netip.ParseAddr(spec.ClusterIP); err == nil && ip.Is6() {
				family = corev1.IPv6Protocol
			}
			spec.IPFamilies = []corev1.IPFamily{family}
		}
		if spec.IPFamilyPolicy == nil {
			spec.IPFamilyPolicy = ptrTo(corev1.IPFamilyPolicySingleStack)
		}
	}
}

func (serviceStrategy) validate(svc *corev1.Service) field.ErrorList {
	errs := validateMeta(&svc.ObjectMeta, true, apivalidation.NameIsDNS1035Label)
	spec, specPath := &svc.Spec, field.NewPath("spec")

	switch {
	case spec.Type == "":
		errs = append(errs, field.Required(specPath.Child("type"), ""))
	case !oneOf(spec.Type, supportedServiceTypes):
		errs = append(errs, field.NotSupported(specPath.Child("type"), spec.Type, supportedServiceTypes))
	}

	if spec.Type == corev1.ServiceTypeExternalName {
		if len(spec.ClusterIPs) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("clusterIPs"), "may not be set for ExternalName services"))
		}
		if len(spec.IPFamilies) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilies"), "may not be set for ExternalName services"))
		}
		if spec.IPFamilyPolicy != nil {
			errs = append(errs, field.Forbidden(specPath.Child("ipFamilyPolicy"), "may not be set for ExternalName services"))
		}
		if cname := strings.TrimSuffix(spec.ExternalName, "."); cname == "" {
			errs = append(errs, field.Required(specPath.Child("externalName"), ""))
		} else {
			errs = append(errs, invalidIf(specPath.Child("externalName"), cname, validation.IsDNS1123Subdomain)...)
		}
	} else {
		errs = append(errs, validateClusterIPs(svc)...)
	}

	portsPath := specPath.Child("ports")
	if len(spec.Ports) == 0 && !isHeadless(svc) && spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, field.Required(portsPath, ""))
	}
	names := sets.New[string]()
	type portKey struct {
		protocol corev1.Protocol
		port     int32
	}
	seenPorts, seenNodePorts := map[portKey]bool{}, map[portKey]bool{}
	for i := range spec.Ports {
		p, pPath := &spec.Ports[i], portsPath.Index(i)
		errs = append(errs, validateServicePort(p, len(spec.Ports) > 1, names, pPath)...)
		if p.NodePort != 0 {
			if spec.Type == corev1.ServiceTypeClusterIP || spec.Type == corev1.ServiceTypeExternalName {
				errs = append(errs, field.Forbidden(pPath.Child("nodePort"), fmt.Sprintf("may not be used when `type` is '%s'", spec.Type)))
			}
			errs = append(errs, invalidPort(pPath.Child("nodePort"), p.NodePort)...)
			k := portKey{p.Protocol, p.NodePort}
			if seenNodePorts[k] {
				errs = append(errs, field.Duplicate(pPath.Child("nodePort"), p.NodePort))
			}
			seenNodePorts[k] = true
		}
		k := portKey{p.Protocol, p.Port}
		if seenPorts[k] {
			errs = append(errs, field.Duplicate(pPath, fmt.Sprintf("%d/%s", p.Port, p.Protocol)))
		}
		seenPorts[k] = true
	}
	if (spec.Type == corev1.ServiceTypeNodePort || spec.Type == corev1.ServiceTypeLoadBalancer) && len(spec.ClusterIPs) > 0 && spec.ClusterIPs[0] == corev1.ClusterIPNone {
		errs = append(errs, field.Invalid(specPath.Child("clusterIPs").Index(0), spec.ClusterIPs[0], fmt.Sprintf("may not be set to 'None' for %s services", spec.Type)))
	}

	if spec.Type != corev1.ServiceTypeExternalName {
		errs = append(errs, metavalidation.ValidateLabels(spec.Selector, specPath.Child("selector"))...)
	}

	switch {
	case spec.SessionAffinity == "":
		errs = append(errs, field.Required(specPath.Child("sessionAffinity"), ""))
	case !oneOf(spec.SessionAffinity, supportedSessionAffinity):
		errs = append(errs, field.NotSupported(specPath.Child("sessionAffinity"), spec.SessionAffinity, supportedSessionAffinity))
	}
	cfgPath := specPath.Child("sessionAffinityConfig")
	if spec.SessionAffinity == corev1.ServiceAffinityClientIP {
		why := fmt.Sprintf("when session affinity type is %s", corev1.ServiceAffinityClientIP)
		switch c := spec.SessionAffinityConfig; {
		case c == nil:
			errs = append(errs, field.Required(cfgPath, why))
		case c.ClientIP == nil:
			errs = append(errs, field.Required(cfgPath.Child("clientIP"), why))
		case c.ClientIP.TimeoutSeconds == nil:
			errs = append(errs, field.Required(cfgPath.Child("clientIP", "timeoutSeconds"), why))
		case *c.ClientIP.TimeoutSeconds <= 0 || *c.ClientIP.TimeoutSeconds > maxClientIPAffinitySeconds:
			errs = append(errs, field.Invalid(cfgPath.Child("clientIP", "timeoutSeconds"), *c.ClientIP.TimeoutSeconds,
				fmt.Sprintf("must be greater than 0 and less than %d", maxClientIPAffinitySeconds)))
		}
	} else if spec.SessionAffinityConfig != nil {
		errs = append(errs, field.Forbidden(cfgPath, fmt.Sprintf("must not be set when session affinity is %s", corev1.ServiceAffinityNone)))
	}

	for i, ip := range spec.ExternalIPs {
		errs = append(errs, validation.IsValidIP(specPath.Child("externalIPs").Index(i), ip)...)
	}

	etpPath := specPath.Child("externalTrafficPolicy")
	switch {
	case !externallyAccessible(svc):
		if spec.ExternalTrafficPolicy != "" {
			errs = append(errs, field.Invalid(etpPath, spec.ExternalTrafficPolicy, "may only be set for externally-accessible services"))
		}
	case spec.ExternalTrafficPolicy == "":
		errs = append(errs, field.Required(etpPath, ""))
	case !oneOf(spec.ExternalTrafficPolicy, supportedExternalTraffic):
		errs = append(errs, field.NotSupported(etpPath, spec.ExternalTrafficPolicy, supportedExternalTraffic))
	}
	if spec.HealthCheckNodePort != 0 && !needsHealthCheckNodePort(svc) {
		errs = append(errs, field.Invalid(specPath.Child("healthCheckNodePort"), spec.HealthCheckNodePort,
			"may only be set when `type` is 'LoadBalancer' and `externalTrafficPolicy` is 'Local'"))
	}
	if spec.Type != corev1.ServiceTypeExternalName {
		itpPath := specPath.Child("internalTrafficPolicy")
		switch {
		case spec.InternalTrafficPolicy == nil:
			errs = append(errs, field.Required(itpPath, ""))
		case !oneOf(*spec.InternalTrafficPolicy, supportedInternalTraffic):
			errs = append(errs, field.NotSupported(itpPath, *spec.InternalTrafficPolicy, supportedInternalTraffic))
		}
	}
	if spec.Type != corev1.ServiceTypeLoadBalancer {
		if len(spec.LoadBalancerSourceRanges) > 0 {
			errs = append(errs, field.Forbidden(specPath.Child("loadBalancerSourceRanges"), "may only be used when `type` is 'LoadBalancer'"))
		}
		if spec.AllocateLoadBalancerNodePorts != nil {
			errs = append(errs, field.Forbidden(specPath.Child("allocateLoadBalancerNodePorts"), "may only be used when `type` is 'LoadBalancer'"))
		}
	}
	for i, cidr := range spec.LoadBalancerSourceRanges {
		errs = append(errs, validation.IsValidCIDR(specPath.Child("loadBalancerSourceRanges").Index(i), strings.TrimSpace(cidr))...)
	}
	return errs
}

func validateServicePort(p *corev1.ServicePort, requireName bool, names sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch {
	case requireName && p.Name == "":
		errs = append(errs, field.Required(fldPath.Child("name"), ""))
	case p.Name != "":
		errs = append(errs, invalidIf(fldPath.Child("name"), p.Name, validation.IsDNS1123Label)...)
		if names.Has(p.Name) {
			errs = append(errs, field.Duplicate(fldPath.Child("name"), p.Name))
		}
		names.Insert(p.Name)
	}
	errs = append(errs, invalidPort(fldPath.Child("port"), p.Port)...)
	errs = append(errs, validateProtocol(p.Protocol, fldPath.Child("protocol"))...)
	errs = append(errs, validatePortNumOrName(p.TargetPort, fldPath.Child("targetPort"))...)
	return errs
}

// validateClusterIPs follows validateServiceClusterIPsRelatedFields for a
// single-stack IPv4 cluster.
func validateClusterIPs(svc *corev1.Service) field.ErrorList {
	var errs field.ErrorList
	spec, specPath := &svc.Spec, field.NewPath("spec")
	ipsPath, famPath, polPath := specPath.Child("clusterIPs"), specPath.Child("ipFamilies"), specPath.Child("ipFamilyPolicy")

	if spec.ClusterIP != "" {
		if len(spec.ClusterIPs) == 0 {
			errs = append(errs, field.Required(ipsPath, ""))
		} else if spec.ClusterIPs[0] != spec.ClusterIP {
			errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "first value must match `clusterIP`"))
		}
	} else if len(spec.ClusterIPs) != 0 {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "must be empty when `clusterIP` is not specified"))
	}

	seen := sets.New[corev1.IPFamily]()
	for i, f := range spec.IPFamilies {
		switch {
		case !oneOf(f, supportedIPFamilies):
			errs = append(errs, field.NotSupported(famPath.Index(i), f, supportedIPFamilies))
		case !oneOf(f, serviceIPFamiliesOfTheCluster):
			errs = append(errs, field.Invalid(famPath.Index(i), f, "not configured on this cluster"))
		}
		if seen.Has(f) {
			errs = append(errs, field.Duplicate(famPath.Index(i), f))
		}
		seen.Insert(f)
	}
	if p := spec.IPFamilyPolicy; p != nil {
		switch {
		case !oneOf(*p, supportedIPFamilyPolicies):
			errs = append(errs, field.NotSupported(polPath, *p, supportedIPFamilyPolicies))
		case *p == corev1.IPFamilyPolicyRequireDualStack && !(spec.ClusterIP == corev1.ClusterIPNone && len(spec.Selector) == 0):
			errs = append(errs, field.Invalid(polPath, *p, "this cluster is not configured for dual-stack services"))
		}
	}

	invalid := false
	for i, ip := range spec.ClusterIPs {
		if i == 0 && ip == corev1.ClusterIPNone {
			if len(spec.ClusterIPs) > 1 {
				invalid = true
				errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "'None' must be the first and only value"))
			}
			continue
		}
		ipErrs := validation.IsValidIP(ipsPath.Index(i), ip)
		invalid = invalid || len(ipErrs) > 0
		errs = append(errs, ipErrs...)
	}
	if len(spec.ClusterIPs) > 2 {
		errs = append(errs, field.Invalid(ipsPath, spec.ClusterIPs, "may only hold up to 2 values"))
	}
	if invalid || isHeadless(svc) {
		return errs
	}
	for i, ip := range spec.ClusterIPs {
		if i >= len(spec.IPFamilies) {
			break
		}
		addr, err := netip.ParseAddr(ip)
		if err != nil {
			continue
		}
		if want := spec.IPFamilies[i]; (want == corev1.IPv4Protocol) != addr.Is4() {
			errs = append(errs, field.Invalid(ipsPath.Index(i), ip, fmt.Sprintf("expected an %s value as indicated by `ipFamilies[%d]`", want, i)))
		}
	}
	return errs
}

func (s serviceStrategy) validateUpdate(svc, old *corev1.Service) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&svc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, validateClusterIPsUpdate(svc, old)...)
	return append(errs, s.validate(svc)...)
}

// validateClusterIPsUpdate: the primary cluster IP and IP family may not
// change, except to or from ExternalName.
func validateClusterIPsUpdate(svc, old *corev1.Service) field.ErrorList {
	if svc.Spec.Type == corev1.ServiceTypeExternalName || old.Spec.Type == corev1.ServiceTypeExternalName {
		return nil
	}
	if isHeadless(svc) && isHeadless(old) {
		return nil
	}
	var errs field.ErrorList
	ipsPath := field.NewPath("spec", "clusterIPs")
	newIPs, oldIPs := svc.Spec.ClusterIPs, old.Spec.ClusterIPs
	switch {
	case len(oldIPs) == len(newIPs):
		for i := range oldIPs {
			if oldIPs[i] != newIPs[i] {
				errs = append(errs, field.Invalid(ipsPath.Index(i), newIPs, "may not change once set"))
			}
		}
	case len(oldIPs) > len(newIPs):
		if len(newIPs) == 0 {
			errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "primary clusterIP can not be unset"))
		} else if newIPs[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "may not change once set"))
		}
	default:
		if len(oldIPs) > 0 && newIPs[0] != oldIPs[0] {
			errs = append(errs, field.Invalid(ipsPath.Index(0), newIPs, "may not change once set"))
		}
	}
	if len(old.Spec.IPFamilies) > 0 && len(svc.Spec.IPFamilies) > 0 && old.Spec.IPFamilies[0] != svc.Spec.IPFamilies[0] {
		errs = append(errs, field.Invalid(field.NewPath("spec", "ipFamilies").Index(0), svc.Spec.IPFamilies, "may not change once set"))
	}
	return errs
}

func (serviceStrategy) validateStatusUpdate(svc, old *corev1.Service) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&svc.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	ingPath := field.NewPath("status", "loadBalancer", "ingress")
	for i, ing := range svc.Status.LoadBalancer.Ingress {
		if ing.IP != "" {
			errs = append(errs, validation.IsValidIP(ingPath.Index(i).Child("ip"), ing.IP)...)
		}
		if ing.Hostname != "" {
			errs = append(errs, invalidIf(ingPath.Index(i).Child("hostname"), ing.Hostname, validation.IsDNS1123Subdomain)...)
		}
	}
	return errs
}

func (serviceStrategy) specChanged(svc, old *corev1.Service) bool {
	return !equality.Semantic.DeepEqual(svc.Spec, old.Spec)
}

func (serviceStrategy) fields(svc *corev1.Service) fields.Set {
	s := metaFields(svc, true)
	s["spec.clusterIP"] = svc.Spec.ClusterIP
	s["spec.type"] = string(svc.Spec.Type)
	return s
}

func (serviceStrategy) columns() []metav1.TableColumnDefinition {
	doc := corev1.ServiceSpec{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Type", Type: "string", Description: doc["type"]},
		{Name: "Cluster-IP", Type: "string", Description: doc["clusterIP"]},
		{Name: "External-IP", Type: "string", Description: doc["externalIPs"]},
		{Name: "Port(s)", Type: "string", Description: doc["ports"]},
		ageColumn(),
		{Name: "Selector", Type: "string", Priority: 1, Description: doc["selector"]},
	}
}

func (serviceStrategy) row(svc *corev1.Service, now time.Time) []interface{} {
	clusterIP := "<none>"
	if len(svc.Spec.ClusterIPs) > 0 {
		clusterIP = svc.Spec.ClusterIPs[0]
	}
	ports := ServicePortsString(svc.Spec.Ports)
	if ports == "" {
		ports = "<none>"
	}
	return []interface{}{
		svc.Name, string(svc.Spec.Type), clusterIP, serviceExternalIP(svc), ports,
		translateTimestampSince(svc.CreationTimestamp, now), labels.FormatLabels(svc.Spec.Selector),
	}
}

// ServicePortsString formats ports as kubectl's PORT(S) column:
// "80/TCP,443:30443/TCP".
func ServicePortsString(ports []corev1.ServicePort) string {
	pieces := make([]string, len(ports))
	for i, p := range ports {
		if p.NodePort > 0 {
			pieces[i] = fmt.Sprintf("%d:%d/%s", p.Port, p.NodePort, p.Protocol)
		} else {
			pieces[i] = fmt.Sprintf("%d/%s", p.Port, p.Protocol)
		}
	}
	return strings.Join(pieces, ",")
}

// serviceExternalIP is kubectl's EXTERNAL-IP column (wide form).
func serviceExternalIP(svc *corev1.Service) string {
	switch svc.Spec.Type {
	case corev1.ServiceTypeClusterIP, corev1.ServiceTypeNodePort:
		if len(svc.Spec.ExternalIPs) > 0 {
			return strings.Join(svc.Spec.ExternalIPs, ",")
		}
		return "<none>"
	case corev1.ServiceTypeLoadBalancer:
		var lb []string
		seen := sets.New[string]()
		for _, ing := range svc.Status.LoadBalancer.Ingress {
			v := ing.IP
			if v == "" {
				v = ing.Hostname
			}
			if v != "" && !seen.Has(v) {
				seen.Insert(v)
				lb = append(lb, v)
			}
		}
		all := append(lb, svc.Spec.ExternalIPs...)
		if len(all) > 0 {
			return strings.Join(all, ",")
		}
		return "<pending>"
	case corev1.ServiceTypeExternalName:
		return svc.Spec.ExternalName
	}
	return "<unknown>"
}
