package agent

import (
	"bufio"
	"bytes"
	"errors"
	"fmt"

	"net/netip"
	"os"
	"runtime"
	"runtime/debug"
	"strconv"
	"strings"

	"github.com/vishvananda/netlink"
	"golang.org/x/sys/unix"
)

// machineInfo is what the Node reports about the machine.
type machineInfo struct {
	CPUs           int
	MemoryBytes    int64
	KernelVersion  string
	OSImage        string
	Architecture   string
	MachineID      string
	BootID         string
	RuntimeVersion string
	Hostname       string
	// MinOOMScoreAdj is the lowest oom_score_adj containers can get: -1000
	// with CAP_SYS_RESOURCE, else this process's own (the kernel refuses
	// to lower it further without the capability, as in some sandboxes).
	MinOOMScoreAdj int
}

// readMachineInfo gathers machineInfo from /proc, uname, /etc/os-release
// and the binary's build information.
func readMachineInfo() (machineInfo, error) {
	m := machineInfo{CPUs: runtime.NumCPU(), Architecture: runtime.GOARCH, RuntimeVersion: containerRuntimeVersion()}
	meminfo, err := os.ReadFile("/proc/meminfo")
	if err != nil {
		return m, fmt.Errorf("agent: read /proc/meminfo: %w", err)
	}
	if m.MemoryBytes, err = memTotal(meminfo); err != nil {
		return m, err
	}
	var u unix.Utsname
	if err := unix.Uname(&u); err != nil {
		return m, fmt.Errorf("agent: uname: %w", err)
	}
	m.KernelVersion = unix.ByteSliceToString(u.Release[:])
	if data, err := os.ReadFile("/etc/os-release"); err == nil {
		m.OSImage = osImage(data)
	}
	if m.OSImage == "" {
		m.OSImage = "Linux"
	}
	if data, err := os.ReadFile("/etc/machine-id"); err == nil {
		m.MachineID = strings.TrimSpace(string(data))
	}
	if data, err := os.ReadFile("/proc/sys/kernel/random/boot_id"); err == nil {
		m.BootID = strings.TrimSpace(string(data))
	}
	m.Hostname, _ = os.Hostname()
	m.MinOOMScoreAdj = minOOMScoreAdj()
	return m, nil
}

// capSysResource is CAP_SYS_RESOURCE's bit in /proc/PID/status CapEff.
const capSysResource = 24

// minOOMScoreAdj finds the lowest oom_score_adj this process may give its
// children.
func minOOMScoreAdj() int {
	status, err := os.ReadFile("/proc/self/status")
	if err == nil {
		for _, line := range strings.Split(string(status), "\n") {
			if v, ok := strings.CutPrefix(line, "CapEff:"); ok {
				if caps, err := strconv.ParseUint(strings.TrimSpace(v), 16, 64); err == nil && caps&(1<<capSysResource) != 0 {
					return -1000
				}
			}
		}
	}
	own, err := os.ReadFile("/proc/self/oom_score_adj")
	if err != nil {
		return 0
	}
	n, err := strconv.Atoi(strings.TrimSpace(string(own)))
	if err != nil {
		return 0
	}
	return n
}

// memTotal reads MemTotal from /proc/meminfo content, in bytes.
func memTotal(meminfo []byte) (int64, error) {
	sc := bufio.NewScanner(bytes.NewReader(meminfo))
	for sc.Scan() {
		f := strings.Fields(sc.Text())
		if len(f) >= 2 && f[0] == "MemTotal:" {
			kb, err := strconv.ParseInt(f[1], 10, 64)
			if err != nil {
				return 0, fmt.Errorf("agent: /proc/meminfo: bad MemTotal %q", f[1])
			}
			return kb * 1024, nil
		}
	}
	return 0, errors.New("agent: /proc/meminfo has no MemTotal")
}

// osImage is PRETTY_NAME from /etc/os-release content.
func osImage(osRelease []byte) string {
	sc := bufio.NewScanner(bytes.NewReader(osRelease))
	for sc.Scan() {
		if v, ok := strings.CutPrefix(sc.Text(), "PRETTY_NAME="); ok {
			if uq, err := strconv.Unquote(v); err == nil {
				return uq
			}
			return strings.Trim(v, `"'`)
		}
	}
	return ""
}

// containerRuntimeVersion is "libcontainer://runc-<version>", the version
// of runc's module this binary was built with.
func containerRuntimeVersion() string {
	v := "unknown"
	if bi, ok := debug.ReadBuildInfo(); ok {
		for _, d := range bi.Deps {
			if d.Path == "github.com/opencontainers/runc" {
				v = strings.TrimPrefix(d.Version, "v")
				if d.Replace != nil && d.Replace.Version != "" {
					v = strings.TrimPrefix(d.Replace.Version, "v")
				}
			}
		}
	}
	return "libcontainer://runc-" + v
}

// defaultRouteIP is the source address of the default route: the node's
// address as other machines see it.
func defaultRouteIP() (netip.Addr, error) {
	routes, err := netlink.RouteList(nil, netlink.FAMILY_V4)
	if err != nil {
		return netip.Addr{}, fmt.Errorf("agent: list routes: %w", err)
	}
	for _, r := range routes {
		if r.Dst != nil && r.Dst.String() != "0.0.0.0/0" {
			continue
		}
		if a, ok := netip.AddrFromSlice(r.Src); ok && r.Src != nil {
			return a.Unmap(), nil
		}
		link, err := netlink.LinkByIndex(r.LinkIndex)
		if err != nil {
			continue
		}
		addrs, err := netlink.AddrList(link, netlink.FAMILY_V4)
		if err != nil {
			continue
		}
		for _, ad := range addrs {
			if a, ok := netip.AddrFromSlice(ad.IP.To4()); ok && a.IsGlobalUnicast() {
				return a, nil
			}
		}
	}
	return netip.Addr{}, errors.New("agent: no default route to take the node IP from: pass --node-ip")
}
