package scheduler

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
	"k8s.io/apimachinery/pkg/util/wait"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/utils/clock"

	"github.com/tug-sh/tug/control/controller/internal/podstate"
)

// DefaultSchedulerName is the spec.schedulerName this scheduler serves.
const DefaultSchedulerName = v1.DefaultSchedulerName

// Component is the event source component of the scheduler.
const Component = "default-scheduler"

// DefaultBinders is the default number of concurrent binding requests.
const DefaultBinders = 64

// Config configures a Scheduler.
type Config struct {
	Client kubernetes.Interface
	Pods   coreinformers.PodInformer
	Nodes  coreinformers.NodeInformer
	// Recorder records events; give it source component Component.
	Recorder record.EventRecorder
	Logger   *slog.Logger
	// Binders is the number of bindings in flight at once (DefaultBinders
	// when 0).
	Binders int
	// SchedulerName selects the pods to schedule (DefaultSchedulerName
	// when empty); pods with an empty spec.schedulerName are served too.
	SchedulerName string
	// Clock defaults to the real clock.
	Clock clock.Clock
}

// Scheduler binds pending pods to nodes. Create it with New before the
// informers start, then call Run.
type Scheduler struct {
	cfg    Config
	log    *slog.Logger
	pods   corelisters.PodLister
	synced []cache.InformerSynced
	cache  *schedCache
	queue  *schedulingQueue
	jobs   chan func(context.Context)
}

// New builds a Scheduler and registers its informer handlers.
func New(cfg Config) (*Scheduler, error) {
	if cfg.Client == nil || cfg.Pods == nil || cfg.Nodes == nil || cfg.Recorder == nil {
		return nil, errors.New("scheduler: Config needs Client, Pods, Nodes and Recorder")
	}
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Binders <= 0 {
		cfg.Binders = DefaultBinders
	}
	if cfg.SchedulerName == "" {
		cfg.SchedulerName = DefaultSchedulerName
	}
	if cfg.Clock == nil {
		cfg.Clock = clock.RealClock{}
	}
	s := &Scheduler{
		cfg:    cfg,
		log:    cfg.Logger.With("controller", "scheduler"),
		pods:   cfg.Pods.Lister(),
		synced: []cache.InformerSynced{cfg.Pods.Informer().HasSynced, cfg.Nodes.Informer().HasSynced},
		cache:  newSchedCache(),
		queue:  newSchedulingQueue(cfg.Clock),
		jobs:   make(chan func(context.Context), 2*cfg.Binders),
	}
	if _, err := cfg.Pods.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { s.onPod(nil, obj.(*v1.Pod)) },
		UpdateFunc: func(old, cur any) { s.onPod(old.(*v1.Pod), cur.(*v1.Pod)) },
		DeleteFunc: s.onPodDelete,
	}); err != nil {
		return nil, fmt.Errorf("scheduler: watching pods: %w", err)
	}
	if _, err := cfg.Nodes.Informer().AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc: func(obj any) {
			s.cache.setNode(obj.(*v1.Node))
			s.queue.moveAll()
		},
		UpdateFunc: func(old, cur any) {
			s.cache.setNode(cur.(*v1.Node))
			if nodeMayFitMore(old.(*v1.Node), cur.(*v1.Node)) {
				s.queue.moveAll()
			}
		},
		DeleteFunc: func(obj any) {
			if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
				obj = t.Obj
			}
			if n, ok := obj.(*v1.Node); ok {
				s.cache.removeNode(n.Name)
			}
		},
	}); err != nil {
		return nil, fmt.Errorf("scheduler: watching nodes: %w", err)
	}
	return s, nil
}

// Run schedules pods until ctx ends. It returns after every goroutine it
// started has stopped.
func (s *Scheduler) Run(ctx context.Context) error {
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		return fmt.Errorf("scheduler: informers did not sync: %w", ctx.Err())
	}
	s.log.Info("scheduler started", "binders", s.cfg.Binders)
	var wg sync.WaitGroup
	for range s.cfg.Binders {
		wg.Go(func() {
			for {
				select {
				case job := <-s.jobs:
					job(ctx)
				case <-ctx.Done():
					return
				}
			}
		})
	}
	wg.Go(func() { wait.UntilWithContext(ctx, func(context.Context) { s.queue.flush() }, 200*time.Millisecond) })
	for {
		qp, cycle, ok := s.queue.pop(ctx)
		if !ok {
			break
		}
		s.scheduleOne(ctx, qp, cycle)
	}
	wg.Wait()
	return nil
}

func (s *Scheduler) responsible(pod *v1.Pod) bool {
	return pod.Spec.SchedulerName == "" || pod.Spec.SchedulerName == s.cfg.SchedulerName
}

