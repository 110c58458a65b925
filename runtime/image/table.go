package image

import (
	"fmt"
	"io"
	"strings"
	"text/tabwriter"
)

// WriteTable lists images as `crictl images` does: one row per tag
// (untagged images once, as <none>), IMAGE ID shortened to 13 digits.
func WriteTable(w io.Writer, images []Image) error {
	tw := tabwriter.NewWriter(w, 0, 8, 3, ' ', 0)
	fmt.Fprintln(tw, "REPOSITORY\tTAG\tIMAGE ID\tSIZE")
	for _, img := range images {
		id := ShortID(img.ID)
		size := HumanSize(img.Size)
		if len(img.RepoTags) == 0 {
			repo := "<none>"
			if len(img.RepoDigests) > 0 {
				repo, _, _ = strings.Cut(img.RepoDigests[0], "@")
			}
			fmt.Fprintf(tw, "%s\t<none>\t%s\t%s\n", repo, id, size)
			continue
		}
		for _, t := range img.RepoTags {
			r, err := ParseReference(t)
			if err != nil {
				fmt.Fprintf(tw, "%s\t<none>\t%s\t%s\n", t, id, size)
				continue
			}
			fmt.Fprintf(tw, "%s\t%s\t%s\t%s\n", r.Repository(), r.Tag(), id, size)
		}
	}
	return tw.Flush()
}

// ShortID is the first 13 hex digits of an image ID, as crictl shows it.
func ShortID(id string) string {
	h := strings.TrimPrefix(id, "sha256:")
	return h[:min(13, len(h))]
}

// HumanSize is a size in decimal units with three significant digits,
// as Docker and crictl print it ("1.15MB").
func HumanSize(n int64) string {
	units := []string{"B", "kB", "MB", "GB", "TB", "PB"}
	f := float64(n)
	i := 0
	for f >= 1000 && i < len(units)-1 {
		f /= 1000
		i++
	}
	return fmt.Sprintf("%.3g%s", f, units[i])
}

// String is a one-line summary of a pull's progress.
func (p Progress) String() string {
	done := 0
	for _, l := range p.Layers {
		if l.Downloaded == l.Size {
			done++
		}
	}
	return fmt.Sprintf("%s: %s/%s, %d/%d layers", p.Ref, HumanSize(p.Downloaded), HumanSize(p.Total), done, len(p.Layers))
}
