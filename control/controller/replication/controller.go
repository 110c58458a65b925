package replication

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
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/types"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"
	"k8s.io/client-go/util/workqueue"
	"k8s.io/utils/clock"

	"github.com/tug-sh/tug/control/controller/internal/loop"
)

// Component is the event source component of the controller.
const Component = "replication-controller"

// Defaults.
const (
	DefaultWorkers = 5
	// BurstReplicas bounds the creations or deletions of one sync.
	BurstReplicas = 500
)

// Event reasons.
const (
	ReasonSuccessfulCreate = "SuccessfulCreate"
	ReasonFailedCreate     = "FailedCreate"
	ReasonSuccessfulDelete = "SuccessfulDelete"
	ReasonFailedDelete     = "FailedDelete"
)

// Config configures a Controller.
type Config struct {
	Client kubernetes.Interface
	// Pods and RCs are the informers to watch (normally from the shared
	// factory; a test may pass a delayed one).
	Pods coreinformers.PodInformer
	RCs  coreinformers.ReplicationControllerInformer
	// Recorder records events; give it source component Component.
	Recorder record.EventRecorder
	Logger   *slog.Logger
	Workers  int // DefaultWorkers when 0
	// BurstReplicas bounds creations/deletions per sync (BurstReplicas when 0).
	BurstReplicas int
	Clock         clock.Clock
}

// Controller is the replication controller.
type Controller struct {
	cfg          Config
	log          *slog.Logger
	pods         corelisters.PodLister
	rcs          corelisters.ReplicationControllerLister
	synced       []cache.InformerSynced
	queue        workqueue.TypedRateLimitingInterface[string]
	expectations *Expectations
}

