package registry

import (
	"fmt"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/equality"
	"k8s.io/apimachinery/pkg/api/resource"
	apivalidation "k8s.io/apimachinery/pkg/api/validation"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/util/sets"
	"k8s.io/apimachinery/pkg/util/validation"
	"k8s.io/apimachinery/pkg/util/validation/field"
)

// podStrategy: pkg/registry/core/pod/strategy.go.
type podStrategy struct{}

func (podStrategy) prepareForCreate(pod *corev1.Pod) {
	pod.Status = corev1.PodStatus{Phase: corev1.PodPending, QOSClass: PodQOSClass(pod)}
}

func (podStrategy) prepareForUpdate(pod, old *corev1.Pod) {
	pod.Status = *old.Status.DeepCopy()
}

func (podStrategy) prepareForStatusUpdate(pod, old *corev1.Pod) {
	pod.Spec = *old.Spec.DeepCopy()
	// /status may not delete the pod or touch its owners (old kubelets
	// corrupted owner references, breaking garbage collection).
	pod.DeletionTimestamp = old.DeletionTimestamp
	pod.DeletionGracePeriodSeconds = old.DeletionGracePeriodSeconds
	pod.OwnerReferences = old.OwnerReferences
	// The QoS class is fixed at creation.
	pod.Status.QOSClass = old.Status.QOSClass
	syncPodIPs(&pod.Status)
}

// syncPodIPs keeps the singular and plural IP fields in step, as the
// conversion from the internal type does in Kubernetes.
func syncPodIPs(s *corev1.PodStatus) {
	if len(s.PodIPs) == 0 && s.PodIP != "" {
		s.PodIPs = []corev1.PodIP{{IP: s.PodIP}}
	} else if len(s.PodIPs) > 0 {
		s.PodIP = s.PodIPs[0].IP
	}
	if len(s.HostIPs) == 0 && s.HostIP != "" {
		s.HostIPs = []corev1.HostIP{{IP: s.HostIP}}
	} else if len(s.HostIPs) > 0 {
		s.HostIP = s.HostIPs[0].IP
	}
}

func (podStrategy) setDefaults(pod *corev1.Pod) {
	defaultRequestsFromLimits(pod.Spec.Containers)
	defaultRequestsFromLimits(pod.Spec.InitContainers)
	if pod.Spec.EnableServiceLinks == nil {
		pod.Spec.EnableServiceLinks = ptrTo(corev1.DefaultEnableServiceLinks)
	}
	setPodSpecDefaults(&pod.Spec)
	syncPodIPs(&pod.Status)
}

func (podStrategy) validate(pod *corev1.Pod) field.ErrorList {
	errs := validateMeta(&pod.ObjectMeta, true, apivalidation.NameIsDNSSubdomain)
	errs = append(errs, validatePodSpec(&pod.Spec, field.NewPath("spec"))...)
	errs = append(errs, validateUniqueHostPorts(&pod.Spec, field.NewPath("spec"))...)
	if len(pod.Spec.EphemeralContainers) > 0 {
		errs = append(errs, field.Forbidden(field.NewPath("spec", "ephemeralContainers"), "cannot be set on create"))
	}
	return errs
}

// validateUniqueHostPorts rejects two containers claiming one host port.
func validateUniqueHostPorts(spec *corev1.PodSpec, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	seen := sets.New[string]()
	for _, group := range []struct {
		name       string
		containers []corev1.Container
	}{{"initContainers", spec.InitContainers}, {"containers", spec.Containers}} {
		for i, c := range group.containers {
			for j, p := range c.Ports {
				if p.HostPort == 0 {
					continue
				}
				key := fmt.Sprintf("%s/%s/%d", p.HostIP, p.Protocol, p.HostPort)
				if seen.Has(key) {
					errs = append(errs, field.Duplicate(fldPath.Child(group.name).Index(i).Child("ports").Index(j).Child("hostPort"),
						fmt.Sprintf("%d/%s", p.HostPort, p.Protocol)))
				}
				seen.Insert(key)
			}
		}
	}
	return errs
}

// podUpdateForbiddenMessage is Kubernetes' message for immutable pod fields.
const podUpdateForbiddenMessage = "pod updates may not change fields other than `spec.containers[*].image`," +
	"`spec.initContainers[*].image`,`spec.activeDeadlineSeconds`,`spec.tolerations` (only additions to existing tolerations)," +
	"`spec.terminationGracePeriodSeconds` (allow it to be set to 1 if it was previously negative)"

