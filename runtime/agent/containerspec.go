package agent

import (
	"bufio"
	"fmt"
	"slices"
	"strconv"
	"strings"

	v1 "k8s.io/api/core/v1"

	"github.com/tug-sh/tug/runtime/container"
)

// imageConfig is what a container takes from its image's configuration.
type imageConfig struct {
	Entrypoint []string
	Cmd        []string
	Env        []string
	WorkingDir string
	User       string
}

// commandLine resolves a container's argv as Kubernetes and containerd do:
// $(VAR) references to the container's variables are expanded in command
// and args; command replaces the image's ENTRYPOINT, args replace its CMD,
// and a command without args ignores the image's CMD.
func commandLine(c *v1.Container, img imageConfig, env []envVar) (command, args []string) {
	vars := make(map[string]string, len(env))
	for _, e := range env {
		vars[e.Name] = e.Value
	}
	lookup := mapLookup(vars)
	expandAll := func(in []string) []string {
		if len(in) == 0 {
			return nil
		}
		out := make([]string, len(in))
		for i, s := range in {
			out[i] = expand(s, lookup)
		}
		return out
	}
	command, args = expandAll(c.Command), expandAll(c.Args)
	if len(command) == 0 {
		command = slices.Clone(img.Entrypoint)
		if len(args) == 0 {
			args = slices.Clone(img.Cmd)
		}
	}
	if len(command) == 0 && len(args) > 0 {
		// An image with CMD only: the first element is the program.
		command, args = args[:1], args[1:]
	}
	return command, args
}

// mergeEnv puts the container's variables over the image's (same name:
// the container wins), image order first.
func mergeEnv(image []string, container []envVar) []string {
	override := make(map[string]bool, len(container))
	for _, e := range container {
		override[e.Name] = true
	}
	out := make([]string, 0, len(image)+len(container))
	for _, kv := range image {
		if k, _, _ := strings.Cut(kv, "="); !override[k] {
			out = append(out, kv)
		}
	}
	for _, e := range container {
		out = append(out, e.Name+"="+e.Value)
	}
	return out
}

// identity is a parsed /etc/passwd and /etc/group of an image.
type identity struct {
	users  map[string]passwdEntry // by name
	byUID  map[uint32]passwdEntry
	groups map[string]uint32
	// members maps a user name to the GIDs of the groups listing it.
	members map[string][]uint32
}

type passwdEntry struct {
	name     string
	uid, gid uint32
}

// parseIdentity reads passwd and group file contents (either may be nil).
func parseIdentity(passwd, group []byte) identity {
	id := identity{users: map[string]passwdEntry{}, byUID: map[uint32]passwdEntry{}, groups: map[string]uint32{}, members: map[string][]uint32{}}
	sc := bufio.NewScanner(strings.NewReader(string(passwd)))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 4 || strings.HasPrefix(f[0], "#") {
			continue
		}
		uid, err1 := strconv.ParseUint(f[2], 10, 32)
		gid, err2 := strconv.ParseUint(f[3], 10, 32)
		if err1 != nil || err2 != nil {
			continue
		}
		e := passwdEntry{name: f[0], uid: uint32(uid), gid: uint32(gid)}
		id.users[e.name] = e
		if _, ok := id.byUID[e.uid]; !ok {
			id.byUID[e.uid] = e
		}
	}
	sc = bufio.NewScanner(strings.NewReader(string(group)))
	for sc.Scan() {
		f := strings.Split(sc.Text(), ":")
		if len(f) < 3 || strings.HasPrefix(f[0], "#") {
			continue
		}
		gid, err := strconv.ParseUint(f[2], 10, 32)
		if err != nil {
			continue
		}
		id.groups[f[0]] = uint32(gid)
		if len(f) >= 4 && f[3] != "" {
			for _, m := range strings.Split(f[3], ",") {
				id.members[m] = append(id.members[m], uint32(gid))
			}
		}
	}
	return id
}

