package agent

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"maps"
	"net"
	"net/http"
	"net/netip"
	"path/filepath"
	"sync"
	"sync/atomic"
	"time"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	apiequality "k8s.io/apimachinery/pkg/api/equality"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/klog/v2"

	"github.com/tug-sh/tug/dataplane/ipam"
	"github.com/tug-sh/tug/dataplane/podnet"
	"github.com/tug-sh/tug/runtime/agent/probe"
	"github.com/tug-sh/tug/runtime/agent/server"
	"github.com/tug-sh/tug/runtime/container"
	"github.com/tug-sh/tug/runtime/image"
)

// Agent is a node agent: it registers its Node, runs the pods bound to it
// and serves their logs, exec and statistics.
type Agent struct {
	cfg     Config
	log     *slog.Logger
	client  kubernetes.Interface
	machine machineInfo
	nodeIP  netip.Addr
	runtime *container.Runtime
	images  *image.Store

	// Set up by Run.
	ctx        context.Context
	recorder   record.EventRecorder
	queue      workqueue.TypedRateLimitingInterface[types.UID]
	podIndex   cache.Indexer
	services   corelisters.ServiceLister
	probes     *probe.Manager
	dialer     netnsDialer
	port       atomic.Int32
	ipam       *ipam.Allocator
	net        *podnet.Node
	podCIDR    netip.Prefix
	netReady   atomic.Bool
	stats      *statsCollector
	heartbeatC chan struct{}

	mu   sync.Mutex
	pods map[types.UID]*podState

	lowersMu sync.Mutex
	lowers   map[string]lowerEntry // image ID → root filesystem
}

// New checks cfg and opens the agent's state (container runtime, image
// store). It changes nothing on the node's network and starts no pod;
// Run does.
func New(cfg Config) (*Agent, error) {
	cfg = cfg.withDefaults()
	if err := cfg.validate(); err != nil {
		return nil, err
	}
	machine, err := readMachineInfo()
	if err != nil {
		return nil, err
	}
	nodeIP := cfg.NodeIP
	if !nodeIP.IsValid() {
		if nodeIP, err = defaultRouteIP(); err != nil {
			return nil, err
		}
	}
	rc := rest.CopyConfig(cfg.RestConfig)
	if rc.UserAgent == "" {
		rc.UserAgent = "tug-agent/" + cfg.NodeName
	}
	if rc.QPS == 0 {
		rc.QPS, rc.Burst = 50, 100
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("agent: API client for %s: %w", rc.Host, err)
	}
	rt, err := container.New(container.Config{
		StateDir:     cfg.containerStateDir(),
		CgroupParent: cfg.CgroupParent,
		Executable:   cfg.Executable,
		Logger:       cfg.Logger.With("subsystem", "container"),
	})
	if err != nil {
		return nil, err
	}
	if err := rt.CheckHost(); err != nil {
		return nil, fmt.Errorf("agent: this node cannot run containers: %w", err)
	}
	images, err := image.Open(image.Config{
		Root:               image.RootIn(cfg.DataDir),
		InsecureRegistries: cfg.InsecureRegistries,
		RegistryMirrors:    cfg.RegistryMirrors,
		Logger:             cfg.Logger.With("subsystem", "image"),
	})
	if err != nil {
		return nil, err
	}
	return &Agent{
		cfg:        cfg,
		log:        cfg.Logger,
		client:     client,
		machine:    machine,
		nodeIP:     nodeIP,
		runtime:    rt,
		images:     images,
		heartbeatC: make(chan struct{}, 1),
		pods:       map[types.UID]*podState{},
		lowers:     map[string]lowerEntry{},
	}, nil
}

