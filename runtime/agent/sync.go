package agent

import (
	"context"
	"errors"
	"fmt"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/runtime/agent/probe"
)

// errSandbox marks a pod whose sandbox could not be set up; its sync is
// retried with backoff.
var errSandbox = errors.New("pod sandbox not ready")

// sync brings one pod to what the API says it should be and reports its
// status. It returns when the pod should be looked at again (a backoff
// ending), or an error to retry with backoff.
func (a *Agent) sync(uid types.UID) (time.Duration, error) {
	pod := a.lookupPod(uid)
	ps := a.stateFor(uid, pod)
	if ps == nil {
		return 0, nil
	}
	// A deletion cancels the sync in flight (an image pull, a start) so
	// that stopping begins at once; the syncs that stop the pod are not
	// cancellable that way.
	ctx := a.ctx
	if pod != nil && pod.DeletionTimestamp == nil {
		var cancel context.CancelFunc
		ctx, cancel = context.WithCancel(a.ctx)
		ps.mu.Lock()
		ps.syncCancel = cancel
		ps.mu.Unlock()
		if p := a.lookupPod(uid); p != nil && p.DeletionTimestamp != nil {
			cancel() // the deletion came in while this sync began
		}
		defer func() {
			ps.mu.Lock()
			ps.syncCancel = nil
			ps.mu.Unlock()
			cancel()
		}()
	}

	switch {
	case pod == nil:
		return 0, a.cleanupPod(ctx, ps)
	case pod.Spec.NodeName != a.cfg.NodeName:
		return 0, a.cleanupPod(ctx, ps) // rebound (cannot happen in Kubernetes, but harmless)
	case pod.DeletionTimestamp != nil:
		return 0, a.terminatePod(ctx, ps, pod)
	case ps.rec.Finished || pod.Status.Phase == v1.PodSucceeded || pod.Status.Phase == v1.PodFailed:
		return 0, a.finishPod(ctx, ps, pod)
	}
	return a.runPod(ctx, ps, pod)
}

// runPod is the sync of a pod that should run.
func (a *Agent) runPod(ctx context.Context, ps *podState, pod *v1.Pod) (time.Duration, error) {
	if ps.rec.StartTime.IsZero() {
		ps.mu.Lock()
		ps.rec.StartTime = time.Now()
		ps.mu.Unlock()
		if err := a.saveRecord(ps); err != nil {
			return 0, err
		}
	}
	if ps.sandbox == nil {
		if err := a.ensureSandbox(ctx, ps, pod); err != nil {
			a.writeStatus(ctx, ps, pod, false)
			if ctx.Err() != nil {
				return 0, nil // cancelled by a deletion: the next sync stops the pod
			}
			return 0, fmt.Errorf("%w: %v", errSandbox, err)
		}
	}
	if err := a.observe(ctx, ps, pod); err != nil {
		return 0, err
	}
	plan := planPod(planInput{Pod: pod, Containers: a.planState(ps, pod), Now: time.Now()})
	a.applyBackoffWaiting(ps, pod, plan)

	for _, k := range plan.Kill {
		a.killContainer(ctx, ps, pod, k.Name, k.Reason)
	}
	for _, s := range plan.Start {
		if ctx.Err() != nil {
			break
		}
		ok := a.startContainer(ctx, ps, pod, s)
		if !ok && s.Init {
			break
		}
	}
	if err := a.observe(ctx, ps, pod); err != nil {
		return 0, err
	}
	// Starting may have ended a container (a failed start): plan again for
	// the phase, without acting.
	after := planPod(planInput{Pod: pod, Containers: a.planState(ps, pod), Now: time.Now()})
	if after.Terminal {
		return 0, a.finishPod(ctx, ps, pod)
	}
	a.syncProbes(ps, pod, false)
	a.writeStatus(ctx, ps, pod, false)
	return a.nextWake(ps, after), nil
}

// nextWake is when a backoff of the pod ends (0: nothing pending).
func (a *Agent) nextWake(ps *podState, plan podPlan) time.Duration {
	var next time.Time
	for _, until := range plan.BackOff {
		if next.IsZero() || until.Before(next) {
			next = until
		}
	}
	for _, f := range ps.pullFailures {
		if wait, until := f.backoff.inBackoff(f.at, time.Now()); wait && (next.IsZero() || until.Before(next)) {
			next = until
		}
	}
	for _, st := range plan.Start {
		if rec := ps.rec.Containers[st.Name]; rec != nil && rec.Exit != nil {
			// An instance failed to start and its restart is due (the
			// first one is immediate): retry soon, as the kubelet's next
			// sync would.
			return time.Second
		}
	}
	for _, w := range ps.waiting {
		if w.Reason == reasonErrImagePull {
			// Show ImagePullBackOff soon, as the kubelet's frequent syncs do.
			return time.Second
		}
	}
	if next.IsZero() {
		return 0
	}
	return max(time.Until(next), 10*time.Millisecond) + 10*time.Millisecond
}

