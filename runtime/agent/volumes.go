package agent

import (
	"errors"
	"fmt"
	"os"
	"path/filepath"
	"strings"

	"github.com/moby/sys/mountinfo"
	"golang.org/x/sys/unix"
	v1 "k8s.io/api/core/v1"
	"k8s.io/apimachinery/pkg/types"

	"github.com/tug-sh/tug/runtime/container"
)

// errVolume marks a volume the agent cannot provide.
var errVolume = errors.New("volume cannot be mounted")

// volumeDir is where an emptyDir volume lives.
func (a *Agent) volumeDir(uid types.UID, name string) string {
	return filepath.Join(a.podDir(uid), "volumes", name)
}

// ensureVolumes prepares the pod's volumes: emptyDir (a directory of the
// pod, or a tmpfs for medium Memory) and hostPath (checked, or created for
// the *OrCreate types). Other volume types need API objects or plugins
// tug does not have.
func (a *Agent) ensureVolumes(pod *v1.Pod) error {
	for _, vol := range pod.Spec.Volumes {
		switch {
		case vol.EmptyDir != nil:
			dir := a.volumeDir(pod.UID, vol.Name)
			if err := os.MkdirAll(dir, 0o777); err != nil {
				return fmt.Errorf("%w: emptyDir %s: %v", errVolume, vol.Name, err)
			}
			_ = os.Chmod(dir, 0o777) // any container user may write, as in Kubernetes
			if vol.EmptyDir.Medium == v1.StorageMediumMemory {
				mounted, err := mountinfo.Mounted(dir)
				if err != nil {
					return fmt.Errorf("%w: emptyDir %s: %v", errVolume, vol.Name, err)
				}
				if !mounted {
					opts := "mode=0777"
					if l := vol.EmptyDir.SizeLimit; l != nil && !l.IsZero() {
						opts += fmt.Sprintf(",size=%d", l.Value())
					}
					if err := unix.Mount("tmpfs", dir, "tmpfs", unix.MS_NOSUID|unix.MS_NODEV, opts); err != nil {
						return fmt.Errorf("%w: emptyDir %s: mount tmpfs: %v", errVolume, vol.Name, err)
					}
				}
			}
		case vol.HostPath != nil:
			if err := checkHostPath(vol.HostPath); err != nil {
				return fmt.Errorf("%w: hostPath %s: %v", errVolume, vol.Name, err)
			}
		default:
			return fmt.Errorf("%w: volume %q: only emptyDir and hostPath volumes are supported by tug", errVolume, vol.Name)
		}
	}
	return nil
}

func checkHostPath(hp *v1.HostPathVolumeSource) error {
	if !filepath.IsAbs(hp.Path) {
		return fmt.Errorf("path %q is not absolute", hp.Path)
	}
	t := v1.HostPathUnset
	if hp.Type != nil {
		t = *hp.Type
	}
	st, err := os.Stat(hp.Path)
	switch t {
	case v1.HostPathUnset:
		return nil
	case v1.HostPathDirectoryOrCreate:
		if errors.Is(err, os.ErrNotExist) {
			return os.MkdirAll(hp.Path, 0o755)
		}
		if err == nil && !st.IsDir() {
			return fmt.Errorf("%s is not a directory", hp.Path)
		}
	case v1.HostPathFileOrCreate:
		if errors.Is(err, os.ErrNotExist) {
			if err := os.MkdirAll(filepath.Dir(hp.Path), 0o755); err != nil {
				return err
			}
			f, err := os.OpenFile(hp.Path, os.O_CREATE|os.O_RDONLY, 0o644)
			if err != nil {
				return err
			}
			return f.Close()
		}
		if err == nil && st.IsDir() {
			return fmt.Errorf("%s is a directory", hp.Path)
		}
	case v1.HostPathDirectory:
		if err == nil && !st.IsDir() {
			return fmt.Errorf("%s is not a directory", hp.Path)
		}
	case v1.HostPathFile:
		if err == nil && !st.Mode().IsRegular() {
			return fmt.Errorf("%s is not a file", hp.Path)
		}
	case v1.HostPathSocket:
		if err == nil && st.Mode()&os.ModeSocket == 0 {
			return fmt.Errorf("%s is not a socket", hp.Path)
		}
	case v1.HostPathCharDev:
		if err == nil && st.Mode()&os.ModeCharDevice == 0 {
			return fmt.Errorf("%s is not a character device", hp.Path)
		}
	case v1.HostPathBlockDev:
		if err == nil && (st.Mode()&os.ModeDevice == 0 || st.Mode()&os.ModeCharDevice != 0) {
			return fmt.Errorf("%s is not a block device", hp.Path)
		}
	}
	if err != nil {
		return err
	}
	return nil
}

// volumeMounts turns the container's volumeMounts into bind mounts.
func (a *Agent) volumeMounts(pod *v1.Pod, c *v1.Container) ([]container.Mount, error) {
	byName := map[string]v1.Volume{}
	for _, v := range pod.Spec.Volumes {
		byName[v.Name] = v
	}
	var out []container.Mount
	for _, vm := range c.VolumeMounts {
		vol, ok := byName[vm.Name]
		if !ok {
			return nil, fmt.Errorf("%w: volumeMount %q names no volume of the pod", errConfig, vm.Name)
		}
		var src string
		switch {
		case vol.EmptyDir != nil:
			src = a.volumeDir(pod.UID, vol.Name)
		case vol.HostPath != nil:
			src = vol.HostPath.Path
		default:
			return nil, fmt.Errorf("%w: volume %q: only emptyDir and hostPath volumes are supported by tug", errConfig, vm.Name)
		}
		if sub := vm.SubPath; sub != "" {
			clean := filepath.Clean("/" + sub)
			if strings.Contains(sub, "..") || clean == "/" {
				return nil, fmt.Errorf("%w: volumeMount %q: subPath %q must be a relative path inside the volume", errConfig, vm.Name, sub)
			}
			src = filepath.Join(src, clean)
			if _, err := os.Stat(src); errors.Is(err, os.ErrNotExist) {
				if err := os.MkdirAll(src, 0o777); err != nil {
					return nil, fmt.Errorf("%w: subPath %q: %v", errConfig, sub, err)
				}
			}
		}
		out = append(out, container.Mount{Source: src, Destination: vm.MountPath, ReadOnly: vm.ReadOnly})
	}
	return out, nil
}

// unmountVolumes unmounts the pod's memory-backed emptyDirs.
func (a *Agent) unmountVolumes(uid types.UID) error {
	root := filepath.Join(a.podDir(uid), "volumes")
	mounts, err := mountinfo.GetMounts(mountinfo.PrefixFilter(root))
	if err != nil {
		return err
	}
	var errs []error
	for _, m := range mounts {
		if err := unix.Unmount(m.Mountpoint, unix.MNT_DETACH); err != nil && !errors.Is(err, unix.EINVAL) {
			errs = append(errs, fmt.Errorf("unmount %s: %w", m.Mountpoint, err))
		}
	}
	return errors.Join(errs...)
}
