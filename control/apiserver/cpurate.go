package apiserver

import (
	"sync"
	"time"
)

// CPU usage rates for the metrics API are computed here, as metrics-server
// computes them: from two readings of a cumulative CPU counter
// (usageCoreNanoSeconds), so that the window is known exactly. The
// agent's own usageNanoCores covers whatever interval lay between its last
// two samples, which other readers (its heartbeat) choose.
const (
	// maxRateWindow: an older reading is not "current usage"; the series
	// is read twice instead.
	maxRateWindow = 30 * time.Second
	// rateSampleGap is how long to wait before reading a series a second
	// time. Agents answer a summary asked again within a second from
	// their previous sample, so the gap is longer than that.
	rateSampleGap = 1100 * time.Millisecond
)

// cpuReading is one reading of a cumulative CPU counter.
type cpuReading struct {
	at    time.Time
	usage uint64 // core-nanoseconds
}

// cpuRate is a CPU usage rate over a window ending at a reading.
type cpuRate struct {
	nanoCores uint64
	window    time.Duration
}

// cpuSeries is what is remembered of one counter: its last reading, the
// rate that ended there (if any), and when it was last used.
type cpuSeries struct {
	last     cpuReading
	rate     *cpuRate
	lastUsed time.Time
}

// nextCPUSeries is the pure decision for a new reading cur of a series
// whose state is prev (nil: never read): the new state, and the rate to
// report for cur, if one can be known.
//
//   - a reading at the same time as the last is the same sample (agents
//     cache their summary briefly): the rate computed for it stands;
//   - a reading after the last, within maxRateWindow, with the counter not
//     gone back, gives the rate over the interval between them;
//   - anything else (first reading, counter reset, reading older than
//     the last, a gap over maxRateWindow) starts the series again.
func nextCPUSeries(prev *cpuSeries, cur cpuReading) (cpuSeries, *cpuRate) {
	fresh := cpuSeries{last: cur}
	if prev == nil {
		return fresh, nil
	}
	switch {
	case cur.at.Equal(prev.last.at) && cur.usage == prev.last.usage:
		return *prev, prev.rate
	case !cur.at.After(prev.last.at), cur.usage < prev.last.usage, cur.at.Sub(prev.last.at) > maxRateWindow:
		return fresh, nil
	}
	window := cur.at.Sub(prev.last.at)
	r := &cpuRate{
		nanoCores: uint64(float64(cur.usage-prev.last.usage) / window.Seconds()),
		window:    window,
	}
	return cpuSeries{last: cur, rate: r}, r
}

// cpuRates remembers the CPU counters read from agents, by series key.
// Safe for concurrent use.
type cpuRates struct {
	mu     sync.Mutex
	series map[string]*cpuSeries
}

func newCPURates() *cpuRates { return &cpuRates{series: map[string]*cpuSeries{}} }

// observe records a reading of key and returns the rate it gives, if any.
func (c *cpuRates) observe(key string, cur cpuReading, now time.Time) *cpuRate {
	c.mu.Lock()
	defer c.mu.Unlock()
	next, rate := nextCPUSeries(c.series[key], cur)
	next.lastUsed = now
	c.series[key] = &next
	return rate
}

// forgetOlderThan drops series not used since before cutoff (containers
// and nodes that are gone), so the memory stays bounded by what exists.
func (c *cpuRates) forgetOlderThan(cutoff time.Time) {
	c.mu.Lock()
	defer c.mu.Unlock()
	for k, s := range c.series {
		if s.lastUsed.Before(cutoff) {
			delete(c.series, k)
		}
	}
}
