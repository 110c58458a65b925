package agent_test

import (
	"bytes"
	"errors"
	"fmt"
	"os/exec"
	"slices"
	"strings"
	"syscall"
	"testing"
	"time"

	v1 "k8s.io/api/core/v1"

	"github.com/tug-sh/tug/bpf/lb"
	"github.com/tug-sh/tug/bpf/lb/lbtest"
	"github.com/tug-sh/tug/runtime/agent"
)

// replies checks every result succeeded with peer as the peer address and
// returns the replies in order.
func replies(t *testing.T, rs []lbtest.Result, peer string) []string {
	t.Helper()
	var out []string
	for i, r := range rs {
		if r.Err != "" || r.Peer != peer {
			t.Fatalf("exchange %d: %+v, want a reply with peer %s", i, r, peer)
		}
		out = append(out, r.Reply)
	}
	return out
}

func counts(replies []string) map[string]int {
	m := map[string]int{}
	for _, r := range replies {
		m[r]++
	}
	return m
}

// evenly checks each name got n of the replies.
func evenly(t *testing.T, replies, names []string, n int) {
	t.Helper()
	c := counts(replies)
	for _, name := range names {
		if c[name] != n {
			t.Fatalf("replies per pod %v, want %d from each of %v", c, n, names)
		}
	}
	if err := rotation(replies, names); err != nil {
		t.Fatal(err)
	}
}

// Services end to end, with real pods run by the agent, the real
// controllers and the agent's Service proxy: an RC of httpd pods behind a
// NodePort Service with a TCP and a UDP port.
func TestServicesEndToEnd(t *testing.T) {
	c := newCluster(t)
	sn := newSvcNode(t, c)
	in := sn.inspector(t)
	web := sn.createWebApp(t, "web", 3, true)
	names, _ := sn.waitServing(t, in, web, 3)

	if cond := sn.proxyCondition(t, testCtx(t, time.Minute)); cond == nil || cond.Status != v1.ConditionTrue || !strings.Contains(cond.Message, "eBPF") {
		t.Errorf("ServiceProxyReady = %+v, want True", cond)
	}

	t.Run("from a pod, round robin", func(t *testing.T) {
		createPod(t, c, sn.pod("client", c.busybox("main", "exec sleep 3600")))
		waitPod(t, testCtx(t, time.Minute), c, "default", "client", "Running", running)
		out, err := kubectlExec(t, c, "client", "sh", "-c",
			fmt.Sprintf("for i in $(seq 30); do wget -q -O - http://%s/ || echo FAILED; done", web.vip))
		if err != nil {
			t.Fatal(err)
		}
		evenly(t, lines(out), names, 10)
	})

	t.Run("from the node, round robin, getpeername is the VIP", func(t *testing.T) {
		rs := sn.client.Results(t, "tcp", web.httpAddr(), "30")
		evenly(t, replies(t, rs, web.httpAddr()), names, 10)
	})

	t.Run("UDP connected", func(t *testing.T) {
		rs := replies(t, sn.client.Results(t, "udp", web.udpAddr(), "6", "connected"), web.udpAddr())
		// One connect() picks one backend for the socket.
		if c := counts(rs); len(c) != 1 || !slices.Contains(names, rs[0]) {
			t.Fatalf("replies on one connected socket %v, want all from one of %v", c, names)
		}
	})

	t.Run("UDP unconnected, replies from the VIP", func(t *testing.T) {
		// Every sendto() is balanced; recvfrom() reports the VIP as source.
		rs := replies(t, sn.client.Results(t, "udp", web.udpAddr(), "6", "unconnected"), web.udpAddr())
		evenly(t, rs, names, 2)
	})

	t.Run("NodePort from the node", func(t *testing.T) {
		addr := fmt.Sprintf("127.0.0.1:%d", web.nodePort)
		evenly(t, replies(t, sn.client.Results(t, "tcp", addr, "6"), addr), names, 2)
	})

	t.Run("tug bpf lb list agrees with kubectl get endpoints", func(t *testing.T) {
		var eps v1.Endpoints
		kubectlJSON(t, c, &eps, "get", "endpoints", "web")
		want := map[string][]string{}
		for _, ss := range eps.Subsets {
			for _, p := range ss.Ports {
				fes := []string{fmt.Sprintf("%s:%d/%s", web.vip, p.Port, p.Protocol)}
				for _, sp := range web.service.Spec.Ports {
					if sp.Name == p.Name {
						fes = append(fes, fmt.Sprintf("127.0.0.1:%d/%s", sp.NodePort, p.Protocol))
					}
				}
				for _, fe := range fes {
					for _, a := range ss.Addresses {
						want[fe] = append(want[fe], fmt.Sprintf("%s:%d/%s", a.IP, p.Port, p.Protocol))
					}
					slices.Sort(want[fe])
				}
			}
		}
		got := lbList(t, in)
		if fmt.Sprint(got) != fmt.Sprint(want) {
			t.Fatalf("tug bpf lb list:\n%v\nkubectl get endpoints:\n%v", got, want)
		}
		if len(want) != 4 {
			t.Fatalf("endpoints give %d frontends, want 4 (ClusterIP and NodePort, TCP and UDP): %v", len(want), want)
		}
	})

	t.Run("bpftool shows field names", func(t *testing.T) {
		bpftool, err := exec.LookPath("bpftool")
		if err != nil {
			t.Skipf("needs bpftool (Debian package bpftool): %v", err)
		}
		out, err := exec.Command(bpftool, "map", "dump", "pinned", sn.lb.PinDir+"/tug_lb4_front").CombinedOutput()
		if err != nil {
			t.Fatalf("bpftool: %v: %s", err, out)
		}
		for _, field := range []string{`"address"`, `"port"`, `"protocol"`, `"service_id"`, `"backend_count"`, `"affinity_timeout"`} {
			if !bytes.Contains(out, []byte(field)) {
				t.Fatalf("bpftool map dump lacks %s:\n%s", field, out)
			}
		}
	})

	t.Run("scale to 5", func(t *testing.T) {
		sn.scale(t, web, 5)
		names5, _ := sn.waitServing(t, in, web, 5)
		evenly(t, replies(t, sn.client.Results(t, "tcp", web.httpAddr(), "30"), web.httpAddr()), names5, 6)
	})

	t.Run("scale to 0 refuses at once", func(t *testing.T) {
		sn.scale(t, web, 0)
		sn.waitServing(t, in, web, 0)
		for _, r := range sn.client.Results(t, "tcp", web.httpAddr(), "3") {
			if r.Errno != syscall.ECONNREFUSED {
				t.Fatalf("connect to a Service without endpoints: %+v, want ECONNREFUSED", r)
			}
		}
		if r := sn.client.Results(t, "udp", web.udpAddr(), "1", "unconnected")[0]; r.Errno != syscall.ECONNREFUSED {
			t.Fatalf("sendto a UDP Service without endpoints: %+v, want ECONNREFUSED", r)
		}
		out, err := kubectlExec(t, c, "client", "sh", "-c", fmt.Sprintf("wget -q -O - http://%s/ 2>&1; echo exit=$?", web.vip))
		if err != nil || !strings.Contains(out, "Connection refused") || !strings.Contains(out, "exit=1") {
			t.Fatalf("wget from a pod: %q, %v; want Connection refused", out, err)
		}
	})

	t.Run("delete the Service: its entries are gone", func(t *testing.T) {
		sn.deleteService(t, web)
		ctx := testCtx(t, time.Minute)
		waitFor(t, ctx, "the Service's frontends gone from the maps", func() bool {
			for _, fe := range web.frontends() {
				if _, found, err := in.Service(fe); err != nil || found {
					return false
				}
			}
			return true
		})
		maps, err := in.Maps()
		if err != nil {
			t.Fatal(err)
		}
		for _, m := range maps {
			// Reverse translations of closed sockets age out of their LRU.
			if m.Name != "tug_lb4_reverse" && m.Entries != 0 {
				t.Errorf("map %s still has %d entries after the only Service was deleted", m.Name, m.Entries)
			}
		}
		// Nothing translates the VIP now: the unreachable route answers.
		if r := sn.client.Results(t, "tcp", web.httpAddr(), "1")[0]; r.Errno != syscall.EHOSTUNREACH {
			t.Fatalf("connect to a deleted Service: %+v, want EHOSTUNREACH from the service CIDR's route", r)
		}
	})
}

