package image

import (
	"context"
	"testing"

	"github.com/tug-sh/tug/runtime/image/imagetest"
)

func TestMirrors(t *testing.T) {
	ctx := context.Background()
	var originLog, mirrorLog imagetest.RequestLog
	origin := imagetest.StartRegistry(t, imagetest.Wrap(originLog.Wrap))
	mirror := imagetest.StartRegistry(t, imagetest.Wrap(mirrorLog.Wrap))
	dead := closedPort(t)
	img := busyboxImage(t)
	imagetest.Push(t, origin, "tug/busybox:1", img)
	imagetest.Push(t, mirror, "tug/busybox:1", img)
	imagetest.Push(t, origin, "tug/only-origin:1", img)
	imagetest.Push(t, mirror, "library/busybox:1", img) // Docker Hub's name

	cases := []struct {
		name       string
		ref        string
		mirrors    map[string][]string
		hubMirrors []string
		wantSource string
		wantTag    string
	}{
		{"dead mirror then live mirror", origin + "/tug/busybox:1",
			map[string][]string{origin: {dead, "http://" + mirror}}, nil, mirror, origin + "/tug/busybox:1"},
		{"only a dead mirror: the origin", origin + "/tug/busybox:1",
			map[string][]string{origin: {"http://" + dead}}, nil, origin, origin + "/tug/busybox:1"},
		{"mirror lacks the image: the origin", origin + "/tug/only-origin:1",
			map[string][]string{origin: {mirror}}, nil, origin, origin + "/tug/only-origin:1"},
		{"Docker Hub mirror", "busybox:1", nil, []string{"http://" + mirror}, mirror, "docker.io/library/busybox:1"},
	}
	for _, tc := range cases {
		t.Run(tc.name, func(t *testing.T) {
			originLog.Reset()
			mirrorLog.Reset()
			s := newStore(t, func(c *Config) { c.Mirrors, c.RegistryMirrors = tc.mirrors, tc.hubMirrors })
			res, err := s.Pull(ctx, tc.ref, PullOptions{})
			if err != nil {
				t.Fatal(err)
			}
			if res.Source != tc.wantSource {
				t.Errorf("source = %s, want %s", res.Source, tc.wantSource)
			}
			if len(res.Image.RepoTags) != 1 || res.Image.RepoTags[0] != tc.wantTag {
				t.Errorf("tags = %v, want [%s] (the name asked for, not the mirror's)", res.Image.RepoTags, tc.wantTag)
			}
			other := &originLog
			if tc.wantSource == origin {
				other = &mirrorLog
			}
			if n := other.Count("GET", "/blobs/"); n != 0 {
				t.Errorf("%d blobs fetched from the source not chosen", n)
			}
		})
	}
}

func TestMirrorConfigErrors(t *testing.T) {
	for _, m := range []string{"ftp://x", "https://mirror.example/prefix", "://"} {
		if _, err := Open(Config{Root: t.TempDir(), RegistryMirrors: []string{m}}); err == nil {
			t.Errorf("mirror %q accepted", m)
		}
	}
}