func (s podStrategy) validateUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	errs = append(errs, s.validate(pod)...)
	specPath := field.NewPath("spec")
	if len(pod.Spec.Containers) != len(old.Spec.Containers) {
		return append(errs, field.Forbidden(specPath.Child("containers"), "pod updates may not add or remove containers"))
	}
	if len(pod.Spec.InitContainers) != len(old.Spec.InitContainers) {
		return append(errs, field.Forbidden(specPath.Child("initContainers"), "pod updates may not add or remove containers"))
	}
	if old.Spec.ActiveDeadlineSeconds != nil {
		p := specPath.Child("activeDeadlineSeconds")
		switch {
		case pod.Spec.ActiveDeadlineSeconds == nil:
			errs = append(errs, field.Invalid(p, pod.Spec.ActiveDeadlineSeconds, "must not update from a positive integer to nil value"))
		case *pod.Spec.ActiveDeadlineSeconds > *old.Spec.ActiveDeadlineSeconds:
			errs = append(errs, field.Invalid(p, *pod.Spec.ActiveDeadlineSeconds, "must be less than or equal to previous value"))
		}
	}
	errs = append(errs, validateOnlyAddedTolerations(pod.Spec.Tolerations, old.Spec.Tolerations, specPath.Child("tolerations"))...)

	// Copy the mutable fields from old, then the rest must be equal.
	munged := pod.Spec.DeepCopy()
	for i := range munged.Containers {
		munged.Containers[i].Image = old.Spec.Containers[i].Image
	}
	for i := range munged.InitContainers {
		munged.InitContainers[i].Image = old.Spec.InitContainers[i].Image
	}
	munged.ActiveDeadlineSeconds = old.Spec.ActiveDeadlineSeconds
	munged.Tolerations = old.Spec.Tolerations
	munged.SchedulingGates = old.Spec.SchedulingGates
	if g := old.Spec.TerminationGracePeriodSeconds; g != nil && *g < 0 && munged.TerminationGracePeriodSeconds != nil && *munged.TerminationGracePeriodSeconds == 1 {
		munged.TerminationGracePeriodSeconds = g
	}
	if !equality.Semantic.DeepEqual(*munged, old.Spec) {
		errs = append(errs, field.Forbidden(specPath, podUpdateForbiddenMessage+"\nchanged: "+strings.Join(changedFields(old.Spec, *munged), ", ")))
	}
	return errs
}

// changedFields names the JSON fields of two structs of one type that
// differ, so an error can say what the client changed.
func changedFields(a, b any) []string {
	va, vb := reflect.ValueOf(a), reflect.ValueOf(b)
	var out []string
	for i := 0; i < va.NumField(); i++ {
		if !equality.Semantic.DeepEqual(va.Field(i).Interface(), vb.Field(i).Interface()) {
			name, _, _ := strings.Cut(va.Type().Field(i).Tag.Get("json"), ",")
			out = append(out, "spec."+name)
		}
	}
	return out
}

// validateOnlyAddedTolerations: existing tolerations stay, except that a
// NoExecute toleration's tolerationSeconds may be lowered.
func validateOnlyAddedTolerations(tolerations, old []corev1.Toleration, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	for _, o := range old {
		found := false
		for _, t := range tolerations {
			if t.Key != o.Key || t.Operator != o.Operator || t.Value != o.Value || t.Effect != o.Effect {
				continue
			}
			if o.Effect == corev1.TaintEffectNoExecute && o.TolerationSeconds != nil {
				found = t.TolerationSeconds != nil && *t.TolerationSeconds <= *o.TolerationSeconds
			} else {
				found = equality.Semantic.DeepEqual(t.TolerationSeconds, o.TolerationSeconds)
			}
			if found {
				break
			}
		}
		if !found {
			errs = append(errs, field.Forbidden(fldPath, "existing toleration can not be modified except its tolerationSeconds"))
			return errs
		}
	}
	return errs
}

func (podStrategy) validateStatusUpdate(pod, old *corev1.Pod) field.ErrorList {
	errs := apivalidation.ValidateObjectMetaUpdate(&pod.ObjectMeta, &old.ObjectMeta, field.NewPath("metadata"))
	status := field.NewPath("status")
	if n := pod.Status.NominatedNodeName; n != "" && n != old.Status.NominatedNodeName {
		errs = append(errs, invalidIf(status.Child("nominatedNodeName"), n, validation.IsDNS1123Subdomain)...)
	}
	errs = append(errs, validateContainerStateTransition(pod.Status.ContainerStatuses, old.Status.ContainerStatuses,
		status.Child("containerStatuses"), old.Spec.RestartPolicy)...)
	errs = append(errs, validateContainerStatusNames(pod.Status.ContainerStatuses, pod.Spec.Containers, status.Child("containerStatuses"))...)
	errs = append(errs, validateContainerStatusNames(pod.Status.InitContainerStatuses, pod.Spec.InitContainers, status.Child("initContainerStatuses"))...)
	errs = append(errs, validateIPList(podIPStrings(pod.Status.PodIPs), status.Child("podIPs"))...)
	hostIPs := make([]string, len(pod.Status.HostIPs))
	for i, h := range pod.Status.HostIPs {
		hostIPs[i] = h.IP
	}
	errs = append(errs, validateIPList(hostIPs, status.Child("hostIPs"))...)
	return errs
}

