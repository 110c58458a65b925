package agent

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"sync"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/labels"

	"github.com/tug-sh/tug/runtime/agent/probe"
	"github.com/tug-sh/tug/runtime/agent/server"
	"github.com/tug-sh/tug/runtime/container"
)

// ContainerLog locates a container's log for /containerLogs.
func (a *Agent) ContainerLog(namespace, name, containerName string) (server.LogSource, error) {
	ps, pod := a.findPod(namespace, name)
	if ps == nil {
		return server.LogSource{}, fmt.Errorf("pod %q does not exist on node %s: %w", namespace+"/"+name, a.cfg.NodeName, server.ErrNotFound)
	}
	if pod != nil {
		if _, ok := findContainer(pod, containerName); !ok {
			return server.LogSource{}, fmt.Errorf("container %q in pod %q does not exist: %w", containerName, name, server.ErrNotFound)
		}
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	rec := ps.rec.Containers[containerName]
	if rec == nil || rec.ID == "" {
		reason := reasonContainerCreating
		if w := ps.waiting[containerName]; w != nil {
			reason = w.Reason
		}
		return server.LogSource{}, fmt.Errorf("container %q in pod %q is waiting to start: %s: %w", containerName, name, reason, server.ErrBadRequest)
	}
	ended := make(chan struct{})
	close(ended)
	src := server.LogSource{Dir: a.logsDir(ps.rec.UID, containerName), Done: ended}
	if rec.Exit == nil {
		if ch, ok := ps.done[rec.ID]; ok {
			src.Done = ch
		} else {
			src.Done = nil
		}
	}
	return src, nil
}

// runningInstance is the ID of a container's running instance.
func (a *Agent) runningInstance(namespace, name, containerName string) (string, error) {
	ps, pod := a.findPod(namespace, name)
	if ps == nil || pod == nil {
		return "", fmt.Errorf("pod %q does not exist on node %s: %w", namespace+"/"+name, a.cfg.NodeName, server.ErrNotFound)
	}
	if _, ok := findContainer(pod, containerName); !ok {
		return "", fmt.Errorf("container %q in pod %q does not exist: %w", containerName, name, server.ErrNotFound)
	}
	ps.mu.Lock()
	defer ps.mu.Unlock()
	rec := ps.rec.Containers[containerName]
	if rec == nil || rec.ID == "" || rec.Exit != nil {
		return "", fmt.Errorf("container %q in pod %q is not running: %w", containerName, name, server.ErrBadRequest)
	}
	return rec.ID, nil
}

// Exec runs a command in a container for /exec.
func (a *Agent) Exec(ctx context.Context, namespace, name, containerName string, req server.ExecRequest) (int, error) {
	id, err := a.runningInstance(namespace, name, containerName)
	if err != nil {
		return -1, err
	}
	opts := container.ExecOptions{Command: req.Command, TTY: req.TTY, Stdin: req.Stdin, Stdout: req.Stdout, Stderr: req.Stderr}
	if req.Resize != nil {
		resize := make(chan container.TerminalSize, 4)
		go func() {
			defer close(resize)
			for s := range req.Resize {
				resize <- container.TerminalSize{Width: s.Width, Height: s.Height}
			}
		}()
		opts.Resize = resize
	}
	code, err := a.runtime.Exec(ctx, id, opts)
	if errors.Is(err, container.ErrNotRunning) || errors.Is(err, container.ErrNotFound) {
		return -1, fmt.Errorf("container %q in pod %q is not running: %w", containerName, name, server.ErrBadRequest)
	}
	return code, err
}

// Healthy reports whether the agent works: it has set up pod networking.
func (a *Agent) Healthy() error {
	if !a.netReady.Load() {
		return errors.New("pod network not ready")
	}
	return nil
}

// probeExec runs an exec probe's command, collecting its output.
func (a *Agent) probeExec(ctx context.Context, id string, cmd []string) (int, []byte, error) {
	var out lockedBuffer
	code, err := a.runtime.Exec(ctx, id, container.ExecOptions{Command: cmd, Stdout: &out, Stderr: &out})
	return code, out.Bytes(), err
}

type lockedBuffer struct {
	mu sync.Mutex
	b  bytes.Buffer
}

func (l *lockedBuffer) Write(p []byte) (int, error) {
	l.mu.Lock()
	defer l.mu.Unlock()
	if l.b.Len() > 64*1024 {
		return len(p), nil
	}
	return l.b.Write(p)
}

func (l *lockedBuffer) Bytes() []byte {
	l.mu.Lock()
	defer l.mu.Unlock()
	return bytes.Clone(l.b.Bytes())
}

// probeEvent records the kubelet's Unhealthy and ProbeWarning events.
func (a *Agent) probeEvent(pod *v1.Pod, name string, kind probe.Kind, o probe.Outcome) {
	c, ok := findContainer(pod, name)
	if !ok {
		return
	}
	if o.Result == probe.Failure {
		a.containerEvent(pod, c, v1.EventTypeWarning, "Unhealthy", "%s probe failed: %s", kind, o.Output)
	}
	if o.Warning != "" {
		a.containerEvent(pod, c, v1.EventTypeWarning, "ProbeWarning", "%s probe warning: %s", kind, o.Warning)
	}
}

// serviceEnvFor lists the Service variables a pod's containers get: the
// Services of its namespace (enableServiceLinks, default true) and the
// "kubernetes" Service of the default namespace.
func (a *Agent) serviceEnvFor(pod *v1.Pod) map[string]string {
	if a.services == nil {
		return nil
	}
	all, err := a.services.List(labels.Everything())
	if err != nil {
		return nil
	}
	links := pod.Spec.EnableServiceLinks == nil || *pod.Spec.EnableServiceLinks
	byName := map[string]*v1.Service{}
	for _, s := range all {
		switch {
		case s.Namespace == "default" && s.Name == "kubernetes":
			if _, ok := byName[s.Name]; !ok {
				byName[s.Name] = s
			}
		case links && s.Namespace == pod.Namespace:
			byName[s.Name] = s
		}
	}
	list := make([]*v1.Service, 0, len(byName))
	for _, s := range byName {
		list = append(list, s)
	}
	return serviceEnv(list)
}
