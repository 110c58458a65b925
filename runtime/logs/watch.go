package logs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// dirWatch reports changes in the directory of a log file through inotify:
// writes to the live file and the renames and creations of rotation.
type dirWatch struct {
	f      *os.File
	events chan struct{}
	errs   chan error
}

func watchDir(path string) (*dirWatch, error) {
	fd, err := unix.InotifyInit1(unix.IN_CLOEXEC | unix.IN_NONBLOCK)
	if err != nil {
		return nil, fmt.Errorf("logs: follow needs inotify: %w", err)
	}
	dir := filepath.Dir(path)
	const mask = unix.IN_MODIFY | unix.IN_CREATE | unix.IN_MOVED_TO | unix.IN_MOVED_FROM | unix.IN_DELETE | unix.IN_CLOSE_WRITE
	if _, err := unix.InotifyAddWatch(fd, dir, mask); err != nil {
		unix.Close(fd)
		return nil, fmt.Errorf("logs: watch %s: %w", dir, err)
	}
	// A non-blocking fd in an os.File is served by the runtime poller, so
	// close() unblocks the reader goroutine.
	w := &dirWatch{
		f:      os.NewFile(uintptr(fd), "inotify:"+dir),
		events: make(chan struct{}, 1),
		errs:   make(chan error, 1),
	}
	go w.run()
	return w, nil
}

func (w *dirWatch) run() {
	buf := make([]byte, 64*(unix.SizeofInotifyEvent+unix.NAME_MAX+1))
	for {
		_, err := w.f.Read(buf)
		if err != nil {
			if !errors.Is(err, os.ErrClosed) {
				w.errs <- fmt.Errorf("logs: read inotify events: %w", err)
			}
			return
		}
		// Coalesce: the follower rescans on any change.
		select {
		case w.events <- struct{}{}:
		default:
		}
	}
}

func (w *dirWatch) close() { w.f.Close() }
