package container

import (
	"os"
	"os/exec"
	"path/filepath"
	"strconv"
	"strings"
	"testing"

	"golang.org/x/sys/unix"
)

// testNetns creates a named network namespace the way `ip netns add` does
// (a bind mount of the namespace file under /run/netns), with lo up.
func testNetns(t *testing.T) string {
	t.Helper()
	name := "tug-test-" + randomSuffix()
	if out, err := exec.Command("ip", "netns", "add", name).CombinedOutput(); err != nil {
		t.Fatalf("ip netns add: %v: %s", err, out)
	}
	t.Cleanup(func() {
		if out, err := exec.Command("ip", "netns", "del", name).CombinedOutput(); err != nil {
			t.Errorf("ip netns del %s: %v: %s", name, err, out)
		}
	})
	if out, err := exec.Command("ip", "-n", name, "link", "set", "lo", "up").CombinedOutput(); err != nil {
		t.Fatalf("lo up: %v: %s", err, out)
	}
	return filepath.Join("/run/netns", name)
}

func inode(t *testing.T, path string) uint64 {
	t.Helper()
	var st unix.Stat_t
	if err := unix.Stat(path, &st); err != nil {
		t.Fatal(err)
	}
	return st.Ino
}

func TestPodSharesNetworkAndIPC(t *testing.T) {
	r := newTestRuntime(t)
	netns := testNetns(t)
	podID := "pod-" + randomSuffix()
	ipc, err := r.EnsurePodIPC(podID)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() {
		if err := r.RemovePodIPC(podID); err != nil {
			t.Errorf("remove pod IPC: %v", err)
		}
	})
	if again, err := r.EnsurePodIPC(podID); err != nil || again != ipc {
		t.Fatalf("EnsurePodIPC is not idempotent: %+v, %v", again, err)
	}
	pod := PodSandbox{ID: podID, NetNSPath: netns, IPCNSPath: ipc.NSPath, ShmPath: ipc.ShmPath}

	server := baseContainer(t, "sh", "-c", `mkdir -p /tmp/www && echo served-in-pod > /tmp/www/index.html &&
echo shm-from-server > /dev/shm/note &&
echo "ipc $(stat -L -c %i /proc/self/ns/ipc) net $(stat -L -c %i /proc/self/ns/net)" &&
exec httpd -f -p 127.0.0.1:8080 -h /tmp/www`)
	server.Pod = pod
	startContainer(t, r, server)
	waitForLog(t, server.LogPath, "net ")

	// The client retries until the server listens: its own loop, in the
	// container, is the synchronisation.
	client := baseContainer(t, "sh", "-c", `for i in $(seq 1 300); do
  if wget -q -O - http://127.0.0.1:8080/; then
    cat /dev/shm/note
    echo "ipc $(stat -L -c %i /proc/self/ns/ipc) net $(stat -L -c %i /proc/self/ns/net)"
    exit 0
  fi
  sleep 0.1
done
exit 1`)
	client.Pod = pod
	exit, log := run(t, r, client)
	if exit.Code != 0 {
		t.Fatalf("client exit %+v, log %q", exit, log)
	}
	wantNS := "ipc " + strconv.FormatUint(inode(t, ipc.NSPath), 10) + " net " + strconv.FormatUint(inode(t, netns), 10)
	if want := "served-in-pod\nshm-from-server\n" + wantNS + "\n"; log != want {
		t.Fatalf("client log %q, want %q", log, want)
	}
	if serverLog := readLog(t, server.LogPath); !strings.Contains(serverLog, wantNS) {
		t.Fatalf("server namespaces %q, want %q", serverLog, wantNS)
	}
	// A container outside the pod has its own namespaces: no server there.
	outsider := baseContainer(t, "sh", "-c", `wget -q -O - http://127.0.0.1:8080/ 2>/dev/null || echo unreachable`)
	if _, log := run(t, r, outsider); log != "unreachable\n" {
		t.Fatalf("outsider log %q", log)
	}
}

func TestRemovePodIPCUnpins(t *testing.T) {
	r := newTestRuntime(t)
	podID := "pod-" + randomSuffix()
	ipc, err := r.EnsurePodIPC(podID)
	if err != nil {
		t.Fatal(err)
	}
	if !isNamespaceFile(ipc.NSPath) {
		t.Fatalf("%s is not a namespace file", ipc.NSPath)
	}
	if err := r.RemovePodIPC(podID); err != nil {
		t.Fatal(err)
	}
	if m := mountsUnder(t, r.podsDir()); len(m) != 0 {
		t.Fatalf("mounts left: %v", m)
	}
	if _, err := os.Stat(filepath.Dir(ipc.NSPath)); !os.IsNotExist(err) {
		t.Fatalf("pod directory left: %v", err)
	}
	if err := r.RemovePodIPC(podID); err != nil {
		t.Fatalf("second RemovePodIPC: %v", err)
	}
}
