package apiserver

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"

	"github.com/tug-sh/tug/control/allocator"
	"github.com/tug-sh/tug/control/storage"
)

// Where the allocation bitmaps live, as kube's RangeAllocation objects.
const (
	serviceIPsKey       = "/registry/ranges/serviceips"
	serviceNodePortsKey = "/registry/ranges/servicenodeports"
)

// serviceRanges are the configured Service ranges and their snapshots in
// the store.
type serviceRanges struct {
	ips   netip.Prefix
	ports string
}

func newServiceRanges(ips netip.Prefix, ports string) (*serviceRanges, error) {
	if _, err := allocator.NewIPRange(ips); err != nil {
		return nil, fmt.Errorf("--service-cluster-ip-range: %w", err)
	}
	pr, err := allocator.ParsePortRange(ports)
	if err != nil {
		return nil, fmt.Errorf("--service-node-port-range: %w", err)
	}
	return &serviceRanges{ips: ips, ports: pr.String()}, nil
}

func (sr *serviceRanges) newIPs() *allocator.IPRange {
	r, _ := allocator.NewIPRange(sr.ips) // checked in newServiceRanges
	return r
}

func (sr *serviceRanges) newPorts() *allocator.PortRange {
	r, _ := allocator.ParsePortRange(sr.ports) // checked in newServiceRanges
	return r
}

// ensure initialises missing snapshots and checks existing ones against
// the configured ranges (ErrRangeChanged names the flag to restart with).
func (sr *serviceRanges) ensure(ctx context.Context, store storage.Store) error {
	for _, snap := range []struct {
		key   string
		alloc interface {
			json.Marshaler
			json.Unmarshaler
		}
	}{{serviceIPsKey, sr.newIPs()}, {serviceNodePortsKey, sr.newPorts()}} {
		for {
			kv, err := store.Get(ctx, snap.key)
			if errors.Is(err, storage.ErrNotFound) {
				data, err := snap.alloc.MarshalJSON()
				if err != nil {
					return err
				}
				if _, err := store.Apply(ctx, storage.Create(snap.key, data)); errors.Is(err, storage.ErrExists) {
					continue // another server initialised it: check that one
				} else if err != nil {
					return fmt.Errorf("initialising %s: %w", snap.key, err)
				}
				break
			}
			if err != nil {
				return fmt.Errorf("reading %s: %w", snap.key, err)
			}
			if err := snap.alloc.UnmarshalJSON(kv.Value); err != nil {
				return fmt.Errorf("refusing to start: %w", err)
			}
			break
		}
	}
	return nil
}
