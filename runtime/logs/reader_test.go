package logs

import (
	"bytes"
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"testing"
	"time"
)

func ptr[T any](v T) *T { return &v }

// writeLines writes lines "<prefix> NNN" through a Writer and returns the
// content lines that are still kept after rotation, oldest first.
func writeLines(t *testing.T, path string, rot Rotation, prefix string, n int) []string {
	t.Helper()
	w := newTestWriter(t, path, rot)
	for i := range n {
		if err := w.WriteEntry(Stdout, false, fmt.Appendf(nil, "%s %03d", prefix, i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	var kept []string
	for i := rot.MaxFiles - 1; i >= 0; i-- {
		p := rotatedPath(path, i)
		if _, err := os.Stat(p); err != nil {
			continue
		}
		for _, e := range readEntries(t, p) {
			kept = append(kept, string(e.Content))
		}
	}
	return kept
}

func lines(ls []string) string {
	if len(ls) == 0 {
		return ""
	}
	return strings.Join(ls, "\n") + "\n"
}

func TestReadFileOptions(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	kept := writeLines(t, path, Rotation{MaxBytes: 600, MaxFiles: 4}, "line", 100)
	liveCount := len(readEntries(t, path))
	if liveCount >= 20 || len(kept) <= 20 {
		t.Fatalf("fixture: want a live file with < 20 entries and > 20 kept, have %d live, %d kept", liveCount, len(kept))
	}
	full := lines(kept)
	tests := []struct {
		name string
		opts ReadOptions
		want string
	}{
		{"everything kept", ReadOptions{}, full},
		{"tail within the live file", ReadOptions{TailLines: ptr[int64](3)}, lines(kept[len(kept)-3:])},
		{"tail across rotated files", ReadOptions{TailLines: ptr[int64](20)}, lines(kept[len(kept)-20:])},
		{"tail beyond everything", ReadOptions{TailLines: ptr[int64](10000)}, full},
		{"tail zero", ReadOptions{TailLines: ptr[int64](0)}, ""},
		{"limit bytes", ReadOptions{LimitBytes: 25}, full[:25]},
		{"limit bytes larger than the log", ReadOptions{LimitBytes: 1 << 20}, full},
		{"tail and limit", ReadOptions{TailLines: ptr[int64](2), LimitBytes: 10}, lines(kept[len(kept)-2:])[:10]},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			var out bytes.Buffer
			if err := ReadFile(context.Background(), path, tt.opts, &out); err != nil {
				t.Fatal(err)
			}
			if out.String() != tt.want {
				t.Fatalf("got %q\nwant %q", out.String(), tt.want)
			}
		})
	}
}

func TestReadFileTimestampsAndSince(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	writeLines(t, path, Rotation{}, "l", 5)
	// The fixed clock stamps entry i at epoch + (i+1) ms.
	var out bytes.Buffer
	opts := ReadOptions{Timestamps: true, SinceTime: epoch.Add(4 * time.Millisecond)}
	if err := ReadFile(context.Background(), path, opts, &out); err != nil {
		t.Fatal(err)
	}
	want := "2025-01-02T03:04:05.004Z l 003\n2025-01-02T03:04:05.005Z l 004\n"
	if out.String() != want {
		t.Fatalf("got %q, want %q", out.String(), want)
	}
}

func TestSinceBoundTakesTheLaterBound(t *testing.T) {
	now := time.Date(2025, 1, 1, 12, 0, 0, 0, time.UTC)
	tests := []struct {
		opts ReadOptions
		want time.Time
	}{
		{ReadOptions{}, time.Time{}},
		{ReadOptions{SinceSeconds: 60}, now.Add(-time.Minute)},
		{ReadOptions{SinceTime: now.Add(-time.Hour)}, now.Add(-time.Hour)},
		{ReadOptions{SinceTime: now.Add(-time.Hour), SinceSeconds: 60}, now.Add(-time.Minute)},
		{ReadOptions{SinceTime: now.Add(-time.Second), SinceSeconds: 60}, now.Add(-time.Second)},
	}
	for _, tt := range tests {
		if got := sinceBound(tt.opts, now); !got.Equal(tt.want) {
			t.Errorf("sinceBound(%+v) = %v, want %v", tt.opts, got, tt.want)
		}
	}
}

func TestReadJoinsPartialEntries(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w := newTestWriter(t, path, Rotation{})
	long := strings.Repeat("y", MaxLineBytes*2+5)
	if err := w.CopyStream(strings.NewReader(long+"\nshort\n"), Stdout); err != nil {
		t.Fatal(err)
	}
	var out bytes.Buffer
	if err := ReadFile(context.Background(), path, ReadOptions{}, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != long+"\nshort\n" {
		t.Fatalf("joined output differs: %d bytes, want %d", out.Len(), len(long)+7)
	}
}

func TestReadPreviousInstance(t *testing.T) {
	dir := t.TempDir()
	writeLines(t, InstancePath(dir, 0), Rotation{}, "first-run", 2)
	var out bytes.Buffer
	if err := Read(context.Background(), dir, ReadOptions{Previous: true}, &out); !errors.Is(err, ErrNoLog) {
		t.Fatalf("previous with one instance: err = %v, want ErrNoLog", err)
	}
	writeLines(t, InstancePath(dir, 1), Rotation{}, "second-run", 2)
	for _, tt := range []struct {
		previous bool
		want     string
	}{
		{false, "second-run 000\nsecond-run 001\n"},
		{true, "first-run 000\nfirst-run 001\n"},
	} {
		out.Reset()
		if err := Read(context.Background(), dir, ReadOptions{Previous: tt.previous}, &out); err != nil {
			t.Fatal(err)
		}
		if out.String() != tt.want {
			t.Errorf("previous=%v: got %q, want %q", tt.previous, out.String(), tt.want)
		}
	}
	if err := Read(context.Background(), t.TempDir(), ReadOptions{}, &out); !errors.Is(err, ErrNoLog) {
		t.Fatalf("empty dir: err = %v, want ErrNoLog", err)
	}
}

func TestInstancesAndPrune(t *testing.T) {
	dir := t.TempDir()
	for _, n := range []int{0, 2, 10} {
		writeLines(t, InstancePath(dir, n), Rotation{MaxBytes: 100, MaxFiles: 3}, "x", 20)
	}
	// Names that are not instances are ignored.
	for _, name := range []string{"notes.txt", "01.log", "-1.log", "a.log"} {
		if err := os.WriteFile(filepath.Join(dir, name), nil, 0o644); err != nil {
			t.Fatal(err)
		}
	}
	got, err := Instances(dir)
	if err != nil {
		t.Fatal(err)
	}
	if fmt.Sprint(got) != "[0 2 10]" {
		t.Fatalf("Instances = %v, want [0 2 10]", got)
	}
	if err := PruneInstances(dir, 2); err != nil {
		t.Fatal(err)
	}
	got, _ = Instances(dir)
	if fmt.Sprint(got) != "[2 10]" {
		t.Fatalf("after prune Instances = %v, want [2 10]", got)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "0.log*")); len(m) != 0 {
		t.Fatalf("prune left files of instance 0: %v", m)
	}
	if m, _ := filepath.Glob(filepath.Join(dir, "2.log.*")); len(m) == 0 {
		t.Fatal("prune removed rotated files of a kept instance")
	}
}

// syncBuffer is an io.Writer whose content can be awaited.
type syncBuffer struct {
	mu      sync.Mutex
	buf     bytes.Buffer
	changed chan struct{}
}

func newSyncBuffer() *syncBuffer { return &syncBuffer{changed: make(chan struct{}, 1)} }

func (b *syncBuffer) Write(p []byte) (int, error) {
	b.mu.Lock()
	defer b.mu.Unlock()
	n, err := b.buf.Write(p)
	select {
	case b.changed <- struct{}{}:
	default:
	}
	return n, err
}

func (b *syncBuffer) String() string {
	b.mu.Lock()
	defer b.mu.Unlock()
	return b.buf.String()
}

// waitFor blocks until the buffer ends with suffix or the reader failed.
func (b *syncBuffer) waitFor(t *testing.T, suffix string, readerDone <-chan error) {
	t.Helper()
	for !strings.HasSuffix(b.String(), suffix) {
		select {
		case <-b.changed:
		case err := <-readerDone:
			t.Fatalf("reader returned early (%v) before %q; output %q", err, suffix, b.String())
		}
	}
}

func TestFollowAcrossRotation(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w := newTestWriter(t, path, Rotation{MaxBytes: 300, MaxFiles: 2})
	if err := w.WriteEntry(Stdout, false, []byte("before")); err != nil {
		t.Fatal(err)
	}
	out := newSyncBuffer()
	stop := make(chan struct{})
	done := make(chan error, 1)
	go func() {
		done <- ReadFile(context.Background(), path, ReadOptions{Follow: true, TailLines: ptr[int64](1), StopFollowing: stop}, out)
	}()
	out.waitFor(t, "before\n", done)
	// An entry is about 50 bytes: six fit in a file, so a batch of four
	// rotates the file at most once and every other batch rotates it.
	// Waiting for a batch's output before writing the next keeps the reader
	// from missing a file that a second rotation would remove.
	var want strings.Builder
	want.WriteString("before\n")
	for batch := range 8 {
		var last string
		for i := range 4 {
			last = fmt.Sprintf("batch %d line %d", batch, i)
			if err := w.WriteEntry(Stdout, false, []byte(last)); err != nil {
				t.Fatal(err)
			}
			want.WriteString(last + "\n")
		}
		out.waitFor(t, last+"\n", done)
	}
	if err := w.WriteEntry(Stderr, false, []byte("last words")); err != nil {
		t.Fatal(err)
	}
	want.WriteString("last words\n")
	w.Close()
	close(stop)
	if err := <-done; err != nil {
		t.Fatal(err)
	}
	if out.String() != want.String() {
		t.Fatalf("followed output:\n%s\nwant:\n%s", out.String(), want.String())
	}
	if _, err := os.Stat(path + ".1"); err != nil {
		t.Fatalf("the writer never rotated, so following across rotation was not exercised: %v", err)
	}
}

func TestFollowStopsOnContext(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w := newTestWriter(t, path, Rotation{})
	if err := w.WriteEntry(Stdout, false, []byte("hello")); err != nil {
		t.Fatal(err)
	}
	ctx, cancel := context.WithCancel(context.Background())
	out := newSyncBuffer()
	done := make(chan error, 1)
	go func() { done <- ReadFile(ctx, path, ReadOptions{Follow: true}, out) }()
	out.waitFor(t, "hello\n", done)
	cancel()
	if err := <-done; !errors.Is(err, context.Canceled) {
		t.Fatalf("err = %v, want context.Canceled", err)
	}
}
