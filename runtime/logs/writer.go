package logs

import (
	"bufio"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strconv"
	"sync"
	"time"
)

// Rotation bounds the disk space of one container instance's log.
type Rotation struct {
	// MaxBytes is the size at which the live file is rotated. Default 10 MiB.
	MaxBytes int64 `json:"maxBytes,omitempty"`
	// MaxFiles is the number of files kept, the live one included. Default 5.
	MaxFiles int `json:"maxFiles,omitempty"`
}

// Defaults of Rotation, the kubelet's containerLogMaxSize and
// containerLogMaxFiles.
const (
	DefaultMaxBytes = 10 << 20
	DefaultMaxFiles = 5
)

// MaxLineBytes is the longest content of one entry; longer lines are split
// into P entries (containerd uses the same 16 KiB).
const MaxLineBytes = 16 << 10

// WithDefaults returns r with zero fields replaced by the defaults.
func (r Rotation) WithDefaults() Rotation {
	if r.MaxBytes <= 0 {
		r.MaxBytes = DefaultMaxBytes
	}
	if r.MaxFiles <= 0 {
		r.MaxFiles = DefaultMaxFiles
	}
	return r
}

// Writer appends entries to one instance's log file, rotating it by size.
// It is safe for concurrent use by the copiers of both streams.
type Writer struct {
	path string
	rot  Rotation
	now  func() time.Time

	mu   sync.Mutex
	f    *os.File
	size int64
	buf  []byte
}

// NewWriter opens (appending) or creates the log file at path.
func NewWriter(path string, rot Rotation) (*Writer, error) {
	w := &Writer{path: path, rot: rot.WithDefaults(), now: time.Now}
	if err := os.MkdirAll(filepath.Dir(path), 0o755); err != nil {
		return nil, fmt.Errorf("logs: create log directory: %w", err)
	}
	if err := w.open(); err != nil {
		return nil, err
	}
	return w, nil
}

func (w *Writer) open() error {
	f, err := os.OpenFile(w.path, os.O_WRONLY|os.O_APPEND|os.O_CREATE, 0o640)
	if err != nil {
		return fmt.Errorf("logs: open %s: %w", w.path, err)
	}
	st, err := f.Stat()
	if err != nil {
		f.Close()
		return fmt.Errorf("logs: stat %s: %w", w.path, err)
	}
	w.f, w.size = f, st.Size()
	return nil
}

// WriteEntry appends one entry stamped with the current time.
func (w *Writer) WriteEntry(stream Stream, partial bool, content []byte) error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return os.ErrClosed
	}
	w.buf = AppendEntry(w.buf[:0], Entry{Time: w.now(), Stream: stream, Partial: partial, Content: content})
	if w.size > 0 && w.size+int64(len(w.buf)) > w.rot.MaxBytes {
		if err := w.rotate(); err != nil {
			return err
		}
	}
	n, err := w.f.Write(w.buf)
	w.size += int64(n)
	if err != nil {
		return fmt.Errorf("logs: write %s: %w", w.path, err)
	}
	return nil
}

// rotate shifts path.N-1 → path.N ... path → path.1 (dropping the oldest)
// and starts a new live file. path never disappears: the old file gets its
// second name by a hard link and the new file replaces it with an atomic
// rename. The old file is closed first, so a follower that sees the new
// file has already been able to read every byte of the old one.
func (w *Writer) rotate() error {
	if err := w.f.Close(); err != nil {
		return fmt.Errorf("logs: close %s for rotation: %w", w.path, err)
	}
	w.f = nil
	for i := w.rot.MaxFiles - 1; i >= 2; i-- {
		from := rotatedPath(w.path, i-1)
		if err := os.Rename(from, rotatedPath(w.path, i)); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("logs: rotate %s: %w", from, err)
		}
	}
	if w.rot.MaxFiles > 1 {
		first := rotatedPath(w.path, 1)
		if err := os.Remove(first); err != nil && !errors.Is(err, os.ErrNotExist) {
			return fmt.Errorf("logs: rotate: %w", err)
		}
		if err := os.Link(w.path, first); err != nil {
			return fmt.Errorf("logs: rotate %s: %w", w.path, err)
		}
	}
	next := w.path + ".next"
	f, err := os.OpenFile(next, os.O_WRONLY|os.O_CREATE|os.O_TRUNC, 0o640)
	if err != nil {
		return fmt.Errorf("logs: rotate: %w", err)
	}
	f.Close()
	if err := os.Rename(next, w.path); err != nil {
		return fmt.Errorf("logs: rotate: %w", err)
	}
	return w.open()
}

// rotatedPath is path for i == 0 and path.i otherwise.
func rotatedPath(path string, i int) string {
	if i == 0 {
		return path
	}
	return path + "." + strconv.Itoa(i)
}

// Close closes the live file. Entries written after Close fail.
func (w *Writer) Close() error {
	w.mu.Lock()
	defer w.mu.Unlock()
	if w.f == nil {
		return nil
	}
	err := w.f.Close()
	w.f = nil
	return err
}

// CopyStream writes everything read from r as entries of stream until r
// reports EOF (all of the stream's writers closed it). Lines longer than
// MaxLineBytes are split into P entries; text left without a newline at EOF
// becomes a last F entry.
func (w *Writer) CopyStream(r io.Reader, stream Stream) error {
	br := bufio.NewReaderSize(r, MaxLineBytes)
	for {
		line, err := br.ReadSlice('\n')
		switch {
		case err == nil:
			if werr := w.WriteEntry(stream, false, line[:len(line)-1]); werr != nil {
				return werr
			}
		case errors.Is(err, bufio.ErrBufferFull):
			if werr := w.WriteEntry(stream, true, line); werr != nil {
				return werr
			}
		case errors.Is(err, io.EOF):
			if len(line) > 0 {
				return w.WriteEntry(stream, false, line)
			}
			return nil
		default:
			return fmt.Errorf("logs: read %s: %w", stream, err)
		}
	}
}
