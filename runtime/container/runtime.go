package container

import (
	"fmt"
	"io"
	"log/slog"
	"os"
	"path/filepath"
	"slices"
	"strings"
	"sync"

	"github.com/opencontainers/cgroups"

	"github.com/tug-sh/tug/runtime/logs"
)

// DefaultCgroupParent is the cgroup containers are created under.
const DefaultCgroupParent = "tug"

// Config configures a Runtime.
type Config struct {
	// StateDir holds the runtime's state (under the agent's data dir):
	// per-container directories with the overlay layers, libcontainer's
	// state and the pods' pinned IPC namespaces. Required, absolute.
	StateDir string
	// CgroupParent is the cgroup (relative to each hierarchy's root)
	// containers are created under. Default DefaultCgroupParent.
	CgroupParent string
	// LogRotation bounds each container's log files.
	LogRotation logs.Rotation
	// Executable is the binary started for the monitor and init roles (see
	// RunReexecRole). Default /proc/self/exe.
	Executable string
	Logger     *slog.Logger
}

// Runtime runs containers through libcontainer. It keeps no state of its
// own in memory: everything is in Config.StateDir, so a new Runtime on the
// same StateDir (after an agent restart) sees and manages the containers a
// previous one started. It is safe for concurrent use.
type Runtime struct {
	stateDir     string
	lcRoot       string
	exe          string
	cgroupParent string
	rotation     logs.Rotation
	host         hostInfo
	log          *slog.Logger
	locks        keyedMutex
}

// New prepares StateDir and detects the host's cgroup mode.
func New(cfg Config) (*Runtime, error) {
	if !filepath.IsAbs(cfg.StateDir) {
		return nil, fmt.Errorf("container: Config.StateDir %q must be an absolute path", cfg.StateDir)
	}
	parent := cfg.CgroupParent
	if parent == "" {
		parent = DefaultCgroupParent
	}
	for _, part := range strings.Split(parent, "/") {
		if err := validateID("cgroup parent component", part); err != nil {
			return nil, fmt.Errorf("container: Config.CgroupParent %q: %w", parent, err)
		}
	}
	r := &Runtime{
		stateDir:     cfg.StateDir,
		lcRoot:       filepath.Join(cfg.StateDir, "libcontainer"),
		exe:          cfg.Executable,
		cgroupParent: parent,
		rotation:     cfg.LogRotation.WithDefaults(),
		log:          cfg.Logger,
	}
	if r.exe == "" {
		r.exe = "/proc/self/exe"
	}
	if r.log == nil {
		r.log = slog.New(slog.NewTextHandler(io.Discard, nil))
	}
	for _, d := range []string{r.lcRoot, r.containersDir(), r.podsDir()} {
		if err := os.MkdirAll(d, 0o700); err != nil {
			return nil, fmt.Errorf("container: create state directory: %w", err)
		}
	}
	r.host = detectHost(parent)
	var err error
	if r.host.allCapabilities, err = boundingCapabilities(); err != nil {
		return nil, fmt.Errorf("container: read this process's capabilities: %w", err)
	}
	ids, err := r.ids()
	if err != nil {
		return nil, err
	}
	r.log.Info("container runtime ready", "stateDir", r.stateDir, "cgroupParent", parent,
		"cgroupV2", r.host.cgroupV2, "swapAccounting", r.host.swapAccounting, "seccomp", seccompBuiltIn, "containers", len(ids))
	return r, nil
}

func detectHost(parent string) hostInfo {
	h := hostInfo{cgroupV2: cgroups.IsCgroup2UnifiedMode(), cgroupParent: parent}
	memoryMount := ""
	if h.cgroupV2 {
		data, _ := os.ReadFile(filepath.Join(cgroupV2Root, "cgroup.controllers"))
		h.v2Controllers = strings.TrimSpace(string(data))
	} else {
		memoryMount, _ = cgroups.FindCgroupMountpoint("", "memory")
	}
	h.swapAccounting = swapAccounting(h.cgroupV2, cgroupV2Root, memoryMount)
	return h
}

