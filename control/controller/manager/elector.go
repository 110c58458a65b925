package manager

import (
	"context"
	"time"
)

// Leadership is a won election. Done closes when this process no longer
// leads; it must close before a successor can be elected.
type Leadership interface {
	Done() <-chan struct{}
}

// resigner is implemented by a Leadership that can hand over at once.
type resigner interface {
	Resign(ctx context.Context) error
}

// Elector campaigns: Elect blocks until this process (identity) leads the
// election called name, or ctx ends. ttl is how long a dead leader keeps
// the office.
type Elector interface {
	Elect(ctx context.Context, name, identity string, ttl time.Duration) (Leadership, error)
}

// ElectorFunc adapts a function to Elector.
type ElectorFunc func(ctx context.Context, name, identity string, ttl time.Duration) (Leadership, error)

// Elect calls f.
func (f ElectorFunc) Elect(ctx context.Context, name, identity string, ttl time.Duration) (Leadership, error) {
	return f(ctx, name, identity, ttl)
}

// ElectorFrom adapts an Elect method returning a concrete leadership type,
// such as (*storage.Etcd).Elect:
//
//	manager.ElectorFrom(etcdStore.Elect)
func ElectorFrom[L Leadership](elect func(ctx context.Context, name, identity string, ttl time.Duration) (L, error)) Elector {
	return ElectorFunc(func(ctx context.Context, name, identity string, ttl time.Duration) (Leadership, error) {
		l, err := elect(ctx, name, identity, ttl)
		if err != nil {
			return nil, err
		}
		return l, nil
	})
}
