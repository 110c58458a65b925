// Command tug is the whole of tug in one binary: the API server, the node
// agent, the single-machine cluster (`tug up`) and the kubectl-style CLI.
package main

import (
	"context"
	"errors"
	"fmt"
	"io"
	"os"
	"os/signal"
	"sort"
	"strings"
	"syscall"
)

// command is one subcommand of the binary.
type command struct {
	name    string
	aliases []string
	summary string
	run     func(ctx context.Context, args []string, stdio stdio) error
}

type stdio struct {
	in       io.Reader
	out, err io.Writer
}

// commands lists every subcommand. Each lives in its own file. The node
// commands are in every build; the control plane's (up, server and the
// kubectl-style CLI, which also has version) only in the full build, not in
// the node build (-tags tug_node, see build_node.go).
func commands() []command {
	return append([]command{
		{name: "bpf", summary: "inspect the eBPF Service load balancer (lb list, maps, progs)", run: runBPF},
		{name: "image", summary: "manage the node's images (pull, ls, rm, import, build-busybox)", run: runImage},
		{name: "agent", summary: "run the node agent: register the node, run its pods, serve logs/exec/stats", run: runAgent},
		{name: "reset", summary: "remove everything the node agent created on this machine", run: runReset},
	}, buildCommands()...)
}

func main() {
	if len(os.Args) > 1 && daemons[os.Args[1]] {
		if err := trimBinaryPages(); err != nil {
			fmt.Fprintln(os.Stderr, "warning: more of the binary stays resident than this daemon runs (more RSS, no other effect):", err)
		}
	}
	ctx, stop := signal.NotifyContext(context.Background(), os.Interrupt, syscall.SIGTERM)
	defer stop()
	os.Exit(run(ctx, os.Args[1:], stdio{in: os.Stdin, out: os.Stdout, err: os.Stderr}))
}

// daemons are the commands that run until stopped: their resident memory
// matters (trimBinaryPages).
var daemons = map[string]bool{"agent": true, "server": true, "up": true}

func run(ctx context.Context, args []string, io stdio) int {
	if len(args) == 0 || args[0] == "help" || args[0] == "-h" || args[0] == "--help" {
		usage(io.out)
		return 0
	}
	for _, c := range commands() {
		if c.name == args[0] || contains(c.aliases, args[0]) {
			if err := c.run(ctx, args[1:], io); err != nil {
				var coded interface{ ExitCode() int }
				if errors.As(err, &coded) {
					return coded.ExitCode() // the command printed its own error
				}
				fmt.Fprintln(io.err, "error:", err)
				return 1
			}
			return 0
		}
	}
	fmt.Fprintf(io.err, "error: unknown command %q%s; run 'tug help' for the list\n", args[0], notInThisBuild)
	return 2
}

func usage(w io.Writer) {
	fmt.Fprintln(w, "tug: a compact container orchestrator\n\nUsage: tug COMMAND [flags]\n\nCommands:")
	cs := commands()
	sort.Slice(cs, func(i, j int) bool { return cs[i].name < cs[j].name })
	for _, c := range cs {
		name := c.name
		if len(c.aliases) > 0 {
			name += " (" + strings.Join(c.aliases, ", ") + ")"
		}
		fmt.Fprintf(w, "  %-16s %s\n", name, c.summary)
	}
	fmt.Fprintln(w, "\nRun 'tug COMMAND --help' for a command's flags.")
}

func contains(list []string, s string) bool {
	for _, v := range list {
		if v == s {
			return true
		}
	}
	return false
}

// exitStatus ends the process with a code; the command already printed its
// error the way kubectl does.
type exitStatus int

func (e exitStatus) Error() string { return fmt.Sprintf("exit status %d", int(e)) }

// ExitCode is what run returns for this error.
func (e exitStatus) ExitCode() int { return int(e) }
