package gc

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/api/meta"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/util/wait"
	"k8s.io/client-go/discovery"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/metadata/metadatainformer"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"

	"github.com/tug-sh/tug/control/controller/internal/apiresources"
	"github.com/tug-sh/tug/control/controller/internal/loop"
)

// DefaultWorkers is the default number of concurrent attempts.
const DefaultWorkers = 5

// Config configures a Collector.
type Config struct {
	// Metadata feeds the informers: only the objects' metadata is
	// watched and kept, which is all the graph needs.
	Metadata metadata.Interface
	// Dynamic reads and updates whole objects (removing finalizers and
	// owner references).
	Dynamic   dynamic.Interface
	Discovery discovery.DiscoveryInterface
	Logger    *slog.Logger
	Workers   int
	// Resync is the informers' resync period (none when 0).
	Resync time.Duration
}

// Collector is the garbage collector.
type Collector struct {
	cfg    Config
	log    *slog.Logger
	graph  *graph
	delete workqueue.TypedRateLimitingInterface[types.UID]
	orphan workqueue.TypedRateLimitingInterface[types.UID]

	mu        sync.Mutex
	resources []apiresources.Resource
}

// New builds a Collector; it discovers and watches resources in Run.
func New(cfg Config) (*Collector, error) {
	if cfg.Metadata == nil || cfg.Dynamic == nil || cfg.Discovery == nil {
		return nil, errors.New("gc: Config needs Metadata, Dynamic and Discovery")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	return &Collector{
		cfg:   cfg,
		log:   cfg.Logger.With("controller", "garbagecollector"),
		graph: newGraph(),
		delete: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.UID](),
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "gc-attempt-to-delete"}),
		orphan: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[types.UID](),
			workqueue.TypedRateLimitingQueueConfig[types.UID]{Name: "gc-orphan"}),
	}, nil
}

// monitored reports whether the collector watches a resource: it must be
// listable, watchable, readable, writable and deletable; events are left out
// (many, short-lived, never owners).
func monitored(r apiresources.Resource) bool {
	if r.GVR.Resource == "events" {
		return false
	}
	return r.Has("list", "watch", "get", "update", "delete")
}

// Run discovers the resources, watches them, and collects until ctx ends.
func (c *Collector) Run(ctx context.Context) error {
	defer c.delete.ShutDown()
	defer c.orphan.ShutDown()
	var all []apiresources.Resource
	err := wait.PollUntilContextCancel(ctx, time.Second, true, func(context.Context) (bool, error) {
		var err error
		all, err = apiresources.Discover(c.cfg.Discovery)
		if err != nil {
			c.log.Warn("discovery failed; retrying", "err", err)
		}
		return len(all) > 0, nil
	})
	if err != nil {
		return fmt.Errorf("gc: discovering resources: %w", err)
	}
	var watched []apiresources.Resource
	for _, r := range all {
		if monitored(r) {
			watched = append(watched, r)
		}
	}
	c.mu.Lock()
	c.resources = all
	c.mu.Unlock()

	factory := metadatainformer.NewSharedInformerFactory(c.cfg.Metadata, c.cfg.Resync)
	var synced []cache.InformerSynced
	for _, r := range watched {
		inf := factory.ForResource(r.GVR).Informer()
		if _, err := inf.AddEventHandler(c.handler(r)); err != nil {
			return fmt.Errorf("gc: watching %s: %w", r.GVR.Resource, err)
		}
		synced = append(synced, inf.HasSynced)
	}
	factory.Start(ctx.Done())
	defer factory.Shutdown()
	if err := loop.WaitForSync(ctx, "gc", synced...); err != nil {
		return err
	}
	names := make([]string, len(watched))
	for i, r := range watched {
		names[i] = r.GVR.Resource
	}
	c.log.Info("garbage collector started", "resources", names, "workers", c.cfg.Workers)
	return loop.Work(ctx,
		loop.Config[types.UID]{Queue: c.delete, Workers: c.cfg.Workers, Sync: c.attemptToDelete,
			Log: c.log, Failed: "attempt to delete failed; retrying", KeyAttr: "uid"},
		loop.Config[types.UID]{Queue: c.orphan, Workers: c.cfg.Workers, Sync: c.orphanDependents,
			Log: c.log, Failed: "orphan dependents failed; retrying", KeyAttr: "uid"})
}

func objectFrom(r apiresources.Resource, obj any) (*object, bool) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	m, err := meta.Accessor(obj)
	if err != nil {
		return nil, false
	}
	return &object{
		uid:        m.GetUID(),
		res:        r,
		namespace:  m.GetNamespace(),
		name:       m.GetName(),
		owners:     m.GetOwnerReferences(),
		finalizers: m.GetFinalizers(),
		deleting:   m.GetDeletionTimestamp() != nil,
	}, true
}

