package image

import (
	"context"
	"errors"
	"testing"

	"github.com/tug-sh/tug/runtime/image/imagetest"
)

func TestEnsurePolicies(t *testing.T) {
	ctx := context.Background()
	var reqs imagetest.RequestLog
	host := imagetest.StartRegistry(t, imagetest.Wrap(reqs.Wrap))
	imagetest.Push(t, host, "tug/busybox:1", busyboxImage(t))
	ref := host + "/tug/busybox:1"
	s := newStore(t)

	// Never, absent: the typed error, and no registry traffic.
	reqs.Reset()
	_, err := s.Ensure(ctx, ref, PullNever, PullOptions{})
	if !errors.Is(err, ErrNeverPull) || !errors.Is(err, ErrNotPresent) {
		t.Fatalf("Never on a missing image: %v, want ErrNeverPull", err)
	}
	if n := reqs.Count("", "/v2/"); n != 0 {
		t.Errorf("Never contacted the registry %d times", n)
	}

	// IfNotPresent, absent: pulls.
	res, err := s.Ensure(ctx, ref, PullIfNotPresent, PullOptions{})
	if err != nil || !res.Pulled || res.Downloaded == 0 {
		t.Fatalf("IfNotPresent on a missing image: %+v, %v", res, err)
	}

	// IfNotPresent and Never, present: no registry traffic at all.
	for _, p := range []PullPolicy{PullIfNotPresent, PullNever} {
		reqs.Reset()
		res, err := s.Ensure(ctx, ref, p, PullOptions{})
		if err != nil || res.Pulled || res.Image.ID == "" {
			t.Errorf("%s on a present image: %+v, %v", p, res, err)
		}
		if n := reqs.Count("", "/v2/"); n != 0 {
			t.Errorf("%s on a present image made %d registry requests", p, n)
		}
	}

	// Always, present: asks for the manifest, fetches no blob.
	reqs.Reset()
	res, err = s.Ensure(ctx, ref, PullAlways, PullOptions{})
	if err != nil || !res.Pulled || res.Downloaded != 0 {
		t.Fatalf("Always on a present image: %+v, %v", res, err)
	}
	if reqs.Count("", "/manifests/") == 0 || reqs.Count("GET", "/blobs/") != 0 {
		t.Errorf("Always on a present image: %d manifest and %d blob requests, want >0 and 0",
			reqs.Count("", "/manifests/"), reqs.Count("GET", "/blobs/"))
	}

	// Always picks up a moved tag.
	other, err := imagetest.BusyboxImage(busyboxOptions("moved"))
	if err != nil {
		t.Fatal(err)
	}
	imagetest.Push(t, host, "tug/busybox:1", other)
	res2, err := s.Ensure(ctx, ref, PullAlways, PullOptions{})
	if err != nil || res2.Image.ID == res.Image.ID {
		t.Fatalf("Always after the tag moved: %+v, %v", res2, err)
	}
	old, err := s.Get(res.Image.ID)
	if err != nil || len(old.RepoTags) != 0 {
		t.Errorf("the old image keeps tags %v (%v); a tag names one image", old.RepoTags, err)
	}

	if _, err := s.Ensure(ctx, ref, "Sometimes", PullOptions{}); err == nil {
		t.Error("an unknown policy was accepted")
	}
}

func TestDefaultPullPolicy(t *testing.T) {
	for ref, want := range map[string]PullPolicy{
		"nginx":                      PullAlways,
		"nginx:latest":               PullAlways,
		"nginx:1.27":                 PullIfNotPresent,
		"nginx@sha256:" + hex64('a'): PullIfNotPresent,
	} {
		r, err := ParseReference(ref)
		if err != nil {
			t.Fatal(err)
		}
		if got := DefaultPullPolicy(r); got != want {
			t.Errorf("DefaultPullPolicy(%s) = %s, want %s", ref, got, want)
		}
	}
}
