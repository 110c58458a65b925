//go:build !tug_node

package main

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tug-sh/tug/bpf/lb"
	"github.com/tug-sh/tug/control/client"
	"github.com/tug-sh/tug/runtime/agent"
	"github.com/tug-sh/tug/runtime/container"
)

// runUp runs a whole cluster on this machine: the API server (with its
// embedded etcd and the controllers) and one node agent, in one process.
func runUp(ctx context.Context, args []string, io stdio) error {
	fs := pflag.NewFlagSet("tug up", pflag.ContinueOnError)
	fs.SetOutput(io.err)
	var so serverOptions
	so.addFlags(fs, false)
	dataDir := fs.String("data-dir", "/var/lib/tug", "directory of all state: the server's etcd in DIR/server, the agent's containers, images and IPs in DIR/agent")
	hostname, _ := os.Hostname()
	nodeName := fs.String("node-name", strings.ToLower(hostname), "the name of this machine's Node")
	nodeIP := fs.String("node-ip", "127.0.0.1", "the node's address (InternalIP, NodePorts, where the API server reaches the agent); loopback keeps the cluster private to this machine")
	agentListen := fs.String("agent-listen", "", "address of the agent's API (logs, exec, stats); default NODE-IP:10250")
	cgroupParent := fs.String("cgroup-parent", "tug", "cgroup that containers are created under")
	bridge := fs.String("bridge", "tug0", "name of the pod bridge")
	insecure := fs.StringSlice("insecure-registry", nil, "registries reached over plain HTTP or without TLS verification")
	mirrors := fs.StringSlice("registry-mirror", nil, "Docker Hub mirrors, tried in order")
	serviceProxy := fs.Bool("service-proxy", true, "load-balance Services with the eBPF load balancer, attached to the cgroup2 root (every process on this machine reaches ClusterIPs); false leaves them untranslated")
	fs.Usage = func() {
		fmt.Fprint(io.err, "Usage: tug up [flags]\n\nRuns a one-machine cluster in one process: the API server with embedded etcd and the\ncontrollers, and a node agent running pods through libcontainer. Needs root.\nStop it with Ctrl-C; `tug reset --data-dir DIR` then removes what it left: the agent's containers,\nnetwork and eBPF programs, and the server's etcd data (the cluster's objects).\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("tug up takes no arguments, got %q", fs.Args())
	}
	if os.Geteuid() != 0 {
		return errors.New("tug up needs root: the agent creates namespaces, cgroups, mounts and network devices")
	}
	ip, err := netip.ParseAddr(*nodeIP)
	if err != nil {
		return fmt.Errorf("--node-ip %q is not an IP address", *nodeIP)
	}
	if *agentListen == "" {
		*agentListen = netip.AddrPortFrom(ip, 10250).String()
	}
	log, err := newLogger(io, so.logLevel)
	if err != nil {
		return err
	}
	so.dataDir = filepath.Join(*dataDir, "server")

	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	cp, err := startControlPlane(ctx, so, log)
	if err != nil {
		return err
	}
	acfg := agent.Config{
		RestConfig:   client.Config(cp.url, client.Options{UserAgent: "tug-agent"}),
		NodeName:     *nodeName,
		NodeIP:       ip,
		Listen:       *agentListen,
		DataDir:      filepath.Join(*dataDir, "agent"),
		CgroupParent: *cgroupParent,
		Bridge:       *bridge,
		// runc's default isolation includes a seccomp profile; a binary
		// built without libseccomp runs containers unconfined instead of
		// failing them all.
		SeccompDefault:     container.SeccompSupported(),
		InsecureRegistries: *insecure,
		RegistryMirrors:    *mirrors,
		Logger:             log.With("component", "agent"),
	}
	if *serviceProxy {
		// The same range the server allocates ClusterIPs from.
		if acfg.ServiceProxy, err = newServiceProxy(acfg, so.serviceClusterIPRange, lb.Config{}); err != nil {
			cancel()
			cp.wait()
			return err
		}
	}
	a, err := agent.New(acfg)
	if err != nil {
		cancel()
		cp.wait()
		return err
	}
	agentDone := make(chan error, 1)
	go func() { agentDone <- a.Run(ctx) }()
	fmt.Fprintf(io.err, "tug is up: API server at %s, node %q. Try: tug get nodes -s %s\n", cp.url, *nodeName, strings.TrimPrefix(cp.url, "http://"))

	var runErr error
	select {
	case runErr = <-agentDone:
		cancel()
		cp.wait()
	case runErr = <-cp.done:
		cancel()
		<-agentDone
	}
	if runErr != nil && !errors.Is(runErr, context.Canceled) {
		return runErr
	}
	return nil
}
