package container

import (
	"fmt"
	"path/filepath"
	"regexp"
	"strings"
)

// idPattern is libcontainer's rule for container IDs; IDs also name
// directories and cgroups, so the same rule serves all of them.
var idPattern = regexp.MustCompile(`^[A-Za-z0-9_+.-]+$`)

// validateID checks an ID (container or pod) before it is used in a path.
func validateID(kind, id string) error {
	if id == "" || id == "." || id == ".." || len(id) > 1024 || !idPattern.MatchString(id) {
		return fmt.Errorf("%w: %s ID %q: use 1-1024 letters, digits and _+-. (not . or ..)", ErrInvalid, kind, id)
	}
	return nil
}

// validate checks a description without touching the host.
func validate(c Container) error {
	if err := validateID("container", c.ID); err != nil {
		return err
	}
	if c.Pod.ID != "" {
		if err := validateID("pod", c.Pod.ID); err != nil {
			return err
		}
	}
	if len(c.Hostname) > 63 || strings.ContainsAny(c.Hostname, "/ \x00") {
		return fmt.Errorf("%w: hostname %q: at most 63 characters, no spaces or slashes", ErrInvalid, c.Hostname)
	}
	if !filepath.IsAbs(c.RootfsLower) {
		return fmt.Errorf("%w: rootfsLower %q must be an absolute path to the unpacked image", ErrInvalid, c.RootfsLower)
	}
	if len(c.Command) == 0 || c.Command[0] == "" {
		return fmt.Errorf("%w: container %s has no command", ErrInvalid, c.ID)
	}
	if c.WorkingDir != "" && !filepath.IsAbs(c.WorkingDir) {
		return fmt.Errorf("%w: workingDir %q must be absolute", ErrInvalid, c.WorkingDir)
	}
	for _, kv := range c.Env {
		if k, _, ok := strings.Cut(kv, "="); !ok || k == "" {
			return fmt.Errorf("%w: env entry %q is not KEY=VALUE", ErrInvalid, kv)
		}
	}
	for _, m := range c.Mounts {
		if !filepath.IsAbs(m.Source) || !filepath.IsAbs(m.Destination) {
			return fmt.Errorf("%w: mount %s -> %s: source and destination must be absolute paths", ErrInvalid, m.Source, m.Destination)
		}
	}
	for _, p := range []struct{ name, path string }{
		{"pod.netnsPath", c.Pod.NetNSPath}, {"pod.ipcnsPath", c.Pod.IPCNSPath},
		{"pod.shmPath", c.Pod.ShmPath}, {"logPath", c.LogPath},
	} {
		if p.path != "" && !filepath.IsAbs(p.path) {
			return fmt.Errorf("%w: %s %q must be absolute", ErrInvalid, p.name, p.path)
		}
	}
	if c.Pod.HostNetwork && c.Pod.NetNSPath != "" {
		return fmt.Errorf("%w: pod %s sets both hostNetwork and netnsPath", ErrInvalid, c.Pod.ID)
	}
	r := c.Resources
	if r.CPURequestMilli < 0 || r.CPULimitMilli < 0 || r.MemoryLimitBytes < 0 || r.PidsLimit < 0 {
		return fmt.Errorf("%w: negative resource in %+v", ErrInvalid, r)
	}
	// The kernel refuses limits this small, and a container could not
	// start in them anyway.
	if r.MemoryLimitBytes > 0 && r.MemoryLimitBytes < 4<<20 {
		return fmt.Errorf("%w: memory limit %d bytes is below the 4 MiB minimum", ErrInvalid, r.MemoryLimitBytes)
	}
	if c.Seccomp != SeccompRuntimeDefault && c.Seccomp != SeccompUnconfined {
		return fmt.Errorf("%w: seccomp profile %q: use %q (RuntimeDefault) or %q", ErrInvalid, c.Seccomp, SeccompRuntimeDefault, SeccompUnconfined)
	}
	return nil
}
