package lb

import (
	"context"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"os"
	"os/exec"
	"path/filepath"
	"slices"
	"syscall"
	"testing"
	"time"

	"github.com/tug-sh/tug/bpf/lb/lbtest"
)

var vip = netip.MustParseAddr("10.96.0.10")

func addrOf(fe Frontend) string { return netip.AddrPortFrom(fe.Address, fe.Port).String() }

func mustUpsert(t *testing.T, m *Maps, svc Service) {
	t.Helper()
	if err := m.UpsertService(svc); err != nil {
		t.Fatalf("upsert %s: %v", svc.Frontend, err)
	}
}

func serviceInfo(t *testing.T, m *Maps, fe Frontend) (ServiceInfo, bool) {
	t.Helper()
	list, err := m.List()
	if err != nil {
		t.Fatal(err)
	}
	for _, s := range list {
		if s.Frontend == fe {
			return s, true
		}
	}
	return ServiceInfo{}, false
}

// checkRotation asserts that every connection succeeded with the frontend
// as its peer and that the replies cycle through n distinct backends.
func checkRotation(t *testing.T, rs []lbtest.Result, n int, fe Frontend) map[string]int {
	t.Helper()
	counts := map[string]int{}
	for i, r := range rs {
		if r.Err != "" {
			t.Fatalf("connection %d: %s", i, r.Err)
		}
		if r.Peer != addrOf(fe) {
			t.Fatalf("connection %d: peer %s, want the frontend %s", i, r.Peer, addrOf(fe))
		}
		if i >= n && r.Reply != rs[i-n].Reply {
			t.Fatalf("connection %d answered by %s, want %s (rotation over %d): %v", i, r.Reply, rs[i-n].Reply, n, replies(rs))
		}
		counts[r.Reply]++
	}
	if len(counts) != n {
		t.Fatalf("replies from %d backends, want %d: %v", len(counts), n, replies(rs))
	}
	return counts
}

func replies(rs []lbtest.Result) []string {
	var out []string
	for _, r := range rs {
		out = append(out, r.Reply+r.Err)
	}
	return out
}

func TestRoundRobinScaleAndDelete(t *testing.T) {
	env := newTestEnv(t)
	maps := env.dp.Maps()
	all := env.backends(t, 5, 8080, false)
	fe := Frontend{Address: vip, Port: 80, Protocol: TCP}
	mustUpsert(t, maps, Service{Frontend: fe, Backends: all[:3]})

	rs := env.client.Results(t, "tcp", addrOf(fe), "30")
	counts := checkRotation(t, rs, 3, fe)
	for _, name := range []string{"be1", "be2", "be3"} {
		if counts[name] != 10 {
			t.Fatalf("%s answered %d of 30 connections, want 10: %v", name, counts[name], counts)
		}
	}
	info, _ := serviceInfo(t, maps, fe)
	if info.RoundRobin != 30 {
		t.Errorf("round-robin counter %d, want 30", info.RoundRobin)
	}
	for _, b := range info.Backends {
		if b.Selections != 10 {
			t.Errorf("backend %s selected %d times, want 10", b.Backend, b.Selections)
		}
	}

	// Scale to 5: the three backends keep their slots, two are appended.
	mustUpsert(t, maps, Service{Frontend: fe, Backends: all})
	info, _ = serviceInfo(t, maps, fe)
	for i, b := range info.Backends {
		if b.Backend != all[i] {
			t.Fatalf("slot %d holds %s, want %s", i, b.Backend, all[i])
		}
	}
	rs = env.client.Results(t, "tcp", addrOf(fe), "25")
	counts = checkRotation(t, rs, 5, fe)
	for name, n := range counts {
		if n != 5 {
			t.Fatalf("%s answered %d of 25 connections, want 5: %v", name, n, counts)
		}
	}

	// Scale to 0: connect() is refused at once, as by kube-proxy's REJECT.
	mustUpsert(t, maps, Service{Frontend: fe})
	for i, r := range env.client.Results(t, "tcp", addrOf(fe), "3") {
		if r.Errno != syscall.ECONNREFUSED {
			t.Fatalf("connection %d to a service without backends: %+v, want ECONNREFUSED", i, r)
		}
		t.Logf("connect to a service without backends failed after %s: %s", r.Elapsed, r.Err)
	}
	info, _ = serviceInfo(t, maps, fe)
	snap, err := readSnapshot(maps.m)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Backends) != 0 || len(snap.slots[info.ID]) != 0 || len(snap.selections[info.ID]) != 0 {
		t.Fatalf("service scaled to 0 keeps entries: %+v, slots %v, selections %v", info, snap.slots[info.ID], snap.selections[info.ID])
	}

	// Delete: every entry kept for the service is gone.
	if err := maps.DeleteService(fe); err != nil {
		t.Fatal(err)
	}
	if _, ok := serviceInfo(t, maps, fe); ok {
		t.Fatal("deleted service still listed")
	}
	snap, err = readSnapshot(maps.m)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.frontends)+len(snap.slots)+len(snap.rr)+len(snap.selections)+len(snap.affinity) != 0 {
		t.Fatalf("entries left after delete: %+v", snap)
	}
	// Untranslated, the VIP hits the node's unreachable route.
	if r := env.client.Results(t, "tcp", addrOf(fe), "1")[0]; r.Errno != syscall.EHOSTUNREACH {
		t.Fatalf("connect to a deleted service: %+v, want EHOSTUNREACH from the unreachable route", r)
	}
}

