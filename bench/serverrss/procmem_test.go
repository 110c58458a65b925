package serverrss

import (
	"os"
	"testing"
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
