package serverdata

import (
	"errors"
	"os"
	"path/filepath"
	"testing"

	"golang.org/x/sys/unix"
)

// layout makes a stopped server's data directory: etcd's member with its
// bbolt file, as embedetcd leaves it.
func layout(t *testing.T) (dataDir, db string) {
	dataDir = filepath.Join(t.TempDir(), "server")
	db = filepath.Join(EtcdDir(dataDir), "member", "member", "snap", "db")
	if err := os.MkdirAll(filepath.Dir(db), 0o700); err != nil {
		t.Fatal(err)
	}
	if err := os.WriteFile(db, []byte("bbolt"), 0o600); err != nil {
		t.Fatal(err)
	}
	return dataDir, db
}

func TestRemoveDeletesAStoppedServersData(t *testing.T) {
	dataDir, _ := layout(t)
	if err := Remove(dataDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(dataDir); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("%s still there: %v", dataDir, err)
	}
	if err := Remove(dataDir); err != nil {
		t.Errorf("removing again: %v", err)
	}
}

func TestRemoveKeepsFilesThatAreNotTugs(t *testing.T) {
	dataDir, _ := layout(t)
	other := filepath.Join(dataDir, "notes.txt")
	if err := os.WriteFile(other, []byte("mine"), 0o600); err != nil {
		t.Fatal(err)
	}
	if err := Remove(dataDir); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(EtcdDir(dataDir)); !errors.Is(err, os.ErrNotExist) {
		t.Errorf("etcd's data still there: %v", err)
	}
	if _, err := os.Stat(other); err != nil {
		t.Errorf("a file that is not tug's was removed: %v", err)
	}
}

// A running server holds bbolt's lock (flock, as etcd's bbolt takes it):
// Remove refuses and deletes nothing.
func TestRemoveRefusesWhileAServerRuns(t *testing.T) {
	dataDir, db := layout(t)
	f, err := os.OpenFile(db, os.O_RDWR, 0)
	if err != nil {
		t.Fatal(err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX); err != nil {
		t.Fatal(err)
	}
	err = Remove(dataDir)
	if !errors.Is(err, ErrInUse) {
		t.Fatalf("Remove = %v, want ErrInUse", err)
	}
	if _, err := os.Stat(db); err != nil {
		t.Errorf("the database went while in use: %v", err)
	}
}