// validateContainerStateTransition: a container that may not restart may
// not leave the terminated state.
func validateContainerStateTransition(statuses, old []corev1.ContainerStatus, fldPath *field.Path, policy corev1.RestartPolicy) field.ErrorList {
	if policy == corev1.RestartPolicyAlways {
		return nil
	}
	var errs field.ErrorList
	for i, s := range statuses {
		for _, o := range old {
			if o.Name != s.Name || o.State.Terminated == nil || s.State.Terminated != nil {
				continue
			}
			if policy == corev1.RestartPolicyNever || o.State.Terminated.ExitCode == 0 {
				errs = append(errs, field.Forbidden(fldPath.Index(i).Child("state"), "may not be transitioned to non-terminated state"))
			}
		}
	}
	return errs
}

func validateContainerStatusNames(statuses []corev1.ContainerStatus, containers []corev1.Container, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	names := sets.New[string]()
	for _, c := range containers {
		names.Insert(c.Name)
	}
	for i, s := range statuses {
		if !names.Has(s.Name) {
			errs = append(errs, field.NotFound(fldPath.Index(i).Child("name"), s.Name))
		}
	}
	return errs
}

func podIPStrings(ips []corev1.PodIP) []string {
	out := make([]string, len(ips))
	for i, ip := range ips {
		out[i] = ip.IP
	}
	return out
}

// validateIPList checks a dual-stack IP list: valid, unique, at most two.
func validateIPList(ips []string, fldPath *field.Path) field.ErrorList {
	var errs field.ErrorList
	if len(ips) > 2 {
		errs = append(errs, field.TooMany(fldPath, len(ips), 2))
	}
	seen := sets.New[string]()
	for i, ip := range ips {
		p := fldPath.Index(i)
		errs = append(errs, validation.IsValidIP(p, ip)...)
		if seen.Has(ip) {
			errs = append(errs, field.Duplicate(p, ip))
		}
		seen.Insert(ip)
	}
	return errs
}

func (podStrategy) specChanged(pod, old *corev1.Pod) bool {
	return !equality.Semantic.DeepEqual(pod.Spec, old.Spec)
}

func (podStrategy) fields(pod *corev1.Pod) fields.Set {
	s := metaFields(pod, true)
	s["spec.nodeName"] = pod.Spec.NodeName
	s["spec.restartPolicy"] = string(pod.Spec.RestartPolicy)
	s["spec.schedulerName"] = pod.Spec.SchedulerName
	s["spec.serviceAccountName"] = pod.Spec.ServiceAccountName
	s["spec.hostNetwork"] = strconv.FormatBool(pod.Spec.HostNetwork)
	s["status.phase"] = string(pod.Status.Phase)
	ips := podIPStrings(pod.Status.PodIPs)
	podIP := ""
	if len(ips) > 0 {
		podIP = ips[0]
	}
	s["status.podIP"] = podIP
	s["status.podIPs"] = strings.Join(ips, ",")
	s["status.nominatedNodeName"] = pod.Status.NominatedNodeName
	return s
}

func (podStrategy) columns() []metav1.TableColumnDefinition {
	return []metav1.TableColumnDefinition{
		nameColumn(),
		{Name: "Ready", Type: "string", Description: "The aggregate readiness state of this pod for accepting traffic."},
		{Name: "Status", Type: "string", Description: "The aggregate status of the containers in this pod."},
		{Name: "Restarts", Type: "string", Description: "The number of times the containers in this pod have been restarted and when the last container in this pod has restarted."},
		ageColumn(),
		{Name: "IP", Type: "string", Priority: 1, Description: corev1.PodStatus{}.SwaggerDoc()["podIP"]},
		{Name: "Node", Type: "string", Priority: 1, Description: corev1.PodSpec{}.SwaggerDoc()["nodeName"]},
		{Name: "Nominated Node", Type: "string", Priority: 1, Description: corev1.PodStatus{}.SwaggerDoc()["nominatedNodeName"]},
		{Name: "Readiness Gates", Type: "string", Priority: 1, Description: corev1.PodSpec{}.SwaggerDoc()["readinessGates"]},
	}
}

