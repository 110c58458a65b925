// Package container runs a node's containers through runc's libcontainer;
// it is the only user of libcontainer in tug. It is a mechanism package:
// it knows nothing of the Kubernetes API. The agent describes a container
// (Container) and drives its life: Create, Start, Signal, Wait, Stop,
// Exec, State, List, Stats, Destroy.
//
// # Specs
//
// A description becomes an OCI runtime spec built from runc's default spec
// (specconv.Example: masked and read-only /proc and /sys paths,
// no_new_privs, a deny-all devices cgroup plus libcontainer's default
// devices) with the containerd/Docker default capability set, a
// RuntimeDefault seccomp deny-list (DefaultSeccompProfile) and the
// kubelet's CPU and memory conversions, and is converted with
// specconv.CreateLibcontainerConfig. The rootfs is an overlay of the
// image's read-only directory under a per-container upper layer.
//
// Seccomp needs libcontainer built with libseccomp: build and test with
// CGO_ENABLED=1 and -tags seccomp (Debian: libseccomp-dev to build,
// libseccomp2 to run). libcontainer has no pure-Go seccomp path. Without the
// tag, Create refuses containers that would need a filter (ErrNoSeccomp).
//
// # Processes: the monitor
//
// Containers are not tied to the agent. Start re-executes the binary in its
// monitor role (RunReexecRole), in its own session; the monitor creates and
// runs the container through libcontainer (which re-executes the binary
// again as libcontainer's "init"), so it is the container init's parent. It
// holds the read ends of the container's stdout and stderr and writes them
// to the CRI log (runtime/logs, with rotation), and when the init ends it
// reaps it, reads the OOM counters of its cgroup and writes exit.json.
// Thus output keeps flowing and exit codes are kept while the agent is
// stopped or restarting: what containerd's shim and CRI-O's conmon do. The
// monitor ignores SIGTERM, SIGINT and SIGHUP (a service manager stopping
// the agent must not kill the containers: use KillMode=process with
// systemd) and sets its oom_score_adj to -999.
//
// # State and adoption
//
// A Runtime keeps nothing in memory. All state is in Config.StateDir:
//
//	containers/<id>/  the description, the monitor's records, the overlay
//	libcontainer/<id>/  libcontainer's state.json (libcontainer.Load)
//	pods/<pod>/ipc, shm  pinned IPC namespaces and /dev/shm tmpfs
//
// so a new Runtime on the same StateDir, after an agent restart, lists,
// signals, execs into, waits for and destroys the containers an earlier
// one started. Wait cannot use wait(2) on a process that is not its child:
// it polls a pidfd of the monitor (pidfd_open, Linux 5.3) and then reads
// exit.json. Process start times recorded next to PIDs guard against PID
// reuse.
//
// # Pods
//
// A pod's containers join the network namespace the agent got from
// dataplane/podnet (PodSandbox.NetNSPath) and the IPC namespace and
// /dev/shm of EnsurePodIPC: a namespace pinned by a bind mount of its nsfs
// file rather than held by a pause container or the first container (whose
// restart would otherwise split the pod's IPC). Each container has its own
// PID, mount and UTS (hostname = pod name) namespaces, and on cgroup v2 its
// own cgroup namespace.
//
// # Cgroups
//
// Containers get the cgroup <CgroupParent>/<id> in every hierarchy,
// through libcontainer's cgroupfs manager. Both cgroup v1 (including hybrid
// hosts, where the manager also creates the cgroup in the unified
// hierarchy) and pure v2 hosts are supported; the mode is detected at
// runtime. Stats and OOM detection read v1 cpuacct/memory files or v2
// cpu.stat/memory.* files. On v2 the cpu and memory controllers must be
// enabled at the hierarchy's root (cgroup.controllers); CheckHost, which the
// agent calls at start, and Create fail with ErrCgroupControllers naming the
// missing ones otherwise. This machine is hybrid: TestPureCgroupV2Host mounts
// its cgroup2 hierarchy at /sys/fs/cgroup in a mount namespace of its own,
// where the runtime takes the host for pure v2, and checks that detection
// and that refusal; running containers under v2 controllers needs a real v2
// host (the unit tests read v2 files from a fake hierarchy).
//
// # Re-exec
//
// Runtime re-executes its binary (Config.Executable) as each container's
// monitor, and the monitor as libcontainer's init. The binary handles
// those roles by blank-importing runtime/container/reexec, whose init
// function calls RunReexecRole before the rest of the binary initialises
// and links libcontainer/nsenter and opencontainers/cgroups/devices
// (cmd/tug/init.go; this package's own tests call RunReexecRole in
// TestMain). The monitor runs with GOMAXPROCS=1 (monitorEnv), and the
// init resets signals its ancestors ignored before the container's
// process starts (resetIgnoredSignals).
package container
