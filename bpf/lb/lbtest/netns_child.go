package lbtest

import (
	"fmt"
	"runtime"

	"golang.org/x/sys/unix"
)

// enterNetns moves the calling thread, locked for good, into the network
// namespace passed as fd 3 (Client.command's ExtraFiles).
func enterNetns() error {
	runtime.LockOSThread()
	if err := unix.Setns(3, unix.CLONE_NEWNET); err != nil {
		return fmt.Errorf("enter test network namespace: %w", err)
	}
	return nil
}
