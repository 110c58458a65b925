package ipam

import (
	"bufio"
	"bytes"
	"context"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"strings"
	"testing"
)

// helperDirEnv makes the test binary act as a second allocator process.
const helperDirEnv = "TUG_IPAM_TEST_HELPER_DIR"

const processAllocations = 40

// TestMain turns the test binary into the second allocator process of
// TestTwoProcesses when the helper environment variable is set.
func TestMain(m *testing.M) {
	if dir := os.Getenv(helperDirEnv); dir != "" {
		if err := helperAllocate(dir); err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		os.Exit(0)
	}
	os.Exit(m.Run())
}

// helperAllocate allocates addresses in dir and prints "key ip" lines.
func helperAllocate(dir string) error {
	ctx := context.Background()
	a, err := New(ctx, Config{Dir: dir, CIDR: netip.MustParsePrefix("10.244.3.0/24")})
	if err != nil {
		return err
	}
	defer a.Close()
	for i := range processAllocations {
		key := fmt.Sprintf("child/pod-%d/uid", i)
		p, err := a.Allocate(ctx, key)
		if err != nil {
			return err
		}
		fmt.Printf("%s %s\n", key, p.Addr())
	}
	return nil
}

// TestTwoProcesses allocates from this process and a child process on the
// same directory at the same time: the file lock must keep them apart.
func TestTwoProcesses(t *testing.T) {
	ctx := context.Background()
	dir := t.TempDir()
	a := newAllocator(t, dir, "10.244.3.0/24")

	cmd := exec.CommandContext(ctx, os.Args[0])
	cmd.Env = append(os.Environ(), helperDirEnv+"="+dir)
	var out, errOut bytes.Buffer
	cmd.Stdout, cmd.Stderr = &out, &errOut
	if err := cmd.Start(); err != nil {
		t.Fatal(err)
	}
	owner := map[string]string{}
	for i := range processAllocations {
		key := fmt.Sprintf("parent/pod-%d/uid", i)
		p, err := a.Allocate(ctx, key)
		if err != nil {
			t.Fatal(err)
		}
		owner[p.Addr().String()] = key
	}
	if err := cmd.Wait(); err != nil {
		t.Fatalf("helper process: %v\n%s\n%s", err, out.String(), errOut.String())
	}
	n := 0
	sc := bufio.NewScanner(&out)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) != 2 || !strings.HasPrefix(f[0], "child/") {
			continue
		}
		n++
		if prev, dup := owner[f[1]]; dup {
			t.Errorf("%s handed to both %s and %s", f[1], prev, f[0])
		}
		owner[f[1]] = f[0]
	}
	if n != processAllocations {
		t.Fatalf("child reported %d allocations, want %d:\n%s", n, processAllocations, out.String())
	}
	list, err := a.List(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(list) != 2*processAllocations {
		t.Fatalf("state holds %d allocations, want %d", len(list), 2*processAllocations)
	}
}
