package describe

import (
	"bytes"
	"fmt"
	"sort"
	"strings"
	"text/tabwriter"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/util/duration"
)

// writer writes describe output: text at an indentation level (two spaces
// per level) into a tabwriter that aligns "Label:\tvalue" pairs.
type writer struct {
	tw  *tabwriter.Writer
	buf *bytes.Buffer
}

func newWriter() *writer {
	buf := &bytes.Buffer{}
	return &writer{tw: tabwriter.NewWriter(buf, 0, 8, 2, ' ', 0), buf: buf}
}

// line writes format at level (a newline is not added).
func (w *writer) write(level int, format string, args ...any) {
	s := strings.Repeat("  ", level) + fmt.Sprintf(format, args...)
	w.tw.Write([]byte(escapeTerminal(s)))
}

// flush ends the current alignment block.
func (w *writer) flush() { w.tw.Flush() }

func (w *writer) String() string {
	w.tw.Flush()
	return w.buf.String()
}

func escapeTerminal(s string) string {
	return strings.NewReplacer("\x1b", "^[", "\r", "\\r").Replace(s)
}

// labelsMultiline prints a sorted "key=value" list, one per line, values
// aligned after "Title:".
func (w *writer) labelsMultiline(title string, m map[string]string) {
	w.write(0, "%s:\t", title)
	if len(m) == 0 {
		w.write(0, "<none>\n")
		return
	}
	keys := sortedKeys(m)
	for i, k := range keys {
		if i != 0 {
			w.write(0, "\t")
		}
		w.write(0, "%s=%s\n", k, m[k])
	}
}

// maxAnnotationLen is where kubectl folds long annotations.
const maxAnnotationLen = 140

// lastApplied is hidden from describe output, as kubectl does.
const lastApplied = "kubectl.kubernetes.io/last-applied-configuration"

func (w *writer) annotationsMultiline(title string, m map[string]string) {
	w.write(0, "%s:\t", title)
	var keys []string
	for _, k := range sortedKeys(m) {
		if k != lastApplied {
			keys = append(keys, k)
		}
	}
	if len(keys) == 0 {
		w.write(0, "<none>\n")
		return
	}
	for i, k := range keys {
		if i != 0 {
			w.write(0, "\t")
		}
		v := strings.TrimSuffix(m[k], "\n")
		if len(v)+len(k)+2 > maxAnnotationLen || strings.Contains(v, "\n") {
			w.write(0, "%s:\n", k)
			for _, s := range strings.Split(v, "\n") {
				w.write(0, "\t  %s\n", shorten(s, maxAnnotationLen-2))
			}
			continue
		}
		w.write(0, "%s: %s\n", k, v)
	}
}

func shorten(s string, n int) string {
	if len(s) > n {
		return s[:n] + "..."
	}
	return s
}

func sortedKeys(m map[string]string) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

func stringOrNone(s string) string {
	if s == "" {
		return "<none>"
	}
	return s
}

func since(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func sinceMicro(t metav1.MicroTime, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}

func printBool(b bool) string {
	if b {
		return "True"
	}
	return "False"
}

const rfc1123z = time.RFC1123Z
