package container

import (
	"errors"
	"syscall"
	"time"
)

// Container describes one container of a pod: what the agent asks the
// runtime to run. The zero values are the secure defaults: own PID, mount,
// UTS namespaces, no_new_privs, the default capability set and the
// RuntimeDefault seccomp profile.
type Container struct {
	// ID names the container on this node; letters, digits and "_+-." only.
	ID string `json:"id"`
	// Pod holds what the pod's containers share.
	Pod PodSandbox `json:"pod"`
	// Hostname is the pod's name.
	Hostname string `json:"hostname,omitempty"`

	// RootfsLower is the read-only directory of the unpacked image. The
	// container sees it through an overlay whose upper layer is private to
	// the container and removed by Destroy.
	RootfsLower string `json:"rootfsLower"`
	// Mounts are bind mounts: /etc/hosts, /etc/resolv.conf, /etc/hostname
	// and volumes.
	Mounts []Mount `json:"mounts,omitempty"`

	// Command and Args form the argv (the agent resolves them against the
	// image's entrypoint and cmd). A command without a slash is looked up in
	// the container's PATH.
	Command []string `json:"command"`
	Args    []string `json:"args,omitempty"`
	// Env is KEY=VALUE pairs. PATH and HOSTNAME get defaults when absent.
	Env []string `json:"env,omitempty"`
	// WorkingDir defaults to "/".
	WorkingDir string `json:"workingDir,omitempty"`
	User       User   `json:"user"`

	// ReadOnlyRootFilesystem mounts the rootfs read-only.
	ReadOnlyRootFilesystem bool `json:"readOnlyRootFilesystem,omitempty"`
	// Privileged gives all capabilities, no seccomp filter, no masked
	// paths, a writable /sys and access to all devices in the devices
	// cgroup. Host device nodes are not added to /dev.
	Privileged bool `json:"privileged,omitempty"`
	// AllowPrivilegeEscalation leaves no_new_privs off. Note Kubernetes
	// defaults securityContext.allowPrivilegeEscalation to true; the agent
	// maps it.
	AllowPrivilegeEscalation bool `json:"allowPrivilegeEscalation,omitempty"`
	// Capabilities adjusts the default capability set ("CAP_" prefix
	// optional, "ALL" allowed, as in Kubernetes).
	Capabilities CapabilityChanges `json:"capabilities,omitempty"`
	// Seccomp selects the seccomp filter; ignored for privileged containers.
	Seccomp SeccompProfile `json:"seccomp,omitempty"`
	// Sysctls are namespaced sysctls to set (net.*, kernel.shm*, ...).
	Sysctls map[string]string `json:"sysctls,omitempty"`
	// OOMScoreAdj is the container's oom_score_adj (the kubelet sets it per
	// QoS class).
	OOMScoreAdj int `json:"oomScoreAdj,omitempty"`

	Resources Resources `json:"resources"`

	// LogPath is the file receiving stdout and stderr in the CRI log format
	// (see runtime/logs.InstancePath). Empty discards the output.
	LogPath string `json:"logPath,omitempty"`
}

// PodSandbox is what the containers of one pod share.
type PodSandbox struct {
	// ID names the pod (used for the pinned IPC namespace).
	ID string `json:"id"`
	// NetNSPath is a bind-mounted network namespace (dataplane/podnet) that
	// the container joins. Empty gives the container a private network
	// namespace with only a loopback interface, unless HostNetwork is set.
	NetNSPath   string `json:"netnsPath,omitempty"`
	HostNetwork bool   `json:"hostNetwork,omitempty"`
	// IPCNSPath is the pod's pinned IPC namespace and ShmPath its shared
	// /dev/shm (both from Runtime.EnsurePodIPC). Empty gives the container
	// a private IPC namespace and /dev/shm.
	IPCNSPath string `json:"ipcnsPath,omitempty"`
	ShmPath   string `json:"shmPath,omitempty"`
}

// Mount is a bind mount into the container.
type Mount struct {
	// Source is an absolute host path (file or directory).
	Source string `json:"source"`
	// Destination is an absolute path in the container.
	Destination string `json:"destination"`
	ReadOnly    bool   `json:"readOnly,omitempty"`
}

// User is the identity the container's processes run as (runAsUser,
// runAsGroup, supplementalGroups).
type User struct {
	UID            uint32   `json:"uid"`
	GID            uint32   `json:"gid"`
	AdditionalGIDs []uint32 `json:"additionalGids,omitempty"`
}

