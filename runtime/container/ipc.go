package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"runtime"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
)

// PodIPC is what a pod's containers share for inter-process communication:
// a pinned IPC namespace (System V IPC, POSIX message queues) and a tmpfs
// for /dev/shm (POSIX shared memory). Pass them in PodSandbox.
//
// Kubernetes runtimes keep these alive in a pause container. Here the
// namespace is pinned by a bind mount of its nsfs file, like a named
// network namespace, so it outlives any one container (a restarted first
// container does not take the pod's IPC with it) and costs no process.
type PodIPC struct {
	NSPath  string
	ShmPath string
}

// podShmOptions are the options of the pod's /dev/shm, as for a container's
// own (runc's default spec).
const podShmOptions = "mode=1777,size=65536k"

// EnsurePodIPC creates the pod's IPC namespace and /dev/shm, or returns the
// existing ones.
func (r *Runtime) EnsurePodIPC(podID string) (PodIPC, error) {
	if err := validateID("pod", podID); err != nil {
		return PodIPC{}, err
	}
	unlock := r.locks.lock("pod/" + podID)
	defer unlock()
	dir := filepath.Join(r.podsDir(), podID)
	ipc := PodIPC{NSPath: filepath.Join(dir, "ipc"), ShmPath: filepath.Join(dir, "shm")}
	if err := os.MkdirAll(ipc.ShmPath, 0o755); err != nil {
		return PodIPC{}, fmt.Errorf("container: create pod directory: %w", err)
	}
	if err := ensureIPCNamespace(ipc.NSPath); err != nil {
		return PodIPC{}, err
	}
	if mounted, err := mountinfo.Mounted(ipc.ShmPath); err != nil {
		return PodIPC{}, fmt.Errorf("container: check pod shm: %w", err)
	} else if !mounted {
		if err := unix.Mount("shm", ipc.ShmPath, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV|unix.MS_NOEXEC, podShmOptions); err != nil {
			return PodIPC{}, fmt.Errorf("container: mount pod shm at %s: %w", ipc.ShmPath, err)
		}
	}
	return ipc, nil
}

// RemovePodIPC unpins the pod's IPC namespace (it disappears with its last
// container) and removes its /dev/shm. Removing a pod that has none is not
// an error.
func (r *Runtime) RemovePodIPC(podID string) error {
	if err := validateID("pod", podID); err != nil {
		return err
	}
	unlock := r.locks.lock("pod/" + podID)
	defer unlock()
	dir := filepath.Join(r.podsDir(), podID)
	ipc := PodIPC{NSPath: filepath.Join(dir, "ipc"), ShmPath: filepath.Join(dir, "shm")}
	if err := errors.Join(ensureUnmounted(ipc.NSPath), ensureUnmounted(ipc.ShmPath)); err != nil {
		return err
	}
	if err := os.RemoveAll(dir); err != nil {
		return fmt.Errorf("container: remove pod directory: %w", err)
	}
	return nil
}

func isNamespaceFile(path string) bool {
	var st unix.Statfs_t
	return unix.Statfs(path, &st) == nil && st.Type == unix.NSFS_MAGIC
}

// ensureIPCNamespace pins a new IPC namespace at path unless one is there.
func ensureIPCNamespace(path string) error {
	if isNamespaceFile(path) {
		return nil
	}
	f, err := os.OpenFile(path, os.O_CREATE|os.O_RDONLY, 0o444)
	if err != nil {
		return fmt.Errorf("container: create IPC namespace file: %w", err)
	}
	f.Close()
	errc := make(chan error, 1)
	go func() {
		// Never unlocked: this thread's IPC namespace changes, so the Go
		// runtime retires the thread when the goroutine ends instead of
		// reusing it for other goroutines.
		runtime.LockOSThread()
		if err := unix.Unshare(unix.CLONE_NEWIPC); err != nil {
			errc <- fmt.Errorf("container: new IPC namespace: %w", err)
			return
		}
		if err := unix.Mount("/proc/thread-self/ns/ipc", path, "", unix.MS_BIND, ""); err != nil {
			errc <- fmt.Errorf("container: pin IPC namespace at %s: %w", path, err)
			return
		}
		errc <- nil
	}()
	return <-errc
}
