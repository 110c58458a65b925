package container

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"os/exec"
	"path"
	"path/filepath"
	"syscall"
	"time"

	"github.com/opencontainers/cgroups"
	"github.com/opencontainers/cgroups/manager"
	"github.com/opencontainers/runc/libcontainer"
	lcvalidate "github.com/opencontainers/runc/libcontainer/configs/validate"
	"github.com/opencontainers/runc/libcontainer/specconv"
)

// Create prepares a container: checks the description, mounts its rootfs
// overlay and writes the libcontainer configuration. Nothing runs until
// Start.
func (r *Runtime) Create(ctx context.Context, c Container) error {
	if err := r.host.check(); err != nil {
		return err
	}
	if err := validate(c); err != nil {
		return err
	}
	if !c.Privileged && c.Seccomp != SeccompUnconfined && !seccompBuiltIn {
		return ErrNoSeccomp
	}
	if err := checkHostPaths(c); err != nil {
		return err
	}
	unlock := r.locks.lock(c.ID)
	defer unlock()
	if err := ctx.Err(); err != nil {
		return err
	}
	dir := r.containerDir(c.ID)
	if err := os.Mkdir(dir, 0o700); err != nil {
		if errors.Is(err, os.ErrExist) {
			return fmt.Errorf("%w: %s", ErrExists, c.ID)
		}
		return fmt.Errorf("container: create state directory: %w", err)
	}
	created := false
	defer func() {
		if !created {
			_ = ensureUnmounted(filepath.Join(dir, rootfsDir))
			_ = os.RemoveAll(dir)
		}
	}()
	rootfs := filepath.Join(dir, rootfsDir)
	if err := ensureOverlay(c.RootfsLower, filepath.Join(dir, upperDir), filepath.Join(dir, workDir), rootfs); err != nil {
		return err
	}
	spec, err := buildSpec(c, rootfs, r.host)
	if err != nil {
		return err
	}
	cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: c.ID, Spec: spec})
	if err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	if err := lcvalidate.Validate(cfg); err != nil {
		return fmt.Errorf("%w: %v", ErrInvalid, err)
	}
	p := spec.Process
	launch := launchSpec{
		ID:               c.ID,
		LibcontainerRoot: r.lcRoot,
		Config:           cfg,
		Process: processSpec{
			Args: p.Args, Env: p.Env, Cwd: p.Cwd,
			UID: int(p.User.UID), GID: int(p.User.GID),
		},
		LogPath:     c.LogPath,
		LogRotation: r.rotation,
	}
	for _, g := range p.User.AdditionalGids {
		launch.Process.AdditionalGIDs = append(launch.Process.AdditionalGIDs, int(g))
	}
	if err := writeJSONAtomic(filepath.Join(dir, launchFile), launch); err != nil {
		return err
	}
	// container.json last: its presence marks a finished Create.
	if err := writeJSONAtomic(filepath.Join(dir, recordFile), record{Container: c, CreatedAt: time.Now()}); err != nil {
		return err
	}
	created = true
	r.log.Debug("container created", "id", c.ID, "pod", c.Pod.ID)
	return nil
}

// checkHostPaths checks the host paths a description names, so a mistake
// is reported by Create, naming the path, rather than by the container init.
func checkHostPaths(c Container) error {
	if st, err := os.Stat(c.RootfsLower); err != nil || !st.IsDir() {
		return fmt.Errorf("%w: rootfsLower %s is not a directory (the unpacked image): %v", ErrInvalid, c.RootfsLower, err)
	}
	for _, m := range c.Mounts {
		if _, err := os.Stat(m.Source); err != nil {
			return fmt.Errorf("%w: mount source: %v", ErrInvalid, err)
		}
	}
	for _, ns := range []struct{ name, path string }{{"netnsPath", c.Pod.NetNSPath}, {"ipcnsPath", c.Pod.IPCNSPath}} {
		if ns.path != "" && !isNamespaceFile(ns.path) {
			return fmt.Errorf("%w: pod %s %s is not a namespace file (a bind mount of /proc/PID/ns/...)", ErrInvalid, ns.name, ns.path)
		}
	}
	return nil
}