// CapabilityChanges are added to and dropped from the default set.
type CapabilityChanges struct {
	Add  []string `json:"add,omitempty"`
	Drop []string `json:"drop,omitempty"`
}

// SeccompProfile selects a seccomp filter.
type SeccompProfile string

// The seccomp profiles.
const (
	// SeccompRuntimeDefault is the deny-list of DefaultSeccompProfile.
	SeccompRuntimeDefault SeccompProfile = ""
	// SeccompUnconfined installs no filter.
	SeccompUnconfined SeccompProfile = "Unconfined"
)

// Resources are the container's requests and limits.
type Resources struct {
	// CPURequestMilli sets cpu.shares (v1) / cpu.weight (v2).
	CPURequestMilli int64 `json:"cpuRequestMilli,omitempty"`
	// CPULimitMilli sets the CFS quota; 0 means no limit.
	CPULimitMilli int64 `json:"cpuLimitMilli,omitempty"`
	// MemoryLimitBytes sets the memory limit (and, where swap is accounted,
	// the memory+swap limit to the same value: no swap); 0 means no limit.
	MemoryLimitBytes int64 `json:"memoryLimitBytes,omitempty"`
	// PidsLimit caps the number of tasks; 0 means no limit.
	PidsLimit int64 `json:"pidsLimit,omitempty"`
}

// Status is where a container is in its life.
type Status string

// The statuses.
const (
	// StatusCreated: Create done, Start not yet.
	StatusCreated Status = "created"
	// StatusRunning: the container's process runs.
	StatusRunning Status = "running"
	// StatusExited: the process ended; State.Exit tells how.
	StatusExited Status = "exited"
)

// State is a snapshot of a container.
type State struct {
	ID     string `json:"id"`
	PodID  string `json:"podID"`
	Status Status `json:"status"`
	// Pid is the container's init process in the host PID namespace, while
	// running.
	Pid        int         `json:"pid,omitempty"`
	CreatedAt  time.Time   `json:"createdAt"`
	StartedAt  time.Time   `json:"startedAt,omitzero"`
	Exit       *ExitStatus `json:"exit,omitempty"`
	LogPath    string      `json:"logPath,omitempty"`
	Privileged bool        `json:"privileged,omitempty"`
}

// ExitStatus is how a container's process ended.
type ExitStatus struct {
	// Code is the exit code, 128+signal for a process killed by a signal
	// (137 for SIGKILL), or -1 when unknown.
	Code int `json:"code"`
	// Signal is the signal that killed the process, if one did.
	Signal syscall.Signal `json:"signal,omitempty"`
	// OOMKilled is true when the kernel's OOM killer killed a process of
	// the container's cgroup.
	OOMKilled bool `json:"oomKilled,omitempty"`
	// Reason is the Kubernetes terminated-state reason: Completed, Error,
	// OOMKilled or Unknown.
	Reason     string    `json:"reason"`
	Message    string    `json:"message,omitempty"`
	FinishedAt time.Time `json:"finishedAt"`
}

// Stats are a container's cumulative CPU time and current memory.
type Stats struct {
	Time time.Time `json:"time"`
	// CPUUsageNanos is the CPU time used since the container started.
	CPUUsageNanos uint64 `json:"cpuUsageNanos"`
	// MemoryUsageBytes is the cgroup's memory usage, page cache included.
	MemoryUsageBytes uint64 `json:"memoryUsageBytes"`
	// MemoryWorkingSetBytes is usage minus inactive file pages, as cAdvisor
	// and the kubelet compute it.
	MemoryWorkingSetBytes uint64 `json:"memoryWorkingSetBytes"`
}

// Errors of the Runtime; test with errors.Is.
var (
	ErrNotFound       = errors.New("container: no such container")
	ErrExists         = errors.New("container: container already exists")
	ErrInvalid        = errors.New("container: invalid container description")
	ErrNotRunning     = errors.New("container: container is not running")
	ErrAlreadyStarted = errors.New("container: container was already started")
	// ErrNoSeccomp: the binary was built without libseccomp (build tag
	// "seccomp"), so the default profile cannot be installed.
	// ErrCgroupControllers: a pure cgroup v2 host without the controllers
	// containers need (the message names them and how to get them).
	ErrCgroupControllers = errors.New("container: cgroup v2 controllers missing")
	ErrNoSeccomp         = errors.New("container: seccomp support not built in: build with CGO_ENABLED=1 -tags seccomp (needs libseccomp-dev), or ask for SeccompUnconfined")
)
