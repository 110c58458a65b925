package storage

import (
	"context"
	"errors"
	"fmt"
	"strconv"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
	"google.golang.org/grpc/metadata"
	"google.golang.org/grpc/status"
)

// EtcdConfig says how to reach an etcd cluster.
type EtcdConfig struct {
	Endpoints   []string
	DialTimeout time.Duration // default 5s
}

// Etcd is the Store over an etcd v3 cluster.
type Etcd struct {
	client   *clientv3.Client
	owned    bool
	watchSeq atomic.Uint64
}

var _ Store = (*Etcd)(nil)

// Dial connects to the etcd members in cfg and checks that at least one
// answers, so that a wrong address fails here with a clear message rather
// than on the first request.
func Dial(ctx context.Context, cfg EtcdConfig) (*Etcd, error) {
	if len(cfg.Endpoints) == 0 {
		return nil, fmt.Errorf("%w: no etcd endpoints given", ErrUnavailable)
	}
	if cfg.DialTimeout == 0 {
		cfg.DialTimeout = 5 * time.Second
	}
	c, err := clientv3.New(clientv3.Config{
		Endpoints:   cfg.Endpoints,
		DialTimeout: cfg.DialTimeout,
		Logger:      zap.NewNop(),
		Context:     context.WithoutCancel(ctx),
	})
	if err != nil {
		return nil, fmt.Errorf("%w: connecting to etcd at %v: %v", ErrUnavailable, cfg.Endpoints, err)
	}
	probe, cancel := context.WithTimeout(ctx, cfg.DialTimeout)
	defer cancel()
	if _, err := c.Get(probe, "/registry/health-probe"); err != nil {
		c.Close()
		return nil, fmt.Errorf("%w: etcd at %v does not answer: %v", ErrUnavailable, cfg.Endpoints, err)
	}
	return &Etcd{client: c, owned: true}, nil
}

// NewEtcd wraps an existing client (for instance an in-process client of an
// embedded member). Close does not close a client it did not dial.
func NewEtcd(c *clientv3.Client) *Etcd { return &Etcd{client: c} }

// Client exposes the etcd client for the few etcd-native needs beyond the
// Store interface (leader election) that live next to it in this package.
func (s *Etcd) Client() *clientv3.Client { return s.client }

func (s *Etcd) Close() error {
	if s.owned {
		return s.client.Close()
	}
	return nil
}

func (s *Etcd) Get(ctx context.Context, key string) (KV, error) {
	resp, err := s.client.Get(ctx, key)
	if err != nil {
		return KV{}, wrapEtcd(key, err)
	}
	if len(resp.Kvs) == 0 {
		return KV{}, keyErr(key, ErrNotFound)
	}
	kv := resp.Kvs[0]
	return KV{Key: string(kv.Key), Value: kv.Value, Revision: kv.ModRevision}, nil
}

func (s *Etcd) List(ctx context.Context, prefix string, opts ListOptions) (ListResult, error) {
	start := prefix
	if opts.KeysFrom != "" {
		start = opts.KeysFrom
	}
	ops := []clientv3.OpOption{clientv3.WithRange(clientv3.GetPrefixRangeEnd(prefix))}
	if opts.Revision > 0 {
		ops = append(ops, clientv3.WithRev(opts.Revision))
	}
	if opts.Limit > 0 {
		ops = append(ops, clientv3.WithLimit(opts.Limit))
	}
	resp, err := s.client.Get(ctx, start, ops...)
	if err != nil {
		return ListResult{}, wrapEtcd(prefix, err)
	}
	out := ListResult{Items: make([]KV, 0, len(resp.Kvs)), Revision: resp.Header.Revision, More: resp.More}
	for _, kv := range resp.Kvs {
		out.Items = append(out.Items, KV{Key: string(kv.Key), Value: kv.Value, Revision: kv.ModRevision})
	}
	if opts.Revision > 0 {
		out.Revision = opts.Revision
	}
	return out, nil
}

