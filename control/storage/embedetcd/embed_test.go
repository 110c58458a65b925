package embedetcd_test

import (
	"context"
	"testing"
	"time"

	"github.com/tug-sh/tug/control/storage"
	"github.com/tug-sh/tug/control/storage/embedetcd"
)

func TestStart(t *testing.T) {
	ctx := context.Background()
	t0 := time.Now()
	m, err := embedetcd.Start(ctx, embedetcd.Config{Dir: t.TempDir()})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	t.Log(time.Since(t0), m.Endpoints)
	rev, err := m.Store.Apply(ctx, storage.Create("/registry/a/b", []byte("x")))
	if err != nil {
		t.Fatal(err)
	}
	if _, err := m.Store.Apply(ctx, storage.Create("/registry/a/b", []byte("x"))); err == nil {
		t.Fatal("expected exists")
	} else {
		t.Log(err)
	}
	ch, _ := m.Store.Watch(ctx, "/registry/a/", rev-1, true)
	ev := <-ch
	t.Log(ev.Type, ev.Key, ev.Revision)
	ev = <-ch
	t.Log(ev.Type, ev.Key, ev.Revision, time.Since(t0))
}
