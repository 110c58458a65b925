package nodeipam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"

	"github.com/tug-sh/tug/control/allocator"
	"github.com/tug-sh/tug/control/controller/internal/loop"
)

// Component is the event source component of the controller.
const Component = "cidrAllocator"

// Config configures a Controller.
type Config struct {
	Client kubernetes.Interface
	Nodes  coreinformers.NodeInformer
	// Recorder records events; give it source component Component.
	Recorder record.EventRecorder
	Logger   *slog.Logger
	// ClusterCIDR is split into subnets of NodeMaskSize bits.
	ClusterCIDR  netip.Prefix
	NodeMaskSize int
}

// Controller assigns pod CIDRs to nodes.
type Controller struct {
	cfg    Config
	log    *slog.Logger
	nodes  corelisters.NodeLister
	synced cache.InformerSynced
	queue  workqueue.TypedRateLimitingInterface[string]

	mu     sync.Mutex // guards assign
	assign *Assigner
}

// New validates the CIDR configuration and registers the node handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Nodes == nil || cfg.Recorder == nil {
		return nil, errors.New("nodeipam: Config needs Client, Nodes and Recorder")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	a, err := NewAssigner(cfg.ClusterCIDR, cfg.NodeMaskSize)
	if err != nil {
		return nil, fmt.Errorf("nodeipam: %w", err)
	}
	c := &Controller{
		cfg:    cfg,
		log:    cfg.Logger.With("controller", "nodeipam"),
		nodes:  cfg.Nodes.Lister(),
		synced: cfg.Nodes.Informer().HasSynced,
		// Exhaustion is retried; cap the backoff so a freed subnet is
		// used within half a minute even without a deletion event.
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "nodeipam"}),
		assign: a,
	}
	_, err = cfg.Nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.queue.Add(obj.(*v1.Node).Name) },
		UpdateFunc: func(_, cur any) { c.queue.Add(cur.(*v1.Node).Name) },
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if n, ok := obj.(*v1.Node); ok {
				c.queue.Add(n.Name)
			}
		},
	})
	if err != nil {
		return nil, fmt.Errorf("nodeipam: watching nodes: %w", err)
	}
	return c, nil
}

// Run rebuilds the allocation from the existing nodes, then assigns
// subnets until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	defer c.queue.ShutDown()
	if err := loop.WaitForSync(ctx, "nodeipam", c.synced); err != nil {
		return err
	}
	c.occupyExisting()
	c.log.Info("node IPAM started", "clusterCIDR", c.cfg.ClusterCIDR, "maskSize", c.cfg.NodeMaskSize, "free", c.assign.Free())
	// One worker: the assigner is consulted and changed in order.
	// Exhaustion is retried quietly: sync records a CIDRNotAvailable event.
	return loop.Work(ctx, loop.Config[string]{
		Queue: c.queue, Workers: 1, Sync: c.sync,
		Log: c.log, Failed: "assigning pod CIDR failed; retrying", KeyAttr: "node", Quiet: allocator.ErrFull,
	})
}

// occupyExisting reads the subnets the nodes already have, in name order
// (so that a conflict is resolved the same way on every start).
func (c *Controller) occupyExisting() {
	nodes, _ := c.nodes.List(labels.Everything())
	sort.Slice(nodes, func(i, j int) bool { return nodes[i].Name < nodes[j].Name })
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, n := range nodes {
		if n.Spec.PodCIDR == "" {
			continue
		}
		if err := c.assign.Occupy(n.Name, n.Spec.PodCIDR); err != nil {
			c.reportBadCIDR(n, err)
		}
	}
}

func (c *Controller) reportBadCIDR(n *v1.Node, err error) {
	c.log.Warn("node's podCIDR cannot be recorded", "node", n.Name, "podCIDR", n.Spec.PodCIDR, "err", err)
	c.cfg.Recorder.Eventf(n, v1.EventTypeWarning, "CIDRAssignmentFailed", "%v", err)
}

func (c *Controller) sync(ctx context.Context, name string) error {
	node, err := c.nodes.Get(name)
	if apierrors.IsNotFound(err) {
		c.release(name)
		return nil
	}
	if err != nil {
		return err
	}
	c.mu.Lock()
	if node.Spec.PodCIDR != "" {
		p, ok := c.assign.Lookup(name)
		var err error
		if !ok || p.String() != node.Spec.PodCIDR {
			err = c.assign.Occupy(name, node.Spec.PodCIDR)
		}
		c.mu.Unlock()
		if err != nil {
			c.reportBadCIDR(node, err)
		}
		return nil
	}
	cidr, err := c.assign.Assign(name)
	c.mu.Unlock()
	if errors.Is(err, allocator.ErrFull) {
		c.cfg.Recorder.Eventf(node, v1.EventTypeWarning, "CIDRNotAvailable", "no remaining CIDRs in %s for node %s", c.cfg.ClusterCIDR, name)
		return err
	}
	if err != nil {
		return err
	}
	if err := c.write(ctx, name, cidr); err != nil {
		if apierrors.IsNotFound(err) {
			c.release(name)
			return nil
		}
		return err
	}
	c.log.Info("assigned pod CIDR", "node", name, "podCIDR", cidr)
	return nil
}

// write sets the node's podCIDR(s), re-reading it on conflict.
func (c *Controller) write(ctx context.Context, name string, cidr netip.Prefix) error {
	nodes := c.cfg.Client.CoreV1().Nodes()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		n, err := nodes.Get(ctx, name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if n.Spec.PodCIDR != "" {
			if n.Spec.PodCIDR != cidr.String() {
				// Someone else set one meanwhile: the update event
				// brings it to sync, which records it.
				c.release(name)
			}
			return nil
		}
		n.Spec.PodCIDR = cidr.String()
		n.Spec.PodCIDRs = []string{cidr.String()}
		_, err = nodes.Update(ctx, n, metav1.UpdateOptions{})
		return err
	})
}

// release frees a deleted node's subnet and retries the nodes that wait
// for one.
func (c *Controller) release(name string) {
	c.mu.Lock()
	_, had := c.assign.Lookup(name)
	c.assign.Release(name)
	c.mu.Unlock()
	if !had {
		return
	}
	c.log.Info("released pod CIDR", "node", name)
	nodes, _ := c.nodes.List(labels.Everything())
	for _, n := range nodes {
		if n.Spec.PodCIDR == "" {
			c.queue.Add(n.Name)
		}
	}
}
