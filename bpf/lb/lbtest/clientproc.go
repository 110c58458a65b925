package lbtest

import (
	"encoding/json"
	"errors"
	"fmt"
	"net"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"syscall"
	"time"
)

// runClient is the client process (see Client.Run for the modes).
func runClient(cgroup string, args []string) error {
	// Sockets belong to the namespace of the thread that creates them:
	// stay on one thread and move it into the test namespace.
	if err := enterNetns(); err != nil {
		return err
	}
	if err := checkCgroup(cgroup); err != nil {
		return err
	}
	if len(args) < 2 {
		return errors.New("usage: MODE ADDR ...")
	}
	out := json.NewEncoder(os.Stdout)
	mode, addr := args[0], args[1]
	count := func(i int) (int, error) {
		if len(args) <= i {
			return 0, fmt.Errorf("%s: missing count", mode)
		}
		return strconv.Atoi(args[i])
	}
	var rs []Result
	switch mode {
	case "tcp":
		n, err := count(2)
		if err != nil {
			return err
		}
		for range n {
			rs = append(rs, tcpOnce(addr))
		}
	case "udp":
		n, err := count(2)
		if err != nil || len(args) < 4 {
			return fmt.Errorf("usage: udp ADDR N connected|unconnected: %v", err)
		}
		rs = udpExchanges(addr, n, args[3] == "connected")
	case "tcp6mapped", "udp6mapped":
		n, err := count(2)
		if err != nil {
			return err
		}
		ap, err := netip.ParseAddrPort(addr)
		if err != nil {
			return err
		}
		if mode == "udp6mapped" {
			rs = udp6MappedExchanges(ap, n)
			break
		}
		for range n {
			rs = append(rs, tcp6MappedOnce(ap))
		}
	case "tcp-loop":
		return tcpLoop(addr, out)
	case "latency":
		n, err := count(3)
		if err != nil {
			return err
		}
		lat, err := latencies(addr, args[2], n)
		if err != nil {
			return err
		}
		return out.Encode(lat)
	default:
		return fmt.Errorf("unknown client mode %q", mode)
	}
	for _, r := range rs {
		if err := out.Encode(r); err != nil {
			return err
		}
	}
	return nil
}

// checkCgroup makes sure the client runs where the programs translate.
func checkCgroup(want string) error {
	data, err := os.ReadFile("/proc/self/cgroup")
	if err != nil {
		return err
	}
	for line := range strings.Lines(string(data)) {
		if path, ok := strings.CutPrefix(strings.TrimSpace(line), "0::"); ok {
			if strings.HasSuffix(want, filepath.Clean(path)) && path != "/" {
				return nil
			}
			return fmt.Errorf("client runs in cgroup %s, not in %s", path, want)
		}
	}
	return fmt.Errorf("client is in no cgroup2 cgroup: %q", data)
}

func errResult(r Result, err error) Result {
	r.Err = err.Error()
	var errno syscall.Errno
	if errors.As(err, &errno) {
		r.Errno = errno
	}
	return r
}

// tcpOnce connects, sends one GET, reads the response and closes.
func tcpOnce(addr string) Result {
	start := time.Now()
	var r Result
	c, err := net.DialTimeout("tcp4", addr, 5*time.Second)
	if err != nil {
		r.Elapsed = time.Since(start)
		return errResult(r, err)
	}
	defer c.Close()
	r.Peer = c.RemoteAddr().String() // getpeername(2), read by Dial
	c.SetDeadline(time.Now().Add(5 * time.Second))
	r.Reply, err = get(c)
	r.Elapsed = time.Since(start)
	if err != nil {
		return errResult(r, err)
	}
	return r
}

func udpExchanges(addr string, n int, connected bool) []Result {
	ua, err := net.ResolveUDPAddr("udp4", addr)
	if err != nil {
		return []Result{errResult(Result{}, err)}
	}
	var conn *net.UDPConn
	if connected {
		conn, err = net.DialUDP("udp4", nil, ua)
	} else {
		conn, err = net.ListenUDP("udp4", &net.UDPAddr{IP: net.IPv4zero})
	}
	if err != nil {
		return []Result{errResult(Result{}, err)}
	}
	defer conn.Close()
	var rs []Result
	buf := make([]byte, 1500)
	for range n {
		start := time.Now()
		var r Result
		if connected {
			r.Peer = conn.RemoteAddr().String()
			_, err = conn.Write([]byte("hello"))
		} else {
			_, err = conn.WriteToUDP([]byte("hello"), ua)
		}
		if err != nil {
			rs = append(rs, errResult(r, err))
			continue
		}
		conn.SetReadDeadline(time.Now().Add(5 * time.Second))
		m, from, err := conn.ReadFromUDP(buf) // recvfrom(2): the source passes recvmsg4
		r.Elapsed = time.Since(start)
		if err != nil {
			rs = append(rs, errResult(r, err))
			continue
		}
		r.Reply, r.Source = strings.TrimSpace(string(buf[:m])), from.String()
		if !connected {
			r.Peer = r.Source
		} else if r.Source != r.Peer {
			r.Err = fmt.Sprintf("reply from %s on a socket connected to %s", r.Source, r.Peer)
		}
		rs = append(rs, r)
	}
	return rs
}

func latencies(vip, pods string, n int) (Latencies, error) {
	// The direct connections rotate over the pods as the VIP's
	// round-robin does, so both paths reach the same backends equally.
	direct := strings.Split(pods, ",")
	var l Latencies
	for i := range n {
		targets := []struct {
			addr string
			out  *[]time.Duration
		}{{vip, &l.VIP}, {direct[i%len(direct)], &l.Pod}}
		if i%2 == 1 { // neither target always goes first
			targets[0], targets[1] = targets[1], targets[0]
		}
		for _, target := range targets {
			r := tcpOnce(target.addr)
			if r.Err != "" {
				return l, fmt.Errorf("%s: %s", target.addr, r.Err)
			}
			*target.out = append(*target.out, r.Elapsed)
		}
	}
	return l, nil
}