func (podStrategy) row(pod *corev1.Pod, now time.Time) []interface{} {
	s := summarizePod(pod)
	restarts := strconv.Itoa(s.restarts)
	if s.restarts != 0 && !s.lastRestart.IsZero() {
		restarts = fmt.Sprintf("%d (%s ago)", s.restarts, translateTimestampSince(s.lastRestart, now))
	}
	podIP := "<none>"
	if len(pod.Status.PodIPs) > 0 {
		podIP = pod.Status.PodIPs[0].IP
	}
	readinessGates := "<none>"
	if len(pod.Spec.ReadinessGates) > 0 {
		n := 0
		for _, g := range pod.Spec.ReadinessGates {
			if c := podCondition(pod, g.ConditionType); c != nil && c.Status == corev1.ConditionTrue {
				n++
			}
		}
		readinessGates = fmt.Sprintf("%d/%d", n, len(pod.Spec.ReadinessGates))
	}
	return []interface{}{
		pod.Name,
		fmt.Sprintf("%d/%d", s.ready, s.total),
		s.reason,
		restarts,
		translateTimestampSince(pod.CreationTimestamp, now),
		podIP,
		orNone(pod.Spec.NodeName),
		orNone(pod.Status.NominatedNodeName),
		readinessGates,
	}
}

func orNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

// NodeUnreachablePodReason is the status.reason the node lifecycle
// controller sets on pods of a node that stopped reporting.
const NodeUnreachablePodReason = "NodeLost"

// podSummary is what kubectl's pod printer derives from a pod.
type podSummary struct {
	reason       string
	ready, total int
	restarts     int
	lastRestart  metav1.Time
}

func isRestartableInitContainer(c *corev1.Container) bool {
	return c != nil && c.RestartPolicy != nil && *c.RestartPolicy == corev1.ContainerRestartPolicyAlways
}

// summarizePod follows printPod in Kubernetes'
// pkg/printers/internalversion/printers.go (v1.32).
func summarizePod(pod *corev1.Pod) podSummary {
	s := podSummary{total: len(pod.Spec.Containers), reason: string(pod.Status.Phase)}
	if pod.Status.Reason != "" {
		s.reason = pod.Status.Reason
	}
	if c := podCondition(pod, corev1.PodScheduled); c != nil && c.Reason == corev1.PodReasonSchedulingGated {
		s.reason = corev1.PodReasonSchedulingGated
	}

	initContainers := map[string]*corev1.Container{}
	for i := range pod.Spec.InitContainers {
		c := &pod.Spec.InitContainers[i]
		initContainers[c.Name] = c
		if isRestartableInitContainer(c) {
			s.total++
		}
	}

	sidecarRestarts := 0
	var lastSidecarRestart metav1.Time
	later := func(t *metav1.Time, st corev1.ContainerState) {
		if st.Terminated != nil && t.Before(&st.Terminated.FinishedAt) {
			*t = st.Terminated.FinishedAt
		}
	}
	initializing := false
	for i, c := range pod.Status.InitContainerStatuses {
		s.restarts += int(c.RestartCount)
		later(&s.lastRestart, c.LastTerminationState)
		sidecar := isRestartableInitContainer(initContainers[c.Name])
		if sidecar {
			sidecarRestarts += int(c.RestartCount)
			later(&lastSidecarRestart, c.LastTerminationState)
		}
		switch {
		case c.State.Terminated != nil && c.State.Terminated.ExitCode == 0:
			continue
		case sidecar && c.Started != nil && *c.Started:
			if c.Ready {
				s.ready++
			}
			continue
		case c.State.Terminated != nil:
			t := c.State.Terminated
			switch {
			case t.Reason != "":
				s.reason = "Init:" + t.Reason
			case t.Signal != 0:
				s.reason = fmt.Sprintf("Init:Signal:%d", t.Signal)
			default:
				s.reason = fmt.Sprintf("Init:ExitCode:%d", t.ExitCode)
			}
		case c.State.Waiting != nil && c.State.Waiting.Reason != "" && c.State.Waiting.Reason != "PodInitializing":
			s.reason = "Init:" + c.State.Waiting.Reason
		default:
			s.reason = fmt.Sprintf("Init:%d/%d", i, len(pod.Spec.InitContainers))
		}
		initializing = true
		break
	}

	if c := podCondition(pod, corev1.PodInitialized); !initializing || (c != nil && c.Status == corev1.ConditionTrue) {
		s.restarts, s.lastRestart = sidecarRestarts, lastSidecarRestart
		hasRunning := false
		for i := len(pod.Status.ContainerStatuses) - 1; i >= 0; i-- {
			c := pod.Status.ContainerStatuses[i]
			s.restarts += int(c.RestartCount)
			later(&s.lastRestart, c.LastTerminationState)
			switch {
			case c.State.Waiting != nil && c.State.Waiting.Reason != "":
				s.reason = c.State.Waiting.Reason
			case c.State.Terminated != nil && c.State.Terminated.Reason != "":
				s.reason = c.State.Terminated.Reason
			case c.State.Terminated != nil && c.State.Terminated.Signal != 0:
				s.reason = fmt.Sprintf("Signal:%d", c.State.Terminated.Signal)
			case c.State.Terminated != nil:
				s.reason = fmt.Sprintf("ExitCode:%d", c.State.Terminated.ExitCode)
			case c.Ready && c.State.Running != nil:
				hasRunning = true
				s.ready++
			}
		}
		// A pod with one container still running is not Completed.
		if s.reason == "Completed" && hasRunning {
			if IsPodReady(pod) {
				s.reason = "Running"
			} else {
				s.reason = "NotReady"
			}
		}
	}

	if pod.DeletionTimestamp != nil && pod.Status.Reason == NodeUnreachablePodReason {
		s.reason = "Unknown"
	} else if pod.DeletionTimestamp != nil && pod.Status.Phase != corev1.PodSucceeded && pod.Status.Phase != corev1.PodFailed {
		s.reason = "Terminating"
	}
	return s
}

