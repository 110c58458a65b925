package lbtest

import (
	"errors"
	"net"
	"net/netip"
	"os"
	"runtime"
	"sync"
	"testing"

	"github.com/vishvananda/netlink"
	"github.com/vishvananda/netns"
	"golang.org/x/sys/unix"
)

// Netns is a network namespace of the test's own, with loopback up. Backend
// (pod) addresses are local addresses of the namespace, on lo but outside
// 127.0.0.0/8; clients run inside it too, so a translated connect() is
// routed to the backends there, and nothing the test does touches the
// host's network.
//
// OpenNetns wraps a namespace someone else made (a test node's) instead,
// for clients to run in.
type Netns struct {
	handle netns.NsHandle
	nl     *netlink.Handle
	lo     netlink.Link
}

// NewNetns creates the namespace; it disappears in cleanup when its last
// handle (and the servers' sockets) are closed.
func NewNetns(t testing.TB) *Netns {
	t.Helper()
	ns, err := newNetns()
	if err != nil {
		t.Fatalf("create network namespace: %v", err)
	}
	n := adoptNetns(t, ns)
	if err := n.nl.LinkSetUp(n.lo); err != nil {
		t.Fatal(err)
	}
	return n
}

// OpenNetns opens an existing namespace, as it is, from its nsfs file
// (/run/netns/NAME, /proc/PID/ns/net, a bind mount of one): clients then
// run as processes of, say, a test node. The handle is closed in cleanup;
// the namespace is its owner's to remove.
func OpenNetns(t testing.TB, path string) *Netns {
	t.Helper()
	ns, err := netns.GetFromPath(path)
	if err != nil {
		t.Fatalf("open network namespace %s: %v", path, err)
	}
	return adoptNetns(t, ns)
}

// adoptNetns takes ns over, closing it in cleanup, with a netlink handle
// in it.
func adoptNetns(t testing.TB, ns netns.NsHandle) *Netns {
	t.Helper()
	n := &Netns{handle: ns}
	t.Cleanup(func() { n.handle.Close() })
	var err error
	n.nl, err = netlink.NewHandleAt(ns)
	if err != nil {
		t.Fatalf("netlink in test namespace: %v", err)
	}
	t.Cleanup(n.nl.Close)
	if n.lo, err = n.nl.LinkByName("lo"); err != nil {
		t.Fatal(err)
	}
	return n
}

func newNetns() (netns.NsHandle, error) {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return 0, err
	}
	defer orig.Close()
	ns, err := netns.New()
	if err != nil {
		return 0, err
	}
	if err := netns.Set(orig); err != nil {
		// The thread is stuck in the new namespace: let it die with the
		// locked goroutine instead of returning it to the pool.
		runtime.LockOSThread()
		ns.Close()
		return 0, err
	}
	return ns, nil
}

// Netlink programs the namespace.
func (n *Netns) Netlink() *netlink.Handle { return n.nl }

// AddAddress adds a local (backend) address to the namespace, as a /32.
func (n *Netns) AddAddress(t testing.TB, a netip.Addr) {
	t.Helper()
	addr, err := netlink.ParseAddr(netip.PrefixFrom(a, a.BitLen()).String())
	if err != nil {
		t.Fatal(err)
	}
	if err := n.nl.AddrAdd(n.lo, addr); err != nil {
		t.Fatalf("add %s: %v", a, err)
	}
}

// Do runs fn on a thread switched into the namespace: sockets it opens
// live there.
func (n *Netns) Do(fn func() error) error {
	runtime.LockOSThread()
	defer runtime.UnlockOSThread()
	orig, err := netns.Get()
	if err != nil {
		return err
	}
	defer orig.Close()
	if err := netns.Set(n.handle); err != nil {
		return err
	}
	ferr := fn()
	if err := netns.Set(orig); err != nil {
		runtime.LockOSThread() // retire the thread, see newNetns
		return errors.Join(ferr, err)
	}
	return ferr
}

// file is a duplicate of the namespace handle for a child process.
func (n *Netns) file() (*os.File, error) {
	fd, err := unix.Dup(int(n.handle))
	if err != nil {
		return nil, err
	}
	return os.NewFile(uintptr(fd), "netns"), nil
}

// ServeTCP starts a backend at addr inside the namespace: a web server
// whose page is name (every GET is answered with name and a newline). It
// stops in cleanup.
func (n *Netns) ServeTCP(t testing.TB, addr netip.AddrPort, name string) {
	t.Helper()
	var ln net.Listener
	err := n.Do(func() (err error) {
		ln, err = net.Listen("tcp4", addr.String())
		return err
	})
	if err != nil {
		t.Fatalf("backend %s: %v", name, err)
	}
	var wg sync.WaitGroup
	t.Cleanup(func() {
		ln.Close()
		wg.Wait()
	})
	wg.Add(1)
	go func() {
		defer wg.Done()
		var conns sync.WaitGroup
		defer conns.Wait()
		for {
			c, err := ln.Accept()
			if err != nil {
				return
			}
			conns.Add(1)
			go func() {
				defer conns.Done()
				defer c.Close()
				answerGETs(c, name)
			}()
		}
	}()
}

// ServeUDP starts a backend at addr inside the namespace that answers each
// datagram with name, sent to the datagram's source.
func (n *Netns) ServeUDP(t testing.TB, addr netip.AddrPort, name string) {
	t.Helper()
	var pc net.PacketConn
	err := n.Do(func() (err error) {
		pc, err = net.ListenPacket("udp4", addr.String())
		return err
	})
	if err != nil {
		t.Fatalf("backend %s: %v", name, err)
	}
	done := make(chan struct{})
	t.Cleanup(func() {
		pc.Close()
		<-done
	})
	go func() {
		defer close(done)
		buf := make([]byte, 1500)
		for {
			_, from, err := pc.ReadFrom(buf)
			if err != nil {
				return
			}
			if _, err := pc.WriteTo([]byte(name), from); err != nil {
				return
			}
		}
	}()
}
