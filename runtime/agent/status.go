package agent

import (
	"fmt"
	"sort"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// Container waiting reasons, as the kubelet reports them.
const (
	reasonContainerCreating   = "ContainerCreating"
	reasonPodInitializing     = "PodInitializing"
	reasonCrashLoopBackOff    = "CrashLoopBackOff"
	reasonErrImagePull        = "ErrImagePull"
	reasonImagePullBackOff    = "ImagePullBackOff"
	reasonErrImageNeverPull   = "ErrImageNeverPull"
	reasonInvalidImageName    = "InvalidImageName"
	reasonCreateContainerErr  = "CreateContainerError"
	reasonCreateConfigErr     = "CreateContainerConfigError"
	reasonRunContainerError   = "RunContainerError"
	reasonStartError          = "StartError"
	reasonContainerStatusUnkn = "ContainerStatusUnknown"
)

// Pod condition reasons.
const (
	reasonContainersNotReady       = "ContainersNotReady"
	reasonContainersNotInitialized = "ContainersNotInitialized"
	reasonPodCompleted             = "PodCompleted"
	reasonReadinessGatesNotReady   = "ReadinessGatesNotReady"
)

// containerObservation is everything the agent knows about one container
// of a pod when it writes the pod's status.
type containerObservation struct {
	// ID is the runtime ID of the newest instance, "" if none was created.
	ID string
	// Attempt is the newest instance's attempt number: the restart count.
	Attempt int
	// Running: the newest instance's process runs, since StartedAt.
	Running   bool
	StartedAt time.Time
	// Exit is how the newest instance ended, once it has.
	Exit *v1.ContainerStateTerminated
	// Last is how the instance before the newest one ended.
	Last *v1.ContainerStateTerminated
	// Waiting, when set, is why the container is not running now (an
	// image pull failure, a failed start, a restart backoff).
	Waiting *v1.ContainerStateWaiting
	// Ready and Started come from the readiness and startup probes.
	Ready, Started bool
	// Image is the image as the agent resolved it, ImageID its digest.
	Image, ImageID string
}

// statusInput is the input of buildPodStatus.
type statusInput struct {
	Pod        *v1.Pod
	Containers map[string]containerObservation
	// SandboxReady: the pod's network and IPC are set up.
	SandboxReady bool
	PodIP        string
	HostIP       string
	StartTime    time.Time
	// Terminal: the agent has stopped the pod for good (it is being
	// deleted, or it completed); its phase is then final.
	Terminal bool
	Now      time.Time
}

// containerIDPrefix is the scheme of containerID in container statuses.
const containerIDPrefix = "tug://"

// apiTime is t as the API stores it (whole seconds), so that a status
// computed twice from the same facts compares equal to what was written.
func apiTime(t time.Time) metav1.Time {
	if t.IsZero() {
		return metav1.Time{}
	}
	return metav1.NewTime(t.Truncate(time.Second))
}

// buildPodStatus computes the pod's status from what the agent observed,
// with Kubernetes' semantics (kubelet generateAPIPodStatus): container
// states, the phase, and the PodReadyToStartContainers, Initialized, Ready,
// ContainersReady and PodScheduled conditions. Fields the agent does not
// own (qosClass, nominatedNodeName, ...) are kept from the pod's current
// status, and so are condition transition times when a status did not
// change. It is pure.
func buildPodStatus(in statusInput) v1.PodStatus {
	pod := in.Pod
	old := pod.Status
	st := *old.DeepCopy()
	st.InitContainerStatuses = nil
	st.ContainerStatuses = nil

	defaultReason := reasonContainerCreating
	if len(pod.Spec.InitContainers) > 0 {
		defaultReason = reasonPodInitializing
	}
	initDone := true
	for _, c := range pod.Spec.InitContainers {
		cs := containerStatus(c, in.Containers[c.Name], defaultReason, pod.Spec.RestartPolicy)
		cs.Ready = cs.State.Terminated != nil && cs.State.Terminated.ExitCode == 0
		st.InitContainerStatuses = append(st.InitContainerStatuses, cs)
		if !cs.Ready {
			initDone = false
		}
	}
	for _, c := range pod.Spec.Containers {
		st.ContainerStatuses = append(st.ContainerStatuses, containerStatus(c, in.Containers[c.Name], defaultReason, pod.Spec.RestartPolicy))
	}
	// Kubernetes lists regular container statuses by name.
	sort.Slice(st.ContainerStatuses, func(i, j int) bool { return st.ContainerStatuses[i].Name < st.ContainerStatuses[j].Name })

	st.Phase = podPhase(pod, st.InitContainerStatuses, st.ContainerStatuses, in.Terminal)
	if old.Phase == v1.PodSucceeded || old.Phase == v1.PodFailed {
		st.Phase = old.Phase // a terminal phase is final
	}
	if in.HostIP != "" {
		st.HostIP = in.HostIP
		st.HostIPs = []v1.HostIP{{IP: in.HostIP}}
	}
	if in.PodIP != "" {
		st.PodIP = in.PodIP
		st.PodIPs = []v1.PodIP{{IP: in.PodIP}}
	}
	if st.StartTime == nil && !in.StartTime.IsZero() {
		t := apiTime(in.StartTime)
		st.StartTime = &t
	}
	st.Conditions = podConditions(pod, st, in.SandboxReady, initDone, in.Now)
	return st
}

// containerStatus is one container's status. Ready is the probe's verdict
// for a running container (init containers are adjusted by the caller).
func containerStatus(c v1.Container, o containerObservation, defaultReason string, policy v1.RestartPolicy) v1.ContainerStatus {
	cs := v1.ContainerStatus{
		Name:         c.Name,
		Image:        c.Image,
		ImageID:      o.ImageID,
		RestartCount: int32(o.Attempt),
	}
	if o.Image != "" {
		cs.Image = o.Image
	}
	if o.ID != "" {
		cs.ContainerID = containerIDPrefix + o.ID
	}
	started := false
	switch {
	case o.Running:
		cs.State.Running = &v1.ContainerStateRunning{StartedAt: apiTime(o.StartedAt)}
		cs.LastTerminationState = terminatedState(o.Last)
		cs.Ready = o.Ready
		started = o.Started
	case o.Exit != nil && o.Waiting != nil && shouldRestart(policy, o.Exit):
		// About to restart: why it waits, with the ended instance as the
		// last state. A container that will not restart stays terminated.
		cs.State.Waiting = o.Waiting.DeepCopy()
		cs.LastTerminationState = terminatedState(o.Exit)
	case o.Exit != nil:
		cs.State = terminatedState(o.Exit)
		cs.LastTerminationState = terminatedState(o.Last)
	case o.Waiting != nil:
		cs.State.Waiting = o.Waiting.DeepCopy()
		cs.LastTerminationState = terminatedState(o.Last)
	default:
		cs.State.Waiting = &v1.ContainerStateWaiting{Reason: defaultReason}
		cs.LastTerminationState = terminatedState(o.Last)
	}
	cs.Started = &started
	return cs
}

func terminatedState(t *v1.ContainerStateTerminated) v1.ContainerState {
	if t == nil {
		return v1.ContainerState{}
	}
	return v1.ContainerState{Terminated: t.DeepCopy()}
}

// podPhase is the kubelet's getPhase (without sidecar containers).
// terminal tells that the pod's containers will not run again whatever the
// restart policy (the pod is being deleted or has completed).
func podPhase(pod *v1.Pod, initStatuses, statuses []v1.ContainerStatus, terminal bool) v1.PodPhase {
	pendingInit, failedInit := 0, 0
	for _, s := range initStatuses {
		switch {
		case s.State.Running != nil:
			pendingInit++
		case s.State.Terminated != nil:
			if s.State.Terminated.ExitCode != 0 {
				failedInit++
			}
		case s.State.Waiting != nil && s.LastTerminationState.Terminated != nil:
			if s.LastTerminationState.Terminated.ExitCode != 0 {
				failedInit++
			}
		default:
			pendingInit++
		}
	}
	running, waiting, stopped, succeeded := 0, 0, 0, 0
	for _, s := range statuses {
		switch {
		case s.State.Running != nil:
			running++
		case s.State.Terminated != nil:
			stopped++
			if s.State.Terminated.ExitCode == 0 {
				succeeded++
			}
		case s.State.Waiting != nil && s.LastTerminationState.Terminated != nil:
			stopped++
		default:
			waiting++
		}
	}
	policy := pod.Spec.RestartPolicy
	if failedInit > 0 && (policy == v1.RestartPolicyNever || terminal) {
		return v1.PodFailed
	}
	switch {
	case pendingInit > 0 && !terminal:
		return v1.PodPending
	case waiting > 0 && !terminal:
		return v1.PodPending
	case running > 0 && !terminal:
		return v1.PodRunning
	case stopped > 0 || terminal:
		if terminal {
			if stopped == succeeded && waiting == 0 && running == 0 && stopped > 0 {
				return v1.PodSucceeded
			}
			return v1.PodFailed
		}
		switch {
		case policy == v1.RestartPolicyAlways:
			return v1.PodRunning
		case stopped == succeeded:
			return v1.PodSucceeded
		case policy == v1.RestartPolicyNever:
			return v1.PodFailed
		}
		return v1.PodRunning
	}
	return v1.PodPending
}

// podConditions computes the conditions the agent owns and keeps the
// others (PodScheduled=False from the scheduler is replaced: the pod is
// bound). Transition times move only when a condition's status changes.
func podConditions(pod *v1.Pod, st v1.PodStatus, sandboxReady, initDone bool, now time.Time) []v1.PodCondition {
	oldByType := map[v1.PodConditionType]v1.PodCondition{}
	for _, c := range pod.Status.Conditions {
		oldByType[c.Type] = c
	}
	cond := func(t v1.PodConditionType, ok bool, reason, message string) v1.PodCondition {
		c := v1.PodCondition{Type: t, Status: v1.ConditionFalse, Reason: reason, Message: message}
		if ok {
			c = v1.PodCondition{Type: t, Status: v1.ConditionTrue}
		}
		if prev, had := oldByType[t]; had && prev.Status == c.Status {
			c.LastTransitionTime = prev.LastTransitionTime
		} else {
			c.LastTransitionTime = apiTime(now)
		}
		return c
	}

	// Initialized, once true, stays true (init containers do not run again).
	if prev, ok := oldByType[v1.PodInitialized]; ok && prev.Status == v1.ConditionTrue {
		initDone = true
	}
	var incomplete []string
	for _, s := range st.InitContainerStatuses {
		if !s.Ready {
			incomplete = append(incomplete, s.Name)
		}
	}
	initCond := cond(v1.PodInitialized, initDone, reasonContainersNotInitialized, fmt.Sprintf("containers with incomplete status: %v", incomplete))

	var unready []string
	for _, c := range pod.Spec.Containers {
		for _, s := range st.ContainerStatuses {
			if s.Name == c.Name && !s.Ready {
				unready = append(unready, s.Name)
			}
		}
	}
	containersReady := len(unready) == 0
	readyReason, readyMsg := reasonContainersNotReady, fmt.Sprintf("containers with unready status: %v", unready)
	if st.Phase == v1.PodSucceeded || st.Phase == v1.PodFailed {
		containersReady = false
		if st.Phase == v1.PodSucceeded {
			readyReason, readyMsg = reasonPodCompleted, ""
		}
	}
	if !initDone && st.Phase == v1.PodPending {
		readyMsg = fmt.Sprintf("containers with unready status: %v", unready)
	}
	containersReadyCond := cond(v1.ContainersReady, containersReady, readyReason, readyMsg)

	podReady := containersReady
	podReadyReason, podReadyMsg := readyReason, readyMsg
	if podReady {
		var gates []string
		for _, g := range pod.Spec.ReadinessGates {
			if c, ok := oldByType[g.ConditionType]; !ok || c.Status != v1.ConditionTrue {
				gates = append(gates, string(g.ConditionType))
			}
		}
		if len(gates) > 0 {
			podReady = false
			podReadyReason = reasonReadinessGatesNotReady
			podReadyMsg = fmt.Sprintf("corresponding condition of pod readiness gate %q does not exist.", gates[0])
		}
	}
	readyCond := cond(v1.PodReady, podReady, podReadyReason, podReadyMsg)

	sandboxCond := cond(v1.PodReadyToStartContainers, sandboxReady && st.Phase != v1.PodSucceeded && st.Phase != v1.PodFailed, "", "")
	scheduledCond := cond(v1.PodScheduled, true, "", "")

	out := []v1.PodCondition{sandboxCond, initCond, readyCond, containersReadyCond, scheduledCond}
	own := map[v1.PodConditionType]bool{}
	for _, c := range out {
		own[c.Type] = true
	}
	for _, c := range pod.Status.Conditions {
		if !own[c.Type] {
			out = append(out, c) // readiness gates and conditions of others
		}
	}
	return out
}
