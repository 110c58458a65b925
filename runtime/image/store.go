package image

import (
	"crypto/rand"
	"encoding/hex"
	"errors"
	"fmt"
	"log/slog"
	"net/http"
	"os"
	"path/filepath"
	"strings"
	"sync"

	v1 "github.com/google/go-containerregistry/pkg/v1"
	"golang.org/x/sys/unix"
)

// Store is the node's image store: a content-addressed directory shared
// by every process on the node that opens the same Root (the agent and
// `tug image`). Its methods are safe for concurrent use.
//
// Layout under Root:
//
//	index.json          image records (atomically replaced)
//	index.lock          serializes changes to index.json
//	store.lock          shared by pulls and imports, exclusive for deletions
//	blobs/sha256/<hex>  manifests, configs and layers, verified
//	lowers/<hex>/       one unpacked root filesystem per image (by image ID)
//	tmp/<session>/      work in progress of one open Store; stale ones are
//	                    removed (a Store holds tmp/<session>.lock)
type Store struct {
	cfg       Config
	log       *slog.Logger
	root      string
	platform  v1.Platform
	mirrors   map[string][]mirror
	insecure  []string
	transport http.RoundTripper

	work     string    // this Store's tmp/<session> directory
	workLock *fileLock // held while the Store is open

	flights flights

	// onUnpackEntry, when set (tests), is called before each layer entry is
	// applied (layers count from 1).
	onUnpackEntry func(layer int, name string)

	closeOnce sync.Once
}

// Open opens (creating if needed) the store at cfg.Root and removes the
// leftovers of stores that ended without Close (crashed pulls).
func Open(cfg Config) (*Store, error) {
	cfg = cfg.withDefaults()
	if cfg.Root == "" {
		return nil, errors.New("image: Config.Root is empty: give the store directory, e.g. image.RootIn(\"/var/lib/tug/agent\")")
	}
	root, err := filepath.Abs(cfg.Root)
	if err != nil {
		return nil, fmt.Errorf("image: store root %q: %w", cfg.Root, err)
	}
	platform, err := parsePlatform(cfg.Platform)
	if err != nil {
		return nil, err
	}
	mirrors, err := mirrorTable(cfg)
	if err != nil {
		return nil, err
	}
	s := &Store{
		cfg:      cfg,
		log:      cfg.Logger,
		root:     root,
		platform: platform,
		mirrors:  mirrors,
		insecure: cfg.InsecureRegistries,
	}
	s.transport = newHostTransport(s.isInsecure)
	for _, d := range []string{root, s.blobDir(), s.lowersDir(), s.tmpDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("image: create store directory: %w", err)
		}
	}
	if err := s.startSession(); err != nil {
		return nil, err
	}
	if err := s.removeStaleSessions(); err != nil {
		s.log.Warn("could not remove leftovers of earlier image stores", "err", err)
	}
	return s, nil
}

// errStoreClosed is the error of a pull on a closed Store.
var errStoreClosed = errors.New("image: store is closed")

// Close cancels the pulls still running, waits for them to stop and
// releases the Store's working directory.
func (s *Store) Close() error {
	var err error
	s.closeOnce.Do(func() {
		s.flights.close()
		err = os.RemoveAll(s.work)
		os.Remove(s.work + ".lock")
		s.workLock.unlock()
	})
	return err
}

// Root is the store's directory.
func (s *Store) Root() string { return s.root }

func (s *Store) blobDir() string   { return filepath.Join(s.root, "blobs", "sha256") }
func (s *Store) lowersDir() string { return filepath.Join(s.root, "lowers") }
func (s *Store) tmpDir() string    { return filepath.Join(s.root, "tmp") }
func (s *Store) indexPath() string { return filepath.Join(s.root, "index.json") }
func (s *Store) indexLock() string { return filepath.Join(s.root, "index.lock") }
func (s *Store) storeLock() string { return filepath.Join(s.root, "store.lock") }
func (s *Store) lowerPath(id string) string {
	return filepath.Join(s.lowersDir(), strings.TrimPrefix(id, "sha256:"))
}

// startSession creates tmp/<session>.lock, locks it, and only then creates
// tmp/<session>/, so a directory whose lock can be taken is abandoned.
func (s *Store) startSession() error {
	for range 5 {
		var b [8]byte
		rand.Read(b[:])
		name := filepath.Join(s.tmpDir(), fmt.Sprintf("%d-%s", os.Getpid(), hex.EncodeToString(b[:])))
		f, err := os.OpenFile(name+".lock", os.O_RDWR|os.O_CREATE|os.O_EXCL, 0o600)
		if err != nil {
			return fmt.Errorf("image: create store session: %w", err)
		}
		if err := unix.Flock(int(f.Fd()), unix.LOCK_EX|unix.LOCK_NB); err != nil {
			f.Close()
			continue // another Open judged it stale between create and lock
		}
		// It may have been removed as stale between create and lock.
		var st1, st2 unix.Stat_t
		if unix.Fstat(int(f.Fd()), &st1) != nil || unix.Stat(name+".lock", &st2) != nil || st1.Ino != st2.Ino {
			f.Close()
			continue
		}
		if err := os.Mkdir(name, 0o700); err != nil {
			f.Close()
			os.Remove(name + ".lock")
			return fmt.Errorf("image: create store session: %w", err)
		}
		s.work, s.workLock = name, &fileLock{f: f}
		return nil
	}
	return errors.New("image: could not create a store session directory")
}

// removeStaleSessions removes tmp/<session> directories whose owner is
// gone (their lock is free or missing): unpacks and downloads cut short by
// a crash. A live session creates and locks its lock file before its
// directory, and removes its directory before its lock file.
func (s *Store) removeStaleSessions() error {
	entries, err := os.ReadDir(s.tmpDir())
	if err != nil {
		return err
	}
	sessions := map[string]bool{}
	for _, e := range entries {
		sessions[strings.TrimSuffix(e.Name(), ".lock")] = true
	}
	var errs []error
	for n := range sessions {
		p := filepath.Join(s.tmpDir(), n)
		if p == s.work {
			continue
		}
		l, ok, err := tryLockFile(p + ".lock")
		switch {
		case errors.Is(err, os.ErrNotExist):
			errs = append(errs, os.RemoveAll(p))
		case err != nil:
			errs = append(errs, err)
		case ok:
			s.log.Info("removing leftovers of an interrupted image store session", "dir", p)
			errs = append(errs, os.RemoveAll(p), os.Remove(p+".lock"))
			l.unlock()
		}
	}
	return errors.Join(errs...)
}

// tempDir makes a new directory inside this Store's session directory.
func (s *Store) tempDir(prefix string) (string, error) {
	d, err := os.MkdirTemp(s.work, prefix)
	if err != nil {
		return "", fmt.Errorf("image: create temporary directory: %w", err)
	}
	return d, nil
}
