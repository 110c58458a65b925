package probe

import (
	"context"
	"log/slog"
	"math/rand/v2"
	"sync"
	"time"

	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"
)

// Config configures a Manager.
type Config struct {
	Prober *Prober
	// OnChange is called, from a worker's goroutine, when a published
	// result of the pod changes: the agent then syncs the pod.
	OnChange func(pod types.UID)
	// OnCheck, when set, is told about every failed check and every check
	// that passed with a warning (the kubelet's Unhealthy and
	// ProbeWarning events).
	OnCheck func(pod *v1.Pod, container string, kind Kind, o Outcome)
	Logger  *slog.Logger
}

// Manager runs the probe workers of a node's pods.
type Manager struct {
	cfg     Config
	ctx     context.Context
	cancel  context.CancelFunc
	started time.Time
	wg      sync.WaitGroup

	mu      sync.Mutex
	workers map[workerKey]*worker
}

type workerKey struct {
	pod       types.UID
	container string
	kind      Kind
}

type worker struct {
	key     workerKey
	cancel  context.CancelFunc
	trigger chan struct{}
	// Guarded by Manager.mu:
	state     *state
	pod       *v1.Pod
	target    Target
	container Container
}

// NewManager returns a Manager whose workers stop when ctx ends (or at
// Stop).
func NewManager(ctx context.Context, cfg Config) *Manager {
	if cfg.Logger == nil {
		cfg.Logger = slog.New(slog.DiscardHandler)
	}
	if cfg.Prober == nil {
		cfg.Prober = &Prober{}
	}
	ctx, cancel := context.WithCancel(ctx)
	return &Manager{cfg: cfg, ctx: ctx, cancel: cancel, started: time.Now(), workers: map[workerKey]*worker{}}
}

// Stop ends every worker and waits for them.
func (m *Manager) Stop() {
	m.cancel()
	m.wg.Wait()
}

// Sync makes the pod's workers match its spec (one per container and
// probe it defines) and tells them the containers' current state. A new
// running instance is probed at once rather than at the next tick.
func (m *Manager) Sync(pod *v1.Pod, podIP string, containers map[string]Container) {
	m.mu.Lock()
	defer m.mu.Unlock()
	want := map[workerKey]bool{}
	for _, c := range pod.Spec.Containers {
		for _, p := range []struct {
			kind Kind
			spec *v1.Probe
		}{{Liveness, c.LivenessProbe}, {Readiness, c.ReadinessProbe}, {Startup, c.StartupProbe}} {
			if p.spec == nil {
				continue
			}
			key := workerKey{pod.UID, c.Name, p.kind}
			want[key] = true
			w, ok := m.workers[key]
			if !ok {
				w = m.startWorker(key, *p.spec)
			}
			w.pod = pod
			w.target = Target{PodIP: podIP, ContainerID: containers[c.Name].ID, Ports: c.Ports}
			cs := containers[c.Name]
			newInstance := cs.ID != w.container.ID
			w.container = cs
			w.state.observe(cs)
			if newInstance && cs.Running {
				select {
				case w.trigger <- struct{}{}:
				default:
				}
			}
		}
	}
	for key, w := range m.workers {
		if key.pod == pod.UID && !want[key] {
			w.cancel()
			delete(m.workers, key)
		}
	}
}

// Remove stops the pod's workers.
func (m *Manager) Remove(pod types.UID) {
	m.mu.Lock()
	defer m.mu.Unlock()
	for key, w := range m.workers {
		if key.pod == pod {
			w.cancel()
			delete(m.workers, key)
		}
	}
}

// Result is the published result of the container's probe of the given
// kind for the instance containerID. ok is false when the container has
// no such probe.
func (m *Manager) Result(pod types.UID, container string, kind Kind, containerID string) (r Result, ok bool) {
	m.mu.Lock()
	defer m.mu.Unlock()
	w, ok := m.workers[workerKey{pod, container, kind}]
	if !ok {
		return Unknown, false
	}
	if w.state.containerID != containerID {
		return initialResult(kind), true
	}
	return w.state.result, true
}

// startWorker starts a worker's goroutine; m.mu is held.
func (m *Manager) startWorker(key workerKey, spec v1.Probe) *worker {
	ctx, cancel := context.WithCancel(m.ctx)
	w := &worker{key: key, cancel: cancel, trigger: make(chan struct{}, 1), state: newState(key.kind, spec)}
	m.workers[key] = w
	period := w.state.period()
	first := time.Duration(0)
	if time.Since(m.started) < period {
		// Right after an agent (re)start, spread the probes of all pods
		// over one period, as the kubelet does.
		first = rand.N(period)
	}
	m.wg.Add(1)
	go func() {
		defer m.wg.Done()
		m.loop(ctx, w, first, period)
	}()
	return w
}

func (m *Manager) loop(ctx context.Context, w *worker, first, period time.Duration) {
	timer := time.NewTimer(first)
	defer timer.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-timer.C:
		case <-w.trigger:
			if !timer.Stop() {
				select {
				case <-timer.C:
				default:
				}
			}
		}
		m.tick(ctx, w)
		timer.Reset(period)
	}
}

// tick runs one decision and, if due, one check.
func (m *Manager) tick(ctx context.Context, w *worker) {
	m.mu.Lock()
	c, target, pod, spec := w.container, w.target, w.pod, w.state.spec
	changed := w.state.observe(c)
	d := w.state.decide(c, time.Now())
	switch d {
	case publishFailure:
		changed = w.state.set(Failure) || changed
	case publishSuccess:
		changed = w.state.set(Success) || changed
	}
	m.mu.Unlock()

	if d == probeNow {
		o := m.cfg.Prober.Check(ctx, &spec, target)
		if ctx.Err() != nil {
			return
		}
		m.mu.Lock()
		if w.state.containerID == c.ID {
			changed = w.state.record(o.Result) || changed
		}
		m.mu.Unlock()
		if m.cfg.OnCheck != nil && pod != nil && (o.Result == Failure || o.Warning != "") {
			m.cfg.OnCheck(pod, w.key.container, w.key.kind, o)
		}
		if o.Result == Unknown {
			m.cfg.Logger.Warn("probe could not run", "pod", w.key.pod, "container", w.key.container, "probe", w.key.kind, "error", o.Output)
		}
	}
	if changed && m.cfg.OnChange != nil {
		m.cfg.OnChange(w.key.pod)
	}
}
