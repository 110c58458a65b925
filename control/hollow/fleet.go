package hollow

import (
	"context"
	"errors"
	"fmt"

	v1 "k8s.io/api/core/v1"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	"k8s.io/client-go/tools/cache"
)

// Fleet is many hollow nodes sharing one pod watch. Real agents each watch
// their own pods; a benchmark of the control plane on one machine may not
// want to pay for a hundred watch streams in its own process, and a Fleet
// spares it that. Each node otherwise behaves as one started with Start.
type Fleet struct {
	Nodes   []*Node
	byName  map[string]*Node
	factory informers.SharedInformerFactory
	stop    chan struct{}
}

// fleetNodeIndex indexes the shared pod cache by spec.nodeName.
const fleetNodeIndex = "spec.nodeName"

// StartFleet registers one hollow node per config (all with the same
// client) and starts them over one shared pod watch. Stop ends them all.
func StartFleet(ctx context.Context, client kubernetes.Interface, cfgs []Config) (*Fleet, error) {
	if client == nil {
		return nil, errors.New("hollow: StartFleet needs a client")
	}
	f := &Fleet{
		byName:  map[string]*Node{},
		factory: informers.NewSharedInformerFactory(client, 0),
		stop:    make(chan struct{}),
	}
	inf := f.factory.Core().V1().Pods().Informer()
	if err := inf.AddIndexers(cache.Indexers{fleetNodeIndex: func(obj any) ([]string, error) {
		if p, ok := obj.(*v1.Pod); ok && p.Spec.NodeName != "" {
			return []string{p.Spec.NodeName}, nil
		}
		return nil, nil
	}}); err != nil {
		return nil, fmt.Errorf("hollow: fleet pod index: %w", err)
	}
	src := fleetSource{inf.GetIndexer()}
	for _, cfg := range cfgs {
		cfg.Client = client
		if _, dup := f.byName[cfg.Name]; dup {
			f.Stop()
			return nil, fmt.Errorf("hollow: fleet: node name %q given twice", cfg.Name)
		}
		n, err := newNode(ctx, cfg)
		if err != nil {
			f.Stop()
			return nil, err
		}
		n.pods = src
		n.start(func(stop <-chan struct{}) { <-stop })
		f.Nodes = append(f.Nodes, n)
		f.byName[n.cfg.Name] = n
	}
	dispatch := func(obj any, del bool) {
		if t, ok := obj.(cache.DeletedFinalStateUnknown); ok {
			obj = t.Obj
		}
		p, ok := obj.(*v1.Pod)
		if !ok {
			return
		}
		if n := f.byName[p.Spec.NodeName]; n != nil {
			if del {
				n.forget(p)
			} else {
				n.enqueue(p)
			}
		}
	}
	if _, err := inf.AddEventHandler(cache.ResourceEventHandlerFuncs{
		AddFunc:    func(obj any) { dispatch(obj, false) },
		UpdateFunc: func(_, cur any) { dispatch(cur, false) },
		DeleteFunc: func(obj any) { dispatch(obj, true) },
	}); err != nil {
		f.Stop()
		return nil, fmt.Errorf("hollow: fleet: watching pods: %w", err)
	}
	f.factory.Start(f.stop)
	return f, nil
}

// Stop stops every node of the fleet and the shared watch.
func (f *Fleet) Stop() {
	for _, n := range f.Nodes {
		n.Stop()
	}
	select {
	case <-f.stop:
	default:
		close(f.stop)
	}
	f.factory.Shutdown()
}

// fleetSource reads pods from the fleet's shared cache.
type fleetSource struct{ idx cache.Indexer }

func (s fleetSource) get(key string) (*v1.Pod, bool) {
	obj, ok, err := s.idx.GetByKey(key)
	if err != nil || !ok {
		return nil, false
	}
	return obj.(*v1.Pod), true
}

func (s fleetSource) keys(node string) []string {
	objs, err := s.idx.ByIndex(fleetNodeIndex, node)
	if err != nil {
		return nil
	}
	out := make([]string, 0, len(objs))
	for _, o := range objs {
		if key, err := cache.MetaNamespaceKeyFunc(o); err == nil {
			out = append(out, key)
		}
	}
	return out
}
