package endpoints

import (
	"context"
	"errors"
	"fmt"
	"log/slog"

	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/tug-sh/tug/control/controller/internal/loop"
)

// DefaultWorkers is the default number of concurrent syncs.
const DefaultWorkers = 5

// Config configures a Controller.
type Config struct {
	Client    kubernetes.Interface
	Pods      coreinformers.PodInformer
	Services  coreinformers.ServiceInformer
	Endpoints coreinformers.EndpointsInformer
	Logger    *slog.Logger
	Workers   int
}

// Controller keeps Endpoints in line with Services and pods.
type Controller struct {
	cfg       Config
	log       *slog.Logger
	pods      corelisters.PodLister
	services  corelisters.ServiceLister
	endpoints corelisters.EndpointsLister
	synced    []cache.InformerSynced
	queue     workqueue.TypedRateLimitingInterface[string]
}

// New builds a Controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Pods == nil || cfg.Services == nil || cfg.Endpoints == nil {
		return nil, errors.New("endpoints: Config needs Client, Pods, Services and Endpoints")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	c := &Controller{
		cfg:       cfg,
		log:       cfg.Logger.With("controller", "endpoints"),
		pods:      cfg.Pods.Lister(),
		services:  cfg.Services.Lister(),
		endpoints: cfg.Endpoints.Lister(),
		synced: []cache.InformerSynced{cfg.Pods.Informer().HasSynced, cfg.Services.Informer().HasSynced,
			cfg.Endpoints.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "endpoints"}),
	}
	handlers := []struct {
		inf cache.SharedIndexInformer
		h   cache.ResourceEventHandler
	}{
		{cfg.Services.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc:    c.enqueueKey,
			UpdateFunc: func(_, cur any) { c.enqueueKey(cur) },
			DeleteFunc: c.enqueueKey,
		}},
		// Someone changing or deleting an Endpoints we manage gets it
		// rewritten.
		{cfg.Endpoints.Informer(), cache.ResourceEventHandlerFuncs{
			UpdateFunc: func(_, cur any) { c.enqueueKey(cur) },
			DeleteFunc: c.enqueueKey,
		}},
		{cfg.Pods.Informer(), cache.ResourceEventHandlerFuncs{
			AddFunc: func(obj any) { c.enqueueServicesOf(obj.(*v1.Pod)) },
			UpdateFunc: func(old, cur any) {
				o, n := old.(*v1.Pod), cur.(*v1.Pod)
				if !Relevant(o, n) {
					return
				}
				c.enqueueServicesOf(n)
				if !labels.Equals(o.Labels, n.Labels) {
					c.enqueueServicesOf(o)
				}
			},
			DeleteFunc: func(obj any) {
				if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
					obj = t.Obj
				}
				if pod, ok := obj.(*v1.Pod); ok {
					c.enqueueServicesOf(pod)
				}
			},
		}},
	}
	for _, h := range handlers {
		if _, err := h.inf.AddEventHandler(h.h); err != nil {
			return nil, fmt.Errorf("endpoints: adding event handler: %w", err)
		}
	}
	return c, nil
}

func (c *Controller) enqueueKey(obj any) {
	if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
		c.queue.Add(key)
	}
}

func (c *Controller) enqueueServicesOf(pod *v1.Pod) {
	svcs, err := c.services.Services(pod.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, svc := range svcs {
		if Selects(svc, pod) {
			c.queue.Add(pod.Namespace + "/" + svc.Name)
		}
	}
}

// Run syncs until ctx ends, then waits for its workers.
func (c *Controller) Run(ctx context.Context) error {
	return loop.Run(ctx, loop.Config[string]{
		Name: "endpoints", Synced: c.synced, Queue: c.queue, Workers: c.cfg.Workers, Sync: c.sync,
		Log: c.log, Failed: "sync failed; retrying", KeyAttr: "service",
	})
}

func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	client := c.cfg.Client.CoreV1().Endpoints(ns)
	svc, err := c.services.Services(ns).Get(name)
	if apierrors.IsNotFound(err) {
		// The Service is gone: so go its Endpoints.
		if _, err := c.endpoints.Endpoints(ns).Get(name); apierrors.IsNotFound(err) {
			return nil
		}
		err := client.Delete(ctx, name, metav1.DeleteOptions{})
		if err != nil && !apierrors.IsNotFound(err) {
			return fmt.Errorf("deleting endpoints %s: %w", key, err)
		}
		return nil
	}
	if err != nil {
		return err
	}
	if len(svc.Spec.Selector) == 0 {
		return nil // user-managed Endpoints
	}
	current, err := c.endpoints.Endpoints(ns).Get(name)
	if apierrors.IsNotFound(err) {
		current = nil
	} else if err != nil {
		return err
	}
	pods, err := c.pods.Pods(ns).List(labels.SelectorFromSet(svc.Spec.Selector))
	if err != nil {
		return err
	}
	want := Desired(svc, current, pods)
	if want == nil {
		return nil
	}
	if current == nil {
		_, err = client.Create(ctx, want, metav1.CreateOptions{})
		if apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause) {
			return nil // the namespace controller is emptying it
		}
		if apierrors.IsAlreadyExists(err) {
			// Our cache lags: retry once it has the object.
			return fmt.Errorf("creating endpoints %s: %w", key, err)
		}
	} else {
		_, err = client.Update(ctx, want, metav1.UpdateOptions{})
	}
	if err != nil {
		if apierrors.IsNotFound(err) && current != nil {
			return fmt.Errorf("endpoints %s vanished while updating; will recreate: %w", key, err)
		}
		return fmt.Errorf("writing endpoints %s: %w", key, err)
	}
	c.log.Debug("endpoints updated", "service", key, "subsets", len(want.Subsets))
	return nil
}
