package container

import (
	"os"
	"path/filepath"
	"slices"
	"strings"
	"testing"
)

// snapshot is what a container may leave behind on the host.
type snapshot struct {
	cgroups    []string // cgroup directories under the parent, all hierarchies
	mounts     []string // mount points under the state directory
	stateFiles []string // entries of containers/, libcontainer/, pods/
}

func takeSnapshot(t *testing.T, r *Runtime) snapshot {
	t.Helper()
	var s snapshot
	s.cgroups = cgroupDirs(t, r.cgroupParent)
	s.mounts = mountsUnder(t, r.stateDir)
	for _, d := range []string{r.containersDir(), r.lcRoot, r.podsDir()} {
		ents, err := os.ReadDir(d)
		if err != nil {
			t.Fatal(err)
		}
		for _, e := range ents {
			s.stateFiles = append(s.stateFiles, filepath.Join(d, e.Name()))
		}
	}
	slices.Sort(s.cgroups)
	slices.Sort(s.mounts)
	return s
}

func TestDestroyLeavesNothing(t *testing.T) {
	r := newTestRuntime(t)
	// Create the parent cgroup first (libcontainer keeps it on Destroy), so
	// before and after compare the containers' own traces only.
	warm := baseContainer(t, "true")
	run(t, r, warm)
	if err := r.Destroy(testCtx(t), warm.ID); err != nil {
		t.Fatal(err)
	}
	before := takeSnapshot(t, r)
	if len(before.cgroups) == 0 {
		t.Fatal("no parent cgroup directory found after a container ran")
	}

	podID := "pod-" + randomSuffix()
	ipc, err := r.EnsurePodIPC(podID)
	if err != nil {
		t.Fatal(err)
	}
	c := baseContainer(t, "sleep", "1000")
	c.Pod = PodSandbox{ID: podID, IPCNSPath: ipc.NSPath, ShmPath: ipc.ShmPath}
	ctx := testCtx(t)
	if err := r.Create(ctx, c); err != nil {
		t.Fatal(err)
	}
	if err := r.Start(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	var started startedRecord
	if err := readJSON(filepath.Join(r.containerDir(c.ID), startedFile), &started); err != nil {
		t.Fatal(err)
	}
	during := takeSnapshot(t, r)
	// The container's cgroup exists in every hierarchy (on a hybrid host,
	// in the unified one too).
	var ownCgroups int
	for _, d := range during.cgroups {
		if strings.HasSuffix(d, "/"+c.ID) {
			ownCgroups++
		}
	}
	if want := len(cgroupMountPoints(t)); ownCgroups != want {
		t.Errorf("container has cgroups in %d hierarchies, want %d: %v", ownCgroups, want, during.cgroups)
	}
	if !slices.Contains(during.mounts, filepath.Join(r.containerDir(c.ID), rootfsDir)) {
		t.Errorf("rootfs overlay not mounted: %v", during.mounts)
	}

	if err := r.Destroy(ctx, c.ID); err != nil {
		t.Fatal(err)
	}
	if err := r.RemovePodIPC(podID); err != nil {
		t.Fatal(err)
	}
	after := takeSnapshot(t, r)
	if !slices.Equal(before.cgroups, after.cgroups) {
		t.Errorf("cgroups before %v, after %v", before.cgroups, after.cgroups)
	}
	if !slices.Equal(before.mounts, after.mounts) {
		t.Errorf("mounts before %v, after %v", before.mounts, after.mounts)
	}
	if !slices.Equal(before.stateFiles, after.stateFiles) {
		t.Errorf("state before %v, after %v", before.stateFiles, after.stateFiles)
	}
	for _, p := range []struct {
		name  string
		pid   int
		start uint64
	}{{"monitor", started.MonitorPid, started.MonitorStartTime}, {"init", started.InitPid, started.InitStartTime}} {
		if processAlive(p.pid, p.start) {
			t.Errorf("%s process %d still runs after Destroy", p.name, p.pid)
		}
	}
	// Destroy is idempotent.
	if err := r.Destroy(ctx, c.ID); err != nil {
		t.Fatalf("second Destroy: %v", err)
	}
}
