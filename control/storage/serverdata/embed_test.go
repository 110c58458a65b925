package serverdata_test

import (
	"context"
	"errors"
	"os"
	"path/filepath"
	"testing"
	"time"

	"github.com/tug-sh/tug/control/storage/embedetcd"
	"github.com/tug-sh/tug/control/storage/serverdata"
)

// With a real embedded etcd: Remove refuses while the member runs on the
// directory, as tug server lays it out, and removes it once stopped.
func TestRemoveWithARealEmbeddedEtcd(t *testing.T) {
	dataDir := filepath.Join(t.TempDir(), "server")
	ctx, cancel := context.WithTimeout(context.Background(), time.Minute)
	defer cancel()
	m, err := embedetcd.Start(ctx, embedetcd.Config{Dir: serverdata.EtcdDir(dataDir)})
	if err != nil {
		t.Fatal(err)
	}
	defer m.Close()
	if err := serverdata.Remove(dataDir); !errors.Is(err, serverdata.ErrInUse) {
		t.Fatalf("Remove while etcd runs = %v, want ErrInUse", err)
	}
	m.Close()
	if err := serverdata.Remove(dataDir); err != nil {
		t.Fatalf("Remove after etcd stopped: %v", err)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there: %v", dataDir, err)
	}
}
