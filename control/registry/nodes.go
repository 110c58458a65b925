package registry

import (
	"net/netip"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// nodeStrategy: pkg/registry/core/node/strategy.go. A node agent registers
// its Node with status filled in, so create keeps the status.
type nodeStrategy struct{}

// Node role labels kubectl reads for the ROLES column.
const (
	labelNodeRolePrefix = "node-role.kubernetes.io/"
	labelNodeRole       = "kubernetes.io/role"
)

func (nodeStrategy) prepareForCreate(node *corev1.Node) {}

func (nodeStrategy) prepareForUpdate(node, old *corev1.Node) {
	node.Status = *old.Status.DeepCopy()
}

func (nodeStrategy) prepareForStatusUpdate(node, old *corev1.Node) {
	node.Spec = *old.Spec.DeepCopy()
	setNodeStatusDefaults(&node.Status)
}

func (nodeStrategy) setDefaults(node *corev1.Node) {
	// Keep podCIDR and podCIDRs in step (the conversion from the internal
	// type does this in Kubernetes).
	if len(node.Spec.PodCIDRs) == 0 && node.Spec.PodCIDR != "" {
		node.Spec.PodCIDRs = []string{node.Spec.PodCIDR}
	} else if len(node.Spec.PodCIDRs) > 0 && node.Spec.PodCIDR == "" {
		node.Spec.PodCIDR = node.Spec.PodCIDRs[0]
	}
	setNodeStatusDefaults(&node.Status)
}

// setNodeStatusDefaults: allocatable defaults to capacity.
func setNodeStatusDefaults(st *corev1.NodeStatus) {
	if st.Allocatable == nil && st.Capacity != nil {
		st.Allocatable = st.Capacity.DeepCopy()
	}
}

func (nodeStrategy) validate(node *corev1.Node) field.ErrorList {
	errs := validateMeta(&node.ObjectMeta, false, apivalidation.NameIsDNSSubdomain)
	specPath := field.NewPath("spec")
	if node.Spec.PodCIDR != "" && (len(node.Spec.PodCIDRs) == 0 || node.Spec.PodCIDRs[0] != node.Spec.PodCIDR) {
		errs = append(errs, field.Invalid(specPath.Child("podCIDRs"), node.Spec.PodCIDRs, "first value must match `podCIDR`"))
	}
	if len(node.Spec.PodCIDRs) > 2 {
		errs = append(errs, field.Invalid(specPath.Child("podCIDRs"), node.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
	}
	families := map[bool]bool{}
	for i, c := range node.Spec.PodCIDRs {
		p := specPath.Child("podCIDRs").Index(i)
		cidrErrs := validation.IsValidCIDR(p, c)
		errs = append(errs, cidrErrs...)
		if len(cidrErrs) == 0 {
			is4 := netip.MustParsePrefix(c).Addr().Is4()
			if families[is4] {
				errs = append(errs, field.Invalid(specPath.Child("podCIDRs"), node.Spec.PodCIDRs, "may specify no more than one CIDR for each IP family"))
			}
			families[is4] = true
		}
	}
	errs = append(errs, validateTaints(node.Spec.Taints, specPath.Child("taints"))...)
	errs = append(errs, validateNodeStatus(&node.Status, field.NewPath("status"))...)
	return errs
}

func validateTaints(taints []corev1.Taint, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for i, t := range taints {
		idx := fldPath.Index(i)
		errs = append(errs, metavalidation.ValidateLabelName(t.Key, idx.Child("key"))...)
		if t.Value != "" {
			for _, msg := range validation.IsValidLabelValue(t.Value) {
				errs = append(errs, field.Invalid(idx.Child("value"), t.Value, msg))
			}
		}
		switch {
		case t.Effect == "":
			errs = append(errs, field.Required(idx.Child("effect"), ""))
		case !oneOf(t.Effect, supportedTaintEffects):
			errs = append(errs, field.NotSupported(idx.Child("effect"), t.Effect, supportedTaintEffects))
		}
		key := t.Key + "/" + string(t.Effect)
		if seen.Has(key) {
			errs = append(errs, field.Duplicate(idx, "taints must be unique by key and effect pair"))
		}
		seen.Insert(key)
	}
	return errs
}

func validateNodeStatus(st *corev1.NodeStatus, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, list := range []struct {
		name string
		rl   corev1.ResourceList
	}{{"capacity", st.Capacity}, {"allocatable", st.Allocatable}} {
		for _, name := range sortedResourceNames(list.rl) {
			q := list.rl[name]
			if q.Sign() < 0 {
				errs = append(errs, field.Invalid(fldPath.Child(list.name).Key(string(name)), q.String(), "must be greater than or equal to 0"))
			}
		}
	}
	for i, a := range st.Addresses {
		if a.Type == "" {
			errs = append(errs, field.Required(fldPath.Child("addresses").Index(i).Child("type"), ""))
		}
	}
	return errs
}

func (s nodeStrategy) validateUpdate(node, old *corev1.Node) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&node.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, s.validate(node)...)
	// The node IPAM controller may assign a pod CIDR once; after that it
	// is fixed (pods already have addresses from it).
	if len(old.Spec.PodCIDRs) > 0 && !sameStrings(old.Spec.PodCIDRs, node.Spec.PodCIDRs) {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "podCIDRs"), "node updates may not change podCIDR except from \"\" to valid"))
	}
	if old.Spec.ProviderID != "" && old.Spec.ProviderID != node.Spec.ProviderID {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "providerID"), "node updates may not change providerID except from \"\" to valid"))
	}
	return errs
}