func podCondition(pod *corev1.Pod, t corev1.PodConditionType) *corev1.PodCondition {
	for i := range pod.Status.Conditions {
		if pod.Status.Conditions[i].Type == t {
			return &pod.Status.Conditions[i]
		}
	}
	return nil
}

// PodPhaseReason returns the STATUS kubectl prints for pod: "Running",
// "Pending", "ContainerCreating", "CrashLoopBackOff", "Completed",
// "Init:0/1", "Terminating", "Unknown" (a deleted pod on a lost node), ...
func PodPhaseReason(pod *corev1.Pod) string { return summarizePod(pod).reason }

// PodReadyCount returns the READY column's parts: containers ready and
// containers in total (restartable init containers included).
func PodReadyCount(pod *corev1.Pod) (ready, total int) {
	s := summarizePod(pod)
	return s.ready, s.total
}

// IsPodReady reports whether pod's Ready condition is True: the pod
// serves traffic and belongs in its Services' endpoints.
func IsPodReady(pod *corev1.Pod) bool {
	c := podCondition(pod, corev1.PodReady)
	return c != nil && c.Status == corev1.ConditionTrue
}

// IsPodTerminal reports whether pod has finished for good (Succeeded or
// Failed).
func IsPodTerminal(pod *corev1.Pod) bool {
	return pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed
}

// PodQOSClass computes the pod's QoS class as Kubernetes does at creation:
// Guaranteed when every container has equal cpu and memory requests and
// limits, BestEffort when none has any, else Burstable. A request left out
// counts as its limit (the request default), so the result does not depend
// on whether defaults were applied yet.
func PodQOSClass(pod *corev1.Pod) corev1.PodQOSClass {
	requests, limits := corev1.ResourceList{}, corev1.ResourceList{}
	add := func(list corev1.ResourceList, name corev1.ResourceName, q resource.Quantity) {
		sum := q.DeepCopy()
		if prev, ok := list[name]; ok {
			sum.Add(prev)
		}
		list[name] = sum
	}
	guaranteed := true
	containers := append(append([]corev1.Container(nil), pod.Spec.Containers...), pod.Spec.InitContainers...)
	for _, c := range containers {
		limitsFound := sets.New[corev1.ResourceName]()
		for _, name := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[name]
			lim, hasLim := c.Resources.Limits[name]
			if !hasReq && hasLim {
				req, hasReq = lim, true
			}
			if hasReq && req.Sign() > 0 {
				add(requests, name, req)
			}
			if hasLim && lim.Sign() > 0 {
				limitsFound.Insert(name)
				add(limits, name, lim)
			}
		}
		if !limitsFound.HasAll(corev1.ResourceCPU, corev1.ResourceMemory) {
			guaranteed = false
		}
	}
	if len(requests) == 0 && len(limits) == 0 {
		return corev1.PodQOSBestEffort
	}
	if guaranteed {
		for name, req := range requests {
			if lim, ok := limits[name]; !ok || lim.Cmp(req) != 0 {
				guaranteed = false
				break
			}
		}
	}
	if guaranteed && len(requests) == len(limits) {
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}

func sortedResourceNames(list corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(list))
	for n := range list {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	return names
}