// Run runs the agent until ctx ends: it serves its HTTP API, registers
// the Node and keeps its status fresh, waits for the node's pod CIDR, sets
// up the pod bridge, adopts the containers an earlier agent left running,
// and reconciles the pods bound to the node. Stopping leaves the
// containers running: a restarted agent adopts them.
func (a *Agent) Run(ctx context.Context) error {
	defer a.images.Close()
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	a.ctx = ctx

	eventCtx := klog.NewContext(ctx, logr.FromSlogHandler(a.log.With("subsystem", "events").Handler()))
	broadcaster := record.NewBroadcaster(record.WithContext(eventCtx))
	broadcaster.StartRecordingToSink(&typedcorev1.EventSinkImpl{Interface: a.client.CoreV1().Events("")})
	defer broadcaster.Shutdown()
	a.recorder = broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: "kubelet", Host: a.cfg.NodeName})

	ln, err := net.Listen("tcp", a.cfg.Listen)
	if err != nil {
		return fmt.Errorf("agent: listen on %s (--listen): %w", a.cfg.Listen, err)
	}
	a.port.Store(int32(ln.Addr().(*net.TCPAddr).Port))
	srv := &http.Server{Handler: server.Handler(a, a.log.With("subsystem", "server")), ReadHeaderTimeout: 30 * time.Second}
	var wg sync.WaitGroup
	wg.Add(1)
	go func() {
		defer wg.Done()
		if err := srv.Serve(ln); err != nil && !errors.Is(err, http.ErrServerClosed) {
			a.log.Error("agent HTTP server failed", "err", err)
		}
	}()
	defer func() {
		sctx, scancel := context.WithTimeout(context.Background(), 2*time.Second)
		_ = srv.Shutdown(sctx)
		scancel()
		srv.Close()
		wg.Wait()
	}()
	a.log.Info("agent serving", "address", ln.Addr().String(), "node", a.cfg.NodeName, "nodeIP", a.nodeIP)
	if m := a.machine.MinOOMScoreAdj; m > -1000 {
		a.log.Warn("the agent lacks CAP_SYS_RESOURCE: containers' oom_score_adj cannot go below the agent's own; Guaranteed and Burstable pods lose their OOM protection", "minOOMScoreAdj", m)
	}

	a.stats = newStatsCollector(a)
	if err := a.registerNode(ctx); err != nil {
		return ignoreCancel(ctx, err)
	}
	wg.Add(1)
	go func() {
		defer wg.Done()
		a.heartbeatLoop(ctx)
	}()
	if a.cfg.ServiceProxy != nil {
		wg.Add(1)
		go func() {
			defer wg.Done()
			if err := a.cfg.ServiceProxy.Run(ctx); err != nil && ctx.Err() == nil {
				a.log.Error("service proxy stopped", "err", err)
			}
		}()
	}

	cidr, err := a.waitForPodCIDR(ctx)
	if err != nil {
		return ignoreCancel(ctx, err)
	}
	if err := a.setupNetwork(ctx, cidr); err != nil {
		return ignoreCancel(ctx, err)
	}
	defer a.net.Close()
	defer a.ipam.Close()

	a.dialer = netnsDialer{netns: a.cfg.HostNetns}
	a.probes = probe.NewManager(ctx, probe.Config{
		Prober: &probe.Prober{Dial: a.dialer.DialContext, Exec: a.probeExec},
		OnChange: func(uid types.UID) {
			a.queue.Add(uid)
		},
		OnCheck: a.probeEvent,
		Logger:  a.log.With("subsystem", "probe"),
	})
	defer a.probes.Stop()

	a.queue = workqueue.NewTypedRateLimitingQueueWithConfig(
		workqueue.NewTypedItemExponentialFailureRateLimiter[types.UID](500*time.Millisecond, 30*time.Second),
		workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "pods"})
	defer a.queue.ShutDown()

	factory := informers.NewSharedInformerFactoryWithOptions(a.client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", a.cfg.NodeName).String()
		}))
	podInformer := factory.Core().V1().Pods().Informer()
	if err := podInformer.AddIndexers(cache.Indexers{uidIndex: podUIDIndex}); err != nil {
		return fmt.Errorf("agent: pod index: %w", err)
	}
	if _, err := podInformer.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) { a.podChanged(obj) },
		UpdateFunc: func(old, cur any) {
			if podSpecChanged(old, cur) {
				a.podChanged(cur)
			}
		},
		DeleteFunc: func(obj any) { a.podChanged(obj) },
	}); err != nil {
		return fmt.Errorf("agent: pod events: %w", err)
	}
	a.podIndex = podInformer.GetIndexer()
	svcFactory := informers.NewSharedInformerFactory(a.client, 0)
	a.services = svcFactory.Core().V1().Services().Lister()
	factory.Start(ctx.Done())
	svcFactory.Start(ctx.Done())
	defer factory.Shutdown()
	defer svcFactory.Shutdown()
	for _, synced := range []cache.InformerSynced{podInformer.HasSynced, svcFactory.Core().V1().Services().Informer().HasSynced} {
		if !cache.WaitForCacheSync(ctx.Done(), synced) {
			return nil // stopped before the caches synced
		}
	}
	if err := a.adopt(ctx); err != nil {
		return ignoreCancel(ctx, err)
	}
	a.netReady.Store(true)
	a.pokeHeartbeat()

	// The workers use the allocator and the network handles: they end
	// before those are closed (deferred above).
	var workers sync.WaitGroup
	for range a.cfg.Workers {
		workers.Add(1)
		go func() {
			defer workers.Done()
			for a.processNext() {
			}
		}()
	}
	workers.Add(2)
	go func() {
		defer workers.Done()
		a.resyncLoop(ctx)
	}()
	go func() {
		defer workers.Done()
		a.imageGCLoop(ctx)
	}()
	a.log.Info("agent running", "podCIDR", cidr.String(), "workers", a.cfg.Workers)
	<-ctx.Done()
	a.queue.ShutDown()
	a.probes.Stop()
	workers.Wait()
	a.log.Info("agent stopping; containers keep running")
	return nil
}

