package storage_test

import (
	"context"
	"sync"
	"testing"
	"time"

	"github.com/tug-sh/tug/control/storage"
	"github.com/tug-sh/tug/control/storage/embedetcd"
	"github.com/tug-sh/tug/control/storage/etcdtest"
	"github.com/tug-sh/tug/control/storage/storagetest"
)

// embedded is a member that may be closed by the test and by its cleanup:
// embedetcd's Close must not run twice.
type embedded struct {
	*embedetcd.Etcd
	once sync.Once
}

func (e *embedded) Close() { e.once.Do(e.Etcd.Close) }

func startEmbedded(t *testing.T) *embedded {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := embedetcd.Start(ctx, embedetcd.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	e := &embedded{Etcd: m}
	t.Cleanup(e.Close)
	return e
}

func dial(t *testing.T, endpoints []string) *storage.Etcd {
	t.Helper()
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	st, err := storage.Dial(ctx, storage.EtcdConfig{Endpoints: endpoints})
	if err != nil {
		t.Fatal(err)
	}
	return st
}

// The in-process client of an embedded member, as `tug server` uses it by
// default.
func TestConformanceEmbedded(t *testing.T) {
	m := startEmbedded(t)
	storagetest.Run(t, func(t *testing.T) storage.Store { return m.Store })
}

// A network client of an embedded member.
func TestConformanceEmbeddedOverNetwork(t *testing.T) {
	m := startEmbedded(t)
	storagetest.Run(t, func(t *testing.T) storage.Store { return dial(t, m.Endpoints) })
}

// A client of a 3-member cluster of Debian's etcd 3.4, as `tug server
// --etcd-servers` uses it.
func TestConformanceExternalCluster(t *testing.T) {
	c := etcdtest.StartCluster(t, 3)
	storagetest.Run(t, func(t *testing.T) storage.Store { return dial(t, c.Endpoints()) })
}
