package image

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"slices"
	"sync"
	"testing"

	"github.com/tug-sh/tug/runtime/image/imagetest"
)

func TestPullByTagAndDigest(t *testing.T) {
	ctx := context.Background()
	var reqs imagetest.RequestLog
	host := imagetest.StartRegistry(t, imagetest.Wrap(reqs.Wrap))
	img := busyboxImage(t)
	imagetest.Push(t, host, "tug/busybox:1", img)
	digest, _ := img.Digest()
	cfgName, _ := img.ConfigName()
	s := newStore(t)

	var progress []Progress
	var mu sync.Mutex
	res, err := s.Pull(ctx, host+"/tug/busybox:1", PullOptions{Progress: func(p Progress) {
		mu.Lock()
		progress = append(progress, p)
		mu.Unlock()
	}})
	if err != nil {
		t.Fatal(err)
	}
	if res.Image.ID != cfgName.String() {
		t.Errorf("ID = %s, want config digest %s", res.Image.ID, cfgName)
	}
	if want := []string{host + "/tug/busybox:1"}; !slices.Equal(res.Image.RepoTags, want) {
		t.Errorf("RepoTags = %v, want %v", res.Image.RepoTags, want)
	}
	if want := []string{host + "/tug/busybox@" + digest.String()}; !slices.Equal(res.Image.RepoDigests, want) {
		t.Errorf("RepoDigests = %v, want %v", res.Image.RepoDigests, want)
	}
	if !res.Pulled || res.Downloaded == 0 || res.Image.Size <= res.Downloaded || res.Source != host {
		t.Errorf("result = %+v", res)
	}
	mu.Lock()
	last := progress[len(progress)-1]
	mu.Unlock()
	if !last.Done || last.Downloaded != last.Total || last.Total != res.Downloaded || len(last.Layers) != 1 {
		t.Errorf("last progress = %+v, want done with %d bytes", last, res.Downloaded)
	}

	lower, err := s.Lower(ctx, host+"/tug/busybox:1")
	if err != nil {
		t.Fatal(err)
	}
	if got := readFile(t, filepath.Join(lower, "www/index.html")); got == "" {
		t.Error("www/index.html is empty")
	}
	if target, err := os.Readlink(filepath.Join(lower, "bin/sh")); err != nil || target != "/bin/busybox" {
		t.Errorf("bin/sh -> %q, %v", target, err)
	}
	cfg, err := s.Config(host + "/tug/busybox:1")
	if err != nil {
		t.Fatal(err)
	}
	if !slices.Equal(cfg.Cmd, []string{"sh"}) || !slices.Equal(cfg.ExposedPorts, []string{"80/tcp"}) || len(cfg.Env) == 0 {
		t.Errorf("config = %+v", cfg)
	}

	// The same image by digest: nothing is downloaded again.
	reqs.Reset()
	byDigest := host + "/tug/busybox@" + digest.String()
	res2, err := s.Pull(ctx, byDigest, PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	if res2.Image.ID != res.Image.ID || res2.Downloaded != 0 {
		t.Errorf("pull by digest: %+v", res2)
	}
	if n := reqs.Count("GET", "/blobs/"); n != 0 {
		t.Errorf("pull by digest of a stored image fetched %d blobs", n)
	}
	if id, err := s.ImageID(byDigest); err != nil || id != res.Image.ID {
		t.Errorf("ImageID(by digest) = %s, %v", id, err)
	}
	if rd, err := s.RepoDigest(host + "/tug/busybox:1"); err != nil || rd != byDigest {
		t.Errorf("RepoDigest = %s, %v; want %s", rd, err, byDigest)
	}

	// Pull by tag again: only the manifest is asked for.
	reqs.Reset()
	if _, err := s.Pull(ctx, host+"/tug/busybox:1", PullOptions{}); err != nil {
		t.Fatal(err)
	}
	if n := reqs.Count("GET", "/blobs/"); n != 0 {
		t.Errorf("second pull fetched %d blobs", n)
	}
	if n := reqs.Count("", "/manifests/"); n == 0 {
		t.Error("second pull did not ask the registry for the manifest")
	}
	list, err := s.List()
	if err != nil || len(list) != 1 {
		t.Fatalf("List = %v, %v; want one image", list, err)
	}
}

func TestPullNotFoundCarriesRegistryMessage(t *testing.T) {
	host := imagetest.StartRegistry(t)
	imagetest.Push(t, host, "tug/busybox:1", busyboxImage(t))
	s := newStore(t)
	for _, ref := range []string{host + "/tug/busybox:nope", host + "/tug/missing:1"} {
		_, err := s.Pull(context.Background(), ref, PullOptions{})
		var perr *PullError
		if !errors.As(err, &perr) || !errors.Is(err, ErrNotFound) {
			t.Fatalf("pull %s: %v, want a PullError wrapping ErrNotFound", ref, err)
		}
		// pkg/registry answers "MANIFEST_UNKNOWN: Unknown manifest" / "NAME_UNKNOWN: Unknown name".
		if perr.Message == "" || perr.Registry != host {
			t.Errorf("pull %s: message %q, registry %q", ref, perr.Message, perr.Registry)
		}
		t.Logf("%s: %v", ref, err)
	}
	if _, err := s.Get(host + "/tug/busybox:nope"); !errors.Is(err, ErrNotPresent) {
		t.Errorf("Get after failed pull: %v", err)
	}
}

func TestPullUnreachable(t *testing.T) {
	s := newStore(t)
	dead := closedPort(t)
	_, err := s.Pull(context.Background(), dead+"/x:1", PullOptions{})
	var perr *PullError
	if !errors.As(err, &perr) || !errors.Is(err, ErrUnreachable) || perr.Registry != dead {
		t.Fatalf("pull from %s: %v, want a PullError wrapping ErrUnreachable", dead, err)
	}
	t.Log(err)
}

func TestPullInvalidReference(t *testing.T) {
	s := newStore(t)
	for _, ref := range []string{"", "UPPER/case", "x:tag:tag", "a b"} {
		if _, err := s.Pull(context.Background(), ref, PullOptions{}); !errors.Is(err, ErrInvalidReference) {
			t.Errorf("Pull(%q) = %v, want ErrInvalidReference", ref, err)
		}
	}
}
