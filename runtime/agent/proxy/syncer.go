package proxy

import (
	"context"
	"fmt"
	"net/netip"
	"slices"
	"sync"
	"time"

	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/fields"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/client-go/informers"
	"k8s.io/client-go/kubernetes"
	corelisters "k8s.io/client-go/listers/core/v1"
	"k8s.io/client-go/rest"
	"k8s.io/client-go/tools/cache"
	"k8s.io/client-go/util/workqueue"

	"github.com/tug-sh/tug/dataplane/serviceproxy"
)

// kind is what a queued key names.
type kind uint8

const (
	serviceKind kind = iota
	endpointsKind
	nodeKind
)

func (k kind) String() string {
	return [...]string{"service", "endpoints", "node"}[k]
}

// objectKey is one queued change: the reconciler re-reads the object from
// the cache, so repeated events coalesce.
type objectKey struct {
	kind      kind
	namespace string
	name      string
}

// syncer is one Run's informers, queue and reconciler.
type syncer struct {
	p         *Proxy
	maps      serviceproxy.LBMaps
	client    kubernetes.Interface
	services  corelisters.ServiceLister
	endpoints corelisters.EndpointsLister
	nodes     corelisters.NodeLister // nil with static node addresses
	synced    []cache.InformerSynced
	factories []informers.SharedInformerFactory
	queue     workqueue.TypedRateLimitingInterface[objectKey]

	rec   *serviceproxy.Reconciler
	addrs []netip.Addr // node addresses the reconciler has
}

func newSyncer(p *Proxy, maps serviceproxy.LBMaps) (*syncer, error) {
	rc := rest.CopyConfig(p.cfg.RestConfig)
	if rc.UserAgent == "" {
		rc.UserAgent = "tug-proxy/" + p.cfg.NodeName
	}
	client, err := kubernetes.NewForConfig(rc)
	if err != nil {
		return nil, fmt.Errorf("service proxy: API client for %s: %w", rc.Host, err)
	}
	s := &syncer{
		p:      p,
		maps:   maps,
		client: client,
		queue: workqueue.NewTypedRateLimitingQueueWithConfig(
			workqueue.NewTypedItemExponentialFailureRateLimiter[objectKey](100*time.Millisecond, 30*time.Second),
			workqueue.TypedRateLimitingQueueConfig[objectKey]{Name: "service-proxy"}),
	}
	all := informers.NewSharedInformerFactory(client, 0)
	svcInformer := all.Core().V1().Services().Informer()
	epInformer := all.Core().V1().Endpoints().Informer()
	s.services = all.Core().V1().Services().Lister()
	s.endpoints = all.Core().V1().Endpoints().Lister()
	s.factories = append(s.factories, all)
	s.synced = append(s.synced, svcInformer.HasSynced, epInformer.HasSynced)
	handlers := []struct {
		informer cache.SharedIndexInformer
		kind     kind
	}{{svcInformer, serviceKind}, {epInformer, endpointsKind}}
	if len(p.cfg.NodeAddresses) == 0 {
		own := informers.NewSharedInformerFactoryWithOptions(client, 0, informers.WithTweakListOptions(func(o *metav1.ListOptions) {
			o.FieldSelector = fields.OneTermEqualSelector("metadata.name", p.cfg.NodeName).String()
		}))
		nodeInformer := own.Core().V1().Nodes().Informer()
		s.nodes = own.Core().V1().Nodes().Lister()
		s.factories = append(s.factories, own)
		s.synced = append(s.synced, nodeInformer.HasSynced)
		handlers = append(handlers, struct {
			informer cache.SharedIndexInformer
			kind     kind
		}{nodeInformer, nodeKind})
	}
	for _, h := range handlers {
		if _, err := h.informer.AddEventHandler(s.enqueuer(h.kind)); err != nil {
			return nil, fmt.Errorf("service proxy: %s events: %w", h.kind, err)
		}
	}
	return s, nil
}

// enqueuer queues the key of every added, changed or deleted object.
func (s *syncer) enqueuer(k kind) cache.ResourceEventHandler {
	add := func(obj any) {
		name, err := cache.DeletionHandlingObjectToName(obj)
		if err != nil {
			return
		}
		s.queue.Add(objectKey{kind: k, namespace: name.Namespace, name: name.Name})
	}
	return cache.ResourceEventHandlerFuncs{
		AddFunc:    add,
		UpdateFunc: func(_, cur any) { add(cur) },
		DeleteFunc: add,
	}
}

