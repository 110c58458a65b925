package container

import (
	"errors"
	"slices"
	"strings"
	"testing"

	"github.com/opencontainers/runc/libcontainer/configs"
	"github.com/opencontainers/runc/libcontainer/specconv"
	"github.com/opencontainers/runtime-spec/specs-go"
)

var (
	hybridHost = hostInfo{cgroupParent: "tug", swapAccounting: true, allCapabilities: []string{"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"}}
	v2Host     = hostInfo{cgroupV2: true, cgroupParent: "tug", allCapabilities: []string{"CAP_CHOWN", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"}}
)

func specContainer() Container {
	return Container{
		ID:          "c1",
		Pod:         PodSandbox{ID: "p1", NetNSPath: "/run/netns/p1", IPCNSPath: "/state/pods/p1/ipc"},
		Hostname:    "web-0",
		RootfsLower: "/images/busybox",
		Command:     []string{"httpd"},
		Args:        []string{"-f"},
		Env:         []string{"A=1"},
		Mounts:      []Mount{{Source: "/data/hosts", Destination: "/etc/hosts", ReadOnly: true}, {Source: "/data/vol", Destination: "/vol"}},
	}
}

func namespaceOf(s *specs.Spec, typ specs.LinuxNamespaceType) (specs.LinuxNamespace, bool) {
	for _, ns := range s.Linux.Namespaces {
		if ns.Type == typ {
			return ns, true
		}
	}
	return specs.LinuxNamespace{}, false
}

func mountAt(s *specs.Spec, dest string) (specs.Mount, bool) {
	for _, m := range s.Mounts {
		if m.Destination == dest {
			return m, true
		}
	}
	return specs.Mount{}, false
}

func TestBuildSpec(t *testing.T) {
	tests := []struct {
		name   string
		host   hostInfo
		modify func(*Container)
		check  func(t *testing.T, s *specs.Spec)
	}{
		{"defaults", hybridHost, nil, func(t *testing.T, s *specs.Spec) {
			if got := strings.Join(s.Process.Args, " "); got != "httpd -f" {
				t.Errorf("args %q", got)
			}
			if !slices.Equal(s.Process.Env, []string{"A=1", defaultPath, "HOSTNAME=web-0"}) {
				t.Errorf("env %q", s.Process.Env)
			}
			if s.Process.Cwd != "/" || !s.Process.NoNewPrivileges || s.Process.Terminal {
				t.Errorf("process %+v", s.Process)
			}
			if !slices.Equal(s.Process.Capabilities.Bounding, defaultCapabilities) || !slices.Equal(s.Process.Capabilities.Effective, defaultCapabilities) {
				t.Errorf("caps %v", s.Process.Capabilities)
			}
			if s.Linux.Seccomp == nil || s.Linux.Seccomp.DefaultAction != specs.ActAllow {
				t.Errorf("seccomp %+v", s.Linux.Seccomp)
			}
			if !slices.Contains(s.Linux.MaskedPaths, "/proc/kcore") || !slices.Contains(s.Linux.ReadonlyPaths, "/proc/sys") {
				t.Errorf("masked %v readonly %v", s.Linux.MaskedPaths, s.Linux.ReadonlyPaths)
			}
			if s.Linux.CgroupsPath != "/tug/c1" || s.Hostname != "web-0" || s.Root.Path != "/rootfs" || s.Root.Readonly {
				t.Errorf("cgroup %q hostname %q root %+v", s.Linux.CgroupsPath, s.Hostname, s.Root)
			}
			if ns, ok := namespaceOf(s, specs.NetworkNamespace); !ok || ns.Path != "/run/netns/p1" {
				t.Errorf("network namespace %+v", ns)
			}
			if ns, ok := namespaceOf(s, specs.IPCNamespace); !ok || ns.Path != "/state/pods/p1/ipc" {
				t.Errorf("ipc namespace %+v", ns)
			}
			for _, typ := range []specs.LinuxNamespaceType{specs.PIDNamespace, specs.MountNamespace, specs.UTSNamespace} {
				if ns, ok := namespaceOf(s, typ); !ok || ns.Path != "" {
					t.Errorf("%s namespace %+v, want a private one", typ, ns)
				}
			}
			if _, ok := namespaceOf(s, specs.CgroupNamespace); ok {
				t.Error("cgroup namespace on a v1 host")
			}
			if m, ok := mountAt(s, "/etc/hosts"); !ok || m.Type != "bind" || !slices.Contains(m.Options, "ro") || m.Source != "/data/hosts" {
				t.Errorf("/etc/hosts mount %+v", m)
			}
			if m, ok := mountAt(s, "/vol"); !ok || slices.Contains(m.Options, "ro") {
				t.Errorf("/vol mount %+v", m)
			}
			if m, ok := mountAt(s, "/sys"); !ok || !slices.Contains(m.Options, "ro") {
				t.Errorf("/sys mount %+v", m)
			}
			if m, ok := mountAt(s, "/dev/shm"); !ok || m.Type != "tmpfs" {
				t.Errorf("/dev/shm mount %+v", m)
			}
			res := s.Linux.Resources
			if *res.CPU.Shares != minCPUShares || res.CPU.Quota != nil || res.Memory != nil || res.Pids != nil {
				t.Errorf("resources %+v", res)
			}
			if len(res.Devices) != 1 || res.Devices[0].Allow {
				t.Errorf("devices %+v, want deny all", res.Devices)
			}
		}},
		{"cgroup v2 host gets a cgroup namespace", v2Host, nil, func(t *testing.T, s *specs.Spec) {
			if _, ok := namespaceOf(s, specs.CgroupNamespace); !ok {
				t.Error("no cgroup namespace on a v2 host")
			}
		}},
		{"resources with swap accounting", hybridHost, func(c *Container) {
			c.Resources = Resources{CPURequestMilli: 500, CPULimitMilli: 1500, MemoryLimitBytes: 128 << 20, PidsLimit: 50}
		}, func(t *testing.T, s *specs.Spec) {
			r := s.Linux.Resources
			if *r.CPU.Shares != 512 || *r.CPU.Quota != 150000 || *r.CPU.Period != 100000 {
				t.Errorf("cpu %+v", r.CPU)
			}
			if *r.Memory.Limit != 128<<20 || r.Memory.Swap == nil || *r.Memory.Swap != 128<<20 || *r.Pids.Limit != 50 {
				t.Errorf("memory %+v pids %+v", r.Memory, r.Pids)
			}
		}},
		{"no swap limit without swap accounting", v2Host, func(c *Container) {
			c.Resources.MemoryLimitBytes = 128 << 20
		}, func(t *testing.T, s *specs.Spec) {
			if s.Linux.Resources.Memory.Swap != nil {
				t.Errorf("swap limit set without swap accounting: %d", *s.Linux.Resources.Memory.Swap)
			}
		}},
		{"host network and private IPC", hybridHost, func(c *Container) {
			c.Pod = PodSandbox{ID: "p1", HostNetwork: true}
		}, func(t *testing.T, s *specs.Spec) {
			if _, ok := namespaceOf(s, specs.NetworkNamespace); ok {
				t.Error("network namespace with hostNetwork")
			}
			if ns, _ := namespaceOf(s, specs.IPCNamespace); ns.Path != "" {
				t.Errorf("ipc %+v", ns)
			}
		}},
		{"pod shm", hybridHost, func(c *Container) { c.Pod.ShmPath = "/state/pods/p1/shm" }, func(t *testing.T, s *specs.Spec) {
			if m, ok := mountAt(s, "/dev/shm"); !ok || m.Type != "bind" || m.Source != "/state/pods/p1/shm" {
				t.Errorf("/dev/shm %+v", m)
			}
		}},
		{"privileged", hybridHost, func(c *Container) { c.Privileged = true }, func(t *testing.T, s *specs.Spec) {
			if s.Linux.Seccomp != nil || s.Process.NoNewPrivileges || len(s.Linux.MaskedPaths) != 0 || len(s.Linux.ReadonlyPaths) != 0 {
				t.Errorf("privileged spec keeps confinement: seccomp %v nnp %v masked %v", s.Linux.Seccomp != nil, s.Process.NoNewPrivileges, s.Linux.MaskedPaths)
			}
			if !slices.Equal(s.Process.Capabilities.Bounding, hybridHost.allCapabilities) {
				t.Errorf("caps %v", s.Process.Capabilities.Bounding)
			}
			if m, _ := mountAt(s, "/sys"); slices.Contains(m.Options, "ro") {
				t.Errorf("/sys %+v", m)
			}
			if !s.Linux.Resources.Devices[0].Allow {
				t.Error("devices not allowed")
			}
		}},
		{"read-only rootfs, user, workdir, unconfined", hybridHost, func(c *Container) {
			c.ReadOnlyRootFilesystem = true
			c.User = User{UID: 1000, GID: 2000, AdditionalGIDs: []uint32{3000}}
			c.WorkingDir = "/srv"
			c.Seccomp = SeccompUnconfined
			c.Env = append(c.Env, "PATH=/opt/bin", "HOSTNAME=custom")
		}, func(t *testing.T, s *specs.Spec) {
			if !s.Root.Readonly || s.Process.User.UID != 1000 || s.Process.User.GID != 2000 || !slices.Equal(s.Process.User.AdditionalGids, []uint32{3000}) || s.Process.Cwd != "/srv" {
				t.Errorf("root %+v user %+v cwd %q", s.Root, s.Process.User, s.Process.Cwd)
			}
			if s.Linux.Seccomp != nil {
				t.Error("seccomp with Unconfined")
			}
			if !slices.Equal(s.Process.Env, []string{"A=1", "PATH=/opt/bin", "HOSTNAME=custom"}) {
				t.Errorf("env %q", s.Process.Env)
			}
		}},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := specContainer()
			if tt.modify != nil {
				tt.modify(&c)
			}
			if err := validate(c); err != nil {
				t.Fatal(err)
			}
			s, err := buildSpec(c, "/rootfs", tt.host)
			if err != nil {
				t.Fatal(err)
			}
			tt.check(t, s)
			// Every spec converts to a libcontainer config.
			cfg, err := specconv.CreateLibcontainerConfig(&specconv.CreateOpts{CgroupName: c.ID, Spec: s})
			if err != nil {
				t.Fatalf("convert: %v", err)
			}
			if !tt.host.cgroupV2 && cfg.Namespaces.Contains(configs.NEWCGROUP) {
				t.Error("converted config has a cgroup namespace on v1")
			}
			if (cfg.Seccomp != nil) != (s.Linux.Seccomp != nil) {
				t.Error("seccomp lost in conversion")
			}
		})
	}
}