// New builds a Controller and registers its informer handlers.
func New(cfg Config) (*Controller, error) {
	if cfg.Client == nil || cfg.Pods == nil || cfg.RCs == nil || cfg.Recorder == nil {
		return nil, errors.New("replication: Config needs Client, Pods, RCs and Recorder")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Workers <= 0 {
		cfg.Workers = DefaultWorkers
	}
	if cfg.BurstReplicas <= 0 {
		cfg.BurstReplicas = BurstReplicas
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	c := &Controller{
		cfg:    cfg,
		log:    cfg.Logger.With("controller", "replication"),
		pods:   cfg.Pods.Lister(),
		rcs:    cfg.RCs.Lister(),
		synced: []cache.InformerSynced{cfg.Pods.Informer().HasSynced, cfg.RCs.Informer().HasSynced},
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(workqueue.DefaultTypedControllerRateLimiter[string](),
			workqueue.TypedRateLimitingQueueConfig[string]{Name: "replication"}),
		expectations: NewExpectations(cfg.Clock),
	}
	if _, err := cfg.RCs.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    c.enqueue,
		UpdateFunc: func(_, cur any) { c.enqueue(cur) },
		DeleteFunc: func(obj any) {
			if key, err := cache.DeletionHandlingMetaNamespaceKeyFunc(obj); err == nil {
				c.expectations.Delete(key)
				c.queue.Add(key)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("replication: watching replicationcontrollers: %w", err)
	}
	if _, err := cfg.Pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { c.addPod(obj.(*v1.Pod)) },
		UpdateFunc: func(old, cur any) { c.updatePod(old.(*v1.Pod), cur.(*v1.Pod)) },
		DeleteFunc: c.deletePod,
	}); err != nil {
		return nil, fmt.Errorf("replication: watching pods: %w", err)
	}
	return c, nil
}

// Run syncs controllers until ctx ends, then waits for its workers.
func (c *Controller) Run(ctx context.Context) error {
	return loop.Run(ctx, loop.Config[string]{
		Name: "replication", Synced: c.synced, Queue: c.queue, Workers: c.cfg.Workers, Sync: c.sync,
		Log: c.log, Failed: "sync failed; retrying", KeyAttr: "rc",
	})
}

func (c *Controller) enqueue(obj any) {
	if key, err := cache.MetaNamespaceKeyFunc(obj); err == nil {
		c.queue.Add(key)
	}
}

// resolveRef returns the key of the RC a controller reference points to, if
// that RC exists with that UID.
func (c *Controller) resolveRef(ns string, ref *metav1.OwnerReference) (string, bool) {
	if ref == nil || ref.Kind != Kind || ref.APIVersion != APIVersion {
		return "", false
	}
	rc, err := c.rcs.ReplicationControllers(ns).Get(ref.Name)
	if err != nil || rc.UID != ref.UID {
		return "", false
	}
	return ns + "/" + ref.Name, true
}

// enqueueMatching queues every RC whose selector matches an orphan pod.
func (c *Controller) enqueueMatching(pod *v1.Pod) {
	rcs, err := c.rcs.ReplicationControllers(pod.Namespace).List(labels.Everything())
	if err != nil {
		return
	}
	for _, rc := range rcs {
		if len(rc.Spec.Selector) > 0 && labels.SelectorFromSet(rc.Spec.Selector).Matches(labels.Set(pod.Labels)) {
			c.enqueue(rc)
		}
	}
}

func (c *Controller) addPod(pod *v1.Pod) {
	if pod.DeletionTimestamp != nil {
		// Seen for the first time already being deleted (e.g. after a
		// relist): it will not count, so its deletion is as good as seen.
		c.deletePod(pod)
		return
	}
	if key, ok := c.resolveRef(pod.Namespace, metav1.GetControllerOf(pod)); ok {
		c.expectations.CreationObserved(key)
		c.queue.Add(key)
		return
	}
	if metav1.GetControllerOf(pod) == nil {
		c.enqueueMatching(pod)
	}
}

func (c *Controller) updatePod(old, cur *v1.Pod) {
	if old.ResourceVersion == cur.ResourceVersion {
		return // periodic resync; the RC resync covers it
	}
	labelsChanged := !labels.Equals(old.Labels, cur.Labels)
	if cur.DeletionTimestamp != nil {
		c.deletePod(cur)
		if labelsChanged {
			c.deletePod(old)
		}
		return
	}
	oldRef, curRef := metav1.GetControllerOf(old), metav1.GetControllerOf(cur)
	refChanged := (oldRef == nil) != (curRef == nil) || (oldRef != nil && oldRef.UID != curRef.UID)
	if refChanged {
		if key, ok := c.resolveRef(old.Namespace, oldRef); ok {
			c.queue.Add(key)
		}
	}
	if key, ok := c.resolveRef(cur.Namespace, curRef); ok {
		c.queue.Add(key)
		// A pod that just became ready becomes available after
		// minReadySeconds: look again then.
		if rc, err := c.rcs.ReplicationControllers(cur.Namespace).Get(curRef.Name); err == nil && rc.Spec.MinReadySeconds > 0 {
			c.queue.AddAfter(key, time.Duration(rc.Spec.MinReadySeconds)*time.Second)
		}
		return
	}
	if curRef == nil && (labelsChanged || refChanged) {
		c.enqueueMatching(cur)
	}
}

func (c *Controller) deletePod(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	ref := metav1.GetControllerOf(pod)
	if ref == nil || ref.Kind != Kind {
		return
	}
	key := pod.Namespace + "/" + ref.Name
	if rc, err := c.rcs.ReplicationControllers(pod.Namespace).Get(ref.Name); err != nil || rc.UID != ref.UID {
		return
	}
	c.expectations.DeletionObserved(key, pod.UID)
	c.queue.Add(key)
}

// sync brings one RC to its desired state.
func (c *Controller) sync(ctx context.Context, key string) error {
	ns, name, err := cache.SplitMetaNamespaceKey(key)
	if err != nil {
		return nil
	}
	rc, err := c.rcs.ReplicationControllers(ns).Get(name)
	if apierrors.IsNotFound(err) {
		c.expectations.Delete(key)
		return nil
	}
	if err != nil {
		return err
	}
	needsSync := c.expectations.Satisfied(key) && rc.DeletionTimestamp == nil

	all, err := c.pods.Pods(ns).List(labels.Everything())
	if err != nil {
		return err
	}
	owned, err := c.claim(ctx, rc, all)
	if err != nil {
		return err
	}
	active := ActivePods(owned)

	var manageErr error
	var failureReason string
	if needsSync {
		failureReason, manageErr = c.manageReplicas(ctx, key, rc, active)
	}
	status := CalculateStatus(rc, active, manageErr, failureReason, c.cfg.Clock.Now())
	if StatusChanged(rc.Status, status) {
		if err := c.updateStatus(ctx, rc, status); err != nil {
			return errors.Join(manageErr, fmt.Errorf("updating status of %s: %w", key, err))
		}
	}
	if manageErr == nil && rc.Spec.MinReadySeconds > 0 && status.ReadyReplicas != status.AvailableReplicas {
		c.queue.AddAfter(key, time.Duration(rc.Spec.MinReadySeconds)*time.Second)
	}
	return manageErr
}

// updateStatus writes status; on a conflict (the cache had an older RC,
// often because of our own previous status write) it re-reads the RC once,
// as Kubernetes does.
func (c *Controller) updateStatus(ctx context.Context, rc *v1.ReplicationController, status v1.ReplicationControllerStatus) error {
	rcs := c.cfg.Client.CoreV1().ReplicationControllers(rc.Namespace)
	cp := rc.DeepCopy()
	for attempt := 0; ; attempt++ {
		cp.Status = status
		_, err := rcs.UpdateStatus(ctx, cp, metav1.UpdateOptions{})
		if err == nil || apierrors.IsNotFound(err) {
			return nil
		}
		if !apierrors.IsConflict(err) || attempt == 1 {
			return err
		}
		fresh, err := rcs.Get(ctx, rc.Name, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return nil
		}
		if err != nil {
			return err
		}
		if fresh.UID != rc.UID || !StatusChanged(fresh.Status, status) {
			return nil
		}
		cp = fresh
	}
}

// claim adopts orphans and releases pods that stopped matching, and returns
// the pods the RC owns afterwards.
func (c *Controller) claim(ctx context.Context, rc *v1.ReplicationController, pods []*v1.Pod) ([]*v1.Pod, error) {
	cl := ClaimPods(rc, pods)
	owned := cl.Owned
	var errs []error
	if len(cl.Adopt) > 0 {
		// Adopt only if the RC, read fresh from the API, is still the one
		// we saw and is not being deleted (the cache may lag).
		fresh, err := c.cfg.Client.CoreV1().ReplicationControllers(rc.Namespace).Get(ctx, rc.Name, metav1.GetOptions{})
		switch {
		case err != nil:
			errs = append(errs, fmt.Errorf("rechecking %s/%s before adoption: %w", rc.Namespace, rc.Name, err))
		case fresh.UID != rc.UID || fresh.DeletionTimestamp != nil:
			// Not ours to adopt anymore.
		default:
			for _, pod := range cl.Adopt {
				adopted, err := c.setControllerRef(ctx, pod, rc, true)
				if err != nil {
					errs = append(errs, err)
				} else if adopted != nil {
					owned = append(owned, adopted)
				}
			}
		}
	}
	for _, pod := range cl.Release {
		if _, err := c.setControllerRef(ctx, pod, rc, false); err != nil {
			errs = append(errs, err)
		}
	}
	return owned, errors.Join(errs...)
}

// setControllerRef adds (adopt) or removes (release) rc's controller
// reference on a pod, re-reading the pod on conflict. It returns the
// updated pod, or nil when the change no longer applies.
func (c *Controller) setControllerRef(ctx context.Context, pod *v1.Pod, rc *v1.ReplicationController, adopt bool) (*v1.Pod, error) {
	pods := c.cfg.Client.CoreV1().Pods(pod.Namespace)
	var result *v1.Pod
	cur := pod
	err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
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
		ref := metav1.GetControllerOf(cur)
		claim := ClaimPods(rc, []*v1.Pod{cur})
		if (adopt && len(claim.Adopt) == 0) || (!adopt && (ref == nil || ref.UID != rc.UID || len(claim.Release) == 0)) {
			return nil
		}
		cp := cur.DeepCopy()
		if adopt {
			cp.OwnerReferences = append(cp.OwnerReferences, ControllerRef(rc))
		} else {
			cp.OwnerReferences = withoutOwner(cp.OwnerReferences, rc.UID)
		}
		updated, err := pods.Update(ctx, cp, metav1.UpdateOptions{})
		if apierrors.IsConflict(err) {
			cur = nil
			return err
		}
		if err != nil {
			return err
		}
		result = updated
		return nil
	})
	if apierrors.IsNotFound(err) {
		return nil, nil
	}
	if err != nil {
		verb := "releasing"
		if adopt {
			verb = "adopting"
		}
		return nil, fmt.Errorf("%s pod %s/%s: %w", verb, pod.Namespace, pod.Name, err)
	}
	return result, nil
}

