package image

import (
	"crypto/tls"
	"log/slog"
	"net"
	"net/http"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"sync"
	"testing"

	v1 "github.com/google/go-containerregistry/pkg/v1"

	"github.com/tug-sh/tug/runtime/image/imagebuild"
	"github.com/tug-sh/tug/runtime/image/imagetest"
)

var busybox = sync.OnceValues(func() (v1.Image, error) {
	return imagetest.BusyboxImage(imagebuild.BusyboxOptions{ExposedPorts: []string{"80/tcp"}})
})

func busyboxImage(t testing.TB) v1.Image {
	t.Helper()
	img, err := busybox()
	if err != nil {
		t.Fatalf("build the busybox image: %v", err)
	}
	return img
}

type testWriter struct{ t testing.TB }

func (w testWriter) Write(p []byte) (int, error) {
	w.t.Log(strings.TrimRight(string(p), "\n"))
	return len(p), nil
}

func testLogger(t testing.TB) *slog.Logger {
	return slog.New(slog.NewTextHandler(testWriter{t}, &slog.HandlerOptions{Level: slog.LevelDebug}))
}

// newStore opens a store in a fresh directory, closed when the test ends.
func newStore(t testing.TB, mod ...func(*Config)) *Store {
	t.Helper()
	cfg := Config{Root: filepath.Join(t.TempDir(), "images"), Logger: testLogger(t)}
	for _, m := range mod {
		m(&cfg)
	}
	s, err := Open(cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { s.Close() })
	return s
}

func readFile(t testing.TB, p string) string {
	t.Helper()
	b, err := os.ReadFile(p)
	if err != nil {
		t.Fatal(err)
	}
	return string(b)
}

// closedPort is a loopback host:port where nothing listens.
func closedPort(t testing.TB) string {
	t.Helper()
	l, err := net.Listen("tcp", "127.0.0.1:0")
	if err != nil {
		t.Fatal(err)
	}
	addr := l.Addr().String()
	l.Close()
	return addr
}

func hex64(c byte) string { return strings.Repeat(string(c), 64) }

// busyboxOptions makes a busybox image that differs from the default by
// its index page.
func busyboxOptions(page string) imagebuild.BusyboxOptions {
	return imagebuild.BusyboxOptions{IndexHTML: page}
}

func insecureTransportForTest() http.RoundTripper {
	tr := http.DefaultTransport.(*http.Transport).Clone()
	tr.TLSClientConfig = &tls.Config{InsecureSkipVerify: true}
	return tr
}

func testPlatformArch() string { return runtime.GOARCH }
