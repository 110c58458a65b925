//go:build !cgo || !seccomp

package container

import (
	"context"
	"errors"
	"testing"
)

// Without libseccomp, a container that needs the default profile is refused
// with an error that says how to build.
func TestCreateWithoutSeccompSupport(t *testing.T) {
	r, err := New(Config{StateDir: t.TempDir(), CgroupParent: "tug-test-" + randomSuffix()})
	if err != nil {
		t.Fatal(err)
	}
	c := baseContainer(t, "true")
	if err := r.Create(context.Background(), c); !errors.Is(err, ErrNoSeccomp) {
		t.Fatalf("err = %v, want ErrNoSeccomp", err)
	}
}
