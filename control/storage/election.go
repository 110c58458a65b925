package storage

import (
	"context"
	"errors"
	"fmt"
	"strings"
	"sync"
	"time"

	"go.etcd.io/etcd/api/v3/v3rpc/rpctypes"
	clientv3 "go.etcd.io/etcd/client/v3"
	"go.etcd.io/etcd/client/v3/concurrency"
)

// Leader election lets several `tug server` processes share one etcd while
// only one of them runs the controllers (scheduler, replication, endpoints,
// node lifecycle, garbage collector, namespace): each process calls Elect
// with the same name and its own identity, runs the controllers once Elect
// returns, and stops them when Leadership.Done closes. The API server runs
// in every process regardless.
//
// A leader holds an etcd lease that it renews every ttl/3. If it dies or
// loses etcd, the lease expires ttl later and the next contender (the
// oldest waiting campaign) is elected at once; a leader that resigns hands
// over immediately. Done closes before the lease can have expired on the
// server (9/10 of the TTL after sending the last renewal etcd
// acknowledged), so a deposed leader has stopped believing it leads
// before its successor is elected.

// ErrLeadershipLost is why Leadership.Done closed without Resign: the lease
// expired, was revoked, or could not be renewed in time.
var ErrLeadershipLost = errors.New("leadership lost")

// ErrResigned is Leadership.Err after Resign.
var ErrResigned = errors.New("leadership resigned")

// electionPrefix keeps election keys away from /registry/, where the API
// server's resources live.
const electionPrefix = "/tug/elections/"

func electionKeyPrefix(name string) string { return electionPrefix + name }

// Leadership is a won election, valid until Done closes.
type Leadership struct {
	name, identity string
	client         *clientv3.Client
	lease          clientv3.LeaseID
	ttl            time.Duration

	session  *concurrency.Session
	election *concurrency.Election

	stop     context.CancelFunc // ends the lease keeper and key watch
	campaign context.CancelFunc // aborts a running Campaign

	once sync.Once
	done chan struct{}
	mu   sync.Mutex
	err  error
}

// Elect campaigns for the election called name (one per job, e.g.
// "controllers") under identity (this process, e.g. its host name and
// pid), and blocks until elected or ctx ends. ttl is how long a dead
// leader keeps the office: etcd rounds it up to whole seconds and to its
// minimum lease (1.5 × its election timeout, 2s for a default etcd).
func (s *Etcd) Elect(ctx context.Context, name, identity string, ttl time.Duration) (*Leadership, error) {
	if name == "" || strings.Contains(name, "/") {
		return nil, fmt.Errorf("%w: election name %q must be non-empty and contain no '/'", ErrInvalid, name)
	}
	if identity == "" {
		return nil, fmt.Errorf("%w: election %s: empty identity", ErrInvalid, name)
	}
	if ttl < time.Second {
		return nil, fmt.Errorf("%w: election %s: ttl %s is under etcd's 1s lease granularity", ErrInvalid, name, ttl)
	}
	key := electionKeyPrefix(name)
	sent := time.Now()
	grant, err := s.client.Grant(ctx, ttlSeconds(ttl))
	if err != nil {
		return nil, wrapEtcd(key, err)
	}
	granted := time.Duration(grant.TTL) * time.Second
	lctx, stop := context.WithCancel(context.Background())
	l := &Leadership{
		name: name, identity: identity, client: s.client, lease: grant.ID, ttl: granted,
		stop: stop, done: make(chan struct{}),
	}
	l.session, err = concurrency.NewSession(s.client, concurrency.WithLease(grant.ID), concurrency.WithContext(lctx))
	if err != nil {
		stop()
		_ = l.revoke(ctx)
		return nil, wrapEtcd(key, err)
	}
	l.election = concurrency.NewElection(l.session, key)

	cctx, cancelCampaign := context.WithCancel(ctx)
	defer cancelCampaign()
	l.campaign = cancelCampaign
	go l.keep(lctx, validUntil(sent, granted))

	if err := l.election.Campaign(cctx, identity); err != nil {
		if lost := l.Err(); lost != nil {
			err = lost // the lease ended while waiting
		} else {
			err = wrapEtcd(key, err)
		}
		l.end(err, ctx)
		return nil, err
	}
	// Campaign also returns when the keys ahead of ours are gone, even if
	// our own vanished with them (our lease expired while we waited):
	// check that we hold the oldest key before claiming the office.
	rev, err := l.confirm(ctx)
	if err != nil {
		l.end(err, ctx)
		return nil, err
	}
	go l.watchKey(lctx, rev)
	return l, nil
}

// confirm checks that this campaign's key is the election's oldest and
// returns the revision of that observation.
func (l *Leadership) confirm(ctx context.Context) (int64, error) {
	resp, err := l.client.Get(ctx, electionKeyPrefix(l.name)+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return 0, wrapEtcd(l.election.Key(), err)
	}
	if len(resp.Kvs) == 0 || string(resp.Kvs[0].Key) != l.election.Key() || resp.Kvs[0].CreateRevision != l.election.Rev() {
		return 0, keyErr(l.election.Key(), fmt.Errorf("%w: the campaign's key expired before it was elected", ErrLeadershipLost))
	}
	return resp.Header.Revision, nil
}

