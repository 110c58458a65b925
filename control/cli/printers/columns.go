package printers

import (
	"io"
	"strings"
	"unicode/utf8"
)

// Column layout of kubectl's table output (its tabwriter settings): a
// column is as wide as its widest cell plus 3 spaces, and at least 6.
const (
	columnPadding  = 3
	columnMinWidth = 6
)

// Columns aligns rows of cells like kubectl's tabwriter. Unlike
// text/tabwriter it remembers column widths across flushes, as kubectl does
// for `get -w`: rows printed later never shift columns to the left.
// The last cell of a row is not padded.
type Columns struct {
	out    io.Writer
	widths []int
	rows   [][]string
}

// NewColumns returns a Columns writing to out.
func NewColumns(out io.Writer) *Columns { return &Columns{out: out} }

// Add buffers one row.
func (c *Columns) Add(cells ...string) { c.rows = append(c.rows, cells) }

// Flush widens the columns for the buffered rows and writes them.
func (c *Columns) Flush() error {
	for _, row := range c.rows {
		for i := 0; i < len(row)-1; i++ {
			w := max(utf8.RuneCountInString(row[i])+columnPadding, columnMinWidth)
			if i >= len(c.widths) {
				c.widths = append(c.widths, w)
			} else if w > c.widths[i] {
				c.widths[i] = w
			}
		}
	}
	var b strings.Builder
	for _, row := range c.rows {
		for i, cell := range row {
			b.WriteString(cell)
			if i < len(row)-1 {
				b.WriteString(strings.Repeat(" ", c.widths[i]-utf8.RuneCountInString(cell)))
			}
		}
		b.WriteByte('\n')
	}
	c.rows = c.rows[:0]
	_, err := io.WriteString(c.out, b.String())
	return err
}
