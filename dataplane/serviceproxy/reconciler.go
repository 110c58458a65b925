package serviceproxy

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
	"sort"
	"sync"

	"github.com/tug-sh/tug/bpf/lb"
	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// LBMaps is what the reconciler needs of the load balancer's maps.
// *lb.Maps implements it: UpsertService writes only the slots that change,
// in an order that never lets a connect() read an empty slot.
type LBMaps interface {
	// Services is every frontend the maps hold now (re-read, repaired).
	Services() ([]lb.Service, error)
	UpsertService(lb.Service) error
	DeleteService(lb.Frontend) error
}

// Config configures a Reconciler.
type Config struct {
	Maps LBMaps
	// NodeName selects the endpoints of Services with
	// internalTrafficPolicy: Local.
	NodeName string
	// NodeAddresses are the node's addresses: each NodePort is programmed on
	// every IPv4 one, for clients on the node.
	NodeAddresses []netip.Addr
	// Logger gets what was skipped and why. Default: discard.
	Logger *slog.Logger
}

// Reconciler programs Services and Endpoints into the load balancer's maps.
// Feed it every add, update and delete of both kinds (in any order) and
// call Resync with complete lists once the informers have synced (and
// whenever the agent wants a full repair). Safe for concurrent use.
type Reconciler struct {
	mu        sync.Mutex
	maps      LBMaps
	log       *slog.Logger
	node      node
	services  map[types.NamespacedName]*corev1.Service
	endpoints map[types.NamespacedName]*corev1.Endpoints
	// programmed is what the maps hold for each Service's frontends.
	programmed map[types.NamespacedName]map[lb.Frontend]lb.Service
	owner      map[lb.Frontend]types.NamespacedName
	// denied: frontends a Service wanted while another owned them; it gets
	// them when the owner lets go.
	denied map[lb.Frontend]map[types.NamespacedName]bool
}

// New returns a Reconciler; nothing is written until the first event.
func New(cfg Config) (*Reconciler, error) {
	if cfg.Maps == nil {
		return nil, errors.New("serviceproxy: Config.Maps is required")
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	return &Reconciler{
		maps:       cfg.Maps,
		log:        log,
		node:       node{name: cfg.NodeName, addresses: ipv4Only(cfg.NodeAddresses)},
		services:   map[types.NamespacedName]*corev1.Service{},
		endpoints:  map[types.NamespacedName]*corev1.Endpoints{},
		programmed: map[types.NamespacedName]map[lb.Frontend]lb.Service{},
		owner:      map[lb.Frontend]types.NamespacedName{},
		denied:     map[lb.Frontend]map[types.NamespacedName]bool{},
	}, nil
}

func ipv4Only(addrs []netip.Addr) []netip.Addr {
	var out []netip.Addr
	for _, a := range addrs {
		if a.Is4() {
			out = append(out, a)
		}
	}
	return out
}

func keyOf(namespace, name string) types.NamespacedName {
	return types.NamespacedName{Namespace: namespace, Name: name}
}

// UpsertService records an added or changed Service and programs the
// difference it makes.
func (r *Reconciler) UpsertService(svc *corev1.Service) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := keyOf(svc.Namespace, svc.Name)
	r.services[key] = svc
	return r.syncLocked(key)
}

// DeleteService removes a Service's frontends.
func (r *Reconciler) DeleteService(namespace, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := keyOf(namespace, name)
	delete(r.services, key)
	return r.syncLocked(key)
}

// UpsertEndpoints records added or changed Endpoints and programs the
// backends that changed.
func (r *Reconciler) UpsertEndpoints(eps *corev1.Endpoints) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := keyOf(eps.Namespace, eps.Name)
	r.endpoints[key] = eps
	return r.syncLocked(key)
}

// DeleteEndpoints leaves the Service's frontends without backends
// (connections are refused) until Endpoints appear again.
func (r *Reconciler) DeleteEndpoints(namespace, name string) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	key := keyOf(namespace, name)
	delete(r.endpoints, key)
	return r.syncLocked(key)
}

// SetNodeAddresses changes where NodePorts are programmed.
func (r *Reconciler) SetNodeAddresses(addrs []netip.Addr) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.node.addresses = ipv4Only(addrs)
	var errs []error
	for _, key := range sortedKeys(r.services) {
		errs = append(errs, r.syncLocked(key))
	}
	return errors.Join(errs...)
}

