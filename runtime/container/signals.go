package container

import (
	"unsafe"

	"golang.org/x/sys/unix"
)

// kernelSigaction is struct sigaction as the rt_sigaction system call takes
// it on Linux (not glibc's layout).
type kernelSigaction struct {
	handler  uintptr
	flags    uint64
	restorer uintptr
	mask     uint64
}

const sigIgn = 1 // SIG_IGN

// resetIgnoredSignals sets every ignored signal back to its default action.
// Ignored dispositions survive exec, so without this a container would
// inherit whatever its ancestors ignored (make, for one, starts its
// children with the real-time signals 32 and 33 ignored) and, say, never
// die of a SIGINT. The libcontainer init calls it just before it execs the
// container's process, the only place where it is needed and harmless.
func resetIgnoredSignals() {
	for sig := 1; sig <= 64; sig++ {
		if sig == int(unix.SIGKILL) || sig == int(unix.SIGSTOP) {
			continue
		}
		var old kernelSigaction
		if _, _, errno := unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), 0, uintptr(unsafe.Pointer(&old)), 8, 0, 0); errno != 0 {
			continue
		}
		if old.handler != sigIgn {
			continue
		}
		def := kernelSigaction{} // SIG_DFL, empty mask
		unix.RawSyscall6(unix.SYS_RT_SIGACTION, uintptr(sig), uintptr(unsafe.Pointer(&def)), 0, 8, 0, 0)
	}
}
