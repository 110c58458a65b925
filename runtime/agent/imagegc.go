package agent

import (
	"context"
	"time"
)

// imageGCLoop removes unused images periodically when the store's file
// system is full (runtime/image's policy: above 85% used, down to 80%,
// least recently used first). Images of the node's containers are in use.
func (a *Agent) imageGCLoop(ctx context.Context) {
	if a.cfg.ImageGCInterval < 0 {
		return
	}
	t := time.NewTicker(a.cfg.ImageGCInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		}
		res, err := a.images.GC(ctx, a.imagesInUse(), a.cfg.ImageGCPolicy)
		switch {
		case err != nil && ctx.Err() == nil:
			a.log.Warn("image garbage collection failed", "err", err)
		case len(res.Removed) > 0:
			a.log.Info("image garbage collection", "removed", len(res.Removed), "usedPercentBefore", res.Before.UsedPercent(), "usedPercentAfter", res.After.UsedPercent())
		}
	}
}

// imagesInUse reports the images (by ID) of the node's pods' containers,
// running or about to restart.
func (a *Agent) imagesInUse() func(string) bool {
	inUse := map[string]bool{}
	a.mu.Lock()
	for _, ps := range a.pods {
		ps.mu.Lock()
		if !ps.rec.Finished {
			for _, c := range ps.rec.Containers {
				if c.ImageConfigID != "" {
					inUse[c.ImageConfigID] = true
				}
			}
		}
		ps.mu.Unlock()
	}
	a.mu.Unlock()
	return func(id string) bool { return inUse[id] }
}
