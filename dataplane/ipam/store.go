package ipam

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"time"

	"golang.org/x/sys/unix"
)

const (
	stateName  = "state.json"
	lockName   = "lock"
	tempPrefix = "state-"
	tempSuffix = ".tmp"
)

// store is the state directory: the lock file, the state file, and the
// atomic replacement of the latter.
type store struct {
	dir  string
	lock *os.File
	// sem serializes goroutines of this process: flock is held per open file
	// description, so it does not exclude two goroutines sharing one.
	sem chan struct{}
}

func openStore(dir string) (*store, error) {
	if dir == "" {
		return nil, errors.New("ipam: state directory is not set")
	}
	if err := os.MkdirAll(dir, 0o700); err != nil {
		return nil, fmt.Errorf("ipam: create state directory: %w", err)
	}
	f, err := os.OpenFile(filepath.Join(dir, lockName), os.O_RDWR|os.O_CREATE|unix.O_CLOEXEC, 0o600)
	if err != nil {
		return nil, fmt.Errorf("ipam: open lock file: %w", err)
	}
	return &store{dir: dir, lock: f, sem: make(chan struct{}, 1)}, nil
}

func (s *store) close() error { return s.lock.Close() }

func (s *store) statePath() string { return filepath.Join(s.dir, stateName) }

// lockPoll bounds the wait between attempts to take the file lock: flock
// itself cannot be interrupted by a context, so the lock is polled.
const (
	lockPollMin = time.Millisecond
	lockPollMax = 20 * time.Millisecond
)

// withLock runs fn holding both the in-process semaphore and the exclusive
// file lock, or returns ctx's error if either cannot be had in time.
func (s *store) withLock(ctx context.Context, fn func() error) error {
	select {
	case s.sem <- struct{}{}:
	case <-ctx.Done():
		return fmt.Errorf("ipam: wait for the state lock: %w", ctx.Err())
	}
	defer func() { <-s.sem }()

	wait := lockPollMin
	for {
		err := unix.Flock(int(s.lock.Fd()), unix.LOCK_EX|unix.LOCK_NB)
		if err == nil {
			break
		}
		if !errors.Is(err, unix.EWOULDBLOCK) && !errors.Is(err, unix.EINTR) {
			return fmt.Errorf("ipam: lock %s: %w", s.lock.Name(), err)
		}
		t := time.NewTimer(wait)
		select {
		case <-t.C:
		case <-ctx.Done():
			t.Stop()
			return fmt.Errorf("ipam: wait for the lock on %s held by another process: %w", s.lock.Name(), ctx.Err())
		}
		wait = min(2*wait, lockPollMax)
	}
	defer unix.Flock(int(s.lock.Fd()), unix.LOCK_UN)
	return fn()
}

// read returns the raw state file, or nil when there is none yet.
func (s *store) read() ([]byte, error) {
	b, err := os.ReadFile(s.statePath())
	if errors.Is(err, os.ErrNotExist) {
		return nil, nil
	}
	if err != nil {
		return nil, fmt.Errorf("ipam: read state: %w", err)
	}
	return b, nil
}

// write replaces the state file atomically: a reader (or a crash) sees
// either the old content or the new one, never a mix.
func (s *store) write(data []byte) (err error) {
	tmp, err := os.CreateTemp(s.dir, tempPrefix+"*"+tempSuffix)
	if err != nil {
		return fmt.Errorf("ipam: create temporary state file: %w", err)
	}
	defer func() {
		if err != nil {
			tmp.Close()
			os.Remove(tmp.Name())
		}
	}()
	if _, err = tmp.Write(data); err != nil {
		return fmt.Errorf("ipam: write %s: %w", tmp.Name(), err)
	}
	if err = tmp.Sync(); err != nil {
		return fmt.Errorf("ipam: sync %s: %w", tmp.Name(), err)
	}
	if err = tmp.Close(); err != nil {
		return fmt.Errorf("ipam: close %s: %w", tmp.Name(), err)
	}
	if err = os.Rename(tmp.Name(), s.statePath()); err != nil {
		return fmt.Errorf("ipam: replace state file: %w", err)
	}
	return s.syncDir()
}

func (s *store) syncDir() error {
	d, err := os.Open(s.dir)
	if err != nil {
		return fmt.Errorf("ipam: open state directory for sync: %w", err)
	}
	defer d.Close()
	if err := d.Sync(); err != nil {
		return fmt.Errorf("ipam: sync state directory: %w", err)
	}
	return nil
}

// removeTemps deletes temporary files left by a writer that crashed before
// its rename. Call it holding the lock.
func (s *store) removeTemps() error {
	entries, err := os.ReadDir(s.dir)
	if err != nil {
		return fmt.Errorf("ipam: read state directory: %w", err)
	}
	for _, e := range entries {
		n := e.Name()
		if strings.HasPrefix(n, tempPrefix) && strings.HasSuffix(n, tempSuffix) {
			if err := os.Remove(filepath.Join(s.dir, n)); err != nil && !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("ipam: remove stale temporary file: %w", err)
			}
		}
	}
	return nil
}
