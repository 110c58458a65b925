package main

import (
	"bytes"
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"io"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
)

// pkgBenchmarks are the top-level benchmarks of one package.
type pkgBenchmarks struct {
	Package string
	Names   []string
	// Err, when set, says why the package's benchmarks cannot run (it does
	// not build); Names then come from its source.
	Err string
}

// listedPackage is what benchrun reads of `go list -json`.
type listedPackage struct {
	ImportPath   string
	Dir          string
	TestGoFiles  []string
	XTestGoFiles []string
	Error        *struct{ Err string }
}

// benchFuncRE finds benchmark functions in a test file.
var benchFuncRE = regexp.MustCompile(`(?m)^func (Benchmark\w*)\(\w+ \*testing\.B\)`)

// discover finds the packages of s that hold benchmarks: go list names the
// packages and their test files, a look at the files keeps those declaring
// benchmarks (so packages without any are never compiled), and `go test
// -list` gives the authoritative names, compiling the test binaries. Names
// not matching filter (when set) are dropped.
func discover(ctx context.Context, g goCmd, s Suite, filter *regexp.Regexp) ([]pkgBenchmarks, error) {
	out, err := g.output(ctx, append([]string{"list", "-e", "-json=ImportPath,Dir,TestGoFiles,XTestGoFiles,Error"}, s.Packages...)...)
	if err != nil && out == "" {
		return nil, fmt.Errorf("listing the packages of suite %s: %w", s.Name, err)
	}
	var candidates []pkgBenchmarks
	dec := json.NewDecoder(strings.NewReader(out))
	for {
		var p listedPackage
		if err := dec.Decode(&p); errors.Is(err, io.EOF) {
			break
		} else if err != nil {
			return nil, fmt.Errorf("reading go list output: %w", err)
		}
		names := benchmarksInSource(p.Dir, append(p.TestGoFiles, p.XTestGoFiles...))
		names = filterNames(names, filter)
		if len(names) == 0 {
			continue
		}
		c := pkgBenchmarks{Package: p.ImportPath, Names: names}
		if p.Error != nil {
			c.Err = p.Error.Err
		}
		candidates = append(candidates, c)
	}
	var toList []string
	for _, c := range candidates {
		if c.Err == "" {
			toList = append(toList, c.Package)
		}
	}
	if len(toList) == 0 {
		return candidates, nil
	}
	st := newStream()
	res := g.goTestJSON(ctx, append([]string{"test", "-list", "^Benchmark", "-json"}, toList...), st, nil, nil)
	if res.killed {
		return nil, fmt.Errorf("listing benchmarks of suite %s: %w", s.Name, ctx.Err())
	}
	for i, c := range candidates {
		if c.Err != "" {
			continue
		}
		if pe := st.packageError(c.Package); pe != "" {
			candidates[i].Err = pe
			continue
		}
		listed, ok := st.listings[c.Package]
		if !ok {
			candidates[i].Err = "go test -list printed nothing for this package: " + res.stderr
			continue
		}
		candidates[i].Names = filterNames(listed, filter)
	}
	return slices.DeleteFunc(candidates, func(c pkgBenchmarks) bool { return len(c.Names) == 0 }), nil
}

// benchmarksInSource lists the benchmark functions declared in files of dir.
func benchmarksInSource(dir string, files []string) []string {
	var names []string
	for _, f := range files {
		b, err := os.ReadFile(filepath.Join(dir, f))
		if err != nil || !bytes.Contains(b, []byte("func Benchmark")) {
			continue
		}
		for _, m := range benchFuncRE.FindAllSubmatch(b, -1) {
			names = append(names, string(m[1]))
		}
	}
	return names
}

func filterNames(names []string, filter *regexp.Regexp) []string {
	if filter == nil {
		return names
	}
	var out []string
	for _, n := range names {
		if filter.MatchString(n) {
			out = append(out, n)
		}
	}
	return out
}
