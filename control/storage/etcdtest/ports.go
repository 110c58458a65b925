package etcdtest

import (
	"fmt"
	"math/rand/v2"
	"net"
	"os"
	"strconv"
	"strings"
)

// lowestPort is the bottom of the range members' ports are drawn from.
const lowestPort = 10000

// freePorts returns n distinct loopback TCP ports that were free a moment
// ago. They are drawn below the kernel's ephemeral range: a killed
// member's port stays free for its Restart, where a port handed out by
// the kernel (port 0) could meanwhile become the local port of any
// outgoing connection on the machine. All n listeners are held open
// together so no port is picked twice.
func freePorts(n int) ([]int, error) {
	top := ephemeralLow()
	if top-lowestPort < 100*n {
		return nil, fmt.Errorf("the ephemeral port range starts at %d, leaving too few ports above %d", top, lowestPort)
	}
	var ls []net.Listener
	defer func() {
		for _, l := range ls {
			l.Close()
		}
	}()
	ports := make([]int, 0, n)
	for attempts := 0; len(ports) < n; attempts++ {
		if attempts > 1000 {
			return nil, fmt.Errorf("no free loopback port found in [%d,%d) after %d attempts", lowestPort, top, attempts)
		}
		p := lowestPort + rand.IntN(top-lowestPort)
		l, err := net.Listen("tcp", "127.0.0.1:"+strconv.Itoa(p))
		if err != nil {
			continue // taken
		}
		ls = append(ls, l)
		ports = append(ports, p)
	}
	return ports, nil
}

// ephemeralLow reads the first port of the kernel's ephemeral range
// (32768 by default).
func ephemeralLow() int {
	b, err := os.ReadFile("/proc/sys/net/ipv4/ip_local_port_range")
	if err != nil {
		return 32768
	}
	fields := strings.Fields(string(b))
	if len(fields) == 0 {
		return 32768
	}
	low, err := strconv.Atoi(fields[0])
	if err != nil {
		return 32768
	}
	return low
}
