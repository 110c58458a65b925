package cli

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"os/signal"
	"syscall"

	"github.com/spf13/pflag"
	"golang.org/x/term"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/client-go/kubernetes/scheme"
	"k8s.io/client-go/tools/remotecommand"
	utilexec "k8s.io/client-go/util/exec"

	"github.com/tug-sh/tug/control/client"
)

func execSpec() spec {
	return spec{
		name:    "exec",
		summary: "Run a command in a container",
		usage:   "exec (POD | TYPE/NAME) [-c CONTAINER] [-i] [-t] -- COMMAND [ARGS...]",
		setup: func(fs *pflag.FlagSet) func(context.Context, *env, []string) error {
			container := fs.StringP("container", "c", "", "the container (default: the pod's only or default container)")
			stdin := fs.BoolP("stdin", "i", false, "pass standard input to the command")
			tty := fs.BoolP("tty", "t", false, "allocate a terminal for the command (needs -i and a terminal)")
			return func(ctx context.Context, e *env, args []string) error {
				if len(args) < 2 {
					return errors.New("expected a pod and a command: tug exec POD [-c CONTAINER] -- COMMAND [ARGS...]")
				}
				if e.dashAt > 1 {
					return errors.New("exactly one pod goes before \"--\": tug exec POD -- COMMAND [ARGS...]")
				}
				c, err := e.connect()
				if err != nil {
					return err
				}
				ns, _ := e.namespace()
				pod, err := findPod(ctx, e, c, args[0], ns)
				if err != nil {
					return err
				}
				if pod.Status.Phase == corev1.PodSucceeded || pod.Status.Phase == corev1.PodFailed {
					return fmt.Errorf("cannot exec into a container in a completed pod; current phase is %s", pod.Status.Phase)
				}
				name, err := pickContainer(pod, *container, e.ErrOut)
				if err != nil {
					return err
				}
				req := execRequest{namespace: pod.Namespace, pod: pod.Name, container: name, command: args[1:], stdin: *stdin, tty: *tty}
				return runExec(ctx, e, c, req)
			}
		},
	}
}

// execRequest is one command to run in a container.
type execRequest struct {
	namespace, pod, container string
	command                   []string
	stdin, tty                bool
}

// execURL is the pods/exec URL of req.
func execURL(c *client.Client, req execRequest) *url.URL {
	return c.Core.RESTClient().Post().
		Namespace(req.namespace).Resource("pods").Name(req.pod).SubResource("exec").
		VersionedParams(&corev1.PodExecOptions{
			Container: req.container,
			Command:   req.command,
			Stdin:     req.stdin,
			Stdout:    true,
			Stderr:    !req.tty, // a terminal merges stderr into stdout
			TTY:       req.tty,
		}, scheme.ParameterCodec).URL()
}

// runExec streams the command over a WebSocket (v5.channel.k8s.io) and
// ends with the command's exit code, like kubectl.
func runExec(ctx context.Context, e *env, c *client.Client, req execRequest) error {
	in := e.In
	if !req.stdin {
		in = nil
	}
	var sizes remotecommand.TerminalSizeQueue
	if req.tty {
		f, ok := in.(*os.File)
		if !req.stdin || !ok || !term.IsTerminal(int(f.Fd())) {
			fmt.Fprintln(e.ErrOut, "Unable to use a TTY - input is not a terminal or the right kind of file")
			req.tty = false
		} else {
			state, err := term.MakeRaw(int(f.Fd()))
			if err != nil {
				return fmt.Errorf("putting the terminal in raw mode: %w", err)
			}
			defer term.Restore(int(f.Fd()), state)
			q := newTerminalSizes(ctx, f)
			defer q.stop()
			sizes = q
		}
	}
	exec, err := remotecommand.NewWebSocketExecutor(c.Config, "GET", execURL(c, req).String())
	if err != nil {
		return fmt.Errorf("preparing exec: %w", err)
	}
	opts := remotecommand.StreamOptions{Stdin: in, Stdout: e.Out, Tty: req.tty, TerminalSizeQueue: sizes}
	if !req.tty {
		opts.Stderr = e.ErrOut
	}
	err = exec.StreamWithContext(ctx, opts)
	var exitErr utilexec.ExitError
	if errors.As(err, &exitErr) && exitErr.Exited() {
		fmt.Fprintf(e.ErrOut, "command terminated with exit code %d\n", exitErr.ExitStatus())
		return exitCode(exitErr.ExitStatus())
	}
	if err != nil {
		return c.Explain(err)
	}
	return nil
}

// terminalSizes reports the terminal's size, then each change (SIGWINCH),
// until stopped.
type terminalSizes struct {
	f      *os.File
	sigs   chan os.Signal
	sent   bool
	cancel context.CancelFunc
	ctx    context.Context
}

func newTerminalSizes(ctx context.Context, f *os.File) *terminalSizes {
	ctx, cancel := context.WithCancel(ctx)
	q := &terminalSizes{f: f, sigs: make(chan os.Signal, 1), cancel: cancel, ctx: ctx}
	signal.Notify(q.sigs, syscall.SIGWINCH)
	return q
}

func (q *terminalSizes) Next() *remotecommand.TerminalSize {
	if q.sent {
		select {
		case <-q.ctx.Done():
			return nil
		case <-q.sigs:
		}
	}
	q.sent = true
	w, h, err := term.GetSize(int(q.f.Fd()))
	if err != nil {
		return nil
	}
	return &remotecommand.TerminalSize{Width: uint16(w), Height: uint16(h)}
}

func (q *terminalSizes) stop() {
	signal.Stop(q.sigs)
	q.cancel()
}
