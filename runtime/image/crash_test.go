package image

import (
	"bufio"
	"context"
	"errors"
	"fmt"
	"os"
	"os/exec"
	"path/filepath"
	"strings"
	"syscall"
	"testing"

	"github.com/tug-sh/tug/runtime/image/imagetest"
)

// The helper process of TestKilledMidUnpack: pull, and hang in the middle
// of unpacking until killed.
const helperEnv = "TUG_IMAGE_TEST_HELPER"

func TestMain(m *testing.M) {
	if spec := os.Getenv(helperEnv); spec != "" {
		root, ref, _ := strings.Cut(spec, "|")
		os.Exit(hangMidUnpack(root, ref))
	}
	os.Exit(m.Run())
}

func hangMidUnpack(root, ref string) int {
	s, err := Open(Config{Root: root})
	if err != nil {
		fmt.Println("ERROR", err)
		return 1
	}
	entries := 0
	s.onUnpackEntry = func(layer int, name string) {
		if entries++; entries == 100 {
			fmt.Println("UNPACKING")
			select {} // until SIGKILL
		}
	}
	_, err = s.Pull(context.Background(), ref, PullOptions{})
	fmt.Println("ERROR pull finished:", err)
	return 1
}

// assertNoTrace checks that a store shows no sign of an image whose
// unpack was interrupted, and that only live sessions have temporary
// directories.
func assertNoTrace(t *testing.T, s *Store, ref string) {
	t.Helper()
	if _, err := s.Get(ref); !errors.Is(err, ErrNotPresent) {
		t.Errorf("Get after an interrupted unpack: %v, want ErrNotPresent", err)
	}
	if list, _ := s.List(); len(list) != 0 {
		t.Errorf("List after an interrupted unpack: %+v", list)
	}
	if n := countEntries(t, s.lowersDir()); n != 0 {
		t.Errorf("lowers/ has %d entries after an interrupted unpack", n)
	}
	ents, _ := os.ReadDir(s.tmpDir())
	for _, e := range ents {
		if p := filepath.Join(s.tmpDir(), strings.TrimSuffix(e.Name(), ".lock")); p != s.work {
			t.Errorf("leftover %s", e.Name())
		}
	}
	if n := countEntries(t, s.work); n != 0 {
		t.Errorf("the session directory holds %d entries", n)
	}
}

func TestCancelMidUnpack(t *testing.T) {
	var reqs imagetest.RequestLog
	host := imagetest.StartRegistry(t, imagetest.Wrap(reqs.Wrap))
	imagetest.Push(t, host, "tug/busybox:1", busyboxImage(t))
	ref := host + "/tug/busybox:1"
	s := newStore(t)
	ctx, cancel := context.WithCancel(context.Background())
	defer cancel()
	entries := 0
	s.onUnpackEntry = func(layer int, name string) {
		if entries++; entries == 100 {
			cancel()
		}
	}
	_, err := s.Pull(ctx, ref, PullOptions{})
	if !errors.Is(err, context.Canceled) {
		t.Fatalf("pull cancelled mid-unpack: %v, want context.Canceled", err)
	}
	if entries < 100 {
		t.Fatalf("cancelled after %d entries, before the unpack", entries)
	}
	s.flights.running.Wait() // the abandoned pull winds down in the background
	assertNoTrace(t, s, ref)

	// The next pull reuses the stored blobs and completes.
	s.onUnpackEntry = nil
	reqs.Reset()
	if _, err := s.Pull(context.Background(), ref, PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := reqs.Count("GET", "/blobs/"); n != 0 {
		t.Errorf("the retry downloaded %d blobs again", n)
	}
}

func TestKilledMidUnpack(t *testing.T) {
	host := imagetest.StartRegistry(t)
	imagetest.Push(t, host, "tug/busybox:1", busyboxImage(t))
	ref := host + "/tug/busybox:1"
	root := filepath.Join(t.TempDir(), "images")

	cmd := exec.Command(os.Args[0], "-test.run=^$")
	cmd.Env = append(os.Environ(), helperEnv+"="+root+"|"+ref)
	cmd.Stderr = os.Stderr
	out, err := cmd.StdoutPipe()
	if err != nil {
		t.Fatal(err)
	}
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cmd.Process.Kill(); cmd.Wait() })
	line, _ := bufio.NewReader(out).ReadString('\n')
	if strings.TrimSpace(line) != "UNPACKING" {
		t.Fatalf("helper said %q", line)
	}
	// The helper is mid-unpack: half a root filesystem is on disk.
	if err := syscall.Kill(cmd.Process.Pid, syscall.SIGKILL); err != nil {
		t.Fatal(err)
	}
	cmd.Wait()

	s, err := Open(Config{Root: root, Logger: testLogger(t)})
	if err != nil {
		t.Fatal(err)
	}
	defer s.Close()
	assertNoTrace(t, s, ref)
	if _, err := s.Pull(context.Background(), ref, PullOptions{}); err != nil {
		t.Fatalf("pull after the crash: %v", err)
	}
}