// validUntil is when a leadership whose lease was granted or renewed by a
// request sent at sent ends. etcd cannot expire the lease before sent+ttl;
// a tenth of the TTL is kept in hand so that a busy machine, late to run
// the timer, still steps down before a successor can be elected.
func validUntil(sent time.Time, ttl time.Duration) time.Time {
	return sent.Add(ttl - ttl/10)
}

// keep renews the lease every ttl/3 and ends the leadership when the last
// acknowledged renewal (counted from when it was sent) runs out.
func (l *Leadership) keep(ctx context.Context, deadline time.Time) {
	expire := time.NewTimer(time.Until(deadline))
	defer expire.Stop()
	renew := time.NewTicker(l.ttl / 3)
	defer renew.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-expire.C:
			l.end(fmt.Errorf("%w: lease of election %s not renewed within %s", ErrLeadershipLost, l.name, l.ttl), ctx)
			return
		case <-renew.C:
			sent := time.Now()
			rctx, cancel := context.WithDeadline(ctx, deadline)
			resp, err := l.client.KeepAliveOnce(rctx, l.lease)
			cancel()
			switch {
			case err == nil:
				deadline = validUntil(sent, time.Duration(resp.TTL)*time.Second)
				expire.Reset(time.Until(deadline))
			case errors.Is(err, rpctypes.ErrLeaseNotFound):
				l.end(fmt.Errorf("%w: lease of election %s expired or was revoked", ErrLeadershipLost, l.name), ctx)
				return
			}
			// Other errors: the next tick retries; the deadline decides.
		}
	}
}

// watchKey ends the leadership as soon as the office key is deleted (by a
// lease revocation or an operator), without waiting for the deadline.
func (l *Leadership) watchKey(ctx context.Context, rev int64) {
	key := l.election.Key()
	for ctx.Err() == nil {
		for resp := range l.client.Watch(ctx, key, clientv3.WithRev(rev+1)) {
			if resp.Err() != nil {
				break
			}
			for _, ev := range resp.Events {
				if ev.Type == clientv3.EventTypeDelete {
					l.end(fmt.Errorf("%w: key %s of election %s deleted", ErrLeadershipLost, key, l.name), ctx)
					return
				}
			}
			rev = resp.Header.Revision
		}
		// The watch broke (compaction, a lost member): look at the key
		// again and resume from there. Meanwhile keep guards the lease.
		select {
		case <-ctx.Done():
			return
		case <-time.After(l.ttl / 10):
		}
		resp, err := l.client.Get(ctx, key)
		if err != nil {
			continue
		}
		if len(resp.Kvs) == 0 {
			l.end(fmt.Errorf("%w: key %s of election %s is gone", ErrLeadershipLost, key, l.name), ctx)
			return
		}
		rev = resp.Header.Revision
	}
}

// end closes Done once with err, stops the background work and gives the
// office back so a successor need not wait for the lease to expire. It
// reports whether this call ended the leadership and how the revocation
// went.
func (l *Leadership) end(err error, ctx context.Context) (ended bool, revokeErr error) {
	l.once.Do(func() {
		l.mu.Lock()
		l.err = err
		l.mu.Unlock()
		close(l.done)
		l.campaign()
		l.stop()
		l.session.Orphan()
		ended, revokeErr = true, l.revoke(ctx)
	})
	return ended, revokeErr
}

func (l *Leadership) revoke(ctx context.Context) error {
	// A bounded effort: when etcd is unreachable the lease expires anyway.
	rctx, cancel := context.WithTimeout(context.WithoutCancel(ctx), min(l.ttl, 5*time.Second))
	defer cancel()
	if _, err := l.client.Revoke(rctx, l.lease); err != nil && !errors.Is(err, rpctypes.ErrLeaseNotFound) {
		return wrapEtcd(electionKeyPrefix(l.name), err)
	}
	return nil
}

// Done is closed when this process is no longer the leader: stop the work
// the office allows. It closes before a successor can be elected.
func (l *Leadership) Done() <-chan struct{} { return l.done }

// Err is nil while leading, then why leading ended: ErrResigned, or an
// error wrapping ErrLeadershipLost.
func (l *Leadership) Err() error {
	l.mu.Lock()
	defer l.mu.Unlock()
	return l.err
}

// Identity is the identity this leadership was won under.
func (l *Leadership) Identity() string { return l.identity }

// Resign gives up the office: Done closes at once, then the lease is
// revoked so the next contender is elected without waiting for the TTL
// (an error means the revocation failed and the successor waits for the
// TTL). Stop the leader's work before calling it. Resigning twice, or
// after the leadership was lost, does nothing.
func (l *Leadership) Resign(ctx context.Context) error {
	_, err := l.end(ErrResigned, ctx)
	return err
}

// Leader returns the identity of the current leader of the election called
// name, or an error wrapping ErrNotFound when there is none.
func (s *Etcd) Leader(ctx context.Context, name string) (string, error) {
	key := electionKeyPrefix(name)
	resp, err := s.client.Get(ctx, key+"/", clientv3.WithFirstCreate()...)
	if err != nil {
		return "", wrapEtcd(key, err)
	}
	if len(resp.Kvs) == 0 {
		return "", keyErr(key, fmt.Errorf("%w: election %s has no leader", ErrNotFound, name))
	}
	return string(resp.Kvs[0].Value), nil
}
