package describe

import (
	"slices"
	"sort"
	"strings"
	"time"
	"unicode"

	corev1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/apis/meta/v1/unstructured"
)

// Generic describes any object from its fields, as kubectl's generic
// describer does for kinds without a describer of their own (events, config
// maps, ...): name, namespace, labels and annotations, then every other
// field, sorted, with camel-case names spelled out ("firstTimestamp" →
// "First Timestamp").
func Generic(obj *unstructured.Unstructured, events *corev1.EventList, now time.Time) string {
	w := newWriter()
	w.write(0, "Name:\t%s\n", obj.GetName())
	w.write(0, "Namespace:\t%s\n", obj.GetNamespace())
	w.labelsMultiline("Labels", obj.GetLabels())
	w.annotationsMultiline("Annotations", obj.GetAnnotations())
	w.content(0, obj.UnstructuredContent(), "",
		".metadata.managedFields", ".metadata.name", ".metadata.namespace", ".metadata.labels", ".metadata.annotations")
	w.events(events, now)
	return w.String()
}

func (w *writer) content(level int, content map[string]any, prefix string, skip ...string) {
	fields := make([]string, 0, len(content))
	for f := range content {
		fields = append(fields, f)
	}
	sort.Strings(fields)
	for _, f := range fields {
		path := prefix + "." + f
		if slices.Contains(skip, path) {
			continue
		}
		switch v := content[f].(type) {
		case map[string]any:
			w.write(level, "%s:\n", smartLabel(f))
			w.content(level+1, v, path, skip...)
		case []any:
			w.write(level, "%s:\n", smartLabel(f))
			for _, child := range v {
				if m, ok := child.(map[string]any); ok {
					w.content(level+1, m, path, skip...)
				} else {
					w.write(level+1, "%v\n", child)
				}
			}
		default:
			w.write(level, "%s:\t%v\n", smartLabel(f), v)
		}
	}
}

// smartLabel spells out a camel-case field name: "apiVersion" → "API
// Version", "involvedObject" → "Involved Object". Names with characters
// other than letters and '-' are kept as they are (map keys).
func smartLabel(field string) string {
	if strings.IndexFunc(field, func(r rune) bool { return !unicode.IsLetter(r) && r != '-' }) != -1 {
		return field
	}
	var parts []string
	for _, p := range splitCamelCase(field) {
		if slices.Contains([]string{"API", "URL", "UID", "OSB", "GUID"}, strings.ToUpper(p)) {
			parts = append(parts, strings.ToUpper(p))
			continue
		}
		r := []rune(p)
		parts = append(parts, string(unicode.ToUpper(r[0]))+string(r[1:]))
	}
	return strings.Join(parts, " ")
}

// splitCamelCase cuts s into runs of lower-case letters, upper-case letters
// and other characters, moving the last capital of an upper-case run onto a
// following lower-case run ("HTTPServer" → "HTTP", "Server").
func splitCamelCase(s string) []string {
	class := func(r rune) int {
		switch {
		case unicode.IsLower(r):
			return 1
		case unicode.IsUpper(r):
			return 2
		case unicode.IsDigit(r):
			return 3
		}
		return 4
	}
	var runs [][]rune
	last := 0
	for _, r := range s {
		c := class(r)
		if c == last && len(runs) > 0 {
			runs[len(runs)-1] = append(runs[len(runs)-1], r)
		} else {
			runs = append(runs, []rune{r})
		}
		last = c
	}
	for i := 0; i+1 < len(runs); i++ {
		if class(runs[i][0]) == 2 && class(runs[i+1][0]) == 1 {
			runs[i+1] = append([]rune{runs[i][len(runs[i])-1]}, runs[i+1]...)
			runs[i] = runs[i][:len(runs[i])-1]
		}
	}
	var out []string
	for _, r := range runs {
		if len(r) > 0 {
			out = append(out, string(r))
		}
	}
	return out
}
