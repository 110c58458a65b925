package image

import (
	"errors"
	"testing"
)

func TestParseReference(t *testing.T) {
	d := "sha256:" + hex64('b')
	for _, tc := range []struct {
		in, canonical, registry, path, tag, digest string
	}{
		{"nginx", "docker.io/library/nginx:latest", "docker.io", "library/nginx", "latest", ""},
		{"ruo91/nginx:latest", "docker.io/ruo91/nginx:latest", "docker.io", "ruo91/nginx", "latest", ""},
		{"docker.io/library/nginx:1.27", "docker.io/library/nginx:1.27", "docker.io", "library/nginx", "1.27", ""},
		{"index.docker.io/nginx", "docker.io/library/nginx:latest", "docker.io", "library/nginx", "latest", ""},
		{"gcr.io/google_containers/kube-ui:v3", "gcr.io/google_containers/kube-ui:v3", "gcr.io", "google_containers/kube-ui", "v3", ""},
		{"host:5000/x@" + d, "host:5000/x@" + d, "host:5000", "x", "", d},
		{"host:5000/x:1@" + d, "host:5000/x@" + d, "host:5000", "x", "", d},
		{"127.0.0.1:5000/x:tag", "127.0.0.1:5000/x:tag", "127.0.0.1:5000", "x", "tag", ""},
		{"localhost/a/b/c", "localhost/a/b/c:latest", "localhost", "a/b/c", "latest", ""},
	} {
		r, err := ParseReference(tc.in)
		if err != nil {
			t.Errorf("ParseReference(%q): %v", tc.in, err)
			continue
		}
		if r.String() != tc.canonical || r.Registry() != tc.registry || r.Path() != tc.path || r.Tag() != tc.tag || r.Digest() != tc.digest {
			t.Errorf("ParseReference(%q) = %s (registry %s, path %s, tag %q, digest %q), want %s",
				tc.in, r, r.Registry(), r.Path(), r.Tag(), r.Digest(), tc.canonical)
		}
		if r.Repository() != tc.registry+"/"+tc.path {
			t.Errorf("%q: Repository() = %s", tc.in, r.Repository())
		}
	}
	for _, in := range []string{"", " nginx", "Nginx", "nginx:", "nginx@sha256:short", "a//b", "host:port:x/y", "nginx:tag with space"} {
		if _, err := ParseReference(in); !errors.Is(err, ErrInvalidReference) {
			t.Errorf("ParseReference(%q) = %v, want ErrInvalidReference", in, err)
		}
	}
}

func TestParseOverlayLowers(t *testing.T) {
	line := `1309 29 0:80 / /run/x/rootfs rw,relatime - overlay tug-rootfs rw,lowerdir=/var/lib/tug/agent/images/lowers/ab\072c:/l2,upperdir=/u,workdir=/w,xino=off`
	got := parseOverlayLowers(line)
	if len(got) != 2 || got[0] != "/var/lib/tug/agent/images/lowers/ab:c" || got[1] != "/l2" {
		t.Errorf("parseOverlayLowers = %q", got)
	}
	if got := parseOverlayLowers(`22 1 8:1 / / rw - ext4 /dev/vda rw`); got != nil {
		t.Errorf("ext4 line: %q", got)
	}
}