func TestEffectiveCapabilities(t *testing.T) {
	all := []string{"CAP_CHOWN", "CAP_KILL", "CAP_NET_ADMIN", "CAP_SYS_ADMIN"}
	tests := []struct {
		name    string
		changes CapabilityChanges
		want    []string
		wantErr bool
	}{
		{"defaults", CapabilityChanges{}, defaultCapabilities, false},
		{"drop all", CapabilityChanges{Drop: []string{"ALL"}}, nil, false},
		{"drop all add one, no prefix, lower case", CapabilityChanges{Drop: []string{"all"}, Add: []string{"net_admin"}}, []string{"CAP_NET_ADMIN"}, false},
		{"drop one", CapabilityChanges{Drop: []string{"CAP_NET_RAW"}}, slices.DeleteFunc(slices.Clone(defaultCapabilities), func(c string) bool { return c == "CAP_NET_RAW" }), false},
		{"add all", CapabilityChanges{Add: []string{"ALL"}}, all, false},
		{"unknown", CapabilityChanges{Add: []string{"CAP_FLY"}}, nil, true},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := effectiveCapabilities(Container{Capabilities: tt.changes}, all)
			if tt.wantErr {
				if !errors.Is(err, ErrInvalid) {
					t.Fatalf("err = %v, want ErrInvalid", err)
				}
				return
			}
			if err != nil {
				t.Fatal(err)
			}
			if !slices.Equal(got, tt.want) {
				t.Fatalf("got %v, want %v", got, tt.want)
			}
		})
	}
}

