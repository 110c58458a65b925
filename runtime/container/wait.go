package container

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"time"

	"github.com/opencontainers/runc/libcontainer/system"
	"golang.org/x/sys/unix"
)

// Wait blocks until the container's process has ended and returns how.
//
// The process is not this one's child (it is the monitor's, and the agent
// may have restarted since), so wait(2) cannot be used. Instead Wait watches
// the monitor through a pidfd (pidfd_open(2), Linux 5.3; it works for any
// process, becomes readable when the process ends, and is polled by the Go
// runtime) and then reads the exit.json the monitor wrote before it ended.
// If the monitor was killed before recording the exit, Wait waits for the
// container's init the same way and records an exit with Code -1 and
// Reason "Unknown".
func (r *Runtime) Wait(ctx context.Context, id string) (ExitStatus, error) {
	if err := validateID("container", id); err != nil {
		return ExitStatus{}, err
	}
	dir := r.containerDir(id)
	for {
		if exit, ok, err := readExit(dir); ok || err != nil {
			return exit, err
		}
		var rec startedRecord
		if err := readJSON(filepath.Join(dir, startedFile), &rec); err != nil {
			if !errors.Is(err, os.ErrNotExist) {
				return ExitStatus{}, err
			}
			if _, serr := os.Stat(filepath.Join(dir, recordFile)); serr != nil {
				return ExitStatus{}, fmt.Errorf("%w: %s", ErrNotFound, id)
			}
			return ExitStatus{}, fmt.Errorf("%w: %s was not started", ErrNotRunning, id)
		}
		if ended, err := waitProcess(ctx, rec.MonitorPid, rec.MonitorStartTime); err != nil {
			return ExitStatus{}, err
		} else if !ended {
			continue
		}
		// The monitor has ended; it wrote exit.json first, unless it was
		// killed.
		if exit, ok, err := readExit(dir); ok || err != nil {
			return exit, err
		}
		r.log.Warn("container monitor ended without recording the exit; waiting for the container itself", "id", id)
		if _, err := waitProcess(ctx, rec.InitPid, rec.InitStartTime); err != nil {
			return ExitStatus{}, err
		}
		exit := ExitStatus{
			Code:       -1,
			Reason:     "Unknown",
			Message:    "the container's monitor ended before the container; its exit code is lost",
			FinishedAt: time.Now(),
		}
		if err := writeJSONAtomic(filepath.Join(dir, exitFile), exit); err != nil {
			return ExitStatus{}, err
		}
		return exit, nil
	}
}

func readExit(dir string) (ExitStatus, bool, error) {
	var exit ExitStatus
	err := readJSON(filepath.Join(dir, exitFile), &exit)
	if errors.Is(err, os.ErrNotExist) {
		return ExitStatus{}, false, nil
	}
	return exit, err == nil, err
}

// waitProcess waits until the process pid, started at startTime (clock
// ticks after boot, 0 for unknown), has ended. It returns ended=true at
// once if that process is already gone (or the PID now belongs to another
// process), and false if it ended while being waited for.
func waitProcess(ctx context.Context, pid int, startTime uint64) (alreadyGone bool, err error) {
	f, ok, err := openProcess(pid, startTime)
	if err != nil || !ok {
		return true, err
	}
	defer f.Close()
	return false, pollPidfd(ctx, f)
}

// openProcess returns a pidfd for pid if pid is still the process that was
// started at startTime. The pidfd is opened first and the start time
// checked after, so a PID reused in between is detected, not waited on.
func openProcess(pid int, startTime uint64) (*os.File, bool, error) {
	if pid <= 0 {
		return nil, false, nil
	}
	fd, err := unix.PidfdOpen(pid, unix.PIDFD_NONBLOCK)
	if errors.Is(err, unix.ESRCH) {
		return nil, false, nil
	}
	if err != nil {
		return nil, false, fmt.Errorf("container: waiting for a process needs pidfd_open (Linux 5.3): %w", err)
	}
	f := os.NewFile(uintptr(fd), fmt.Sprintf("pidfd:%d", pid))
	st, err := system.Stat(pid)
	if err != nil || (startTime != 0 && st.StartTime != startTime) {
		f.Close()
		return nil, false, nil
	}
	return f, true, nil
}

// pollPidfd blocks until the pidfd is readable (its process has ended) or
// ctx ends. A non-blocking pidfd in an os.File is served by the runtime's
// poller, so no thread is held while waiting.
func pollPidfd(ctx context.Context, f *os.File) error {
	rc, err := f.SyscallConn()
	if err != nil {
		return err
	}
	stop := context.AfterFunc(ctx, func() { _ = f.SetReadDeadline(time.Unix(1, 0)) })
	defer stop()
	err = rc.Read(func(fd uintptr) bool {
		fds := []unix.PollFd{{Fd: int32(fd), Events: unix.POLLIN}}
		n, err := unix.Poll(fds, 0)
		return err == nil && n > 0
	})
	if ctx.Err() != nil {
		return ctx.Err()
	}
	if err != nil {
		return fmt.Errorf("container: poll pidfd: %w", err)
	}
	return nil
}
