package image

import (
	"cmp"
	"fmt"
	"slices"
	"time"
)

// GCPolicy is when and how far image garbage collection goes, as the
// kubelet's image GC: above HighThresholdPercent disk usage of the store's
// file system, unused images are removed, least recently used first, until
// usage is below LowThresholdPercent. Images pulled less than MinAge ago
// are spared (the agent may be about to start a container from them).
type GCPolicy struct {
	HighThresholdPercent int           // default 85; 100 disables collection
	LowThresholdPercent  int           // default 80
	MinAge               time.Duration // default 2m
}

func (p GCPolicy) withDefaults() GCPolicy {
	if p.HighThresholdPercent == 0 {
		p.HighThresholdPercent = 85
	}
	if p.LowThresholdPercent == 0 {
		p.LowThresholdPercent = 80
	}
	if p.MinAge == 0 {
		p.MinAge = 2 * time.Minute
	}
	return p
}

// Validate reports a policy the kubelet would refuse too.
func (p GCPolicy) Validate() error {
	p = p.withDefaults()
	if p.HighThresholdPercent < 0 || p.HighThresholdPercent > 100 {
		return fmt.Errorf("image: GC high threshold %d%% is not in 0..100", p.HighThresholdPercent)
	}
	if p.LowThresholdPercent < 0 || p.LowThresholdPercent > 100 {
		return fmt.Errorf("image: GC low threshold %d%% is not in 0..100", p.LowThresholdPercent)
	}
	if p.LowThresholdPercent > p.HighThresholdPercent {
		return fmt.Errorf("image: GC low threshold %d%% is above the high threshold %d%%", p.LowThresholdPercent, p.HighThresholdPercent)
	}
	return nil
}

// DiskUsage is the size and free space of a file system, in bytes.
type DiskUsage struct {
	Capacity  int64
	Available int64
}

// UsedPercent rounds the used share up, as the kubelet does.
func (u DiskUsage) UsedPercent() int {
	if u.Capacity <= 0 {
		return 0
	}
	return 100 - int(u.Available*100/u.Capacity)
}

// GCCandidate is an image as garbage collection sees it.
type GCCandidate struct {
	ID       string
	Size     int64 // bytes removing it frees (root filesystem and blobs)
	LastUsed time.Time
	Pulled   time.Time
	InUse    bool
}

// ChooseVictims returns the images to remove, in removal order. A pure
// function: the decision of GC, tested with a table.
func ChooseVictims(images []GCCandidate, usage DiskUsage, p GCPolicy, now time.Time) []GCCandidate {
	p = p.withDefaults()
	if usage.Capacity <= 0 || p.HighThresholdPercent >= 100 || usage.UsedPercent() < p.HighThresholdPercent {
		return nil
	}
	toFree := usage.Capacity*int64(100-p.LowThresholdPercent)/100 - usage.Available
	if toFree <= 0 {
		return nil
	}
	sorted := slices.Clone(images)
	slices.SortFunc(sorted, func(a, b GCCandidate) int {
		if c := a.LastUsed.Compare(b.LastUsed); c != 0 {
			return c
		}
		return cmp.Compare(a.ID, b.ID)
	})
	var victims []GCCandidate
	var freed int64
	for _, img := range sorted {
		if freed >= toFree {
			break
		}
		if img.InUse || now.Sub(img.Pulled) < p.MinAge {
			continue
		}
		victims = append(victims, img)
		freed += img.Size
	}
	return victims
}
