package lb

import (
	"time"
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
