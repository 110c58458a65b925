package container

import "github.com/opencontainers/cgroups"

// The CFS constants the kubelet uses (pkg/kubelet/cm/helpers_linux.go).
const (
	cfsPeriodMicros   = 100000
	minCFSQuotaMicros = 1000
	minCPUShares      = 2
	maxCPUShares      = 262144
	sharesPerCPU      = 1024
)

// cpuSharesFromRequest converts a CPU request in millicores to cgroup v1
// cpu.shares as the kubelet does: 1024 shares per CPU, at least 2 (also
// when no request is given, as for a BestEffort container), at most 262144.
func cpuSharesFromRequest(milli int64) uint64 {
	if milli <= 0 {
		return minCPUShares
	}
	shares := milli * sharesPerCPU / 1000
	switch {
	case shares < minCPUShares:
		return minCPUShares
	case shares > maxCPUShares:
		return maxCPUShares
	}
	return uint64(shares)
}

// cpuWeightFromShares is the cgroup v2 cpu.weight libcontainer writes for
// the given shares (opencontainers/cgroups' conversion, which runc and so
// the kubelet's containers use).
func cpuWeightFromShares(shares uint64) uint64 {
	return cgroups.ConvertCPUSharesToCgroupV2Value(shares)
}

// cfsQuotaFromLimit converts a CPU limit in millicores to a CFS quota over
// cfsPeriodMicros, as the kubelet does; 0 (no limit) stays 0.
func cfsQuotaFromLimit(milli int64) int64 {
	if milli <= 0 {
		return 0
	}
	quota := milli * cfsPeriodMicros / 1000
	if quota < minCFSQuotaMicros {
		return minCFSQuotaMicros
	}
	return quota
}
