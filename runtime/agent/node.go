package agent

import (
	"context"
	"encoding/json"
	"fmt"
	"net/netip"
	"os"
	"path/filepath"
	"strconv"
	"strings"
	"time"

	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	apierrors "k8s.io/apimachinery/pkg/api/errors"
	metav1 "k8s.io/apimachinery/pkg/apis/meta/v1"
	"k8s.io/apimachinery/pkg/types"
	"k8s.io/client-go/util/retry"

	"github.com/tug-sh/tug/dataplane/ipam"
	"github.com/tug-sh/tug/dataplane/podnet"
)

// registerNode creates the agent's Node, or takes over an existing one
// (an agent restart, or a node re-registering), and posts its status.
func (a *Agent) registerNode(ctx context.Context) error {
	nodes := a.client.CoreV1().Nodes()
	node := &v1.Node{ObjectMeta: metav1.ObjectMeta{Name: a.cfg.NodeName, Labels: nodeLabels(a.cfg.NodeName)}}
	if a.cfg.PodCIDR.IsValid() {
		node.Spec.PodCIDR = a.cfg.PodCIDR.String()
		node.Spec.PodCIDRs = []string{node.Spec.PodCIDR}
	}
	node.Status = nodeStatus(v1.NodeStatus{}, a.nodeFacts(), time.Now())
	for {
		_, err := nodes.Create(ctx, node, metav1.CreateOptions{})
		if err == nil {
			a.log.Info("registered node", "node", a.cfg.NodeName)
			return a.heartbeat(ctx) // a server may drop the status on create
		}
		if apierrors.IsAlreadyExists(err) {
			err = retry.RetryOnConflict(retry.DefaultRetry, func() error {
				cur, err := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
				if err != nil {
					return err
				}
				changed := false
				if cur.Labels == nil {
					cur.Labels = map[string]string{}
				}
				for k, v := range nodeLabels(a.cfg.NodeName) {
					if cur.Labels[k] != v {
						cur.Labels[k], changed = v, true
					}
				}
				if cur.Spec.PodCIDR == "" && a.cfg.PodCIDR.IsValid() {
					cur.Spec.PodCIDR, cur.Spec.PodCIDRs, changed = a.cfg.PodCIDR.String(), []string{a.cfg.PodCIDR.String()}, true
				}
				if changed {
					_, err = nodes.Update(ctx, cur, metav1.UpdateOptions{})
				}
				return err
			})
			if err == nil {
				a.log.Info("node already registered; taking it over", "node", a.cfg.NodeName)
				return a.heartbeat(ctx)
			}
		}
		a.log.Warn("cannot register the node yet; retrying", "node", a.cfg.NodeName, "server", a.cfg.RestConfig.Host, "err", err)
		select {
		case <-ctx.Done():
			return ctx.Err()
		case <-time.After(2 * time.Second):
		}
	}
}

// heartbeatLoop refreshes the Node's status (Ready's lastHeartbeatTime, the
// nodelifecycle controller's heartbeat) and the usage annotations.
func (a *Agent) heartbeatLoop(ctx context.Context) {
	t := time.NewTicker(a.cfg.HeartbeatInterval)
	defer t.Stop()
	for {
		select {
		case <-ctx.Done():
			return
		case <-t.C:
		case <-a.heartbeatC:
		}
		if err := a.heartbeat(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("node heartbeat failed", "node", a.cfg.NodeName, "err", err)
		}
		if err := a.reportUsage(ctx); err != nil && ctx.Err() == nil {
			a.log.Warn("reporting node usage failed", "node", a.cfg.NodeName, "err", err)
		}
	}
}

// heartbeat writes the Node's status; it re-registers a deleted Node.
func (a *Agent) heartbeat(ctx context.Context) error {
	nodes := a.client.CoreV1().Nodes()
	return retry.RetryOnConflict(retry.DefaultRetry, func() error {
		cur, err := nodes.Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if apierrors.IsNotFound(err) {
			return a.registerNode(ctx)
		}
		if err != nil {
			return err
		}
		cur.Status = nodeStatus(cur.Status, a.nodeFacts(), time.Now())
		_, err = nodes.UpdateStatus(ctx, cur, metav1.UpdateOptions{})
		return err
	})
}

// reportUsage puts the measured node usage on the Node's annotations,
// the scheduler's convention.
func (a *Agent) reportUsage(ctx context.Context) error {
	u, ok := a.stats.nodeUsage()
	if !ok {
		return nil
	}
	patch, err := json.Marshal(map[string]any{"metadata": map[string]any{"annotations": usageAnnotations(u.cpuNanoCores, u.workingSet, u.at)}})
	if err != nil {
		return err
	}
	_, err = a.client.CoreV1().Nodes().Patch(ctx, a.cfg.NodeName, types.MergePatchType, patch, metav1.PatchOptions{})
	return err
}

