package cli

import (
	"cmp"
	"fmt"
	"io"
	"slices"
	"strings"
	"text/tabwriter"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/api/resource"
	metricsv1beta1 "k8s.io/metrics/pkg/apis/metrics/v1beta1"
)

// The layout of kubectl top (kubectl v1.32's metricsutil): every cell,
// the last one too, ends in a tab of kubectl's tabwriter, so every column
// is padded; CPU in millicores (rounded up), memory in MiB (rounded
// down), shares of the node's allocatable in whole percent (rounded
// down); nodes without metrics show <unknown>. The same text/tabwriter
// settings as kubectl's make the columns the same even when rows differ
// in length (a node missing from the node list has no shares).

// topWriter is kubectl's tabwriter (cli-runtime's GetNewTabWriter).
type topWriter struct{ tw *tabwriter.Writer }

func newTopWriter(out io.Writer) topWriter {
	return topWriter{tabwriter.NewWriter(out, 6, 4, 3, ' ', 0)}
}

// row writes cells, each ended by a tab, and a newline.
func (w topWriter) row(cells ...string) {
	for _, c := range cells {
		io.WriteString(w.tw, c+"\t")
	}
	io.WriteString(w.tw, "\n")
}

func (w topWriter) flush() error { return w.tw.Flush() }

// measured are the resources top shows, in column order.
var measured = []corev1.ResourceName{corev1.ResourceCPU, corev1.ResourceMemory}

const unknownMetric = "<unknown>"

// topSortKey orders rows as kubectl's --sort-by does: cpu and memory
// descending, else by name (namespace first with -A). Ties keep the name
// order, so the output does not depend on the server's.
func topSortKey(sortBy string, a, b corev1.ResourceList) int {
	switch sortBy {
	case "cpu":
		return cmp.Compare(b.Cpu().MilliValue(), a.Cpu().MilliValue())
	case "memory":
		return cmp.Compare(b.Memory().Value(), a.Memory().Value())
	}
	return 0
}

// usageCells are the cells of one usage: CPU, then CPU% when available
// has CPU, then memory and memory% alike.
func usageCells(usage, available corev1.ResourceList) []string {
	var cells []string
	for _, res := range measured {
		q := usage[res]
		if res == corev1.ResourceCPU {
			cells = append(cells, fmt.Sprintf("%dm", q.MilliValue()))
		} else {
			cells = append(cells, fmt.Sprintf("%dMi", q.Value()/(1024*1024)))
		}
		if avail, ok := available[res]; ok {
			share := 0.0
			if !avail.IsZero() {
				share = float64(q.MilliValue()) / float64(avail.MilliValue()) * 100
			}
			cells = append(cells, fmt.Sprintf("%d%%", int64(share)))
		}
	}
	return cells
}

// printNodeMetrics prints `top nodes`: a row per node with metrics, then
// a row of <unknown> for each node of available (its allocatable, by
// name) that has none, by name.
func printNodeMetrics(out io.Writer, items []metricsv1beta1.NodeMetrics, available map[string]corev1.ResourceList, noHeaders bool, sortBy string) error {
	if len(items) == 0 {
		return nil
	}
	items = slices.Clone(items)
	slices.SortStableFunc(items, func(a, b metricsv1beta1.NodeMetrics) int {
		return cmp.Or(topSortKey(sortBy, a.Usage, b.Usage), strings.Compare(a.Name, b.Name))
	})
	cols := newTopWriter(out)
	if !noHeaders {
		cols.row("NAME", "CPU(cores)", "CPU(%)", "MEMORY(bytes)", "MEMORY(%)")
	}
	seen := map[string]bool{}
	for _, m := range items {
		seen[m.Name] = true
		cols.row(append([]string{m.Name}, usageCells(m.Usage, available[m.Name])...)...)
	}
	var missing []string
	for name := range available {
		if !seen[name] {
			missing = append(missing, name)
		}
	}
	slices.Sort(missing)
	for _, name := range missing {
		row := []string{name}
		for range measured {
			row = append(row, unknownMetric, unknownMetric)
		}
		cols.row(row...)
	}
	return cols.flush()
}

// printPodMetrics prints `top pods`: a row per pod with its containers'
// sum, or with containers a row per container; withNamespace adds the
// NAMESPACE column (-A).
func printPodMetrics(out io.Writer, items []metricsv1beta1.PodMetrics, containers, withNamespace, noHeaders bool, sortBy string) error {
	if len(items) == 0 {
		return nil
	}
	type podRow struct {
		m   metricsv1beta1.PodMetrics
		sum corev1.ResourceList
	}
	rows := make([]podRow, len(items))
	for i, m := range items {
		rows[i] = podRow{m: m, sum: podUsage(m)}
	}
	slices.SortStableFunc(rows, func(a, b podRow) int {
		ns := 0
		if withNamespace {
			ns = strings.Compare(a.m.Namespace, b.m.Namespace)
		}
		return cmp.Or(topSortKey(sortBy, a.sum, b.sum), ns, strings.Compare(a.m.Name, b.m.Name))
	})
	cols := newTopWriter(out)
	if !noHeaders {
		var head []string
		if withNamespace {
			head = append(head, "NAMESPACE")
		}
		if containers {
			head = append(head, "POD")
		}
		cols.row(append(head, "NAME", "CPU(cores)", "MEMORY(bytes)")...)
	}
	for _, r := range rows {
		var prefix []string
		if withNamespace {
			prefix = append(prefix, r.m.Namespace)
		}
		if !containers {
			cols.row(append(append(prefix, r.m.Name), usageCells(r.sum, nil)...)...)
			continue
		}
		cs := slices.Clone(r.m.Containers)
		slices.SortStableFunc(cs, func(a, b metricsv1beta1.ContainerMetrics) int {
			return cmp.Or(topSortKey(sortBy, a.Usage, b.Usage), strings.Compare(a.Name, b.Name))
		})
		for _, c := range cs {
			row := append(slices.Clone(prefix), r.m.Name, c.Name)
			cols.row(append(row, usageCells(c.Usage, nil)...)...)
		}
	}
	return cols.flush()
}

// podUsage sums a pod's containers.
func podUsage(m metricsv1beta1.PodMetrics) corev1.ResourceList {
	sum := corev1.ResourceList{}
	for _, res := range measured {
		q := resource.Quantity{}
		for _, c := range m.Containers {
			q.Add(c.Usage[res])
		}
		sum[res] = q
	}
	return sum
}
