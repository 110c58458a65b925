package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"time"
)

// ReadOptions are the kubelet's /containerLogs query parameters.
type ReadOptions struct {
	// TailLines, when set, starts at the last TailLines entries (rotated
	// files included). Nil reads everything kept.
	TailLines *int64
	// LimitBytes, when positive, stops after that many bytes of output.
	LimitBytes int64
	// SinceTime and SinceSeconds skip entries older than the bound; when
	// both are set the later bound applies.
	SinceTime    time.Time
	SinceSeconds int64
	// Timestamps prefixes each entry's output with its RFC3339Nano time.
	Timestamps bool
	// Previous reads the instance before the newest one (Read only).
	Previous bool
	// Follow keeps reading new entries, across rotations, until ctx ends
	// or StopFollowing is closed.
	Follow bool
	// StopFollowing, closed when the writer has finished (the container
	// exited), makes a following reader drain what is left and return.
	StopFollowing <-chan struct{}
}

// Read writes the log of the container whose log directory is dir to w:
// its newest instance, or the previous one with opts.Previous.
func Read(ctx context.Context, dir string, opts ReadOptions, w io.Writer) error {
	path, err := ResolveInstance(dir, opts.Previous)
	if err != nil {
		return err
	}
	return ReadFile(ctx, path, opts, w)
}

// ReadFile writes the log whose live file is path (and its rotated files)
// to w as the kubelet does: each entry's content, preceded by its timestamp
// with opts.Timestamps, followed by a newline unless it is a partial entry.
func ReadFile(ctx context.Context, path string, opts ReadOptions, w io.Writer) error {
	var watch *dirWatch
	if opts.Follow {
		// Watch before the first read so no write after it goes unnoticed.
		var err error
		if watch, err = watchDir(path); err != nil {
			return err
		}
		defer watch.close()
	}
	files, err := openInstanceFiles(path)
	if err != nil {
		return err
	}
	defer func() {
		for _, f := range files {
			f.Close()
		}
	}()

	first, offset := 0, int64(0)
	if opts.TailLines != nil {
		if first, offset, err = tailStart(files, *opts.TailLines); err != nil {
			return err
		}
	}
	out := &output{w: w, opts: opts, since: sinceBound(opts, time.Now())}
	if opts.LimitBytes > 0 {
		out.remaining = opts.LimitBytes
	}
	for i := first; i < len(files); i++ {
		off := int64(0)
		if i == first {
			off = offset
		}
		if _, err := files[i].Seek(off, io.SeekStart); err != nil {
			return fmt.Errorf("logs: seek %s: %w", files[i].Name(), err)
		}
	}
	// Rotated files are complete: read them to the end.
	for i := first; i < len(files)-1; i++ {
		c := &cursor{f: files[i]}
		if done, err := out.drain(c); done || err != nil {
			return err
		}
	}
	live := &cursor{f: files[len(files)-1]}
	if done, err := out.drain(live); done || err != nil {
		return err
	}
	if !opts.Follow {
		return nil
	}
	return follow(ctx, path, live, watch, out)
}

// follow keeps reading the live file, reopening path after each rotation.
func follow(ctx context.Context, path string, live *cursor, watch *dirWatch, out *output) error {
	stopping := false
	for {
		if done, err := out.drain(live); done || err != nil {
			return err
		}
		rotated, err := wasRotated(path, live.f)
		if err != nil {
			return err
		}
		if rotated {
			// The writer closed the old file before renaming it: what was
			// just drained is all of it. Continue with the new live file.
			next, err := os.Open(path)
			if err == nil {
				live.f.Close()
				live = &cursor{f: next}
				continue
			}
			if !errors.Is(err, os.ErrNotExist) {
				return fmt.Errorf("logs: reopen %s: %w", path, err)
			}
		}
		if stopping {
			return nil
		}
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-out.opts.StopFollowing:
			// One more pass picks up what was written before the stop.
			stopping = true
		case <-watch.events:
		case err := <-watch.errs:
			return err
		}
	}
}

// wasRotated reports whether path no longer names the open file f.
func wasRotated(path string, f *os.File) (bool, error) {
	cur, err := f.Stat()
	if err != nil {
		return false, fmt.Errorf("logs: stat %s: %w", f.Name(), err)
	}
	now, err := os.Stat(path)
	if errors.Is(err, os.ErrNotExist) {
		return true, nil
	}
	if err != nil {
		return false, fmt.Errorf("logs: stat %s: %w", path, err)
	}
	return !os.SameFile(cur, now), nil
}

