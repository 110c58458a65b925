package lb

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// Inspector reads a loaded load balancer through its pins, read-only: what
// `tug bpf` shows. It never mounts, attaches or writes anything.
type Inspector struct {
	cfg  Config
	maps mapSet
}

// OpenPinned opens the pinned maps of the load balancer configured by cfg.
// It fails with ErrNoBPFFS when cfg.BPFFS is not a BPF filesystem and with
// ErrNotLoaded when nothing is pinned in cfg.PinDir.
func OpenPinned(cfg Config) (*Inspector, error) {
	cfg, err := cfg.complete()
	if err != nil {
		return nil, err
	}
	if !isBPFFS(cfg.BPFFS) {
		return nil, newError(ErrNoBPFFS, "%s is not a BPF filesystem, so no load balancer is loaded there (the tug agent mounts it and loads one; or pass --bpffs)", cfg.BPFFS)
	}
	in := &Inspector{cfg: cfg}
	ro := &ebpf.LoadPinOptions{ReadOnly: true}
	for _, p := range []struct {
		dst  **ebpf.Map
		name string
	}{
		{&in.maps.front, lbMapTugLb4Front}, {&in.maps.back, lbMapTugLb4Back}, {&in.maps.rr, lbMapTugLbRr},
		{&in.maps.reverse, lbMapTugLb4Reverse}, {&in.maps.selections, lbMapTugLb4Select}, {&in.maps.affinity, lbMapTugLbAffinity},
	} {
		path := filepath.Join(cfg.PinDir, p.name)
		m, err := ebpf.LoadPinnedMap(path, ro)
		if errors.Is(err, os.ErrNotExist) {
			in.maps.close()
			return nil, newError(ErrNotLoaded, "no load-balancer map pinned at %s: is the tug agent running with this --pin-dir?", path)
		}
		if err != nil {
			in.maps.close()
			return nil, fmt.Errorf("open pinned map %s: %w", path, err)
		}
		*p.dst = m
	}
	return in, nil
}

// Close releases the map handles.
func (in *Inspector) Close() error { return in.maps.close() }

// Services lists every frontend with its backends and counters.
func (in *Inspector) Services() ([]ServiceInfo, error) { return listServices(in.maps) }

// Service reads one frontend as Services shows it, without reading the
// others; ok is false when the maps have no such frontend.
func (in *Inspector) Service(fe Frontend) (info ServiceInfo, ok bool, err error) {
	return lookupService(in.maps, fe)
}

// MapInfo describes one pinned map.
type MapInfo struct {
	Name       string
	ID         uint32
	Type       string // as cilium/ebpf names it: Hash, LRUHash
	KeySize    uint32
	ValueSize  uint32
	MaxEntries uint32
	Flags      uint32
	Entries    int
	// BTF is whether the kernel holds BTF for key and value (so bpftool
	// prints field names).
	BTF bool
	Pin string
}

// Maps describes the pinned maps, with their current number of entries.
func (in *Inspector) Maps() ([]MapInfo, error) {
	var out []MapInfo
	for _, p := range []struct {
		m    *ebpf.Map
		name string
	}{
		{in.maps.front, lbMapTugLb4Front}, {in.maps.back, lbMapTugLb4Back}, {in.maps.rr, lbMapTugLbRr},
		{in.maps.reverse, lbMapTugLb4Reverse}, {in.maps.selections, lbMapTugLb4Select}, {in.maps.affinity, lbMapTugLbAffinity},
	} {
		info, err := p.m.Info()
		if err != nil {
			return nil, fmt.Errorf("map %s: %w", p.name, err)
		}
		id, _ := info.ID()
		_, hasBTF := info.BTFID()
		n, err := countEntries(p.m)
		if err != nil {
			return nil, fmt.Errorf("map %s: count entries: %w", p.name, err)
		}
		out = append(out, MapInfo{
			Name: p.name, ID: uint32(id), Type: info.Type.String(), KeySize: info.KeySize, ValueSize: info.ValueSize,
			MaxEntries: info.MaxEntries, Flags: info.Flags, Entries: n, BTF: hasBTF,
			Pin: filepath.Join(in.cfg.PinDir, p.name),
		})
	}
	return out, nil
}

func countEntries(m *ebpf.Map) (int, error) {
	n := 0
	var key any // nil asks for the first key
	for {
		next, err := m.NextKeyBytes(key)
		if err != nil {
			return n, err
		}
		if next == nil {
			return n, nil
		}
		key = next
		n++
	}
}

// ProgramInfo describes one hook of the load balancer.
type ProgramInfo struct {
	Hook      string // connect4, sendmsg4, recvmsg4, getpeername4, connect6, ...
	Name      string // program name in the kernel
	ProgramID uint32
	Tag       string
	LinkID    uint32
	CgroupID  uint64
	// Cgroup is the attach point's path, empty when the cgroup is gone
	// (the link is then detached).
	Cgroup string
	Pin    string // the link's pin
}

// Programs describes the pinned links: which program each hook runs, where.
func (in *Inspector) Programs() ([]ProgramInfo, error) {
	var out []ProgramInfo
	for _, h := range hooks() {
		pin := filepath.Join(in.cfg.linkDir(), h.name)
		// Links take no read-only flag; this handle only reads the link info.
		l, err := link.LoadPinnedLink(pin, nil)
		if errors.Is(err, os.ErrNotExist) {
			return nil, newError(ErrNotLoaded, "no link pinned at %s: the %s program is not attached", pin, h.name)
		}
		if err != nil {
			return nil, fmt.Errorf("open pinned link %s: %w", pin, err)
		}
		info, err := l.Info()
		l.Close()
		if err != nil {
			return nil, fmt.Errorf("pinned link %s: %w", pin, err)
		}
		pi := ProgramInfo{Hook: h.name, ProgramID: uint32(info.Program), LinkID: uint32(info.ID), Pin: pin}
		if cg := info.Cgroup(); cg != nil {
			pi.CgroupID = cg.CgroupId
			pi.Cgroup = cgroupPathByID(cg.CgroupId)
		}
		if prog, err := ebpf.NewProgramFromID(info.Program); err == nil {
			if pinfo, err := prog.Info(); err == nil {
				pi.Name, pi.Tag = pinfo.Name, pinfo.Tag
			}
			prog.Close()
		}
		out = append(out, pi)
	}
	return out, nil
}

// cgroupPathByID finds a cgroup2 directory by id (its inode number).
func cgroupPathByID(id uint64) string {
	if id == 0 {
		return ""
	}
	root, err := Cgroup2Root()
	if err != nil {
		return ""
	}
	found := ""
	_ = filepath.WalkDir(root, func(path string, d fs.DirEntry, err error) error {
		if err != nil || !d.IsDir() {
			return nil
		}
		if ino, err := cgroupID(path); err == nil && ino == id {
			found = path
			return fs.SkipAll
		}
		return nil
	})
	return found
}
