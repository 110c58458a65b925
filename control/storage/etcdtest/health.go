package etcdtest

import (
	"context"
	"fmt"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"
)

// waitHealthy polls until every running member answers, all agree on one
// leader, and a quorum read succeeds. It fails fast when a member's process
// exits.
func (c *Cluster) waitHealthy(ctx context.Context) error {
	var last error
	for {
		last = c.checkHealthy(ctx)
		if last == nil {
			return nil
		}
		for _, m := range c.membersSnapshot() {
			if m.cmd != nil && m.exitedNow() {
				return fmt.Errorf("%s: %w (%v); see %s", m.name, errExited, m.waitErr, m.logPath)
			}
		}
		select {
		case <-ctx.Done():
			return fmt.Errorf("cluster not healthy: %w (last check: %v)", ctx.Err(), last)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) membersSnapshot() []*member {
	c.mu.Lock()
	defer c.mu.Unlock()
	return append([]*member(nil), c.members...)
}

func (c *Cluster) checkHealthy(ctx context.Context) error {
	ms := c.running()
	if len(ms) == 0 {
		return fmt.Errorf("no member is running")
	}
	var leader uint64
	for _, m := range ms {
		st, err := status(ctx, m)
		if err != nil {
			return err
		}
		if st.Leader == 0 {
			return fmt.Errorf("%s has no leader", m.name)
		}
		if leader != 0 && st.Leader != leader {
			return fmt.Errorf("members disagree on the leader (%x, %x)", leader, st.Leader)
		}
		leader = st.Leader
	}
	// A linearizable read through the first member proves a quorum.
	cli, err := client(ms[0])
	if err != nil {
		return err
	}
	defer cli.Close()
	rctx, cancel := context.WithTimeout(ctx, 2*time.Second)
	defer cancel()
	if _, err := cli.Get(rctx, "etcdtest-health"); err != nil {
		return fmt.Errorf("%s: quorum read: %w", ms[0].name, err)
	}
	return nil
}

// Leader returns the index of the member that is the raft leader, as seen by
// the running members. It fails the test when no leader is known within a
// few seconds. Call it from the test's goroutine.
func (c *Cluster) Leader() int {
	c.t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), startTimeout)
	defer cancel()
	for {
		i, err := c.leader(ctx)
		if err == nil {
			return i
		}
		select {
		case <-ctx.Done():
			c.t.Fatalf("etcdtest: finding the leader: %v", err)
		case <-time.After(50 * time.Millisecond):
		}
	}
}

func (c *Cluster) leader(ctx context.Context) (int, error) {
	var lastErr error = fmt.Errorf("no member is running")
	for i, m := range c.membersSnapshot() {
		c.mu.Lock()
		alive := m.alive()
		c.mu.Unlock()
		if !alive {
			continue
		}
		st, err := status(ctx, m)
		if err != nil {
			lastErr = err
			continue
		}
		if st.Leader != 0 && st.Leader == st.Header.MemberId {
			return i, nil
		}
	}
	return -1, lastErr
}

func status(ctx context.Context, m *member) (*clientv3.StatusResponse, error) {
	cli, err := client(m)
	if err != nil {
		return nil, err
	}
	defer cli.Close()
	sctx, cancel := context.WithTimeout(ctx, time.Second)
	defer cancel()
	st, err := cli.Status(sctx, m.clientURL)
	if err != nil {
		return nil, fmt.Errorf("%s status: %w", m.name, err)
	}
	return st, nil
}

func client(m *member) (*clientv3.Client, error) {
	cli, err := clientv3.New(clientv3.Config{
		Endpoints:   []string{m.clientURL},
		DialTimeout: time.Second,
		Logger:      zap.NewNop(),
	})
	if err != nil {
		return nil, fmt.Errorf("%s: client: %w", m.name, err)
	}
	return cli, nil
}
