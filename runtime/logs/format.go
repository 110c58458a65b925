package logs

import (
	"bytes"
	"errors"
	"fmt"
	"time"
)

// Stream names which of the container's output streams an entry came from.
type Stream string

// The two streams of a container.
const (
	Stdout Stream = "stdout"
	Stderr Stream = "stderr"
)

// Entry is one line of a CRI log file.
type Entry struct {
	Time   time.Time
	Stream Stream
	// Partial is true for the P tag: Content is a fragment of a longer line
	// that continues in the next entry of the same stream.
	Partial bool
	// Content is the text without the trailing newline.
	Content []byte
}

// ErrMalformedEntry is returned by ParseEntry for a line that is not in the
// CRI log format.
var ErrMalformedEntry = errors.New("logs: malformed CRI log entry")

const (
	tagFull    = 'F'
	tagPartial = 'P'
)

// AppendEntry appends e in the CRI log format, newline included, to buf.
func AppendEntry(buf []byte, e Entry) []byte {
	buf = e.Time.UTC().AppendFormat(buf, time.RFC3339Nano)
	buf = append(buf, ' ')
	buf = append(buf, e.Stream...)
	buf = append(buf, ' ')
	if e.Partial {
		buf = append(buf, tagPartial)
	} else {
		buf = append(buf, tagFull)
	}
	buf = append(buf, ' ')
	buf = append(buf, e.Content...)
	return append(buf, '\n')
}

// ParseEntry parses one line of a CRI log file, with or without its trailing
// newline. Content aliases line.
func ParseEntry(line []byte) (Entry, error) {
	line = bytes.TrimSuffix(line, []byte{'\n'})
	ts, rest, ok := bytes.Cut(line, []byte{' '})
	if !ok {
		return Entry{}, fmt.Errorf("%w: no timestamp separator in %q", ErrMalformedEntry, truncate(line))
	}
	t, err := time.Parse(time.RFC3339Nano, string(ts))
	if err != nil {
		return Entry{}, fmt.Errorf("%w: bad timestamp %q: %v", ErrMalformedEntry, ts, err)
	}
	stream, rest, ok := bytes.Cut(rest, []byte{' '})
	if !ok {
		return Entry{}, fmt.Errorf("%w: no stream separator in %q", ErrMalformedEntry, truncate(line))
	}
	e := Entry{Time: t, Stream: Stream(stream)}
	if e.Stream != Stdout && e.Stream != Stderr {
		return Entry{}, fmt.Errorf("%w: unknown stream %q", ErrMalformedEntry, stream)
	}
	tag, content, ok := bytes.Cut(rest, []byte{' '})
	if !ok || len(tag) != 1 || (tag[0] != tagFull && tag[0] != tagPartial) {
		return Entry{}, fmt.Errorf("%w: bad tag in %q", ErrMalformedEntry, truncate(line))
	}
	e.Partial = tag[0] == tagPartial
	e.Content = content
	return e, nil
}

func truncate(b []byte) []byte {
	if len(b) > 80 {
		return b[:80]
	}
	return b
}
