package agent

import (
	"time"

	v1 "k8s.io/api/core/v1"
)

// containerPlanState is what planning needs to know about one container.
type containerPlanState struct {
	// Created: an instance exists (running or ended).
	Created bool
	Running bool
	// Exit is how the newest instance ended.
	Exit *v1.ContainerStateTerminated
	// Backoff is the container's restart backoff entry.
	Backoff backoff
	// LivenessFailed and StartupFailed are the probes' verdicts on the
	// running instance.
	LivenessFailed bool
	StartupFailed  bool
	// SpecChanged: the running instance was made from another version of
	// the container's spec (its image was updated).
	SpecChanged bool
}

// planInput is the input of planPod.
type planInput struct {
	Pod        *v1.Pod
	Containers map[string]containerPlanState
	// Stop: the pod is being deleted (or is gone): stop everything.
	Stop bool
	Now  time.Time
}

// killReason says why a container is stopped.
type killReason int

const (
	killForDeletion killReason = iota
	killLivenessFailed
	killStartupFailed
	killSpecChanged
)

type killStep struct {
	Name   string
	Reason killReason
}

type startStep struct {
	Name string
	Init bool
	// AfterExit: the start replaces an ended instance, which advances the
	// restart backoff.
	AfterExit bool
}

// podPlan is what to do to a pod now.
type podPlan struct {
	Kill  []killStep
	Start []startStep
	// BackOff lists containers waiting out their restart backoff, with the
	// time it ends.
	BackOff map[string]time.Time
	// Terminal: no container of the pod will run again (it is being
	// deleted, an init container failed under restartPolicy Never, or
	// every container has finished under Never or OnFailure).
	Terminal bool
}

// shouldRestart applies the pod's restartPolicy to an ended container.
func shouldRestart(policy v1.RestartPolicy, exit *v1.ContainerStateTerminated) bool {
	switch policy {
	case v1.RestartPolicyNever:
		return false
	case v1.RestartPolicyOnFailure:
		return exit.ExitCode != 0
	}
	return true
}

// planPod decides, like the kubelet's computePodActions, which containers
// to stop and start: init containers one at a time in order, each to
// completion, then every regular container; ended containers restart per
// the restartPolicy after their backoff; a container whose liveness or
// startup probe failed is killed and, unless the policy is Never,
// restarted at once; one whose spec changed (a new image) is replaced.
// It is pure.
func planPod(in planInput) podPlan {
	pod := in.Pod
	plan := podPlan{BackOff: map[string]time.Time{}}
	if in.Stop {
		for _, c := range allContainers(pod) {
			if in.Containers[c.Name].Running {
				plan.Kill = append(plan.Kill, killStep{Name: c.Name, Reason: killForDeletion})
			}
		}
		plan.Terminal = true
		return plan
	}
	policy := pod.Spec.RestartPolicy

	// restartOrWait restarts an ended container unless it is in backoff.
	restartOrWait := func(name string, init bool, st containerPlanState) {
		if wait, until := st.Backoff.inBackoff(st.Exit.FinishedAt.Time, in.Now); wait {
			plan.BackOff[name] = until
			return
		}
		plan.Start = append(plan.Start, startStep{Name: name, Init: init, AfterExit: true})
	}

	for _, c := range pod.Spec.InitContainers {
		st := in.Containers[c.Name]
		switch {
		case st.Running:
			return plan // wait for it to finish
		case st.Exit != nil && st.Exit.ExitCode == 0:
			continue
		case st.Exit != nil:
			if policy == v1.RestartPolicyNever {
				plan.Terminal = true
				return plan
			}
			restartOrWait(c.Name, true, st)
			return plan
		default:
			plan.Start = append(plan.Start, startStep{Name: c.Name, Init: true})
			return plan
		}
	}

	done := 0
	for _, c := range pod.Spec.Containers {
		st := in.Containers[c.Name]
		switch {
		case st.Running && st.SpecChanged:
			// Restarted whatever the restart policy, as in Kubernetes.
			plan.Kill = append(plan.Kill, killStep{Name: c.Name, Reason: killSpecChanged})
			plan.Start = append(plan.Start, startStep{Name: c.Name})
		case st.Running && (st.LivenessFailed || st.StartupFailed):
			reason := killLivenessFailed
			if st.StartupFailed {
				reason = killStartupFailed
			}
			plan.Kill = append(plan.Kill, killStep{Name: c.Name, Reason: reason})
			if policy != v1.RestartPolicyNever {
				plan.Start = append(plan.Start, startStep{Name: c.Name})
			}
		case st.Running:
		case st.Exit != nil:
			if !shouldRestart(policy, st.Exit) {
				done++
				continue
			}
			restartOrWait(c.Name, false, st)
		default:
			plan.Start = append(plan.Start, startStep{Name: c.Name})
		}
	}
	plan.Terminal = done == len(pod.Spec.Containers) && len(pod.Spec.Containers) > 0
	return plan
}

// allContainers lists init containers, then regular ones.
func allContainers(pod *v1.Pod) []v1.Container {
	out := make([]v1.Container, 0, len(pod.Spec.InitContainers)+len(pod.Spec.Containers))
	out = append(out, pod.Spec.InitContainers...)
	return append(out, pod.Spec.Containers...)
}

// findContainer returns the pod's container (init or regular) by name.
func findContainer(pod *v1.Pod, name string) (*v1.Container, bool) {
	for i := range pod.Spec.InitContainers {
		if pod.Spec.InitContainers[i].Name == name {
			return &pod.Spec.InitContainers[i], true
		}
	}
	for i := range pod.Spec.Containers {
		if pod.Spec.Containers[i].Name == name {
			return &pod.Spec.Containers[i], true
		}
	}
	return nil, false
}