// Start starts a created container: it launches the container's monitor
// (the binary re-executed in its monitor role, in its own session), which
// creates and runs the container through libcontainer and stays its
// parent. Start returns once the container's process runs.
func (r *Runtime) Start(ctx context.Context, id string) error {
	if err := validateID("container", id); err != nil {
		return err
	}
	unlock := r.locks.lock(id)
	defer unlock()
	dir := r.containerDir(id)
	if _, err := os.Stat(filepath.Join(dir, recordFile)); err != nil {
		return fmt.Errorf("%w: %s", ErrNotFound, id)
	}
	for _, f := range []string{startedFile, exitFile} {
		if _, err := os.Stat(filepath.Join(dir, f)); err == nil {
			return fmt.Errorf("%w: %s", ErrAlreadyStarted, id)
		}
	}
	logf, err := os.OpenFile(filepath.Join(dir, monitorLogFile), os.O_WRONLY|os.O_CREATE|os.O_APPEND, 0o600)
	if err != nil {
		return fmt.Errorf("container: open monitor log: %w", err)
	}
	defer logf.Close()
	reportR, reportW, err := os.Pipe()
	if err != nil {
		return fmt.Errorf("container: monitor pipe: %w", err)
	}
	defer reportR.Close()
	cmd := exec.Command(r.exe, monitorArg, dir)
	cmd.Dir = "/"
	cmd.Env = monitorEnv(os.Environ())
	cmd.Stdout, cmd.Stderr = logf, logf
	cmd.ExtraFiles = []*os.File{reportW} // monitorReportFd
	cmd.SysProcAttr = &syscall.SysProcAttr{Setsid: true}
	err = cmd.Start()
	reportW.Close()
	if err != nil {
		return fmt.Errorf("container: start monitor %s: %w", r.exe, err)
	}
	// Reap the monitor if it ends while this process lives; once this
	// process is gone, init reaps it.
	go func() { _ = cmd.Wait() }()

	reportc := make(chan monitorReport, 1)
	go func() {
		var rep monitorReport
		data, _ := io.ReadAll(reportR)
		if err := json.Unmarshal(bytes.TrimSpace(data), &rep); err != nil {
			rep.Error = fmt.Sprintf("monitor exited without a report (%s)", lastLines(filepath.Join(dir, monitorLogFile), 5))
		}
		reportc <- rep
	}()
	select {
	case <-ctx.Done():
		// Kill the monitor and the container init it may have started
		// (same process group); Destroy cleans up the rest.
		_ = syscall.Kill(-cmd.Process.Pid, syscall.SIGKILL)
		return ctx.Err()
	case rep := <-reportc:
		if rep.Error != "" {
			return fmt.Errorf("container: start %s: %s", id, rep.Error)
		}
		r.log.Debug("container started", "id", id, "pid", rep.InitPid)
		return nil
	}
}

// lastLines returns the last n lines of a small file, for error messages.
func lastLines(path string, n int) string {
	data, err := os.ReadFile(path)
	if err != nil {
		return "no monitor log: " + err.Error()
	}
	lines := bytes.Split(bytes.TrimSpace(data), []byte{'\n'})
	if len(lines) > n {
		lines = lines[len(lines)-n:]
	}
	return "monitor log: " + string(bytes.Join(lines, []byte(" | ")))
}

// Signal sends sig to the container's init process. In the container's own
// PID namespace a signal without a handler does not reach init, except
// SIGKILL, which ends the whole container.
func (r *Runtime) Signal(id string, sig syscall.Signal) error {
	c, err := r.load(id)
	if err != nil {
		return err
	}
	if err := c.Signal(sig); err != nil {
		if errors.Is(err, libcontainer.ErrNotRunning) {
			return fmt.Errorf("%w: %s", ErrNotRunning, id)
		}
		return fmt.Errorf("container: signal %s: %w", id, err)
	}
	return nil
}

