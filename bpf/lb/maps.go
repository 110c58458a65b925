package lb

import (
	"errors"
	"fmt"
	"log/slog"
	"sort"
	"sync"
	"time"

	"github.com/cilium/ebpf"
)

// Maps is the typed view of the load balancer's maps and their only writer.
// It keeps a copy of what it wrote, so an update touches only the map entries
// that change, in an order that keeps every connect() correct while it runs
// (see UpsertService). Safe for concurrent use.
type Maps struct {
	mu     sync.Mutex
	m      mapSet
	log    *slog.Logger
	cache  map[Frontend]*entry
	ids    map[uint32]Frontend
	nextID uint32
}

// entry is what the maps hold for one frontend.
type entry struct {
	id      uint32
	written bool // the frontend map has the entry (else only slots are)
	count   int  // backend_count in the frontend map
	flags   uint16
	timeout uint32
	slots   []Backend // slots with a backend map entry; may run past count
}

func (e *entry) visible() []Backend { return e.slots[:min(e.count, len(e.slots))] }

func (e *entry) setSlot(slot uint32, b Backend) {
	for int(slot) >= len(e.slots) {
		e.slots = append(e.slots, Backend{})
	}
	e.slots[slot] = b
}

func (e *entry) trim() {
	for len(e.slots) > 0 && !e.slots[len(e.slots)-1].valid() {
		e.slots = e.slots[:len(e.slots)-1]
	}
}

// newMaps adopts maps that may hold state from an earlier agent: it repairs
// what a crash or a hand edit can leave behind and learns the rest.
func newMaps(m mapSet, log *slog.Logger) (*Maps, error) {
	mm := &Maps{m: m, log: log}
	if err := mm.adopt(); err != nil {
		return nil, err
	}
	return mm, nil
}

// adopt reads the maps, repairs them and rebuilds the cache. Callers hold mu
// (or own mm exclusively).
func (mm *Maps) adopt() error {
	snap, err := readSnapshot(mm.m)
	if err != nil {
		return err
	}
	mm.cache = make(map[Frontend]*entry, len(snap.frontends))
	mm.ids = make(map[uint32]Frontend, len(snap.frontends))
	plan := planRepair(snap)
	reassign := map[Frontend]bool{}
	for _, fe := range plan.reassign {
		reassign[fe] = true
	}
	for fe, v := range snap.frontends {
		mm.nextID = max(mm.nextID, v.id)
		if reassign[fe] {
			continue
		}
		mm.ids[v.id] = fe
		mm.cache[fe] = &entry{id: v.id, written: true, count: int(v.count), flags: v.flags, timeout: v.timeout, slots: snap.visibleSlots(v)}
		mm.cache[fe].trim()
	}
	if plan.empty() {
		return nil
	}
	mm.log.Info("repairing load balancer maps",
		"shared-service-ids", len(plan.reassign), "stale-backend-slots", len(plan.staleSlots),
		"stale-rr-counters", len(plan.staleRR), "stale-selection-counters", len(plan.staleSelections),
		"stale-affinity-entries", len(plan.staleAffinity))
	// A frontend that shares its id reads another frontend's slots: give it
	// a fresh id holding a copy of them, then switch it over in one write.
	for _, fe := range plan.reassign {
		v := snap.frontends[fe]
		id, err := mm.allocID()
		if err != nil {
			return err
		}
		e := &entry{id: id, flags: v.flags, timeout: v.timeout}
		mm.cache[fe], mm.ids[id] = e, fe
		if err := mm.initCounters(id); err != nil {
			return err
		}
		layout := dedupe(validOnly(snap.visibleSlots(v)))
		if err := mm.apply(fe, e, layout, v.flags, v.timeout); err != nil {
			return err
		}
	}
	for _, k := range plan.staleSlots {
		if err := deleteIfPresent(mm.m.back, k); err != nil {
			return fmt.Errorf("delete stale backend slot %d of service %d: %w", k.Slot, k.ServiceId, err)
		}
	}
	for _, id := range plan.staleRR {
		if err := deleteIfPresent(mm.m.rr, id); err != nil {
			return fmt.Errorf("delete stale round-robin counter of service %d: %w", id, err)
		}
	}
	for _, k := range plan.staleSelections {
		if err := deleteIfPresent(mm.m.selections, k); err != nil {
			return fmt.Errorf("delete stale selection counter of service %d: %w", k.ServiceId, err)
		}
	}
	for _, k := range plan.staleAffinity {
		if err := deleteIfPresent(mm.m.affinity, k); err != nil {
			return fmt.Errorf("delete stale affinity entry of service %d: %w", k.ServiceId, err)
		}
	}
	return nil
}

