package main

import (
	"context"
	"errors"
	"fmt"
	"io"

	"github.com/spf13/pflag"
	"github.com/tug-sh/tug/bpf/lb"
)

const bpfUsage = `Usage:
  tug bpf lb list   frontends and their backends, with selection counts
  tug bpf maps      the pinned maps: ids, sizes, entries, pins
  tug bpf progs     the programs: ids, attach points, link pins

Reads the load balancer a node agent loaded, through its pins (needs root).
For the raw entries: bpftool map dump pinned <pin-dir>/<map>.

Flags:
`

// runBPF inspects the eBPF Service load balancer, like `cilium bpf`.
func runBPF(ctx context.Context, args []string, io stdio) error {
	fs := pflag.NewFlagSet("tug bpf", pflag.ContinueOnError)
	fs.SetOutput(io.err)
	bpffs := fs.String("bpffs", lb.DefaultBPFFS, "where the BPF filesystem is mounted")
	pinDir := fs.String("pin-dir", "", "directory of tug's pinned maps and links (default <bpffs>/tug)")
	fs.Usage = func() {
		fmt.Fprint(io.err, bpfUsage)
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	show, err := bpfView(fs.Args())
	if err != nil {
		fs.Usage()
		return err
	}
	in, err := lb.OpenPinned(lb.Config{BPFFS: *bpffs, PinDir: *pinDir})
	if err != nil {
		return err
	}
	defer in.Close()
	return show(in, io.out)
}

// bpfView picks what `tug bpf ARGS...` shows.
func bpfView(args []string) (func(*lb.Inspector, io.Writer) error, error) {
	switch fmt.Sprint(args) {
	case "[lb list]", "[lb ls]":
		return func(in *lb.Inspector, w io.Writer) error {
			services, err := in.Services()
			if err != nil {
				return err
			}
			return lb.WriteServices(w, services)
		}, nil
	case "[maps]":
		return func(in *lb.Inspector, w io.Writer) error {
			maps, err := in.Maps()
			if err != nil {
				return err
			}
			return lb.WriteMaps(w, maps)
		}, nil
	case "[progs]":
		return func(in *lb.Inspector, w io.Writer) error {
			progs, err := in.Programs()
			if err != nil {
				return err
			}
			return lb.WritePrograms(w, progs)
		}, nil
	}
	return nil, fmt.Errorf("unknown 'tug bpf' command %q: use 'lb list', 'maps' or 'progs'", args)
}
