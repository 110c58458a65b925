package reexec_test

import (
	"bytes"
	"errors"
	"os"
	"os/exec"
	"strings"
	"testing"

	_ "github.com/tug-sh/tug/runtime/container/reexec"
	// A heavy package of the kind the roles never use (in tug it is linked
	// for the agent's and the CLI's API clients): the tests check that a
	// process started in a role never initialises it.
	_ "k8s.io/client-go/kubernetes/scheme"
)

// childEnv marks a start of this test binary by the tests below: one that
// reaches TestMain was not run as a role.
const childEnv = "TUG_REEXEC_TEST_CHILD"

const notARole = 3

func TestMain(m *testing.M) {
	if os.Getenv(childEnv) != "" {
		os.Exit(notARole)
	}
	os.Exit(m.Run())
}

// start runs this test binary with args and the Go runtime's
// initialisation trace, and returns its exit code and the packages it
// initialised.
func start(t *testing.T, args ...string) (int, map[string]bool) {
	t.Helper()
	cmd := exec.Command(os.Args[0], args...)
	cmd.Env = append(os.Environ(), childEnv+"=1", "GODEBUG=inittrace=1")
	var stderr bytes.Buffer
	cmd.Stderr = &stderr
	err := cmd.Run()
	code := 0
	var exitErr *exec.ExitError
	if errors.As(err, &exitErr) {
		code = exitErr.ExitCode()
	} else if err != nil {
		t.Fatal(err)
	}
	inited := map[string]bool{}
	for _, line := range strings.Split(stderr.String(), "\n") {
		// "init PACKAGE @0.5 ms, 0.01 ms clock, ..."
		if f := strings.Fields(line); len(f) > 2 && f[0] == "init" && strings.HasPrefix(f[2], "@") {
			inited[f[1]] = true
		}
	}
	return code, inited
}

func TestRoleRunsBeforeUnusedPackagesInitialise(t *testing.T) {
	const heavy = "k8s.io/client-go/kubernetes/scheme"
	// The monitor role without its state directory argument: it prints its
	// usage and exits 2 without touching anything.
	code, inited := start(t, "__tug-container-monitor")
	if code == notARole {
		t.Fatal("the process started as a container monitor was not run as one (did the monitor's argument change?)")
	}
	if code != 2 {
		t.Errorf("the monitor without arguments exited %d, want its usage error 2", code)
	}
	if !inited["github.com/opencontainers/runc/libcontainer"] {
		t.Errorf("the monitor ran without libcontainer initialised (packages initialised: %d)", len(inited))
	}
	if inited[heavy] {
		t.Errorf("the monitor initialised %s, which it does not use: the role ran too late", heavy)
	}

	// Any other start initialises everything, the heavy package included:
	// the check above means something.
	code, inited = start(t, "-test.run=^$")
	if code != notARole {
		t.Errorf("a plain start exited %d, want %d from TestMain", code, notARole)
	}
	if !inited[heavy] {
		t.Errorf("a plain start did not initialise %s", heavy)
	}
}
