package agent

import "time"

// Restart backoff, as the kubelet's (client-go flowcontrol.Backoff keyed by
// pod and container): a container that exits is restarted at once the
// first time; each later restart waits for the current delay after the
// previous exit, starting at 10s and doubling up to 5 minutes. An entry not
// touched for twice the maximum starts over.
const (
	initialRestartBackoff = 10 * time.Second
	maxRestartBackoff     = 5 * time.Minute
)

// backoff is one container's restart backoff entry. The zero value is "no
// entry".
type backoff struct {
	// Delay is the current delay; 0 when there is no entry.
	Delay time.Duration `json:"delay,omitempty"`
	// LastUpdate is the exit time the delay was last advanced at.
	LastUpdate time.Time `json:"lastUpdate,omitzero"`
}

// expired reports whether the entry is too old to count at eventTime.
func (b backoff) expired(eventTime time.Time) bool {
	return b.Delay == 0 || eventTime.Sub(b.LastUpdate) > 2*maxRestartBackoff
}

// inBackoff reports whether a container that exited at finishedAt must
// still wait at now, and until when.
func (b backoff) inBackoff(finishedAt, now time.Time) (bool, time.Time) {
	if b.expired(finishedAt) {
		return false, time.Time{}
	}
	until := finishedAt.Add(b.Delay)
	return now.Before(until), until
}

// next advances the entry for a restart after the exit at finishedAt:
// 10s for a new (or expired) entry, else double, capped at 5 minutes.
func (b backoff) next(finishedAt time.Time) backoff {
	d := initialRestartBackoff
	if !b.expired(finishedAt) {
		d = min(2*b.Delay, maxRestartBackoff)
	}
	return backoff{Delay: d, LastUpdate: finishedAt}
}
