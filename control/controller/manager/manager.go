package manager

import (
	"context"
	"errors"
	"log/slog"
	"sync/atomic"
	"time"
)

// retryElection is the pause after a failed campaign or a failed term.
const retryElection = time.Second

// Manager runs the controllers while this process leads the election.
type Manager struct {
	plan    plan
	elector Elector
	log     *slog.Logger
	leading atomic.Bool
	terms   atomic.Int64
}

// New validates opts; Run does the work.
func New(opts Options, elector Elector) (*Manager, error) {
	if elector == nil {
		return nil, errors.New("manager: an Elector is required (use RunControllers to run without election)")
	}
	p, err := opts.validate()
	if err != nil {
		return nil, err
	}
	return &Manager{plan: p, elector: elector, log: p.Logger.With("component", "controller-manager", "identity", p.Identity)}, nil
}

// IsLeader reports whether the controllers are running here now.
func (m *Manager) IsLeader() bool { return m.leading.Load() }

// Terms counts the terms this manager has led.
func (m *Manager) Terms() int64 { return m.terms.Load() }

// Run campaigns, leads, and campaigns again after losing the office,
// until ctx ends. It returns nil once ctx ended and everything stopped.
func (m *Manager) Run(ctx context.Context) error {
	for ctx.Err() == nil {
		m.log.Info("campaigning for leadership", "election", m.plan.ElectionName)
		l, err := m.elector.Elect(ctx, m.plan.ElectionName, m.plan.Identity, m.plan.LeaseDuration)
		if err != nil {
			if ctx.Err() == nil {
				m.log.Warn("election failed; retrying", "err", err)
				sleep(ctx, retryElection)
			}
			continue
		}
		m.lead(ctx, l)
	}
	return nil
}

// lead runs one term: the controllers run until the leadership or ctx
// ends; the office is given back only after they all stopped.
func (m *Manager) lead(ctx context.Context, l Leadership) {
	m.terms.Add(1)
	m.log.Info("elected leader; starting controllers")
	termCtx, cancel := context.WithCancel(ctx)
	go func() {
		select {
		case <-l.Done():
			m.log.Warn("leadership lost; stopping controllers")
			cancel()
		case <-termCtx.Done():
		}
	}()
	m.leading.Store(true)
	err := m.plan.run(termCtx)
	m.leading.Store(false)
	failed := termCtx.Err() == nil
	cancel()
	if err != nil {
		m.log.Error("controllers failed", "err", err)
	}
	if r, ok := l.(resigner); ok {
		rctx, done := context.WithTimeout(context.WithoutCancel(ctx), 5*time.Second)
		if err := r.Resign(rctx); err != nil {
			m.log.Warn("resigning failed; the successor waits for the lease to expire", "err", err)
		}
		done()
	}
	m.log.Info("term ended; controllers stopped")
	if failed {
		sleep(ctx, retryElection)
	}
}

func sleep(ctx context.Context, d time.Duration) {
	t := time.NewTimer(d)
	defer t.Stop()
	select {
	case <-ctx.Done():
	case <-t.C:
	}
}
