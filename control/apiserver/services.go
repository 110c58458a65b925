package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	corev1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	"k8s.io/apimachinery/pkg/util/validation/field"

	"github.com/tug-sh/tug/control/allocator"
	"github.com/tug-sh/tug/control/registry"
	"github.com/tug-sh/tug/control/storage"
)

// serviceAllocator hands out ClusterIPs and NodePorts in the Service's own
// transaction: it reads the snapshots, changes them, and returns their
// compare-and-swap writes, so allocations are never lost or doubled, even
// with several API servers on one etcd.
type serviceAllocator struct {
	s *Server
}

var _ txHooks = (*serviceAllocator)(nil)

// snapshots are the allocators read for one write attempt.
type snapshots struct {
	ips        *allocator.IPRange
	ipsRev     int64
	ipsDirty   bool
	ports      *allocator.PortRange
	portsRev   int64
	portsDirty bool
}

func (sa *serviceAllocator) load(ctx context.Context) (*snapshots, error) {
	sn := &snapshots{ips: sa.s.ranges.newIPs(), ports: sa.s.ranges.newPorts()}
	for _, x := range []struct {
		key  string
		into json.Unmarshaler
		rev  *int64
	}{{serviceIPsKey, sn.ips, &sn.ipsRev}, {serviceNodePortsKey, sn.ports, &sn.portsRev}} {
		kv, err := sa.s.store.Get(ctx, x.key)
		if err != nil {
			if errors.Is(err, storage.ErrNotFound) {
				return nil, apierrors.NewInternalError(fmt.Errorf("the allocation snapshot %s is missing; restart the API server to recreate it", x.key))
			}
			return nil, err
		}
		if err := x.into.UnmarshalJSON(kv.Value); err != nil {
			return nil, apierrors.NewInternalError(err)
		}
		*x.rev = kv.Revision
	}
	return sn, nil
}

// ops are the snapshot writes of the changed allocators.
func (sn *snapshots) ops() ([]storage.Op, error) {
	var ops []storage.Op
	if sn.ipsDirty {
		data, err := sn.ips.MarshalJSON()
		if err != nil {
			return nil, err
		}
		ops = append(ops, storage.Update(serviceIPsKey, data, sn.ipsRev))
	}
	if sn.portsDirty {
		data, err := sn.ports.MarshalJSON()
		if err != nil {
			return nil, err
		}
		ops = append(ops, storage.Update(serviceNodePortsKey, data, sn.portsRev))
	}
	return ops, nil
}

func (sa *serviceAllocator) retryable(key string) bool {
	return key == serviceIPsKey || key == serviceNodePortsKey
}

func (sa *serviceAllocator) create(ctx context.Context, obj registry.Object) ([]storage.Op, error) {
	svc := obj.(*corev1.Service)
	sn, err := sa.load(ctx)
	if err != nil {
		return nil, err
	}
	var errs field.ErrorList
	if err := sn.allocateClusterIP(svc, &errs); err != nil {
		return nil, err
	}
	if err := sn.allocateNodePorts(svc, nil, &errs); err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(svc.GroupVersionKind().GroupKind(), svc.Name, errs)
	}
	return sn.ops()
}

func (sa *serviceAllocator) update(ctx context.Context, obj, oldObj registry.Object) ([]storage.Op, error) {
	svc, old := obj.(*corev1.Service), oldObj.(*corev1.Service)
	sn, err := sa.load(ctx)
	if err != nil {
		return nil, err
	}
	var errs field.ErrorList
	oldIP := realClusterIP(old)
	switch {
	case oldIP.IsValid() && !registry.ServiceNeedsClusterIP(svc):
		// To ExternalName: the address goes back to the range.
		sn.ips.Release(oldIP)
		sn.ipsDirty = true
	case oldIP.IsValid() && svc.Spec.ClusterIP != old.Spec.ClusterIP:
		errs = append(errs, field.Invalid(field.NewPath("spec", "clusterIPs").Index(0), svc.Spec.ClusterIPs, "may not change once set"))
	case !oldIP.IsValid() && registry.ServiceNeedsClusterIP(svc):
		// From ExternalName to a type with a ClusterIP.
		if err := sn.allocateClusterIP(svc, &errs); err != nil {
			return nil, err
		}
	}
	if err := sn.allocateNodePorts(svc, old, &errs); err != nil {
		return nil, err
	}
	if len(errs) > 0 {
		return nil, apierrors.NewInvalid(svc.GroupVersionKind().GroupKind(), svc.Name, errs)
	}
	return sn.ops()
}

