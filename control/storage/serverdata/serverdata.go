package serverdata

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"golang.org/x/sys/unix"
)

// ErrInUse is wrapped by Remove's error while a server runs on the
// directory.
var ErrInUse = errors.New("serverdata: the data directory is in use")

// EtcdDir is where tug server keeps its embedded etcd's data.
func EtcdDir(dataDir string) string { return filepath.Join(dataDir, "etcd") }

// Remove deletes the embedded etcd's data of a stopped server, then
// dataDir itself if nothing else is left in it (other files there are not
// tug's, so they stay). It refuses, wrapping ErrInUse, while a server runs
// on it: etcd holds an exclusive lock on its database file. Removing an
// absent directory is not an error.
func Remove(dataDir string) error {
	etcd := EtcdDir(dataDir)
	dbs, err := databases(etcd)
	if err != nil {
		return err
	}
	for _, db := range dbs {
		if err := checkUnlocked(db); err != nil {
			return err
		}
	}
	if err := os.RemoveAll(etcd); err != nil {
		return fmt.Errorf("serverdata: remove %s: %w", etcd, err)
	}
	if err := os.Remove(dataDir); err != nil && !errors.Is(err, os.ErrNotExist) && !errors.Is(err, unix.ENOTEMPTY) && !errors.Is(err, unix.EEXIST) {
		return fmt.Errorf("serverdata: remove %s: %w", dataDir, err)
	}
	return nil
}

// databases lists etcd's bbolt files (snap/db) under dir.
func databases(dir string) ([]string, error) {
	var out []string
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			if errors.Is(err, os.ErrNotExist) && p == dir {
				return filepath.SkipAll
			}
			return err
		}
		if !d.IsDir() && d.Name() == "db" && filepath.Base(filepath.Dir(p)) == "snap" {
			out = append(out, p)
		}
		return nil
	})
	if err != nil {
		return nil, fmt.Errorf("serverdata: read %s: %w", dir, err)
	}
	return out, nil
}

// checkUnlocked fails when another process holds bbolt's lock on db.
func checkUnlocked(db string) error {
	f, err := os.Open(db)
	if err != nil {
		return fmt.Errorf("serverdata: open %s: %w", db, err)
	}
	defer f.Close()
	if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
		if errors.Is(err, unix.EWOULDBLOCK) {
			return fmt.Errorf("%w: a tug server (or tug up) holds %s: stop it first", ErrInUse, db)
		}
		return fmt.Errorf("serverdata: lock %s: %w", db, err)
	}
	return unix.Flock(int(f.Fd()), unix.LOCK_UN)
}
