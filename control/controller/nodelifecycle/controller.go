package nodelifecycle

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/util/wait"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/utils/clock"
)

// Component is the event source component of the controller.
const Component = "node-controller"

// Defaults, as in Kubernetes.
const (
	DefaultGracePeriod     = 40 * time.Second
	DefaultEvictionTimeout = 60 * time.Second
	DefaultMonitorPeriod   = 5 * time.Second
	DefaultEvictionRate    = 0.1 // nodes per second
)

// nodeNameIndex indexes pods by spec.nodeName.
const nodeNameIndex = "tug.sh/spec.nodeName"

// Config configures a Controller.
type Config struct {
	Client   kubernetes.Interface
	Nodes    coreinformers.NodeInformer
	Pods     coreinformers.PodInformer
	Recorder record.EventRecorder // source component Component
	Logger   *slog.Logger
	// GracePeriod, EvictionTimeout, MonitorPeriod: defaults above when 0.
	GracePeriod     time.Duration
	EvictionTimeout time.Duration
	MonitorPeriod   time.Duration
	// EvictionRate bounds how many nodes per second get their pods
	// evicted (DefaultEvictionRate when 0; negative: unlimited).
	EvictionRate float64
	Clock        clock.Clock
}

// Controller is the node lifecycle controller.
type Controller struct {
	cfg    Config
	log    *slog.Logger
	nodes  corelisters.NodeLister
	pods   cache.Indexer
	synced []cache.InformerSynced

	// Only the monitor goroutine touches these.
	health       map[string]Health
	state        map[string]State
	evicted      map[string]bool
	lastEviction time.Time
	missingSince map[string]time.Time
}

// New builds a Controller; call it before the informers start (it adds a
// pod index).
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Nodes == nil || cfg.Pods == nil || cfg.Recorder == nil {
		return nil, errors.New("nodelifecycle: Config needs Client, Nodes, Pods and Recorder")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.GracePeriod <= 0 {
		cfg.GracePeriod = DefaultGracePeriod
	}
	if cfg.EvictionTimeout <= 0 {
		cfg.EvictionTimeout = DefaultEvictionTimeout
	}
	if cfg.MonitorPeriod <= 0 {
		cfg.MonitorPeriod = DefaultMonitorPeriod
	}
	if cfg.EvictionRate == 0 {
		cfg.EvictionRate = DefaultEvictionRate
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	inf := cfg.Pods.Informer()
	if _, ok := inf.GetIndexer().GetIndexers()[nodeNameIndex]; !ok {
		err := inf.AddIndexers(cache.Indexers{nodeNameIndex: func(obj any) ([]string, error) {
			if pod, ok := obj.(*v1.Pod); ok && pod.Spec.NodeName != "" {
				return []string{pod.Spec.NodeName}, nil
			}
			return nil, nil
		}})
		if err != nil {
			return nil, fmt.Errorf("nodelifecycle: indexing pods by node: %w", err)
		}
	}
	return &Controller{
		cfg:          cfg,
		log:          cfg.Logger.With("controller", "nodelifecycle"),
		nodes:        cfg.Nodes.Lister(),
		pods:         inf.GetIndexer(),
		synced:       []cache.InformerSynced{cfg.Nodes.Informer().HasSynced, inf.HasSynced},
		health:       map[string]Health{},
		state:        map[string]State{},
		evicted:      map[string]bool{},
		missingSince: map[string]time.Time{},
	}, nil
}

// Run monitors nodes every MonitorPeriod until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), c.synced...) {
		return fmt.Errorf("nodelifecycle: informers did not sync: %w", ctx.Err())
	}
	c.log.Info("node lifecycle controller started", "grace", c.cfg.GracePeriod, "evictionTimeout", c.cfg.EvictionTimeout)
	wait.UntilWithContext(ctx, c.monitor, c.cfg.MonitorPeriod)
	return nil
}

