package probe

import (
	"time"

	v1 "k8s.io/api/core/v1"
)

// Container is what a worker knows about the container it probes; the
// agent updates it after every pod sync.
type Container struct {
	// ID is the runtime's ID of the newest instance, "" before the first.
	ID string
	// Running: the instance runs, since StartedAt.
	Running   bool
	StartedAt time.Time
	// Started: the startup probe succeeded (or there is none).
	Started bool
	// Deleting: the pod is being deleted.
	Deleting bool
	// WasReady and WasStarted are the instance's readiness and startup
	// verdicts published before the agent restarted (the pod's status in
	// the API): a restarted agent starts from them instead of the initial
	// results, so that adopted containers do not turn unready.
	WasReady, WasStarted bool
}

// state is one worker's memory: the instance it tracks, the published
// result and the current run of equal results. Its methods are the
// worker's decisions.
type state struct {
	kind Kind
	spec v1.Probe
	// containerID is the instance the result belongs to.
	containerID string
	result      Result
	last        Result
	run         int
	// onHold: a liveness or startup failure was published for this
	// instance; nothing more is probed until it is replaced.
	onHold bool
}

func newState(kind Kind, spec v1.Probe) *state {
	return &state{kind: kind, spec: withDefaults(kind, spec), result: initialResult(kind)}
}

// withDefaults applies the API's probe defaults to zero fields.
func withDefaults(kind Kind, p v1.Probe) v1.Probe {
	if p.PeriodSeconds <= 0 {
		p.PeriodSeconds = 10
	}
	if p.TimeoutSeconds <= 0 {
		p.TimeoutSeconds = 1
	}
	if p.FailureThreshold <= 0 {
		p.FailureThreshold = 3
	}
	if p.SuccessThreshold <= 0 || kind != Readiness {
		p.SuccessThreshold = 1
	}
	return p
}

// period is the time between probes.
func (s *state) period() time.Duration { return time.Duration(s.spec.PeriodSeconds) * time.Second }

// observe follows the container to a new instance: the result starts over.
// It reports whether the published result changed.
func (s *state) observe(c Container) bool {
	if c.ID == s.containerID {
		return false
	}
	before := s.result
	s.containerID = c.ID
	s.result = initialResult(s.kind)
	switch {
	case s.kind == Readiness && c.WasReady, s.kind == Startup && c.WasStarted:
		s.result = Success
	}
	s.last, s.run, s.onHold = Unknown, 0, false
	return s.result != before
}

// decision is what a worker does at a tick.
type decision int

const (
	skip decision = iota
	probeNow
	// publishFailure: the container is not running; readiness becomes
	// Failure without a probe.
	publishFailure
	// publishSuccess: the pod is being deleted; liveness and startup are
	// considered passing and probing stops.
	publishSuccess
)

// decide says what to do at now for container c (kubelet worker.doProbe).
func (s *state) decide(c Container, now time.Time) decision {
	switch {
	case c.ID == "" || s.onHold:
		return skip
	case !c.Running:
		if s.kind == Readiness && s.result != Failure {
			return publishFailure
		}
		return skip
	case c.Deleting && s.kind != Readiness:
		return publishSuccess
	case int32(now.Sub(c.StartedAt)/time.Second) < s.spec.InitialDelaySeconds:
		return skip
	case s.kind == Startup && c.Started:
		return skip // startup is over for this instance
	case s.kind != Startup && !c.Started:
		return skip // wait for the startup probe
	}
	return probeNow
}

// record takes a probe's result and reports whether the published result
// changed. Unknown (the check could not be made) is dropped.
func (s *state) record(r Result) bool {
	if r == Unknown {
		return false
	}
	if r == s.last {
		s.run++
	} else {
		s.last, s.run = r, 1
	}
	if (r == Failure && s.run < int(s.spec.FailureThreshold)) || (r == Success && s.run < int(s.spec.SuccessThreshold)) {
		return false
	}
	changed := s.result != r
	s.result = r
	if r == Failure && s.kind != Readiness {
		s.onHold, s.run = true, 0
	}
	return changed
}

// set publishes r directly (decisions publishFailure and publishSuccess).
func (s *state) set(r Result) bool {
	changed := s.result != r
	s.result = r
	s.last, s.run = Unknown, 0
	return changed
}
