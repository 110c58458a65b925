package image

import (
	"context"
	"errors"
	"slices"
	"testing"

	"github.com/google/go-containerregistry/pkg/name"
	v1 "github.com/google/go-containerregistry/pkg/v1"
	"github.com/google/go-containerregistry/pkg/v1/empty"
	"github.com/google/go-containerregistry/pkg/v1/mutate"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tug-sh/tug/runtime/image/imagebuild"
	"github.com/tug-sh/tug/runtime/image/imagetest"
)

func pushIndex(t *testing.T, ref string, imgs map[string]v1.Image) v1.Hash {
	t.Helper()
	var idx v1.ImageIndex = empty.Index
	for arch, img := range imgs {
		idx = mutate.AppendManifests(idx, mutate.IndexAddendum{
			Add:        img,
			Descriptor: v1.Descriptor{Platform: &v1.Platform{OS: "linux", Architecture: arch}},
		})
	}
	r, err := name.ParseReference(ref)
	if err != nil {
		t.Fatal(err)
	}
	if err := remote.WriteIndex(r, idx); err != nil {
		t.Fatal(err)
	}
	d, _ := idx.Digest()
	return d
}

func TestPullSelectsPlatformFromIndex(t *testing.T) {
	ctx := context.Background()
	host := imagetest.StartRegistry(t)
	native := busyboxImage(t)
	other := "riscv64"
	if testPlatformArch() == other {
		other = "s390x"
	}
	foreign, err := imagetest.BusyboxImage(imagebuild.BusyboxOptions{Architecture: other})
	if err != nil {
		t.Fatal(err)
	}
	archs := map[string]v1.Image{testPlatformArch(): native, other: foreign}
	idxDigest := pushIndex(t, host+"/tug/multi:1", archs)
	s := newStore(t)
	res, err := s.Pull(ctx, host+"/tug/multi:1", PullOptions{})
	if err != nil {
		t.Fatal(err)
	}
	want, _ := native.ConfigName()
	if res.Image.ID != want.String() {
		t.Errorf("pulled %s, want this platform's image %s", res.Image.ID, want)
	}
	if rd := []string{host + "/tug/multi@" + idxDigest.String()}; !slices.Equal(res.Image.RepoDigests, rd) {
		t.Errorf("RepoDigests %v, want the index digest %v", res.Image.RepoDigests, rd)
	}
	md, _ := native.Digest()
	if res.Image.ManifestDigest != md.String() {
		t.Errorf("ManifestDigest %s, want %s", res.Image.ManifestDigest, md)
	}

	pushIndex(t, host+"/tug/foreign:1", map[string]v1.Image{other: foreign})
	if _, err := s.Pull(ctx, host+"/tug/foreign:1", PullOptions{}); !errors.Is(err, ErrNoMatchingPlatform) {
		t.Errorf("pull of an index without this platform: %v, want ErrNoMatchingPlatform", err)
	}
}
