package image

import (
	"log/slog"
	"sync"
	"sync/atomic"
	"time"
)

// Progress is a snapshot of a pull's downloads.
type Progress struct {
	Ref        string
	Layers     []LayerProgress
	Downloaded int64 // bytes of all layers, including ones already stored
	Total      int64
	Done       bool // the last report: every layer is stored
}

// LayerProgress is one layer's download.
type LayerProgress struct {
	Digest     string
	Size       int64
	Downloaded int64
	Cached     bool // stored before this pull
}

// progressTracker counts downloaded bytes and reports them every interval
// to the log and to report.
type progressTracker struct {
	ref      string
	log      *slog.Logger
	report   func(Progress)
	interval time.Duration

	layers []*layerCounter
	stop   chan struct{}
	wg     sync.WaitGroup
}

type layerCounter struct {
	digest string
	size   int64
	cached bool
	n      atomic.Int64
}

func newProgressTracker(ref string, log *slog.Logger, interval time.Duration, report func(Progress)) *progressTracker {
	return &progressTracker{ref: ref, log: log, report: report, interval: interval, stop: make(chan struct{})}
}

func (t *progressTracker) addLayer(digest string, size int64, cached bool) *layerCounter {
	c := &layerCounter{digest: digest, size: size, cached: cached}
	if cached {
		c.n.Store(size)
	}
	t.layers = append(t.layers, c)
	return c
}

func (t *progressTracker) snapshot(done bool) Progress {
	p := Progress{Ref: t.ref, Done: done}
	for _, c := range t.layers {
		n := c.n.Load()
		p.Layers = append(p.Layers, LayerProgress{Digest: c.digest, Size: c.size, Downloaded: n, Cached: c.cached})
		p.Downloaded += n
		p.Total += c.size
	}
	return p
}

// start reports the initial state and then one snapshot per interval
// until finish.
func (t *progressTracker) start() {
	t.emit(t.snapshot(false), false)
	t.wg.Add(1)
	go func() {
		defer t.wg.Done()
		tick := time.NewTicker(t.interval)
		defer tick.Stop()
		for {
			select {
			case <-t.stop:
				return
			case <-tick.C:
				t.emit(t.snapshot(false), true)
			}
		}
	}()
}

// finish stops the ticker and, when ok, reports completion.
func (t *progressTracker) finish(ok bool) {
	close(t.stop)
	t.wg.Wait()
	if ok {
		t.emit(t.snapshot(true), false)
	}
}

func (t *progressTracker) emit(p Progress, log bool) {
	if log {
		done := 0
		for _, l := range p.Layers {
			if l.Downloaded == l.Size {
				done++
			}
		}
		pct := 100.0
		if p.Total > 0 {
			pct = float64(p.Downloaded) * 100 / float64(p.Total)
		}
		t.log.Info("fetching image layers", "image", p.Ref, "downloaded", p.Downloaded, "total", p.Total,
			"percent", int(pct), "layers_done", done, "layers", len(p.Layers))
	}
	if t.report != nil {
		t.report(p)
	}
}

// countingReader adds what it reads to a layer's counter.
type countingReader struct {
	r interface{ Read([]byte) (int, error) }
	c *layerCounter
}

func (r countingReader) Read(p []byte) (int, error) {
	n, err := r.r.Read(p)
	r.c.n.Add(int64(n))
	return n, err
}
