package cli

import (
	"context"
	"errors"
	"fmt"
	"io"
	"strings"
	"time"

	"github.com/spf13/pflag"

	"github.com/tug-sh/tug/control/client"
)

// Streams are a command's standard input, output and error.
type Streams struct {
	In     io.Reader
	Out    io.Writer
	ErrOut io.Writer
}

// Options configure the commands.
type Options struct {
	// ClientVersion is printed by `version`.
	ClientVersion string
	// Getenv reads the environment ($TUG_SERVER); nil means an empty one.
	Getenv func(string) string
	// Now is the clock for ages computed on the client (describe's events);
	// nil means time.Now.
	Now func() time.Time
}

// Command is one CLI command. Run parses args (the words after the command
// name), does the work and returns the process exit code: 0 on success, 1
// on error (after printing it to ErrOut the way kubectl does), or the exit
// code of a command run with exec.
type Command struct {
	Name    string
	Aliases []string
	Summary string
	Run     func(ctx context.Context, args []string, s Streams) int
}

// Commands returns the CLI's commands, in the order help lists them.
func Commands(opts Options) []Command {
	specs := []spec{
		createSpec(), applySpec(), getSpec(), describeSpec(), deleteSpec(),
		scaleSpec(), logsSpec(), execSpec(), topSpec(), versionSpec(),
	}
	out := make([]Command, 0, len(specs))
	for _, s := range specs {
		out = append(out, opts.command(s))
	}
	return out
}

// spec declares a command: its flags and what it does with them.
type spec struct {
	name    string
	aliases []string
	summary string
	usage   string // the synopsis, without "tug "
	// setup registers the command's flags and returns its body.
	setup func(fs *pflag.FlagSet) func(ctx context.Context, e *env, args []string) error
}

func (o Options) command(s spec) Command {
	return Command{
		Name:    s.name,
		Aliases: s.aliases,
		Summary: s.summary,
		Run: func(ctx context.Context, args []string, streams Streams) int {
			fs := pflag.NewFlagSet("tug "+s.name, pflag.ContinueOnError)
			fs.SetOutput(io.Discard)
			fs.SortFlags = false
			g := &globalFlags{}
			body := s.setup(fs)
			g.register(fs)
			if err := fs.Parse(args); err != nil {
				if errors.Is(err, pflag.ErrHelp) {
					fmt.Fprintf(streams.Out, "%s\n\nUsage:\n  tug %s\n\nFlags:\n%s", s.summary, s.usage, fs.FlagUsages())
					return 0
				}
				fmt.Fprintf(streams.ErrOut, "error: %v\nSee 'tug %s --help' for usage.\n", err, s.name)
				return 1
			}
			e := &env{Streams: streams, opts: o, global: g, dashAt: fs.ArgsLenAtDash()}
			return report(streams.ErrOut, body(ctx, e, fs.Args()))
		},
	}
}

// exitCode ends a command with a code; its error, if any, was printed.
type exitCode int

func (c exitCode) Error() string { return fmt.Sprintf("exit code %d", int(c)) }

// errReported means the command already printed its errors.
var errReported = exitCode(1)

// report prints err the way kubectl does and returns the exit code.
func report(w io.Writer, err error) int {
	if err == nil {
		return 0
	}
	var code exitCode
	if errors.As(err, &code) {
		return int(code)
	}
	printErrors(w, err)
	return 1
}

// printErrors prints each error of a joined error on its own line(s).
func printErrors(w io.Writer, err error) {
	for _, e := range flatten(err) {
		msg := client.Message(e)
		fmt.Fprintln(w, strings.TrimRight(msg, "\n"))
	}
}

func flatten(err error) []error {
	if err == nil {
		return nil
	}
	var code exitCode
	if errors.As(err, &code) {
		return nil
	}
	if _, ok := err.(*client.UnreachableError); ok {
		return []error{err} // it unwraps to its causes, but prints as one line
	}
	if j, ok := err.(interface{ Unwrap() []error }); ok {
		var out []error
		for _, e := range j.Unwrap() {
			out = append(out, flatten(e)...)
		}
		return out
	}
	return []error{err}
}
