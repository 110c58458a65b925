// Command udpecho is the UDP server of the agent's Service tests: busybox
// has none. It answers every datagram with the host name (a pod's name),
// from the address the datagram was sent to. Built statically
// (CGO_ENABLED=0) so that it runs in the busybox image.
package main

import (
	"flag"
	"fmt"
	"net"
	"os"
)

func main() {
	port := flag.Int("port", 5353, "UDP port to answer on")
	flag.Parse()
	name, err := os.Hostname()
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	pc, err := net.ListenPacket("udp4", fmt.Sprintf(":%d", *port))
	if err != nil {
		fmt.Fprintln(os.Stderr, err)
		os.Exit(1)
	}
	buf := make([]byte, 1500)
	for {
		_, from, err := pc.ReadFrom(buf)
		if err != nil {
			fmt.Fprintln(os.Stderr, err)
			os.Exit(1)
		}
		if _, err := pc.WriteTo([]byte(name+"\n"), from); err != nil {
			fmt.Fprintln(os.Stderr, "reply:", err)
		}
	}
}
