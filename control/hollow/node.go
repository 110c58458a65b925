package hollow

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"strconv"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
)

// Usage annotations (the scheduler's convention, repeated here so that
// this test-only package does not import the scheduler).
const (
	annotationCPUUsage       = "tug.sh/cpu-usage-nanocores"
	annotationMemoryUsage    = "tug.sh/memory-working-set-bytes"
	annotationUsageTimestamp = "tug.sh/usage-timestamp"
)

// Config describes one hollow node.
type Config struct {
	Client kubernetes.Interface
	Name   string
	Labels map[string]string
	// CPU and Memory are the node's capacity (and allocatable), e.g. "4"
	// and "8Gi"; Pods its pod slots (110 when 0).
	CPU    string
	Memory string
	Pods   int64
	// PodCIDR gives pod IPs while the node has no spec.podCIDR (from
	// node IPAM); required unless node IPAM runs.
	PodCIDR netip.Prefix
	// HeartbeatInterval defaults to 10s.
	HeartbeatInterval time.Duration
	// Workers mark pods running concurrently (2 when 0).
	Workers int
	Logger  *slog.Logger
}

// Node is a running hollow node.
type Node struct {
	cfg      Config
	log      *slog.Logger
	capacity v1.ResourceList
	pods     podSource
	queue    workqueue.TypedInterface[string]
	cancel   context.CancelFunc
	wg       sync.WaitGroup

	mu     sync.Mutex
	paused bool
	pool   *ipPool
	ips    map[types.UID]netip.Addr
}

// Start registers the node and starts heartbeating and handling its pods,
// which it watches itself (fieldSelector spec.nodeName), as an agent does.
// Stop ends it.
func Start(ctx context.Context, cfg Config) (*Node, error) {
	n, err := newNode(ctx, cfg)
	if err != nil {
		return nil, err
	}
	factory := informers.NewSharedInformerFactoryWithOptions(n.cfg.Client, 0,
		informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("spec.nodeName", n.cfg.Name).String()
		}))
	inf := factory.Core().V1().Pods().Informer()
	n.pods = storeSource{inf.GetStore()}
	if _, err := inf.AddEventHandler(n.handler()); err != nil {
		return nil, fmt.Errorf("hollow: node %s: watching pods: %w", n.cfg.Name, err)
	}
	n.start(func(stop <-chan struct{}) {
		factory.Start(stop)
		<-stop
		factory.Shutdown()
	})
	return n, nil
}

// newNode validates cfg and registers the Node object.
func newNode(ctx context.Context, cfg Config) (*Node, error) {
	if cfg.Client == nil || cfg.Name == "" {
		return nil, errors.New("hollow: Config needs Client and Name")
	}
	if cfg.CPU == "" {
		cfg.CPU = "4"
	}
	if cfg.Memory == "" {
		cfg.Memory = "8Gi"
	}
	if cfg.Pods == 0 {
		cfg.Pods = 110
	}
	if cfg.HeartbeatInterval <= 0 {
		cfg.HeartbeatInterval = 10 * time.Second
	}
	if cfg.Workers <= 0 {
		cfg.Workers = 2
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	cpu, err := resource.ParseQuantity(cfg.CPU)
	if err != nil {
		return nil, fmt.Errorf("hollow: node %s: cpu %q: %w", cfg.Name, cfg.CPU, err)
	}
	mem, err := resource.ParseQuantity(cfg.Memory)
	if err != nil {
		return nil, fmt.Errorf("hollow: node %s: memory %q: %w", cfg.Name, cfg.Memory, err)
	}
	n := &Node{
		cfg: cfg,
		log: cfg.Logger.With("hollowNode", cfg.Name),
		capacity: v1.ResourceList{
			v1.ResourceCPU:    cpu,
			v1.ResourceMemory: mem,
			v1.ResourcePods:   *resource.NewQuantity(cfg.Pods, resource.DecimalSI),
		},
		queue: workqueue.NewTyped[string](),
		ips:   map[types.UID]netip.Addr{},
	}
	if cfg.PodCIDR.IsValid() {
		n.pool = newIPPool(cfg.PodCIDR)
	}
	if err := n.register(ctx); err != nil {
		return nil, err
	}
	return n, nil
}

// start runs the workers, the heartbeat and watch (which runs until its
// stop channel closes).
func (n *Node) start(watch func(stop <-chan struct{})) {
	runCtx, cancel := context.WithCancel(context.Background())
	n.cancel = cancel
	n.wg.Go(func() { watch(runCtx.Done()) })
	n.wg.Go(func() {
		<-runCtx.Done()
		n.queue.ShutDown()
	})
	for range n.cfg.Workers {
		n.wg.Go(func() { n.work(runCtx) })
	}
	n.wg.Go(func() {
		wait.UntilWithContext(runCtx, func(ctx context.Context) {
			if n.isPaused() {
				return
			}
			if err := n.heartbeat(ctx); err != nil && ctx.Err() == nil {
				n.log.Warn("heartbeat failed", "err", err)
			}
		}, n.cfg.HeartbeatInterval)
	})
}

func (n *Node) handler() cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    n.enqueue,
		UpdateFunc: func(_, cur any) { n.enqueue(cur) },
		DeleteFunc: n.forget,
	}
}

