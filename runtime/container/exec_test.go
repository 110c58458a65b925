package container

import (
	"bytes"
	"context"
	"errors"
	"strings"
	"testing"
)

func TestExec(t *testing.T) {
	r := newTestRuntime(t)
	c := baseContainer(t, "sleep", "1000")
	c.Env = []string{"FROM_CONTAINER=yes", "OVERRIDE=container"}
	c.WorkingDir = "/tmp"
	startContainer(t, r, c)
	ctx := testCtx(t)

	t.Run("exit code and streams", func(t *testing.T) {
		var out, errb bytes.Buffer
		code, err := r.Exec(ctx, c.ID, ExecOptions{
			Command: []string{"sh", "-c", `echo "out $FROM_CONTAINER $OVERRIDE $(pwd)"; echo err >&2; exit 7`},
			Env:     []string{"OVERRIDE=exec"},
			Stdout:  &out, Stderr: &errb,
		})
		if err != nil {
			t.Fatal(err)
		}
		if code != 7 || out.String() != "out yes exec /tmp\n" || errb.String() != "err\n" {
			t.Fatalf("code %d stdout %q stderr %q", code, out.String(), errb.String())
		}
	})
	t.Run("stdin", func(t *testing.T) {
		var out bytes.Buffer
		code, err := r.Exec(ctx, c.ID, ExecOptions{
			Command: []string{"tr", "a-z", "A-Z"}, Stdin: strings.NewReader("shout\n"), Stdout: &out,
		})
		if err != nil || code != 0 || out.String() != "SHOUT\n" {
			t.Fatalf("code %d err %v stdout %q", code, err, out.String())
		}
	})
	t.Run("tty", func(t *testing.T) {
		var out bytes.Buffer
		resize := make(chan TerminalSize, 1)
		resize <- TerminalSize{Width: 100, Height: 30}
		code, err := r.Exec(ctx, c.ID, ExecOptions{
			Command: []string{"sh", "-c", "tty; stty size"}, TTY: true, Stdout: &out, Resize: resize,
		})
		if err != nil || code != 0 {
			t.Fatalf("code %d err %v output %q", code, err, out.String())
		}
		// The terminal turns \n into \r\n.
		if got := strings.ReplaceAll(out.String(), "\r\n", "\n"); got != "/dev/pts/0\n30 100\n" {
			t.Fatalf("tty output %q", out.String())
		}
	})
	t.Run("runs in the container's pid namespace and cgroup", func(t *testing.T) {
		var out bytes.Buffer
		code, err := r.Exec(ctx, c.ID, ExecOptions{Command: []string{"sh", "-c", "cat /proc/1/cmdline | tr '\\0' ' '; grep NoNewPrivs /proc/self/status"}, Stdout: &out})
		if err != nil || code != 0 {
			t.Fatalf("code %d err %v", code, err)
		}
		if out.String() != "sleep 1000 NoNewPrivs:\t1\n" {
			t.Fatalf("output %q", out.String())
		}
	})
	t.Run("context cancel kills the process", func(t *testing.T) {
		cctx, cancel := context.WithCancel(ctx)
		done := make(chan error, 1)
		go func() {
			_, err := r.Exec(cctx, c.ID, ExecOptions{Command: []string{"sleep", "1000"}})
			done <- err
		}()
		cancel()
		if err := <-done; !errors.Is(err, context.Canceled) {
			t.Fatalf("err = %v, want context.Canceled", err)
		}
	})
	t.Run("missing command", func(t *testing.T) {
		_, err := r.Exec(ctx, c.ID, ExecOptions{Command: []string{"no-such-command"}})
		if err == nil || !strings.Contains(err.Error(), "no-such-command") {
			t.Fatalf("err = %v, want one naming the command", err)
		}
	})
	t.Run("stopped container", func(t *testing.T) {
		if _, err := r.Stop(ctx, c.ID, 0); err != nil {
			t.Fatal(err)
		}
		_, err := r.Exec(ctx, c.ID, ExecOptions{Command: []string{"true"}})
		if !errors.Is(err, ErrNotRunning) {
			t.Fatalf("err = %v, want ErrNotRunning", err)
		}
	})
}