// nodeFacts measures the node for its status.
func (a *Agent) nodeFacts() nodeFacts {
	f := nodeFacts{
		Machine:  a.machine,
		NodeIP:   a.nodeIP.String(),
		Hostname: a.machine.Hostname,
		Port:     a.port.Load(),
		MaxPods:  a.cfg.MaxPods,
		Ready:    a.netReady.Load(),
	}
	if !f.Ready {
		f.NotReadyMessage = "pod network not ready: waiting for the node's spec.podCIDR (assigned by the nodeipam controller, or --pod-cidr)"
		a.mu.Lock()
		haveCIDR := a.podCIDR.IsValid()
		a.mu.Unlock()
		if haveCIDR {
			f.NotReadyMessage = "pod network not ready: setting up the pod bridge and adopting running pods"
		}
	}
	f.ServiceProxyMessage = "the agent runs without a Service proxy (--service-proxy=false): ClusterIPs are not translated on this node"
	if sp := a.cfg.ServiceProxy; sp != nil {
		f.ServiceProxyReady, f.ServiceProxyMessage = sp.Ready()
	}
	if meminfo, err := os.ReadFile("/proc/meminfo"); err == nil {
		if avail, ok := meminfoValue(meminfo, "MemAvailable:"); ok {
			f.MemoryPressure = avail < reservedMemory
		}
	}
	var fs unix.Statfs_t
	if err := unix.Statfs(a.cfg.DataDir, &fs); err == nil && fs.Blocks > 0 {
		f.EphemeralStorage = int64(fs.Blocks) * fs.Bsize
		f.DiskPressure = fs.Bavail*10 < fs.Blocks
	}
	f.PIDPressure = pidPressure()
	if imgs, err := a.images.List(); err == nil {
		for _, img := range imgs {
			if len(f.Images) == 50 {
				break
			}
			names := append(append([]string{}, img.RepoDigests...), img.RepoTags...)
			if len(names) == 0 {
				names = []string{img.ID}
			}
			f.Images = append(f.Images, v1.ContainerImage{Names: names, SizeBytes: img.Size})
		}
	}
	return f
}

// meminfoValue is a /proc/meminfo field in bytes.
func meminfoValue(meminfo []byte, key string) (uint64, bool) {
	for _, line := range strings.Split(string(meminfo), "\n") {
		f := strings.Fields(line)
		if len(f) >= 2 && f[0] == key {
			kb, err := strconv.ParseUint(f[1], 10, 64)
			return kb * 1024, err == nil
		}
	}
	return 0, false
}

// pidPressure: more than 90% of pid_max in use.
func pidPressure() bool {
	data, err := os.ReadFile("/proc/sys/kernel/pid_max")
	if err != nil {
		return false
	}
	max, err := strconv.Atoi(strings.TrimSpace(string(data)))
	if err != nil || max <= 0 {
		return false
	}
	procs, err := filepath.Glob("/proc/[0-9]*")
	if err != nil {
		return false
	}
	return len(procs)*10 > max*9
}

// waitForPodCIDR returns the node's pod CIDR: --pod-cidr, or spec.podCIDR
// once the nodeipam controller has set it.
func (a *Agent) waitForPodCIDR(ctx context.Context) (netip.Prefix, error) {
	if a.cfg.PodCIDR.IsValid() {
		return a.cfg.PodCIDR.Masked(), nil
	}
	logged := false
	for {
		node, err := a.client.CoreV1().Nodes().Get(ctx, a.cfg.NodeName, metav1.GetOptions{})
		if err == nil && node.Spec.PodCIDR != "" {
			p, err := netip.ParsePrefix(node.Spec.PodCIDR)
			if err != nil {
				return netip.Prefix{}, fmt.Errorf("agent: node %s has an invalid spec.podCIDR %q: %w", a.cfg.NodeName, node.Spec.PodCIDR, err)
			}
			return p.Masked(), nil
		}
		if !logged {
			a.log.Info("waiting for the node's pod CIDR (spec.podCIDR, from the nodeipam controller of tug server --cluster-cidr)", "node", a.cfg.NodeName)
			logged = true
		}
		select {
		case <-ctx.Done():
			return netip.Prefix{}, ctx.Err()
		case <-time.After(time.Second):
		}
	}
}

// setupNetwork opens the address allocator for the pod CIDR and creates
// the bridge.
func (a *Agent) setupNetwork(ctx context.Context, cidr netip.Prefix) error {
	alloc, err := ipam.New(ctx, ipam.Config{Dir: a.cfg.ipamDir(), CIDR: cidr, Logger: a.log.With("subsystem", "ipam")})
	if err != nil {
		return err
	}
	n, err := podnet.New(podnet.Config{
		HostNetns: a.cfg.HostNetns,
		RunDir:    a.cfg.RunDir,
		Bridge:    a.cfg.Bridge,
		Gateway:   alloc.Gateway(),
		MTU:       a.cfg.MTU,
		Logger:    a.log.With("subsystem", "podnet"),
	})
	if err != nil {
		alloc.Close()
		return err
	}
	if err := n.EnsureBridge(ctx); err != nil {
		n.Close()
		alloc.Close()
		return err
	}
	a.mu.Lock()
	a.ipam, a.net, a.podCIDR = alloc, n, cidr
	a.mu.Unlock()
	return nil
}

// allocatable is the node's allocatable resources (for resourceFieldRef).
func (a *Agent) allocatable() v1.ResourceList {
	return nodeStatus(v1.NodeStatus{}, nodeFacts{Machine: a.machine, MaxPods: a.cfg.MaxPods}, time.Time{}).Allocatable
}