func withoutOwner(refs []metav1.OwnerReference, uid types.UID) []metav1.OwnerReference {
	var out []metav1.OwnerReference
	for _, r := range refs {
		if r.UID != uid {
			out = append(out, r)
		}
	}
	return out
}

// manageReplicas creates or deletes pods to reach spec.replicas. It
// returns the ReplicaFailure reason and the first error.
func (c *Controller) manageReplicas(ctx context.Context, key string, rc *v1.ReplicationController, active []*v1.Pod) (string, error) {
	want := 1
	if rc.Spec.Replicas != nil {
		want = int(*rc.Spec.Replicas)
	}
	diff := len(active) - want
	switch {
	case diff < 0:
		return ReasonFailedCreate, c.createPods(ctx, key, rc, min(-diff, c.cfg.BurstReplicas))
	case diff > 0:
		victims := RankForDeletion(active)[:min(diff, c.cfg.BurstReplicas)]
		return ReasonFailedDelete, c.deletePods(ctx, key, rc, victims)
	}
	return "", nil
}

func (c *Controller) createPods(ctx context.Context, key string, rc *v1.ReplicationController, n int) error {
	template, err := NewPod(rc)
	if err != nil {
		c.cfg.Recorder.Eventf(rc, v1.EventTypeWarning, ReasonFailedCreate, "Error creating: %v", err)
		return err
	}
	c.expectations.ExpectCreations(key, n)
	began := c.cfg.Clock.Now()
	created := 0
	var firstErr error
	for _, size := range BatchSizes(n, 1) {
		var mu sync.Mutex
		var wg sync.WaitGroup
		for range size {
			wg.Go(func() {
				pod, err := c.cfg.Client.CoreV1().Pods(rc.Namespace).Create(ctx, template.DeepCopy(), metav1.CreateOptions{})
				mu.Lock()
				defer mu.Unlock()
				if apierrors.HasStatusCause(err, v1.NamespaceTerminatingCause) {
					return // the RC itself is about to go
				}
				if err != nil {
					if firstErr == nil {
						firstErr = err
					}
					return
				}
				created++
				c.cfg.Recorder.Eventf(rc, v1.EventTypeNormal, ReasonSuccessfulCreate, "Created pod: %s", pod.Name)
			})
		}
		wg.Wait()
		if firstErr != nil {
			break
		}
	}
	// Creations that failed or never ran will not be observed.
	for range n - created {
		c.expectations.CreationObserved(key)
	}
	if firstErr != nil {
		if ctx.Err() == nil {
			c.cfg.Recorder.Eventf(rc, v1.EventTypeWarning, ReasonFailedCreate, "Error creating: %v", firstErr)
		}
		return fmt.Errorf("creating pods for %s: %w", key, firstErr)
	}
	c.log.Debug("created pods", "rc", key, "count", created, "took", c.cfg.Clock.Since(began))
	return nil
}

