package allocator

import (
	"encoding/json"
	"fmt"
)

// snapshot is the JSON form of an allocator's state.
type snapshot struct {
	// Range is the range's canonical text ("10.96.0.0/12", "30000-32767").
	Range string `json:"range"`
	// MaskSize is a CIDRSet's subnet size; absent otherwise.
	MaskSize int `json:"maskSize,omitempty"`
	// Next is the offset where AllocateNext starts scanning.
	Next int `json:"next"`
	// Data is the bitmap (encoding/json writes []byte as base64).
	Data []byte `json:"data"`
}

func marshalSnapshot(rng string, maskSize int, b *bitmap) ([]byte, error) {
	return json.Marshal(snapshot{Range: rng, MaskSize: maskSize, Next: b.next, Data: b.encode()})
}

func decodeSnapshot(data []byte) (snapshot, error) {
	var s snapshot
	if err := json.Unmarshal(data, &s); err != nil {
		return s, newError(ErrInvalidSnapshot, "cannot decode allocation snapshot: %v", err)
	}
	return s, nil
}

// restoreBitmap loads s into b after the caller checked the range.
func restoreBitmap(b *bitmap, s snapshot) error {
	if err := b.decode(s.Data, s.Next); err != nil {
		return newError(ErrInvalidSnapshot, "allocation snapshot for %s is corrupt: %v", s.Range, err)
	}
	return nil
}

// rangeChanged reports a snapshot of another range; restart says how to
// start with the stored range again.
func rangeChanged(what, stored, configured, restart string) error {
	return newError(ErrRangeChanged,
		"the stored %s allocations are for %s but the configured range is %s; start with %s again (changing the range of a running cluster would hand out values twice)",
		what, stored, configured, restart)
}

func invalidSnapshotRange(rng string, err error) error {
	return newError(ErrInvalidSnapshot, "allocation snapshot has an unusable range %q: %v", rng, fmt.Sprint(err))
}
