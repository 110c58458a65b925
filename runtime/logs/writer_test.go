package logs

import (
	"bytes"
	"fmt"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"
)

// fixedClock returns a clock that advances by one millisecond per call, so
// entries have distinct, predictable times.
func fixedClock(start time.Time) func() time.Time {
	n := 0
	return func() time.Time {
		n++
		return start.Add(time.Duration(n) * time.Millisecond)
	}
}

var epoch = time.Date(2025, 1, 2, 3, 4, 5, 0, time.UTC)

func newTestWriter(t *testing.T, path string, rot Rotation) *Writer {
	t.Helper()
	w, err := NewWriter(path, rot)
	if err != nil {
		t.Fatal(err)
	}
	w.now = fixedClock(epoch)
	t.Cleanup(func() { w.Close() })
	return w
}

func readEntries(t *testing.T, path string) []Entry {
	t.Helper()
	data, err := os.ReadFile(path)
	if err != nil {
		t.Fatal(err)
	}
	var out []Entry
	for _, line := range bytes.SplitAfter(data, []byte{'\n'}) {
		if len(line) == 0 {
			continue
		}
		e, err := ParseEntry(line)
		if err != nil {
			t.Fatalf("%s: %v", path, err)
		}
		out = append(out, e)
	}
	return out
}

func TestCopyStreamSplitsLongLinesAndKeepsTail(t *testing.T) {
	path := filepath.Join(t.TempDir(), "0.log")
	w := newTestWriter(t, path, Rotation{})
	long := strings.Repeat("x", MaxLineBytes+10)
	input := "first\n" + long + "\nno newline at end"
	if err := w.CopyStream(strings.NewReader(input), Stderr); err != nil {
		t.Fatal(err)
	}
	got := readEntries(t, path)
	want := []struct {
		partial bool
		content string
	}{
		{false, "first"},
		{true, long[:MaxLineBytes]},
		{false, long[MaxLineBytes:]},
		{false, "no newline at end"},
	}
	if len(got) != len(want) {
		t.Fatalf("got %d entries, want %d", len(got), len(want))
	}
	for i, e := range got {
		if e.Stream != Stderr || e.Partial != want[i].partial || string(e.Content) != want[i].content {
			t.Errorf("entry %d = {%s partial=%v %d bytes}, want {stderr partial=%v %d bytes}", i, e.Stream, e.Partial, len(e.Content), want[i].partial, len(want[i].content))
		}
	}
}

func TestWriterRotatesBySize(t *testing.T) {
	dir := t.TempDir()
	path := filepath.Join(dir, "0.log")
	rot := Rotation{MaxBytes: 1000, MaxFiles: 3}
	w := newTestWriter(t, path, rot)
	const lines = 200
	for i := range lines {
		if err := w.WriteEntry(Stdout, false, fmt.Appendf(nil, "line %03d", i)); err != nil {
			t.Fatal(err)
		}
	}
	if err := w.Close(); err != nil {
		t.Fatal(err)
	}
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	var names []string
	for _, e := range ents {
		names = append(names, e.Name())
	}
	if want := []string{"0.log", "0.log.1", "0.log.2"}; strings.Join(names, ",") != strings.Join(want, ",") {
		t.Fatalf("files = %v, want %v", names, want)
	}
	// Oldest to newest, the kept files hold a contiguous run ending with the
	// last line, and none exceeds MaxBytes.
	var all []Entry
	for _, p := range []string{path + ".2", path + ".1", path} {
		st, err := os.Stat(p)
		if err != nil {
			t.Fatal(err)
		}
		if st.Size() > rot.MaxBytes {
			t.Errorf("%s is %d bytes, over MaxBytes %d", p, st.Size(), rot.MaxBytes)
		}
		all = append(all, readEntries(t, p)...)
	}
	first := lines - len(all)
	if first <= 0 {
		t.Fatalf("nothing was rotated away: %d entries kept", len(all))
	}
	for i, e := range all {
		if want := fmt.Sprintf("line %03d", first+i); string(e.Content) != want {
			t.Fatalf("kept entry %d = %q, want %q", i, e.Content, want)
		}
	}
}

func TestNewWriterAppends(t *testing.T) {
	path := filepath.Join(t.TempDir(), "sub", "0.log")
	w := newTestWriter(t, path, Rotation{})
	if err := w.WriteEntry(Stdout, false, []byte("one")); err != nil {
		t.Fatal(err)
	}
	w.Close()
	w2 := newTestWriter(t, path, Rotation{})
	if err := w2.WriteEntry(Stdout, false, []byte("two")); err != nil {
		t.Fatal(err)
	}
	w2.Close()
	got := readEntries(t, path)
	if len(got) != 2 || string(got[0].Content) != "one" || string(got[1].Content) != "two" {
		t.Fatalf("entries = %+v", got)
	}
}
