package logs

import (
	"fmt"
	"io"
	"os"
)

// tailStart finds where the last n entries of files (oldest first) begin:
// the index of the file and the offset in it.
func tailStart(files []*os.File, n int64) (file int, offset int64, err error) {
	if n <= 0 {
		last := files[len(files)-1]
		end, err := last.Seek(0, io.SeekEnd)
		if err != nil {
			return 0, 0, fmt.Errorf("logs: seek %s: %w", last.Name(), err)
		}
		return len(files) - 1, end, nil
	}
	remaining := n
	for i := len(files) - 1; i >= 0; i-- {
		off, found, err := tailOffset(files[i], remaining)
		if err != nil {
			return 0, 0, err
		}
		if found >= remaining {
			return i, off, nil
		}
		remaining -= found
	}
	return 0, 0, nil
}

// tailOffset scans f backwards for the start of its last n complete
// (newline-terminated) lines. found is the number of complete lines seen,
// at most n; when found < n the offset is 0.
func tailOffset(f *os.File, n int64) (offset int64, found int64, err error) {
	st, err := f.Stat()
	if err != nil {
		return 0, 0, fmt.Errorf("logs: stat %s: %w", f.Name(), err)
	}
	size := st.Size()
	const chunk = 64 << 10
	buf := make([]byte, chunk)
	pos := size
	// Newlines seen from the end. The first one terminates the last complete
	// line (bytes after it are a line still being written, not counted); the
	// (n+1)th one ends the line before the last n.
	var newlines int64
	for pos > 0 {
		readLen := int64(chunk)
		if pos < readLen {
			readLen = pos
		}
		pos -= readLen
		b := buf[:readLen]
		if _, err := f.ReadAt(b, pos); err != nil && err != io.EOF {
			return 0, 0, fmt.Errorf("logs: read %s: %w", f.Name(), err)
		}
		for j := len(b) - 1; j >= 0; j-- {
			if b[j] != '\n' {
				continue
			}
			newlines++
			if newlines == n+1 {
				return pos + int64(j) + 1, n, nil
			}
		}
	}
	return 0, min(newlines, n), nil
}
