package lb

import (
	"context"
	"errors"
	"fmt"
	"os"
	"path/filepath"

	"github.com/cilium/ebpf"
	"github.com/cilium/ebpf/link"
)

// hook is one program and the cgroup hook it runs at.
type hook struct {
	name   string // pin name in Config.linkDir, and what `tug bpf progs` shows
	attach ebpf.AttachType
	prog   func(*lbPrograms) *ebpf.Program
}

func hooks() []hook {
	return []hook{
		{"connect4", ebpf.AttachCGroupInet4Connect, func(p *lbPrograms) *ebpf.Program { return p.TugConnect4 }},
		{"sendmsg4", ebpf.AttachCGroupUDP4Sendmsg, func(p *lbPrograms) *ebpf.Program { return p.TugSendmsg4 }},
		{"recvmsg4", ebpf.AttachCGroupUDP4Recvmsg, func(p *lbPrograms) *ebpf.Program { return p.TugRecvmsg4 }},
		{"getpeername4", ebpf.AttachCgroupInet4GetPeername, func(p *lbPrograms) *ebpf.Program { return p.TugGetpeer4 }},
		// IPv6 sockets to IPv4-mapped addresses.
		{"connect6", ebpf.AttachCGroupInet6Connect, func(p *lbPrograms) *ebpf.Program { return p.TugConnect6 }},
		{"recvmsg6", ebpf.AttachCGroupUDP6Recvmsg, func(p *lbPrograms) *ebpf.Program { return p.TugRecvmsg6 }},
		{"getpeername6", ebpf.AttachCgroupInet6GetPeername, func(p *lbPrograms) *ebpf.Program { return p.TugGetpeer6 }},
	}
}

// Datapath is the loaded load balancer: programs attached to a cgroup
// through pinned links, and its pinned maps. Everything stays in the kernel
// when the Datapath is closed or the process exits; Reset removes it.
type Datapath struct {
	cfg    Config
	cgroup string
	objs   lbObjects
	links  []link.Link
	maps   *Maps
	closed bool
}

// Load loads the programs, adopts the pinned maps (creating and pinning
// them the first time) and attaches the programs to the cgroup through
// pinned links. An agent that restarts calls Load again: the maps and their
// entries are reused as they are (after a repair of what a crash can leave),
// and each pinned link is switched to the new program in one atomic update,
// never detached, so connections are translated throughout.
func Load(ctx context.Context, cfg Config) (*Datapath, error) {
	cfg, err := cfg.complete()
	if err != nil {
		return nil, err
	}
	if err := CheckKernel(); err != nil {
		return nil, err
	}
	if err := ensureBPFFS(cfg.BPFFS, cfg.MountBPFFS); err != nil {
		return nil, err
	}
	cgroup, err := attachCgroup(cfg)
	if err != nil {
		return nil, err
	}
	if err := os.MkdirAll(cfg.linkDir(), 0o700); err != nil {
		return nil, fmt.Errorf("create pin directory: %w", err)
	}
	if err := ctx.Err(); err != nil {
		return nil, err
	}

	d := &Datapath{cfg: cfg, cgroup: cgroup}
	spec, err := loadLb()
	if err != nil {
		return nil, err
	}
	err = spec.LoadAndAssign(&d.objs, &ebpf.CollectionOptions{Maps: ebpf.MapOptions{PinPath: cfg.PinDir}})
	if errors.Is(err, ebpf.ErrMapIncompatible) {
		return nil, wrapError(ErrIncompatibleMaps, err, "maps pinned in %s have another layout than this tug's (%v): 'tug reset' removes them; Services are unreachable until the agent has programmed them again", cfg.PinDir, err)
	}
	if err != nil {
		return nil, fmt.Errorf("load load-balancer programs and maps: %w", err)
	}
	if err := d.attach(ctx); err != nil {
		d.Close()
		return nil, err
	}
	d.maps, err = newMaps(mapSetOf(&d.objs.lbMaps), cfg.Logger)
	if err != nil {
		d.Close()
		return nil, fmt.Errorf("adopt load-balancer maps: %w", err)
	}
	return d, nil
}

func (d *Datapath) attach(ctx context.Context) error {
	wantID, err := cgroupID(d.cgroup)
	if err != nil {
		return fmt.Errorf("cgroup %s: %w", d.cgroup, err)
	}
	for _, h := range hooks() {
		if err := ctx.Err(); err != nil {
			return err
		}
		l, err := ensureLink(d.cfg, h, h.prog(&d.objs.lbPrograms), d.cgroup, wantID)
		if err != nil {
			return fmt.Errorf("attach %s to %s: %w", h.name, d.cgroup, err)
		}
		d.links = append(d.links, l)
	}
	return nil
}

