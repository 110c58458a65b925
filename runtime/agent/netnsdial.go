package agent

import (
	"context"
	"fmt"
	"net"
	"runtime"

	"github.com/vishvananda/netns"
)

// netnsDialer opens TCP connections from the node's network namespace
// (Config.HostNetns), where pod addresses are routed; with no namespace
// configured it dials from the agent's own.
type netnsDialer struct {
	netns string
}

// DialContext dials addr. A socket belongs to the namespace of the thread
// that creates it, so the dial runs on a locked thread switched into the
// namespace; the connection stays there after the thread switches back.
func (d netnsDialer) DialContext(ctx context.Context, network, addr string) (net.Conn, error) {
	var dialer net.Dialer
	if d.netns == "" {
		return dialer.DialContext(ctx, network, addr)
	}
	type result struct {
		conn net.Conn
		err  error
	}
	done := make(chan result, 1)
	go func() {
		runtime.LockOSThread()
		orig, err := netns.Get()
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{nil, fmt.Errorf("current network namespace: %w", err)}
			return
		}
		defer orig.Close()
		target, err := netns.GetFromPath(d.netns)
		if err != nil {
			runtime.UnlockOSThread()
			done <- result{nil, fmt.Errorf("open network namespace %s: %w", d.netns, err)}
			return
		}
		defer target.Close()
		if err := netns.Set(target); err != nil {
			runtime.UnlockOSThread()
			done <- result{nil, fmt.Errorf("enter network namespace %s: %w", d.netns, err)}
			return
		}
		conn, err := dialer.DialContext(ctx, network, addr)
		if err := netns.Set(orig); err != nil {
			// The thread is in the wrong namespace: never unlock it, so
			// the runtime retires it with the goroutine.
			done <- result{conn, nil}
			return
		}
		runtime.UnlockOSThread()
		done <- result{conn, err}
	}()
	r := <-done
	return r.conn, r.err
}
