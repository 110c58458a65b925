package container

import (
	"fmt"
	"path"
	"slices"
	"strings"

	"github.com/moby/sys/capability"
	"github.com/opencontainers/runc/libcontainer/capabilities"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
)

// defaultCapabilities is the containerd/Docker default set. runc's example
// spec keeps only three (AUDIT_WRITE, KILL, NET_BIND_SERVICE), which breaks
// ordinary images (nginx chowns its cache and drops to a user: CHOWN,
// SETUID, SETGID), so Kubernetes nodes use this set.
var defaultCapabilities = []string{
	"CAP_AUDIT_WRITE", "CAP_CHOWN", "CAP_DAC_OVERRIDE", "CAP_FOWNER", "CAP_FSETID",
	"CAP_KILL", "CAP_MKNOD", "CAP_NET_BIND_SERVICE", "CAP_NET_RAW", "CAP_SETFCAP",
	"CAP_SETGID", "CAP_SETPCAP", "CAP_SETUID", "CAP_SYS_CHROOT",
}

const (
	defaultPath      = "PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin"
	defaultNofile    = 1048576
	podShmMountPoint = "/dev/shm"
)

// hostInfo is what spec building needs to know about the node, detected
// once by New.
type hostInfo struct {
	// cgroupV2 is true on a pure cgroup v2 (unified) host.
	cgroupV2 bool
	// v2Controllers is the content of the v2 root's cgroup.controllers
	// (cgroupV2 only): the controllers containers can use.
	v2Controllers string
	// swapAccounting is true when a memory+swap limit can be set.
	swapAccounting bool
	// cgroupParent is the cgroup containers are created under.
	cgroupParent string
	// allCapabilities are the capabilities a privileged container gets:
	// those in this process's bounding set (a runtime cannot grant more).
	allCapabilities []string
}

// buildSpec turns a container description into an OCI runtime spec,
// starting from runc's default spec (masked and read-only /proc and /sys
// paths, no_new_privs, a deny-all devices cgroup with libcontainer's
// default devices). rootfs is the mounted overlay. c must be valid.
func buildSpec(c Container, rootfs string, host hostInfo) (*specs.Spec, error) {
	s := specconv.Example()
	s.Root = &specs.Root{Path: rootfs, Readonly: c.ReadOnlyRootFilesystem}
	s.Hostname = c.Hostname
	if s.Hostname == "" {
		s.Hostname = c.ID[:min(len(c.ID), 63)]
	}

	caps, err := effectiveCapabilities(c, host.allCapabilities)
	if err != nil {
		return nil, err
	}
	s.Process = &specs.Process{
		Args:            append(slices.Clone(c.Command), c.Args...),
		Env:             withDefaultEnv(c.Env, s.Hostname),
		Cwd:             c.WorkingDir,
		User:            specs.User{UID: c.User.UID, GID: c.User.GID, AdditionalGids: c.User.AdditionalGIDs},
		NoNewPrivileges: !c.AllowPrivilegeEscalation && !c.Privileged,
		Capabilities: &specs.LinuxCapabilities{
			Bounding:  caps,
			Effective: slices.Clone(caps),
			Permitted: slices.Clone(caps),
		},
		OOMScoreAdj: &c.OOMScoreAdj,
		Rlimits:     []specs.POSIXRlimit{{Type: "RLIMIT_NOFILE", Hard: defaultNofile, Soft: defaultNofile}},
	}
	if s.Process.Cwd == "" {
		s.Process.Cwd = "/"
	}

	s.Mounts = baseMounts(s.Mounts, c)
	for _, m := range c.Mounts {
		opts := []string{"rbind", "rprivate"}
		if m.ReadOnly {
			opts = append(opts, "ro")
		}
		s.Mounts = append(s.Mounts, specs.Mount{Destination: m.Destination, Type: "bind", Source: m.Source, Options: opts})
	}

	s.Linux.Namespaces = namespaces(c, host)
	s.Linux.CgroupsPath = "/" + path.Join(host.cgroupParent, c.ID)
	s.Linux.Sysctl = c.Sysctls
	s.Linux.Resources = resources(c, host)
	if c.Privileged {
		s.Linux.MaskedPaths, s.Linux.ReadonlyPaths = nil, nil
	} else {
		s.Linux.MaskedPaths = append(s.Linux.MaskedPaths, "/proc/interrupts", "/sys/devices/virtual/powercap")
		if c.Seccomp != SeccompUnconfined {
			s.Linux.Seccomp = DefaultSeccompProfile(caps)
		}
	}
	return s, nil
}

