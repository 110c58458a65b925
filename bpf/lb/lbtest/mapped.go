package lbtest

import (
	"fmt"
	"net/netip"
	"os"
	"time"

	"golang.org/x/sys/unix"
)

// Go's net package dials IPv4 addresses from IPv4 sockets, so clients that
// use IPv6 sockets for IPv4 peers (::ffff:a.b.c.d, as Java does) are
// reproduced with raw system calls.

func mapped(ap netip.AddrPort) *unix.SockaddrInet6 {
	return &unix.SockaddrInet6{Port: int(ap.Port()), Addr: netip.AddrFrom16(ap.Addr().As16()).As16()}
}

func sockaddrString(sa unix.Sockaddr) string {
	switch sa := sa.(type) {
	case *unix.SockaddrInet6:
		return netip.AddrPortFrom(netip.AddrFrom16(sa.Addr), uint16(sa.Port)).String()
	case *unix.SockaddrInet4:
		return netip.AddrPortFrom(netip.AddrFrom4(sa.Addr), uint16(sa.Port)).String()
	}
	return fmt.Sprint(sa)
}

func tcp6MappedOnce(ap netip.AddrPort) Result {
	start := time.Now()
	var r Result
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_STREAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return errResult(r, err)
	}
	f := os.NewFile(uintptr(fd), "tcp6")
	defer f.Close()
	// A blocking socket: its deadlines are socket options (SO_SNDTIMEO
	// bounds connect too).
	tv := unix.NsecToTimeval((5 * time.Second).Nanoseconds())
	for _, opt := range []int{unix.SO_SNDTIMEO, unix.SO_RCVTIMEO} {
		if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, opt, &tv); err != nil {
			return errResult(r, err)
		}
	}
	if err := unix.Connect(fd, mapped(ap)); err != nil {
		r.Elapsed = time.Since(start)
		return errResult(r, fmt.Errorf("connect: %w", err))
	}
	peer, err := unix.Getpeername(fd)
	if err != nil {
		return errResult(r, fmt.Errorf("getpeername: %w", err))
	}
	r.Peer = sockaddrString(peer)
	r.Reply, err = get(f)
	r.Elapsed = time.Since(start)
	if err != nil {
		return errResult(r, err)
	}
	return r
}

func udp6MappedExchanges(ap netip.AddrPort, n int) []Result {
	fd, err := unix.Socket(unix.AF_INET6, unix.SOCK_DGRAM|unix.SOCK_CLOEXEC, 0)
	if err != nil {
		return []Result{errResult(Result{}, err)}
	}
	defer unix.Close(fd)
	tv := unix.NsecToTimeval((5 * time.Second).Nanoseconds())
	if err := unix.SetsockoptTimeval(fd, unix.SOL_SOCKET, unix.SO_RCVTIMEO, &tv); err != nil {
		return []Result{errResult(Result{}, err)}
	}
	var rs []Result
	buf := make([]byte, 1500)
	for range n {
		start := time.Now()
		var r Result
		if err := unix.Sendto(fd, []byte("hello"), 0, mapped(ap)); err != nil {
			rs = append(rs, errResult(r, fmt.Errorf("sendto: %w", err)))
			continue
		}
		m, from, err := unix.Recvfrom(fd, buf, 0)
		r.Elapsed = time.Since(start)
		if err != nil {
			rs = append(rs, errResult(r, fmt.Errorf("recvfrom: %w", err)))
			continue
		}
		r.Reply, r.Source = string(buf[:m]), sockaddrString(from)
		r.Peer = r.Source
		rs = append(rs, r)
	}
	return rs
}