// ensureLink makes the pinned link of one hook run prog on the cgroup: it
// updates a pinned link in place, or attaches and pins a new one. A pinned
// link attached elsewhere (another --cgroup, or a cgroup that is gone) is
// replaced after the new one is attached, so no moment is without a program.
func ensureLink(cfg Config, h hook, prog *ebpf.Program, cgroup string, wantID uint64) (link.Link, error) {
	pin := filepath.Join(cfg.linkDir(), h.name)
	old, err := link.LoadPinnedLink(pin, nil)
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		return nil, fmt.Errorf("open pinned link %s: %w", pin, err)
	}
	if old != nil {
		info, err := old.Info()
		if err != nil {
			old.Close()
			return nil, fmt.Errorf("pinned link %s: %w", pin, err)
		}
		if cg := info.Cgroup(); cg != nil && cg.CgroupId == wantID && ebpf.AttachType(cg.AttachType) == h.attach {
			if err := old.Update(prog); err != nil {
				old.Close()
				return nil, fmt.Errorf("replace the program of pinned link %s: %w", pin, err)
			}
			cfg.Logger.Info("updated pinned link in place", "hook", h.name, "link", info.ID, "cgroup", cgroup)
			return old, nil
		}
	}

	l, err := link.AttachCgroup(link.CgroupOptions{Path: cgroup, Attach: h.attach, Program: prog})
	if err != nil {
		if old != nil {
			old.Close()
		}
		return nil, err
	}
	// Pin beside the old pin, then rename over it: the pin path always
	// names an attached link.
	tmp := pin + "_next" // bpffs reserves names with dots
	_ = os.Remove(tmp)
	if err := l.Pin(tmp); err != nil {
		l.Close()
		if old != nil {
			old.Close()
		}
		return nil, fmt.Errorf("pin link: %w", err)
	}
	if err := os.Rename(tmp, pin); err != nil {
		l.Unpin()
		l.Close()
		if old != nil {
			old.Close()
		}
		return nil, fmt.Errorf("pin link: %w", err)
	}
	if old != nil {
		if err := old.Detach(); err != nil && !errors.Is(err, link.ErrNotSupported) {
			cfg.Logger.Warn("detach replaced link", "hook", h.name, "err", err)
		}
		old.Close()
		cfg.Logger.Info("replaced pinned link attached elsewhere", "hook", h.name, "cgroup", cgroup)
	} else {
		cfg.Logger.Info("attached and pinned link", "hook", h.name, "cgroup", cgroup)
	}
	return l, nil
}

// Maps is the typed map API over the adopted maps.
func (d *Datapath) Maps() *Maps { return d.maps }

// Cgroup is the cgroup2 directory the programs are attached to.
func (d *Datapath) Cgroup() string { return d.cgroup }

// Config is the configuration with its defaults filled in.
func (d *Datapath) Config() Config { return d.cfg }

// Close releases this process's handles. Programs stay attached and maps
// stay pinned (that is what lets the agent restart without an outage).
func (d *Datapath) Close() error {
	if d.closed {
		return nil
	}
	d.closed = true
	var errs []error
	for _, l := range d.links {
		errs = append(errs, l.Close())
	}
	d.links = nil
	errs = append(errs, d.objs.Close())
	return errors.Join(errs...)
}

// Reset detaches the programs and removes every pin of the load balancer
// (the kernel frees the maps once nothing uses them). Services stop being
// translated at once. Only `tug reset` should call it; nothing pinned is
// not an error.
func Reset(cfg Config) error {
	cfg, err := cfg.complete()
	if err != nil {
		return err
	}
	if !isBPFFS(cfg.BPFFS) {
		return nil
	}
	var errs []error
	entries, err := os.ReadDir(cfg.linkDir())
	if err != nil && !errors.Is(err, os.ErrNotExist) {
		errs = append(errs, err)
	}
	for _, e := range entries {
		pin := filepath.Join(cfg.linkDir(), e.Name())
		l, err := link.LoadPinnedLink(pin, nil)
		if err != nil {
			errs = append(errs, fmt.Errorf("open pinned link %s: %w", pin, err))
			continue
		}
		// Detach even if another process still holds the link open.
		if err := l.Detach(); err != nil && !errors.Is(err, link.ErrNotSupported) {
			errs = append(errs, fmt.Errorf("detach %s: %w", pin, err))
		}
		if err := l.Unpin(); err != nil {
			errs = append(errs, fmt.Errorf("unpin %s: %w", pin, err))
		}
		l.Close()
	}
	for _, name := range mapNames() {
		if err := os.Remove(filepath.Join(cfg.PinDir, name)); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("unpin map %s: %w", name, err))
		}
	}
	for _, dir := range []string{cfg.linkDir(), cfg.PinDir} {
		if err := os.Remove(dir); err != nil && !errors.Is(err, os.ErrNotExist) {
			errs = append(errs, fmt.Errorf("remove %s: %w", dir, err))
		}
	}
	return errors.Join(errs...)
}
