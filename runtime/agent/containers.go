package agent

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/tug-sh/tug/runtime/container"
	"github.com/tug-sh/tug/runtime/logs"
)

// minGracePeriod is the shortest time a container gets to stop, as in the
// kubelet.
const minGracePeriod = 2 * time.Second

// keptLogInstances: the current and the previous instance's logs (the
// kubelet keeps one dead container per container).
const keptLogInstances = 2

// startContainer starts a new instance of a container. It reports whether
// the container runs; when it does not, the reason is in ps.waiting (and
// for a failed start in the record as a StartError exit).
func (a *Agent) startContainer(ctx context.Context, ps *podState, pod *v1.Pod, step startStep) bool {
	c, ok := findContainer(pod, step.Name)
	if !ok {
		return false
	}
	rec := ps.rec.Containers[c.Name]
	if rec != nil && rec.ID != "" && rec.Exit == nil {
		return false // the previous instance could not be stopped
	}
	if rec != nil && step.AfterExit && rec.Exit != nil {
		ps.mu.Lock()
		rec.Backoff = rec.Backoff.next(rec.Exit.FinishedAt.Time)
		ps.mu.Unlock()
	}
	img, ok := a.ensureImage(ctx, ps, pod, c)
	if !ok {
		return false
	}
	attempt := 0
	if rec != nil && rec.ID != "" {
		attempt = rec.Attempt + 1
	}
	desc, err := a.containerFor(ps, pod, c, img, attempt)
	if err != nil {
		reason := reasonCreateContainerErr
		if errors.Is(err, errConfig) {
			reason = reasonCreateConfigErr
		}
		a.setWaiting(ps, c.Name, reason, err.Error())
		a.containerEvent(pod, c, v1.EventTypeWarning, "Failed", "Error: %v", err)
		return false
	}
	if err := a.runtime.Create(ctx, desc); err != nil {
		a.setWaiting(ps, c.Name, reasonCreateContainerErr, err.Error())
		a.containerEvent(pod, c, v1.EventTypeWarning, "Failed", "Error: %v", err)
		return false
	}

	// The instance exists: record it before anything else can fail, so an
	// agent restart finds it.
	ps.mu.Lock()
	rec = ps.rec.container(c.Name)
	if rec.ID != "" {
		rec.Last = rec.Exit
	}
	rec.ID, rec.Attempt, rec.Exit, rec.StartedAt = desc.ID, attempt, nil, time.Time{}
	rec.Image, rec.ImageID, rec.ImageConfigID = img.ref, img.imageID, img.configID
	rec.SpecHash = containerHash(*c)
	ps.mu.Unlock()
	if err := a.saveRecord(ps); err != nil {
		a.log.Error("could not save pod record", "pod", ps.rec.key(), "err", err)
	}
	_ = logs.PruneInstances(a.logsDir(pod.UID, c.Name), keptLogInstances)
	a.containerEvent(pod, c, v1.EventTypeNormal, "Created", "Created container: %s", c.Name)

	if err := a.runtime.Start(ctx, desc.ID); err != nil {
		msg := strings.TrimPrefix(err.Error(), "container: ")
		exit := &v1.ContainerStateTerminated{
			ExitCode: 128, Reason: reasonStartError, Message: msg,
			StartedAt: apiTime(time.Unix(0, 0)), FinishedAt: apiTime(time.Now()),
			ContainerID: containerIDPrefix + desc.ID,
		}
		if err := a.recordExit(context.WithoutCancel(ctx), ps, c.Name, rec, exit); err != nil {
			a.log.Error("could not clean up a container that failed to start", "id", desc.ID, "err", err)
		}
		a.setWaiting(ps, c.Name, reasonRunContainerError, msg)
		a.containerEvent(pod, c, v1.EventTypeWarning, "Failed", "Error: failed to start container %q: %s", c.Name, msg)
		return false
	}
	ps.mu.Lock()
	rec.StartedAt = time.Now()
	delete(ps.waiting, c.Name)
	ps.mu.Unlock()
	if err := a.saveRecord(ps); err != nil {
		a.log.Error("could not save pod record", "pod", ps.rec.key(), "err", err)
	}
	a.ensureWaiter(ps, pod.UID, desc.ID)
	a.containerEvent(pod, c, v1.EventTypeNormal, "Started", "Started container %s", c.Name)
	return true
}

func (a *Agent) setWaiting(ps *podState, name, reason, message string) {
	ps.mu.Lock()
	ps.waiting[name] = &v1.ContainerStateWaiting{Reason: reason, Message: message}
	ps.mu.Unlock()
}