// applyBackoffWaiting records CrashLoopBackOff for containers waiting out
// their restart backoff, with the kubelet's BackOff event.
func (a *Agent) applyBackoffWaiting(ps *podState, pod *v1.Pod, plan podPlan) {
	for name := range plan.BackOff {
		c, _ := findContainer(pod, name)
		rec := ps.rec.Containers[name]
		delay := rec.Backoff.Delay
		msg := fmt.Sprintf("back-off %s restarting failed container=%s pod=%s_%s(%s)", delay, name, pod.Name, pod.Namespace, pod.UID)
		prev := ps.waiting[name]
		ps.mu.Lock()
		ps.waiting[name] = &v1.ContainerStateWaiting{Reason: reasonCrashLoopBackOff, Message: msg}
		ps.mu.Unlock()
		if prev == nil || prev.Reason != reasonCrashLoopBackOff || prev.Message != msg {
			a.containerEvent(pod, c, v1.EventTypeWarning, "BackOff", "Back-off restarting failed container %s in pod %s_%s(%s)", name, pod.Name, pod.Namespace, pod.UID)
		}
	}
}

// planState is the planner's view of the pod's containers.
func (a *Agent) planState(ps *podState, pod *v1.Pod) map[string]containerPlanState {
	out := map[string]containerPlanState{}
	for _, c := range allContainers(pod) {
		rec := ps.rec.Containers[c.Name]
		if rec == nil || rec.ID == "" {
			out[c.Name] = containerPlanState{}
			continue
		}
		st := containerPlanState{Created: true, Exit: rec.Exit, Running: rec.Exit == nil, Backoff: rec.Backoff}
		if st.Running {
			st.SpecChanged = rec.SpecHash != "" && rec.SpecHash != containerHash(c)
			if r, ok := a.probes.Result(pod.UID, c.Name, probe.Liveness, rec.ID); ok && r == probe.Failure {
				st.LivenessFailed = true
			}
			if r, ok := a.probes.Result(pod.UID, c.Name, probe.Startup, rec.ID); ok && r == probe.Failure {
				st.StartupFailed = true
			}
		}
		out[c.Name] = st
	}
	return out
}

// syncProbes tells the probe workers about the pod's containers.
func (a *Agent) syncProbes(ps *podState, pod *v1.Pod, deleting bool) {
	view := map[string]probe.Container{}
	for _, c := range pod.Spec.Containers {
		rec := ps.rec.Containers[c.Name]
		if rec == nil || rec.ID == "" {
			continue
		}
		pc := probe.Container{ID: rec.ID, Running: rec.Exit == nil, StartedAt: rec.StartedAt, Deleting: deleting}
		for _, cs := range pod.Status.ContainerStatuses {
			if cs.Name == c.Name && cs.ContainerID == containerIDPrefix+rec.ID {
				pc.WasReady = cs.Ready
				pc.WasStarted = cs.Started != nil && *cs.Started
			}
		}
		pc.Started = a.started(pod.UID, c, rec) || pc.WasStarted
		view[c.Name] = pc
	}
	podIP := ps.rec.IP
	if ps.sandbox != nil {
		podIP = ps.sandbox.podIP
	}
	a.probes.Sync(pod, podIP, view)
}

// started: the instance runs and its startup probe (if any) succeeded.
func (a *Agent) started(uid types.UID, c v1.Container, rec *containerRecord) bool {
	if rec == nil || rec.ID == "" || rec.Exit != nil {
		return false
	}
	if c.StartupProbe == nil {
		return true
	}
	r, ok := a.probes.Result(uid, c.Name, probe.Startup, rec.ID)
	return ok && r == probe.Success
}

// ready: started, and its readiness probe (if any) succeeded.
func (a *Agent) ready(uid types.UID, c v1.Container, rec *containerRecord) bool {
	if !a.started(uid, c, rec) {
		return false
	}
	if c.ReadinessProbe == nil {
		return true
	}
	r, ok := a.probes.Result(uid, c.Name, probe.Readiness, rec.ID)
	return ok && r == probe.Success
}
