package apiserver

import (
	statsapi "k8s.io/kubelet/pkg/apis/stats/v1alpha1"
	"slices"
	"strings"
	"time"

	corev1 "k8s.io/api/core/v1"
	apiresource "k8s.io/apimachinery/pkg/api/resource"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// observeCPU records a reading of a CPU counter and returns the rate it
// gives, if one is known yet (cpuRates.observe).
type observeCPU func(key string, r cpuReading) *cpuRate

// metricsBuild is the outcome of turning one summary into metrics.
type metricsBuild int

const (
	// built: the metrics are complete.
	built metricsBuild = iota
	// needRate: the statistics are there, but a CPU rate needs a second
	// reading.
	needRate
	// noStats: the summary does not have the statistics (the pod runs
	// no container yet, the agent measures nothing).
	noStats
)

// nodeMetrics turns the node part of an agent's summary into NodeMetrics,
// as metrics-server does: CPU as a rate in cores over the window, memory
// as the working set, the node's labels, created now.
func nodeMetrics(node *corev1.Node, sum *statsapi.Summary, observe observeCPU, now time.Time) (*metricsv1beta1.NodeMetrics, metricsBuild) {
	st := sum.Node
	if st.CPU == nil || st.CPU.UsageCoreNanoSeconds == nil || st.Memory == nil || st.Memory.WorkingSetBytes == nil {
		return nil, noStats
	}
	rate := observe("node/"+node.Name, cpuReading{at: st.CPU.Time.Time, usage: *st.CPU.UsageCoreNanoSeconds})
	if rate == nil {
		return nil, needRate
	}
	return &metricsv1beta1.NodeMetrics{
		TypeMeta:   metav1.TypeMeta{Kind: "NodeMetrics", APIVersion: metricsv1beta1.SchemeGroupVersion.String()},
		ObjectMeta: metav1.ObjectMeta{Name: node.Name, Labels: node.Labels, CreationTimestamp: metav1.NewTime(now)},
		Timestamp:  st.CPU.Time,
		Window:     metav1.Duration{Duration: rate.window},
		Usage:      usage(rate.nanoCores, *st.Memory.WorkingSetBytes),
	}, built
}

// podMetrics turns a pod's statistics into PodMetrics: one entry per
// running container (by name), the latest sample time and the longest
// window of its containers. A pod is only complete when every container
// it reports has both CPU and memory: a partial pod would under-report in
// kubectl top's sums.
func podMetrics(pod *corev1.Pod, st *statsapi.PodStats, observe observeCPU, now time.Time) (*metricsv1beta1.PodMetrics, metricsBuild) {
	if st == nil || len(st.Containers) == 0 {
		return nil, noStats
	}
	pm := &metricsv1beta1.PodMetrics{
		TypeMeta: metav1.TypeMeta{Kind: "PodMetrics", APIVersion: metricsv1beta1.SchemeGroupVersion.String()},
		ObjectMeta: metav1.ObjectMeta{Name: pod.Name, Namespace: pod.Namespace, Labels: pod.Labels,
			CreationTimestamp: metav1.NewTime(now)},
	}
	outcome := built
	for _, c := range st.Containers {
		if c.CPU == nil || c.CPU.UsageCoreNanoSeconds == nil || c.Memory == nil || c.Memory.WorkingSetBytes == nil {
			return nil, noStats
		}
		// A restarted container is a new counter: its start time is part
		// of the series.
		key := "pod/" + string(pod.UID) + "/" + c.Name + "/" + c.StartTime.UTC().Format(time.RFC3339Nano)
		rate := observe(key, cpuReading{at: c.CPU.Time.Time, usage: *c.CPU.UsageCoreNanoSeconds})
		if rate == nil {
			outcome = needRate // read the others too: one second reading serves all
			continue
		}
		pm.Containers = append(pm.Containers, metricsv1beta1.ContainerMetrics{Name: c.Name, Usage: usage(rate.nanoCores, *c.Memory.WorkingSetBytes)})
		if c.CPU.Time.After(pm.Timestamp.Time) {
			pm.Timestamp = c.CPU.Time
		}
		pm.Window.Duration = max(pm.Window.Duration, rate.window)
	}
	if outcome != built {
		return nil, outcome
	}
	slices.SortFunc(pm.Containers, func(a, b metricsv1beta1.ContainerMetrics) int { return strings.Compare(a.Name, b.Name) })
	return pm, built
}

// findPodStats is pod's entry in a summary: same namespace and name, and
// the same UID (a pod deleted and created again under its name is
// another pod).
func findPodStats(sum *statsapi.Summary, pod *corev1.Pod) *statsapi.PodStats {
	for i := range sum.Pods {
		ref := sum.Pods[i].PodRef
		if ref.Namespace == pod.Namespace && ref.Name == pod.Name && (ref.UID == "" || ref.UID == string(pod.UID)) {
			return &sum.Pods[i]
		}
	}
	return nil
}

// usage is a ResourceList as metrics-server writes it: CPU in nanocores,
// memory in binary units.
func usage(nanoCores, workingSet uint64) corev1.ResourceList {
	return corev1.ResourceList{
		corev1.ResourceCPU:    *apiresource.NewScaledQuantity(int64(nanoCores), apiresource.Nano),
		corev1.ResourceMemory: *apiresource.NewQuantity(int64(workingSet), apiresource.BinarySI),
	}
}