// cgroupV2Root is where a pure cgroup v2 host mounts its hierarchy (and
// where a container with its own cgroup namespace sees its delegated
// subtree).
const cgroupV2Root = "/sys/fs/cgroup"

// CheckHost reports what keeps this node from running containers that the
// runtime can see before creating one: on a pure cgroup v2 host, the
// controllers every container uses must be enabled at the hierarchy's
// root, cpu (cpu.weight from CPU requests, cpu.max from limits) and memory
// (memory.max, and memory.current for stats). The error wraps
// ErrCgroupControllers. Create fails with it too; destroying containers
// does not need it (tug reset works on such a host).
func (r *Runtime) CheckHost() error { return r.host.check() }

func (h hostInfo) check() error {
	if !h.cgroupV2 {
		return nil
	}
	missing := missingControllers(h.v2Controllers, "cpu", "memory")
	if len(missing) == 0 {
		return nil
	}
	return fmt.Errorf("%w: %s not enabled in %s (it lists %q): containers need cpu for CPU requests and limits and memory for memory limits and stats. "+
		"On a host whose cgroup v1 hierarchies hold them, boot with systemd.unified_cgroup_hierarchy=1; inside a container, have them delegated to its cgroup",
		ErrCgroupControllers, strings.Join(missing, " and "), filepath.Join(cgroupV2Root, "cgroup.controllers"), h.v2Controllers)
}

// missingControllers returns the controllers of want that have (the
// space-separated content of a cgroup.controllers file) lacks.
func missingControllers(have string, want ...string) []string {
	enabled := strings.Fields(have)
	var missing []string
	for _, c := range want {
		if !slices.Contains(enabled, c) {
			missing = append(missing, c)
		}
	}
	return missing
}

// swapAccounting reports whether the kernel accounts swap per cgroup, so a
// memory+swap limit can be set: on v2, memory.swap.max exists in the
// non-root cgroups with the memory controller; on v1, the memory
// hierarchy's root has memory.memsw.limit_in_bytes.
func swapAccounting(v2 bool, unifiedRoot, memoryMount string) bool {
	if v2 {
		m, _ := filepath.Glob(filepath.Join(unifiedRoot, "*", "memory.swap.max"))
		return len(m) > 0
	}
	if memoryMount == "" {
		return false
	}
	_, err := os.Stat(filepath.Join(memoryMount, "memory.memsw.limit_in_bytes"))
	return err == nil
}

func (r *Runtime) containersDir() string         { return filepath.Join(r.stateDir, "containers") }
func (r *Runtime) podsDir() string               { return filepath.Join(r.stateDir, "pods") }
func (r *Runtime) containerDir(id string) string { return filepath.Join(r.containersDir(), id) }

// ids lists the containers in the state directory.
func (r *Runtime) ids() ([]string, error) {
	ents, err := os.ReadDir(r.containersDir())
	if err != nil {
		return nil, fmt.Errorf("container: list containers: %w", err)
	}
	var ids []string
	for _, e := range ents {
		if e.IsDir() && validateID("container", e.Name()) == nil {
			ids = append(ids, e.Name())
		}
	}
	return ids, nil
}

// keyedMutex serialises the lifecycle operations of one container.
type keyedMutex struct {
	mu    sync.Mutex
	locks map[string]*keyedLock
}

type keyedLock struct {
	sync.Mutex
	refs int
}

func (k *keyedMutex) lock(key string) func() {
	k.mu.Lock()
	if k.locks == nil {
		k.locks = map[string]*keyedLock{}
	}
	l := k.locks[key]
	if l == nil {
		l = &keyedLock{}
		k.locks[key] = l
	}
	l.refs++
	k.mu.Unlock()
	l.Lock()
	return func() {
		l.Unlock()
		k.mu.Lock()
		if l.refs--; l.refs == 0 {
			delete(k.locks, key)
		}
		k.mu.Unlock()
	}
}
