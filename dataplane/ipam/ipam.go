package ipam

import (
	"context"
	"errors"
	"fmt"
	"log/slog"
	"net/netip"
)

var (
	// ErrExhausted means every pod address of the CIDR is allocated.
	ErrExhausted = errors.New("pod CIDR exhausted")
	// ErrCIDRChanged means the state directory holds live allocations from
	// a different pod CIDR than the one configured.
	ErrCIDRChanged = errors.New("pod CIDR changed while pods hold addresses")
	// ErrCorruptState means the state file failed validation; nothing is
	// allocated until it is repaired or removed.
	ErrCorruptState = errors.New("corrupt IPAM state file")
)

// Config configures an Allocator.
type Config struct {
	// Dir holds the state and lock files; created (0700) if missing. Use a
	// directory that survives agent restarts, e.g. /var/lib/tug/ipam.
	Dir string
	// CIDR is the node's pod CIDR, e.g. 10.244.1.0/24 (IPv4, /8 to /30).
	CIDR netip.Prefix
	// Logger receives one line per allocation and release; nil discards.
	Logger *slog.Logger
}

// Allocator hands out pod addresses from one pod CIDR. It is safe for
// concurrent use, and several Allocators (in one process or several) may
// share a directory.
type Allocator struct {
	pool  pool
	store *store
	log   *slog.Logger
}

// New opens (or initializes) the state in cfg.Dir for cfg.CIDR. If the
// directory holds allocations from another CIDR, New fails with
// ErrCIDRChanged; a state without allocations simply adopts the new CIDR.
func New(ctx context.Context, cfg Config) (*Allocator, error) {
	p, err := newPool(cfg.CIDR)
	if err != nil {
		return nil, fmt.Errorf("ipam: %w", err)
	}
	st, err := openStore(cfg.Dir)
	if err != nil {
		return nil, err
	}
	log := cfg.Logger
	if log == nil {
		log = slog.New(slog.DiscardHandler)
	}
	a := &Allocator{pool: p, store: st, log: log.With("cidr", cfg.CIDR.String())}
	err = st.withLock(ctx, func() error {
		if err := st.removeTemps(); err != nil {
			return err
		}
		s, stale, err := a.loadFile()
		if err != nil {
			return err
		}
		if stale { // no file yet, or an empty one for an earlier CIDR
			return a.save(s)
		}
		return nil
	})
	if err != nil {
		st.close()
		return nil, err
	}
	return a, nil
}

// Close releases the lock file. Allocations stay on disk.
func (a *Allocator) Close() error { return a.store.close() }

// CIDR returns the pod CIDR.
func (a *Allocator) CIDR() netip.Prefix { return a.pool.cidr }

// Gateway returns the gateway address with the CIDR's prefix length, e.g.
// 10.244.1.1/24: the bridge's address and the pods' default route.
func (a *Allocator) Gateway() netip.Prefix {
	return netip.PrefixFrom(a.pool.gateway, a.pool.cidr.Bits())
}

// Capacity returns how many pod addresses the CIDR holds.
func (a *Allocator) Capacity() int { return a.pool.size }

// Allocate returns the address of the pod identified by key
// (namespace/name/uid), with the CIDR's prefix length (e.g. 10.244.1.5/24).
// A key that already holds an address gets the same one again. When none is
// free the error wraps ErrExhausted.
func (a *Allocator) Allocate(ctx context.Context, key string) (netip.Prefix, error) {
	if err := validateKey(key); err != nil {
		return netip.Prefix{}, fmt.Errorf("ipam: %w", err)
	}
	var got netip.Addr
	err := a.store.withLock(ctx, func() error {
		s, err := a.load()
		if err != nil {
			return err
		}
		if addr, ok := s.byKey[key]; ok {
			got = addr
			return nil
		}
		addr, ok := a.pool.next(s.used(), s.last)
		if !ok {
			return fmt.Errorf("ipam: %w: %s has %d pod addresses and all %d are allocated; delete pods on this node or give it a larger podCIDR",
				ErrExhausted, a.pool.cidr, a.pool.size, len(s.byKey))
		}
		s.byKey[key] = addr
		s.last = addr
		if err := a.save(s); err != nil {
			return err
		}
		got = addr
		a.log.Info("allocated pod address", "key", key, "ip", addr.String(), "allocated", len(s.byKey), "capacity", a.pool.size)
		return nil
	})
	if err != nil {
		return netip.Prefix{}, err
	}
	return netip.PrefixFrom(got, a.pool.cidr.Bits()), nil
}

// Release frees the address held by key. Releasing a key that holds none is
// not an error, so a repeated delete is harmless.
func (a *Allocator) Release(ctx context.Context, key string) error {
	if err := validateKey(key); err != nil {
		return fmt.Errorf("ipam: %w", err)
	}
	return a.store.withLock(ctx, func() error {
		s, err := a.load()
		if err != nil {
			return err
		}
		addr, ok := s.byKey[key]
		if !ok {
			return nil
		}
		delete(s.byKey, key)
		if err := a.save(s); err != nil {
			return err
		}
		a.log.Info("released pod address", "key", key, "ip", addr.String(), "allocated", len(s.byKey))
		return nil
	})
}

// Lookup returns the address held by key, if any.
func (a *Allocator) Lookup(ctx context.Context, key string) (netip.Prefix, bool, error) {
	var (
		addr netip.Addr
		ok   bool
	)
	err := a.store.withLock(ctx, func() error {
		s, err := a.load()
		if err != nil {
			return err
		}
		addr, ok = s.byKey[key]
		return nil
	})
	if err != nil || !ok {
		return netip.Prefix{}, false, err
	}
	return netip.PrefixFrom(addr, a.pool.cidr.Bits()), true, nil
}

// List returns every allocation (pod key → address). The agent compares the
// keys with the pods it runs and releases the rest.
func (a *Allocator) List(ctx context.Context) (map[string]netip.Addr, error) {
	var out map[string]netip.Addr
	err := a.store.withLock(ctx, func() error {
		s, err := a.load()
		if err != nil {
			return err
		}
		out = s.byKey
		return nil
	})
	return out, err
}

// load reads the state under the lock. A missing file, or a file for
// another CIDR without allocations, is an empty state for our CIDR; a state
// for another CIDR with live allocations is ErrCIDRChanged.
func (a *Allocator) load() (*state, error) {
	s, _, err := a.loadFile()
	return s, err
}

// loadFile is load that also reports whether the file on disk differs from
// the returned state's CIDR (absent, or adopted from an empty old CIDR).
func (a *Allocator) loadFile() (s *state, stale bool, err error) {
	data, err := a.store.read()
	if err != nil {
		return nil, false, err
	}
	if data == nil {
		return newState(a.pool.cidr), true, nil
	}
	s, err = decodeState(data)
	if err != nil {
		return nil, false, fmt.Errorf("ipam: %w: %s: %v (stop the agent and remove the file to forget all allocations)",
			ErrCorruptState, a.store.statePath(), err)
	}
	if s.cidr != a.pool.cidr {
		if len(s.byKey) > 0 {
			return nil, false, fmt.Errorf("ipam: %w: %s records %d allocations in %s but the node's pod CIDR is %s; delete this node's pods (or run tug reset) before changing its podCIDR",
				ErrCIDRChanged, a.store.statePath(), len(s.byKey), s.cidr, a.pool.cidr)
		}
		return newState(a.pool.cidr), true, nil
	}
	return s, false, nil
}

func (a *Allocator) save(s *state) error {
	data, err := encodeState(s)
	if err != nil {
		return fmt.Errorf("ipam: encode state: %w", err)
	}
	return a.store.write(data)
}