// ignoreCancel hides the error of a step interrupted by the agent's stop:
// stopping is not a failure.
func ignoreCancel(ctx context.Context, err error) error {
	if ctx.Err() != nil {
		return nil
	}
	return err
}

// pokeHeartbeat asks for a node status update now.
func (a *Agent) pokeHeartbeat() {
	select {
	case a.heartbeatC <- struct{}{}:
	default:
	}
}

const uidIndex = "uid"

func podUIDIndex(obj any) ([]string, error) {
	if p, ok := obj.(*v1.Pod); ok {
		return []string{string(p.UID)}, nil
	}
	return nil, nil
}

// podChanged queues the pod's sync; a deletion that starts cancels the
// sync in flight (an image pull, say), so that stopping begins at once.
func (a *Agent) podChanged(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	if pod.DeletionTimestamp != nil {
		a.mu.Lock()
		ps := a.pods[pod.UID]
		a.mu.Unlock()
		if ps != nil {
			ps.cancelSync()
		}
	}
	a.queue.Add(pod.UID)
}

// podSpecChanged reports whether an update matters to the agent: not its
// own status writes (as the kubelet, which ignores status-only updates).
func podSpecChanged(old, cur any) bool {
	o, ok1 := old.(*v1.Pod)
	c, ok2 := cur.(*v1.Pod)
	if !ok1 || !ok2 {
		return true
	}
	return o.UID != c.UID || !apiequality.Semantic.DeepEqual(o.Spec, c.Spec) ||
		!apiequality.Semantic.DeepEqual(o.DeletionTimestamp, c.DeletionTimestamp) ||
		!apiequality.Semantic.DeepEqual(o.DeletionGracePeriodSeconds, c.DeletionGracePeriodSeconds) ||
		!maps.Equal(o.Labels, c.Labels) || !maps.Equal(o.Annotations, c.Annotations) ||
		o.Status.Phase != c.Status.Phase
}

// lookupPod returns the pod with uid from the informer, nil if the API no
// longer has it.
func (a *Agent) lookupPod(uid types.UID) *v1.Pod {
	objs, err := a.podIndex.ByIndex(uidIndex, string(uid))
	if err != nil || len(objs) == 0 {
		return nil
	}
	return objs[0].(*v1.Pod)
}

func (a *Agent) processNext() bool {
	uid, quit := a.queue.Get()
	if quit {
		return false
	}
	defer a.queue.Done(uid)
	start := time.Now()
	requeue, err := a.sync(uid)
	a.log.Debug("pod synced", "uid", uid, "duration", time.Since(start), "requeue", requeue, "err", err)
	switch {
	case err != nil && a.ctx.Err() == nil:
		a.log.Warn("pod sync failed; retrying", "uid", uid, "err", err)
		a.queue.AddRateLimited(uid)
	case err == nil:
		a.queue.Forget(uid)
		if requeue > 0 {
			a.queue.AddAfter(uid, requeue)
		}
	}
	return true
}

// resyncLoop syncs every known pod periodically, the safety net behind
// events.
func (a *Agent) resyncLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.ResyncInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		a.mu.Lock()
		for uid := range a.pods {
			a.queue.Add(uid)
		}
		a.mu.Unlock()
		for _, obj := range a.podIndex.List() {
			a.queue.Add(obj.(*v1.Pod).UID)
		}
	}
}

// Port is the port the agent's HTTP server listens on (valid once Run has
// started listening).
func (a *Agent) Port() int { return int(a.port.Load()) }

func (a *Agent) hostIP() string { return a.nodeIP.String() }

// logsDir is the directory of a container's log instances.
func (a *Agent) logsDir(uid types.UID, container string) string {
	return filepath.Join(a.podDir(uid), "logs", container)
}
