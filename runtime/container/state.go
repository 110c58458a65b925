package container

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer/system"
)

// State returns a snapshot of the container.
func (r *Runtime) State(id string) (State, error) {
	if err := validateID("container", id); err != nil {
		return State{}, err
	}
	dir := r.containerDir(id)
	var rec record
	if err := readJSON(filepath.Join(dir, recordFile), &rec); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return State{}, fmt.Errorf("%w: %s", ErrNotFound, id)
		}
		return State{}, err
	}
	st := State{
		ID:         id,
		PodID:      rec.Container.Pod.ID,
		Status:     StatusCreated,
		CreatedAt:  rec.CreatedAt,
		LogPath:    rec.Container.LogPath,
		Privileged: rec.Container.Privileged,
	}
	var started startedRecord
	if err := readJSON(filepath.Join(dir, startedFile), &started); err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return st, nil
		}
		return State{}, err
	}
	st.StartedAt = started.StartedAt
	exit, ok, err := readExit(dir)
	switch {
	case err != nil:
		return State{}, err
	case ok:
		st.Status, st.Exit = StatusExited, &exit
	case processAlive(started.InitPid, started.InitStartTime):
		st.Status, st.Pid = StatusRunning, started.InitPid
	case processAlive(started.MonitorPid, started.MonitorStartTime):
		// The init has ended; the monitor is recording it.
		st.Status, st.Pid = StatusRunning, 0
	default:
		// Both gone. The monitor records the exit before it ends, so
		// read again: it may have done both since the first read.
		if exit, ok, err := readExit(dir); err != nil {
			return State{}, err
		} else if ok {
			st.Status, st.Exit = StatusExited, &exit
			break
		}
		// Nothing recorded (the monitor was killed): Wait records the
		// unknown exit; report it the same way.
		st.Status = StatusExited
		st.Exit = &ExitStatus{Code: -1, Reason: "Unknown", Message: "the container's monitor ended before the container; its exit code is lost", FinishedAt: time.Now()}
	}
	return st, nil
}

// processAlive reports whether pid is still the process started at
// startTime and has not ended.
func processAlive(pid int, startTime uint64) bool {
	if pid <= 0 {
		return false
	}
	st, err := system.Stat(pid)
	if err != nil || st.State == system.Zombie || st.State == system.Dead {
		return false
	}
	return startTime == 0 || st.StartTime == startTime
}

// List returns the state of every container in the state directory, those
// started by an earlier Runtime (an agent before its restart) included.
func (r *Runtime) List() ([]State, error) {
	ids, err := r.ids()
	if err != nil {
		return nil, err
	}
	out := make([]State, 0, len(ids))
	for _, id := range ids {
		st, err := r.State(id)
		if errors.Is(err, ErrNotFound) {
			continue // being created or destroyed
		}
		if err != nil {
			return nil, err
		}
		out = append(out, st)
	}
	return out, nil
}

// Stats returns the container's CPU and memory statistics from its cgroup.
func (r *Runtime) Stats(id string) (Stats, error) {
	c, err := r.load(id)
	if err != nil {
		return Stats{}, err
	}
	st, err := c.State()
	if err != nil {
		return Stats{}, fmt.Errorf("container: state of %s: %w", id, err)
	}
	return filesFromPaths(st.CgroupPaths).read(time.Now())
}

// NodeStats are the node's totals.
type NodeStats struct {
	// Host is the whole machine: the root cgroup (memory from /proc/meminfo
	// on cgroup v2, where the root has no memory.current).
	Host Stats `json:"host"`
	// Containers is everything under the runtime's cgroup parent.
	Containers Stats `json:"containers"`
}

// NodeStats returns the node's CPU and memory totals.
func (r *Runtime) NodeStats() (NodeStats, error) {
	mounts, err := detectCgroupMounts()
	if err != nil {
		return NodeStats{}, err
	}
	now := time.Now()
	var ns NodeStats
	if ns.Host, err = mounts.files("", "/proc/meminfo").read(now); err != nil {
		return NodeStats{}, err
	}
	parent := mounts.files(r.cgroupParent, "")
	if _, err := os.Stat(firstNonEmpty(parent.unified, parent.memory)); errors.Is(err, os.ErrNotExist) {
		ns.Containers = Stats{Time: now} // no container yet
		return ns, nil
	}
	if ns.Containers, err = parent.read(now); err != nil {
		return NodeStats{}, err
	}
	return ns, nil
}

func firstNonEmpty(a, b string) string {
	if a != "" {
		return a
	}
	return b
}