func TestCPUConversions(t *testing.T) {
	shares := []struct {
		milli int64
		want  uint64
	}{{0, 2}, {1, 2}, {2, 2}, {100, 102}, {250, 256}, {1000, 1024}, {4000, 4096}, {1_000_000, 262144}}
	for _, tt := range shares {
		if got := cpuSharesFromRequest(tt.milli); got != tt.want {
			t.Errorf("cpuSharesFromRequest(%d) = %d, want %d", tt.milli, got, tt.want)
		}
	}
	quota := []struct {
		milli int64
		want  int64
	}{{0, 0}, {1, 1000}, {5, 1000}, {10, 1000}, {250, 25000}, {1000, 100000}, {2500, 250000}}
	for _, tt := range quota {
		if got := cfsQuotaFromLimit(tt.milli); got != tt.want {
			t.Errorf("cfsQuotaFromLimit(%d) = %d, want %d", tt.milli, got, tt.want)
		}
	}
	// runc's shares→weight conversion maps the ends and the defaults.
	weights := []struct{ shares, want uint64 }{{2, 1}, {1024, 100}, {262144, 10000}}
	for _, tt := range weights {
		if got := cpuWeightFromShares(tt.shares); got != tt.want {
			t.Errorf("cpuWeightFromShares(%d) = %d, want %d", tt.shares, got, tt.want)
		}
	}
}

