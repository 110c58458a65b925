package nstest

import (
	"bufio"
	"context"
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"io"
	"net"
	"os"
	"path/filepath"
	"strings"
	"testing"
	"time"

	"github.com/tug-sh/tug/dataplane/internal/nsutil"
	"github.com/vishvananda/netlink"
)

// RequireRoot skips the test unless it runs with the privileges needed to
// create network namespaces and links.
func RequireRoot(t testing.TB) {
	t.Helper()
	if os.Geteuid() != 0 {
		t.Skipf("needs CAP_SYS_ADMIN and CAP_NET_ADMIN (run as root) to create network namespaces: euid is %d", os.Geteuid())
	}
}

// UniqueSuffix returns 8 random hex characters, for names that must not
// collide between concurrent or repeated test runs.
func UniqueSuffix() string {
	var b [4]byte
	rand.Read(b[:])
	return hex.EncodeToString(b[:])
}

// NewNetns creates a network namespace pinned at dir/name and registers its
// removal. Everything inside it (links, routes, sockets' namespace) dies with
// it once nothing else holds it.
func NewNetns(t testing.TB, dir, name string) string {
	t.Helper()
	path := filepath.Join(dir, name)
	if err := nsutil.CreateAt(path); err != nil {
		t.Fatalf("create network namespace %s: %v", path, err)
	}
	t.Cleanup(func() {
		if err := nsutil.RemovePin(path); err != nil {
			t.Errorf("cleanup: %v", err)
		}
	})
	return path
}

// Handle opens a netlink handle inside the namespace pinned at path, closed
// at cleanup.
func Handle(t testing.TB, path string) *netlink.Handle {
	t.Helper()
	var h *netlink.Handle
	err := nsutil.DoPath(path, func() error {
		var err error
		h, err = netlink.NewHandle()
		return err
	})
	if err != nil {
		t.Fatalf("netlink handle in %s: %v", path, err)
	}
	t.Cleanup(h.Close)
	return h
}

// Serve starts a TCP echo server listening on addr inside the namespace at
// nsPath. Each connection gets back "<name>: <line>" for the line it sends.
func Serve(t testing.TB, nsPath, addr, name string) {
	t.Helper()
	var ln net.Listener
	err := nsutil.DoPath(nsPath, func() error {
		var err error
		ln, err = net.Listen("tcp4", addr)
		return err
	})
	if err != nil {
		t.Fatalf("listen on %s in %s: %v", addr, nsPath, err)
	}
	t.Cleanup(func() { ln.Close() })
	go func() {
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			go func() {
				defer c.Close()
				c.SetDeadline(time.Now().Add(30 * time.Second))
				line, err := bufio.NewReader(c).ReadString('\n')
				if err != nil {
					return
				}
				fmt.Fprintf(c, "%s: %s", name, line)
			}()
		}
	}()
}

// Exchange dials addr over TCP from inside the namespace at nsPath, sends msg
// and returns the echo server's reply line (without the newline).
func Exchange(ctx context.Context, nsPath, addr, msg string) (string, error) {
	var conn net.Conn
	err := nsutil.DoPath(nsPath, func() error {
		var d net.Dialer
		var err error
		conn, err = d.DialContext(ctx, "tcp4", addr)
		return err
	})
	if err != nil {
		return "", fmt.Errorf("dial %s from %s: %w", addr, nsPath, err)
	}
	defer conn.Close()
	if dl, ok := ctx.Deadline(); ok {
		conn.SetDeadline(dl)
	}
	if _, err := io.WriteString(conn, msg+"\n"); err != nil {
		return "", fmt.Errorf("write to %s: %w", addr, err)
	}
	line, err := bufio.NewReader(conn).ReadString('\n')
	if err != nil && !errors.Is(err, io.EOF) {
		return "", fmt.Errorf("read from %s: %w", addr, err)
	}
	return strings.TrimSuffix(line, "\n"), nil
}

// MountsUnder counts the mounts whose mount point is dir or below it, from
// /proc/self/mountinfo. Counting under a test's own directory keeps the
// count independent of whatever else runs on the machine.
func MountsUnder(t testing.TB, dir string) int {
	t.Helper()
	data, err := os.ReadFile("/proc/self/mountinfo")
	if err != nil {
		t.Fatalf("read mountinfo: %v", err)
	}
	dir = filepath.Clean(dir)
	n := 0
	for _, line := range strings.Split(string(data), "\n") {
		f := strings.Fields(line)
		if len(f) < 5 {
			continue
		}
		mp := f[4]
		if mp == dir || strings.HasPrefix(mp, dir+"/") {
			n++
		}
	}
	return n
}

// UnmountAllUnder lazily unmounts every mount below dir (deepest first). Tests
// register it as a last-resort cleanup so a failed test never leaves mounts
// behind that would also make t.TempDir's removal fail.
func UnmountAllUnder(t testing.TB, dir string) {
	t.Helper()
	t.Cleanup(func() {
		for range 64 {
			data, err := os.ReadFile("/proc/self/mountinfo")
			if err != nil {
				t.Errorf("read mountinfo: %v", err)
				return
			}
			var deepest string
			for _, line := range strings.Split(string(data), "\n") {
				f := strings.Fields(line)
				if len(f) < 5 {
					continue
				}
				mp := f[4]
				if (mp == dir || strings.HasPrefix(mp, dir+"/")) && len(mp) >= len(deepest) {
					deepest = mp
				}
			}
			if deepest == "" {
				return
			}
			if err := nsutil.Unmount(deepest); err != nil {
				t.Errorf("cleanup: %v", err)
				return
			}
		}
	})
}
