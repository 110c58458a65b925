package serverrss

import (
	"fmt"
	"os"

	"golang.org/x/sys/unix"
)

// EvictPageCache drops the page cache of the file at path (the pages no
// process has mapped), so that the next process to run it loads it as
// after an installation or a reboot.
//
// A binary the linker or go build has just written sits in the page cache
// in large folios, and on kernels that map a file's large folio whole on
// the first touch (Linux 6.18 on ext4 does) a process running it has most
// of the binary resident however little of it runs: about 35 MiB more
// RSS for tug than the same binary loaded by its own page faults (whose
// readahead fills smaller folios). Benchmarks run right after a build, so
// they measure the binary as deployed, not as just linked. The file is
// synced first: pages not yet written back cannot be dropped.
func EvictPageCache(path string) error {
	f, err := os.Open(path)
	if err != nil {
		return err
	}
	defer f.Close()
	if err := f.Sync(); err != nil {
		return fmt.Errorf("serverrss: fsync %s before evicting it: %w", path, err)
	}
	if err := unix.Fadvise(int(f.Fd()), 0, 0, unix.FADV_DONTNEED); err != nil {
		return fmt.Errorf("serverrss: posix_fadvise(POSIX_FADV_DONTNEED) on %s: %w", path, err)
	}
	return nil
}