// bpftoolEntry is one entry of `bpftool -j map dump`, as BTF formats it.
type bpftoolEntry struct {
	Formatted struct {
		Key   any `json:"key"`
		Value any `json:"value"`
	} `json:"formatted"`
}

func bpftoolDump(t *testing.T, pin string) []bpftoolEntry {
	t.Helper()
	out, err := exec.Command("bpftool", "-j", "map", "dump", "pinned", pin).Output()
	if err != nil {
		t.Fatalf("bpftool map dump pinned %s: %v", pin, err)
	}
	var entries []bpftoolEntry
	if err := json.Unmarshal(out, &entries); err != nil {
		t.Fatalf("bpftool output %s: %v", out, err)
	}
	return entries
}

func fieldNames(v any) []string {
	m, _ := v.(map[string]any)
	var names []string
	for k := range m {
		names = append(names, k)
	}
	slices.Sort(names)
	return names
}

func TestBpftoolShowsFieldNames(t *testing.T) {
	if _, err := exec.LookPath("bpftool"); err != nil {
		t.Skipf("needs bpftool (Debian package bpftool): %v", err)
	}
	env := newTestEnv(t)
	bes := env.backends(t, 2, 8080, false)
	fe := Frontend{Address: vip, Port: 80, Protocol: TCP}
	mustUpsert(t, env.dp.Maps(), Service{Frontend: fe, Backends: bes, AffinityTimeout: time.Hour})
	if r := env.client.Results(t, "tcp", addrOf(fe), "1")[0]; r.Err != "" {
		t.Fatal(r.Err)
	}
	for _, tc := range []struct {
		m          string
		key, value []string
	}{
		{lbMapTugLb4Front, []string{"address", "pad", "port", "protocol"}, []string{"affinity_timeout", "backend_count", "flags", "service_id"}},
		{lbMapTugLb4Back, []string{"service_id", "slot"}, []string{"address", "pad", "port"}},
		{lbMapTugLb4Select, []string{"address", "pad", "port", "service_id"}, nil},
		{lbMapTugLb4Reverse, []string{"address", "cookie", "pad", "port"}, []string{"address", "pad", "port", "service_id"}},
		{lbMapTugLbAffinity, []string{"netns_cookie", "pad", "service_id"}, []string{"address", "last_used_ns", "pad", "pad2", "port", "slot"}},
	} {
		entries := bpftoolDump(t, filepath.Join(env.cfg.PinDir, tc.m))
		if len(entries) == 0 {
			t.Fatalf("%s: no entries", tc.m)
		}
		if got := fieldNames(entries[0].Formatted.Key); !slices.Equal(got, tc.key) {
			t.Errorf("%s key fields %v, want %v", tc.m, got, tc.key)
		}
		if got := fieldNames(entries[0].Formatted.Value); !slices.Equal(got, tc.value) {
			t.Errorf("%s value fields %v, want %v", tc.m, got, tc.value)
		}
	}

	if err := env.dp.Maps().DeleteService(fe); err != nil {
		t.Fatal(err)
	}
	for _, m := range []string{lbMapTugLb4Front, lbMapTugLb4Back, lbMapTugLbRr, lbMapTugLb4Select, lbMapTugLbAffinity} {
		if entries := bpftoolDump(t, filepath.Join(env.cfg.PinDir, m)); len(entries) != 0 {
			t.Errorf("%s keeps %d entries after the service was deleted: %+v", m, len(entries), entries)
		}
	}
}

