package allocator

import (
	"errors"
	"fmt"
)

// Sentinel errors; every error returned by this package wraps one of them.
var (
	// ErrAllocated: the value asked for is already in use.
	ErrAllocated = errors.New("already allocated")
	// ErrNotInRange: the value is outside the range, or reserved in it.
	ErrNotInRange = errors.New("not in range")
	// ErrFull: every value of the range is in use.
	ErrFull = errors.New("range exhausted")
	// ErrRangeChanged: a snapshot was taken for a different range.
	ErrRangeChanged = errors.New("range changed")
	// ErrInvalidRange: a range cannot be used (unparsable, too large, or
	// without any assignable value).
	ErrInvalidRange = errors.New("invalid range")
	// ErrInvalidSnapshot: a snapshot cannot be decoded.
	ErrInvalidSnapshot = errors.New("invalid snapshot")
)

// rangeError carries a full, actionable message and unwraps to a sentinel,
// so that errors.Is works without the sentinel's text cluttering the message.
type rangeError struct {
	kind error
	msg  string
}

func (e *rangeError) Error() string { return e.msg }
func (e *rangeError) Unwrap() error { return e.kind }

func newError(kind error, format string, args ...any) error {
	return &rangeError{kind: kind, msg: fmt.Sprintf(format, args...)}
}
