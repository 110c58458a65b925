package image

import (
	"context"
	"path/filepath"
	"testing"
	"time"

	"github.com/tug-sh/tug/runtime/image/imagetest"
)

// BenchmarkPullBusybox is a cold pull of the busybox image (about 1 MB
// compressed, 2 MB unpacked, ~400 entries) from a loopback registry into an
// empty store: manifest, download, verify, unpack, sync, record.
func BenchmarkPullBusybox(b *testing.B) {
	host := imagetest.StartRegistry(b)
	imagetest.Push(b, host, "tug/busybox:1", busyboxImage(b))
	ctx := context.Background()
	var total time.Duration
	for b.Loop() {
		b.StopTimer()
		s, err := Open(Config{Root: filepath.Join(b.TempDir(), "images")})
		if err != nil {
			b.Fatal(err)
		}
		b.StartTimer()
		start := time.Now()
		if _, err := s.Pull(ctx, host+"/tug/busybox:1", PullOptions{}); err != nil {
			b.Fatal(err)
		}
		total += time.Since(start)
		b.StopTimer()
		s.Close()
		b.StartTimer()
	}
	b.ReportMetric(float64(total.Microseconds())/1000/float64(b.N), "ms/op")
}

// BenchmarkPullPresent is a pull of an image the store has: one manifest
// request, no blob.
func BenchmarkPullPresent(b *testing.B) {
	host := imagetest.StartRegistry(b)
	imagetest.Push(b, host, "tug/busybox:1", busyboxImage(b))
	ctx := context.Background()
	s, err := Open(Config{Root: filepath.Join(b.TempDir(), "images")})
	if err != nil {
		b.Fatal(err)
	}
	defer s.Close()
	if _, err := s.Pull(ctx, host+"/tug/busybox:1", PullOptions{}); err != nil {
		b.Fatal(err)
	}
	start := time.Now()
	for b.Loop() {
		if _, err := s.Pull(ctx, host+"/tug/busybox:1", PullOptions{}); err != nil {
			b.Fatal(err)
		}
	}
	b.ReportMetric(float64(time.Since(start).Microseconds())/1000/float64(b.N), "ms/op")
}
