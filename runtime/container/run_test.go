package container

import (
	"errors"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"

	"github.com/tug-sh/tug/runtime/logs"
)

func TestRunEchoAndExitCodes(t *testing.T) {
	r := newTestRuntime(t)
	tests := []struct {
		name     string
		command  []string
		wantCode int
		reason   string
		wantLog  string
	}{
		{"echo", []string{"echo", "hello from busybox"}, 0, "Completed", "hello from busybox\n"},
		{"exit code", []string{"sh", "-c", "echo out; echo err >&2; exit 42"}, 42, "Error", "out\nerr\n"},
		{"false", []string{"false"}, 1, "Error", ""},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseContainer(t, tt.command...)
			exit, log := run(t, r, c)
			if exit.Code != tt.wantCode || exit.Reason != tt.reason || exit.OOMKilled {
				t.Errorf("exit = %+v, want code %d reason %s", exit, tt.wantCode, tt.reason)
			}
			if !sameLines(log, tt.wantLog) {
				t.Errorf("log = %q, want %q", log, tt.wantLog)
			}
		})
	}
}

// sameLines compares output from two streams whose interleaving is not
// ordered.
func sameLines(a, b string) bool {
	as, bs := strings.Split(a, "\n"), strings.Split(b, "\n")
	if len(as) != len(bs) {
		return false
	}
	count := map[string]int{}
	for _, l := range as {
		count[l]++
	}
	for _, l := range bs {
		count[l]--
	}
	for _, n := range count {
		if n != 0 {
			return false
		}
	}
	return true
}

func TestEnvArgsWorkingDir(t *testing.T) {
	r := newTestRuntime(t)
	c := baseContainer(t, "sh")
	c.Args = []string{"-c", `echo "$FOO:$0:$1:$(pwd):$(hostname):$HOSTNAME"`, "zero", "one"}
	c.Env = []string{"FOO=bar"}
	c.WorkingDir = "/tmp"
	c.Hostname = "my-pod"
	exit, log := run(t, r, c)
	if exit.Code != 0 {
		t.Fatalf("exit = %+v, log %q", exit, log)
	}
	if want := "bar:zero:one:/tmp:my-pod:my-pod\n"; log != want {
		t.Fatalf("log = %q, want %q", log, want)
	}
}

// TestEnvironmentIsTheSpecs checks that the container's process sees the
// environment of its description and nothing of its ancestors': not the
// agent's variables, which the monitor inherits, nor the Go runtime
// settings the monitor and libcontainer's init run with (monitorEnv).
func TestEnvironmentIsTheSpecs(t *testing.T) {
	t.Setenv("TUG_TEST_AGENT_VARIABLE", "leaked")
	r := newTestRuntime(t)
	c := baseContainer(t, "env")
	c.Env = []string{"FOO=bar"}
	exit, log := run(t, r, c)
	if exit.Code != 0 {
		t.Fatalf("exit = %+v, log %q", exit, log)
	}
	got := strings.Fields(log)
	slices.Sort(got)
	// libcontainer adds HOME from the user's passwd entry.
	if want := []string{"FOO=bar", "HOME=/root", "HOSTNAME=" + c.Hostname, defaultPath}; !slices.Equal(got, want) {
		t.Errorf("the container's environment is %q, want %q", got, want)
	}
}

func TestReadOnlyRootFilesystem(t *testing.T) {
	r := newTestRuntime(t)
	for _, ro := range []bool{false, true} {
		c := baseContainer(t, "sh", "-c", "touch /created && echo wrote")
		c.ReadOnlyRootFilesystem = ro
		exit, log := run(t, r, c)
		if ro {
			if exit.Code == 0 || !strings.Contains(log, "Read-only file system") {
				t.Errorf("read-only rootfs: exit %d, log %q; want a failure with EROFS", exit.Code, log)
			}
		} else if exit.Code != 0 || log != "wrote\n" {
			t.Errorf("writable rootfs: exit %d, log %q", exit.Code, log)
		}
	}
	// The image directory itself is never written.
	if _, err := os.Stat(filepath.Join(testRootfs, "created")); !errors.Is(err, os.ErrNotExist) {
		t.Fatalf("the container wrote into the image directory: %v", err)
	}
}

func TestRunAsUser(t *testing.T) {
	r := newTestRuntime(t)
	c := baseContainer(t, "sh", "-c", `echo "$(id -u) $(id -g) $(id -G)"; grep -E '^Cap(Eff|Prm):' /proc/self/status`)
	c.User = User{UID: 1000, GID: 1000, AdditionalGIDs: []uint32{2000}}
	exit, log := run(t, r, c)
	if exit.Code != 0 {
		t.Fatalf("exit = %+v, log %q", exit, log)
	}
	want := "1000 1000 1000 2000\nCapPrm:\t0000000000000000\nCapEff:\t0000000000000000\n"
	if log != want {
		t.Fatalf("log = %q, want %q (a non-root user keeps no effective capabilities)", log, want)
	}
}

func TestBindMounts(t *testing.T) {
	r := newTestRuntime(t)
	host := t.TempDir()
	hosts := filepath.Join(host, "hosts")
	if err := os.WriteFile(hosts, []byte("10.0.0.5 web-0\n"), 0o644); err != nil {
		t.Fatal(err)
	}
	vol := filepath.Join(host, "vol")
	if err := os.Mkdir(vol, 0o755); err != nil {
		t.Fatal(err)
	}
	c := baseContainer(t, "sh", "-c", `cat /etc/hosts; echo data > /vol/out && echo vol-ok; (echo x > /etc/hosts) 2>/dev/null || echo hosts-ro`)
	c.Mounts = []Mount{{Source: hosts, Destination: "/etc/hosts", ReadOnly: true}, {Source: vol, Destination: "/vol"}}
	exit, log := run(t, r, c)
	if exit.Code != 0 || log != "10.0.0.5 web-0\nvol-ok\nhosts-ro\n" {
		t.Fatalf("exit %+v log %q", exit, log)
	}
	if data, err := os.ReadFile(filepath.Join(vol, "out")); err != nil || string(data) != "data\n" {
		t.Fatalf("volume content %q, %v", data, err)
	}
}

func TestContainerLogRotationAndTail(t *testing.T) {
	r := newTestRuntime(t, func(c *Config) { c.LogRotation = logs.Rotation{MaxBytes: 4096, MaxFiles: 3} })
	c := baseContainer(t, "seq", "1", "2000")
	exit, _ := run(t, r, c)
	if exit.Code != 0 {
		t.Fatalf("exit %+v", exit)
	}
	for _, name := range []string{c.LogPath, c.LogPath + ".1", c.LogPath + ".2"} {
		st, err := os.Stat(name)
		if err != nil {
			t.Fatalf("rotated log: %v", err)
		}
		if st.Size() > 4096 {
			t.Errorf("%s is %d bytes, over the 4096 limit", name, st.Size())
		}
	}
	if _, err := os.Stat(c.LogPath + ".3"); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("more than MaxFiles files kept: %v", err)
	}
	var out strings.Builder
	tail := int64(3)
	if err := logs.Read(testCtx(t), filepath.Dir(c.LogPath), logs.ReadOptions{TailLines: &tail}, &out); err != nil {
		t.Fatal(err)
	}
	if out.String() != "1998\n1999\n2000\n" {
		t.Fatalf("tail = %q", out.String())
	}
}