func validOnly(bs []Backend) []Backend {
	out := make([]Backend, 0, len(bs))
	for _, b := range bs {
		if b.valid() {
			out = append(out, b)
		}
	}
	return out
}

func (mm *Maps) allocID() (uint32, error) {
	for range len(mm.ids) + 1 {
		mm.nextID++
		if mm.nextID == 0 {
			mm.nextID = 1
		}
		if _, used := mm.ids[mm.nextID]; !used {
			return mm.nextID, nil
		}
	}
	return 0, newError(ErrInvalidService, "no free service id")
}

// initCounters creates the round-robin counter of a new service id (and
// resets one a crashed writer left). apply creates the selection counters.
func (mm *Maps) initCounters(id uint32) error {
	if err := mm.m.rr.Update(id, uint64(0), ebpf.UpdateAny); err != nil {
		return fmt.Errorf("create round-robin counter of service %d: %w", id, err)
	}
	return nil
}

// UpsertService makes the maps send svc.Frontend to svc.Backends (repeats
// ignored), writing only the entries that change, in this order: selection
// counters of new backends; backend slots at or above the current count
// (invisible until the count grows); slots below it whose backend changes
// (one atomic write each; when shrinking, the backends that sat above the
// new count move into the holes first); the frontend value (count, flags,
// affinity) in one write; slots at or above the new count, deleted; counters
// of removed backends. A new frontend gets a fresh service id and its
// counters before its slots, and its frontend entry last.
//
// Backends that stay keep their slot (and so their place in the rotation).
func (mm *Maps) UpsertService(svc Service) error {
	if err := svc.validate(); err != nil {
		return err
	}
	desired := dedupe(svc.Backends)
	var flags uint16
	var timeout uint32
	if svc.AffinityTimeout > 0 {
		flags, timeout = flagAffinity, affinitySeconds(svc.AffinityTimeout)
	}

	mm.mu.Lock()
	defer mm.mu.Unlock()
	e, ok := mm.cache[svc.Frontend]
	if !ok {
		id, err := mm.allocID()
		if err != nil {
			return err
		}
		e = &entry{id: id}
		mm.cache[svc.Frontend], mm.ids[id] = e, svc.Frontend
		if err := mm.initCounters(id); err != nil {
			return err
		}
	}
	layout := planSlots(e.visible(), desired)
	if e.flags&flagAffinity != 0 && flags&flagAffinity == 0 {
		if err := mm.deleteAffinity(e.id); err != nil {
			return err
		}
	}
	return mm.apply(svc.Frontend, e, layout, flags, timeout)
}

// apply runs the ordered steps that take e to layout (see UpsertService),
// keeping e equal to what the maps hold after every successful write.
func (mm *Maps) apply(fe Frontend, e *entry, layout []Backend, flags uint16, timeout uint32) error {
	before := map[Backend]bool{}
	for _, b := range e.visible() {
		before[b] = true
	}
	after := map[Backend]bool{}
	for _, b := range layout {
		after[b] = true
		if !before[b] {
			err := mm.m.selections.Update(selectionKey(e.id, b), uint64(0), ebpf.UpdateNoExist)
			if err != nil && !errors.Is(err, ebpf.ErrKeyExist) {
				return fmt.Errorf("frontend %s: create selection counter of %s: %w", fe, b, err)
			}
		}
	}
	steps := planUpdate(e.slots, e.count, layout)
	for _, w := range append(steps.growWrites, steps.replaceWrites...) {
		if err := mm.m.back.Update(lbBackendKey{ServiceId: e.id, Slot: w.slot}, encodeBackend(w.backend), ebpf.UpdateAny); err != nil {
			return fmt.Errorf("frontend %s: write backend slot %d (%s): %w", fe, w.slot, w.backend, err)
		}
		e.setSlot(w.slot, w.backend)
	}
	if !e.written || e.count != len(layout) || e.flags != flags || e.timeout != timeout {
		v := lbFrontend{ServiceId: e.id, BackendCount: mustFitUint16(len(layout)), Flags: flags, AffinityTimeout: timeout}
		if err := mm.m.front.Update(encodeFrontend(fe), v, ebpf.UpdateAny); err != nil {
			return fmt.Errorf("frontend %s: write frontend: %w", fe, err)
		}
		e.written, e.count, e.flags, e.timeout = true, len(layout), flags, timeout
	}
	for _, slot := range steps.deletes {
		if err := deleteIfPresent(mm.m.back, lbBackendKey{ServiceId: e.id, Slot: slot}); err != nil {
			return fmt.Errorf("frontend %s: delete backend slot %d: %w", fe, slot, err)
		}
		e.slots[slot] = Backend{}
	}
	e.trim()
	for b := range before {
		if !after[b] {
			if err := deleteIfPresent(mm.m.selections, selectionKey(e.id, b)); err != nil {
				return fmt.Errorf("frontend %s: delete selection counter of %s: %w", fe, b, err)
			}
		}
	}
	return nil
}

