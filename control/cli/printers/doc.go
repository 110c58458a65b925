// Package printers renders API responses the way kubectl v1.32 does:
// server-side Tables (meta.k8s.io/v1) as aligned columns with kubectl's
// decorations (NAMESPACE with -A, LABELS with --show-labels, -L label
// columns, kind/name prefixes when several kinds are printed, priority
// columns only with -o wide), objects and lists as JSON or YAML, and
// kind/name lines for -o name.
//
// It does no I/O of its own beyond writing to the io.Writer it is given:
// callers fetch, printers format, so every format is tested from recorded
// server responses.
package printers