func (c *Controller) timing() Timing {
	return Timing{GracePeriod: c.cfg.GracePeriod, EvictionTimeout: c.cfg.EvictionTimeout}
}

// monitor is one pass over every node.
func (c *Controller) monitor(ctx context.Context) {
	nodes, err := c.nodes.List(labels.Everything())
	if err != nil {
		return
	}
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	now := c.cfg.Clock.Now()
	decisions := make([]Decision, len(nodes))
	states := make([]State, len(nodes))
	seen := map[string]bool{}
	for i, n := range nodes {
		decisions[i] = Assess(n, c.health[n.Name], now, c.timing())
		c.health[n.Name] = decisions[i].Health
		states[i] = decisions[i].State
		seen[n.Name] = true
	}
	for name := range c.health {
		if !seen[name] {
			delete(c.health, name)
			delete(c.state, name)
			delete(c.evicted, name)
		}
	}
	evictOK := EvictionsAllowed(states)
	for i, n := range nodes {
		if ctx.Err() != nil {
			return
		}
		if err := c.handle(ctx, n, decisions[i], evictOK, now); err != nil {
			c.log.Warn("handling node failed; retrying next pass", "node", n.Name, "err", err)
		}
	}
	c.collectOrphans(ctx, seen, now)
}

func (c *Controller) handle(ctx context.Context, node *v1.Node, d Decision, evictOK bool, now time.Time) error {
	if d.MarkUnknown {
		if _, err := c.cfg.Client.CoreV1().Nodes().UpdateStatus(ctx, MarkUnknown(node, now), metav1.UpdateOptions{}); err != nil {
			return fmt.Errorf("marking node %s Unknown: %w", node.Name, err)
		}
	}
	prev, known := c.state[node.Name]
	c.state[node.Name] = d.State
	switch {
	case known && prev != Ready && d.State == Ready:
		c.cfg.Recorder.Eventf(node, v1.EventTypeNormal, "NodeReady", "Node %s status is now: NodeReady", node.Name)
		c.log.Info("node is ready again", "node", node.Name, "was", prev)
	case (!known || prev == Ready) && d.State != Ready:
		c.cfg.Recorder.Eventf(node, v1.EventTypeNormal, "NodeNotReady", "Node %s status is now: NodeNotReady", node.Name)
		c.log.Info("node is not ready", "node", node.Name, "state", d.State)
	}
	var errs []error
	if err := c.ensureTaints(ctx, node, d.Taints); err != nil {
		errs = append(errs, err)
	}
	if d.State == Ready {
		delete(c.evicted, node.Name)
	}
	if d.State == Unreachable {
		errs = append(errs, c.markPodsNotReady(ctx, node.Name, now))
	}
	if d.State != Ready && evictOK {
		errs = append(errs, c.evictPods(ctx, node, d, now))
	}
	return errors.Join(errs...)
}

// allowEviction applies EvictionRate to nodes starting eviction.
func (c *Controller) allowEviction(now time.Time) bool {
	if c.cfg.EvictionRate < 0 {
		return true
	}
	interval := time.Duration(float64(time.Second) / c.cfg.EvictionRate)
	if !c.lastEviction.IsZero() && now.Sub(c.lastEviction) < interval {
		return false
	}
	c.lastEviction = now
	return true
}

// ensureTaints writes the lifecycle taints, re-reading the node on
// conflict (agents update its status all the time).
func (c *Controller) ensureTaints(ctx context.Context, node *v1.Node, want []v1.Taint) error {
	if _, changed := ReconcileTaints(node.Spec.Taints, want); !changed {
		return nil
	}
	nodes := c.cfg.Client.CoreV1().Nodes()
	cur := node
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		if cur == nil {
			got, err := nodes.Get(ctx, node.Name, metav1.GetOptions{})
			if err != nil {
				return err
			}
			cur = got
		}
		taints, changed := ReconcileTaints(cur.Spec.Taints, want)
		if !changed {
			return nil
		}
		cp := cur.DeepCopy()
		cp.Spec.Taints = taints
		_, err := nodes.Update(ctx, cp, metav1.UpdateOptions{})
		cur = nil
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("updating taints of node %s: %w", node.Name, err)
	}
	return nil
}

