package container

import (
	"context"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"strings"
	"sync"
	"syscall"
	"time"

	"github.com/opencontainers/runc/libcontainer"
	"github.com/opencontainers/runc/libcontainer/utils"
	"golang.org/x/sys/unix"
)

// ExecOptions describe a process to run in a running container (kubectl
// exec).
type ExecOptions struct {
	Command []string
	// Env is added to the container's environment, replacing same-named
	// variables.
	Env []string
	// WorkingDir defaults to the container's.
	WorkingDir string
	// TTY runs the process on a new pseudo-terminal; Stdout receives its
	// output and Stderr is unused, as with kubectl exec -t.
	TTY bool
	// Stdin, Stdout and Stderr may be nil (/dev/null). Stdin is read until
	// the process ends; a Stdin whose Read blocks past that is abandoned to
	// its caller, who should close it.
	Stdin  io.Reader
	Stdout io.Writer
	Stderr io.Writer
	// Resize delivers terminal size changes (TTY only). A size already in
	// the channel when Exec starts is the initial size.
	Resize <-chan TerminalSize
}

// TerminalSize is a terminal's size in characters.
type TerminalSize struct {
	Width, Height uint16
}

// Exec runs a process in the running container, as the container's user,
// in its namespaces, cgroup, capabilities and seccomp filter, and returns
// its exit code (128+signal if a signal killed it). Ending ctx kills it.
func (r *Runtime) Exec(ctx context.Context, id string, opts ExecOptions) (int, error) {
	if len(opts.Command) == 0 || opts.Command[0] == "" {
		return -1, fmt.Errorf("%w: exec needs a command", ErrInvalid)
	}
	c, err := r.load(id)
	if err != nil {
		return -1, err
	}
	if status, err := c.Status(); err != nil {
		return -1, fmt.Errorf("container: status of %s: %w", id, err)
	} else if status != libcontainer.Running {
		return -1, fmt.Errorf("%w: %s is %s", ErrNotRunning, id, status)
	}
	var launch launchSpec
	if err := readJSON(filepath.Join(r.containerDir(id), launchFile), &launch); err != nil {
		return -1, fmt.Errorf("container: exec in %s: %w", id, err)
	}
	p := &libcontainer.Process{
		Args:             opts.Command,
		Env:              mergeEnv(launch.Process.Env, opts.Env),
		Cwd:              launch.Process.Cwd,
		UID:              launch.Process.UID,
		GID:              launch.Process.GID,
		AdditionalGroups: launch.Process.AdditionalGIDs,
	}
	if opts.WorkingDir != "" {
		p.Cwd = opts.WorkingDir
	}
	var streams execIO
	if opts.TTY {
		err = streams.setupTTY(p, opts)
	} else {
		err = streams.setupPipes(p, opts)
	}
	if err != nil {
		streams.closeChildEnds()
		streams.closeParentEnds()
		return -1, err
	}
	runErr := c.Run(p)
	streams.closeChildEnds()
	if runErr != nil {
		streams.closeParentEnds()
		return -1, fmt.Errorf("container: exec in %s: %w", id, runErr)
	}
	if err := streams.start(opts); err != nil {
		_ = p.Signal(syscall.SIGKILL)
		_, _ = p.Wait()
		streams.closeParentEnds()
		return -1, err
	}
	stop := context.AfterFunc(ctx, func() { _ = p.Signal(syscall.SIGKILL) })
	ps, waitErr := p.Wait()
	stop()
	streams.finish()
	if ctx.Err() != nil {
		return -1, ctx.Err()
	}
	exit := exitFromProcessState(ps, waitErr, time.Now())
	if exit.Code < 0 {
		return -1, fmt.Errorf("container: exec in %s: %s", id, exit.Message)
	}
	return exit.Code, nil
}

// execIO connects an exec'd process to the caller's streams.
type execIO struct {
	childEnds  []*os.File // passed to the process, closed here after start
	stdinW     *os.File   // non-TTY stdin pipe
	stdoutR    *os.File
	stderrR    *os.File
	consoleSck *os.File // TTY: receives the pty master
	master     *os.File
	outputs    sync.WaitGroup
}