// containerFor builds the runtime's description of a container instance.
func (a *Agent) containerFor(ps *podState, pod *v1.Pod, c *v1.Container, img pulledImage, attempt int) (container.Container, error) {
	sb := ps.sandbox
	env, err := containerEnv(podEnvContext{
		Pod: pod, PodIP: sb.podIP, HostIP: a.hostIP(),
		Allocatable: a.allocatable(), ServiceEnv: a.serviceEnvFor(pod),
	}, c)
	if err != nil {
		return container.Container{}, err
	}
	command, args := commandLine(c, img.config, env)
	if len(command) == 0 {
		return container.Container{}, fmt.Errorf("no command specified: the image %s has neither ENTRYPOINT nor CMD and the container sets no command", c.Image)
	}
	sec, err := securityFor(pod, c, a.cfg.SeccompDefault)
	if err != nil {
		return container.Container{}, err
	}
	passwd, _ := os.ReadFile(filepath.Join(img.lower, "etc", "passwd"))
	group, _ := os.ReadFile(filepath.Join(img.lower, "etc", "group"))
	user, err := resolveUser(img.config.User, parseIdentity(passwd, group), sec.RunAsUser, sec.RunAsGroup, sec.PodGroups)
	if err != nil {
		return container.Container{}, err
	}
	if sec.RunAsNonRoot && user.UID == 0 {
		return container.Container{}, fmt.Errorf("%w: container has runAsNonRoot and image will run as root (pod: %q, container: %s)", errConfig, pod.Namespace+"/"+pod.Name, c.Name)
	}
	workingDir := c.WorkingDir
	if workingDir == "" {
		workingDir = img.config.WorkingDir
	}
	mounts, err := a.mountsFor(ps, pod, c, attempt)
	if err != nil {
		return container.Container{}, err
	}
	desc := container.Container{
		ID: runtimeID(pod.UID, c.Name, attempt),
		Pod: container.PodSandbox{
			ID:        sandboxID(pod.UID),
			IPCNSPath: sb.ipc.NSPath,
			ShmPath:   sb.ipc.ShmPath,
		},
		Hostname:                 podHostname(pod),
		RootfsLower:              img.lower,
		Mounts:                   mounts,
		Command:                  command,
		Args:                     args,
		Env:                      mergeEnv(img.config.Env, env),
		WorkingDir:               workingDir,
		User:                     user,
		ReadOnlyRootFilesystem:   sec.ReadOnlyRoot,
		Privileged:               sec.Privileged,
		AllowPrivilegeEscalation: sec.AllowEscalation,
		Capabilities:             sec.Capabilities,
		Seccomp:                  sec.Seccomp,
		Sysctls:                  sec.Sysctls,
		OOMScoreAdj:              max(oomScoreAdj(qosClass(pod), c, a.machine.MemoryBytes), a.machine.MinOOMScoreAdj),
		Resources:                resourcesFor(c),
		LogPath:                  logs.InstancePath(a.logsDir(pod.UID, c.Name), attempt),
	}
	switch {
	case sb.hostNet && sb.netnsPath == "":
		desc.Pod.HostNetwork = true
	default:
		desc.Pod.NetNSPath = sb.netnsPath
	}
	if sb.hostNet {
		// A host-network pod has the node's hostname, as in Kubernetes.
		desc.Hostname = a.machine.Hostname
	}
	return desc, nil
}

// podHostname is the pod's hostname: spec.hostname or its name, cut to 63
// characters.
func podHostname(pod *v1.Pod) string {
	h := pod.Spec.Hostname
	if h == "" {
		h = pod.Name
	}
	if len(h) > 63 {
		h = strings.TrimRight(h[:63], "-.")
	}
	return h
}

// mountsFor lists the container's bind mounts: the pod's managed
// /etc/hosts, /etc/resolv.conf and /etc/hostname, the termination message
// file, and its volumes.
func (a *Agent) mountsFor(ps *podState, pod *v1.Pod, c *v1.Container, attempt int) ([]container.Mount, error) {
	sb := ps.sandbox
	var out []container.Mount
	has := map[string]bool{}
	for _, vm := range c.VolumeMounts {
		has[vm.MountPath] = true
	}
	for _, f := range []struct{ file, dest string }{{"hosts", "/etc/hosts"}, {"resolv.conf", "/etc/resolv.conf"}, {"hostname", "/etc/hostname"}} {
		if !has[f.dest] {
			out = append(out, container.Mount{Source: filepath.Join(sb.etcDir, f.file), Destination: f.dest})
		}
	}
	if p := c.TerminationMessagePath; p != "" && !has[p] {
		file := a.terminationMessageFile(pod.UID, c.Name, attempt)
		if err := os.MkdirAll(filepath.Dir(file), 0o755); err != nil {
			return nil, err
		}
		if err := os.WriteFile(file, nil, 0o666); err != nil {
			return nil, fmt.Errorf("agent: termination message file: %w", err)
		}
		_ = os.Chmod(file, 0o666) // writable by any container user, as the kubelet's
		out = append(out, container.Mount{Source: file, Destination: p})
	}
	vols, err := a.volumeMounts(pod, c)
	if err != nil {
		return nil, err
	}
	return append(out, vols...), nil
}