func (c *Controller) podsOn(node string) []*v1.Pod {
	objs, err := c.pods.ByIndex(nodeNameIndex, node)
	if err != nil {
		return nil
	}
	pods := make([]*v1.Pod, 0, len(objs))
	for _, o := range objs {
		pods = append(pods, o.(*v1.Pod))
	}
	sort.Slice(pods, func(i, j int) bool { return pods[i].Namespace+"/"+pods[i].Name < pods[j].Namespace+"/"+pods[j].Name })
	return pods
}

func (c *Controller) markPodsNotReady(ctx context.Context, node string, now time.Time) error {
	var errs []error
	for _, pod := range c.podsOn(node) {
		upd := PodNotReady(pod, now)
		if upd == nil {
			continue
		}
		_, err := c.cfg.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, upd, metav1.UpdateOptions{})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("marking pod %s/%s not ready: %w", pod.Namespace, pod.Name, err))
		}
	}
	return errors.Join(errs...)
}

// evictPods deletes at once (grace period 0) the node's pods whose time is
// up (PodEvictable), rate-limiting nodes that start being evicted.
func (c *Controller) evictPods(ctx context.Context, node *v1.Node, d Decision, now time.Time) error {
	var taint v1.Taint
	for _, t := range d.Taints {
		if t.Effect == v1.TaintEffectNoExecute {
			taint = t
		}
	}
	var victims []*v1.Pod
	for _, p := range c.podsOn(node.Name) {
		if PodEvictable(p, taint, d.NotReadyFor, c.cfg.EvictionTimeout) {
			victims = append(victims, p)
		}
	}
	if len(victims) == 0 || !(c.evicted[node.Name] || c.allowEviction(now)) {
		return nil
	}
	c.evicted[node.Name] = true
	c.cfg.Recorder.Eventf(node, v1.EventTypeNormal, "DeletingAllPods", "Deleting all Pods from Node %s.", node.Name)
	c.log.Info("evicting pods from a node that is not ready", "node", node.Name, "pods", len(victims))
	return c.forceDelete(ctx, victims)
}

func (c *Controller) forceDelete(ctx context.Context, pods []*v1.Pod) error {
	var errs []error
	zero := int64(0)
	for _, pod := range pods {
		err := c.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
			GracePeriodSeconds: &zero,
			Preconditions:      &metav1.Preconditions{UID: &pod.UID},
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			errs = append(errs, fmt.Errorf("deleting pod %s/%s: %w", pod.Namespace, pod.Name, err))
		}
	}
	return errors.Join(errs...)
}

// collectOrphans deletes pods bound to nodes that no longer exist, once the
// node has been missing for the grace period and the API confirms it.
func (c *Controller) collectOrphans(ctx context.Context, nodes map[string]bool, now time.Time) {
	missing := map[string]bool{}
	for _, key := range c.pods.ListIndexFuncValues(nodeNameIndex) {
		if !nodes[key] {
			missing[key] = true
		}
	}
	for name := range c.missingSince {
		if !missing[name] {
			delete(c.missingSince, name)
		}
	}
	for name := range missing {
		since, ok := c.missingSince[name]
		if !ok {
			c.missingSince[name] = now
			continue
		}
		if now.Sub(since) < c.cfg.GracePeriod {
			continue
		}
		if _, err := c.cfg.Client.CoreV1().Nodes().Get(ctx, name, metav1.GetOptions{}); !apierrors.IsNotFound(err) {
			continue
		}
		pods := c.podsOn(name)
		c.log.Info("deleting pods bound to a deleted node", "node", name, "pods", len(pods))
		if err := c.forceDelete(ctx, pods); err != nil {
			c.log.Warn("deleting orphaned pods failed", "node", name, "err", err)
		}
	}
}
