package logs

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"sort"
	"strconv"
	"strings"
)

// ErrNoLog is returned when a container has no log instance yet, or no
// previous instance when the previous one is asked for.
var ErrNoLog = errors.New("logs: no such log")

const instanceSuffix = ".log"

// InstancePath is the live log file of the attempt'th instance (restart
// count, from 0) of a container whose log directory is dir.
func InstancePath(dir string, attempt int) string {
	return filepath.Join(dir, strconv.Itoa(attempt)+instanceSuffix)
}

// Instances lists the attempts that have a live log file in dir, ascending.
func Instances(dir string) ([]int, error) {
	ents, err := os.ReadDir(dir)
	if err != nil {
		if errors.Is(err, os.ErrNotExist) {
			return nil, nil
		}
		return nil, fmt.Errorf("logs: list %s: %w", dir, err)
	}
	var attempts []int
	for _, e := range ents {
		if n, ok := parseInstanceName(e.Name()); ok {
			attempts = append(attempts, n)
		}
	}
	sort.Ints(attempts)
	return attempts, nil
}

func parseInstanceName(name string) (int, bool) {
	num, ok := strings.CutSuffix(name, instanceSuffix)
	if !ok {
		return 0, false
	}
	n, err := strconv.Atoi(num)
	if err != nil || n < 0 || strconv.Itoa(n) != num {
		return 0, false
	}
	return n, true
}

// ResolveInstance returns the live file of the newest instance in dir, or
// of the one before it when previous is true.
func ResolveInstance(dir string, previous bool) (string, error) {
	attempts, err := Instances(dir)
	if err != nil {
		return "", err
	}
	idx := len(attempts) - 1
	if previous {
		idx--
	}
	if idx < 0 {
		what := "log"
		if previous {
			what = "previous log"
		}
		return "", fmt.Errorf("%w: %s has no %s", ErrNoLog, dir, what)
	}
	return InstancePath(dir, attempts[idx]), nil
}

// PruneInstances removes the files (live and rotated) of all but the keep
// newest instances in dir. The kubelet keeps the current and the previous
// one (keep = 2).
func PruneInstances(dir string, keep int) error {
	attempts, err := Instances(dir)
	if err != nil {
		return err
	}
	if len(attempts) <= keep {
		return nil
	}
	var errs []error
	for _, n := range attempts[:len(attempts)-keep] {
		live := InstancePath(dir, n)
		matches, err := filepath.Glob(globEscape(live) + ".*")
		if err != nil {
			errs = append(errs, err)
			continue
		}
		for _, p := range append(matches, live) {
			if err := os.Remove(p); err != nil && !errors.Is(err, os.ErrNotExist) {
				errs = append(errs, fmt.Errorf("logs: prune: %w", err))
			}
		}
	}
	return errors.Join(errs...)
}

func globEscape(p string) string {
	r := strings.NewReplacer(`*`, `\*`, `?`, `\?`, `[`, `\[`, `\`, `\\`)
	return r.Replace(p)
}