// run starts the informers, programs everything once they have synced,
// then applies changes until ctx ends.
func (s *syncer) run(ctx context.Context) {
	ctx, cancel := context.WithCancel(ctx)
	defer func() {
		cancel()
		s.queue.ShutDown()
		for _, f := range s.factories {
			f.Shutdown() // waits for the informers' goroutines
		}
	}()
	for _, f := range s.factories {
		f.Start(ctx.Done())
	}
	s.p.setNotReady("waiting for the Service, Endpoints and Node caches to sync")
	if !cache.WaitForCacheSync(ctx.Done(), s.synced...) {
		return
	}
	s.addrs = s.nodeAddresses()
	rec, err := serviceproxy.New(serviceproxy.Config{
		Maps:          s.maps,
		NodeName:      s.p.cfg.NodeName,
		NodeAddresses: s.addrs,
		Logger:        s.p.log.With("subsystem", "serviceproxy"),
	})
	if err != nil { // only a nil Maps fails
		s.p.setNotReady(err.Error())
		return
	}
	s.rec = rec
	if err := s.p.retry(ctx, "program the Services (full resync)", func() error { return s.resync(ctx) }); err != nil {
		return
	}
	s.p.setReady("Services are load-balanced in eBPF on this node")

	var workers sync.WaitGroup
	workers.Add(1)
	go func() {
		defer workers.Done()
		for s.processNext(ctx) {
		}
	}()
	t := time.NewTicker(s.p.cfg.ResyncInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			s.queue.ShutDown()
			workers.Wait()
			return
		case <-t.C:
			if err := s.resync(ctx); err != nil && ctx.Err() == nil {
				s.p.log.Warn("service proxy: periodic resync failed; the next one retries", "err", err)
			}
		}
	}
}

// resync makes the maps match the caches in full.
func (s *syncer) resync(ctx context.Context) error {
	start := time.Now()
	svcs, err := s.services.List(labels.Everything())
	if err != nil {
		return err
	}
	eps, err := s.endpoints.List(labels.Everything())
	if err != nil {
		return err
	}
	if err := s.rec.Resync(ctx, svcs, eps); err != nil {
		return err
	}
	s.p.log.Info("service proxy resynced", "services", len(svcs), "endpoints", len(eps), "duration", time.Since(start))
	return nil
}

func (s *syncer) processNext(ctx context.Context) bool {
	key, quit := s.queue.Get()
	if quit {
		return false
	}
	defer s.queue.Done(key)
	if err := s.apply(key); err != nil {
		if ctx.Err() != nil {
			return true
		}
		s.p.log.Warn("service proxy: programming failed; retrying", "kind", key.kind, "namespace", key.namespace, "name", key.name, "err", err)
		s.queue.AddRateLimited(key)
		return true
	}
	s.queue.Forget(key)
	return true
}

// apply programs the current cached state of one object (absent: deleted).
func (s *syncer) apply(key objectKey) error {
	switch key.kind {
	case serviceKind:
		svc, err := s.services.Services(key.namespace).Get(key.name)
		if apierrors.IsNotFound(err) {
			return s.rec.DeleteService(key.namespace, key.name)
		}
		if err != nil {
			return err
		}
		return s.rec.UpsertService(svc)
	case endpointsKind:
		eps, err := s.endpoints.Endpoints(key.namespace).Get(key.name)
		if apierrors.IsNotFound(err) {
			return s.rec.DeleteEndpoints(key.namespace, key.name)
		}
		if err != nil {
			return err
		}
		return s.rec.UpsertEndpoints(eps)
	case nodeKind:
		addrs := s.nodeAddresses()
		if slices.Equal(addrs, s.addrs) {
			return nil
		}
		if err := s.rec.SetNodeAddresses(addrs); err != nil {
			return err
		}
		s.p.log.Info("service proxy: NodePorts follow the node's addresses", "addresses", addrs)
		s.addrs = addrs
	}
	return nil
}

// nodeAddresses are the configured addresses, else the Node's.
func (s *syncer) nodeAddresses() []netip.Addr {
	if s.nodes == nil {
		return s.p.cfg.NodeAddresses
	}
	node, err := s.nodes.Get(s.p.cfg.NodeName)
	if err != nil {
		return nil
	}
	return nodePortAddresses(node)
}
