//go:build !tug_node

package main

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net"
	"net/http"
	"net/netip"
	"strconv"
	"strings"
	"time"

	"github.com/spf13/pflag"
	"k8s.io/client-go/rest"

	"github.com/tug-sh/tug/control/apiserver"
	"github.com/tug-sh/tug/control/controller/manager"
	"github.com/tug-sh/tug/control/storage"
	"github.com/tug-sh/tug/control/storage/embedetcd"
	"github.com/tug-sh/tug/control/storage/serverdata"
)

// serverOptions are the flags of `tug server` (and of `tug up`).
type serverOptions struct {
	listen                 string
	dataDir                string
	etcdServers            []string
	serviceClusterIPRange  string
	serviceNodePortRange   string
	clusterCIDR            string
	nodeCIDRMaskSize       int
	controllers            []string
	nodeMonitorGracePeriod time.Duration
	podEvictionTimeout     time.Duration
	logLevel               string
}

// addFlags registers the server's flags; --data-dir only when dataDir is
// set (tug up has its own, covering the agent too).
func (o *serverOptions) addFlags(fs *pflag.FlagSet, dataDir bool) {
	fs.StringVar(&o.listen, "listen", "127.0.0.1:8080", "address the API server listens on (host:port); the seed used 0.0.0.0:8080")
	if dataDir {
		fs.StringVar(&o.dataDir, "data-dir", "/var/lib/tug/server", "directory of the embedded etcd's data (unused with --etcd-servers)")
	}
	fs.StringSliceVar(&o.etcdServers, "etcd-servers", nil, "client URLs of an external etcd cluster (comma-separated); empty runs an embedded etcd")
	fs.StringVar(&o.serviceClusterIPRange, "service-cluster-ip-range", "10.96.0.0/12", "CIDR Service ClusterIPs are allocated from")
	fs.StringVar(&o.serviceNodePortRange, "service-node-port-range", apiserver.DefaultServiceNodePortRange, "port range NodePorts are allocated from")
	fs.StringVar(&o.clusterCIDR, "cluster-cidr", "10.244.0.0/16", "CIDR split into per-node pod subnets (the seed's flannel network was 10.0.0.0/16)")
	fs.IntVar(&o.nodeCIDRMaskSize, "node-cidr-mask-size", manager.DefaultNodeCIDRMaskSize, "prefix length of each node's pod subnet")
	fs.StringSliceVar(&o.controllers, "controllers", []string{"*"}, "controllers to run: '*' for all, NAME to enable, -NAME to disable ("+strings.Join(manager.AllControllers(), ", ")+")")
	fs.DurationVar(&o.nodeMonitorGracePeriod, "node-monitor-grace-period", 40*time.Second, "how long a node may miss heartbeats before it is marked Ready=Unknown")
	fs.DurationVar(&o.podEvictionTimeout, "pod-eviction-timeout", 60*time.Second, "how long an unreachable node keeps its pods before they are deleted and recreated elsewhere")
	fs.StringVar(&o.logLevel, "log-level", "info", "debug, info, warn or error")
}

func runServer(ctx context.Context, args []string, io stdio) error {
	fs := pflag.NewFlagSet("tug server", pflag.ContinueOnError)
	fs.SetOutput(io.err)
	var o serverOptions
	o.addFlags(fs, true)
	fs.Usage = func() {
		fmt.Fprintln(io.err, "Usage: tug server [flags]\n\nRuns the API server, its storage (embedded etcd unless --etcd-servers) and the controllers.\n\nFlags:")
		fs.PrintDefaults()
	}
	if err := fs.Parse(args); err != nil {
		if errors.Is(err, pflag.ErrHelp) {
			return nil
		}
		return err
	}
	log, err := newLogger(io, o.logLevel)
	if err != nil {
		return err
	}
	cp, err := startControlPlane(ctx, o, log)
	if err != nil {
		return err
	}
	return cp.wait()
}

// controlPlane is a running API server with its storage and controllers.
type controlPlane struct {
	url   string
	done  chan error
	close func()
}

// wait blocks until the control plane has stopped (ctx ended) and returns
// the first error that stopped it.
func (c *controlPlane) wait() error { return <-c.done }