func TestValidate(t *testing.T) {
	tests := []struct {
		name   string
		modify func(*Container)
	}{
		{"empty id", func(c *Container) { c.ID = "" }},
		{"id with slash", func(c *Container) { c.ID = "a/b" }},
		{"dot id", func(c *Container) { c.ID = ".." }},
		{"bad pod id", func(c *Container) { c.Pod.ID = "p 1" }},
		{"relative rootfs", func(c *Container) { c.RootfsLower = "images/x" }},
		{"no command", func(c *Container) { c.Command = nil }},
		{"relative workdir", func(c *Container) { c.WorkingDir = "tmp" }},
		{"bad env", func(c *Container) { c.Env = []string{"NOEQUALS"} }},
		{"relative mount", func(c *Container) { c.Mounts = []Mount{{Source: "x", Destination: "/x"}} }},
		{"relative log path", func(c *Container) { c.LogPath = "x.log" }},
		{"host network with netns", func(c *Container) { c.Pod.HostNetwork = true }},
		{"negative cpu", func(c *Container) { c.Resources.CPULimitMilli = -1 }},
		{"tiny memory", func(c *Container) { c.Resources.MemoryLimitBytes = 1024 }},
		{"unknown seccomp", func(c *Container) { c.Seccomp = "Localhost" }},
		{"long hostname", func(c *Container) { c.Hostname = strings.Repeat("h", 64) }},
	}
	if err := validate(specContainer()); err != nil {
		t.Fatalf("valid container rejected: %v", err)
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			c := specContainer()
			tt.modify(&c)
			if err := validate(c); !errors.Is(err, ErrInvalid) {
				t.Fatalf("err = %v, want ErrInvalid", err)
			}
		})
	}
}

func TestEnvMerging(t *testing.T) {
	if got := mergeEnv([]string{"A=1", "B=2", "PATH=/bin"}, []string{"B=3", "C=4"}); !slices.Equal(got, []string{"A=1", "PATH=/bin", "B=3", "C=4"}) {
		t.Errorf("mergeEnv = %q", got)
	}
	if got := withDefaultEnv(nil, "h"); !slices.Equal(got, []string{defaultPath, "HOSTNAME=h"}) {
		t.Errorf("withDefaultEnv = %q", got)
	}
}
