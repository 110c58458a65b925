package replication_test

import (
	"context"
	"fmt"
	"sync"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/apimachinery/pkg/watch"
	"k8s.io/client-go/informers"
	coreinformers "k8s.io/client-go/informers/core/v1"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/tools/record"
	"k8s.io/client-go/util/retry"

	"github.com/tug-sh/tug/control/controller/internal/ctrltest"
	"github.com/tug-sh/tug/control/controller/internal/podstate"
	"github.com/tug-sh/tug/control/controller/replication"
)

// delayedWatch re-emits every event of w delay after it arrived, in order:
// a watch that lags behind the API server.
type delayedWatch struct {
	w    watch.Interface
	out  chan watch.Event
	stop chan struct{}
	once sync.Once
}

func newDelayedWatch(w watch.Interface, delay time.Duration) *delayedWatch {
	d := &delayedWatch{w: w, out: make(chan watch.Event), stop: make(chan struct{})}
	type timed struct {
		ev watch.Event
		at time.Time
	}
	queue := make(chan timed, 100000)
	go func() {
		defer close(queue)
		for ev := range w.ResultChan() {
			queue <- timed{ev, time.Now()}
		}
	}()
	go func() {
		defer close(d.out)
		for t := range queue {
			select {
			case <-time.After(time.Until(t.at.Add(delay))):
			case <-d.stop:
				return
			}
			select {
			case d.out <- t.ev:
			case <-d.stop:
				return
			}
		}
	}()
	return d
}

func (d *delayedWatch) ResultChan() <-chan watch.Event { return d.out }
func (d *delayedWatch) Stop() {
	d.once.Do(func() {
		close(d.stop)
		d.w.Stop()
	})
}

// lagging is a PodInformer whose watch lags by delay (its list does not).
type lagging struct{ inf cache.SharedIndexInformer }

func (l lagging) Informer() cache.SharedIndexInformer { return l.inf }
func (l lagging) Lister() corelisters.PodLister       { return corelisters.NewPodLister(l.inf.GetIndexer()) }

func laggingPods(client kubernetes.Interface, delay time.Duration) coreinformers.PodInformer {
	lw := &cache.ListWatch{
		ListWithContextFunc: func(ctx context.Context, o metav1.ListOptions) (runtime.Object, error) {
			return client.CoreV1().Pods("").List(ctx, o)
		},
		WatchFuncWithContext: func(ctx context.Context, o metav1.ListOptions) (watch.Interface, error) {
			w, err := client.CoreV1().Pods("").Watch(ctx, o)
			if err != nil {
				return nil, err
			}
			return newDelayedWatch(w, delay), nil
		},
	}
	inf := cache.NewSharedIndexInformer(lw, &v1.Pod{}, 0, cache.Indexers{cache.NamespaceIndex: cache.MetaNamespaceIndexFunc})
	return lagging{inf}
}