// Name is the node's name.
func (n *Node) Name() string { return n.cfg.Name }

// Stop ends heartbeats and pod handling and waits for them; the Node
// object stays (see Delete).
func (n *Node) Stop() {
	n.cancel()
	n.wg.Wait()
}

// Delete stops the node and deletes its Node object.
func (n *Node) Delete(ctx context.Context) error {
	n.Stop()
	err := n.cfg.Client.CoreV1().Nodes().Delete(ctx, n.cfg.Name, metav1.DeleteOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	return err
}

// Pause stops heartbeats and pod handling, as if the agent died.
func (n *Node) Pause() {
	n.mu.Lock()
	n.paused = true
	n.mu.Unlock()
}

// Resume restarts heartbeats and pod handling, catching up with the pods
// that changed meanwhile.
func (n *Node) Resume() {
	n.mu.Lock()
	n.paused = false
	n.mu.Unlock()
	for _, key := range n.pods.keys(n.cfg.Name) {
		n.queue.Add(key)
	}
}

func (n *Node) isPaused() bool {
	n.mu.Lock()
	defer n.mu.Unlock()
	return n.paused
}

// register creates the Node (or adopts an existing one of that name) and
// posts its first status.
func (n *Node) register(ctx context.Context) error {
	nodes := n.cfg.Client.CoreV1().Nodes()
	labels := map[string]string{"kubernetes.io/hostname": n.cfg.Name, "kubernetes.io/os": "linux", "tug.sh/hollow": "true"}
	for k, v := range n.cfg.Labels {
		labels[k] = v
	}
	_, err := nodes.Create(ctx, &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: n.cfg.Name, Labels: labels}}, metav1.CreateOptions{})
	if err != nil && !apierrors.IsAlreadyExists(err) {
		return fmt.Errorf("hollow: registering node %s: %w", n.cfg.Name, err)
	}
	if err := n.heartbeat(ctx); err != nil {
		return fmt.Errorf("hollow: first status of node %s: %w", n.cfg.Name, err)
	}
	return nil
}

// heartbeat posts a fresh Ready condition.
func (n *Node) heartbeat(ctx context.Context) error {
	nodes := n.cfg.Client.CoreV1().Nodes()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		node, err := nodes.Get(ctx, n.cfg.Name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		n.adoptPodCIDR(node)
		node.Status = heartbeatStatus(node.Status, n.capacity, n.hostIP(), time.Now())
		_, err = nodes.UpdateStatus(ctx, node, metav1.UpdateOptions{})
		return err
	})
}