func TestUDP(t *testing.T) {
	env := newTestEnv(t)
	bes := env.backends(t, 3, 5353, true)
	fe := Frontend{Address: vip, Port: 53, Protocol: UDP}
	mustUpsert(t, env.dp.Maps(), Service{Frontend: fe, Backends: bes})

	// Unconnected: every datagram is balanced; replies come from the VIP.
	for i, r := range env.client.Results(t, "udp", addrOf(fe), "6", "unconnected") {
		if want := fmt.Sprintf("be%d", i%3+1); r.Err != "" || r.Reply != want || r.Source != addrOf(fe) {
			t.Fatalf("datagram %d: %+v, want a reply from %s appearing to come from %s", i, r, want, addrOf(fe))
		}
	}
	// Connected: one backend for the socket, chosen at connect() (the next
	// in rotation); getpeername and every reply show the VIP.
	for i, r := range env.client.Results(t, "udp", addrOf(fe), "4", "connected") {
		if r.Err != "" || r.Reply != "be1" || r.Source != addrOf(fe) || r.Peer != addrOf(fe) {
			t.Fatalf("datagram %d on a connected socket: %+v, want be1 with peer and source %s", i, r, addrOf(fe))
		}
	}

	mustUpsert(t, env.dp.Maps(), Service{Frontend: fe})
	for _, mode := range []string{"unconnected", "connected"} {
		if r := env.client.Results(t, "udp", addrOf(fe), "1", mode)[0]; r.Errno != syscall.ECONNREFUSED {
			t.Fatalf("%s UDP to a service without backends: %+v, want ECONNREFUSED", mode, r)
		}
	}
}

func TestSessionAffinity(t *testing.T) {
	env := newTestEnv(t)
	bes := env.backends(t, 3, 8080, false)
	fe := Frontend{Address: vip, Port: 80, Protocol: TCP}
	maps := env.dp.Maps()
	mustUpsert(t, maps, Service{Frontend: fe, Backends: bes, AffinityTimeout: time.Second})

	for i, r := range env.client.Results(t, "tcp", addrOf(fe), "5") {
		if r.Err != "" || r.Reply != "be1" || r.Peer != addrOf(fe) {
			t.Fatalf("connection %d with affinity: %+v, want be1 every time", i, r)
		}
	}
	// After the timeout the client is balanced afresh: the counter moved
	// once, so the next slot answers, and sticks.
	time.Sleep(2100 * time.Millisecond)
	for i, r := range env.client.Results(t, "tcp", addrOf(fe), "3") {
		if r.Err != "" || r.Reply != "be2" {
			t.Fatalf("connection %d after the affinity timeout: %+v, want be2", i, r)
		}
	}
	snap, err := readSnapshot(maps.m)
	if err != nil {
		t.Fatal(err)
	}
	if len(snap.affinity) != 1 {
		t.Fatalf("affinity entries %v, want one (one client namespace)", snap.affinity)
	}

	// Affinity off: its entries go, round-robin resumes (counter at 2).
	mustUpsert(t, maps, Service{Frontend: fe, Backends: bes})
	rs := env.client.Results(t, "tcp", addrOf(fe), "3")
	if got := replies(rs); !slices.Equal(got, []string{"be3", "be1", "be2"}) {
		t.Fatalf("replies without affinity %v, want [be3 be1 be2]", got)
	}
	if snap, _ := readSnapshot(maps.m); len(snap.affinity) != 0 {
		t.Fatalf("affinity entries left after turning affinity off: %v", snap.affinity)
	}
}

