package serverrss

import (
	"bytes"
	"os"
	"path/filepath"
	"testing"
	"unsafe"

	"golang.org/x/sys/unix"
)

func TestParseKBFields(t *testing.T) {
	status := []byte(`Name:	tug
State:	S (sleeping)
Pid:	4242
VmHWM:	  90112 kB
VmRSS:	  81920 kB
RssAnon:	   40960 kB
Threads:	12
`)
	f, err := parseKBFields(status)
	if err != nil {
		t.Fatal(err)
	}
	for name, want := range map[string]int64{"VmHWM": 90112 * 1024, "VmRSS": 81920 * 1024, "RssAnon": 40960 * 1024} {
		if f[name] != want {
			t.Errorf("%s = %d, want %d", name, f[name], want)
		}
	}
	if _, ok := f["Threads"]; ok {
		t.Error("a line without kB was parsed as a size")
	}
	if _, err := parseKBFields([]byte("VmRSS:  12x kB\n")); err == nil {
		t.Error("a malformed size was accepted")
	}
}

func TestReadMemorySelf(t *testing.T) {
	m, err := ReadMemory(os.Getpid())
	if err != nil {
		t.Fatal(err)
	}
	if m.RSS <= 0 || m.HWM < m.RSS || m.RSSAnon <= 0 {
		t.Errorf("implausible reading of this process: %+v", m)
	}
	if _, err := ReadMemory(-1); err == nil {
		t.Error("reading pid -1 succeeded")
	}
}

func TestMetricValue(t *testing.T) {
	text := []byte(`# HELP go_memstats_heap_inuse_bytes Number of heap bytes that are in use.
# TYPE go_memstats_heap_inuse_bytes gauge
go_memstats_heap_inuse_bytes 1.2345e+07
go_memstats_heap_inuse_bytes_total 9
apiserver_request_total{code="200"} 3
`)
	if v, ok := metricValue(text, "go_memstats_heap_inuse_bytes"); !ok || v != 1.2345e7 {
		t.Errorf("heap in use = %v, %v", v, ok)
	}
	if _, ok := metricValue(text, "go_goroutines"); ok {
		t.Error("found a metric that is not there")
	}
}

// TestEvictPageCache checks that the pages of a file nobody maps leave the
// page cache (mincore over a mapping made after the eviction sees them
// absent) and that a missing file is an error.
func TestEvictPageCache(t *testing.T) {
	path := filepath.Join(t.TempDir(), "data")
	if err := os.WriteFile(path, bytes.Repeat([]byte("x"), 4<<20), 0o644); err != nil {
		t.Fatal(err)
	}
	if r := residentPages(t, path); r == 0 {
		t.Fatal("a file just written has no page in the page cache: mincore cannot tell")
	}
	// Written pages are dirty until written back; only clean ones go.
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	if err := unix.Fdatasync(int(f.Fd())); err != nil {
		t.Fatal(err)
	}
	f.Close()
	if err := EvictPageCache(path); err != nil {
		t.Fatal(err)
	}
	if r := residentPages(t, path); r != 0 {
		t.Errorf("%d pages still cached after EvictPageCache", r)
	}
	if err := EvictPageCache(filepath.Join(t.TempDir(), "missing")); err == nil {
		t.Error("no error for a missing file")
	}
}

// residentPages counts the pages of the file at path in the page cache.
func residentPages(t *testing.T, path string) int {
	t.Helper()
	f, err := os.Open(path)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		t.Fatal(err)
	}
	data, err := unix.Mmap(int(f.Fd()), 0, int(st.Size()), unix.PROT_READ, unix.MAP_SHARED)
	if err != nil {
		t.Fatal(err)
	}
	defer unix.Munmap(data)
	vec := make([]byte, (len(data)+os.Getpagesize()-1)/os.Getpagesize())
	if _, _, errno := unix.Syscall(unix.SYS_MINCORE, uintptr(unsafe.Pointer(&data[0])), uintptr(len(data)), uintptr(unsafe.Pointer(&vec[0]))); errno != 0 {
		t.Fatalf("mincore: %v", errno)
	}
	n := 0
	for _, v := range vec {
		n += int(v & 1)
	}
	return n
}
