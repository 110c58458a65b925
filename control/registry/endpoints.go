package registry

import (
	"fmt"
	"net"
	"net/netip"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// endpointsStrategy: pkg/registry/core/endpoint/strategy.go. Endpoints
// have no status and no generation.
type endpointsStrategy struct{}

func (endpointsStrategy) prepareForCreate(*corev1.Endpoints)                          {}
func (endpointsStrategy) prepareForUpdate(_, _ *corev1.Endpoints)                     {}
func (endpointsStrategy) prepareForStatusUpdate(_, _ *corev1.Endpoints)               {}
func (endpointsStrategy) specChanged(_, _ *corev1.Endpoints) bool                     { return false }
func (endpointsStrategy) fields(ep *corev1.Endpoints) fields.Set                      { return metaFields(ep, true) }
func (endpointsStrategy) validateStatusUpdate(_, _ *corev1.Endpoints) field.ErrorList { return nil }

func (endpointsStrategy) setDefaults(ep *corev1.Endpoints) {
	for i := range ep.Subsets {
		for j := range ep.Subsets[i].Ports {
			if ep.Subsets[i].Ports[j].Protocol == "" {
				ep.Subsets[i].Ports[j].Protocol = corev1.ProtocolTCP
			}
		}
	}
}

func (endpointsStrategy) validate(ep *corev1.Endpoints) field.ErrorList {
	errs := validateMeta(&ep.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
	return append(errs, validateEndpointSubsets(ep.Subsets, field.NewPath("subsets"))...)
}

func (s endpointsStrategy) validateUpdate(ep, old *corev1.Endpoints) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&ep.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	return append(errs, s.validate(ep)...)
}

func validateEndpointSubsets(subsets []corev1.EndpointSubset, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ss := range subsets {
		idx := fldPath.Index(i)
		if len(ss.Addresses) == 0 && len(ss.NotReadyAddresses) == 0 {
			errs = append(errs, field.Required(idx, "must specify `addresses` or `notReadyAddresses`"))
		}
		for j, a := range ss.Addresses {
			errs = append(errs, validateEndpointAddress(&a, idx.Child("addresses").Index(j))...)
		}
		for j, a := range ss.NotReadyAddresses {
			errs = append(errs, validateEndpointAddress(&a, idx.Child("notReadyAddresses").Index(j))...)
		}
		names := sets.New[string]()
		for j, p := range ss.Ports {
			pPath := idx.Child("ports").Index(j)
			switch {
			case len(ss.Ports) > 1 && p.Name == "":
				errs = append(errs, field.Required(pPath.Child("name"), ""))
			case p.Name != "":
				errs = append(errs, invalidIf(pPath.Child("name"), p.Name, validation.IsDNS1123Label)...)
				if names.Has(p.Name) {
					errs = append(errs, field.Duplicate(pPath.Child("name"), p.Name))
				}
				names.Insert(p.Name)
			}
			errs = append(errs, invalidPort(pPath.Child("port"), p.Port)...)
			errs = append(errs, validateProtocol(p.Protocol, pPath.Child("protocol"))...)
		}
	}
	return errs
}

func validateEndpointAddress(a *corev1.EndpointAddress, fldPath *field.Path) field.ErrorList {
	errs := validation.IsValidIP(fldPath.Child("ip"), a.IP)
	if ip, err := netip.ParseAddr(a.IP); err == nil {
		switch {
		case ip.IsUnspecified():
			errs = append(errs, field.Invalid(fldPath.Child("ip"), a.IP, "may not be unspecified (0.0.0.0)"))
		case ip.IsLoopback():
			errs = append(errs, field.Invalid(fldPath.Child("ip"), a.IP, "may not be in the loopback range (127.0.0.0/8, ::1/128)"))
		case ip.IsLinkLocalUnicast():
			errs = append(errs, field.Invalid(fldPath.Child("ip"), a.IP, "may not be in the link-local range (169.254.0.0/16, fe80::/10)"))
		case ip.IsLinkLocalMulticast():
			errs = append(errs, field.Invalid(fldPath.Child("ip"), a.IP, "may not be in the link-local multicast range (224.0.0.0/24, ff02::/10)"))
		}
	}
	errs = append(errs, invalidIf(fldPath.Child("hostname"), a.Hostname, validation.IsDNS1123Label)...)
	if a.NodeName != nil {
		errs = append(errs, invalidIf(fldPath.Child("nodeName"), *a.NodeName, validation.IsDNS1123Subdomain)...)
	}
	return errs
}

func (endpointsStrategy) columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Endpoints", Type: "string", Description: corev1.Endpoints{}.SwaggerDoc()["subsets"]},
		ageColumn(),
	}
}

func (endpointsStrategy) row(ep *corev1.Endpoints, now time.Time) []interface{} {
	return []interface{}{ep.Name, FormatEndpoints(ep), translateTimestampSince(ep.CreationTimestamp, now)}
}

// FormatEndpoints is kubectl's ENDPOINTS column: up to three ready
// "ip:port" pairs, then " + N more...", or "<none>".
func FormatEndpoints(ep *corev1.Endpoints) string {
	if len(ep.Subsets) == 0 {
		return "<none>"
	}
	const maximum = 3
	var list []string
	count, more := 0, false
	add := func(s string) {
		if len(list) == maximum {
			more = true
			return
		}
		list = append(list, s)
	}
	for _, ss := range ep.Subsets {
		if len(ss.Ports) == 0 {
			// A headless service may have no ports.
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				add(a.IP)
			}
			continue
		}
		for _, p := range ss.Ports {
			count += len(ss.Addresses)
			for _, a := range ss.Addresses {
				add(net.JoinHostPort(a.IP, strconv.Itoa(int(p.Port))))
			}
		}
	}
	out := strings.Join(list, ",")
	if more {
		return fmt.Sprintf("%s + %d more...", out, count-maximum)
	}
	return out
}