// resolveUser works out the container's user like containerd: the image's
// USER ("name", "uid", "name:group", "uid:gid") resolved against the
// image's passwd and group files, overridden by runAsUser and runAsGroup,
// with the supplementary groups of the user in the image plus the pod's
// supplementalGroups and fsGroup.
func resolveUser(imageUser string, id identity, runAsUser, runAsGroup *int64, podGroups []int64) (container.User, error) {
	var u container.User
	var userName string
	gidSet := false
	if imageUser != "" {
		user, group, hasGroup := strings.Cut(imageUser, ":")
		if n, err := strconv.ParseUint(user, 10, 32); err == nil {
			u.UID = uint32(n)
			if e, ok := id.byUID[u.UID]; ok {
				u.GID, userName = e.gid, e.name
			}
		} else {
			e, ok := id.users[user]
			if !ok {
				return u, fmt.Errorf("%w: the image's user %q is not in its /etc/passwd", errConfig, user)
			}
			u.UID, u.GID, userName = e.uid, e.gid, e.name
		}
		if hasGroup {
			if n, err := strconv.ParseUint(group, 10, 32); err == nil {
				u.GID = uint32(n)
			} else if g, ok := id.groups[group]; ok {
				u.GID = g
			} else {
				return u, fmt.Errorf("%w: the image's group %q is not in its /etc/group", errConfig, group)
			}
			gidSet = true
		}
	}
	if runAsUser != nil {
		u.UID = uint32(*runAsUser)
		userName = ""
		if !gidSet {
			u.GID = 0
			if e, ok := id.byUID[u.UID]; ok {
				u.GID = e.gid
			}
		}
	}
	if runAsGroup != nil {
		u.GID = uint32(*runAsGroup)
	}
	if userName == "" {
		if e, ok := id.byUID[u.UID]; ok {
			userName = e.name
		}
	}
	if userName != "" {
		u.AdditionalGIDs = append(u.AdditionalGIDs, id.members[userName]...)
	}
	for _, g := range podGroups {
		u.AdditionalGIDs = append(u.AdditionalGIDs, uint32(g))
	}
	slices.Sort(u.AdditionalGIDs)
	u.AdditionalGIDs = slices.Compact(u.AdditionalGIDs)
	return u, nil
}

// securitySettings merges the pod's and the container's security contexts
// (the container's wins) into the runtime's terms.
type securitySettings struct {
	RunAsUser, RunAsGroup *int64
	RunAsNonRoot          bool
	PodGroups             []int64
	ReadOnlyRoot          bool
	Privileged            bool
	AllowEscalation       bool
	Capabilities          container.CapabilityChanges
	Seccomp               container.SeccompProfile
	Sysctls               map[string]string
}

func securityFor(pod *v1.Pod, c *v1.Container, seccompDefault bool) (securitySettings, error) {
	s := securitySettings{AllowEscalation: true, Seccomp: container.SeccompUnconfined}
	if seccompDefault {
		s.Seccomp = container.SeccompRuntimeDefault
	}
	var podSeccomp, seccomp *v1.SeccompProfile
	if psc := pod.Spec.SecurityContext; psc != nil {
		s.RunAsUser, s.RunAsGroup = psc.RunAsUser, psc.RunAsGroup
		s.RunAsNonRoot = psc.RunAsNonRoot != nil && *psc.RunAsNonRoot
		s.PodGroups = append(s.PodGroups, psc.SupplementalGroups...)
		if psc.FSGroup != nil {
			s.PodGroups = append(s.PodGroups, *psc.FSGroup)
		}
		podSeccomp = psc.SeccompProfile
		if len(psc.Sysctls) > 0 {
			s.Sysctls = map[string]string{}
			for _, sc := range psc.Sysctls {
				s.Sysctls[sc.Name] = sc.Value
			}
		}
	}
	seccomp = podSeccomp
	if sc := c.SecurityContext; sc != nil {
		if sc.RunAsUser != nil {
			s.RunAsUser = sc.RunAsUser
		}
		if sc.RunAsGroup != nil {
			s.RunAsGroup = sc.RunAsGroup
		}
		if sc.RunAsNonRoot != nil {
			s.RunAsNonRoot = *sc.RunAsNonRoot
		}
		s.ReadOnlyRoot = sc.ReadOnlyRootFilesystem != nil && *sc.ReadOnlyRootFilesystem
		s.Privileged = sc.Privileged != nil && *sc.Privileged
		if sc.AllowPrivilegeEscalation != nil {
			s.AllowEscalation = *sc.AllowPrivilegeEscalation
		}
		if sc.Capabilities != nil {
			for _, cp := range sc.Capabilities.Add {
				s.Capabilities.Add = append(s.Capabilities.Add, string(cp))
			}
			for _, cp := range sc.Capabilities.Drop {
				s.Capabilities.Drop = append(s.Capabilities.Drop, string(cp))
			}
		}
		if sc.SeccompProfile != nil {
			seccomp = sc.SeccompProfile
		}
	}
	if seccomp != nil {
		switch seccomp.Type {
		case v1.SeccompProfileTypeRuntimeDefault:
			s.Seccomp = container.SeccompRuntimeDefault
		case v1.SeccompProfileTypeUnconfined:
			s.Seccomp = container.SeccompUnconfined
		default:
			return s, fmt.Errorf("%w: seccompProfile type %q is not supported by tug (use RuntimeDefault or Unconfined)", errConfig, seccomp.Type)
		}
	}
	return s, nil
}

