package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/runtime/container"
	"github.com/tug-sh/tug/runtime/logs"
)

// Kubernetes' limits on termination messages.
const (
	maxTerminationMessage = 4096
	fallbackLogLines      = 80
	fallbackLogBytes      = 2048
)

// observe brings the pod's container records up to date with the runtime:
// running instances get a waiter, ended ones get their exit recorded (with
// the termination message) and are destroyed (their logs stay).
func (a *Agent) observe(ctx context.Context, ps *podState, pod *v1.Pod) error {
	changed := false
	for name, rec := range ps.rec.Containers {
		if rec.ID == "" || rec.Exit != nil {
			continue
		}
		st, err := a.runtime.State(rec.ID)
		var exit *v1.ContainerStateTerminated
		switch {
		case errors.Is(err, container.ErrNotFound):
			exit = &v1.ContainerStateTerminated{
				ExitCode: 137, Reason: reasonContainerStatusUnkn,
				Message:    "The container could not be located when the pod was terminated",
				StartedAt:  apiTime(rec.StartedAt),
				FinishedAt: apiTime(time.Now()), ContainerID: containerIDPrefix + rec.ID,
			}
		case err != nil:
			return fmt.Errorf("agent: state of container %s: %w", rec.ID, err)
		case st.Status == container.StatusCreated:
			// Created, never started: the agent stopped in between.
			exit = &v1.ContainerStateTerminated{
				ExitCode: 128, Reason: reasonStartError,
				Message:    "the agent stopped before starting the container",
				FinishedAt: apiTime(time.Now()), ContainerID: containerIDPrefix + rec.ID,
			}
		case st.Status == container.StatusRunning:
			if rec.StartedAt.IsZero() {
				ps.mu.Lock()
				rec.StartedAt = st.StartedAt
				ps.mu.Unlock()
				changed = true
			}
			a.ensureWaiter(ps, pod.UID, rec.ID)
			continue
		default:
			exit = a.terminatedState(pod, name, rec, st)
		}
		if err := a.recordExit(ctx, ps, name, rec, exit); err != nil {
			return err
		}
		changed = true
	}
	if changed {
		return a.saveRecord(ps)
	}
	return nil
}

// recordExit stores how an instance ended and destroys it.
func (a *Agent) recordExit(ctx context.Context, ps *podState, name string, rec *containerRecord, exit *v1.ContainerStateTerminated) error {
	id := rec.ID
	ps.mu.Lock()
	rec.Exit = exit
	ps.mu.Unlock()
	if err := a.saveRecord(ps); err != nil {
		return err
	}
	if err := a.runtime.Destroy(ctx, id); err != nil {
		return fmt.Errorf("agent: destroy ended container %s: %w", id, err)
	}
	ps.mu.Lock()
	if ch, ok := ps.done[id]; ok {
		select {
		case <-ch:
		default:
			close(ch)
		}
		delete(ps.done, id)
	}
	ps.mu.Unlock()
	a.log.Debug("container ended", "pod", ps.rec.key(), "container", name, "id", id, "exitCode", exit.ExitCode, "reason", exit.Reason)
	return nil
}

// ensureWaiter starts a goroutine that waits for the instance's end and
// queues the pod's sync (the kubelet's PLEG, event-driven).
func (a *Agent) ensureWaiter(ps *podState, uid types.UID, id string) {
	ps.mu.Lock()
	if _, ok := ps.done[id]; ok {
		ps.mu.Unlock()
		return
	}
	ch := make(chan struct{})
	ps.done[id] = ch
	ps.mu.Unlock()
	go func() {
		_, err := a.runtime.Wait(a.ctx, id)
		if a.ctx.Err() != nil {
			return
		}
		if err != nil && !errors.Is(err, container.ErrNotFound) {
			a.log.Warn("waiting for a container failed", "id", id, "err", err)
		}
		ps.mu.Lock()
		select {
		case <-ch:
		default:
			close(ch)
		}
		ps.mu.Unlock()
		a.queue.Add(uid)
	}()
}

// terminatedState is the API's view of an ended instance.
func (a *Agent) terminatedState(pod *v1.Pod, name string, rec *containerRecord, st container.State) *v1.ContainerStateTerminated {
	t := &v1.ContainerStateTerminated{
		ContainerID: containerIDPrefix + rec.ID,
		StartedAt:   apiTime(st.StartedAt),
		ExitCode:    -1,
		Reason:      reasonContainerStatusUnkn,
		FinishedAt:  apiTime(time.Now()),
	}
	if e := st.Exit; e != nil {
		t.ExitCode, t.Reason, t.Message = int32(e.Code), e.Reason, e.Message
		if !e.FinishedAt.IsZero() {
			t.FinishedAt = apiTime(e.FinishedAt)
		}
		if e.Reason == "Unknown" || e.Code < 0 {
			t.Reason = reasonContainerStatusUnkn
		}
	}
	if t.ExitCode < 0 {
		t.ExitCode = 137
	}
	c, ok := findContainer(pod, name)
	if !ok {
		return t
	}
	if msg := a.terminationMessage(pod.UID, c, rec, t.ExitCode); msg != "" {
		t.Message = msg
	}
	return t
}

// terminationMessagePath is the host file bind-mounted at the container's
// terminationMessagePath.
func (a *Agent) terminationMessageFile(uid types.UID, name string, attempt int) string {
	return filepath.Join(a.podDir(uid), "termination", name+"_"+strconv.Itoa(attempt))
}

// terminationMessage reads what the instance wrote to its termination
// message file, or, with FallbackToLogsOnError after a failure, the tail
// of its log.
func (a *Agent) terminationMessage(uid types.UID, c *v1.Container, rec *containerRecord, code int32) string {
	data, _ := os.ReadFile(a.terminationMessageFile(uid, c.Name, rec.Attempt))
	if len(data) > maxTerminationMessage {
		data = data[:maxTerminationMessage]
	}
	if len(bytes.TrimSpace(data)) > 0 || c.TerminationMessagePolicy != v1.TerminationMessageFallbackToLogsOnError || code == 0 {
		return string(data)
	}
	tail := int64(fallbackLogLines)
	var b bytes.Buffer
	_ = logs.ReadFile(context.Background(), logs.InstancePath(a.logsDir(uid, c.Name), rec.Attempt), logs.ReadOptions{TailLines: &tail}, &b)
	out := b.Bytes()
	if len(out) > fallbackLogBytes {
		out = out[len(out)-fallbackLogBytes:]
	}
	return strings.TrimRight(string(out), "\n")
}
