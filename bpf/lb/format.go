package lb

import (
	"fmt"
	"io"
	"text/tabwriter"
)

// WriteServices prints frontends and their backends the way
// `cilium bpf lb list` does, with dotted addresses and ports in host order
// (bpftool shows the raw network-order integers).
func WriteServices(w io.Writer, services []ServiceInfo) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "SERVICE ADDRESS\tBACKEND ADDRESS (SELECTIONS)")
	for _, s := range services {
		note := ""
		if s.AffinityTimeout > 0 {
			note = fmt.Sprintf("  [sessionAffinity: ClientIP, %s]", s.AffinityTimeout)
		}
		first := s.Frontend.String()
		if len(s.Backends) == 0 {
			fmt.Fprintf(tw, "%s\t(no backends: connections refused)%s\n", first, note)
			continue
		}
		for _, b := range s.Backends {
			cell := fmt.Sprintf("<empty slot %d>", b.Slot)
			if b.Backend.valid() {
				cell = fmt.Sprintf("%s/%s (%d)", b.Backend, s.Frontend.Protocol, b.Selections)
			}
			fmt.Fprintf(tw, "%s\t%s%s\n", first, cell, note)
			first, note = "", ""
		}
	}
	return tw.Flush()
}

// WriteMaps prints the pinned maps.
func WriteMaps(w io.Writer, maps []MapInfo) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "NAME\tID\tTYPE\tKEY\tVALUE\tMAX ENTRIES\tENTRIES\tFLAGS\tBTF\tPIN")
	for _, m := range maps {
		btf := "no"
		if m.BTF {
			btf = "yes"
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%dB\t%dB\t%d\t%d\t%#x\t%s\t%s\n",
			m.Name, m.ID, m.Type, m.KeySize, m.ValueSize, m.MaxEntries, m.Entries, m.Flags, btf, m.Pin)
	}
	return tw.Flush()
}

// WritePrograms prints the hooks: program, link and where it is attached.
func WritePrograms(w io.Writer, progs []ProgramInfo) error {
	tw := tabwriter.NewWriter(w, 0, 8, 2, ' ', 0)
	fmt.Fprintln(tw, "HOOK\tPROG ID\tNAME\tTAG\tLINK ID\tATTACHED TO\tPIN")
	for _, p := range progs {
		where := "(detached: cgroup gone)"
		switch {
		case p.Cgroup != "":
			where = fmt.Sprintf("cgroup %s (id %d)", p.Cgroup, p.CgroupID)
		case p.CgroupID != 0:
			where = fmt.Sprintf("cgroup id %d", p.CgroupID)
		}
		fmt.Fprintf(tw, "%s\t%d\t%s\t%s\t%d\t%s\t%s\n", p.Hook, p.ProgramID, p.Name, p.Tag, p.LinkID, where, p.Pin)
	}
	return tw.Flush()
}