func (sa *serviceAllocator) remove(ctx context.Context, oldObj registry.Object) ([]storage.Op, error) {
	old := oldObj.(*corev1.Service)
	ip, ports := realClusterIP(old), nodePorts(old)
	if !ip.IsValid() && len(ports) == 0 {
		return nil, nil
	}
	sn, err := sa.load(ctx)
	if err != nil {
		return nil, err
	}
	if ip.IsValid() {
		sn.ips.Release(ip)
		sn.ipsDirty = true
	}
	for p := range ports {
		sn.ports.Release(p)
		sn.portsDirty = true
	}
	return sn.ops()
}

// realClusterIP is the allocated ClusterIP of svc (invalid when it has
// none: ExternalName or headless).
func realClusterIP(svc *corev1.Service) netip.Addr {
	if !registry.ServiceNeedsClusterIP(svc) {
		return netip.Addr{}
	}
	a, _ := netip.ParseAddr(svc.Spec.ClusterIP)
	return a
}

// nodePorts are the node ports svc holds.
func nodePorts(svc *corev1.Service) map[int]bool {
	out := map[int]bool{}
	if !registry.ServiceNeedsNodePorts(svc) {
		return out
	}
	for _, p := range svc.Spec.Ports {
		if p.NodePort != 0 {
			out[int(p.NodePort)] = true
		}
	}
	return out
}

// allocateClusterIP assigns the requested ClusterIP or the next free one
// to a Service that needs one (not ExternalName, not headless). Client
// mistakes are added to errs; an exhausted range is an error of its own.
func (sn *snapshots) allocateClusterIP(svc *corev1.Service, errs *field.ErrorList) error {
	if !registry.ServiceNeedsClusterIP(svc) {
		return nil
	}
	requested := svc.Spec.ClusterIP
	if requested == "" && len(svc.Spec.ClusterIPs) > 0 {
		requested = svc.Spec.ClusterIPs[0]
	}
	path := field.NewPath("spec", "clusterIPs")
	if requested == "" {
		addr, err := sn.ips.AllocateNext()
		if err != nil {
			return apierrors.NewInternalError(fmt.Errorf("failed to allocate a serviceIP: %w", err))
		}
		sn.ipsDirty = true
		svc.Spec.ClusterIP, svc.Spec.ClusterIPs = addr.String(), []string{addr.String()}
		return nil
	}
	addr, err := netip.ParseAddr(requested)
	if err != nil {
		*errs = append(*errs, field.Invalid(path, []string{requested}, fmt.Sprintf("failed to allocate IP %s: it is not a valid IP address", requested)))
		return nil
	}
	if err := sn.ips.Allocate(addr); err != nil {
		msg := fmt.Sprintf("failed to allocate IP %s: provided IP is already allocated", requested)
		if errors.Is(err, allocator.ErrNotInRange) {
			msg = fmt.Sprintf("failed to allocate IP %s: the provided IP (%s) is not in the valid range. The range of valid IPs is %s", requested, requested, sn.ips.Range())
		}
		*errs = append(*errs, field.Invalid(path, []string{requested}, msg))
		return nil
	}
	sn.ipsDirty = true
	svc.Spec.ClusterIP, svc.Spec.ClusterIPs = addr.String(), []string{addr.String()}
	return nil
}

// allocateNodePorts gives every port of a Service that needs node ports
// one (the requested one or the next free), keeps those it held before
// (old, nil on create) and releases those it no longer holds.
func (sn *snapshots) allocateNodePorts(svc, old *corev1.Service, errs *field.ErrorList) error {
	held := map[int]bool{}
	if old != nil {
		held = nodePorts(old)
	}
	taken := map[int]bool{} // ports this Service holds after the change
	if registry.ServiceNeedsNodePorts(svc) {
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			n := int(p.NodePort)
			if n == 0 || taken[n] {
				continue // the same port may serve TCP and UDP
			}
			taken[n] = true
			if held[n] {
				continue
			}
			if err := sn.ports.Allocate(n); err != nil {
				msg := "provided port is already allocated"
				if errors.Is(err, allocator.ErrNotInRange) {
					msg = fmt.Sprintf("provided port is not in the valid range. The range of valid ports is %s", sn.ports)
				}
				*errs = append(*errs, field.Invalid(field.NewPath("spec", "ports").Index(i).Child("nodePort"), p.NodePort, msg))
				continue
			}
			sn.portsDirty = true
		}
		for i := range svc.Spec.Ports {
			p := &svc.Spec.Ports[i]
			if p.NodePort != 0 {
				continue
			}
			n, err := sn.ports.AllocateNext()
			if err != nil {
				return apierrors.NewInternalError(fmt.Errorf("failed to allocate a nodePort: %w", err))
			}
			p.NodePort = int32(n)
			taken[n] = true
			sn.portsDirty = true
		}
	}
	for n := range held {
		if !taken[n] {
			sn.ports.Release(n)
			sn.portsDirty = true
		}
	}
	return nil
}
