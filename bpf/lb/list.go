package lb

import (
	"errors"
	"fmt"
	"time"

	"github.com/cilium/ebpf"
)

// ServiceInfo is one frontend as the maps hold it, for inspection.
type ServiceInfo struct {
	Frontend Frontend
	// ID is the service id keying the frontend's slots and counters.
	ID uint32
	// AffinityTimeout is zero without session affinity.
	AffinityTimeout time.Duration
	// RoundRobin counts the connections and datagrams balanced so far.
	RoundRobin uint64
	// Backends in slot order, the order of the rotation.
	Backends []BackendInfo
}

// BackendInfo is one slot of a frontend.
type BackendInfo struct {
	Slot uint32
	// Backend is the zero Backend when the slot has no entry (damaged maps).
	Backend Backend
	// Selections counts how often connect() or sendmsg() chose it.
	Selections uint64
}

func listServices(m mapSet) ([]ServiceInfo, error) {
	snap, err := readSnapshot(m)
	if err != nil {
		return nil, err
	}
	out := make([]ServiceInfo, 0, len(snap.frontends))
	for _, fe := range snap.sortedFrontends() {
		v := snap.frontends[fe]
		info := ServiceInfo{Frontend: fe, ID: v.id, RoundRobin: snap.rr[v.id]}
		if v.flags&flagAffinity != 0 {
			info.AffinityTimeout = time.Duration(v.timeout) * time.Second
		}
		for slot, b := range snap.visibleSlots(v) {
			info.Backends = append(info.Backends, BackendInfo{Slot: uint32(slot), Backend: b, Selections: snap.selections[v.id][b]})
		}
		out = append(out, info)
	}
	return out, nil
}

// lookupService reads one frontend and its visible slots with single map
// lookups (cheap however many frontends there are); ok is false when the
// maps have no such frontend.
func lookupService(m mapSet, fe Frontend) (info ServiceInfo, ok bool, err error) {
	var fv lbFrontend
	if err := m.front.Lookup(encodeFrontend(fe), &fv); errors.Is(err, ebpf.ErrKeyNotExist) {
		return ServiceInfo{}, false, nil
	} else if err != nil {
		return ServiceInfo{}, false, fmt.Errorf("frontend %s: %w", fe, err)
	}
	info = ServiceInfo{Frontend: fe, ID: fv.ServiceId}
	if fv.Flags&flagAffinity != 0 {
		info.AffinityTimeout = time.Duration(fv.AffinityTimeout) * time.Second
	}
	if err := m.rr.Lookup(fv.ServiceId, &info.RoundRobin); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return ServiceInfo{}, false, fmt.Errorf("frontend %s: round-robin counter: %w", fe, err)
	}
	for slot := range uint32(fv.BackendCount) {
		bi := BackendInfo{Slot: slot}
		var bv lbBackend
		err := m.back.Lookup(lbBackendKey{ServiceId: fv.ServiceId, Slot: slot}, &bv)
		switch {
		case err == nil:
			bi.Backend = decodeBackend(bv)
			if err := m.selections.Lookup(selectionKey(fv.ServiceId, bi.Backend), &bi.Selections); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
				return ServiceInfo{}, false, fmt.Errorf("frontend %s: selection counter of %s: %w", fe, bi.Backend, err)
			}
		case !errors.Is(err, ebpf.ErrKeyNotExist): // an empty slot stays the zero Backend
			return ServiceInfo{}, false, fmt.Errorf("frontend %s: backend slot %d: %w", fe, slot, err)
		}
		info.Backends = append(info.Backends, bi)
	}
	return info, true, nil
}