// DeleteService removes a frontend and everything kept for it: the frontend
// entry first (no new connect() finds it), then its slots and counters and
// affinity entries. Reverse translations of open sockets stay until the LRU
// evicts them, so those sockets keep seeing the address they connected to.
// Deleting an absent frontend is not an error.
func (mm *Maps) DeleteService(fe Frontend) error {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	e, ok := mm.cache[fe]
	if !ok {
		return nil
	}
	if err := deleteIfPresent(mm.m.front, encodeFrontend(fe)); err != nil {
		return fmt.Errorf("frontend %s: delete frontend: %w", fe, err)
	}
	e.written, e.count = false, 0
	for slot, b := range e.slots {
		if !b.valid() {
			continue
		}
		if err := deleteIfPresent(mm.m.back, lbBackendKey{ServiceId: e.id, Slot: uint32(slot)}); err != nil {
			return fmt.Errorf("frontend %s: delete backend slot %d: %w", fe, slot, err)
		}
		if err := deleteIfPresent(mm.m.selections, selectionKey(e.id, b)); err != nil {
			return fmt.Errorf("frontend %s: delete selection counter of %s: %w", fe, b, err)
		}
		e.slots[slot] = Backend{}
	}
	if err := deleteIfPresent(mm.m.rr, e.id); err != nil {
		return fmt.Errorf("frontend %s: delete round-robin counter: %w", fe, err)
	}
	if err := mm.deleteAffinity(e.id); err != nil {
		return err
	}
	delete(mm.cache, fe)
	delete(mm.ids, e.id)
	return nil
}

// deleteAffinity drops the affinity entries of one service id.
func (mm *Maps) deleteAffinity(id uint32) error {
	var k lbAffinityKey
	var v lbAffinity
	var doomed []lbAffinityKey
	it := mm.m.affinity.Iterate()
	for it.Next(&k, &v) {
		if k.ServiceId == id {
			doomed = append(doomed, k)
		}
	}
	if err := it.Err(); err != nil {
		return fmt.Errorf("read affinity entries: %w", err)
	}
	for _, k := range doomed {
		if err := deleteIfPresent(mm.m.affinity, k); err != nil {
			return fmt.Errorf("delete affinity entry of service %d: %w", id, err)
		}
	}
	return nil
}

// Services re-reads the maps (repairing them as at load), then returns every
// frontend with its backends in slot order: the current state a full resync
// compares against. An empty slot below a frontend's count (only a hand
// edit or a bug makes one) is left out, so the frontend differs from any
// desired state and the next UpsertService fills the slot.
func (mm *Maps) Services() ([]Service, error) {
	mm.mu.Lock()
	defer mm.mu.Unlock()
	if err := mm.adopt(); err != nil {
		return nil, err
	}
	out := make([]Service, 0, len(mm.cache))
	for fe, e := range mm.cache {
		if !e.written {
			continue
		}
		svc := Service{Frontend: fe, Backends: validOnly(e.visible())}
		if e.flags&flagAffinity != 0 {
			svc.AffinityTimeout = time.Duration(e.timeout) * time.Second
		}
		out = append(out, svc)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Frontend.Compare(out[j].Frontend) < 0 })
	return out, nil
}

// List reads what the maps hold, with counters, without changing anything.
func (mm *Maps) List() ([]ServiceInfo, error) {
	return listServices(mm.m)
}

func deleteIfPresent(m *ebpf.Map, key any) error {
	if err := m.Delete(key); err != nil && !errors.Is(err, ebpf.ErrKeyNotExist) {
		return err
	}
	return nil
}
