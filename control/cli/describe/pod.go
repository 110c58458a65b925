package describe

import (
	"fmt"
	"net"
	"net/url"
	"sort"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Pod describes a pod and its events (nil: not fetched).
func Pod(pod *corev1.Pod, events *corev1.EventList, now time.Time) string {
	w := newWriter()
	w.write(0, "Name:\t%s\n", pod.Name)
	w.write(0, "Namespace:\t%s\n", pod.Namespace)
	if pod.Spec.Priority != nil {
		w.write(0, "Priority:\t%d\n", *pod.Spec.Priority)
	}
	if pod.Spec.PriorityClassName != "" {
		w.write(0, "Priority Class Name:\t%s\n", pod.Spec.PriorityClassName)
	}
	if pod.Spec.RuntimeClassName != nil && *pod.Spec.RuntimeClassName != "" {
		w.write(0, "Runtime Class Name:\t%s\n", *pod.Spec.RuntimeClassName)
	}
	if pod.Spec.ServiceAccountName != "" {
		w.write(0, "Service Account:\t%s\n", pod.Spec.ServiceAccountName)
	}
	if pod.Spec.NodeName == "" {
		w.write(0, "Node:\t<none>\n")
	} else {
		w.write(0, "Node:\t%s\n", pod.Spec.NodeName+"/"+pod.Status.HostIP)
	}
	if pod.Status.StartTime != nil {
		w.write(0, "Start Time:\t%s\n", pod.Status.StartTime.Time.Format(rfc1123z))
	}
	w.labelsMultiline("Labels", pod.Labels)
	w.annotationsMultiline("Annotations", pod.Annotations)
	if pod.DeletionTimestamp != nil && pod.Status.Phase != corev1.PodFailed && pod.Status.Phase != corev1.PodSucceeded {
		w.write(0, "Status:\tTerminating (lasts %s)\n", since(*pod.DeletionTimestamp, now))
		if pod.DeletionGracePeriodSeconds != nil {
			w.write(0, "Termination Grace Period:\t%ds\n", *pod.DeletionGracePeriodSeconds)
		}
	} else {
		w.write(0, "Status:\t%s\n", string(pod.Status.Phase))
	}
	if pod.Status.Reason != "" {
		w.write(0, "Reason:\t%s\n", pod.Status.Reason)
	}
	if pod.Status.Message != "" {
		w.write(0, "Message:\t%s\n", pod.Status.Message)
	}
	w.write(0, "IP:\t%s\n", pod.Status.PodIP)
	if len(pod.Status.PodIPs) == 0 {
		w.write(0, "IPs:\t<none>\n")
	} else {
		w.write(0, "IPs:\n")
		for _, ip := range pod.Status.PodIPs {
			w.write(1, "IP:\t%s\n", ip.IP)
		}
	}
	if ref := metav1.GetControllerOf(pod); ref != nil {
		w.write(0, "Controlled By:\t%s/%s\n", ref.Kind, ref.Name)
	}
	if pod.Status.NominatedNodeName != "" {
		w.write(0, "NominatedNodeName:\t%s\n", pod.Status.NominatedNodeName)
	}
	if len(pod.Spec.InitContainers) > 0 {
		w.containers("Init Containers", pod.Spec.InitContainers, pod.Status.InitContainerStatuses, "")
	}
	w.containers("Containers", pod.Spec.Containers, pod.Status.ContainerStatuses, "")
	if len(pod.Status.Conditions) > 0 {
		w.write(0, "Conditions:\n  Type\tStatus\n")
		for _, c := range pod.Status.Conditions {
			w.write(1, "%v \t%v \n", c.Type, c.Status)
		}
	}
	w.volumes(pod.Spec.Volumes, "")
	w.write(0, "QoS Class:\t%s\n", qosClass(pod))
	w.labelsMultiline("Node-Selectors", pod.Spec.NodeSelector)
	w.tolerations("Tolerations", pod.Spec.Tolerations)
	w.events(events, now)
	return w.String()
}

// podTemplate is the "Pod Template:" section of controllers.
func (w *writer) podTemplate(t *corev1.PodTemplateSpec) {
	w.write(0, "Pod Template:\n")
	if t == nil {
		w.write(1, "<unset>")
		return
	}
	w.labelsMultiline("  Labels", t.Labels)
	if len(t.Annotations) > 0 {
		w.annotationsMultiline("  Annotations", t.Annotations)
	}
	if t.Spec.ServiceAccountName != "" {
		w.write(1, "Service Account:\t%s\n", t.Spec.ServiceAccountName)
	}
	if len(t.Spec.InitContainers) > 0 {
		w.containers("Init Containers", t.Spec.InitContainers, nil, "  ")
	}
	w.containers("Containers", t.Spec.Containers, nil, "  ")
	w.volumes(t.Spec.Volumes, "  ")
	if t.Spec.PriorityClassName != "" {
		w.write(1, "Priority Class Name:\t%s\n", t.Spec.PriorityClassName)
	}
	w.labelsMultiline("  Node-Selectors", t.Spec.NodeSelector)
	w.tolerations("  Tolerations", t.Spec.Tolerations)
}

func (w *writer) containers(label string, containers []corev1.Container, statuses []corev1.ContainerStatus, space string) {
	byName := map[string]corev1.ContainerStatus{}
	for _, s := range statuses {
		byName[s.Name] = s
	}
	none := ""
	if len(containers) == 0 {
		none = " <none>"
	}
	w.write(0, "%s%s:%s\n", space, label, none)
	for _, c := range containers {
		status, ok := byName[c.Name]
		nameIndent := ""
		if space != "" {
			nameIndent = " "
		}
		w.write(1, "%s%v:\n", nameIndent, c.Name)
		if ok {
			w.write(2, "Container ID:\t%s\n", status.ContainerID)
		}
		w.write(2, "Image:\t%s\n", c.Image)
		if ok {
			w.write(2, "Image ID:\t%s\n", status.ImageID)
		}
		ports, hostPorts := containerPorts(c.Ports)
		if strings.Contains(ports, ",") {
			w.write(2, "Ports:\t%s\n", ports)
		} else {
			w.write(2, "Port:\t%s\n", stringOrNone(ports))
		}
		if strings.Contains(hostPorts, ",") {
			w.write(2, "Host Ports:\t%s\n", hostPorts)
		} else {
			w.write(2, "Host Port:\t%s\n", stringOrNone(hostPorts))
		}
		w.command("Command", c.Command)
		w.command("Args", c.Args)
		if ok {
			w.containerState("State", status.State)
			if status.LastTerminationState.Terminated != nil {
				w.containerState("Last State", status.LastTerminationState)
			}
			w.write(2, "Ready:\t%v\n", printBool(status.Ready))
			w.write(2, "Restart Count:\t%d\n", status.RestartCount)
		}
		w.resources(c.Resources, 2)
		for _, p := range []struct {
			name  string
			probe *corev1.Probe
		}{{"Liveness", c.LivenessProbe}, {"Readiness", c.ReadinessProbe}, {"Startup", c.StartupProbe}} {
			if p.probe != nil {
				w.write(2, "%s:\t%s\n", p.name, describeProbe(p.probe))
			}
		}
		w.env(c)
		w.mounts(c.VolumeMounts)
	}
}

func containerPorts(ports []corev1.ContainerPort) (string, string) {
	var p, h []string
	for _, port := range ports {
		p = append(p, fmt.Sprintf("%d/%s", port.ContainerPort, port.Protocol))
		h = append(h, fmt.Sprintf("%d/%s", port.HostPort, port.Protocol))
	}
	return strings.Join(p, ", "), strings.Join(h, ", ")
}

func (w *writer) command(title string, parts []string) {
	if len(parts) == 0 {
		return
	}
	w.write(2, "%s:\n", title)
	for _, c := range parts {
		for _, s := range strings.Split(c, "\n") {
			w.write(3, "%s\n", s)
		}
	}
}

func (w *writer) containerState(name string, s corev1.ContainerState) {
	switch {
	case s.Running != nil:
		w.write(2, "%s:\tRunning\n", name)
		w.write(3, "Started:\t%v\n", s.Running.StartedAt.Time.Format(rfc1123z))
	case s.Waiting != nil:
		w.write(2, "%s:\tWaiting\n", name)
		if s.Waiting.Reason != "" {
			w.write(3, "Reason:\t%s\n", s.Waiting.Reason)
		}
	case s.Terminated != nil:
		w.write(2, "%s:\tTerminated\n", name)
		if s.Terminated.Reason != "" {
			w.write(3, "Reason:\t%s\n", s.Terminated.Reason)
		}
		if s.Terminated.Message != "" {
			w.write(3, "Message:\t%s\n", s.Terminated.Message)
		}
		w.write(3, "Exit Code:\t%d\n", s.Terminated.ExitCode)
		if s.Terminated.Signal > 0 {
			w.write(3, "Signal:\t%d\n", s.Terminated.Signal)
		}
		w.write(3, "Started:\t%s\n", s.Terminated.StartedAt.Time.Format(rfc1123z))
		w.write(3, "Finished:\t%s\n", s.Terminated.FinishedAt.Time.Format(rfc1123z))
	default:
		w.write(2, "%s:\tWaiting\n", name)
	}
}

func (w *writer) resources(r corev1.ResourceRequirements, level int) {
	for _, part := range []struct {
		title string
		list  corev1.ResourceList
	}{{"Limits", r.Limits}, {"Requests", r.Requests}} {
		if len(part.list) == 0 {
			continue
		}
		w.write(level, "%s:\n", part.title)
		for _, name := range sortedResourceNames(part.list) {
			q := part.list[name]
			w.write(level+1, "%s:\t%s\n", name, q.String())
		}
	}
}

func sortedResourceNames(list corev1.ResourceList) []corev1.ResourceName {
	names := make([]corev1.ResourceName, 0, len(list))
	for n := range list {
		names = append(names, n)
	}
	sort.Slice(names, func(i, j int) bool { return names[i] < names[j] })
	return names
}

func describeProbe(p *corev1.Probe) string {
	attrs := fmt.Sprintf("delay=%ds timeout=%ds period=%ds #success=%d #failure=%d",
		p.InitialDelaySeconds, p.TimeoutSeconds, p.PeriodSeconds, p.SuccessThreshold, p.FailureThreshold)
	switch {
	case p.Exec != nil:
		return fmt.Sprintf("exec %v %s", p.Exec.Command, attrs)
	case p.HTTPGet != nil:
		u := &url.URL{Scheme: strings.ToLower(string(p.HTTPGet.Scheme)), Path: p.HTTPGet.Path}
		if port := p.HTTPGet.Port.String(); port != "" {
			u.Host = net.JoinHostPort(p.HTTPGet.Host, port)
		} else {
			u.Host = p.HTTPGet.Host
		}
		return fmt.Sprintf("http-get %s %s", u.String(), attrs)
	case p.TCPSocket != nil:
		return fmt.Sprintf("tcp-socket %s:%s %s", p.TCPSocket.Host, p.TCPSocket.Port.String(), attrs)
	case p.GRPC != nil:
		service := ""
		if p.GRPC.Service != nil {
			service = *p.GRPC.Service
		}
		return fmt.Sprintf("grpc <pod>:%d %s %s", p.GRPC.Port, service, attrs)
	}
	return fmt.Sprintf("unknown %s", attrs)
}

func (w *writer) env(c corev1.Container) {
	if len(c.EnvFrom) > 0 {
		w.write(2, "Environment Variables from:\n")
		for _, e := range c.EnvFrom {
			from, name, optional := "", "", false
			switch {
			case e.ConfigMapRef != nil:
				from, name = "ConfigMap", e.ConfigMapRef.Name
				optional = e.ConfigMapRef.Optional != nil && *e.ConfigMapRef.Optional
			case e.SecretRef != nil:
				from, name = "Secret", e.SecretRef.Name
				optional = e.SecretRef.Optional != nil && *e.SecretRef.Optional
			}
			if e.Prefix == "" {
				w.write(3, "%s\t%s\tOptional: %t\n", name, from, optional)
			} else {
				w.write(3, "%s\t%s with prefix '%s'\tOptional: %t\n", name, from, e.Prefix, optional)
			}
		}
	}
	if len(c.Env) == 0 {
		w.write(2, "Environment:\t<none>\n")
		return
	}
	w.write(2, "Environment:\n")
	for _, e := range c.Env {
		if e.ValueFrom == nil {
			for i, s := range strings.Split(e.Value, "\n") {
				if i == 0 {
					w.write(3, "%s:\t%s\n", e.Name, s)
				} else {
					w.write(3, "\t%s\n", s)
				}
			}
			continue
		}
		switch v := e.ValueFrom; {
		case v.FieldRef != nil:
			w.write(3, "%s:\t (%s:%s)\n", e.Name, v.FieldRef.APIVersion, v.FieldRef.FieldPath)
		case v.ResourceFieldRef != nil:
			w.write(3, "%s:\t (%s)\n", e.Name, v.ResourceFieldRef.Resource)
		case v.SecretKeyRef != nil:
			optional := v.SecretKeyRef.Optional != nil && *v.SecretKeyRef.Optional
			w.write(3, "%s:\t<set to the key '%s' in secret '%s'>\tOptional: %t\n", e.Name, v.SecretKeyRef.Key, v.SecretKeyRef.Name, optional)
		case v.ConfigMapKeyRef != nil:
			optional := v.ConfigMapKeyRef.Optional != nil && *v.ConfigMapKeyRef.Optional
			w.write(3, "%s:\t<set to the key '%s' of config map '%s'>\tOptional: %t\n", e.Name, v.ConfigMapKeyRef.Key, v.ConfigMapKeyRef.Name, optional)
		}
	}
}

func (w *writer) mounts(mounts []corev1.VolumeMount) {
	if len(mounts) == 0 {
		w.write(2, "Mounts:\t<none>\n")
		return
	}
	w.write(2, "Mounts:\n")
	sorted := append([]corev1.VolumeMount(nil), mounts...)
	sort.Slice(sorted, func(i, j int) bool { return sorted[i].MountPath < sorted[j].MountPath })
	for _, m := range sorted {
		flags := []string{"rw"}
		if m.ReadOnly {
			flags = []string{"ro"}
		}
		if m.SubPath != "" {
			flags = append(flags, fmt.Sprintf("path=%q", m.SubPath))
		}
		w.write(3, "%s from %s (%s)\n", m.MountPath, m.Name, strings.Join(flags, ","))
	}
}

func (w *writer) volumes(volumes []corev1.Volume, space string) {
	if len(volumes) == 0 {
		w.write(0, "%sVolumes:\t<none>\n", space)
		return
	}
	w.write(0, "%sVolumes:\n", space)
	for _, v := range volumes {
		nameIndent := ""
		if space != "" {
			nameIndent = " "
		}
		w.write(1, "%s%v:\n", nameIndent, v.Name)
		switch s := v.VolumeSource; {
		case s.HostPath != nil:
			hostPathType := "<none>"
			if s.HostPath.Type != nil {
				hostPathType = string(*s.HostPath.Type)
			}
			w.write(2, "Type:\tHostPath (bare host directory volume)\n    Path:\t%v\n    HostPathType:\t%v\n", s.HostPath.Path, hostPathType)
		case s.EmptyDir != nil:
			sizeLimit := "<unset>"
			if s.EmptyDir.SizeLimit != nil && s.EmptyDir.SizeLimit.Cmp(resource.Quantity{}) > 0 {
				sizeLimit = s.EmptyDir.SizeLimit.String()
			}
			w.write(2, "Type:\tEmptyDir (a temporary directory that shares a pod's lifetime)\n    Medium:\t%v\n    SizeLimit:\t%v\n", s.EmptyDir.Medium, sizeLimit)
		case s.Secret != nil:
			optional := s.Secret.Optional != nil && *s.Secret.Optional
			w.write(2, "Type:\tSecret (a volume populated by a Secret)\n    SecretName:\t%v\n    Optional:\t%v\n", s.Secret.SecretName, optional)
		case s.ConfigMap != nil:
			optional := s.ConfigMap.Optional != nil && *s.ConfigMap.Optional
			w.write(2, "Type:\tConfigMap (a volume populated by a ConfigMap)\n    Name:\t%v\n    Optional:\t%v\n", s.ConfigMap.Name, optional)
		case s.PersistentVolumeClaim != nil:
			w.write(2, "Type:\tPersistentVolumeClaim (a reference to a PersistentVolumeClaim in the same namespace)\n    ClaimName:\t%v\n    ReadOnly:\t%v\n", s.PersistentVolumeClaim.ClaimName, s.PersistentVolumeClaim.ReadOnly)
		case s.DownwardAPI != nil:
			w.write(2, "Type:\tDownwardAPI (a volume populated by information about the pod)\n    Items:\n")
			for _, item := range s.DownwardAPI.Items {
				if item.FieldRef != nil {
					w.write(3, "%v -> %v\n", item.FieldRef.FieldPath, item.Path)
				}
				if item.ResourceFieldRef != nil {
					w.write(3, "%v -> %v\n", item.ResourceFieldRef.Resource, item.Path)
				}
			}
		case s.Projected != nil:
			w.write(2, "Type:\tProjected (a volume that contains injected data from multiple sources)\n")
			for _, src := range s.Projected.Sources {
				switch {
				case src.Secret != nil:
					optional := src.Secret.Optional != nil && *src.Secret.Optional
					w.write(2, "SecretName:\t%v\n    Optional:\t%v\n", src.Secret.Name, optional)
				case src.DownwardAPI != nil:
					w.write(2, "DownwardAPI:\ttrue\n")
				case src.ConfigMap != nil:
					optional := src.ConfigMap.Optional != nil && *src.ConfigMap.Optional
					w.write(2, "ConfigMapName:\t%v\n    Optional:\t%v\n", src.ConfigMap.Name, optional)
				case src.ServiceAccountToken != nil && src.ServiceAccountToken.ExpirationSeconds != nil:
					w.write(2, "TokenExpirationSeconds:\t%d\n", *src.ServiceAccountToken.ExpirationSeconds)
				}
			}
		case s.NFS != nil:
			w.write(2, "Type:\tNFS (an NFS mount that lasts the lifetime of a pod)\n    Server:\t%v\n    Path:\t%v\n    ReadOnly:\t%v\n", s.NFS.Server, s.NFS.Path, s.NFS.ReadOnly)
		default:
			w.write(1, "<unknown>\n")
		}
	}
}

func (w *writer) tolerations(title string, tolerations []corev1.Toleration) {
	w.write(0, "%s:\t", title)
	if len(tolerations) == 0 {
		w.write(0, "<none>\n")
		return
	}
	sorted := append([]corev1.Toleration(nil), tolerations...)
	sort.SliceStable(sorted, func(i, j int) bool { return sorted[i].Key < sorted[j].Key })
	for i, t := range sorted {
		if i != 0 {
			w.write(0, "\t")
		}
		w.write(0, "%s", t.Key)
		if t.Value != "" {
			w.write(0, "=%s", t.Value)
		}
		if t.Effect != "" {
			w.write(0, ":%s", t.Effect)
		}
		if t.Operator == corev1.TolerationOpExists && t.Value == "" {
			if t.Key != "" || t.Effect != "" {
				w.write(0, " op=Exists")
			} else {
				w.write(0, "op=Exists")
			}
		}
		if t.TolerationSeconds != nil {
			w.write(0, " for %ds", *t.TolerationSeconds)
		}
		w.write(0, "\n")
	}
}

// qosClass is the pod's quality of service class: the one the server
// recorded, else computed from the containers' requests and limits.
func qosClass(pod *corev1.Pod) corev1.PodQOSClass {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass
	}
	all := append(append([]corev1.Container(nil), pod.Spec.InitContainers...), pod.Spec.Containers...)
	any, guaranteed := false, true
	for _, c := range all {
		for _, r := range []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			if (hasReq && !req.IsZero()) || (hasLim && !lim.IsZero()) {
				any = true
			}
			if !hasLim || lim.IsZero() || (hasReq && req.Cmp(lim) != 0) {
				guaranteed = false
			}
		}
	}
	switch {
	case !any:
		return corev1.PodQOSBestEffort
	case guaranteed:
		return corev1.PodQOSGuaranteed
	}
	return corev1.PodQOSBurstable
}