// baseMounts adjusts the example spec's mounts: /sys and /sys/fs/cgroup are
// writable for a privileged container, and /dev/shm is the pod's shared
// tmpfs when there is one.
func baseMounts(mounts []specs.Mount, c Container) []specs.Mount {
	out := make([]specs.Mount, 0, len(mounts))
	for _, m := range mounts {
		m.Options = slices.Clone(m.Options)
		switch m.Destination {
		case "/sys", "/sys/fs/cgroup":
			if c.Privileged {
				m.Options = slices.DeleteFunc(m.Options, func(o string) bool { return o == "ro" })
			}
		case podShmMountPoint:
			if c.Pod.ShmPath != "" {
				m = specs.Mount{Destination: podShmMountPoint, Type: "bind", Source: c.Pod.ShmPath, Options: []string{"rbind", "rprivate"}}
			}
		}
		out = append(out, m)
	}
	return out
}

func namespaces(c Container, host hostInfo) []specs.LinuxNamespace {
	ns := []specs.LinuxNamespace{
		{Type: specs.PIDNamespace},
		{Type: specs.IPCNamespace, Path: c.Pod.IPCNSPath},
		{Type: specs.UTSNamespace},
		{Type: specs.MountNamespace},
	}
	if !c.Pod.HostNetwork {
		ns = append(ns, specs.LinuxNamespace{Type: specs.NetworkNamespace, Path: c.Pod.NetNSPath})
	}
	if host.cgroupV2 {
		ns = append(ns, specs.LinuxNamespace{Type: specs.CgroupNamespace})
	}
	return ns
}

func resources(c Container, host hostInfo) *specs.LinuxResources {
	r := &specs.LinuxResources{Devices: []specs.LinuxDeviceCgroup{{Allow: c.Privileged, Access: "rwm"}}}
	shares := cpuSharesFromRequest(c.Resources.CPURequestMilli)
	r.CPU = &specs.LinuxCPU{Shares: &shares}
	if quota := cfsQuotaFromLimit(c.Resources.CPULimitMilli); quota > 0 {
		period := uint64(cfsPeriodMicros)
		r.CPU.Quota, r.CPU.Period = &quota, &period
	}
	if limit := c.Resources.MemoryLimitBytes; limit > 0 {
		r.Memory = &specs.LinuxMemory{Limit: &limit}
		if host.swapAccounting {
			swap := limit // memory+swap == memory: no swap, as the kubelet does
			r.Memory.Swap = &swap
		}
	}
	if c.Resources.PidsLimit > 0 {
		limit := c.Resources.PidsLimit
		r.Pids = &specs.LinuxPids{Limit: &limit}
	}
	return r
}

// effectiveCapabilities applies c.Capabilities to the default set (or gives
// all to a privileged container): drop first, then add, "ALL" meaning all
// of them, as Kubernetes runtimes do.
func effectiveCapabilities(c Container, all []string) ([]string, error) {
	if c.Privileged {
		return slices.Clone(all), nil
	}
	known := capabilities.KnownCapabilities()
	norm := func(names []string) ([]string, bool, error) {
		var out []string
		all := false
		for _, n := range names {
			n = strings.ToUpper(strings.TrimSpace(n))
			if n == "ALL" {
				all = true
				continue
			}
			if !strings.HasPrefix(n, "CAP_") {
				n = "CAP_" + n
			}
			if !slices.Contains(known, n) {
				return nil, false, fmt.Errorf("%w: unknown capability %q (known: %s)", ErrInvalid, n, strings.Join(known, ", "))
			}
			out = append(out, n)
		}
		return out, all, nil
	}
	drop, dropAll, err := norm(c.Capabilities.Drop)
	if err != nil {
		return nil, err
	}
	add, addAll, err := norm(c.Capabilities.Add)
	if err != nil {
		return nil, err
	}
	caps := slices.Clone(defaultCapabilities)
	if dropAll {
		caps = nil
	}
	caps = slices.DeleteFunc(caps, func(c string) bool { return slices.Contains(drop, c) })
	if addAll {
		caps = slices.Clone(all)
	}
	caps = append(caps, add...)
	slices.Sort(caps)
	return slices.Compact(caps), nil
}

// withDefaultEnv adds PATH and HOSTNAME unless env sets them.
func withDefaultEnv(env []string, hostname string) []string {
	out := slices.Clone(env)
	has := func(key string) bool {
		return slices.ContainsFunc(env, func(kv string) bool { return strings.HasPrefix(kv, key+"=") })
	}
	if !has("PATH") {
		out = append(out, defaultPath)
	}
	if !has("HOSTNAME") {
		out = append(out, "HOSTNAME="+hostname)
	}
	return out
}

// boundingCapabilities lists the capabilities in this process's bounding
// set, by name.
func boundingCapabilities() ([]string, error) {
	self, err := capability.NewPid2(0)
	if err != nil {
		return nil, err
	}
	if err := self.Load(); err != nil {
		return nil, err
	}
	supported, err := capability.ListSupported()
	if err != nil {
		return nil, err
	}
	var out []string
	for _, c := range supported {
		if self.Get(capability.BOUNDING, c) {
			out = append(out, "CAP_"+strings.ToUpper(c.String()))
		}
	}
	slices.Sort(out)
	return out, nil
}
