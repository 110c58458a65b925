package image

import (
	"context"
	"errors"
	"os"
	"slices"
	"testing"
	"time"

	"github.com/tug-sh/tug/runtime/image/imagetest"
)

func TestListAndRemove(t *testing.T) {
	ctx := context.Background()
	host := imagetest.StartRegistry(t)
	bb, other := twoImages(t)
	imagetest.Push(t, host, "tug/busybox:1", bb)
	imagetest.Push(t, host, "tug/busybox:latest", bb)
	imagetest.Push(t, host, "tug/other:1", other)
	s := newStore(t)
	for _, ref := range []string{"tug/busybox:1", "tug/busybox:latest", "tug/other:1"} {
		if _, err := s.Pull(ctx, host+"/"+ref, PullOptions{}); err != nil {
			t.Fatal(err)
		}
	}
	list, err := s.List()
	if err != nil || len(list) != 2 {
		t.Fatalf("List = %+v, %v", list, err)
	}
	if want := []string{host + "/tug/busybox:1", host + "/tug/busybox:latest"}; !slices.Equal(list[0].RepoTags, want) {
		t.Errorf("first image tags %v, want %v", list[0].RepoTags, want)
	}
	bbID, otherID := list[0].ID, list[1].ID
	blobsBefore := countEntries(t, s.blobDir())

	// Removing one of two tags only untags.
	res, err := s.Remove(ctx, host+"/tug/busybox:latest")
	if err != nil || res.Deleted != "" || !slices.Equal(res.Untagged, []string{host + "/tug/busybox:latest"}) {
		t.Fatalf("Remove(latest) = %+v, %v", res, err)
	}
	if _, err := os.Stat(s.lowerPath(bbID)); err != nil {
		t.Errorf("untagging removed the root filesystem: %v", err)
	}
	// Removing the last tag removes the image, its lower dir and its blobs.
	res, err = s.Remove(ctx, host+"/tug/busybox:1")
	if err != nil || res.Deleted != bbID {
		t.Fatalf("Remove(1) = %+v, %v", res, err)
	}
	if _, err := os.Stat(s.lowerPath(bbID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("lower directory still there: %v", err)
	}
	if got := countEntries(t, s.blobDir()); got != blobsBefore-3 {
		t.Errorf("%d blobs left of %d, want the image's 3 (manifest, config, layer) gone", got, blobsBefore)
	}
	if _, err := s.Get(host + "/tug/busybox:1"); !errors.Is(err, ErrNotPresent) {
		t.Errorf("Get after Remove: %v", err)
	}
	if _, err := s.Remove(ctx, host+"/tug/busybox:1"); !errors.Is(err, ErrNotPresent) {
		t.Errorf("second Remove: %v, want ErrNotPresent", err)
	}
	// By ID prefix.
	res, err = s.Remove(ctx, otherID[len("sha256:"):][:12])
	if err != nil || res.Deleted != otherID {
		t.Fatalf("Remove(ID prefix) = %+v, %v", res, err)
	}
	if n := countEntries(t, s.blobDir()) + countEntries(t, s.lowersDir()); n != 0 {
		t.Errorf("%d blobs and root filesystems left in an empty store", n)
	}
}

func countEntries(t *testing.T, dir string) int {
	t.Helper()
	ents, err := os.ReadDir(dir)
	if err != nil {
		t.Fatal(err)
	}
	return len(ents)
}

func TestChooseVictims(t *testing.T) {
	now := time.Date(2026, 1, 1, 12, 0, 0, 0, time.UTC)
	ago := func(d time.Duration) time.Time { return now.Add(-d) }
	const gib = int64(1) << 30
	imgs := []GCCandidate{
		{ID: "a", Size: 2 * gib, LastUsed: ago(time.Hour), Pulled: ago(24 * time.Hour)},
		{ID: "b", Size: 1 * gib, LastUsed: ago(3 * time.Hour), Pulled: ago(24 * time.Hour)},
		{ID: "c", Size: 1 * gib, LastUsed: ago(5 * time.Hour), Pulled: ago(24 * time.Hour), InUse: true},
		{ID: "d", Size: 1 * gib, LastUsed: ago(2 * time.Hour), Pulled: ago(24 * time.Hour)},
		{ID: "e", Size: 5 * gib, LastUsed: ago(10 * time.Hour), Pulled: ago(time.Minute)},   // too young
		{ID: "f", Size: 1 * gib, LastUsed: ago(2 * time.Hour), Pulled: ago(24 * time.Hour)}, // ties with d: by ID
	}
	usage := func(usedPct int64) DiskUsage { return DiskUsage{Capacity: 100 * gib, Available: (100 - usedPct) * gib} }
	for _, tc := range []struct {
		name   string
		usage  DiskUsage
		policy GCPolicy
		want   []string
	}{
		{"below the high threshold", usage(84), GCPolicy{}, nil},
		{"at the high threshold: down to 80%", usage(85), GCPolicy{}, []string{"b", "d", "f", "a"}},
		{"just over: one image is enough", usage(86), GCPolicy{LowThresholdPercent: 85}, []string{"b"}},
		{"needs more than there is: all eligible", usage(99), GCPolicy{}, []string{"b", "d", "f", "a"}},
		{"min age lowered: the young one goes first", usage(86), GCPolicy{MinAge: time.Second}, []string{"e", "b"}},
		{"GC disabled", usage(99), GCPolicy{HighThresholdPercent: 100}, nil},
		{"unknown capacity", DiskUsage{}, GCPolicy{}, nil},
	} {
		t.Run(tc.name, func(t *testing.T) {
			var got []string
			for _, v := range ChooseVictims(imgs, tc.usage, tc.policy, now) {
				got = append(got, v.ID)
			}
			if !slices.Equal(got, tc.want) {
				t.Errorf("victims %v, want %v", got, tc.want)
			}
		})
	}
}

func TestGCPolicyValidate(t *testing.T) {
	for _, p := range []GCPolicy{{HighThresholdPercent: 101}, {LowThresholdPercent: 90}, {HighThresholdPercent: 50, LowThresholdPercent: 60}} {
		if p.Validate() == nil {
			t.Errorf("%+v accepted", p)
		}
	}
	if err := (GCPolicy{}).Validate(); err != nil {
		t.Errorf("defaults: %v", err)
	}
}

func TestGC(t *testing.T) {
	ctx := context.Background()
	host := imagetest.StartRegistry(t)
	bb, other := twoImages(t)
	imagetest.Push(t, host, "tug/busybox:1", bb)
	imagetest.Push(t, host, "tug/other:1", other)
	s := newStore(t)
	a, err := s.Pull(ctx, host+"/tug/busybox:1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	b, err := s.Pull(ctx, host+"/tug/other:1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	// Within the default minimum age nothing goes, however full the disk.
	res, err := s.GC(ctx, nil, GCPolicy{HighThresholdPercent: 1, LowThresholdPercent: 1})
	if err != nil || len(res.Removed) != 0 {
		t.Fatalf("GC of fresh images: %+v, %v", res, err)
	}
	// Thresholds of 1% make any real disk "full": every unused image goes.
	inUse := func(id string) bool { return id == a.Image.ID }
	res, err = s.GC(ctx, inUse, GCPolicy{HighThresholdPercent: 1, LowThresholdPercent: 1, MinAge: time.Nanosecond})
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(res.Removed, []string{b.Image.ID}) {
		t.Errorf("removed %v, want only the unused %s", res.Removed, b.Image.ID)
	}
	if _, err := s.Get(a.Image.ID); err != nil {
		t.Errorf("the image in use is gone: %v", err)
	}
	if _, err := os.Stat(s.lowerPath(b.Image.ID)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("the removed image's lower directory: %v", err)
	}
	if res.Before.Capacity == 0 || res.After.Available < res.Before.Available {
		t.Errorf("usage before %+v after %+v", res.Before, res.After)
	}
}
