package printers

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"strings"
	"time"

	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/labels"
	"k8s.io/apimachinery/pkg/runtime"
	"k8s.io/apimachinery/pkg/util/duration"
)

// TableAccept is the Accept header of kubectl's human-readable requests:
// a server-side Table, or plain JSON from servers without Tables.
const TableAccept = "application/json;as=Table;v=v1;g=meta.k8s.io,application/json"

// ErrNotTable is returned by DecodeTable for a response that is not a Table.
var ErrNotTable = errors.New("the response is not a meta.k8s.io/v1 Table")

// DecodeTable decodes a Table response. Numbers in cells stay json.Number
// so they print as the server wrote them.
func DecodeTable(data []byte) (*metav1.Table, error) {
	var head metav1.TypeMeta
	if err := json.Unmarshal(data, &head); err != nil {
		return nil, fmt.Errorf("decoding the server's answer: %w", err)
	}
	if head.Kind != "Table" {
		return nil, fmt.Errorf("%w (kind %q)", ErrNotTable, head.Kind)
	}
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.UseNumber()
	var t metav1.Table
	if err := dec.Decode(&t); err != nil {
		return nil, fmt.Errorf("decoding the server's Table: %w", err)
	}
	return &t, nil
}

// TableOptions choose kubectl's table decorations.
type TableOptions struct {
	Wide          bool     // -o wide: also columns with priority > 0
	WithNamespace bool     // -A: a NAMESPACE column first
	ShowLabels    bool     // --show-labels: a LABELS column last
	LabelColumns  []string // -L key: one column per label key
	// KindPrefix, when set ("replicationcontroller", "deployment.apps"),
	// prints names as KIND/NAME, as kubectl does when several kinds are
	// printed together.
	KindPrefix string
}

// TableRows turns a Table into a header and rows of printable cells.
func TableRows(t *metav1.Table, opts TableOptions) (header []string, rows [][]string) {
	var keep []int
	nameColumn := -1
	for i, c := range t.ColumnDefinitions {
		if c.Priority != 0 && !opts.Wide {
			continue
		}
		keep = append(keep, i)
		if nameColumn == -1 && c.Format == "name" && c.Type == "string" {
			nameColumn = i
		}
	}
	if opts.WithNamespace {
		header = append(header, "NAMESPACE")
	}
	for _, i := range keep {
		header = append(header, strings.ToUpper(t.ColumnDefinitions[i].Name))
	}
	header = append(header, labelHeaders(opts.LabelColumns)...)
	if opts.ShowLabels {
		header = append(header, "LABELS")
	}

	for _, r := range t.Rows {
		meta, _ := rowMetadata(r)
		var row []string
		if opts.WithNamespace {
			ns := ""
			if meta != nil {
				ns = meta.Namespace
			}
			row = append(row, ns)
		}
		for _, i := range keep {
			var cell any
			if i < len(r.Cells) {
				cell = r.Cells[i]
			}
			text := cellText(cell)
			if i == nameColumn && opts.KindPrefix != "" {
				text = opts.KindPrefix + "/" + text
			}
			row = append(row, text)
		}
		var lbls map[string]string
		if meta != nil {
			lbls = meta.Labels
		}
		for _, key := range opts.LabelColumns {
			row = append(row, lbls[key])
		}
		if opts.ShowLabels {
			row = append(row, labels.FormatLabels(lbls))
		}
		rows = append(rows, row)
	}
	return header, rows
}

// rowMetadata decodes the row's object (a PartialObjectMetadata, or a whole
// object when the server included it).
func rowMetadata(r metav1.TableRow) (*metav1.ObjectMeta, error) {
	if len(r.Object.Raw) == 0 {
		return nil, errors.New("row without object")
	}
	var obj struct {
		Metadata metav1.ObjectMeta `json:"metadata"`
	}
	if err := json.Unmarshal(r.Object.Raw, &obj); err != nil {
		return nil, err
	}
	return &obj.Metadata, nil
}

// RowMetadata returns the metadata of a Table row's object, if the server
// sent one.
func RowMetadata(r metav1.TableRow) (*metav1.ObjectMeta, bool) {
	m, err := rowMetadata(r)
	return m, err == nil
}

// labelHeaders are the -L column titles: the last path segment of each
// key, upper-cased ("kubernetes.io/name" → "NAME").
func labelHeaders(keys []string) []string {
	out := make([]string, 0, len(keys))
	for _, k := range keys {
		parts := strings.Split(k, "/")
		out = append(out, strings.ToUpper(parts[len(parts)-1]))
	}
	return out
}

// cellText prints a cell like kubectl: strings cut at the first line break
// (marked "..."), other values with %v, nothing for null.
func cellText(cell any) string {
	switch v := cell.(type) {
	case nil:
		return ""
	case string:
		if i := strings.IndexAny(v, "\f\n\r"); i >= 0 {
			return escapeTerminal(v[:i]) + "..."
		}
		return escapeTerminal(v)
	default:
		return escapeTerminal(fmt.Sprint(v))
	}
}

// escapeTerminal keeps escape sequences in server data from reaching the
// terminal, as kubectl does.
func escapeTerminal(s string) string {
	return strings.NewReplacer("\x1b", "^[", "\r", "\\r").Replace(s)
}

// MetadataTable builds the NAME/AGE table kubectl prints for servers that
// answer a Table request with a plain object or list.
func MetadataTable(items []metav1.ObjectMeta, now time.Time) *metav1.Table {
	t := &metav1.Table{ColumnDefinitions: []metav1.TableColumnDefinition{
		{Name: "Name", Type: "string", Format: "name"},
		{Name: "Age", Type: "string"},
	}}
	for _, m := range items {
		raw, _ := json.Marshal(map[string]any{"metadata": m})
		t.Rows = append(t.Rows, metav1.TableRow{
			Cells:  []any{m.Name, Age(m.CreationTimestamp, now)},
			Object: runtime.RawExtension{Raw: raw},
		})
	}
	return t
}

// Age is kubectl's age of a timestamp: "5m", "3h2m", "<unknown>".
func Age(t metav1.Time, now time.Time) string {
	if t.IsZero() {
		return "<unknown>"
	}
	return duration.HumanDuration(now.Sub(t.Time))
}
