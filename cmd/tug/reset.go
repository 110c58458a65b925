package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"path/filepath"

	"github.com/spf13/pflag"

	"github.com/tug-sh/tug/bpf/lb"
	"github.com/tug-sh/tug/control/storage/serverdata"
	"github.com/tug-sh/tug/runtime/agent"
	"github.com/tug-sh/tug/runtime/agent/proxy"
)

// runReset removes everything a node agent put on this machine, like
// `kubeadm reset`.
func runReset(ctx context.Context, args []string, io stdio) error {
	fs := pflag.NewFlagSet("tug reset", pflag.ContinueOnError)
	fs.SetOutput(io.err)
	dataDir := fs.String("data-dir", agent.DefaultDataDir, "the agent's data directory, or tug up's (then DIR/agent, and the server's DIR/server too)")
	serverDataDir := fs.String("server-data-dir", "", "also remove the embedded etcd data of a stopped tug server with this --data-dir (e.g. /var/lib/tug/server): the cluster's state is gone after")
	runDir := fs.String("run-dir", agent.DefaultRunDir, "the agent's runtime directory")
	cgroupParent := fs.String("cgroup-parent", "tug", "the cgroup containers were created under")
	bridge := fs.String("bridge", "tug0", "the pod bridge")
	hostNetns := fs.String("host-netns", "", "the node's network namespace, if the agent ran with --host-netns")
	vxlan := fs.String("vxlan-device", "", "the overlay's vxlan device (default tug.1)")
	bpffs := fs.String("bpffs", lb.DefaultBPFFS, "where the BPF filesystem is mounted")
	keepBPF := fs.Bool("keep-bpf", false, "leave the eBPF Service load balancer attached and pinned")
	serviceCIDR := fs.String("service-cluster-ip-range", "10.96.0.0/12", "the service CIDR whose unreachable route the agent added")
	fs.Usage = func() {
		fmt.Fprint(io.err, "Usage: tug reset [flags]\n\nStops and removes every container, pod network namespace, veth, the bridge, the vxlan device,\nthe eBPF load balancer and the service CIDR's unreachable route, IP allocations, images, pod files and logs an agent created.\nGiven tug up's --data-dir, or --server-data-dir, it also removes the server's embedded etcd data\n(refusing while a server runs on it): the cluster's objects are gone after, as kubeadm reset does.\nRunning it again, or where no agent ran, is harmless. Stop the agent first. Needs root.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("tug reset takes no arguments, got %q", fs.Args())
	}
	if os.Geteuid() != 0 {
		return errors.New("tug reset needs root")
	}
	agentDir, serverDir := resetDirs(*dataDir, *serverDataDir)
	if serverDir != "" {
		// First, so that a running server stops the reset before the
		// node is torn down under it.
		if err := serverdata.Remove(serverDir); err != nil {
			return err
		}
	}
	cfg := agent.ResetConfig{
		DataDir: agentDir, RunDir: *runDir, CgroupParent: *cgroupParent, Bridge: *bridge, VXLANDevice: *vxlan, HostNetns: *hostNetns,
		Logger: slog.New(slog.NewTextHandler(io.err, nil)),
	}
	if !*keepBPF {
		cfg.BPF = &lb.Config{BPFFS: *bpffs}
	}
	cidr, err := netip.ParsePrefix(*serviceCIDR)
	if err != nil {
		return fmt.Errorf("--service-cluster-ip-range %q is not a CIDR", *serviceCIDR)
	}
	err = errors.Join(agent.Reset(ctx, cfg), proxy.RemoveRoute(*hostNetns, cidr))
	if err != nil {
		return err
	}
	fmt.Fprintln(io.out, "node reset: everything the tug agent created is removed")
	if serverDir != "" {
		fmt.Fprintf(io.out, "the server's etcd data in %s is removed\n", serverDir)
	}
	return nil
}

// resetDirs resolves reset's --data-dir and --server-data-dir: a directory
// with an agent/ subdirectory and no containers/ of its own is tug up's
// (--data-dir DIR keeps the agent's state in DIR/agent and the server's
// etcd in DIR/server), and resetting it resets both.
func resetDirs(dataDir, serverDataDir string) (agentDir, serverDir string) {
	if isDir(filepath.Join(dataDir, "agent")) && !isDir(filepath.Join(dataDir, "containers")) {
		agentDir = filepath.Join(dataDir, "agent")
		if serverDataDir == "" && isDir(filepath.Join(dataDir, "server")) {
			serverDataDir = filepath.Join(dataDir, "server")
		}
		return agentDir, serverDataDir
	}
	return dataDir, serverDataDir
}

func isDir(path string) bool {
	st, err := os.Stat(path)
	return err == nil && st.IsDir()
}
