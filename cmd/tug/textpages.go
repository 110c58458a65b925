package main

import (
	"bufio"
	"fmt"
	"io"
	"os"
	"strconv"
	"strings"

	"golang.org/x/sys/unix"
)

// mapTextInSmallPages keeps the kernel from mapping this binary's code
// and read-only data in 2 MiB pages, and drops the ones already mapped
// so. On filesystems with large folios (ext4 on recent kernels) the page
// cache holds the binary in 2 MiB folios, and the kernel maps a whole
// folio into a process on its first touch: a long-running tug (agent,
// server) then has most of its 110 MB binary resident although it runs a
// fraction of it, about 60 MB of RSS more than the pages it uses (see
// BenchmarkAgentRSS). With MADV_NOHUGEPAGE on these mappings only the
// pages around each touched address are mapped. The madvise applies to
// this process's mappings only: the containers' monitors and the
// containers themselves exec and get their own.
//
// MADV_DONTNEED then unmaps what is mapped already; the pages stay in the
// page cache and fault back in as needed. It is safe only because the
// mappings are read-only views of the file (never written, so nothing
// private is lost); writable mappings (the binary's data) are left alone.
func mapTextInSmallPages() error {
	exe, err := os.Readlink("/proc/self/exe")
	if err != nil {
		return err
	}
	maps, err := readOnlyMappingsOf(exe)
	if err != nil {
		return err
	}
	for _, m := range maps {
		for _, advice := range []struct {
			name string
			op   int
		}{{"MADV_NOHUGEPAGE", unix.MADV_NOHUGEPAGE}, {"MADV_DONTNEED", unix.MADV_DONTNEED}} {
			if err := madvise(m, advice.op); err != nil {
				return fmt.Errorf("madvise(%s) on %s %#x-%#x: %w", advice.name, exe, m.start, m.end, err)
			}
		}
	}
	return nil
}

// madvise is madvise(2) on a range of this process's address space, given
// by address (x/sys/unix's wants a slice, which an address from
// /proc/self/maps is not).
func madvise(m mapping, advice int) error {
	if _, _, errno := unix.Syscall(unix.SYS_MADVISE, m.start, m.end-m.start, uintptr(advice)); errno != 0 {
		return errno
	}
	return nil
}

// mapping is an address range of /proc/self/maps.
type mapping struct{ start, end uintptr }

// readOnlyMappingsOf returns this process's mappings of the file path
// that are neither writable nor shared.
func readOnlyMappingsOf(path string) ([]mapping, error) {
	f, err := os.Open("/proc/self/maps")
	if err != nil {
		return nil, err
	}
	defer f.Close()
	return parseReadOnlyMappings(f, path)
}

// parseReadOnlyMappings reads /proc/PID/maps lines ("start-end perms
// offset dev inode path") and keeps the private, non-writable mappings of
// path.
func parseReadOnlyMappings(r io.Reader, path string) ([]mapping, error) {
	var out []mapping
	sc := bufio.NewScanner(r)
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) < 6 || strings.Join(f[5:], " ") != path {
			continue
		}
		perms := f[1]
		if len(perms) != 4 || perms[1] == 'w' || perms[3] != 'p' {
			continue
		}
		lo, hi, ok := strings.Cut(f[0], "-")
		if !ok {
			return nil, fmt.Errorf("maps: bad range %q", f[0])
		}
		start, err1 := strconv.ParseUint(lo, 16, 64)
		end, err2 := strconv.ParseUint(hi, 16, 64)
		if err1 != nil || err2 != nil || end <= start {
			return nil, fmt.Errorf("maps: bad range %q", f[0])
		}
		out = append(out, mapping{uintptr(start), uintptr(end)})
	}
	return out, sc.Err()
}
