package image

import (
	"bufio"
	"fmt"
	"os"
	"strconv"
	"strings"
)

// overlayLowers returns the lower directories of the overlays mounted in
// this process's mount namespace. An image whose root filesystem is one of
// them is in use by a container, whatever the caller says.
func overlayLowers() (map[string]bool, error) {
	f, err := os.Open("/proc/self/mountinfo")
	if err != nil {
		return nil, fmt.Errorf("image: read mounts: %w", err)
	}
	defer f.Close()
	out := map[string]bool{}
	sc := bufio.NewScanner(f)
	sc.Buffer(make([]byte, 64<<10), 1<<20)
	for sc.Scan() {
		for _, l := range parseOverlayLowers(sc.Text()) {
			out[l] = true
		}
	}
	return out, sc.Err()
}

// parseOverlayLowers extracts the lowerdir entries of one mountinfo line
// (proc(5)): "... - overlay SOURCE rw,lowerdir=/a\:b:/c,upperdir=...".
func parseOverlayLowers(line string) []string {
	_, post, ok := strings.Cut(line, " - ")
	if !ok {
		return nil
	}
	fields := strings.Fields(post)
	if len(fields) < 3 || fields[0] != "overlay" {
		return nil
	}
	var out []string
	for _, opt := range strings.Split(fields[2], ",") {
		v, ok := strings.CutPrefix(opt, "lowerdir=")
		if !ok {
			v, ok = strings.CutPrefix(opt, "lowerdir+=")
		}
		if !ok {
			continue
		}
		// Layers are separated by ':'. Newer kernels print a colon inside
		// a path as \072, older ones as the mount option had it, '\:'.
		start := 0
		for i := 0; i <= len(v); i++ {
			if i < len(v) && (v[i] != ':' || i > 0 && v[i-1] == '\\') {
				continue
			}
			out = append(out, strings.ReplaceAll(unescapeMountinfo(v[start:i]), `\:`, ":"))
			start = i + 1
		}
	}
	return out
}

// unescapeMountinfo decodes the \ooo octal escapes of mountinfo.
func unescapeMountinfo(s string) string {
	if !strings.Contains(s, `\`) {
		return s
	}
	var b strings.Builder
	for i := 0; i < len(s); i++ {
		if s[i] == '\\' && i+4 <= len(s) {
			if n, err := strconv.ParseUint(s[i+1:i+4], 8, 8); err == nil {
				b.WriteByte(byte(n))
				i += 3
				continue
			}
		}
		b.WriteByte(s[i])
	}
	return b.String()
}
