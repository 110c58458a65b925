package main

import (
	"context"
	"fmt"
	"runtime"
)

// version is set at build time with -ldflags "-X main.version=...".
var version = "v0.1.0-dev"

func runVersion(ctx context.Context, args []string, io stdio) error {
	fmt.Fprintf(io.out, "tug %s (%s, %s/%s)\n", version, runtime.Version(), runtime.GOOS, runtime.GOARCH)
	return nil
}
