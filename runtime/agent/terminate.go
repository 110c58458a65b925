package agent

import (
	"context"
	"errors"
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
)

// terminatePod handles a pod being deleted (deletionTimestamp set): its
// containers are stopped gracefully (SIGTERM, SIGKILL after the deletion
// grace period), its network and address released, its final status
// written, and the deletion confirmed with a DELETE of grace period 0 (with
// the UID as precondition, so a new pod of the same name is untouched).
func (a *Agent) terminatePod(ctx context.Context, ps *podState, pod *v1.Pod) error {
	if !ps.rec.Finished {
		a.syncProbes(ps, pod, true)
		if err := a.stopPod(ctx, ps, pod); err != nil {
			return err
		}
	}
	a.writeStatus(ctx, ps, pod, true)
	return a.confirmDeletion(ctx, pod)
}

// finishPod stops a pod that completed (or failed for good) and frees its
// network and address; its record and logs stay until the API deletes it.
func (a *Agent) finishPod(ctx context.Context, ps *podState, pod *v1.Pod) error {
	if !ps.rec.Finished {
		if err := a.stopPod(ctx, ps, pod); err != nil {
			return err
		}
	}
	a.syncProbes(ps, pod, true)
	a.probes.Remove(pod.UID)
	a.writeStatus(ctx, ps, pod, true)
	return nil
}

// stopPod kills the pod's containers, tears down its sandbox and marks
// the record finished.
func (a *Agent) stopPod(ctx context.Context, ps *podState, pod *v1.Pod) error {
	if err := a.killAll(ctx, ps, pod); err != nil {
		return err
	}
	if err := a.teardownSandbox(ctx, ps); err != nil {
		return err
	}
	if err := a.unmountVolumes(ps.rec.UID); err != nil {
		return err
	}
	ps.mu.Lock()
	ps.rec.Finished = true
	ps.mu.Unlock()
	return a.saveRecord(ps)
}

// confirmDeletion removes the pod from the API now that nothing of it
// runs.
func (a *Agent) confirmDeletion(ctx context.Context, pod *v1.Pod) error {
	zero := int64(0)
	uid := pod.UID
	opts := metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &uid}}
	pods := a.client.CoreV1().Pods(pod.Namespace)
	// A server that only shortens the grace period on the first DELETE
	// removes the pod on the second.
	for range 2 {
		err := pods.Delete(ctx, pod.Name, opts)
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil // gone, or a new pod with the same name
		}
		if err != nil {
			return fmt.Errorf("agent: confirm deletion of pod %s/%s: %w", pod.Namespace, pod.Name, err)
		}
		cur, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) || (err == nil && cur.UID != uid) {
			return nil
		}
		if err != nil {
			return err
		}
	}
	return fmt.Errorf("agent: pod %s/%s is still in the API after DELETE with grace period 0", pod.Namespace, pod.Name)
}

// cleanupPod removes everything of a pod the API no longer has: its
// containers (stopped with the minimum grace period), sandbox, files,
// logs and probe workers.
func (a *Agent) cleanupPod(ctx context.Context, ps *podState) error {
	a.probes.Remove(ps.rec.UID)
	if err := a.killAll(ctx, ps, nil); err != nil {
		return err
	}
	if err := a.teardownSandbox(ctx, ps); err != nil {
		return err
	}
	if err := a.unmountVolumes(ps.rec.UID); err != nil {
		return err
	}
	if err := os.RemoveAll(a.podDir(ps.rec.UID)); err != nil && !errors.Is(err, os.ErrNotExist) {
		return fmt.Errorf("agent: remove pod directory: %w", err)
	}
	a.forget(ps.rec.UID)
	a.log.Info("pod cleaned up", "pod", ps.rec.key(), "uid", ps.rec.UID)
	return nil
}
