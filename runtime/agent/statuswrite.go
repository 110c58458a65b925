package agent

import (
	"context"
	"time"

	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// observations is what buildPodStatus needs about each container.
func (a *Agent) observations(ps *podState, pod *v1.Pod) map[string]containerObservation {
	out := map[string]containerObservation{}
	for _, c := range allContainers(pod) {
		o := containerObservation{Waiting: ps.waiting[c.Name]}
		if rec := ps.rec.Containers[c.Name]; rec != nil {
			o.ID, o.Attempt, o.Exit, o.Last = rec.ID, rec.Attempt, rec.Exit, rec.Last
			o.Image, o.ImageID = rec.Image, rec.ImageID
			if rec.ID != "" && rec.Exit == nil {
				o.Running, o.StartedAt = true, rec.StartedAt
				o.Started = a.started(pod.UID, c, rec)
				o.Ready = a.ready(pod.UID, c, rec)
				o.Waiting = nil
			}
		}
		out[c.Name] = o
	}
	return out
}

// writeStatus computes the pod's status and writes it through pods/status
// when it differs from what the API (or the last write) has. terminal
// says the pod will not run again.
func (a *Agent) writeStatus(ctx context.Context, ps *podState, pod *v1.Pod, terminal bool) {
	podIP := ps.rec.IP
	if ps.sandbox != nil {
		podIP = ps.sandbox.podIP
	} else if ps.rec.HostNetwork {
		podIP = a.hostIP()
	}
	st := buildPodStatus(statusInput{
		Pod:          pod,
		Containers:   a.observations(ps, pod),
		SandboxReady: ps.sandbox != nil,
		PodIP:        podIP,
		HostIP:       a.hostIP(),
		StartTime:    ps.rec.StartTime,
		Terminal:     terminal,
		Now:          time.Now(),
	})
	if apiequality.Semantic.DeepEqual(pod.Status, st) {
		return
	}
	if ps.lastStatus != nil && apiequality.Semantic.DeepEqual(*ps.lastStatus, st) && ps.lastStatusFor == pod.ResourceVersion {
		return // written already; the informer has not caught up
	}
	cur := pod.DeepCopy()
	cur.Status = st
	_, err := a.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, cur, metav1.UpdateOptions{})
	if apierrors.IsConflict(err) {
		fresh, gerr := a.client.CoreV1().Pods(pod.Namespace).Get(ctx, pod.Name, metav1.GetOptions{})
		if gerr != nil || fresh.UID != pod.UID {
			return
		}
		fresh.Status = st
		_, err = a.client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, fresh, metav1.UpdateOptions{})
	}
	switch {
	case apierrors.IsNotFound(err):
	case err != nil:
		if ctx.Err() == nil {
			a.log.Warn("writing pod status failed; will retry at the next sync", "pod", ps.rec.key(), "err", err)
			a.queue.AddAfter(pod.UID, time.Second)
		}
	default:
		ps.mu.Lock()
		ps.lastStatus = &st
		ps.lastStatusFor = pod.ResourceVersion
		ps.mu.Unlock()
	}
}