// TestExpectationsWithLaggingWatch runs the replication controller on a pod
// watch delayed by two seconds and pokes the RC repeatedly meanwhile: every
// poke is a sync that sees stale pod counts, yet the controller must create
// (and delete) exactly what is needed, because it waits for its own writes
// to show up.
func TestExpectationsWithLaggingWatch(t *testing.T) {
	const lag = 2 * time.Second
	ctx, cancel := context.WithCancel(context.Background())
	c := ctrltest.Start(t)
	pods := laggingPods(c.Client, lag)
	factory := informers.NewSharedInformerFactory(c.Client, 0)
	broadcaster := record.NewBroadcaster(record.WithContext(ctx))
	broadcaster.StartRecordingToSink(&typedEventSink{c.Client})
	ctl, err := replication.New(replication.Config{
		Client: c.Client, Pods: pods, RCs: factory.Core().V1().ReplicationControllers(),
		Recorder: broadcaster.NewRecorder(scheme.Scheme, v1.EventSource{Component: replication.Component}),
		Logger:   ctrltest.Logger(t),
	})
	if err != nil {
		t.Fatal(err)
	}
	done := make(chan struct{})
	go func() {
		defer close(done)
		go pods.Informer().RunWithContext(ctx)
		factory.Start(ctx.Done())
		if err := ctl.Run(ctx); err != nil {
			t.Errorf("controller: %v", err)
		}
	}()
	t.Cleanup(func() {
		cancel()
		<-done
		factory.Shutdown()
		broadcaster.Shutdown()
	})

	ns := c.Namespace(ctx, "lag")
	rcs := c.Client.CoreV1().ReplicationControllers(ns)
	// Pods created by anyone: counted from a watch that does not lag.
	w, err := c.Stream.CoreV1().Pods(ns).Watch(ctx, metav1.ListOptions{})
	if err != nil {
		t.Fatal(err)
	}
	defer w.Stop()
	var mu sync.Mutex
	created, deleted := map[types.UID]bool{}, map[types.UID]bool{}
	go func() {
		for ev := range w.ResultChan() {
			p, ok := ev.Object.(*v1.Pod)
			if !ok {
				continue
			}
			mu.Lock()
			switch ev.Type {
			case watch.Added:
				created[p.UID] = true
			case watch.Deleted:
				deleted[p.UID] = true
			}
			mu.Unlock()
		}
	}()
	counts := func() (int, int) {
		mu.Lock()
		defer mu.Unlock()
		return len(created), len(deleted)
	}
	// update changes the RC, re-reading it when the controller's status
	// writes got in between.
	update := func(change func(*v1.ReplicationController)) {
		err := retry.RetryOnConflict(retry.DefaultRetry, func() error {
			rc, err := rcs.Get(ctx, "lagged", metav1.GetOptions{})
			if err != nil {
				return err
			}
			change(rc)
			_, err = rcs.Update(ctx, rc, metav1.UpdateOptions{})
			return err
		})
		if err != nil {
			t.Fatal(err)
		}
	}
	poke := func() {
		for i := range 8 {
			update(func(rc *v1.ReplicationController) { rc.Annotations = map[string]string{"poke": fmt.Sprint(i)} })
			time.Sleep(lag / 8)
		}
	}

	if _, err := rcs.Create(ctx, ctrltest.RC(ns, "lagged", 5), metav1.CreateOptions{}); err != nil {
		t.Fatal(err)
	}
	poke()
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		rc, err := rcs.Get(ctx, "lagged", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		n, _ := counts()
		return rc.Status.Replicas == 5 && n >= 5, fmt.Sprintf("status.replicas %d, %d created", rc.Status.Replicas, n)
	})
	time.Sleep(2 * lag) // room for a wrong extra round to show
	if n, d := counts(); n != 5 || d != 0 {
		t.Fatalf("scale to 5 with a lagging watch: %d pods created, %d deleted; want exactly 5 and 0", n, d)
	}

	// Scale down to 2 under the same lag: exactly 3 deletions.
	two := int32(2)
	update(func(rc *v1.ReplicationController) { rc.Spec.Replicas = &two })
	poke()
	ctrltest.Eventually(t, 10*time.Second, func() (bool, string) {
		rc, err := rcs.Get(ctx, "lagged", metav1.GetOptions{})
		if err != nil {
			return false, err.Error()
		}
		return rc.Status.Replicas == 2, fmt.Sprintf("status.replicas %d", rc.Status.Replicas)
	})
	time.Sleep(2 * lag)
	n, d := counts()
	active := 0
	for _, p := range c.Pods(ctx, ns, "app=lagged") {
		if podstate.IsActive(&p) {
			active++
		}
	}
	if n != 5 || d != 3 || active != 2 {
		t.Fatalf("scale to 2 with a lagging watch: %d created, %d deleted, %d active; want 5, 3, 2", n, d, active)
	}
}

// typedEventSink writes events through the clientset.
type typedEventSink struct{ c kubernetes.Interface }

func (s *typedEventSink) Create(e *v1.Event) (*v1.Event, error) {
	return s.c.CoreV1().Events(e.Namespace).Create(context.Background(), e, metav1.CreateOptions{})
}
func (s *typedEventSink) Update(e *v1.Event) (*v1.Event, error) {
	return s.c.CoreV1().Events(e.Namespace).Update(context.Background(), e, metav1.UpdateOptions{})
}
func (s *typedEventSink) Patch(e *v1.Event, data []byte) (*v1.Event, error) {
	return s.c.CoreV1().Events(e.Namespace).Patch(context.Background(), e.Name, types.StrategicMergePatchType, data, metav1.PatchOptions{})
}