func (s nodeStrategy) validateStatusUpdate(node, old *corev1.Node) field.ErrorList {
	return s.validateUpdate(node, old)
}

func (nodeStrategy) specChanged(node, old *corev1.Node) bool {
	return !equality.Semantic.DeepEqual(node.Spec, old.Spec)
}

func (nodeStrategy) fields(node *corev1.Node) fields.Set {
	s := metaFields(node, false)
	s["spec.unschedulable"] = strconv.FormatBool(node.Spec.Unschedulable)
	return s
}

func (nodeStrategy) columns() []metav1.TableColumnDefinition {
	info, status := corev1.NodeSystemInfo{}.SwaggerDoc(), corev1.NodeStatus{}.SwaggerDoc()
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Status", Type: "string", Description: "The status of the node"},
		{Name: "Roles", Type: "string", Description: "The roles of the node"},
		ageColumn(),
		{Name: "Version", Type: "string", Description: info["kubeletVersion"]},
		{Name: "Internal-IP", Type: "string", Priority: 1, Description: status["addresses"]},
		{Name: "External-IP", Type: "string", Priority: 1, Description: status["addresses"]},
		{Name: "OS-Image", Type: "string", Priority: 1, Description: info["osImage"]},
		{Name: "Kernel-Version", Type: "string", Priority: 1, Description: info["kernelVersion"]},
		{Name: "Container-Runtime", Type: "string", Priority: 1, Description: info["containerRuntimeVersion"]},
	}
}

func (nodeStrategy) row(node *corev1.Node, now time.Time) []interface{} {
	roles := strings.Join(NodeRoles(node), ",")
	if roles == "" {
		roles = "<none>"
	}
	unknown := func(s string) string {
		if s == "" {
			return "<unknown>"
		}
		return s
	}
	info := node.Status.NodeInfo
	return []interface{}{
		node.Name, NodeStatusString(node), roles, translateTimestampSince(node.CreationTimestamp, now), info.KubeletVersion,
		nodeAddress(node, corev1.NodeInternalIP), nodeAddress(node, corev1.NodeExternalIP),
		unknown(info.OSImage), unknown(info.KernelVersion), unknown(info.ContainerRuntimeVersion),
	}
}

func nodeAddress(node *corev1.Node, t corev1.NodeAddressType) string {
	for _, a := range node.Status.Addresses {
		if a.Type == t {
			return a.Address
		}
	}
	return "<none>"
}

// NodeStatusString is kubectl's node STATUS column: "Ready", "NotReady"
// or "Unknown" (no Ready condition), then ",SchedulingDisabled" when the
// node is cordoned.
func NodeStatusString(node *corev1.Node) string {
	status := "Unknown"
	if c := nodeCondition(node, corev1.NodeReady); c != nil {
		if c.Status == corev1.ConditionTrue {
			status = "Ready"
		} else {
			status = "NotReady"
		}
	}
	if node.Spec.Unschedulable {
		status += ",SchedulingDisabled"
	}
	return status
}

// IsNodeReady reports whether node's Ready condition is True.
func IsNodeReady(node *corev1.Node) bool {
	c := nodeCondition(node, corev1.NodeReady)
	return c != nil && c.Status == corev1.ConditionTrue
}

func nodeCondition(node *corev1.Node, t corev1.NodeConditionType) *corev1.NodeCondition {
	for i := range node.Status.Conditions {
		if node.Status.Conditions[i].Type == t {
			return &node.Status.Conditions[i]
		}
	}
	return nil
}

// NodeRoles returns node's roles from its node-role.kubernetes.io/<role>
// and kubernetes.io/role labels, sorted.
func NodeRoles(node *corev1.Node) []string {
	roles := sets.New[string]()
	for k, v := range node.Labels {
		switch {
		case strings.HasPrefix(k, labelNodeRolePrefix):
			if role := strings.TrimPrefix(k, labelNodeRolePrefix); role != "" {
				roles.Insert(role)
			}
		case k == labelNodeRole && v != "":
			roles.Insert(v)
		}
	}
	out := roles.UnsortedList()
	sort.Strings(out)
	return out
}