// pending reports whether the pod waits for this scheduler.
func (s *Scheduler) pending(pod *v1.Pod) bool {
	return pod.Spec.NodeName == "" && pod.DeletionTimestamp == nil && !podstate.IsTerminal(pod) && s.responsible(pod)
}

func (s *Scheduler) onPod(old, pod *v1.Pod) {
	key, err := cache.MetaNamespaceKeyFunc(pod)
	if err != nil {
		return
	}
	s.cache.observePod(pod)
	switch {
	case s.pending(pod):
		if !s.cache.isAssumed(pod.UID) {
			s.queue.add(key, pod.UID, old == nil || podMayFitMore(old, pod))
		}
	default:
		s.queue.delete(key)
		// A pod leaving a node's accounting (finished) frees room.
		if old != nil && old.Spec.NodeName != "" && !podstate.IsTerminal(old) && podstate.IsTerminal(pod) {
			s.queue.moveAll()
		}
	}
}

func (s *Scheduler) onPodDelete(obj any) {
	if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
		obj = t.Obj
	}
	pod, ok := obj.(*v1.Pod)
	if !ok {
		return
	}
	s.cache.removePod(pod.UID)
	if key, err := cache.MetaNamespaceKeyFunc(pod); err == nil {
		s.queue.delete(key)
	}
	if pod.Spec.NodeName != "" {
		s.queue.moveAll()
	}
}

// scheduleOne makes the decision for one popped pod and hands the binding
// to a binder.
func (s *Scheduler) scheduleOne(ctx context.Context, qp *queuedPod, cycle int64) {
	ns, name, _ := cache.SplitMetaNamespaceKey(qp.key)
	pod, err := s.pods.Pods(ns).Get(name)
	if err != nil || pod.UID != qp.uid || !s.pending(pod) || s.cache.isAssumed(pod.UID) {
		s.queue.done(qp)
		return
	}
	node, err := s.cache.scheduleAndAssume(NewPodInfo(pod), s.cfg.Clock.Now())
	if err != nil {
		s.log.Debug("pod does not fit", "pod", qp.key, "reason", err)
		s.cfg.Recorder.Event(pod, v1.EventTypeWarning, "FailedScheduling", err.Error())
		s.queue.unschedulableAttempt(qp, cycle)
		if updated := withUnschedulableCondition(pod, err.Error(), s.cfg.Clock.Now()); updated != nil {
			s.submit(ctx, func(ctx context.Context) { s.updateStatus(ctx, updated) })
		}
		return
	}
	s.submit(ctx, func(ctx context.Context) { s.bind(ctx, qp, pod, node) })
}

func (s *Scheduler) submit(ctx context.Context, job func(context.Context)) {
	select {
	case s.jobs <- job:
	case <-ctx.Done():
	}
}

func (s *Scheduler) bind(ctx context.Context, qp *queuedPod, pod *v1.Pod, node string) {
	binding := &v1.Binding{
		ObjectMeta: metav1.ObjectMeta{Namespace: pod.Namespace, Name: pod.Name, UID: pod.UID},
		Target:     v1.ObjectReference{Kind: "Node", Name: node},
	}
	err := s.cfg.Client.CoreV1().Pods(pod.Namespace).Bind(ctx, binding, metav1.CreateOptions{})
	if err == nil {
		s.queue.done(qp)
		s.cfg.Recorder.Eventf(pod, v1.EventTypeNormal, "Scheduled", "Successfully assigned %s/%s to %s", pod.Namespace, pod.Name, node)
		s.log.Debug("bound", "pod", qp.key, "node", node, "latency", s.cfg.Clock.Since(qp.firstSeen))
		return
	}
	s.cache.forget(pod.UID)
	switch {
	case ctx.Err() != nil:
		s.queue.done(qp)
	case apierrors.IsNotFound(err):
		s.queue.done(qp) // deleted meanwhile
	case apierrors.IsConflict(err):
		// Most likely bound meanwhile (by a previous leader): the next
		// attempt finds it bound in the cache and drops it.
		s.log.Debug("binding conflict", "pod", qp.key, "err", err)
		s.queue.failedAttempt(qp)
	default:
		s.log.Warn("binding failed", "pod", qp.key, "node", node, "err", err)
		s.cfg.Recorder.Eventf(pod, v1.EventTypeWarning, "FailedScheduling", "Binding rejected: %v", err)
		s.queue.failedAttempt(qp)
	}
}

func (s *Scheduler) updateStatus(ctx context.Context, pod *v1.Pod) {
	_, err := s.cfg.Client.CoreV1().Pods(pod.Namespace).UpdateStatus(ctx, pod, metav1.UpdateOptions{})
	if err != nil && !apierrors.IsConflict(err) && !apierrors.IsNotFound(err) && ctx.Err() == nil {
		s.log.Warn("recording PodScheduled=False failed", "pod", pod.Namespace+"/"+pod.Name, "err", err)
	}
}
