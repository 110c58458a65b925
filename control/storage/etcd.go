package storage

import (
	"context"
	"errors"
	"fmt"
	"sync/atomic"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
	"google.golang.org/grpc/codes"
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
	progress progressSupport
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
		return nil, fmt.Errorf("%w: etcd at %v does not answer within %s (are the --etcd-servers addresses right, and is etcd running?): %v", ErrUnavailable, cfg.Endpoints, cfg.DialTimeout, err)
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
	if err := ctx.Err(); err != nil {
		return KV{}, wrapEtcd(key, err)
	}
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
	// The listing is {k under prefix : k >= KeysFrom}: a KeysFrom outside
	// the prefix must neither widen it nor read past its end.
	end := clientv3.GetPrefixRangeEnd(prefix)
	start := max(prefix, opts.KeysFrom)
	empty := start >= end && end != "\x00" // "\x00" is "no end" for the empty prefix
	if empty {
		start = prefix
	}
	ops := []clientv3.OpOption{clientv3.WithRange(end)}
	if opts.Revision > 0 {
		ops = append(ops, clientv3.WithRev(opts.Revision))
	}
	if empty {
		// Still asked of etcd, so a compacted or future revision fails
		// the same way as for a non-empty range.
		ops = append(ops, clientv3.WithCountOnly())
	} else if opts.Limit > 0 {
		ops = append(ops, clientv3.WithLimit(opts.Limit))
	}
	resp, err := s.client.Get(ctx, start, ops...)
	if err != nil {
		return ListResult{}, wrapEtcd(prefix, err)
	}
	out := ListResult{Items: make([]KV, 0, len(resp.Kvs)), Revision: resp.Header.Revision}
	if empty {
		resp.Kvs = nil
	} else {
		out.More = resp.More
	}
	for _, kv := range resp.Kvs {
		out.Items = append(out.Items, KV{Key: string(kv.Key), Value: kv.Value, Revision: kv.ModRevision})
	}
	if opts.Revision > 0 {
		out.Revision = opts.Revision
	}
	return out, nil
}

func (s *Etcd) Apply(ctx context.Context, ops ...Op) (int64, error) {
	// A request already cancelled is not sent: the in-process client of an
	// embedded member would otherwise still apply it.
	if err := ctx.Err(); err != nil {
		return 0, wrapEtcd(opsKey(ops), err)
	}
	if len(ops) == 0 {
		return s.Revision(ctx)
	}
	if err := checkOps(ops); err != nil {
		return 0, err
	}
	leases, err := s.grantLeases(ctx, ops)
	if err != nil {
		return 0, err
	}
	var conds []clientv3.Cmp
	var thens, elses []clientv3.Op
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
		}
		switch op.Type {
		case OpCreate, OpUpdate:
			var putOpts []clientv3.OpOption
			if op.TTL > 0 {
				putOpts = append(putOpts, clientv3.WithLease(leases[ttlSeconds(op.TTL)]))
			}
			thens = append(thens, clientv3.OpPut(op.Key, string(op.Value), putOpts...))
		case OpDelete:
			thens = append(thens, clientv3.OpDelete(op.Key))
		}
		elses = append(elses, clientv3.OpGet(op.Key, clientv3.WithKeysOnly()))
	}
	resp, err := s.client.Txn(ctx).If(conds...).Then(thens...).Else(elses...).Commit()
	if err != nil {
		// The outcome is unknown: the leases stay and expire on their own.
		return 0, wrapEtcd(ops[0].Key, err)
	}
	if resp.Succeeded {
		return resp.Header.Revision, nil
	}
	s.revokeLeases(ctx, leases)
	// Find the first op whose precondition failed, to name it. The Else
	// reads ran in the same transaction, so one of them explains it.
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
	return 0, keyErr(ops[0].Key, ErrConflict)
}