func waitRoundRobin(t *testing.T, in *Inspector, fe Frontend, atLeast uint64) uint64 {
	t.Helper()
	deadline := time.Now().Add(30 * time.Second)
	for {
		list, err := in.Services()
		if err != nil {
			t.Fatal(err)
		}
		for _, s := range list {
			if s.Frontend == fe && s.RoundRobin >= atLeast {
				return s.RoundRobin
			}
		}
		if time.Now().After(deadline) {
			t.Fatalf("the looping client did not reach %d connections", atLeast)
		}
		time.Sleep(5 * time.Millisecond)
	}
}

// An agent that exits leaves the programs attached; the next one adopts the
// maps with their entries and swaps each link's program in place, while a
// client keeps connecting without a single failure.
func TestRestartKeepsTranslating(t *testing.T) {
	env := newTestEnv(t)
	bes := env.backends(t, 3, 8080, false)
	fe := Frontend{Address: vip, Port: 80, Protocol: TCP}
	mustUpsert(t, env.dp.Maps(), Service{Frontend: fe, Backends: bes})
	before, _ := serviceInfo(t, env.dp.Maps(), fe)

	in, err := OpenPinned(env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	progs1, err := in.Programs()
	if err != nil {
		t.Fatal(err)
	}
	wantCgroup, _ := cgroupID(env.cfg.Cgroup)

	loop := env.client.StartLoop(t, addrOf(fe))
	rr := waitRoundRobin(t, in, fe, 20)

	// The agent exits: this process holds no handle of the datapath.
	if err := env.dp.Close(); err != nil {
		t.Fatal(err)
	}
	progs2, err := in.Programs()
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range progs2 {
		if p.LinkID != progs1[i].LinkID || p.ProgramID != progs1[i].ProgramID || p.CgroupID != wantCgroup {
			t.Fatalf("%s after the agent exited: %+v, want it still attached as %+v", p.Hook, p, progs1[i])
		}
	}
	rr = waitRoundRobin(t, in, fe, rr+20)

	dp2, err := Load(context.Background(), env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.dp = dp2
	t.Cleanup(func() { dp2.Close() })
	progs3, err := in.Programs()
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range progs3 {
		if p.LinkID != progs1[i].LinkID || p.CgroupID != wantCgroup {
			t.Fatalf("%s after reload: link %d on cgroup %d, want link %d updated in place", p.Hook, p.LinkID, p.CgroupID, progs1[i].LinkID)
		}
		if p.ProgramID == progs1[i].ProgramID {
			t.Fatalf("%s after reload still runs program %d, want the new program", p.Hook, p.ProgramID)
		}
	}
	after, ok := serviceInfo(t, dp2.Maps(), fe)
	if !ok || after.ID != before.ID || len(after.Backends) != 3 {
		t.Fatalf("adopted service %+v, want id %d with 3 backends", after, before.ID)
	}
	for i, b := range after.Backends {
		if b.Backend != before.Backends[i].Backend {
			t.Fatalf("slot %d holds %s after reload, want %s", i, b.Backend, before.Backends[i].Backend)
		}
	}
	waitRoundRobin(t, in, fe, rr+20)

	sum := loop.Stop(t)
	t.Logf("looping client: %+v", sum)
	if sum.Failed != 0 {
		t.Fatalf("%d of %d connections failed across the restart, first: %s", sum.Failed, sum.OK+sum.Failed, sum.FirstErr)
	}
	for name := range sum.Replies {
		if !slices.Contains([]string{"be1", "be2", "be3"}, name) {
			t.Fatalf("unexpected reply %q", name)
		}
	}
}

// What a crash (or a bug, or a hand edit) can leave in the maps is repaired
// when the next agent adopts them.
func TestAdoptRepairsLeftovers(t *testing.T) {
	env := newTestEnv(t)
	bes := env.backends(t, 3, 8080, false)
	fa := Frontend{Address: vip, Port: 80, Protocol: TCP}
	fb := Frontend{Address: netip.MustParseAddr("10.96.0.11"), Port: 80, Protocol: TCP}
	mustUpsert(t, env.dp.Maps(), Service{Frontend: fa, Backends: bes[:2]})
	a, _ := serviceInfo(t, env.dp.Maps(), fa)

	m := env.dp.maps.m
	put := func(mp interface{ Put(k, v any) error }, k, v any) {
		t.Helper()
		if err := mp.Put(k, v); err != nil {
			t.Fatal(err)
		}
	}
	// A frontend sharing fa's id, a slot above fa's count, an orphaned service.
	put(m.front, encodeFrontend(fb), lbFrontend{ServiceId: a.ID, BackendCount: 2})
	put(m.back, lbBackendKey{ServiceId: a.ID, Slot: 2}, encodeBackend(bes[2]))
	put(m.back, lbBackendKey{ServiceId: 999, Slot: 0}, encodeBackend(bes[2]))
	put(m.rr, uint32(999), uint64(7))
	put(m.selections, selectionKey(999, bes[2]), uint64(7))
	put(m.affinity, lbAffinityKey{NetnsCookie: 1, ServiceId: 999}, lbAffinity{})
	if err := env.dp.Close(); err != nil {
		t.Fatal(err)
	}

	dp2, err := Load(context.Background(), env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	env.dp = dp2
	t.Cleanup(func() { dp2.Close() })
	snap, err := readSnapshot(dp2.maps.m)
	if err != nil {
		t.Fatal(err)
	}
	ida, idb := snap.frontends[fa].id, snap.frontends[fb].id
	if ida != a.ID || idb == ida {
		t.Fatalf("ids after repair: %s=%d %s=%d, want %d and a fresh one", fa, ida, fb, idb, a.ID)
	}
	for _, id := range []uint32{ida, idb} {
		if got := snap.visibleSlots(snap.frontends[fa]); !slices.Equal(got, bes[:2]) || len(snap.slots[id]) != 2 {
			t.Fatalf("slots of service %d after repair: %v", id, snap.slots[id])
		}
	}
	if _, ok := snap.slots[999]; ok || snap.rr[999] != 0 || snap.selections[999] != nil || len(snap.affinity) != 0 {
		t.Fatalf("orphaned service 999 not cleaned: %+v", snap)
	}
	if !planRepair(snap).empty() {
		t.Fatalf("still needs repair: %+v", planRepair(snap))
	}
	// Both frontends work, each with its own rotation.
	checkRotation(t, env.client.Results(t, "tcp", addrOf(fb), "4"), 2, fb)
	checkRotation(t, env.client.Results(t, "tcp", addrOf(fa), "4"), 2, fa)
}

func TestResetDetachesAndUnpins(t *testing.T) {
	env := newTestEnv(t)
	bes := env.backends(t, 1, 8080, false)
	fe := Frontend{Address: vip, Port: 80, Protocol: TCP}
	mustUpsert(t, env.dp.Maps(), Service{Frontend: fe, Backends: bes})
	if r := env.client.Results(t, "tcp", addrOf(fe), "1")[0]; r.Reply != "be1" {
		t.Fatalf("before reset: %+v", r)
	}
	// The datapath is still open in this process: Reset detaches anyway.
	if err := Reset(env.cfg); err != nil {
		t.Fatal(err)
	}
	if _, err := os.Stat(env.cfg.PinDir); !os.IsNotExist(err) {
		t.Fatalf("pin directory after reset: %v", err)
	}
	if r := env.client.Results(t, "tcp", addrOf(fe), "1")[0]; r.Errno != syscall.EHOSTUNREACH {
		t.Fatalf("after reset: %+v, want the VIP untranslated (EHOSTUNREACH)", r)
	}
	if err := Reset(env.cfg); err != nil {
		t.Fatalf("second reset: %v", err)
	}
}

func TestInspector(t *testing.T) {
	env := newTestEnv(t)
	bes := env.backends(t, 2, 8080, false)
	fe := Frontend{Address: vip, Port: 80, Protocol: TCP}
	mustUpsert(t, env.dp.Maps(), Service{Frontend: fe, Backends: bes})
	in, err := OpenPinned(env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	progs, err := in.Programs()
	if err != nil {
		t.Fatal(err)
	}
	wantNames := map[string]string{
		"connect4": "tug_connect4", "sendmsg4": "tug_sendmsg4", "recvmsg4": "tug_recvmsg4", "getpeername4": "tug_getpeer4",
		"connect6": "tug_connect6", "recvmsg6": "tug_recvmsg6", "getpeername6": "tug_getpeer6",
	}
	if len(progs) != len(wantNames) {
		t.Fatalf("%d programs, want %d", len(progs), len(wantNames))
	}
	for _, p := range progs {
		if p.Name != wantNames[p.Hook] || p.ProgramID == 0 || p.LinkID == 0 || p.Cgroup != env.cfg.Cgroup || p.Pin != filepath.Join(env.cfg.PinDir, "links", p.Hook) {
			t.Errorf("program %+v", p)
		}
	}
	maps, err := in.Maps()
	if err != nil {
		t.Fatal(err)
	}
	entries := map[string]int{}
	for _, m := range maps {
		if !m.BTF || m.ID == 0 {
			t.Errorf("map %+v: want an id and BTF", m)
		}
		entries[m.Name] = m.Entries
	}
	want := map[string]int{lbMapTugLb4Front: 1, lbMapTugLb4Back: 2, lbMapTugLbRr: 1, lbMapTugLb4Select: 2, lbMapTugLb4Reverse: 0, lbMapTugLbAffinity: 0}
	if fmt.Sprint(entries) != fmt.Sprint(want) {
		t.Fatalf("entries %v, want %v", entries, want)
	}
}

// The feature checks name what is missing.
func TestFeatureErrors(t *testing.T) {
	requireKernel(t)
	bpffs := lbtest.BPFFS(t)
	root, err := Cgroup2Root()
	if err != nil {
		t.Skipf("needs cgroup2: %v", err)
	}
	notBPF := t.TempDir()
	for _, tc := range []struct {
		name string
		cfg  Config
		want error
	}{
		{"pin dir not on bpffs", Config{BPFFS: notBPF}, ErrNoBPFFS},
		{"cgroup not cgroup2", Config{BPFFS: bpffs, PinDir: bpffs + "/x", Cgroup: t.TempDir()}, ErrNoCgroup2},
		{"cgroup v1 directory", Config{BPFFS: bpffs, PinDir: bpffs + "/x", Cgroup: "/sys/fs/cgroup/cpu"}, ErrNoCgroup2},
		{"missing cgroup", Config{BPFFS: bpffs, PinDir: bpffs + "/x", Cgroup: root + "/" + lbtest.UniqueName("tug-absent-")}, ErrNoCgroup2},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if tc.name == "cgroup v1 directory" && isCgroup2(tc.cfg.Cgroup) {
				t.Skip("needs a cgroup v1 hierarchy at /sys/fs/cgroup/cpu (hybrid host)")
			}
			_, err := Load(context.Background(), tc.cfg)
			if !errors.Is(err, tc.want) {
				t.Fatalf("Load = %v, want %v", err, tc.want)
			}
			t.Log(err)
		})
	}
	if entries, _ := os.ReadDir(notBPF); len(entries) != 0 {
		t.Fatalf("Load created %v in a directory that is not a bpffs", entries)
	}
	if _, err := OpenPinned(Config{BPFFS: notBPF}); !errors.Is(err, ErrNoBPFFS) {
		t.Fatalf("OpenPinned on a plain directory = %v, want ErrNoBPFFS", err)
	}
	if _, err := OpenPinned(Config{BPFFS: bpffs}); !errors.Is(err, ErrNotLoaded) {
		t.Fatalf("OpenPinned with nothing pinned = %v, want ErrNotLoaded", err)
	}
}

// Like Cilium, the agent mounts a BPF filesystem where none is.
func TestLoadMountsBPFFS(t *testing.T) {
	requireKernel(t)
	root, err := Cgroup2Root()
	if err != nil {
		t.Skipf("needs cgroup2: %v", err)
	}
	mnt := filepath.Join(t.TempDir(), "bpf")
	cfg := Config{BPFFS: mnt, MountBPFFS: true, Cgroup: lbtest.Cgroup(t, root)}
	t.Cleanup(func() {
		if isBPFFS(mnt) {
			if err := syscall.Unmount(mnt, syscall.MNT_DETACH); err != nil {
				t.Errorf("unmount %s: %v", mnt, err)
			}
		}
	})
	t.Cleanup(func() {
		if err := Reset(cfg); err != nil {
			t.Errorf("reset: %v", err)
		}
	})
	dp, err := Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer dp.Close()
	if !isBPFFS(mnt) {
		t.Fatalf("%s is not a bpffs after Load", mnt)
	}
	if _, err := os.Stat(filepath.Join(mnt, "tug", lbMapTugLb4Front)); err != nil {
		t.Fatalf("map not pinned under the default pin dir: %v", err)
	}
}

// Loading with another cgroup moves the programs: the new links are
// attached before the old ones are detached, under the same pins.
func TestLoadMovesToAnotherCgroup(t *testing.T) {
	env := newTestEnv(t)
	bes := env.backends(t, 1, 8080, false)
	fe := Frontend{Address: vip, Port: 80, Protocol: TCP}
	mustUpsert(t, env.dp.Maps(), Service{Frontend: fe, Backends: bes})
	root, _ := Cgroup2Root()
	other := lbtest.Cgroup(t, root)
	otherClient := lbtest.Client{Cgroup: other, Netns: env.netns}
	if r := otherClient.Results(t, "tcp", addrOf(fe), "1")[0]; r.Errno != syscall.EHOSTUNREACH {
		t.Fatalf("client outside the attached cgroup: %+v, want EHOSTUNREACH", r)
	}

	cfg := env.cfg
	cfg.Cgroup = other
	dp2, err := Load(context.Background(), cfg)
	if err != nil {
		t.Fatal(err)
	}
	t.Cleanup(func() { dp2.Close() })
	if r := otherClient.Results(t, "tcp", addrOf(fe), "1")[0]; r.Reply != "be1" {
		t.Fatalf("client in the new cgroup: %+v, want be1", r)
	}
	if r := env.client.Results(t, "tcp", addrOf(fe), "1")[0]; r.Errno != syscall.EHOSTUNREACH {
		t.Fatalf("client in the old cgroup: %+v, want EHOSTUNREACH (programs moved away)", r)
	}
	in, err := OpenPinned(cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	progs, err := in.Programs()
	if err != nil {
		t.Fatal(err)
	}
	for _, p := range progs {
		if p.Cgroup != other {
			t.Fatalf("%s attached to %q, want %s", p.Hook, p.Cgroup, other)
		}
	}
	entries, _ := os.ReadDir(filepath.Join(cfg.PinDir, "links"))
	if len(entries) != len(hooks()) {
		t.Fatalf("link pins %v, want one per hook", entries)
	}
}

// IPv6 sockets reaching an IPv4 Service through its IPv4-mapped address, as
// dual-stack clients (Java) do, are balanced too, and see the VIP.
func TestIPv4MappedClients(t *testing.T) {
	env := newTestEnv(t)
	tcp := env.backends(t, 3, 8080, false)
	udp := env.backends(t, 3, 5353, true)
	fe := Frontend{Address: vip, Port: 80, Protocol: TCP}
	feUDP := Frontend{Address: vip, Port: 53, Protocol: UDP}
	mustUpsert(t, env.dp.Maps(), Service{Frontend: fe, Backends: tcp})
	mustUpsert(t, env.dp.Maps(), Service{Frontend: feUDP, Backends: udp})

	mappedPeer := "[::ffff:10.96.0.10]:80"
	for i, r := range env.client.Results(t, "tcp6mapped", addrOf(fe), "6") {
		if want := fmt.Sprintf("be%d", i%3+1); r.Err != "" || r.Reply != want || r.Peer != mappedPeer {
			t.Fatalf("connection %d from an IPv6 socket: %+v, want %s with peer %s", i, r, want, mappedPeer)
		}
	}
	for i, r := range env.client.Results(t, "udp6mapped", addrOf(feUDP), "3") {
		if want := fmt.Sprintf("be%d", i%3+1); r.Err != "" || r.Reply != want || r.Source != "[::ffff:10.96.0.10]:53" {
			t.Fatalf("datagram %d from an IPv6 socket: %+v, want %s from [::ffff:10.96.0.10]:53", i, r, want)
		}
	}
	mustUpsert(t, env.dp.Maps(), Service{Frontend: fe})
	if r := env.client.Results(t, "tcp6mapped", addrOf(fe), "1")[0]; r.Errno != syscall.ECONNREFUSED {
		t.Fatalf("IPv6 socket to a service without backends: %+v, want ECONNREFUSED", r)
	}
}

// While backends are added, removed and replaced over and over, a client
// connecting in a loop never meets an empty or removed slot: the update
// order keeps every slot below the count valid.
func TestUpdatesNeverExposeEmptySlots(t *testing.T) {
	env := newTestEnv(t)
	all := env.backends(t, 6, 8080, false)
	fe := Frontend{Address: vip, Port: 80, Protocol: TCP}
	layouts := [][]Backend{
		{all[0]}, {all[0], all[1], all[2]}, {all[2]}, {all[3], all[4], all[5], all[0]},
		{all[5], all[1]}, {all[1], all[2], all[3], all[4], all[5]}, {all[4]}, all,
	}
	mustUpsert(t, env.dp.Maps(), Service{Frontend: fe, Backends: layouts[0]})
	in, err := OpenPinned(env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	loop := env.client.StartLoop(t, addrOf(fe))
	rr := waitRoundRobin(t, in, fe, 10)
	for i := range 400 {
		mustUpsert(t, env.dp.Maps(), Service{Frontend: fe, Backends: layouts[i%len(layouts)]})
		if i%50 == 49 { // let the client connect between bursts of updates
			rr = waitRoundRobin(t, in, fe, rr+5)
		}
	}
	sum := loop.Stop(t)
	t.Logf("looping client during 400 updates: %+v", sum)
	if sum.Failed != 0 {
		t.Fatalf("%d of %d connections failed during updates, first: %s", sum.Failed, sum.OK+sum.Failed, sum.FirstErr)
	}
	info, _ := serviceInfo(t, env.dp.Maps(), fe)
	snap, err := readSnapshot(env.dp.maps.m)
	if err != nil {
		t.Fatal(err)
	}
	if len(info.Backends) != len(all) || len(snap.slots[info.ID]) != len(all) || len(snap.selections[info.ID]) != len(all) {
		t.Fatalf("after the updates: %d backends, %d slots, %d counters; want %d each", len(info.Backends), len(snap.slots[info.ID]), len(snap.selections[info.ID]), len(all))
	}
}
