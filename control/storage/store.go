package storage

import (
	"context"
	"errors"
	"fmt"
	"time"
)

// Sentinel errors. Implementations wrap them with the key concerned.
var (
	ErrNotFound  = errors.New("key not found")
	ErrExists    = errors.New("key already exists")
	ErrConflict  = errors.New("revision conflict")
	ErrCompacted = errors.New("revision compacted")
	// ErrUnavailable means etcd could not be reached or could not commit
	// (no leader, a timeout, a lost connection). The outcome of a write
	// that fails with it is unknown: it may have been applied.
	ErrUnavailable = errors.New("storage unavailable")
	// ErrFutureRevision is a read at a revision the store has not reached.
	ErrFutureRevision = errors.New("revision is in the future")
	// ErrInvalid is a request no store could carry out (an empty key, the
	// same key twice in one Apply, an unknown op type): a caller's bug.
	ErrInvalid = errors.New("invalid storage request")
)

// KV is one stored value and the revision that last modified it.
type KV struct {
	Key   string
	Value []byte
	// Revision is the etcd mod revision of this key.
	Revision int64
}

// OpType says what an Op does.
type OpType int

const (
	// OpCreate writes Key only if it does not exist (else ErrExists).
	OpCreate OpType = iota
	// OpUpdate writes Key only if it exists and, when Revision is not 0,
	// was last modified at Revision (else ErrNotFound or ErrConflict).
	OpUpdate
	// OpDelete removes Key if it exists and, when Revision is not 0, was
	// last modified at Revision (else ErrNotFound or ErrConflict).
	OpDelete
)

func (t OpType) String() string {
	switch t {
	case OpCreate:
		return "create"
	case OpUpdate:
		return "update"
	case OpDelete:
		return "delete"
	}
	return fmt.Sprintf("OpType(%d)", int(t))
}

// Op is one conditional write inside Apply.
type Op struct {
	Type     OpType
	Key      string
	Value    []byte
	Revision int64
	// TTL, when positive on a create or update, attaches the key to a lease
	// so that etcd removes it after that long (events use it).
	TTL time.Duration
}

// Create, Update and Delete build Ops.
func Create(key string, value []byte) Op { return Op{Type: OpCreate, Key: key, Value: value} }
func Update(key string, value []byte, rev int64) Op {
	return Op{Type: OpUpdate, Key: key, Value: value, Revision: rev}
}
func Delete(key string, rev int64) Op { return Op{Type: OpDelete, Key: key, Revision: rev} }

// EventType is the kind of change a watch reports.
type EventType int

const (
	EventCreated EventType = iota
	EventModified
	EventDeleted
	// EventProgress carries only a Revision: everything up to it was seen.
	EventProgress
	// EventError carries Err; the stream ends after it.
	EventError
)

// Event is one change seen by Watch.
type Event struct {
	Type     EventType
	Key      string
	Value    []byte // new value; nil for deletes
	Prev     []byte // previous value for modifications and deletes, when known
	Revision int64
	Err      error
}

// ListOptions narrows List.
type ListOptions struct {
	// Revision, when not 0, reads the state as of that revision
	// (ErrCompacted when it is gone).
	Revision int64
	// KeysFrom, when set, starts the listing at this key (inclusive) inside
	// the prefix; Limit bounds the number of results (0 = all).
	KeysFrom string
	Limit    int64
}

// ListResult is the outcome of List.
type ListResult struct {
	Items []KV
	// Revision is the store revision the listing reflects.
	Revision int64
	// More is true when Limit cut the listing short.
	More bool
}

// Store is the narrow, revisioned interface every backend implements. All
// calls honour ctx; all errors wrap one of the sentinels above when one
// applies.
type Store interface {
	// Get returns the value at key (ErrNotFound when absent).
	Get(ctx context.Context, key string) (KV, error)
	// List returns every key under prefix in key order.
	List(ctx context.Context, prefix string, opts ListOptions) (ListResult, error)
	// Apply runs ops atomically and returns the revision of the write. If
	// any precondition fails nothing is written and the error names the
	// first failing key.
	Apply(ctx context.Context, ops ...Op) (int64, error)
	// Watch streams changes under prefix after revision fromRev (0 = from
	// now). The channel closes when ctx ends or after an EventError; an
	// expired fromRev yields an EventError wrapping ErrCompacted. When
	// progress is set the store also sends EventProgress periodically.
	Watch(ctx context.Context, prefix string, fromRev int64, progress bool) (<-chan Event, error)
	// Revision returns the store's current revision.
	Revision(ctx context.Context) (int64, error)
	// Compact discards history before rev.
	Compact(ctx context.Context, rev int64) error
	// Close releases the connection.
	Close() error
}

// KeyError ties a sentinel to the key it concerns.
type KeyError struct {
	Key string
	Err error
}

func (e *KeyError) Error() string { return fmt.Sprintf("%s: %v", e.Key, e.Err) }
func (e *KeyError) Unwrap() error { return e.Err }

func keyErr(key string, err error) error { return &KeyError{Key: key, Err: err} }