// checkOps rejects what etcd would refuse with a less helpful message.
func checkOps(ops []Op) error {
	seen := make(map[string]bool, len(ops))
	for i, op := range ops {
		switch op.Type {
		case OpCreate, OpUpdate, OpDelete:
		default:
			return fmt.Errorf("%w: op %d has unknown type %v", ErrInvalid, i, op.Type)
		}
		if op.Key == "" {
			return fmt.Errorf("%w: op %d (%v) has an empty key", ErrInvalid, i, op.Type)
		}
		if seen[op.Key] {
			return keyErr(op.Key, fmt.Errorf("%w: the key appears in more than one op of one Apply", ErrInvalid))
		}
		seen[op.Key] = true
		if op.TTL < 0 || (op.TTL > 0 && op.Type == OpDelete) {
			return keyErr(op.Key, fmt.Errorf("%w: TTL %s on a %v", ErrInvalid, op.TTL, op.Type))
		}
	}
	return nil
}

// ttlSeconds rounds a TTL up to etcd's whole-second leases.
func ttlSeconds(ttl time.Duration) int64 { return int64((ttl + time.Second - 1) / time.Second) }

// grantLeases grants one lease per distinct TTL (in seconds) among ops.
func (s *Etcd) grantLeases(ctx context.Context, ops []Op) (map[int64]clientv3.LeaseID, error) {
	var leases map[int64]clientv3.LeaseID
	for _, op := range ops {
		if op.TTL <= 0 {
			continue
		}
		secs := ttlSeconds(op.TTL)
		if _, ok := leases[secs]; ok {
			continue
		}
		lease, err := s.client.Grant(ctx, secs)
		if err != nil {
			s.revokeLeases(ctx, leases)
			return nil, wrapEtcd(op.Key, err)
		}
		if leases == nil {
			leases = map[int64]clientv3.LeaseID{}
		}
		leases[secs] = lease.ID
	}
	return leases, nil
}

// revokeLeases drops leases no key was attached to. Failing only leaves
// them to expire by themselves.
func (s *Etcd) revokeLeases(ctx context.Context, leases map[int64]clientv3.LeaseID) {
	if len(leases) == 0 {
		return
	}
	ctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
	defer cancel()
	for _, id := range leases {
		_, _ = s.client.Revoke(ctx, id)
	}
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
		return keyErr(key, err)
	case errors.Is(err, rpctypes.ErrCompacted), errors.Is(err, rpctypes.ErrGRPCCompacted):
		return keyErr(key, fmt.Errorf("%w: %v", ErrCompacted, err))
	case errors.Is(err, rpctypes.ErrFutureRev), errors.Is(err, rpctypes.ErrGRPCFutureRev):
		return keyErr(key, fmt.Errorf("%w: %v", ErrFutureRevision, err))
	}
	// The client turns etcd's own gRPC errors into rpctypes.EtcdError,
	// which keeps the code but no longer looks like a gRPC status.
	code := codes.Unknown
	var ee rpctypes.EtcdError
	if errors.As(err, &ee) {
		code = ee.Code()
	} else if s, ok := status.FromError(err); ok {
		code = s.Code()
	}
	switch code {
	// Unavailable covers no leader, leader changed, request timed out
	// (also after a lost connection), server stopped; ResourceExhausted
	// covers too many requests and a full database.
	case codes.Unavailable, codes.DeadlineExceeded, codes.ResourceExhausted:
		return keyErr(key, fmt.Errorf("%w: %v", ErrUnavailable, err))
	case codes.Unknown:
		// A member without quorum times the request out on its side and
		// the error crosses gRPC as Unknown with only this text left.
		if s, ok := status.FromError(err); ok && s.Message() == context.DeadlineExceeded.Error() {
			return keyErr(key, fmt.Errorf("%w: %v", ErrUnavailable, err))
		}
	}
	return keyErr(key, err)
}

// opsKey names the first key of ops, for errors.
func opsKey(ops []Op) string {
	if len(ops) == 0 {
		return ""
	}
	return ops[0].Key
}
