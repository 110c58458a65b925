package etcdtest_test

import (
	"context"
	"syscall"
	"testing"
	"time"

	clientv3 "go.etcd.io/etcd/client/v3"
	"go.uber.org/zap"

	"github.com/tug-sh/tug/control/storage/etcdtest"
)

func newClient(t *testing.T, eps []string) *clientv3.Client {
	t.Helper()
	cli, err := clientv3.New(clientv3.Config{Endpoints: eps, DialTimeout: 5 * time.Second, Logger: zap.NewNop()})
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { cli.Close() })
	return cli
}

func TestClusterKillRestart(t *testing.T) {
	c := etcdtest.StartCluster(t, 3)
	if got := len(c.Endpoints()); got != 3 {
		t.Fatalf("Endpoints: %d, want 3", got)
	}
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	cli := newClient(t, c.Endpoints())
	if _, err := cli.Put(ctx, "/k", "v1"); err != nil {
		t.Fatal(err)
	}
	resp, err := cli.MemberList(ctx)
	if err != nil {
		t.Fatal(err)
	}
	if len(resp.Members) != 3 {
		t.Fatalf("member list has %d members, want 3", len(resp.Members))
	}

	leader := c.Leader()
	pid := c.PID(leader)
	c.Kill(leader)
	if c.PID(leader) != 0 {
		t.Fatalf("member %d still has a pid after Kill", leader)
	}
	if err := syscall.Kill(pid, 0); err != syscall.ESRCH {
		t.Fatalf("pid %d of the killed member still exists: %v", pid, err)
	}
	// The two remaining members keep a quorum and elect a new leader.
	if next := c.Leader(); next == leader {
		t.Fatalf("killed member %d is still reported leader", leader)
	}
	survivor := newClient(t, []string{c.Endpoint((leader + 1) % 3)})
	if _, err := survivor.Put(ctx, "/k", "v2"); err != nil {
		t.Fatalf("write with one member down: %v", err)
	}

	c.Restart(leader)
	back := newClient(t, []string{c.Endpoint(leader)})
	got, err := back.Get(ctx, "/k")
	if err != nil {
		t.Fatal(err)
	}
	if len(got.Kvs) != 1 || string(got.Kvs[0].Value) != "v2" {
		t.Fatalf("restarted member reads %v, want v2 (it must catch up)", got.Kvs)
	}

	c.Stop()
	for i := range c.Size() {
		if c.PID(i) != 0 {
			t.Fatalf("member %d runs after Stop", i)
		}
	}
}

func TestSingleMember(t *testing.T) {
	c := etcdtest.StartCluster(t, 1)
	cli := newClient(t, c.Endpoints())
	ctx, cancel := context.WithTimeout(context.Background(), 30*time.Second)
	defer cancel()
	if _, err := cli.Put(ctx, "/a", "b"); err != nil {
		t.Fatal(err)
	}
	if c.Leader() != 0 {
		t.Fatal("the only member is not the leader")
	}
}