// adoptPodCIDR switches pod addresses to the node's assigned podCIDR.
func (n *Node) adoptPodCIDR(node *v1.Node) {
	if node.Spec.PodCIDR == "" {
		return
	}
	p, err := netip.ParsePrefix(node.Spec.PodCIDR)
	if err != nil {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pool == nil || n.pool.prefix != p.Masked() {
		n.pool = newIPPool(p)
	}
}

func (n *Node) hostIP() string {
	n.mu.Lock()
	defer n.mu.Unlock()
	if n.pool == nil {
		return "127.0.0.1"
	}
	return n.pool.hostIP().String()
}

// SetUsage reports measured usage through the node annotations the
// scheduler reads.
func (n *Node) SetUsage(ctx context.Context, cpuNanocores, memoryBytes int64) error {
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": map[string]string{
		annotationCPUUsage:       strconv.FormatInt(cpuNanocores, 10),
		annotationMemoryUsage:    strconv.FormatInt(memoryBytes, 10),
		annotationUsageTimestamp: time.Now().UTC().Format(time.RFC3339),
	}}})
	if err != nil {
		return err
	}
	_, err = n.cfg.Client.CoreV1().Nodes().Patch(ctx, n.cfg.Name, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

func (n *Node) enqueue(obj any) {
	if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
		n.queue.Add(key)
	}
}

func (n *Node) forget(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	n.mu.Lock()
	defer n.mu.Unlock()
	if ip, ok := n.ips[pod.UID]; ok {
		delete(n.ips, pod.UID)
		if n.pool != nil {
			n.pool.release(ip)
		}
	}
}

func (n *Node) work(ctx context.Context) {
	for {
		key, quit := n.queue.Get()
		if quit {
			return
		}
		if !n.isPaused() {
			if err := n.handle(ctx, key); err != nil && ctx.Err() == nil {
				n.log.Warn("handling pod failed; retrying", "pod", key, "err", err)
				n.queue.Done(key)
				time.AfterFunc(200*time.Millisecond, func() { n.queue.Add(key) })
				continue
			}
		}
		n.queue.Done(key)
	}
}

// handle plays the agent's part for one pod.
func (n *Node) handle(ctx context.Context, key string) error {
	pod, ok := n.pods.get(key)
	if !ok || pod.Spec.NodeName != n.cfg.Name {
		return nil
	}
	pods := n.cfg.Client.CoreV1().Pods(pod.Namespace)
	if pod.DeletionTimestamp != nil {
		// "Containers stopped": confirm the deletion.
		zero := int64(0)
		err := pods.Delete(ctx, pod.Name, metav1.DeleteOptions{GracePeriodSeconds: &zero, Preconditions: &metav1.Preconditions{UID: &pod.UID}})
		if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
			return nil
		}
		return err
	}
	if pod.Status.Phase != v1.PodPending && pod.Status.Phase != "" {
		return nil
	}
	ip, err := n.podIP(pod.UID)
	if err != nil {
		return err
	}
	cur := pod
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if cur == nil {
			got, err := pods.Get(ctx, pod.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur = got
		}
		if cur.UID != pod.UID {
			return nil
		}
		if cur.DeletionTimestamp != nil || (cur.Status.Phase != v1.PodPending && cur.Status.Phase != "") {
			return nil
		}
		upd := cur.DeepCopy()
		upd.Status = runningStatus(cur, ip.String(), n.hostIP(), time.Now())
		cur = nil // re-read on conflict
		_, err := pods.UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		return err
	})
}

func (n *Node) podIP(uid types.UID) (netip.Addr, error) {
	n.mu.Lock()
	defer n.mu.Unlock()
	if ip, ok := n.ips[uid]; ok {
		return ip, nil
	}
	if n.pool == nil {
		return netip.Addr{}, fmt.Errorf("hollow: node %s has no pod CIDR yet (no spec.podCIDR, no Config.PodCIDR)", n.cfg.Name)
	}
	ip, err := n.pool.allocate()
	if err != nil {
		return netip.Addr{}, err
	}
	n.ips[uid] = ip
	return ip, nil
}