func (c *Controller) deletePods(ctx context.Context, key string, rc *v1.ReplicationController, victims []*v1.Pod) error {
	uids := make([]types.UID, len(victims))
	for i, p := range victims {
		uids[i] = p.UID
	}
	c.expectations.ExpectDeletions(key, uids)
	var mu sync.Mutex
	var firstErr error
	var wg sync.WaitGroup
	for _, pod := range victims {
		wg.Go(func() {
			err := c.cfg.Client.CoreV1().Pods(pod.Namespace).Delete(ctx, pod.Name, metav1.DeleteOptions{
				Preconditions: &metav1.Preconditions{UID: &pod.UID},
			})
			if err == nil {
				c.cfg.Recorder.Eventf(rc, v1.EventTypeNormal, ReasonSuccessfulDelete, "Deleted pod: %s", pod.Name)
				return
			}
			// The deletion will not be observed as ours.
			c.expectations.DeletionObserved(key, pod.UID)
			if apierrors.IsNotFound(err) || apierrors.IsConflict(err) {
				return // already gone (or replaced by a namesake)
			}
			if ctx.Err() == nil {
				c.cfg.Recorder.Eventf(rc, v1.EventTypeWarning, ReasonFailedDelete, "Error deleting: %v", err)
			}
			mu.Lock()
			if firstErr == nil {
				firstErr = fmt.Errorf("deleting pod %s/%s: %w", pod.Namespace, pod.Name, err)
			}
			mu.Unlock()
		})
	}
	wg.Wait()
	return firstErr
}