// killContainer stops a running instance gracefully and records its end.
func (a *Agent) killContainer(ctx context.Context, ps *podState, pod *v1.Pod, name string, reason killReason) {
	rec := ps.rec.Containers[name]
	if rec == nil || rec.ID == "" || rec.Exit != nil {
		return
	}
	c, _ := findContainer(pod, name)
	grace := time.Duration(30) * time.Second
	if g := pod.Spec.TerminationGracePeriodSeconds; g != nil {
		grace = time.Duration(*g) * time.Second
	}
	switch reason {
	case killForDeletion:
		if g := pod.DeletionGracePeriodSeconds; g != nil {
			grace = time.Duration(*g) * time.Second
		}
		a.containerEvent(pod, c, v1.EventTypeNormal, "Killing", "Stopping container %s", name)
	case killLivenessFailed:
		if c != nil && c.LivenessProbe != nil && c.LivenessProbe.TerminationGracePeriodSeconds != nil {
			grace = time.Duration(*c.LivenessProbe.TerminationGracePeriodSeconds) * time.Second
		}
		a.containerEvent(pod, c, v1.EventTypeNormal, "Killing", "Container %s failed liveness probe, will be restarted", name)
	case killSpecChanged:
		a.containerEvent(pod, c, v1.EventTypeNormal, "Killing", "Container %s definition changed, will be restarted", name)
	case killStartupFailed:
		if c != nil && c.StartupProbe != nil && c.StartupProbe.TerminationGracePeriodSeconds != nil {
			grace = time.Duration(*c.StartupProbe.TerminationGracePeriodSeconds) * time.Second
		}
		a.containerEvent(pod, c, v1.EventTypeNormal, "Killing", "Container %s failed startup probe, will be restarted", name)
	}
	grace = max(grace, minGracePeriod)
	if c != nil {
		a.runPreStop(ctx, pod, c, rec.ID, grace)
	}
	exit, err := a.runtime.Stop(ctx, rec.ID, grace)
	var term *v1.ContainerStateTerminated
	switch {
	case errors.Is(err, container.ErrNotFound):
		term = &v1.ContainerStateTerminated{ExitCode: 137, Reason: reasonContainerStatusUnkn,
			Message:    "The container could not be located when the pod was terminated",
			FinishedAt: apiTime(time.Now()), ContainerID: containerIDPrefix + rec.ID}
	case err != nil:
		a.log.Warn("stopping a container failed", "pod", ps.rec.key(), "container", name, "err", err)
		return
	default:
		st := container.State{Exit: &exit, StartedAt: rec.StartedAt}
		term = a.terminatedState(pod, name, rec, st)
	}
	if err := a.recordExit(context.WithoutCancel(ctx), ps, name, rec, term); err != nil {
		a.log.Warn("recording a stopped container failed", "pod", ps.rec.key(), "container", name, "err", err)
	}
}

// killAll stops every running container of the pod at once, then destroys
// every instance the runtime has for it (including any the records do
// not know).
func (a *Agent) killAll(ctx context.Context, ps *podState, pod *v1.Pod) error {
	var wg sync.WaitGroup
	if pod == nil {
		pod = recordPod(ps.rec)
	}
	for name, rec := range ps.rec.Containers {
		if rec.ID == "" || rec.Exit != nil {
			continue
		}
		wg.Add(1)
		go func() {
			defer wg.Done()
			a.killContainer(ctx, ps, pod, name, killForDeletion)
		}()
	}
	wg.Wait()
	states, err := a.runtime.List()
	if err != nil {
		return err
	}
	var errs []error
	for _, st := range states {
		if st.PodID == sandboxID(ps.rec.UID) {
			if err := a.runtime.Destroy(ctx, st.ID); err != nil {
				errs = append(errs, err)
			}
		}
	}
	if err := a.observe(ctx, ps, pod); err != nil {
		errs = append(errs, err)
	}
	return errors.Join(errs...)
}

// recordPod is a stand-in pod for one the API no longer has: enough for
// events-free stopping.
func recordPod(r *podRecord) *v1.Pod {
	p := &v1.Pod{}
	p.Namespace, p.Name, p.UID = r.Namespace, r.Name, r.UID
	grace := int64(minGracePeriod / time.Second)
	p.DeletionGracePeriodSeconds = &grace
	p.Spec.TerminationGracePeriodSeconds = &grace
	return p
}