// openInstanceFiles opens path's rotated files, oldest first, then path.
func openInstanceFiles(path string) ([]*os.File, error) {
	live, err := os.Open(path)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, fmt.Errorf("%w: %s", ErrNoLog, path)
		}
		return nil, fmt.Errorf("logs: open %s: %w", path, err)
	}
	files := []*os.File{live}
	for i := 1; ; i++ {
		f, err := os.Open(rotatedPath(path, i))
		if errors.Is(err, os.ErrNotExist) {
			break
		}
		if err != nil {
			for _, f := range files {
				f.Close()
			}
			return nil, fmt.Errorf("logs: open rotated log: %w", err)
		}
		files = append([]*os.File{f}, files...)
	}
	return files, nil
}

func sinceBound(opts ReadOptions, now time.Time) time.Time {
	since := opts.SinceTime
	if opts.SinceSeconds > 0 {
		if s := now.Add(-time.Duration(opts.SinceSeconds) * time.Second); s.After(since) {
			since = s
		}
	}
	return since
}

// output formats entries to the client and enforces LimitBytes.
type output struct {
	w         io.Writer
	opts      ReadOptions
	since     time.Time
	remaining int64 // bytes left under LimitBytes; unused when LimitBytes is 0
	line      []byte
}

// drain writes every complete entry c has now. done is true when the byte
// limit has been reached.
func (o *output) drain(c *cursor) (done bool, err error) {
	for {
		raw, err := c.next()
		if errors.Is(err, io.EOF) {
			return false, nil
		}
		if err != nil {
			return false, err
		}
		e, err := ParseEntry(raw)
		if err != nil {
			continue // a damaged line is skipped, as the kubelet does
		}
		if !o.since.IsZero() && e.Time.Before(o.since) {
			continue
		}
		if done, err := o.write(e); done || err != nil {
			return done, err
		}
	}
}

func (o *output) write(e Entry) (done bool, err error) {
	o.line = o.line[:0]
	if o.opts.Timestamps {
		o.line = e.Time.UTC().AppendFormat(o.line, time.RFC3339Nano)
		o.line = append(o.line, ' ')
	}
	o.line = append(o.line, e.Content...)
	if !e.Partial {
		o.line = append(o.line, '\n')
	}
	if o.opts.LimitBytes > 0 {
		if int64(len(o.line)) >= o.remaining {
			_, err := o.w.Write(o.line[:o.remaining])
			o.remaining = 0
			return true, err
		}
		o.remaining -= int64(len(o.line))
	}
	_, err = o.w.Write(o.line)
	return false, err
}

// cursor reads complete lines from a file that may still be growing.
type cursor struct {
	f     *os.File
	buf   []byte
	start int // buf[start:] is unconsumed
}

// maxEntryBytes bounds a line; the writer never produces more than
// MaxLineBytes of content plus a header, so anything longer is damage.
const maxEntryBytes = MaxLineBytes + 1024

// next returns the next newline-terminated line, or io.EOF when the file
// holds no complete line beyond those returned. A partly written last line
// stays buffered until its newline arrives.
func (c *cursor) next() ([]byte, error) {
	for {
		if i := bytes.IndexByte(c.buf[c.start:], '\n'); i >= 0 {
			line := c.buf[c.start : c.start+i+1]
			c.start += i + 1
			return line, nil
		}
		if len(c.buf)-c.start > maxEntryBytes {
			c.buf, c.start = c.buf[:0], 0 // drop an overlong damaged line
		}
		// Compact, then read more.
		n := copy(c.buf, c.buf[c.start:])
		c.buf, c.start = c.buf[:n], 0
		if cap(c.buf)-len(c.buf) < 32<<10 {
			grown := make([]byte, len(c.buf), 2*cap(c.buf)+64<<10)
			copy(grown, c.buf)
			c.buf = grown
		}
		m, err := c.f.Read(c.buf[len(c.buf):cap(c.buf)])
		c.buf = c.buf[:len(c.buf)+m]
		if m == 0 {
			if err == nil || errors.Is(err, io.EOF) {
				return nil, io.EOF
			}
			return nil, fmt.Errorf("logs: read %s: %w", c.f.Name(), err)
		}
	}
}
