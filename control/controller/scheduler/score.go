package scheduler

import "time"

// MaxTermScore is the best value of one scoring term.
const MaxTermScore = 1000

// SpreadWeight multiplies the spread term: spreading one controller's pods
// matters more than small differences in load.
const SpreadWeight = 2

// Score rates a feasible node for the pod, higher is better: least loaded
// (cpu, memory, pod slots) plus SpreadWeight times the spread term.
// maxOwned is the largest number of pods of the pod's controller on any
// feasible node; now decides whether the measured usage is fresh.
func Score(pi *PodInfo, ni *NodeInfo, maxOwned int, now time.Time) int64 {
	cpuLoad := ni.NonZero.MilliCPU + pi.NonZero.MilliCPU
	memLoad := ni.NonZero.Memory + pi.NonZero.Memory
	if u := ni.Usage; u != nil && !u.At.IsZero() && now.Sub(u.At) <= UsageMaxAge {
		cpuLoad = max(cpuLoad, u.MilliCPU+pi.NonZero.MilliCPU)
		memLoad = max(memLoad, u.Memory+pi.NonZero.Memory)
	}
	score := freeFraction(ni.Allocatable.MilliCPU, cpuLoad) +
		freeFraction(ni.Allocatable.Memory, memLoad) +
		freeFraction(ni.MaxPods, ni.Pods+1)
	return score + SpreadWeight*spreadScore(ni.Owners[pi.Owner], maxOwned, pi.Owner != "")
}

// freeFraction is MaxTermScore times the unused fraction of capacity.
func freeFraction(capacity, used int64) int64 {
	if capacity <= 0 || used >= capacity {
		return 0
	}
	if used <= 0 {
		return MaxTermScore
	}
	return int64(float64(capacity-used) / float64(capacity) * MaxTermScore)
}

// spreadScore favours nodes with fewer pods of the same controller, relative
// to the most crowded feasible node (kube's SelectorSpread).
func spreadScore(owned, maxOwned int, hasOwner bool) int64 {
	if !hasOwner || maxOwned == 0 {
		return MaxTermScore
	}
	return int64(maxOwned-owned) * MaxTermScore / int64(maxOwned)
}
