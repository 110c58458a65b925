package lb

import (
	"fmt"
	"net/netip"
	"reflect"
	"testing"
)

// be is backend 10.244.0.<i>:80; be(0) is the empty slot.
func be(i int) Backend {
	if i == 0 {
		return Backend{}
	}
	return Backend{Address: netip.AddrFrom4([4]byte{10, 244, 0, byte(i)}), Port: 80}
}

func bes(is ...int) []Backend {
	out := []Backend{}
	for _, i := range is {
		out = append(out, be(i))
	}
	return out
}

func TestPlanSlots(t *testing.T) {
	for _, tc := range []struct {
		name             string
		current, desired []Backend
		want             []Backend
	}{
		{"new service", bes(), bes(1, 2, 3), bes(1, 2, 3)},
		{"unchanged keeps order", bes(3, 1, 2), bes(1, 2, 3), bes(3, 1, 2)},
		{"grow appends", bes(1, 2, 3), bes(1, 2, 3, 4, 5), bes(1, 2, 3, 4, 5)},
		{"remove last", bes(1, 2, 3), bes(1, 2), bes(1, 2)},
		{"remove middle: last moves into the hole", bes(1, 2, 3), bes(1, 3), bes(1, 3)},
		{"remove first: tail moves", bes(1, 2, 3, 4), bes(2, 3, 4), bes(4, 2, 3)},
		{"replace in place", bes(1, 2, 3), bes(1, 4, 3), bes(1, 4, 3)},
		{"replace and grow", bes(1, 2), bes(1, 3, 4), bes(1, 3, 4)},
		{"shrink with tail movers before new", bes(1, 2, 3, 4), bes(4, 5), bes(4, 5)},
		{"scale to zero", bes(1, 2, 3), bes(), bes()},
		{"empty slot is filled", bes(1, 0, 3), bes(1, 2, 3), bes(1, 2, 3)},
		{"repeated backend is a hole", bes(1, 1, 2), bes(1, 2), bes(1, 2)},
		{"repeated backend replaced by new one", bes(1, 1, 2), bes(1, 2, 3), bes(1, 3, 2)},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planSlots(tc.current, tc.desired)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("planSlots(%v, %v) = %v, want %v", tc.current, tc.desired, got, tc.want)
			}
		})
	}
}

// Whatever the input, the layout holds each desired backend exactly once and
// every backend that keeps a slot below the new count stays in it.
func TestPlanSlotsProperties(t *testing.T) {
	for n := range 6 {
		for m := range 6 {
			current := bes()
			for i := range n {
				current = append(current, be((i*7)%9+1))
			}
			desired := dedupe(bes())
			for i := range m {
				desired = append(desired, be((i*5)%9+1))
			}
			desired = dedupe(desired)
			t.Run(fmt.Sprint(current, desired), func(t *testing.T) {
				got := planSlots(current, desired)
				if len(got) != len(desired) {
					t.Fatalf("len %d, want %d", len(got), len(desired))
				}
				seen := map[Backend]int{}
				for _, b := range got {
					seen[b]++
				}
				for _, b := range desired {
					if seen[b] != 1 {
						t.Fatalf("%v appears %d times in %v", b, seen[b], got)
					}
				}
				first := map[Backend]bool{}
				for i := 0; i < min(len(current), len(got)); i++ {
					b := current[i]
					if seen[b] == 1 && !first[b] && got[i] != b {
						t.Fatalf("%v moved from slot %d: %v -> %v", b, i, current, got)
					}
					first[b] = true
				}
			})
		}
	}
}

func TestPlanUpdateOrder(t *testing.T) {
	for _, tc := range []struct {
		name   string
		slots  []Backend
		count  int
		layout []Backend
		want   updateSteps
	}{
		{
			name: "grow: new slots only", slots: bes(1, 2), count: 2, layout: bes(1, 2, 3, 4),
			want: updateSteps{growWrites: []slotWrite{{2, be(3)}, {3, be(4)}}},
		},
		{
			name: "shrink: move tail into hole, then delete tail", slots: bes(1, 2, 3), count: 3, layout: bes(1, 3),
			want: updateSteps{replaceWrites: []slotWrite{{1, be(3)}}, deletes: []uint32{2}},
		},
		{
			name: "to zero", slots: bes(1, 2), count: 2, layout: bes(),
			want: updateSteps{deletes: []uint32{0, 1}},
		},
		{
			name: "interrupted grow: slot above count already right", slots: bes(1, 2, 3), count: 2, layout: bes(1, 2, 3),
			want: updateSteps{},
		},
		{
			name: "interrupted grow: stale slot above new count removed", slots: bes(1, 2, 3, 4), count: 2, layout: bes(1, 2, 3),
			want: updateSteps{deletes: []uint32{3}},
		},
		{
			name: "unchanged", slots: bes(1, 2), count: 2, layout: bes(1, 2),
			want: updateSteps{},
		},
	} {
		t.Run(tc.name, func(t *testing.T) {
			got := planUpdate(tc.slots, tc.count, tc.layout)
			if !reflect.DeepEqual(got, tc.want) {
				t.Fatalf("planUpdate = %+v, want %+v", got, tc.want)
			}
		})
	}
}

func TestPlanRepair(t *testing.T) {
	fa := Frontend{Address: netip.MustParseAddr("10.96.0.1"), Port: 80, Protocol: TCP}
	fb := Frontend{Address: netip.MustParseAddr("10.96.0.2"), Port: 80, Protocol: TCP}
	snap := &snapshot{
		frontends: map[Frontend]frontendValue{
			fa: {id: 1, count: 2},
			fb: {id: 1, count: 1}, // shares id 1 with fa: a bug's leftover
		},
		slots: map[uint32]map[uint32]Backend{
			1: {0: be(1), 1: be(2), 2: be(3)}, // slot 2 is above fa's count: crash mid-grow
			7: {0: be(4)},                     // no frontend: crash mid-delete
		},
		rr:         map[uint32]uint64{1: 10, 7: 3},
		selections: map[uint32]map[Backend]uint64{1: {be(1): 5, be(2): 5, be(3): 1}, 7: {be(4): 3}},
		affinity:   []lbAffinityKey{{NetnsCookie: 1, ServiceId: 1}, {NetnsCookie: 1, ServiceId: 7}},
	}
	got := planRepair(snap)
	want := repairPlan{
		reassign:        []Frontend{fb},
		staleSlots:      []lbBackendKey{{ServiceId: 1, Slot: 2}, {ServiceId: 7, Slot: 0}},
		staleRR:         []uint32{7},
		staleSelections: []lbSelectionKey{selectionKey(1, be(3)), selectionKey(7, be(4))},
		staleAffinity:   []lbAffinityKey{{NetnsCookie: 1, ServiceId: 7}},
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("planRepair =\n%+v\nwant\n%+v", got, want)
	}
	if !planRepair(&snapshot{frontends: map[Frontend]frontendValue{fa: {id: 1}}}).empty() {
		t.Fatal("a consistent snapshot needs no repair")
	}
}