func (c *Collector) handler(r apiresources.Resource) cache.ResourceEventHandler {
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.observe(r, obj) },
		UpdateFunc: func(_, cur any) { c.observe(r, cur) },
		DeleteFunc: func(obj any) {
			o, ok := objectFrom(r, obj)
			if !ok {
				return
			}
			c.graph.remove(o.uid)
			// Its dependents lost an owner.
			for _, d := range c.graph.dependentsOf(o.uid) {
				c.delete.Add(d.uid)
			}
			// An owner waiting for its dependents may be done now.
			for _, ref := range o.owners {
				if owner, ok := c.graph.get(ref.UID); ok && owner.waitingForDependents() {
					c.delete.Add(owner.uid)
				}
			}
		},
	}
}

// observe records an added or updated object and queues what it may
// require.
func (c *Collector) observe(r apiresources.Resource, obj any) {
	o, ok := objectFrom(r, obj)
	if !ok {
		return
	}
	old := c.graph.upsert(o)
	// A dependent whose owner is unknown or waiting needs a decision.
	for _, ref := range o.owners {
		owner, known := c.graph.get(ref.UID)
		if !known || owner.waitingForDependents() {
			c.delete.Add(o.uid)
			break
		}
	}
	if o.orphaning() {
		c.orphan.Add(o.uid)
	}
	if o.waitingForDependents() {
		c.delete.Add(o.uid)
		if old == nil || !old.waitingForDependents() {
			for _, d := range c.graph.dependentsOf(o.uid) {
				c.delete.Add(d.uid)
			}
		}
	}
}

func (c *Collector) client(r apiresources.Resource, namespace string) dynamic.ResourceInterface {
	if r.Namespaced {
		return c.cfg.Dynamic.Resource(r.GVR).Namespace(namespace)
	}
	return c.cfg.Dynamic.Resource(r.GVR)
}

// attemptToDelete decides about one object: a dependent whose owners may
// be gone or waiting, or an owner being deleted in the foreground.
func (c *Collector) attemptToDelete(ctx context.Context, uid types.UID) error {
	o, ok := c.graph.get(uid)
	if !ok {
		return nil
	}
	if o.deleting {
		if o.waitingForDependents() {
			return c.processForeground(ctx, o)
		}
		return nil
	}
	if len(o.owners) == 0 || c.ownersSolidInGraph(o) {
		return nil
	}
	// Decide on the object as it is now, not as the cache has it.
	latest, err := c.client(o.res, o.namespace).Get(ctx, o.name, metav1.GetOptions{})
	if apierrors.IsNotFound(err) {
		return nil
	}
	if err != nil {
		return fmt.Errorf("reading %s: %w", o, err)
	}
	if latest.GetUID() != uid || latest.GetDeletionTimestamp() != nil {
		return nil
	}
	var lookupErr error
	solid, dangling, waiting := Classify(latest.GetOwnerReferences(), func(ref metav1.OwnerReference) OwnerState {
		s, err := c.ownerState(ctx, ref, o.namespace)
		if err != nil && lookupErr == nil {
			lookupErr = err
		}
		return s
	})
	if lookupErr != nil {
		return lookupErr
	}
	act := DecideDependent(latest.GetFinalizers(), c.graph.hasDependents(uid), solid, dangling, waiting)
	switch act.Kind {
	case RemoveRefs:
		c.log.Info("removing references to deleted owners", "object", o.String(), "owners", act.UIDs)
		return c.updateObject(ctx, o, removeOwners(act.UIDs))
	case Delete:
		c.log.Info("deleting object whose owners are gone", "object", o.String(), "policy", act.Policy)
		err := c.client(o.res, o.namespace).Delete(ctx, o.name, metav1.DeleteOptions{
			Preconditions:     &metav1.Preconditions{UID: &uid},
			PropagationPolicy: &act.Policy,
		})
		if err != nil && !apierrors.IsNotFound(err) && !apierrors.IsConflict(err) {
			return fmt.Errorf("deleting %s: %w", o, err)
		}
	}
	return nil
}

// ownersSolidInGraph reports whether every owner of o is known and not
// waiting: the common case, decided without reading anything.
func (c *Collector) ownersSolidInGraph(o *object) bool {
	for _, ref := range o.owners {
		owner, ok := c.graph.get(ref.UID)
		if !ok || owner.waitingForDependents() {
			return false
		}
	}
	return true
}

