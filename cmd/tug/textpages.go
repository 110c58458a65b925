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

// trimBinaryPages keeps a long-running tug (agent, server) from holding
// far more of its 110 MB binary resident than the code and read-only data
// it runs. Three things inflate a Go daemon's file-backed RSS:
//
//   - Large folios: on filesystems with them (ext4 on recent kernels) the
//     page cache can hold the binary in 2 MiB folios, and the kernel maps
//     a whole folio on the first touch. MADV_NOHUGEPAGE stops that for
//     these mappings.
//   - Read-around: a page fault reads 128 KiB around the faulting page into
//     the page cache, and fault-around then maps every cached page of the
//     surrounding 64 KiB into the process. Sparse code (an agent runs a
//     small part of client-go, netlink, cilium/ebpf...) ends up mapped
//     16 pages per page used. MADV_RANDOM turns read-around off for these
//     mappings, so from now on a fault reads the one page it needs.
//   - Start-up: the package initialisers of everything linked (etcd,
//     client-go's scheme, protobuf registries) ran before main and left
//     their pages cached and mapped. MADV_DONTNEED unmaps them, and
//     POSIX_FADV_DONTNEED then drops the binary's cached pages that no
//     process maps any more, so that fault-around cannot map them back.
//
// Measured by BenchmarkAgentRSS (runtime/agent): an agent of this binary
// with 30 pods holds about 26 MB of it instead of 35 MB; the node build
// (make build-node) about 18 MB. The cost: code run for the first time
// after this is read a page at a time.
//
// Only the read-only private mappings are touched: dropping them loses
// nothing, they are never written. The madvise calls apply to this
// process's mappings only (the containers' monitors and the containers
// exec and get their own); the page-cache eviction only drops clean pages
// nobody maps, which the next reader reads again from disk.
func trimBinaryPages() error {
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
		}{
			{"MADV_NOHUGEPAGE", unix.MADV_NOHUGEPAGE},
			{"MADV_RANDOM", unix.MADV_RANDOM},
			{"MADV_DONTNEED", unix.MADV_DONTNEED},
		} {
			if err := madvise(m, advice.op); err != nil {
				return fmt.Errorf("madvise(%s) on %s %#x-%#x: %w", advice.name, exe, m.start, m.end, err)
			}
		}
	}
	return dropUnmappedCache(exe)
}

// dropUnmappedCache asks the kernel to drop path's clean, unmapped pages
// from the page cache (it keeps the pages some process maps).
func dropUnmappedCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("posix_fadvise(POSIX_FADV_DONTNEED) on %s: %w", path, err)
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
