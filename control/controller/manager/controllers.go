package manager

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"sync"
	"time"

	"github.com/go-logr/logr"
	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/dynamic"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/kubernetes/scheme"
	typedcorev1 "k8s.io/client-go/kubernetes/typed/core/v1"
	"k8s.io/client-go/metadata"
	"k8s.io/client-go/tools/record"
	"k8s.io/klog/v2"

	"github.com/tug-sh/tug/control/controller/endpoints"
	"github.com/tug-sh/tug/control/controller/gc"
	"github.com/tug-sh/tug/control/controller/namespace"
	"github.com/tug-sh/tug/control/controller/nodeipam"
	"github.com/tug-sh/tug/control/controller/nodelifecycle"
	"github.com/tug-sh/tug/control/controller/replication"
	"github.com/tug-sh/tug/control/controller/scheduler"
)

// runner is a built controller.
type runner interface {
	Run(ctx context.Context) error
}

// RunControllers runs the selected controllers, without an election, until
// ctx ends or one of them fails to start; it returns after every goroutine
// it started has stopped.
func RunControllers(ctx context.Context, opts Options) error {
	p, err := opts.validate()
	if err != nil {
		return err
	}
	return p.run(ctx)
}

// clients builds the clientset of one controller.
func (p plan) clients(name string) (kubernetes.Interface, error) {
	c, err := kubernetes.NewForConfig(p.clientConfig(name))
	if err != nil {
		return nil, fmt.Errorf("manager: client for %s: %w", name, err)
	}
	return c, nil
}

func (p plan) run(ctx context.Context) error {
	ctx, cancel := context.WithCancel(ctx)
	defer cancel()
	log := p.Logger.With("component", "controller-manager")

	// Watches stream for minutes: the informers' client has no overall
	// request timeout (a rest.Config Timeout would cut every watch).
	shared, err := kubernetes.NewForConfig(p.streamConfig("shared-informers"))
	if err != nil {
		return fmt.Errorf("manager: informer client: %w", err)
	}
	eventClient, err := p.clients("events")
	if err != nil {
		return err
	}
	factory := informers.NewSharedInformerFactory(shared, p.ResyncPeriod)
	core := factory.Core().V1()

	// Event broadcasters log through our logger, not klog's stderr.
	sink := &eventSink{inner: &typedcorev1.EventSinkImpl{Interface: eventClient.CoreV1().Events("")}}
	eventCtx := klog.NewContext(ctx, logr.FromSlogHandler(log.With("subsystem", "events").Handler()))
	var broadcasters []record.EventBroadcaster
	defer func() {
		for _, b := range broadcasters {
			b.Shutdown()
		}
		sink.close(5 * time.Second)
	}()
	recorder := func(component string) record.EventRecorder {
		b := record.NewBroadcaster(record.WithContext(eventCtx))
		b.StartRecordingToSink(sink)
		broadcasters = append(broadcasters, b)
		return b.NewRecorder(scheme.Scheme, v1.EventSource{Component: component})
	}

	runners := map[string]runner{}
	for _, name := range AllControllers() {
		if !p.enabled[name] {
			continue
		}
		client, err := p.clients(name)
		if err != nil {
			return err
		}
		logger := p.Logger
		var r runner
		switch name {
		case Scheduler:
			r, err = scheduler.New(scheduler.Config{
				Client: client, Pods: core.Pods(), Nodes: core.Nodes(),
				Recorder: recorder(scheduler.Component), Logger: logger, Binders: p.SchedulerBinders,
			})
		case Replication:
			r, err = replication.New(replication.Config{
				Client: client, Pods: core.Pods(), RCs: core.ReplicationControllers(),
				Recorder: recorder(replication.Component), Logger: logger, Workers: p.ConcurrentRCSyncs,
			})
		case Endpoints:
			r, err = endpoints.New(endpoints.Config{
				Client: client, Pods: core.Pods(), Services: core.Services(), Endpoints: core.Endpoints(),
				Logger: logger, Workers: p.ConcurrentEndpointSyncs,
			})
		case NodeLifecycle:
			r, err = nodelifecycle.New(nodelifecycle.Config{
				Client: client, Nodes: core.Nodes(), Pods: core.Pods(),
				Recorder: recorder(nodelifecycle.Component), Logger: logger,
				GracePeriod: p.NodeMonitorGracePeriod, EvictionTimeout: p.PodEvictionTimeout,
				MonitorPeriod: p.NodeMonitorPeriod, EvictionRate: p.NodeEvictionRate,
			})
		case NodeIPAM:
			r, err = nodeipam.New(nodeipam.Config{
				Client: client, Nodes: core.Nodes(), Recorder: recorder(nodeipam.Component), Logger: logger,
				ClusterCIDR: p.clusterCIDR, NodeMaskSize: p.NodeCIDRMaskSize,
			})
		case GC:
			r, err = p.newGC(name, client, logger)
		case Namespace:
			var dyn dynamic.Interface
			if dyn, err = dynamic.NewForConfig(p.clientConfig(name)); err == nil {
				r, err = namespace.New(namespace.Config{
					Client: client, Dynamic: dyn, Discovery: client.Discovery(),
					Namespaces: core.Namespaces(), Logger: logger, Workers: p.ConcurrentNamespaceSyncs,
				})
			}
		}
		if err != nil {
			return fmt.Errorf("manager: starting %s: %w", name, err)
		}
		runners[name] = r
	}

	var names []string
	var wg sync.WaitGroup
	errs := make(chan error, len(runners))
	for _, name := range AllControllers() {
		r, ok := runners[name]
		if !ok {
			continue
		}
		names = append(names, name)
		wg.Go(func() {
			if err := r.Run(ctx); err != nil && ctx.Err() == nil {
				errs <- fmt.Errorf("%s: %w", name, err)
				cancel() // one down: stop them all, the caller decides
			}
		})
	}
	factory.Start(ctx.Done())
	log.Info("controllers started", "controllers", names)
	<-ctx.Done()
	wg.Wait()
	factory.Shutdown()
	log.Info("controllers stopped")
	close(errs)
	var all []error
	for err := range errs {
		all = append(all, err)
	}
	return errors.Join(all...)
}

// newGC builds the garbage collector: metadata-only informers (a stream
// config, no request timeout) and a dynamic client for its reads and
// updates.
func (p plan) newGC(name string, client kubernetes.Interface, logger *slog.Logger) (*gc.Collector, error) {
	dyn, err := dynamic.NewForConfig(p.clientConfig(name))
	if err != nil {
		return nil, err
	}
	meta, err := metadata.NewForConfig(p.streamConfig(name))
	if err != nil {
		return nil, err
	}
	return gc.New(gc.Config{
		Metadata: meta, Dynamic: dyn, Discovery: client.Discovery(), Logger: logger,
		Workers: p.ConcurrentGCSyncs, Resync: p.ResyncPeriod,
	})
}
