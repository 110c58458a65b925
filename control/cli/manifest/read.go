package manifest

import (
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"path/filepath"
	"strings"
)

// ErrNoSuchPath is wrapped when a -f argument names nothing.
var ErrNoSuchPath = errors.New("no such manifest path")

// StdinSource is the Source of objects read from "-".
const StdinSource = "STDIN"

// Read decodes every object named by paths: files, directories (their
// .json/.yaml/.yml files in name order; subdirectories only when recursive)
// and "-" for stdin. Like Decode it returns what it could read together
// with the joined errors of what it could not.
func Read(paths []string, recursive bool, stdin io.Reader) ([]Object, error) {
	var objs []Object
	var errs []error
	add := func(got []Object, err error) {
		objs = append(objs, got...)
		if err != nil {
			errs = append(errs, err)
		}
	}
	for _, p := range paths {
		if p == "-" {
			if stdin == nil {
				errs = append(errs, fmt.Errorf("%w: no standard input to read \"-\" from", ErrNoSuchPath))
				continue
			}
			data, err := io.ReadAll(stdin)
			if err != nil {
				errs = append(errs, fmt.Errorf("reading standard input: %w", err))
				continue
			}
			add(Decode(StdinSource, data))
			continue
		}
		if strings.HasPrefix(p, "http://") || strings.HasPrefix(p, "https://") {
			errs = append(errs, fmt.Errorf("%w: %q: reading manifests from URLs is not supported; download the file first", ErrNoSuchPath, p))
			continue
		}
		info, err := os.Stat(p)
		if err != nil {
			if errors.Is(err, fs.ErrNotExist) {
				errs = append(errs, fmt.Errorf("%w: the path %q does not exist", ErrNoSuchPath, p))
			} else {
				errs = append(errs, err)
			}
			continue
		}
		if !info.IsDir() {
			add(readFile(p))
			continue
		}
		add(readDir(p, recursive))
	}
	return objs, errors.Join(errs...)
}

func readFile(p string) ([]Object, error) {
	data, err := os.ReadFile(p)
	if err != nil {
		return nil, err
	}
	return Decode(p, data)
}

func readDir(dir string, recursive bool) ([]Object, error) {
	var objs []Object
	var errs []error
	err := filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			errs = append(errs, err)
			return nil
		}
		if d.IsDir() {
			if p != dir && !recursive {
				return fs.SkipDir
			}
			return nil
		}
		if !hasManifestExtension(p) {
			return nil
		}
		got, err := readFile(p)
		objs = append(objs, got...)
		if err != nil {
			errs = append(errs, err)
		}
		return nil
	})
	if err != nil {
		errs = append(errs, err)
	}
	return objs, errors.Join(errs...)
}

// hasManifestExtension reports whether a file found in a directory is read:
// like kubectl, only .json, .yaml and .yml files are (files named
// explicitly are read whatever their name).
func hasManifestExtension(p string) bool {
	switch strings.ToLower(filepath.Ext(p)) {
	case ".json", ".yaml", ".yml":
		return true
	}
	return false
}
