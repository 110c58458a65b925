package container

import (
	"fmt"
	"strings"
	"testing"

	"github.com/moby/sys/capability"
)

// statusFields parses "Key:\tvalue" lines of /proc/self/status output.
func statusFields(log string) map[string]string {
	out := map[string]string{}
	for _, line := range strings.Split(log, "\n") {
		if k, v, ok := strings.Cut(line, ":"); ok {
			out[k] = strings.TrimSpace(v)
		}
	}
	return out
}

// capMask is the /proc/PID/status mask of the named capabilities that the
// running kernel knows.
func capMask(t *testing.T, names []string) string {
	t.Helper()
	supported, err := capability.ListSupported()
	if err != nil {
		t.Fatal(err)
	}
	var mask uint64
	for _, c := range supported {
		for _, n := range names {
			if n == "CAP_"+strings.ToUpper(c.String()) {
				mask |= 1 << uint(c)
			}
		}
	}
	return fmt.Sprintf("%016x", mask)
}

func TestSecurityDefaults(t *testing.T) {
	r := newTestRuntime(t)
	// unshare -U needs no capability, so only the seccomp filter stops it.
	script := `grep -E '^(CapEff|CapBnd|NoNewPrivs|Seccomp):' /proc/self/status
if unshare -U true 2>/dev/null; then echo userns=allowed; else echo userns=denied; fi
if mount -t tmpfs none /mnt 2>/dev/null; then echo mount=allowed; else echo mount=denied; fi`
	all := capMask(t, r.host.allCapabilities)
	tests := []struct {
		name   string
		modify func(*Container)
		want   map[string]string
	}{
		{"defaults", func(*Container) {}, map[string]string{
			"CapEff": capMask(t, defaultCapabilities), "CapBnd": capMask(t, defaultCapabilities),
			"NoNewPrivs": "1", "Seccomp": "2", "userns": "denied", "mount": "denied",
		}},
		{"unconfined seccomp, privilege escalation allowed", func(c *Container) {
			c.Seccomp, c.AllowPrivilegeEscalation = SeccompUnconfined, true
		}, map[string]string{
			"CapEff": capMask(t, defaultCapabilities), "NoNewPrivs": "0", "Seccomp": "0", "userns": "allowed", "mount": "denied",
		}},
		{"drop all, add NET_ADMIN", func(c *Container) {
			c.Capabilities = CapabilityChanges{Drop: []string{"ALL"}, Add: []string{"NET_ADMIN"}}
		}, map[string]string{
			"CapEff": capMask(t, []string{"CAP_NET_ADMIN"}), "Seccomp": "2",
		}},
		{"privileged", func(c *Container) { c.Privileged = true }, map[string]string{
			"CapEff": all, "CapBnd": all, "NoNewPrivs": "0", "Seccomp": "0", "mount": "allowed",
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := baseContainer(t, "sh", "-c", script)
			tt.modify(&c)
			exit, log := run(t, r, c)
			if exit.Code != 0 {
				t.Fatalf("exit = %+v, log %q", exit, log)
			}
			got := statusFields(strings.ReplaceAll(log, "=", ":"))
			for k, v := range tt.want {
				if got[k] != v {
					t.Errorf("%s = %q, want %q (log %q)", k, got[k], v, log)
				}
			}
		})
	}
}

// The container's processes start with default signal dispositions and an
// empty signal mask, whatever the monitor and the agent ignore or block.
func TestSignalDispositions(t *testing.T) {
	r := newTestRuntime(t)
	c := baseContainer(t, "grep", "-E", "^Sig(Ign|Blk):", "/proc/self/status")
	exit, log := run(t, r, c)
	if exit.Code != 0 {
		t.Fatalf("exit %+v log %q", exit, log)
	}
	if want := "SigBlk:\t0000000000000000\nSigIgn:\t0000000000000000\n"; log != want {
		t.Fatalf("log %q, want %q", log, want)
	}
}
