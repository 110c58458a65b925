package agent

import (
	"context"
	"errors"
	"fmt"
	"os"

	v1 "k8s.io/api/core/v1"

	"github.com/tug-sh/tug/dataplane/podnet"
	"github.com/tug-sh/tug/runtime/container"
)

// adopt takes over what an earlier agent left on the node, before the
// first sync: pod records become pod states (so their containers, which
// kept running, are adopted as they are: same processes, same addresses),
// and everything belonging to no known pod — containers, sandboxes,
// addresses, directories — is removed. Pods the API no longer has are
// cleaned up by their first sync.
func (a *Agent) adopt(ctx context.Context) error {
	records, broken, err := a.loadRecords()
	if err != nil {
		return err
	}
	for _, uid := range broken {
		a.log.Warn("removing a pod directory without a readable record", "uid", uid)
		if err := a.unmountVolumes(uid); err != nil {
			return err
		}
		if err := os.RemoveAll(a.podDir(uid)); err != nil {
			return fmt.Errorf("agent: remove %s: %w", a.podDir(uid), err)
		}
	}
	known := map[string]bool{} // sandbox IDs
	live := []podnet.PodKey{}
	liveIPs := map[string]bool{}
	a.mu.Lock()
	for uid, rec := range records {
		a.pods[uid] = newPodState(rec)
		known[sandboxID(uid)] = true
		live = append(live, podKey(rec))
		liveIPs[podKey(rec).String()] = true
	}
	a.mu.Unlock()
	// Pods the API has that have no record yet (bound while the agent was
	// down) are created by their sync.
	for _, obj := range a.podIndex.List() {
		pod := obj.(*v1.Pod)
		if _, ok := records[pod.UID]; !ok {
			key := podnet.PodKey{Namespace: pod.Namespace, Name: pod.Name, UID: string(pod.UID)}
			live = append(live, key)
			liveIPs[key.String()] = true
			known[sandboxID(pod.UID)] = true
		}
	}

	// Containers of unknown pods.
	states, err := a.runtime.List()
	if err != nil {
		return err
	}
	adopted := 0
	var errs []error
	for _, st := range states {
		if known[st.PodID] {
			if st.Status == container.StatusRunning {
				adopted++
			}
			continue
		}
		a.log.Info("destroying a container of no known pod", "id", st.ID, "pod", st.PodID)
		if err := a.runtime.Destroy(ctx, st.ID); err != nil {
			errs = append(errs, err)
		}
	}
	// Containers of known pods that their records do not list (an agent
	// stopped between creating and recording one).
	for uid, rec := range records {
		listed := map[string]bool{}
		for _, c := range rec.Containers {
			if c.ID != "" && c.Exit == nil {
				listed[c.ID] = true
			}
		}
		for _, st := range states {
			if st.PodID == sandboxID(uid) && !listed[st.ID] {
				a.log.Info("destroying an unrecorded container", "id", st.ID, "pod", rec.key())
				if err := a.runtime.Destroy(ctx, st.ID); err != nil {
					errs = append(errs, err)
				}
			}
		}
	}
	// Sandboxes and addresses of unknown pods.
	removed, err := a.net.GarbageCollect(ctx, live)
	if err != nil {
		errs = append(errs, err)
	}
	for _, sb := range removed {
		a.log.Info("removed a leftover pod sandbox", "sandbox", sb.ID, "pod", sb.Pod)
	}
	allocs, err := a.ipam.List(ctx)
	if err != nil {
		errs = append(errs, err)
	}
	for key := range allocs {
		if !liveIPs[key] {
			a.log.Info("releasing the address of a pod that no longer exists", "pod", key)
			if err := a.ipam.Release(ctx, key); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := a.removeStalePodIPC(known); err != nil {
		errs = append(errs, err)
	}
	if err := errors.Join(errs...); err != nil {
		return fmt.Errorf("agent: cleaning up after the previous agent: %w", err)
	}
	a.mu.Lock()
	for uid := range a.pods {
		a.queue.Add(uid)
	}
	a.mu.Unlock()
	for _, obj := range a.podIndex.List() {
		a.queue.Add(obj.(*v1.Pod).UID)
	}
	a.log.Info("adopted the node's state", "pods", len(records), "runningContainers", adopted)
	return nil
}

// removeStalePodIPC unpins IPC namespaces of pods that no longer exist.
func (a *Agent) removeStalePodIPC(known map[string]bool) error {
	ents, err := os.ReadDir(a.cfg.containerStateDir() + "/pods")
	if errors.Is(err, os.ErrNotExist) {
		return nil
	}
	if err != nil {
		return err
	}
	var errs []error
	for _, e := range ents {
		if e.IsDir() && !known[e.Name()] {
			if err := a.runtime.RemovePodIPC(e.Name()); err != nil {
				errs = append(errs, err)
			}
		}
	}
	return errors.Join(errs...)
}
