package image

import (
	"context"
	"encoding/base64"
	"errors"
	"fmt"
	"testing"

	"github.com/google/go-containerregistry/pkg/authn"
	"github.com/google/go-containerregistry/pkg/v1/remote"

	"github.com/tug-sh/tug/runtime/image/imagetest"
)

func TestPullWithCredentials(t *testing.T) {
	ctx := context.Background()
	host := imagetest.StartRegistry(t, imagetest.BasicAuth("tug", "s3cret"))
	imagetest.Push(t, host, "private/busybox:1", busyboxImage(t),
		remote.WithAuth(&authn.Basic{Username: "tug", Password: "s3cret"}))
	ref := host + "/private/busybox:1"

	t.Run("no credentials", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", t.TempDir()) // no config.json there
		t.Setenv("HOME", t.TempDir())
		_, err := newStore(t).Pull(ctx, ref, PullOptions{})
		var perr *PullError
		if !errors.As(err, &perr) || !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("pull without credentials: %v, want ErrUnauthorized", err)
		}
		if want := "UNAUTHORIZED: authentication required for tug-test-registry"; perr.Message != want {
			t.Errorf("message %q, want the registry's %q", perr.Message, want)
		}
	})
	t.Run("wrong password in configured config.json", func(t *testing.T) {
		dir := imagetest.WriteDockerConfig(t, t.TempDir(), host, "tug", "wrong")
		_, err := newStore(t, func(c *Config) { c.DockerConfig = dir }).Pull(ctx, ref, PullOptions{})
		if !errors.Is(err, ErrUnauthorized) {
			t.Fatalf("pull with a wrong password: %v, want ErrUnauthorized", err)
		}
	})
	t.Run("DOCKER_CONFIG", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", imagetest.WriteDockerConfig(t, t.TempDir(), host, "tug", "s3cret"))
		t.Setenv("HOME", t.TempDir())
		if _, err := newStore(t).Pull(ctx, ref, PullOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("configured file", func(t *testing.T) {
		dir := imagetest.WriteDockerConfig(t, t.TempDir(), host, "tug", "s3cret")
		s := newStore(t, func(c *Config) { c.DockerConfig = dir + "/config.json" })
		if _, err := s.Pull(ctx, ref, PullOptions{}); err != nil {
			t.Fatal(err)
		}
	})
	t.Run("pull secret", func(t *testing.T) {
		t.Setenv("DOCKER_CONFIG", t.TempDir())
		t.Setenv("HOME", t.TempDir())
		auth := base64.StdEncoding.EncodeToString([]byte("tug:s3cret"))
		secret := fmt.Appendf(nil, `{"auths":{"http://%s/v2/":{"auth":%q}}}`, host, auth)
		if _, err := newStore(t).Pull(ctx, ref, PullOptions{PullSecret: secret}); err != nil {
			t.Fatal(err)
		}
	})
}

func TestDockerConfigKeys(t *testing.T) {
	for key, want := range map[string]string{
		"https://index.docker.io/v1/": "docker.io",
		"docker.io":                   "docker.io",
		"registry-1.docker.io":        "docker.io",
		"http://127.0.0.1:5000/v2/":   "127.0.0.1:5000",
		"gcr.io":                      "gcr.io",
	} {
		if got := authKey(key); got != want {
			t.Errorf("authKey(%q) = %q, want %q", key, got, want)
		}
	}
	kc, err := parseDockerConfig([]byte(`{"quay.io":{"username":"u","password":"p"}}`))
	if err != nil || kc["quay.io"].Username != "u" {
		t.Errorf("legacy .dockercfg: %v, %v", kc, err)
	}
	if _, err := parseDockerConfig([]byte(`{`)); err == nil {
		t.Error("invalid JSON accepted")
	}
}

func TestInsecureRegistryTLS(t *testing.T) {
	ctx := context.Background()
	host := imagetest.StartRegistry(t, imagetest.TLS())
	imagetest.Push(t, host, "tug/busybox:1", busyboxImage(t), remote.WithTransport(insecureTransportForTest()))
	ref := host + "/tug/busybox:1"

	// Its certificate is self-signed: refused unless the registry is
	// declared insecure.
	_, err := newStore(t).Pull(ctx, ref, PullOptions{})
	if !errors.Is(err, ErrUnreachable) {
		t.Fatalf("pull from a self-signed registry: %v, want ErrUnreachable (certificate)", err)
	}
	t.Log(err)
	s := newStore(t, func(c *Config) { c.InsecureRegistries = []string{host} })
	if _, err := s.Pull(ctx, ref, PullOptions{}); err != nil {
		t.Fatalf("pull with --insecure-registry %s: %v", host, err)
	}
}
