package lb

import (
	"errors"
	"fmt"
	"sort"

	"github.com/cilium/ebpf"
)

// mapSet is the load balancer's maps, however they were opened.
type mapSet struct {
	front      *ebpf.Map // frontend_key → frontend
	back       *ebpf.Map // backend_key → backend
	rr         *ebpf.Map // service id → round-robin counter
	reverse    *ebpf.Map // reverse_key → reverse
	selections *ebpf.Map // selection_key → count
	affinity   *ebpf.Map // affinity_key → affinity
}

func mapSetOf(m *lbMaps) mapSet {
	return mapSet{
		front: m.TugLb4Front, back: m.TugLb4Back, rr: m.TugLbRr,
		reverse: m.TugLb4Reverse, selections: m.TugLb4Select, affinity: m.TugLbAffinity,
	}
}

func (m mapSet) close() error {
	var errs []error
	for _, mp := range []*ebpf.Map{m.front, m.back, m.rr, m.reverse, m.selections, m.affinity} {
		if mp != nil {
			errs = append(errs, mp.Close())
		}
	}
	return errors.Join(errs...)
}

// frontendValue is a decoded frontend map value.
type frontendValue struct {
	id      uint32
	count   uint16
	flags   uint16
	timeout uint32 // seconds
}

// snapshot is everything the maps hold that user space manages, read in one
// pass per map.
type snapshot struct {
	frontends  map[Frontend]frontendValue
	slots      map[uint32]map[uint32]Backend // service id → slot → backend
	rr         map[uint32]uint64
	selections map[uint32]map[Backend]uint64
	affinity   []lbAffinityKey
}

func readSnapshot(m mapSet) (*snapshot, error) {
	s := &snapshot{
		frontends:  map[Frontend]frontendValue{},
		slots:      map[uint32]map[uint32]Backend{},
		rr:         map[uint32]uint64{},
		selections: map[uint32]map[Backend]uint64{},
	}
	var fk lbFrontendKey
	var fv lbFrontend
	it := m.front.Iterate()
	for it.Next(&fk, &fv) {
		s.frontends[decodeFrontend(fk)] = frontendValue{id: fv.ServiceId, count: fv.BackendCount, flags: fv.Flags, timeout: fv.AffinityTimeout}
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read frontends: %w", err)
	}
	var bk lbBackendKey
	var bv lbBackend
	it = m.back.Iterate()
	for it.Next(&bk, &bv) {
		if s.slots[bk.ServiceId] == nil {
			s.slots[bk.ServiceId] = map[uint32]Backend{}
		}
		s.slots[bk.ServiceId][bk.Slot] = decodeBackend(bv)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read backends: %w", err)
	}
	var id uint32
	var n uint64
	it = m.rr.Iterate()
	for it.Next(&id, &n) {
		s.rr[id] = n
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read round-robin counters: %w", err)
	}
	var sk lbSelectionKey
	it = m.selections.Iterate()
	for it.Next(&sk, &n) {
		if s.selections[sk.ServiceId] == nil {
			s.selections[sk.ServiceId] = map[Backend]uint64{}
		}
		s.selections[sk.ServiceId][Backend{Address: addrFromBE32(sk.Address), Port: portFromBE16(sk.Port)}] = n
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read selection counters: %w", err)
	}
	var ak lbAffinityKey
	var av lbAffinity
	it = m.affinity.Iterate()
	for it.Next(&ak, &av) {
		s.affinity = append(s.affinity, ak)
	}
	if err := it.Err(); err != nil {
		return nil, fmt.Errorf("read affinity entries: %w", err)
	}
	return s, nil
}

// visibleSlots is the slot array connect() can read for a frontend: slots
// [0, count), an invalid Backend where a slot has no entry.
func (s *snapshot) visibleSlots(v frontendValue) []Backend {
	out := make([]Backend, v.count)
	for i := range out {
		out[i] = s.slots[v.id][uint32(i)]
	}
	return out
}

// sortedFrontends lists the frontends in a stable order.
func (s *snapshot) sortedFrontends() []Frontend {
	fes := make([]Frontend, 0, len(s.frontends))
	for fe := range s.frontends {
		fes = append(fes, fe)
	}
	sort.Slice(fes, func(i, j int) bool { return fes[i].Compare(fes[j]) < 0 })
	return fes
}

// repairPlan lists what a crashed or buggy writer can leave behind.
type repairPlan struct {
	// reassign: frontends that share their service id with a frontend
	// sorted before them; each moves to a fresh id with a copy of its slots.
	reassign []Frontend
	// Entries that no frontend reaches.
	staleSlots      []lbBackendKey
	staleRR         []uint32
	staleSelections []lbSelectionKey
	staleAffinity   []lbAffinityKey
}

func (p repairPlan) empty() bool {
	return len(p.reassign)+len(p.staleSlots)+len(p.staleRR)+len(p.staleSelections)+len(p.staleAffinity) == 0
}

// planRepair finds the entries to fix in a snapshot. Backend slots at or
// above a frontend's count are stale here because no update is in flight
// while the maps are adopted. Empty slots below the count are not repaired
// here: the caller's next UpsertService fills them.
func planRepair(s *snapshot) repairPlan {
	var p repairPlan
	owner := map[uint32]Frontend{}
	for _, fe := range s.sortedFrontends() {
		id := s.frontends[fe].id
		if _, taken := owner[id]; taken {
			p.reassign = append(p.reassign, fe)
			continue
		}
		owner[id] = fe
	}
	for _, id := range sortedKeys(s.slots) {
		fe, ok := owner[id]
		for _, slot := range sortedKeys(s.slots[id]) {
			if !ok || slot >= uint32(s.frontends[fe].count) {
				p.staleSlots = append(p.staleSlots, lbBackendKey{ServiceId: id, Slot: slot})
			}
		}
	}
	for _, id := range sortedKeys(s.rr) {
		if _, ok := owner[id]; !ok {
			p.staleRR = append(p.staleRR, id)
		}
	}
	for _, id := range sortedKeys(s.selections) {
		fe, ok := owner[id]
		var inUse map[Backend]bool
		if ok {
			inUse = map[Backend]bool{}
			for _, b := range s.visibleSlots(s.frontends[fe]) {
				inUse[b] = true
			}
		}
		backends := make([]Backend, 0, len(s.selections[id]))
		for b := range s.selections[id] {
			backends = append(backends, b)
		}
		sort.Slice(backends, func(i, j int) bool { return backends[i].Compare(backends[j]) < 0 })
		for _, b := range backends {
			if !inUse[b] {
				p.staleSelections = append(p.staleSelections, selectionKey(id, b))
			}
		}
	}
	for _, k := range s.affinity {
		if _, ok := owner[k.ServiceId]; !ok {
			p.staleAffinity = append(p.staleAffinity, k)
		}
	}
	return p
}

func sortedKeys[V any](m map[uint32]V) []uint32 {
	keys := make([]uint32, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Slice(keys, func(i, j int) bool { return keys[i] < keys[j] })
	return keys
}
