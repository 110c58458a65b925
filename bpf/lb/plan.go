package lb

// planSlots decides where each desired backend lives after an update, given
// the visible slots [0, backend_count) of today (an invalid Backend marks an
// empty slot; repeats are allowed, they are what a repair removes).
//
// The layout changes as little as possible, because every changed slot is a
// map write and moves traffic: a backend already in a slot below the new
// count stays there; the holes below the new count (slots of removed
// backends, empty or repeated slots) are filled first with the backends that
// sat above the new count, in slot order, then with new backends, in the
// order given. The result has exactly len(desired) slots, each desired
// backend once. desired must hold no repeats (see dedupe).
func planSlots(current, desired []Backend) []Backend {
	n := len(desired)
	wanted := make(map[Backend]bool, n)
	for _, b := range desired {
		wanted[b] = true
	}
	layout := make([]Backend, n)
	placed := make(map[Backend]bool, n)
	for i := 0; i < min(n, len(current)); i++ {
		if b := current[i]; b.valid() && wanted[b] && !placed[b] {
			layout[i] = b
			placed[b] = true
		}
	}
	var fill []Backend
	for i := n; i < len(current); i++ {
		if b := current[i]; wanted[b] && !placed[b] {
			fill = append(fill, b)
			placed[b] = true
		}
	}
	for _, b := range desired {
		if !placed[b] {
			fill = append(fill, b)
			placed[b] = true
		}
	}
	for i := range layout {
		if !layout[i].valid() {
			layout[i], fill = fill[0], fill[1:]
		}
	}
	return layout
}

// slotWrite is one backend map write of an update.
type slotWrite struct {
	slot    uint32
	backend Backend
}

// updateSteps is the ordered list of map operations that takes a frontend
// from its current slots to a new layout without a connect() ever reading an
// empty or removed slot below the count it sees:
//
//  1. growWrites: slots at or above the old count (invisible until the count
//     grows), written first;
//  2. replaceWrites: slots below both counts whose backend changes, each one
//     an atomic map update (the old or the new backend is read, both valid);
//  3. then the frontend value (count, flags, affinity) is updated once;
//  4. deletes: slots at or above the new count, removed only after the count
//     no longer covers them.
//
// When shrinking, step 2 first moves the backends that sat above the new
// count into the holes below it, so lowering the count drops nothing that is
// still wanted.
type updateSteps struct {
	growWrites    []slotWrite
	replaceWrites []slotWrite
	deletes       []uint32
}

// planUpdate compares the slots written today (slots[i] invalid when slot i
// has no entry; len(slots) may exceed count after an interrupted update) with
// the new layout.
func planUpdate(slots []Backend, count int, layout []Backend) updateSteps {
	var s updateSteps
	newCount := len(layout)
	for i := count; i < newCount; i++ {
		if i >= len(slots) || slots[i] != layout[i] {
			s.growWrites = append(s.growWrites, slotWrite{uint32(i), layout[i]})
		}
	}
	for i := 0; i < min(count, newCount); i++ {
		if i >= len(slots) || slots[i] != layout[i] {
			s.replaceWrites = append(s.replaceWrites, slotWrite{uint32(i), layout[i]})
		}
	}
	for i := newCount; i < len(slots); i++ {
		if slots[i].valid() {
			s.deletes = append(s.deletes, uint32(i))
		}
	}
	return s
}