// load opens libcontainer's view of a started container.
func (r *Runtime) load(id string) (*libcontainer.Container, error) {
	if err := validateID("container", id); err != nil {
		return nil, err
	}
	c, err := libcontainer.Load(r.lcRoot, id)
	if err == nil {
		return c, nil
	}
	if errors.Is(err, libcontainer.ErrNotExist) {
		if _, serr := os.Stat(filepath.Join(r.containerDir(id), recordFile)); serr != nil {
			return nil, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return nil, fmt.Errorf("%w: %s was not started", ErrNotRunning, id)
	}
	return nil, fmt.Errorf("container: load %s: %w", id, err)
}

// Stop stops a container gracefully: SIGTERM, then SIGKILL if it still runs
// after grace. It returns how the container ended.
func (r *Runtime) Stop(ctx context.Context, id string, grace time.Duration) (ExitStatus, error) {
	if err := r.Signal(id, syscall.SIGTERM); err != nil && !errors.Is(err, ErrNotRunning) {
		return ExitStatus{}, err
	}
	graceCtx, cancel := context.WithTimeout(ctx, grace)
	exit, err := r.Wait(graceCtx, id)
	cancel()
	if err == nil || ctx.Err() != nil || !errors.Is(err, context.DeadlineExceeded) {
		return exit, err
	}
	r.log.Info("container ignored SIGTERM, killing it", "id", id, "grace", grace)
	if err := r.Signal(id, syscall.SIGKILL); err != nil && !errors.Is(err, ErrNotRunning) {
		return ExitStatus{}, err
	}
	return r.Wait(ctx, id)
}

// Destroy kills the container if it runs, waits for it, and removes
// everything it had: cgroups, the rootfs mount and layers, libcontainer's
// and the runtime's state. The log files are left to the agent (they serve
// `logs --previous`). Destroying a container that does not exist is not an
// error.
func (r *Runtime) Destroy(ctx context.Context, id string) error {
	if err := validateID("container", id); err != nil {
		return err
	}
	unlock := r.locks.lock(id)
	defer unlock()
	dir := r.containerDir(id)
	_, startedErr := os.Stat(filepath.Join(dir, startedFile))
	_, exitErr := os.Stat(filepath.Join(dir, exitFile))
	if startedErr == nil && exitErr != nil {
		if err := r.Signal(id, syscall.SIGKILL); err != nil && !errors.Is(err, ErrNotRunning) && !errors.Is(err, ErrNotFound) {
			return err
		}
		if _, err := r.Wait(ctx, id); err != nil && !errors.Is(err, ErrNotFound) {
			return fmt.Errorf("container: destroy %s: wait for exit: %w", id, err)
		}
	}
	var errs []error
	if c, err := libcontainer.Load(r.lcRoot, id); err == nil {
		if err := c.Destroy(); err != nil {
			errs = append(errs, fmt.Errorf("container: destroy %s: %w", id, err))
		}
	} else if !errors.Is(err, libcontainer.ErrNotExist) {
		errs = append(errs, fmt.Errorf("container: destroy %s: load: %w", id, err))
	}
	// A monitor killed between creating the cgroup and saving libcontainer's
	// state leaves a cgroup only its path can find.
	if err := r.destroyCgroup(id); err != nil {
		errs = append(errs, err)
	}
	if err := os.RemoveAll(filepath.Join(r.lcRoot, id)); err != nil {
		errs = append(errs, fmt.Errorf("container: remove libcontainer state: %w", err))
	}
	if err := ensureUnmounted(filepath.Join(dir, rootfsDir)); err != nil {
		errs = append(errs, err)
	}
	if len(errs) == 0 {
		if err := os.RemoveAll(dir); err != nil {
			errs = append(errs, fmt.Errorf("container: remove state directory: %w", err))
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	r.log.Debug("container destroyed", "id", id)
	return nil
}

func (r *Runtime) destroyCgroup(id string) error {
	m, err := manager.New(&cgroups.Cgroup{Path: "/" + path.Join(r.cgroupParent, id), Resources: &cgroups.Resources{}})
	if err != nil {
		return fmt.Errorf("container: cgroup of %s: %w", id, err)
	}
	if err := m.Destroy(); err != nil {
		return fmt.Errorf("container: remove cgroup of %s: %w", id, err)
	}
	return nil
}