// syncLocked programs one Service's diff: upserts first, so a frontend that
// moves is never missing, then deletes.
func (r *Reconciler) syncLocked(key types.NamespacedName) error {
	desired, problems := desiredFrontends(r.services[key], r.endpoints[key], r.node)
	for _, p := range problems {
		r.log.Warn("skipped part of a service", "service", key, "err", p)
	}
	for fe := range desired {
		if owner, taken := r.owner[fe]; taken && owner != key {
			r.log.Warn("frontend already programmed for another service", "frontend", fe, "service", key, "owner", owner)
			if r.denied[fe] == nil {
				r.denied[fe] = map[types.NamespacedName]bool{}
			}
			r.denied[fe][key] = true
			delete(desired, fe)
		}
	}
	current := r.programmed[key]
	upserts, deletes := diff(current, desired)
	var errs []error
	for _, svc := range upserts {
		if err := r.maps.UpsertService(svc); err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", key, err))
			continue
		}
		r.record(key, svc)
	}
	var released []lb.Frontend
	for _, fe := range deletes {
		if err := r.maps.DeleteService(fe); err != nil {
			errs = append(errs, fmt.Errorf("service %s: %w", key, err))
			continue
		}
		delete(r.programmed[key], fe)
		delete(r.owner, fe)
		released = append(released, fe)
	}
	if len(r.programmed[key]) == 0 {
		delete(r.programmed, key)
	}
	// A Service that was denied a frontend may have it now.
	for _, fe := range released {
		waiting := r.denied[fe]
		delete(r.denied, fe)
		for _, other := range sortedKeys(waiting) {
			errs = append(errs, r.syncLocked(other))
		}
	}
	return errors.Join(errs...)
}

func (r *Reconciler) record(key types.NamespacedName, svc lb.Service) {
	if r.programmed[key] == nil {
		r.programmed[key] = map[lb.Frontend]lb.Service{}
	}
	r.programmed[key][svc.Frontend] = svc
	r.owner[svc.Frontend] = key
	delete(r.denied[svc.Frontend], key)
}

// Resync replaces everything the Reconciler knows with complete lists and
// makes the maps match them: frontends nobody wants (a crashed agent's, a
// deleted Service's) are deleted, wrong or incomplete ones rewritten, the
// rest left untouched.
func (r *Reconciler) Resync(ctx context.Context, services []*corev1.Service, endpoints []*corev1.Endpoints) error {
	r.mu.Lock()
	defer r.mu.Unlock()
	r.services = map[types.NamespacedName]*corev1.Service{}
	for _, s := range services {
		r.services[keyOf(s.Namespace, s.Name)] = s
	}
	r.endpoints = map[types.NamespacedName]*corev1.Endpoints{}
	for _, e := range endpoints {
		r.endpoints[keyOf(e.Namespace, e.Name)] = e
	}
	current, err := r.maps.Services()
	if err != nil {
		return fmt.Errorf("read the load balancer's maps: %w", err)
	}
	// Start from what the maps hold: each frontend belongs to the Service
	// that wants it (first by name on a conflict); the rest are stale.
	stale := make(map[lb.Frontend]bool, len(current))
	held := make(map[lb.Frontend]lb.Service, len(current))
	for _, svc := range current {
		stale[svc.Frontend] = true
		held[svc.Frontend] = svc
	}
	r.programmed = map[types.NamespacedName]map[lb.Frontend]lb.Service{}
	r.owner = map[lb.Frontend]types.NamespacedName{}
	r.denied = map[lb.Frontend]map[types.NamespacedName]bool{}
	keys := sortedKeys(r.services)
	for _, key := range keys {
		desired, _ := desiredFrontends(r.services[key], r.endpoints[key], r.node)
		for fe := range desired {
			svc, ok := held[fe]
			if _, taken := r.owner[fe]; !ok || taken {
				continue
			}
			r.record(key, svc)
			delete(stale, fe)
		}
	}
	var errs []error
	for _, key := range keys {
		if err := ctx.Err(); err != nil {
			return err
		}
		errs = append(errs, r.syncLocked(key))
	}
	var doomed []lb.Frontend
	for fe := range stale {
		doomed = append(doomed, fe)
	}
	sort.Slice(doomed, func(i, j int) bool { return doomed[i].Compare(doomed[j]) < 0 })
	if len(doomed) > 0 {
		r.log.Info("deleting frontends no service wants", "count", len(doomed))
	}
	for _, fe := range doomed {
		if err := r.maps.DeleteService(fe); err != nil {
			errs = append(errs, fmt.Errorf("delete stale frontend %s: %w", fe, err))
		}
	}
	return errors.Join(errs...)
}

func sortedKeys[V any](m map[types.NamespacedName]V) []types.NamespacedName {
	keys := make([]types.NamespacedName, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i].String() < keys[j].String() })
	return keys
}