// ownerState classifies one owner reference of an object in namespace,
// from the graph or, for an owner the graph does not know, from a live read.
func (c *Collector) ownerState(ctx context.Context, ref metav1.OwnerReference, namespace string) (OwnerState, error) {
	if owner, ok := c.graph.get(ref.UID); ok {
		if owner.waitingForDependents() {
			return Waiting, nil
		}
		return Solid, nil
	}
	res, ok := c.resourceFor(ref.APIVersion, ref.Kind)
	if !ok {
		// Unknown kind: never delete on uncertainty.
		c.log.Debug("owner kind not served; keeping the dependent", "apiVersion", ref.APIVersion, "kind", ref.Kind)
		return Solid, nil
	}
	live, err := c.client(res, namespace).Get(ctx, ref.Name, metav1.GetOptions{})
	switch {
	case apierrors.IsNotFound(err):
		return Dangling, nil
	case err != nil:
		return Solid, fmt.Errorf("reading owner %s %s: %w", ref.Kind, ref.Name, err)
	case live.GetUID() != ref.UID:
		return Dangling, nil
	case live.GetDeletionTimestamp() != nil && hasString(live.GetFinalizers(), FinalizerForeground):
		return Waiting, nil
	}
	return Solid, nil
}

func (c *Collector) resourceFor(apiVersion, kind string) (apiresources.Resource, bool) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for _, r := range c.resources {
		if r.Kind == kind && r.APIVersion() == apiVersion {
			return r, true
		}
	}
	return apiresources.Resource{}, false
}

// processForeground deletes an owner's dependents and, once no blocking
// dependent is left, removes its foregroundDeletion finalizer.
func (c *Collector) processForeground(ctx context.Context, owner *object) error {
	deps := c.graph.dependentsOf(owner.uid)
	ds := make([]Dependent, len(deps))
	for i, d := range deps {
		ds[i] = Dependent{UID: d.uid, OwnerRefs: d.owners}
	}
	blocking := BlockingDependents(owner.uid, ds)
	if len(blocking) == 0 {
		c.log.Info("dependents gone; finishing foreground deletion", "object", owner.String())
		return c.updateObject(ctx, owner, removeFinalizer(FinalizerForeground))
	}
	for _, d := range deps {
		if !d.deleting {
			c.delete.Add(d.uid)
		}
	}
	return nil
}

// orphanDependents removes an owner's references from its dependents, then
// its orphan finalizer.
func (c *Collector) orphanDependents(ctx context.Context, uid types.UID) error {
	owner, ok := c.graph.get(uid)
	if !ok || !owner.orphaning() {
		return nil
	}
	var errs []error
	for _, d := range c.graph.dependentsOf(uid) {
		if err := c.updateObject(ctx, d, removeOwners([]types.UID{uid})); err != nil {
			errs = append(errs, err)
		}
	}
	if err := errors.Join(errs...); err != nil {
		return err
	}
	c.log.Info("dependents orphaned; finishing deletion", "object", owner.String())
	return c.updateObject(ctx, owner, removeFinalizer(FinalizerOrphan))
}

// removeFinalizer is an updateObject change that drops one finalizer.
func removeFinalizer(name string) func(*unstructured.Unstructured) bool {
	return func(u *unstructured.Unstructured) bool {
		f := u.GetFinalizers()
		if !hasString(f, name) {
			return false
		}
		u.SetFinalizers(WithoutString(f, name))
		return true
	}
}

// removeOwners is an updateObject change that drops the references to
// owners.
func removeOwners(owners []types.UID) func(*unstructured.Unstructured) bool {
	return func(u *unstructured.Unstructured) bool {
		refs := u.GetOwnerReferences()
		kept := WithoutOwners(refs, owners)
		if len(kept) == len(refs) {
			return false
		}
		u.SetOwnerReferences(kept)
		return true
	}
}

// updateObject reads o, applies change (which reports whether it changed
// anything) and writes it back, retrying on conflict. A vanished or
// replaced object is not an error.
func (c *Collector) updateObject(ctx context.Context, o *object, change func(*unstructured.Unstructured) bool) error {
	cl := c.client(o.res, o.namespace)
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
		u, err := cl.Get(ctx, o.name, metav1.GetOptions{})
		if err != nil {
			return err
		}
		if u.GetUID() != o.uid || !change(u) {
			return nil
		}
		_, err = cl.Update(ctx, u, metav1.UpdateOptions{})
		return err
	})
	if err != nil && !apierrors.IsNotFound(err) {
		return fmt.Errorf("updating %s: %w", o, err)
	}
	return nil
}