// QoS OOM score adjustments (pkg/kubelet/qos/policy.go).
const (
	guaranteedOOMScoreAdj = -997
	besteffortOOMScoreAdj = 1000
)

// oomScoreAdj is the container's oom_score_adj for the pod's QoS class:
// Guaranteed -997, BestEffort 1000, Burstable scaled by the share of the
// node's memory the container requests, within [3, 999].
func oomScoreAdj(qos v1.PodQOSClass, c *v1.Container, memoryCapacity int64) int {
	switch qos {
	case v1.PodQOSGuaranteed:
		return guaranteedOOMScoreAdj
	case v1.PodQOSBestEffort:
		return besteffortOOMScoreAdj
	}
	if memoryCapacity <= 0 {
		return besteffortOOMScoreAdj - 1
	}
	req := c.Resources.Requests.Memory().Value()
	adj := 1000 - (1000*req)/memoryCapacity
	if adj < 1000+guaranteedOOMScoreAdj {
		return 1000 + guaranteedOOMScoreAdj
	}
	if adj >= besteffortOOMScoreAdj {
		return besteffortOOMScoreAdj - 1
	}
	return int(adj)
}

// qosClass is the pod's QoS class as the API server recorded it, or
// computed like Kubernetes when it did not.
func qosClass(pod *v1.Pod) v1.PodQOSClass {
	if pod.Status.QOSClass != "" {
		return pod.Status.QOSClass
	}
	requests, limits := false, false
	guaranteed := true
	all := append(slices.Clone(pod.Spec.InitContainers), pod.Spec.Containers...)
	for _, c := range all {
		for _, r := range []v1.ResourceName{v1.ResourceCPU, v1.ResourceMemory} {
			req, hasReq := c.Resources.Requests[r]
			lim, hasLim := c.Resources.Limits[r]
			requests = requests || (hasReq && !req.IsZero())
			limits = limits || (hasLim && !lim.IsZero())
			if !hasLim || (hasReq && req.Cmp(lim) != 0) {
				guaranteed = false
			}
		}
	}
	switch {
	case !requests && !limits:
		return v1.PodQOSBestEffort
	case guaranteed:
		return v1.PodQOSGuaranteed
	}
	return v1.PodQOSBurstable
}

// resourcesFor converts requests and limits to the runtime's terms:
// requests.cpu → cpu shares, limits.cpu → CFS quota, limits.memory →
// memory limit. A cpu limit without a request requests the limit, as the
// API's defaulting does.
func resourcesFor(c *v1.Container) container.Resources {
	var r container.Resources
	if q, ok := c.Resources.Limits[v1.ResourceCPU]; ok {
		r.CPULimitMilli = q.MilliValue()
	}
	if q, ok := c.Resources.Requests[v1.ResourceCPU]; ok {
		r.CPURequestMilli = q.MilliValue()
	} else {
		r.CPURequestMilli = r.CPULimitMilli
	}
	if q, ok := c.Resources.Limits[v1.ResourceMemory]; ok {
		r.MemoryLimitBytes = q.Value()
	}
	return r
}
