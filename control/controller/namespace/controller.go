package namespace

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/tug-sh/tug/control/controller/internal/apiresources"
	"github.com/tug-sh/tug/control/controller/internal/loop"
)

// Defaults.
const (
	DefaultWorkers = 2
	// recheck is how soon a namespace with content left is looked at again.
	recheck = time.Second
	// discoveryTTL is how long a discovered resource list is reused.
	discoveryTTL = 30 * time.Second
)

// Config configures a Controller.
type Config struct {
	Client     kubernetes.Interface
	Dynamic    dynamic.Interface
	Discovery  discovery.DiscoveryInterface
	Namespaces coreinformers.NamespaceInformer
	Logger     *slog.Logger
	Workers    int
}

// Controller empties and finalizes terminating namespaces.
type Controller struct {
	cfg        Config
	log        *slog.Logger
	namespaces corelisters.NamespaceLister
	synced     cache.InformerSynced
	queue      workqueue.TypedRateLimitingInterface[string]

	mu           sync.Mutex
	resources    []apiresources.Resource
	discoveredAt time.Time
}

// New builds a Controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Dynamic == nil || cfg.Discovery == nil || cfg.Namespaces == nil {
		return nil, errors.New("namespace: Config needs Client, Dynamic, Discovery and Namespaces")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	c := &Controller{
		cfg:        cfg,
		log:        cfg.Logger.With("controller", "namespace"),
		namespaces: cfg.Namespaces.Lister(),
		synced:     cfg.Namespaces.Informer().HasSynced,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[string](100*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "namespace"}),
	}
	enqueue := func(obj any) {
		if ns, ok := obj.(*v1.Namespace); ok && Terminating(ns) {
			c.queue.Add(ns.Name)
		}
	}
	if _, err := cfg.Namespaces.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    enqueue,
		UpdateFunc: func(_, cur any) { enqueue(cur) },
	}); err != nil {
		return nil, fmt.Errorf("namespace: watching namespaces: %w", err)
	}
	return c, nil
}

// Run processes terminating namespaces until ctx ends.
func (c *Controller) Run(ctx context.Context) error {
	return loop.Run(ctx, loop.Config[string]{
		Name: "namespace", Synced: []cache.InformerSynced{c.synced}, Queue: c.queue, Workers: c.cfg.Workers,
		Sync: c.sync, Log: c.log, Failed: "namespace deletion step failed; retrying", KeyAttr: "namespace",
		Recheck: errContentLeft, RecheckAfter: recheck,
	})
}

// errContentLeft asks for a quick, non-escalating re-check.
var errContentLeft = errors.New("content left")

func (c *Controller) sync(ctx context.Context, name string) error {
	ns, err := c.namespaces.Get(name)
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return err
	}
	if Plan(ns, -1) == Skip {
		return nil
	}
	remaining, err := c.deleteContent(ctx, name)
	if err != nil {
		return err
	}
	switch Plan(ns, remaining) {
	case DeleteContent:
		c.log.Debug("waiting for namespace content to go", "namespace", name, "remaining", remaining)
		return errContentLeft
	case Finalize:
		_, err := c.cfg.Client.CoreV1().Namespaces().Finalize(ctx, Finalized(ns), metav1.UpdateOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("finalizing namespace %s: %w", name, err)
		}
		c.log.Info("namespace emptied and finalized", "namespace", name)
	}
	return nil
}

func (c *Controller) discover() ([]apiresources.Resource, error) {
	c.mu.Lock()
	defer c.mu.Unlock()
	if c.resources != nil && time.Since(c.discoveredAt) < discoveryTTL {
		return c.resources, nil
	}
	all, err := apiresources.Discover(c.cfg.Discovery)
	if err != nil {
		// A partial discovery would leave content behind unseen.
		return nil, fmt.Errorf("namespace: %w", err)
	}
	c.resources, c.discoveredAt = Deletable(all), time.Now()
	return c.resources, nil
}

// deleteContent deletes every object in the namespace not yet being
// deleted and returns how many objects are still there.
func (c *Controller) deleteContent(ctx context.Context, ns string) (int, error) {
	resources, err := c.discover()
	if err != nil {
		return 0, err
	}
	background := metav1.DeletePropagationBackground
	remaining := 0
	var errs []error
	for _, r := range resources {
		client := c.cfg.Dynamic.Resource(r.GVR).Namespace(ns)
		list, err := client.List(ctx, metav1.ListOptions{})
		if err != nil {
			if apierrors.IsNotFound(err) || apierrors.IsMethodNotSupported(err) {
				continue
			}
			errs = append(errs, fmt.Errorf("listing %s in %s: %w", r.GVR.Resource, ns, err))
			continue
		}
		remaining += len(list.Items)
		for _, item := range list.Items {
			if item.GetDeletionTimestamp() != nil {
				continue
			}
			uid := item.GetUID()
			err := client.Delete(ctx, item.GetName(), metav1.DeleteOptions{
				PropagationPolicy: &background,
				Preconditions:     &metav1.Preconditions{UID: &uid},
			})
			if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
				errs = append(errs, fmt.Errorf("deleting %s %s/%s: %w", r.GVR.Resource, ns, item.GetName(), err))
			}
		}
	}
	return remaining, errors.Join(errs...)
}