// lbList is `tug bpf lb list` (the same functions, read through the pins)
// as frontend → sorted backends.
func lbList(t *testing.T, in *lb.Inspector) map[string][]string {
	t.Helper()
	svcs, err := in.Services()
	if err != nil {
		t.Fatal(err)
	}
	var buf bytes.Buffer
	if err := lb.WriteServices(&buf, svcs); err != nil {
		t.Fatal(err)
	}
	// SERVICE ADDRESS  BACKEND ADDRESS (SELECTIONS), the frontend on its
	// first backend's line only.
	out := map[string][]string{}
	var fe string
	for i, l := range strings.Split(strings.TrimSpace(buf.String()), "\n") {
		f := strings.Fields(l)
		if i == 0 || len(f) == 0 {
			continue
		}
		if !strings.HasPrefix(l, " ") {
			fe, f = f[0], f[1:]
		}
		if len(f) > 0 && !strings.HasPrefix(f[0], "(") {
			out[fe] = append(out[fe], f[0])
		}
	}
	for fe := range out {
		slices.Sort(out[fe])
	}
	return out
}

// The agent restarts (a new Agent and proxy on the same data directory)
// while a client on the node connects to the ClusterIP in a loop: no
// connection fails, while the agent is down or after; the pinned links are
// updated in place (same link ids, new programs); the new agent then
// programs changes.
func TestServicesSurviveAgentRestart(t *testing.T) {
	c := newCluster(t)
	sn := newSvcNode(t, c)
	in := sn.inspector(t)
	web := sn.createWebApp(t, "web", 3, false)
	sn.waitServing(t, in, web, 3)
	progsBefore, err := in.Programs()
	if err != nil {
		t.Fatal(err)
	}
	before, _, err := in.Service(web.httpFrontend())
	if err != nil {
		t.Fatal(err)
	}

	l := sn.client.StartLoop(t, web.httpAddr())
	l.WaitPhase(t, 0, 200) // agent up
	sn.stop()
	l.NextPhase(t)
	l.WaitPhase(t, 1, 200) // agent down: the kernel goes on translating
	sn.cfg.ServiceProxy = sn.newProxy(t, sn.cfg)
	sn.start()
	sn.waitProxyReady(t)
	l.NextPhase(t)
	l.WaitPhase(t, 2, 200) // a new agent, after its first resync
	sn.scale(t, web, 4)
	names4, _ := sn.waitServing(t, in, web, 4)
	l.NextPhase(t)
	l.WaitPhase(t, 3, 200) // the new agent programmed the fourth pod
	s := l.Stop(t)
	t.Logf("connections per phase (up, down, restarted, scaled): %+v; replies %v", s.Phases, s.Replies)
	for i, p := range s.Phases {
		if p.Failed != 0 || p.OK == 0 {
			t.Errorf("phase %d: %d connections ok, %d failed (first error: %s)", i, p.OK, p.Failed, s.FirstErr)
		}
	}
	for _, name := range names4 {
		if s.Replies[name] == 0 {
			t.Errorf("no reply from %s: %v", name, s.Replies)
		}
	}

	progsAfter, err := in.Programs()
	if err != nil {
		t.Fatal(err)
	}
	for i, p := range progsAfter {
		b := progsBefore[i]
		if p.LinkID != b.LinkID || p.CgroupID != b.CgroupID || p.ProgramID == b.ProgramID {
			t.Errorf("hook %s: link %d prog %d before, link %d prog %d after: want the same link running a new program", p.Hook, b.LinkID, b.ProgramID, p.LinkID, p.ProgramID)
		}
	}
	after, _, err := in.Service(web.httpFrontend())
	if err != nil || after.ID != before.ID {
		t.Errorf("service id %d before the restart, %d after (%v): the maps must be adopted, not rebuilt", before.ID, after.ID, err)
	}
}

