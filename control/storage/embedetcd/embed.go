// Package embedetcd starts a single-member etcd inside the calling process:
// the one-call default storage of `tug server` and of tests.
package embedetcd

import (
	"context"
	"errors"
	"fmt"
	"net/url"
	"os"
	"path/filepath"
	"sync"
	"time"

	"go.etcd.io/etcd/server/v3/embed"
	"go.etcd.io/etcd/server/v3/etcdserver/api/v3client"
	"go.uber.org/zap"

	"github.com/tug-sh/tug/control/storage"
)

// Config places the member.
type Config struct {
	// Dir holds etcd's data; it survives restarts.
	Dir string
	// ClientURL is where etcd serves clients (default http://127.0.0.1:0,
	// a free port chosen by the kernel).
	ClientURL string
	// StartTimeout bounds how long Start waits for the member to be ready
	// (default 30s).
	StartTimeout time.Duration
}

// Etcd is a running embedded member.
type Etcd struct {
	// Store talks to the member in-process, without a network hop.
	Store *storage.Etcd
	// Endpoints are the member's client URLs, for etcdctl or other clients.
	Endpoints []string
	e         *embed.Etcd
	closeOnce sync.Once
}

// Start runs a member with its data in cfg.Dir and returns once it serves.
func Start(ctx context.Context, cfg Config) (*Etcd, error) {
	if cfg.Dir == "" {
		return nil, errors.New("embedetcd: no data directory given")
	}
	if err := os.MkdirAll(cfg.Dir, 0o700); err != nil {
		return nil, fmt.Errorf("embedetcd: creating data directory: %w", err)
	}
	if cfg.ClientURL == "" {
		cfg.ClientURL = "http://127.0.0.1:0"
	}
	if cfg.StartTimeout == 0 {
		cfg.StartTimeout = 30 * time.Second
	}
	curl, err := url.Parse(cfg.ClientURL)
	if err != nil {
		return nil, fmt.Errorf("embedetcd: client URL %q: %w", cfg.ClientURL, err)
	}
	// The peer side is never used by a single member; a unix socket in the
	// data directory keeps it off the network and free of port clashes.
	purl, _ := url.Parse("unix://" + filepath.Join(cfg.Dir, "peer.sock"))
	os.Remove(filepath.Join(cfg.Dir, "peer.sock"))

	ec := embed.NewConfig()
	ec.Name = "tug"
	ec.Dir = filepath.Join(cfg.Dir, "member")
	ec.ListenClientUrls = []url.URL{*curl}
	ec.AdvertiseClientUrls = []url.URL{*curl}
	ec.ListenPeerUrls = []url.URL{*purl}
	ec.AdvertisePeerUrls = []url.URL{*purl}
	ec.InitialCluster = ec.Name + "=" + purl.String()
	ec.ZapLoggerBuilder = embed.NewZapLoggerBuilder(zap.NewNop())
	ec.WatchProgressNotifyInterval = 5 * time.Second

	e, err := embed.StartEtcd(ec)
	if err != nil {
		return nil, fmt.Errorf("embedetcd: starting etcd in %s: %w", cfg.Dir, err)
	}
	select {
	case <-e.Server.ReadyNotify():
	case err := <-e.Err():
		e.Close()
		return nil, fmt.Errorf("embedetcd: etcd failed while starting: %w", err)
	case <-time.After(cfg.StartTimeout):
		e.Close()
		return nil, fmt.Errorf("embedetcd: etcd in %s not ready after %s", cfg.Dir, cfg.StartTimeout)
	case <-ctx.Done():
		e.Close()
		return nil, ctx.Err()
	}
	var eps []string
	for _, l := range e.Clients {
		eps = append(eps, "http://"+l.Addr().String())
	}
	return &Etcd{Store: storage.NewEtcd(v3client.New(e.Server)), Endpoints: eps, e: e}, nil
}

// Err reports a fatal error of the running member.
func (m *Etcd) Err() <-chan error { return m.e.Err() }

// Close stops the member, flushing its data. Calling it again is a no-op.
func (m *Etcd) Close() {
	m.closeOnce.Do(func() {
		m.Store.Client().Close()
		m.e.Close()
	})
}
