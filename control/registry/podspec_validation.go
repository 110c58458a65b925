package registry

import (
	"fmt"
	"reflect"
	"strings"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	"k8s.io/apimachinery/pkg/api/validate/content"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metavalidation "k8s.io/apimachinery/pkg/apis/meta/v1/validation"
	"k8s.io/apimachinery/pkg/util/intstr"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// Validation of pod specs, shared by pods and pod templates: a compact
// subset of Kubernetes' pkg/apis/core/validation with the same field paths
// and messages for what tug supports.

var (
	supportedPortProtocols = []corev1.Protocol{corev1.ProtocolSCTP, corev1.ProtocolTCP, corev1.ProtocolUDP}
	supportedRestartPolicy = []corev1.RestartPolicy{corev1.RestartPolicyAlways, corev1.RestartPolicyNever, corev1.RestartPolicyOnFailure}
	supportedDNSPolicies   = []corev1.DNSPolicy{corev1.DNSClusterFirstWithHostNet, corev1.DNSClusterFirst, corev1.DNSDefault, corev1.DNSNone}
	supportedPullPolicies  = []corev1.PullPolicy{corev1.PullAlways, corev1.PullIfNotPresent, corev1.PullNever}
	supportedTermMsgPolicy = []corev1.TerminationMessagePolicy{corev1.TerminationMessageFallbackToLogsOnError, corev1.TerminationMessageReadFile}
	supportedURISchemes    = []corev1.URIScheme{corev1.URISchemeHTTP, corev1.URISchemeHTTPS}
	supportedTaintEffects  = []corev1.TaintEffect{corev1.TaintEffectNoExecute, corev1.TaintEffectNoSchedule, corev1.TaintEffectPreferNoSchedule}
	supportedTolerationOps = []corev1.TolerationOperator{corev1.TolerationOpEqual, corev1.TolerationOpExists}
	// Field paths a container's env may take from the pod (downward API).
	supportedEnvFieldPaths = []string{"metadata.annotations", "metadata.labels", "metadata.name", "metadata.namespace", "metadata.uid",
		"spec.nodeName", "spec.serviceAccountName", "status.hostIP", "status.hostIPs", "status.podIP", "status.podIPs"}
)

func oneOf[T comparable](v T, allowed []T) bool {
	for _, a := range allowed {
		if v == a {
			return true
		}
	}
	return false
}

// validatePodTemplateSpec checks an RC's pod template at fldPath
// ("spec.template").
func validatePodTemplateSpec(t *corev1.PodTemplateSpec, fldPath *field.Path) field.ErrorList {
	errs := metavalidation.ValidateLabels(t.Labels, fldPath.Child("metadata", "labels"))
	errs = append(errs, apivalidation.ValidateAnnotations(t.Annotations, fldPath.Child("metadata", "annotations"))...)
	return append(errs, validatePodSpec(&t.Spec, fldPath.Child("spec"))...)
}

// validatePodSpec checks a pod spec at fldPath ("spec" or
// "spec.template.spec").
func validatePodSpec(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	volumes, vErrs := validateVolumes(spec.Volumes, fldPath.Child("volumes"))
	errs = append(errs, vErrs...)

	names := sets.New[string]()
	errs = append(errs, validateContainers(spec.InitContainers, true, volumes, names, fldPath.Child("initContainers"))...)
	if len(spec.Containers) == 0 {
		errs = append(errs, field.Required(fldPath.Child("containers"), ""))
	}
	errs = append(errs, validateContainers(spec.Containers, false, volumes, names, fldPath.Child("containers"))...)

	switch {
	case spec.RestartPolicy == "":
		errs = append(errs, field.Required(fldPath.Child("restartPolicy"), ""))
	case !oneOf(spec.RestartPolicy, supportedRestartPolicy):
		errs = append(errs, field.NotSupported(fldPath.Child("restartPolicy"), spec.RestartPolicy, supportedRestartPolicy))
	}
	switch {
	case spec.DNSPolicy == "":
		errs = append(errs, field.Required(fldPath.Child("dnsPolicy"), ""))
	case !oneOf(spec.DNSPolicy, supportedDNSPolicies):
		errs = append(errs, field.NotSupported(fldPath.Child("dnsPolicy"), spec.DNSPolicy, supportedDNSPolicies))
	}
	errs = append(errs, metavalidation.ValidateLabels(spec.NodeSelector, fldPath.Child("nodeSelector"))...)
	errs = append(errs, invalidIf(fldPath.Child("nodeName"), spec.NodeName, validation.IsDNS1123Subdomain)...)
	errs = append(errs, invalidIf(fldPath.Child("serviceAccountName"), spec.ServiceAccountName, validation.IsDNS1123Subdomain)...)
	errs = append(errs, invalidIf(fldPath.Child("schedulerName"), spec.SchedulerName, validation.IsDNS1123Subdomain)...)
	errs = append(errs, invalidIf(fldPath.Child("hostname"), spec.Hostname, validation.IsDNS1123Label)...)
	errs = append(errs, invalidIf(fldPath.Child("subdomain"), spec.Subdomain, validation.IsDNS1123Label)...)
	if s := spec.ActiveDeadlineSeconds; s != nil && (*s < 1 || *s > 1<<31-1) {
		errs = append(errs, field.Invalid(fldPath.Child("activeDeadlineSeconds"), *s, validation.InclusiveRangeError(1, 1<<31-1)))
	}
	if g := spec.TerminationGracePeriodSeconds; g != nil {
		errs = append(errs, apivalidation.ValidateNonnegativeField(*g, fldPath.Child("terminationGracePeriodSeconds"))...)
	}
	if spec.HostNetwork {
		for i, c := range spec.Containers {
			for j, p := range c.Ports {
				if p.HostPort != p.ContainerPort {
					errs = append(errs, field.Invalid(fldPath.Child("containers").Index(i).Child("ports").Index(j).Child("containerPort"),
						p.ContainerPort, "must match `hostPort` when `hostNetwork` is true"))
				}
			}
		}
	}
	errs = append(errs, validateTolerations(spec.Tolerations, fldPath.Child("tolerations"))...)
	for i, g := range spec.ReadinessGates {
		errs = append(errs, metavalidation.ValidateLabelName(string(g.ConditionType), fldPath.Child("readinessGates").Index(i).Child("conditionType"))...)
	}
	return errs
}

// invalidIf reports check's messages for a non-empty value.
func invalidIf(fldPath *field.Path, value string, check func(string) []string) field.ErrorList {
	if value == "" {
		return nil
	}
	var errs field.ErrorList
	for _, msg := range check(value) {
		errs = append(errs, field.Invalid(fldPath, value, msg))
	}
	return errs
}

func validateVolumes(volumes []corev1.Volume, fldPath *field.Path) (sets.Set[string], field.ErrorList) {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, v := range volumes {
		idx := fldPath.Index(i)
		switch {
		case v.Name == "":
			errs = append(errs, field.Required(idx.Child("name"), ""))
		case names.Has(v.Name):
			errs = append(errs, field.Duplicate(idx.Child("name"), v.Name))
		default:
			errs = append(errs, invalidIf(idx.Child("name"), v.Name, validation.IsDNS1123Label)...)
			names.Insert(v.Name)
		}
		switch n := countSet(v.VolumeSource); {
		case n == 0:
			errs = append(errs, field.Required(idx, "must specify a volume type"))
		case n > 1:
			errs = append(errs, field.Forbidden(idx, "may not specify more than 1 volume type"))
		}
		if v.HostPath != nil && v.HostPath.Path == "" {
			errs = append(errs, field.Required(idx.Child("hostPath", "path"), ""))
		}
	}
	return names, errs
}

// countSet counts the non-nil pointer fields of a one-of struct.
func countSet(oneOf any) int {
	v := reflect.ValueOf(oneOf)
	n := 0
	for i := 0; i < v.NumField(); i++ {
		if f := v.Field(i); f.Kind() == reflect.Pointer && !f.IsNil() {
			n++
		}
	}
	return n
}

func validateContainers(containers []corev1.Container, init bool, volumes, names sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i := range containers {
		c := &containers[i]
		idx := fldPath.Index(i)
		switch {
		case c.Name == "":
			errs = append(errs, field.Required(idx.Child("name"), ""))
		case names.Has(c.Name):
			errs = append(errs, field.Duplicate(idx.Child("name"), c.Name))
		default:
			errs = append(errs, invalidIf(idx.Child("name"), c.Name, validation.IsDNS1123Label)...)
			names.Insert(c.Name)
		}
		switch {
		case c.Image == "":
			errs = append(errs, field.Required(idx.Child("image"), ""))
		case strings.TrimSpace(c.Image) != c.Image:
			errs = append(errs, field.Invalid(idx.Child("image"), c.Image, "must not have leading or trailing whitespace"))
		}
		if c.RestartPolicy != nil {
			if !init {
				errs = append(errs, field.Forbidden(idx.Child("restartPolicy"), "may not be set for non-init containers"))
			} else if *c.RestartPolicy != corev1.ContainerRestartPolicyAlways {
				errs = append(errs, field.NotSupported(idx.Child("restartPolicy"), *c.RestartPolicy, []corev1.ContainerRestartPolicy{corev1.ContainerRestartPolicyAlways}))
			}
		}
		errs = append(errs, validateContainerPorts(c.Ports, idx.Child("ports"))...)
		errs = append(errs, validateEnv(c.Env, idx.Child("env"))...)
		errs = append(errs, validateVolumeMounts(c.VolumeMounts, volumes, idx.Child("volumeMounts"))...)
		errs = append(errs, validateResources(&c.Resources, idx.Child("resources"))...)
		errs = append(errs, validateProbe(c.LivenessProbe, idx.Child("livenessProbe"))...)
		errs = append(errs, validateProbe(c.ReadinessProbe, idx.Child("readinessProbe"))...)
		errs = append(errs, validateProbe(c.StartupProbe, idx.Child("startupProbe"))...)
		if p := c.LivenessProbe; p != nil && p.SuccessThreshold != 1 {
			errs = append(errs, field.Invalid(idx.Child("livenessProbe", "successThreshold"), p.SuccessThreshold, "must be 1"))
		}
		if p := c.StartupProbe; p != nil && p.SuccessThreshold != 1 {
			errs = append(errs, field.Invalid(idx.Child("startupProbe", "successThreshold"), p.SuccessThreshold, "must be 1"))
		}
		if init && c.RestartPolicy == nil {
			for _, probe := range []struct {
				name string
				set  bool
			}{{"livenessProbe", c.LivenessProbe != nil}, {"readinessProbe", c.ReadinessProbe != nil}, {"startupProbe", c.StartupProbe != nil}} {
				if probe.set {
					errs = append(errs, field.Forbidden(idx.Child(probe.name), "may not be set for init containers without restartPolicy=Always"))
				}
			}
		}
		if c.Lifecycle != nil {
			errs = append(errs, validateHandler(c.Lifecycle.PostStart, idx.Child("lifecycle", "postStart"))...)
			errs = append(errs, validateHandler(c.Lifecycle.PreStop, idx.Child("lifecycle", "preStop"))...)
		}
		switch {
		case c.ImagePullPolicy == "":
			errs = append(errs, field.Required(idx.Child("imagePullPolicy"), ""))
		case !oneOf(c.ImagePullPolicy, supportedPullPolicies):
			errs = append(errs, field.NotSupported(idx.Child("imagePullPolicy"), c.ImagePullPolicy, supportedPullPolicies))
		}
		switch {
		case c.TerminationMessagePolicy == "":
			errs = append(errs, field.Required(idx.Child("terminationMessagePolicy"), ""))
		case !oneOf(c.TerminationMessagePolicy, supportedTermMsgPolicy):
			errs = append(errs, field.NotSupported(idx.Child("terminationMessagePolicy"), c.TerminationMessagePolicy, supportedTermMsgPolicy))
		}
	}
	return errs
}

func validateContainerPorts(ports []corev1.ContainerPort, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for i, p := range ports {
		idx := fldPath.Index(i)
		if p.Name != "" {
			if msgs := validation.IsValidPortName(p.Name); len(msgs) != 0 {
				for _, msg := range msgs {
					errs = append(errs, field.Invalid(idx.Child("name"), p.Name, msg))
				}
			} else if names.Has(p.Name) {
				errs = append(errs, field.Duplicate(idx.Child("name"), p.Name))
			} else {
				names.Insert(p.Name)
			}
		}
		if p.ContainerPort == 0 {
			errs = append(errs, field.Required(idx.Child("containerPort"), ""))
		} else {
			errs = append(errs, invalidPort(idx.Child("containerPort"), p.ContainerPort)...)
		}
		if p.HostPort != 0 {
			errs = append(errs, invalidPort(idx.Child("hostPort"), p.HostPort)...)
		}
		errs = append(errs, validateProtocol(p.Protocol, idx.Child("protocol"))...)
	}
	return errs
}

func invalidPort(fldPath *field.Path, port int32) field.ErrorList {
	var errs field.ErrorList
	for _, msg := range validation.IsValidPortNum(int(port)) {
		errs = append(errs, field.Invalid(fldPath, port, msg))
	}
	return errs
}

func validateProtocol(p corev1.Protocol, fldPath *field.Path) field.ErrorList {
	switch {
	case p == "":
		return field.ErrorList{field.Required(fldPath, "")}
	case !oneOf(p, supportedPortProtocols):
		return field.ErrorList{field.NotSupported(fldPath, p, supportedPortProtocols)}
	}
	return nil
}

// validatePortNumOrName checks an int-or-string port (probe, targetPort).
func validatePortNumOrName(port intstr.IntOrString, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if port.Type == intstr.String {
		for _, msg := range validation.IsValidPortName(port.StrVal) {
			errs = append(errs, field.Invalid(fldPath, port.StrVal, msg))
		}
		return errs
	}
	for _, msg := range validation.IsValidPortNum(port.IntValue()) {
		errs = append(errs, field.Invalid(fldPath, port.IntValue(), msg))
	}
	return errs
}

func validateEnv(env []corev1.EnvVar, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, ev := range env {
		idx := fldPath.Index(i)
		if ev.Name == "" {
			errs = append(errs, field.Required(idx.Child("name"), ""))
		} else {
			// RelaxedEnvironmentVariableValidation is on by default in 1.32.
			for _, msg := range validation.IsRelaxedEnvVarName(ev.Name) {
				errs = append(errs, field.Invalid(idx.Child("name"), ev.Name, msg))
			}
		}
		if ev.ValueFrom == nil {
			continue
		}
		vf, vfPath := ev.ValueFrom, idx.Child("valueFrom")
		switch n := countSet(*vf); {
		case n == 0:
			errs = append(errs, field.Invalid(vfPath, "", "must specify one of: `fieldRef`, `resourceFieldRef`, `configMapKeyRef` or `secretKeyRef`"))
		case n > 1:
			errs = append(errs, field.Invalid(vfPath, "", "may not have more than one field specified at a time"))
		case ev.Value != "":
			errs = append(errs, field.Invalid(vfPath, "", "may not be specified when `value` is not empty"))
		}
		if f := vf.FieldRef; f != nil {
			path := f.FieldPath
			if i := strings.Index(path, "["); i >= 0 && (strings.HasPrefix(path, "metadata.labels[") || strings.HasPrefix(path, "metadata.annotations[")) {
				path = path[:i]
			}
			switch {
			case f.FieldPath == "":
				errs = append(errs, field.Required(vfPath.Child("fieldRef", "fieldPath"), ""))
			case !oneOf(path, supportedEnvFieldPaths):
				errs = append(errs, field.NotSupported(vfPath.Child("fieldRef", "fieldPath"), f.FieldPath, supportedEnvFieldPaths))
			}
		}
		if k := vf.ConfigMapKeyRef; k != nil && k.Key == "" {
			errs = append(errs, field.Required(vfPath.Child("configMapKeyRef", "key"), ""))
		}
		if k := vf.SecretKeyRef; k != nil && k.Key == "" {
			errs = append(errs, field.Required(vfPath.Child("secretKeyRef", "key"), ""))
		}
	}
	return errs
}

func validateVolumeMounts(mounts []corev1.VolumeMount, volumes sets.Set[string], fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	paths := sets.New[string]()
	for i, m := range mounts {
		idx := fldPath.Index(i)
		switch {
		case m.Name == "":
			errs = append(errs, field.Required(idx.Child("name"), ""))
		case !volumes.Has(m.Name):
			errs = append(errs, field.NotFound(idx.Child("name"), m.Name))
		}
		switch {
		case m.MountPath == "":
			errs = append(errs, field.Required(idx.Child("mountPath"), ""))
		case paths.Has(m.MountPath):
			errs = append(errs, field.Invalid(idx.Child("mountPath"), m.MountPath, "must be unique"))
		default:
			paths.Insert(m.MountPath)
		}
	}
	return errs
}

// isStandardContainerResource: the unprefixed resource names a container
// may request.
func isStandardContainerResource(name corev1.ResourceName) bool {
	switch name {
	case corev1.ResourceCPU, corev1.ResourceMemory, corev1.ResourceEphemeralStorage:
		return true
	}
	return strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
}

func validateResources(r *corev1.ResourceRequirements, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	limPath, reqPath := fldPath.Child("limits"), fldPath.Child("requests")
	check := func(list corev1.ResourceList, p *field.Path) {
		for name, q := range list {
			kp := p.Key(string(name))
			for _, msg := range content.IsLabelKey(string(name)) {
				errs = append(errs, field.Invalid(kp, name, msg))
			}
			if !strings.Contains(string(name), "/") && !isStandardContainerResource(name) {
				errs = append(errs, field.Invalid(kp, name, "must be a standard resource for containers"))
			}
			if q.Cmp(resource.Quantity{}) < 0 {
				errs = append(errs, field.Invalid(kp, q.String(), "must be greater than or equal to 0"))
			}
		}
	}
	check(r.Limits, limPath)
	check(r.Requests, reqPath)
	for _, name := range sortedResourceNames(r.Requests) {
		req := r.Requests[name]
		limit, ok := r.Limits[name]
		if !ok {
			continue
		}
		overcommit := isStandardContainerResource(name) && !strings.HasPrefix(string(name), corev1.ResourceHugePagesPrefix)
		switch {
		case !overcommit && req.Cmp(limit) != 0:
			errs = append(errs, field.Invalid(reqPath, req.String(), fmt.Sprintf("must be equal to %s limit of %s", name, limit.String())))
		case req.Cmp(limit) > 0:
			errs = append(errs, field.Invalid(reqPath, req.String(), fmt.Sprintf("must be less than or equal to %s limit of %s", name, limit.String())))
		}
	}
	return errs
}

func validateProbe(p *corev1.Probe, fldPath *field.Path) field.ErrorList {
	if p == nil {
		return nil
	}
	errs := validateProbeHandler(&p.ProbeHandler, fldPath)
	for _, f := range []struct {
		name  string
		value int32
	}{
		{"initialDelaySeconds", p.InitialDelaySeconds}, {"timeoutSeconds", p.TimeoutSeconds}, {"periodSeconds", p.PeriodSeconds},
		{"successThreshold", p.SuccessThreshold}, {"failureThreshold", p.FailureThreshold},
	} {
		errs = append(errs, apivalidation.ValidateNonnegativeField(int64(f.value), fldPath.Child(f.name))...)
	}
	if g := p.TerminationGracePeriodSeconds; g != nil && *g <= 0 {
		errs = append(errs, field.Invalid(fldPath.Child("terminationGracePeriodSeconds"), *g, "must be greater than 0"))
	}
	return errs
}

func validateProbeHandler(h *corev1.ProbeHandler, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	switch n := countSet(*h); {
	case n == 0:
		return field.ErrorList{field.Required(fldPath, "must specify a handler type")}
	case n > 1:
		errs = append(errs, field.Forbidden(fldPath, "may not specify more than 1 handler type"))
	}
	if h.Exec != nil && len(h.Exec.Command) == 0 {
		errs = append(errs, field.Required(fldPath.Child("exec", "command"), ""))
	}
	errs = append(errs, validateHTTPGet(h.HTTPGet, fldPath.Child("httpGet"))...)
	if h.TCPSocket != nil {
		errs = append(errs, validatePortNumOrName(h.TCPSocket.Port, fldPath.Child("tcpSocket", "port"))...)
	}
	if h.GRPC != nil {
		errs = append(errs, invalidPort(fldPath.Child("grpc", "port"), h.GRPC.Port)...)
	}
	return errs
}

func validateHandler(h *corev1.LifecycleHandler, fldPath *field.Path) field.ErrorList {
	if h == nil {
		return nil
	}
	var errs field.ErrorList
	switch n := countSet(*h); {
	case n == 0:
		return field.ErrorList{field.Required(fldPath, "must specify a handler type")}
	case n > 1:
		errs = append(errs, field.Forbidden(fldPath, "may not specify more than 1 handler type"))
	}
	if h.Exec != nil && len(h.Exec.Command) == 0 {
		errs = append(errs, field.Required(fldPath.Child("exec", "command"), ""))
	}
	errs = append(errs, validateHTTPGet(h.HTTPGet, fldPath.Child("httpGet"))...)
	if h.TCPSocket != nil {
		errs = append(errs, validatePortNumOrName(h.TCPSocket.Port, fldPath.Child("tcpSocket", "port"))...)
	}
	if h.Sleep != nil && h.Sleep.Seconds < 0 {
		errs = append(errs, field.Invalid(fldPath.Child("sleep", "seconds"), h.Sleep.Seconds, "must be non-negative"))
	}
	return errs
}

func validateHTTPGet(h *corev1.HTTPGetAction, fldPath *field.Path) field.ErrorList {
	if h == nil {
		return nil
	}
	var errs field.ErrorList
	if h.Path == "" {
		errs = append(errs, field.Required(fldPath.Child("path"), ""))
	}
	errs = append(errs, validatePortNumOrName(h.Port, fldPath.Child("port"))...)
	if !oneOf(h.Scheme, supportedURISchemes) {
		errs = append(errs, field.NotSupported(fldPath.Child("scheme"), h.Scheme, supportedURISchemes))
	}
	for i, hdr := range h.HTTPHeaders {
		for _, msg := range validation.IsHTTPHeaderName(hdr.Name) {
			errs = append(errs, field.Invalid(fldPath.Child("httpHeaders").Index(i).Child("name"), hdr.Name, msg))
		}
	}
	return errs
}

func validateTolerations(tolerations []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for i, t := range tolerations {
		idx := fldPath.Index(i)
		if t.Key != "" {
			errs = append(errs, metavalidation.ValidateLabelName(t.Key, idx.Child("key"))...)
		}
		if t.Key == "" && t.Operator != corev1.TolerationOpExists {
			errs = append(errs, field.Invalid(idx.Child("operator"), t.Operator,
				"operator must be Exists when `key` is empty, which means \"match all values and all keys\""))
		}
		if t.TolerationSeconds != nil && t.Effect != corev1.TaintEffectNoExecute {
			errs = append(errs, field.Invalid(idx.Child("effect"), t.Effect, "effect must be 'NoExecute' when `tolerationSeconds` is set"))
		}
		switch t.Operator {
		case corev1.TolerationOpEqual, "":
			if msgs := validation.IsValidLabelValue(t.Value); len(msgs) != 0 {
				errs = append(errs, field.Invalid(idx.Child("operator"), t.Value, strings.Join(msgs, ";")))
			}
		case corev1.TolerationOpExists:
			if t.Value != "" {
				errs = append(errs, field.Invalid(idx.Child("operator"), t, "value must be empty when `operator` is 'Exists'"))
			}
		default:
			errs = append(errs, field.NotSupported(idx.Child("operator"), t.Operator, supportedTolerationOps))
		}
		if t.Effect != "" && !oneOf(t.Effect, supportedTaintEffects) {
			errs = append(errs, field.NotSupported(idx.Child("effect"), t.Effect, supportedTaintEffects))
		}
	}
	return errs
}