// An agent whose Service proxy cannot load (here --bpf-cgroup is not a
// cgroup2 directory) runs pods all the same and says why in the Node's
// ServiceProxyReady condition.
func TestServiceProxyMissingFeature(t *testing.T) {
	requireLB(t)
	c := newCluster(t)
	bpffs := lbtest.BPFFS(t)
	notCgroup := t.TempDir()
	sn := &svcNode{c: c}
	sn.node = newNode(t, c, func(cfg *agent.Config) {
		sn.lb = lb.Config{BPFFS: bpffs, Cgroup: notCgroup}
		cfg.ServiceProxy = sn.newProxy(t, *cfg)
	})
	ctx := testCtx(t, 2*time.Minute)
	createPod(t, c, sn.pod("web", c.busybox("main", "exec httpd -f -p 80 -h /www")))
	waitPod(t, ctx, c, "default", "web", "Running", running)
	var cond *v1.NodeCondition
	waitFor(t, ctx, "ServiceProxyReady=False naming cgroup2", func() bool {
		cond = sn.proxyCondition(t, ctx)
		return cond != nil && cond.Status == v1.ConditionFalse && strings.Contains(cond.Message, "not a cgroup2 directory")
	})
	if !strings.Contains(cond.Message, notCgroup) || !strings.Contains(cond.Message, "pods still run") || cond.Reason != "ServiceProxyNotReady" {
		t.Errorf("ServiceProxyReady condition %+v", cond)
	}
	node := getNode(t, ctx, c, sn.cfg.NodeName)
	if r := nodeCondition(node, v1.NodeReady); r == nil || r.Status != v1.ConditionTrue {
		t.Errorf("Ready = %+v: a node without the Service data path still runs pods", r)
	}
	if _, err := lb.OpenPinned(lb.Config{BPFFS: bpffs}); !errors.Is(err, lb.ErrNotLoaded) {
		t.Errorf("OpenPinned = %v, want ErrNotLoaded: nothing may be pinned", err)
	}
}

// The rotation check the Service tests rely on rejects what is not a
// round robin.
func TestRotationCheck(t *testing.T) {
	names := []string{"a", "b", "c"}
	for _, tc := range []struct {
		replies []string
		ok      bool
	}{
		{[]string{"b", "c", "a", "b", "c", "a"}, true},
		{[]string{"a", "b", "c", "a"}, true},
		{[]string{"a", "b"}, false},                     // fewer replies than backends
		{[]string{"a", "a", "b", "c", "a", "b"}, false}, // a backend twice in a round
		{[]string{"a", "b", "c", "b", "a", "c"}, false}, // the order changes
		{[]string{"a", "b", "d", "a", "b", "d"}, false}, // an unknown backend
	} {
		if err := rotation(tc.replies, names); (err == nil) != tc.ok {
			t.Errorf("rotation(%v) = %v, want ok=%v", tc.replies, err, tc.ok)
		}
	}
}