func (x *execIO) setupPipes(p *libcontainer.Process, opts ExecOptions) error {
	if opts.Stdin != nil {
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		p.Stdin, x.stdinW = r, w
		x.childEnds = append(x.childEnds, r)
	}
	for _, s := range []struct {
		w    io.Writer
		dst  **os.File
		proc *io.Writer
	}{{opts.Stdout, &x.stdoutR, &p.Stdout}, {opts.Stderr, &x.stderrR, &p.Stderr}} {
		if s.w == nil {
			continue
		}
		r, w, err := os.Pipe()
		if err != nil {
			return err
		}
		*s.dst, *s.proc = r, w
		x.childEnds = append(x.childEnds, w)
	}
	return nil
}

func (x *execIO) setupTTY(p *libcontainer.Process, opts ExecOptions) error {
	parent, child, err := utils.NewSockPair("console")
	if err != nil {
		return fmt.Errorf("container: console socket: %w", err)
	}
	x.consoleSck = parent
	x.childEnds = append(x.childEnds, child)
	p.ConsoleSocket = child
	select {
	case size := <-opts.Resize:
		p.ConsoleWidth, p.ConsoleHeight = size.Width, size.Height
	default:
	}
	return nil
}

// start begins copying once the process runs.
func (x *execIO) start(opts ExecOptions) error {
	copyOut := func(dst io.Writer, src *os.File) {
		x.outputs.Add(1)
		go func() {
			defer x.outputs.Done()
			_, _ = io.Copy(dst, src)
			src.Close()
		}()
	}
	if x.consoleSck != nil {
		master, err := utils.RecvFile(x.consoleSck)
		x.consoleSck.Close()
		x.consoleSck = nil
		if err != nil {
			return fmt.Errorf("container: receive exec terminal: %w", err)
		}
		x.master = master
		if opts.Stdout != nil {
			x.outputs.Add(1)
			go func() {
				defer x.outputs.Done()
				// The read fails with EIO once the process side is closed.
				_, _ = io.Copy(opts.Stdout, master)
			}()
		}
		if opts.Stdin != nil {
			go func() { _, _ = io.Copy(master, opts.Stdin) }()
		}
		if opts.Resize != nil {
			go func() {
				for size := range opts.Resize {
					ws := &unix.Winsize{Row: size.Height, Col: size.Width}
					if err := unix.IoctlSetWinsize(int(master.Fd()), unix.TIOCSWINSZ, ws); err != nil {
						return // the terminal is closed
					}
				}
			}()
		}
		return nil
	}
	if x.stdinW != nil {
		go func() {
			_, _ = io.Copy(x.stdinW, opts.Stdin)
			x.stdinW.Close()
		}()
	}
	if x.stdoutR != nil {
		copyOut(opts.Stdout, x.stdoutR)
	}
	if x.stderrR != nil {
		copyOut(opts.Stderr, x.stderrR)
	}
	return nil
}

// finish waits for the output after the process ended and releases the
// streams.
func (x *execIO) finish() {
	if x.stdinW != nil {
		// Unblocks a copier stuck writing to a process that is gone.
		x.stdinW.Close()
	}
	if x.master != nil {
		x.outputs.Wait()
		x.master.Close()
		return
	}
	x.outputs.Wait()
}

func (x *execIO) closeChildEnds() {
	for _, f := range x.childEnds {
		f.Close()
	}
	x.childEnds = nil
}

func (x *execIO) closeParentEnds() {
	for _, f := range []*os.File{x.stdinW, x.stdoutR, x.stderrR, x.consoleSck, x.master} {
		if f != nil {
			f.Close()
		}
	}
}

// mergeEnv returns base with extra's variables added, an extra variable
// replacing a base one of the same name.
func mergeEnv(base, extra []string) []string {
	out := make([]string, 0, len(base)+len(extra))
	override := map[string]bool{}
	for _, kv := range extra {
		k, _, _ := strings.Cut(kv, "=")
		override[k] = true
	}
	for _, kv := range base {
		if k, _, _ := strings.Cut(kv, "="); !override[k] {
			out = append(out, kv)
		}
	}
	return append(out, extra...)
}
