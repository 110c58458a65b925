package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"os"
	"strings"

	"github.com/spf13/pflag"

	"github.com/tug-sh/tug/bpf/lb"
	"github.com/tug-sh/tug/control/client"
	"github.com/tug-sh/tug/runtime/agent"
	"github.com/tug-sh/tug/runtime/agent/proxy"
	"github.com/tug-sh/tug/runtime/container"
)

// runAgent runs the node agent (the kubelet's role) until interrupted.
func runAgent(ctx context.Context, args []string, io stdio) error {
	fs := pflag.NewFlagSet("tug agent", pflag.ContinueOnError)
	fs.SetOutput(io.err)
	server := fs.StringP("server", "s", "", "the API server, host:port or URL (default $TUG_SERVER, else "+client.DefaultServer+")")
	hostname, _ := os.Hostname()
	nodeName := fs.String("node-name", strings.ToLower(hostname), "the name of this node's Node object")
	nodeIP := fs.String("node-ip", "", "the node's address (InternalIP; where the API server reaches the agent); default: the default route's source address")
	listen := fs.String("listen", agent.DefaultListen, "address of the agent's API (logs, exec, stats, healthz)")
	dataDir := fs.String("data-dir", agent.DefaultDataDir, "directory of the agent's state: containers, IP allocations, images, pod logs")
	runDir := fs.String("run-dir", agent.DefaultRunDir, "directory of runtime state: pod network namespace pins")
	cgroupParent := fs.String("cgroup-parent", "tug", "cgroup that containers are created under")
	bridge := fs.String("bridge", "tug0", "name of the pod bridge")
	hostNetns := fs.String("host-netns", "", "the node's network namespace (a bind-mounted nsfs file) when it is not the agent's own, e.g. for nested test nodes")
	mtu := fs.Int("mtu", 1500, "MTU of pod interfaces")
	podCIDR := fs.String("pod-cidr", "", "this node's pod CIDR; default: wait for the Node's spec.podCIDR from the controllers (tug server --cluster-cidr)")
	resolvConf := fs.String("resolv-conf", agent.DefaultResolvConf, "the resolv.conf pods' DNS configuration is based on")
	clusterDNS := fs.StringSlice("cluster-dns", nil, "cluster DNS Service addresses for pods with dnsPolicy ClusterFirst")
	clusterDomain := fs.String("cluster-domain", agent.DefaultClusterDomain, "the cluster's DNS domain")
	seccompDefault := fs.Bool("seccomp-default", container.SeccompSupported(), "run containers without a seccompProfile under the RuntimeDefault profile, as runc's default spec does (needs a binary built with -tags seccomp; false runs them unconfined, as a kubelet does by default)")
	insecure := fs.StringSlice("insecure-registry", nil, "registries reached over plain HTTP or without TLS verification")
	mirrors := fs.StringSlice("registry-mirror", nil, "Docker Hub mirrors, tried in order")
	maxPods := fs.Int("max-pods", agent.DefaultMaxPods, "the node's pod capacity")
	heartbeat := fs.Duration("heartbeat-interval", agent.DefaultHeartbeatInterval, "how often the Node's status is refreshed")
	imageGC := fs.Duration("image-gc-interval", agent.DefaultImageGCInterval, "how often unused images are garbage collected (negative: never)")
	serviceProxy := fs.Bool("service-proxy", true, "load-balance Services on this node with the eBPF load balancer (kube-proxy's role); false leaves ClusterIPs untranslated")
	serviceCIDR := fs.String("service-cluster-ip-range", proxy.DefaultServiceCIDR.String(), "the API server's --service-cluster-ip-range; routed unreachable on the node, so a ClusterIP that escapes translation fails at once")
	bpfCgroup := fs.String("bpf-cgroup", "", "cgroup2 directory the Service load balancer attaches to: processes in it and below are translated (default: the cgroup2 root, /sys/fs/cgroup or /sys/fs/cgroup/unified, i.e. the whole node)")
	bpffs := fs.String("bpffs", lb.DefaultBPFFS, "where the BPF filesystem is (mounted when missing); the load balancer's maps and links are pinned in <bpffs>/tug")
	verbose := fs.BoolP("verbose", "v", false, "log debug messages")
	fs.Usage = func() {
		fmt.Fprint(io.err, "Usage: tug agent --server URL [--node-name NAME] [flags]\n\nRuns the node agent: registers the Node, runs the pods bound to it through libcontainer,\nand serves their logs, exec and stats. Needs root.\n\nFlags:\n")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	if fs.NArg() > 0 {
		return fmt.Errorf("tug agent takes no arguments, got %q", fs.Args())
	}
	url, err := client.ServerURL(*server, os.Getenv)
	if err != nil {
		return err
	}
	level := slog.LevelInfo
	if *verbose {
		level = slog.LevelDebug
	}
	cfg := agent.Config{
		RestConfig:         client.Config(url, client.Options{UserAgent: "tug-agent"}),
		NodeName:           *nodeName,
		Listen:             *listen,
		DataDir:            *dataDir,
		RunDir:             *runDir,
		CgroupParent:       *cgroupParent,
		Bridge:             *bridge,
		HostNetns:          *hostNetns,
		MTU:                *mtu,
		ResolvConf:         *resolvConf,
		ClusterDomain:      *clusterDomain,
		SeccompDefault:     *seccompDefault,
		InsecureRegistries: *insecure,
		RegistryMirrors:    *mirrors,
		MaxPods:            *maxPods,
		HeartbeatInterval:  *heartbeat,
		ImageGCInterval:    *imageGC,
		Logger:             slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: level})),
	}
	cfg.RestConfig.QPS, cfg.RestConfig.Burst = 50, 100
	if *imageGC == 0 {
		cfg.ImageGCInterval = -1
	}
	if *nodeIP != "" {
		if cfg.NodeIP, err = netip.ParseAddr(*nodeIP); err != nil {
			return fmt.Errorf("--node-ip %q is not an IP address", *nodeIP)
		}
	}
	if *podCIDR != "" {
		if cfg.PodCIDR, err = netip.ParsePrefix(*podCIDR); err != nil {
			return fmt.Errorf("--pod-cidr %q is not a CIDR such as 10.244.1.0/24", *podCIDR)
		}
	}
	for _, s := range *clusterDNS {
		a, err := netip.ParseAddr(s)
		if err != nil {
			return fmt.Errorf("--cluster-dns %q is not an IP address", s)
		}
		cfg.ClusterDNS = append(cfg.ClusterDNS, a)
	}
	if *serviceProxy {
		if cfg.ServiceProxy, err = newServiceProxy(cfg, *serviceCIDR, lb.Config{BPFFS: *bpffs, Cgroup: *bpfCgroup}); err != nil {
			return err
		}
	}
	if os.Geteuid() != 0 {
		return errors.New("tug agent needs root: it creates namespaces, cgroups, mounts and network devices")
	}
	a, err := agent.New(cfg)
	if err != nil {
		return err
	}
	return a.Run(ctx)
}

// newServiceProxy builds the agent's Service proxy for the node cfg
// describes: the eBPF load balancer where lbc says, fed from the same API
// server.
func newServiceProxy(cfg agent.Config, serviceCIDR string, lbc lb.Config) (*proxy.Proxy, error) {
	cidr, err := netip.ParsePrefix(serviceCIDR)
	if err != nil {
		return nil, fmt.Errorf("--service-cluster-ip-range %q is not a CIDR such as %s", serviceCIDR, proxy.DefaultServiceCIDR)
	}
	return proxy.New(proxy.Config{
		RestConfig:  cfg.RestConfig,
		NodeName:    cfg.NodeName,
		ServiceCIDR: cidr.Masked(),
		HostNetns:   cfg.HostNetns,
		LB:          lbc,
		Logger:      cfg.Logger.With("subsystem", "proxy"),
	})
}
