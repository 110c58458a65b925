package agent

import "strings"

// expand replaces $(VAR) references in s with values from lookup, exactly
// as Kubernetes expands container command, args and env values
// (third_party/forked/golang/expansion): "$$" is an escaped "$", a
// reference to an unknown variable is left as written, and an unclosed
// "$(" is kept literally.
func expand(s string, lookup func(string) (string, bool)) string {
	if !strings.Contains(s, "$") {
		return s
	}
	var b strings.Builder
	checkpoint := 0
	for cursor := 0; cursor < len(s); cursor++ {
		if s[cursor] != '$' || cursor+1 >= len(s) {
			continue
		}
		b.WriteString(s[checkpoint:cursor])
		read, isVar, advance := readVariable(s[cursor+1:])
		if isVar {
			if v, ok := lookup(read); ok {
				b.WriteString(v)
			} else {
				b.WriteString("$(" + read + ")")
			}
		} else {
			b.WriteString(read)
		}
		cursor += advance
		checkpoint = cursor + 1
	}
	b.WriteString(s[checkpoint:])
	return b.String()
}

// readVariable reads what follows a '$': the variable name of "(NAME)",
// or the literal text to emit.
func readVariable(s string) (read string, isVar bool, advance int) {
	switch s[0] {
	case '$':
		return "$", false, 1
	case '(':
		if i := strings.IndexByte(s, ')'); i > 0 {
			return s[1:i], true, i + 1
		}
		return "$(", false, 1
	default:
		return "$" + s[:1], false, 1
	}
}

// mapLookup chains maps: the first that has the name wins.
func mapLookup(maps ...map[string]string) func(string) (string, bool) {
	return func(name string) (string, bool) {
		for _, m := range maps {
			if v, ok := m[name]; ok {
				return v, true
			}
		}
		return "", false
	}
}