func (s *Etcd) Apply(ctx context.Context, ops ...Op) (int64, error) {
	if len(ops) == 0 {
		return s.Revision(ctx)
	}
	var conds []clientv3.Cmp
	var thens, elses []clientv3.Op
	leases := map[time.Duration]clientv3.LeaseID{}
	for _, op := range ops {
		switch op.Type {
		case OpCreate:
			conds = append(conds, clientv3.Compare(clientv3.CreateRevision(op.Key), "=", 0))
		case OpUpdate, OpDelete:
			if op.Revision == 0 {
				conds = append(conds, clientv3.Compare(clientv3.CreateRevision(op.Key), ">", 0))
			} else {
				conds = append(conds, clientv3.Compare(clientv3.ModRevision(op.Key), "=", op.Revision))
			}
		default:
			return 0, fmt.Errorf("storage: unknown op type %v", op.Type)
		}
		switch op.Type {
		case OpCreate, OpUpdate:
			var putOpts []clientv3.OpOption
			if op.TTL > 0 {
				id, ok := leases[op.TTL]
				if !ok {
					secs := int64((op.TTL + time.Second - 1) / time.Second)
					lease, err := s.client.Grant(ctx, secs)
					if err != nil {
						return 0, wrapEtcd(op.Key, err)
					}
					id = lease.ID
					leases[op.TTL] = id
				}
				putOpts = append(putOpts, clientv3.WithLease(id))
			}
			thens = append(thens, clientv3.OpPut(op.Key, string(op.Value), putOpts...))
		case OpDelete:
			thens = append(thens, clientv3.OpDelete(op.Key))
		}
		elses = append(elses, clientv3.OpGet(op.Key, clientv3.WithKeysOnly()))
	}
	resp, err := s.client.Txn(ctx).If(conds...).Then(thens...).Else(elses...).Commit()
	if err != nil {
		return 0, wrapEtcd(ops[0].Key, err)
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	// Find the first op whose precondition failed, to name it.
	for i, op := range ops {
		kvs := resp.Responses[i].GetResponseRange().Kvs
		exists := len(kvs) > 0
		switch {
		case op.Type == OpCreate && exists:
			return 0, keyErr(op.Key, ErrExists)
		case op.Type != OpCreate && !exists:
			return 0, keyErr(op.Key, ErrNotFound)
		case op.Type != OpCreate && op.Revision != 0 && kvs[0].ModRevision != op.Revision:
			return 0, keyErr(op.Key, ErrConflict)
		}
	}
	// The state changed between the transaction and our reading of it.
	return 0, keyErr(ops[0].Key, ErrConflict)
}

// progressInterval is how often a progress-requesting watch asks etcd for a
// progress notification (the API server turns these into bookmarks).
const progressInterval = 5 * time.Second

func (s *Etcd) Watch(ctx context.Context, prefix string, fromRev int64, progress bool) (<-chan Event, error) {
	ctx, cancel := context.WithCancel(ctx)
	// A private metadata value gives this watch its own gRPC stream, so a
	// progress request is answered for this watch alone.
	wctx := metadata.AppendToOutgoingContext(clientv3.WithRequireLeader(ctx), "tug-watch", strconv.FormatUint(s.watchSeq.Add(1), 10))
	opts := []clientv3.OpOption{clientv3.WithPrefix(), clientv3.WithPrevKV()}
	if fromRev > 0 {
		opts = append(opts, clientv3.WithRev(fromRev+1))
	}
	if progress {
		opts = append(opts, clientv3.WithProgressNotify())
	}
	watcher := s.client.Watcher
	wch := watcher.Watch(wctx, prefix, opts...)
	out := make(chan Event, 64)
	go func() {
		defer close(out)
		defer cancel()
		var tick <-chan time.Time
		if progress {
			t := time.NewTicker(progressInterval)
			defer t.Stop()
			tick = t.C
		}
		send := func(ev Event) bool {
			select {
			case out <- ev:
				return true
			case <-ctx.Done():
				return false
			}
		}
		for {
			select {
			case <-ctx.Done():
				return
			case <-tick:
				// Errors here only delay the next bookmark.
				_ = watcher.RequestProgress(wctx)
			case resp, ok := <-wch:
				if !ok {
					if ctx.Err() == nil {
						send(Event{Type: EventError, Err: fmt.Errorf("%w: watch on %s closed", ErrUnavailable, prefix)})
					}
					return
				}
				if resp.CompactRevision != 0 {
					send(Event{Type: EventError, Err: keyErr(prefix, fmt.Errorf("%w: revision %d is older than the compacted revision %d", ErrCompacted, fromRev, resp.CompactRevision))})
					return
				}
				if err := resp.Err(); err != nil {
					send(Event{Type: EventError, Err: wrapEtcd(prefix, err)})
					return
				}
				if resp.IsProgressNotify() {
					if !send(Event{Type: EventProgress, Revision: resp.Header.Revision}) {
						return
					}
					continue
				}
				for _, e := range resp.Events {
					ev := Event{Key: string(e.Kv.Key), Revision: e.Kv.ModRevision}
					if e.PrevKv != nil {
						ev.Prev = e.PrevKv.Value
					}
					switch {
					case e.Type == clientv3.EventTypeDelete:
						ev.Type = EventDeleted
						ev.Revision = resp.Header.Revision
						if e.Kv.ModRevision != 0 {
							ev.Revision = e.Kv.ModRevision
						}
					case e.IsCreate():
						ev.Type, ev.Value = EventCreated, e.Kv.Value
					default:
						ev.Type, ev.Value = EventModified, e.Kv.Value
					}
					if !send(ev) {
						return
					}
				}
			}
		}
	}()
	return out, nil
}

func (s *Etcd) Revision(ctx context.Context) (int64, error) {
	resp, err := s.client.Get(ctx, "/registry/health-probe", clientv3.WithCountOnly())
	if err != nil {
		return 0, wrapEtcd("", err)
	}
	return resp.Header.Revision, nil
}

func (s *Etcd) Compact(ctx context.Context, rev int64) error {
	if _, err := s.client.Compact(ctx, rev); err != nil {
		if errors.Is(err, rpctypes.ErrCompacted) {
			return nil // already compacted past rev
		}
		return wrapEtcd("", err)
	}
	return nil
}

// wrapEtcd maps etcd client errors onto the sentinels.
func wrapEtcd(key string, err error) error {
	switch {
	case errors.Is(err, context.Canceled), errors.Is(err, context.DeadlineExceeded):
		return fmt.Errorf("%s: %w", key, err)
	case errors.Is(err, rpctypes.ErrCompacted), errors.Is(err, rpctypes.ErrGRPCCompacted):
		return keyErr(key, fmt.Errorf("%w: %v", ErrCompacted, err))
	case errors.Is(err, rpctypes.ErrFutureRev), errors.Is(err, rpctypes.ErrGRPCFutureRev):
		return keyErr(key, fmt.Errorf("%w: %v", ErrConflict, err))
	}
	if s, ok := status.FromError(err); ok {
		switch s.Code() {
		case codes.Unavailable, codes.DeadlineExceeded:
			return keyErr(key, fmt.Errorf("%w: %v", ErrUnavailable, err))
		}
	}
	if errors.Is(err, rpctypes.ErrNoLeader) || errors.Is(err, rpctypes.ErrGRPCNoLeader) {
		return keyErr(key, fmt.Errorf("%w: %v", ErrUnavailable, err))
	}
	return keyErr(key, err)
}
