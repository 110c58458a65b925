package apiserver

import "sort"

// eventRing is the watch cache's bounded history: the most recent events
// in revision order. It remembers the revision after which it holds every
// event (coveredFrom), so it can tell a watch that resumes from an older
// revision that it came too late (410 Expired, the client relists).
type eventRing struct {
	buf   []*cacheEvent
	start int // index of the oldest event
	n     int
	// coveredFrom: every event with a revision above it is in the ring.
	coveredFrom int64
}

func newEventRing(capacity int, coveredFrom int64) *eventRing {
	return &eventRing{buf: make([]*cacheEvent, capacity), coveredFrom: coveredFrom}
}

// len is the number of events held.
func (r *eventRing) len() int { return r.n }

// at is the i-th oldest event held.
func (r *eventRing) at(i int) *cacheEvent { return r.buf[(r.start+i)%len(r.buf)] }

// add appends ev (whose revision is not below the newest held), dropping
// the oldest event when full.
func (r *eventRing) add(ev *cacheEvent) {
	if r.n == len(r.buf) {
		oldest := r.buf[r.start]
		r.buf[r.start] = nil
		r.start = (r.start + 1) % len(r.buf)
		r.n--
		r.coveredFrom = oldest.rev
	}
	r.buf[(r.start+r.n)%len(r.buf)] = ev
	r.n++
}

// after returns the events with a revision above rev, oldest first, and
// false when the ring no longer holds all of them.
func (r *eventRing) after(rev int64) ([]*cacheEvent, bool) {
	if rev < r.coveredFrom {
		return nil, false
	}
	i := sort.Search(r.n, func(i int) bool { return r.at(i).rev > rev })
	out := make([]*cacheEvent, 0, r.n-i)
	for ; i < r.n; i++ {
		out = append(out, r.at(i))
	}
	return out, true
}