// startControlPlane brings up storage, the API server and the controllers,
// and returns once the API server accepts connections.
func startControlPlane(ctx context.Context, o serverOptions, log *slog.Logger) (*controlPlane, error) {
	ipRange, err := netip.ParsePrefix(o.serviceClusterIPRange)
	if err != nil {
		return nil, fmt.Errorf("--service-cluster-ip-range %q is not a CIDR: %w", o.serviceClusterIPRange, err)
	}
	store, closeStore, err := openStore(ctx, o, log)
	if err != nil {
		return nil, err
	}
	cleanup := []func(){closeStore}
	fail := func(err error) (*controlPlane, error) {
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
		return nil, err
	}
	srv, err := apiserver.New(ctx, apiserver.Config{
		Store:                 store,
		ServiceClusterIPRange: ipRange,
		ServiceNodePortRange:  o.serviceNodePortRange,
		Logger:                log.With("component", "apiserver"),
	})
	if err != nil {
		return fail(err)
	}
	ln, err := net.Listen("tcp", o.listen)
	if err != nil {
		return fail(fmt.Errorf("API server cannot listen on %s: %w (is another tug server running? choose another --listen)", o.listen, err))
	}
	url := "http://" + advertised(ln.Addr())

	// Requests (watches above all) end when the server shuts down.
	reqCtx, cancelReqs := context.WithCancel(context.WithoutCancel(ctx))
	hs := &http.Server{
		Handler:           srv.Handler(),
		ReadHeaderTimeout: 10 * time.Second,
		BaseContext:       func(net.Listener) context.Context { return reqCtx },
		ErrorLog:          slog.NewLogLogger(log.Handler(), slog.LevelDebug),
	}
	runCtx, stopRun := context.WithCancel(ctx)
	errc := make(chan error, 3)
	go func() {
		if err := hs.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			errc <- fmt.Errorf("API server: %w", err)
		}
	}()
	go func() { srv.Run(runCtx) }()

	mgr, err := manager.New(manager.Options{
		Config:                 &rest.Config{Host: url, QPS: -1},
		Controllers:            o.controllers,
		ClusterCIDR:            o.clusterCIDR,
		NodeCIDRMaskSize:       o.nodeCIDRMaskSize,
		NodeMonitorGracePeriod: o.nodeMonitorGracePeriod,
		PodEvictionTimeout:     o.podEvictionTimeout,
		Logger:                 log,
	}, manager.ElectorFrom(store.Elect))
	if err != nil {
		stopRun()
		hs.Close()
		cancelReqs()
		return fail(err)
	}
	mgrDone := make(chan struct{})
	go func() {
		defer close(mgrDone)
		if err := mgr.Run(runCtx); err != nil && runCtx.Err() == nil {
			errc <- fmt.Errorf("controllers: %w", err)
		}
	}()
	log.Info("API server listening", "url", url, "storage", storageName(o))

	done := make(chan error, 1)
	go func() {
		var err error
		select {
		case <-ctx.Done():
		case err = <-errc:
		}
		log.Info("shutting down")
		stopRun()
		<-mgrDone
		cancelReqs()
		sctx, cancel := context.WithTimeout(context.Background(), 10*time.Second)
		hs.Shutdown(sctx)
		cancel()
		for i := len(cleanup) - 1; i >= 0; i-- {
			cleanup[i]()
		}
		done <- err
	}()
	return &controlPlane{url: url, done: done}, nil
}

// openStore connects to the external etcd cluster, or starts the embedded one.
func openStore(ctx context.Context, o serverOptions, log *slog.Logger) (*storage.Etcd, func(), error) {
	if len(o.etcdServers) > 0 {
		s, err := storage.Dial(ctx, storage.EtcdConfig{Endpoints: o.etcdServers})
		if err != nil {
			return nil, nil, fmt.Errorf("%w (check --etcd-servers)", err)
		}
		return s, func() { s.Close() }, nil
	}
	dir := serverdata.EtcdDir(o.dataDir)
	m, err := embedetcd.Start(ctx, embedetcd.Config{Dir: dir})
	if err != nil {
		return nil, nil, err
	}
	log.Info("embedded etcd ready", "dir", dir, "endpoints", m.Endpoints)
	return m.Store, m.Close, nil
}

func storageName(o serverOptions) string {
	if len(o.etcdServers) > 0 {
		return "etcd " + strings.Join(o.etcdServers, ",")
	}
	return "embedded etcd in " + o.dataDir
}

// advertised is the address clients use: a wildcard listen address is
// reached through loopback.
func advertised(a net.Addr) string {
	ap, err := netip.ParseAddrPort(a.String())
	if err != nil {
		return a.String()
	}
	if ap.Addr().IsUnspecified() {
		return net.JoinHostPort("127.0.0.1", strconv.Itoa(int(ap.Port())))
	}
	return ap.String()
}

func newLogger(io stdio, level string) (*slog.Logger, error) {
	var l slog.Level
	if err := l.UnmarshalText([]byte(level)); err != nil {
		return nil, fmt.Errorf("--log-level %q: use debug, info, warn or error", level)
	}
	return slog.New(slog.NewTextHandler(io.err, &slog.HandlerOptions{Level: l})), nil
}
