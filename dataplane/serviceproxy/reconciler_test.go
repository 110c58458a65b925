package serviceproxy

import (
	"context"
	"errors"
	"fmt"
	"net/netip"
	"reflect"
	"slices"
	"sort"
	"testing"

	"github.com/tug-sh/tug/bpf/lb"
	corev1 "k8s.io/api/core/v1"
)

// fakeMaps is LBMaps in memory, recording every call.
type fakeMaps struct {
	state   map[lb.Frontend]lb.Service
	ops     []string
	failFor map[lb.Frontend]error // next write of this frontend fails once
}

func newFakeMaps() *fakeMaps {
	return &fakeMaps{state: map[lb.Frontend]lb.Service{}, failFor: map[lb.Frontend]error{}}
}

func (f *fakeMaps) Services() ([]lb.Service, error) {
	var out []lb.Service
	for _, s := range f.state {
		out = append(out, s)
	}
	sort.Slice(out, func(i, j int) bool { return out[i].Frontend.Compare(out[j].Frontend) < 0 })
	return out, nil
}

func (f *fakeMaps) UpsertService(s lb.Service) error {
	if err := f.failFor[s.Frontend]; err != nil {
		delete(f.failFor, s.Frontend)
		return err
	}
	f.ops = append(f.ops, fmt.Sprintf("upsert %s %v", s.Frontend, s.Backends))
	s.Backends = slices.Clone(s.Backends)
	f.state[s.Frontend] = s
	return nil
}

func (f *fakeMaps) DeleteService(fe lb.Frontend) error {
	if err := f.failFor[fe]; err != nil {
		delete(f.failFor, fe)
		return err
	}
	f.ops = append(f.ops, fmt.Sprintf("delete %s", fe))
	delete(f.state, fe)
	return nil
}

// takeOps returns and forgets the calls recorded so far.
func (f *fakeMaps) takeOps() []string {
	ops := f.ops
	f.ops = nil
	return ops
}

func newTestReconciler(t *testing.T, maps LBMaps, nodeAddrs ...netip.Addr) *Reconciler {
	t.Helper()
	r, err := New(Config{Maps: maps, NodeName: "node-1", NodeAddresses: nodeAddrs})
	if err != nil {
		t.Fatal(err)
	}
	return r
}

func must(t *testing.T, err error) {
	t.Helper()
	if err != nil {
		t.Fatal(err)
	}
}

func checkOps(t *testing.T, f *fakeMaps, want ...string) {
	t.Helper()
	if got := f.takeOps(); !slices.Equal(got, want) {
		t.Fatalf("map calls\n got  %q\n want %q", got, want)
	}
}

var httpPort = []corev1.EndpointPort{{Name: "http", Port: 8080, Protocol: corev1.ProtocolTCP}}

func webService(name, ip string) *corev1.Service {
	return service(name, ip, corev1.ServicePort{Name: "http", Port: 80, Protocol: corev1.ProtocolTCP})
}

func TestReconcilerIncremental(t *testing.T) {
	f := newFakeMaps()
	r := newTestReconciler(t, f)

	// Endpoints before their Service: nothing to program yet.
	must(t, r.UpsertEndpoints(endpoints("web", subset(httpPort, []string{"10.244.0.1", "10.244.0.2"}))))
	checkOps(t, f)
	must(t, r.UpsertService(webService("web", "10.96.0.10")))
	checkOps(t, f, "upsert 10.96.0.10:80/TCP [10.244.0.1:8080 10.244.0.2:8080]")
	must(t, r.UpsertService(webService("api", "10.96.0.11")))
	checkOps(t, f, "upsert 10.96.0.11:80/TCP []")

	// One Endpoints change touches that Service's frontend only.
	must(t, r.UpsertEndpoints(endpoints("web", subset(httpPort, []string{"10.244.0.1", "10.244.0.2", "10.244.0.3"}))))
	checkOps(t, f, "upsert 10.96.0.10:80/TCP [10.244.0.1:8080 10.244.0.2:8080 10.244.0.3:8080]")
	// The same again (a resync event from an informer): no write.
	must(t, r.UpsertEndpoints(endpoints("web", subset(httpPort, []string{"10.244.0.3", "10.244.0.2", "10.244.0.1"}))))
	must(t, r.UpsertService(webService("web", "10.96.0.10")))
	checkOps(t, f)
	// A pod going unready leaves the backends.
	must(t, r.UpsertEndpoints(endpoints("web", subset(httpPort, []string{"10.244.0.1", "10.244.0.3"}, "10.244.0.2"))))
	checkOps(t, f, "upsert 10.96.0.10:80/TCP [10.244.0.1:8080 10.244.0.3:8080]")

	// Endpoints deleted: the frontend stays, without backends (refused).
	must(t, r.DeleteEndpoints("default", "web"))
	checkOps(t, f, "upsert 10.96.0.10:80/TCP []")
	must(t, r.DeleteService("default", "web"))
	checkOps(t, f, "delete 10.96.0.10:80/TCP")
	must(t, r.DeleteService("default", "web"))
	checkOps(t, f)
	if _, ok := f.state[fe("10.96.0.11", 80, lb.TCP)]; !ok || len(f.state) != 1 {
		t.Fatalf("maps hold %v, want only the api service", f.state)
	}
}

// A frontend that moves (a port changes) is written before the old one is
// deleted, so no moment is without it.
func TestReconcilerUpsertsBeforeDeletes(t *testing.T) {
	f := newFakeMaps()
	r := newTestReconciler(t, f)
	must(t, r.UpsertEndpoints(endpoints("web", subset(httpPort, []string{"10.244.0.1"}))))
	must(t, r.UpsertService(webService("web", "10.96.0.10")))
	f.takeOps()
	must(t, r.UpsertService(service("web", "10.96.0.10", corev1.ServicePort{Name: "http", Port: 81, Protocol: corev1.ProtocolTCP})))
	checkOps(t, f, "upsert 10.96.0.10:81/TCP [10.244.0.1:8080]", "delete 10.96.0.10:80/TCP")
}

func TestReconcilerNodePorts(t *testing.T) {
	f := newFakeMaps()
	r := newTestReconciler(t, f, netip.MustParseAddr("192.168.0.10"), netip.MustParseAddr("fd00::10"))
	svc := service("web", "10.96.0.10", corev1.ServicePort{Name: "http", Port: 80, NodePort: 30080, Protocol: corev1.ProtocolTCP})
	svc.Spec.Type = corev1.ServiceTypeNodePort
	must(t, r.UpsertService(svc))
	checkOps(t, f, "upsert 10.96.0.10:80/TCP []", "upsert 192.168.0.10:30080/TCP []")
	must(t, r.SetNodeAddresses([]netip.Addr{netip.MustParseAddr("192.168.0.11")}))
	checkOps(t, f, "upsert 192.168.0.11:30080/TCP []", "delete 192.168.0.10:30080/TCP")
}

// Two Services claiming one frontend (only bad data does that): the first
// keeps it, and the other gets it when the first lets go.
func TestReconcilerFrontendConflict(t *testing.T) {
	f := newFakeMaps()
	r := newTestReconciler(t, f)
	must(t, r.UpsertEndpoints(endpoints("a", subset(httpPort, []string{"10.244.0.1"}))))
	must(t, r.UpsertEndpoints(endpoints("b", subset(httpPort, []string{"10.244.0.2"}))))
	must(t, r.UpsertService(webService("a", "10.96.0.10")))
	must(t, r.UpsertService(webService("b", "10.96.0.10")))
	checkOps(t, f, "upsert 10.96.0.10:80/TCP [10.244.0.1:8080]")
	must(t, r.DeleteService("default", "a"))
	checkOps(t, f, "delete 10.96.0.10:80/TCP", "upsert 10.96.0.10:80/TCP [10.244.0.2:8080]")
}

// A failed write is retried by the next event: the reconciler only records
// what the maps accepted.
func TestReconcilerRetriesFailedWrites(t *testing.T) {
	f := newFakeMaps()
	r := newTestReconciler(t, f)
	f.failFor[fe("10.96.0.10", 80, lb.TCP)] = errors.New("map full")
	must(t, r.UpsertEndpoints(endpoints("web", subset(httpPort, []string{"10.244.0.1"}))))
	if err := r.UpsertService(webService("web", "10.96.0.10")); err == nil {
		t.Fatal("a failed write returned no error")
	}
	checkOps(t, f)
	must(t, r.UpsertService(webService("web", "10.96.0.10")))
	checkOps(t, f, "upsert 10.96.0.10:80/TCP [10.244.0.1:8080]")
}

// Resync at start adopts what a crashed agent left: correct frontends are
// not touched, wrong or repeated backends are rewritten, frontends no
// Service wants are deleted; a second Resync writes nothing.
func TestReconcilerResyncRepairs(t *testing.T) {
	f := newFakeMaps()
	b1, b2, b3 := be("10.244.0.1", 8080), be("10.244.0.2", 8080), be("10.244.0.3", 8080)
	for _, s := range []lb.Service{
		{Frontend: fe("10.96.0.10", 80, lb.TCP), Backends: []lb.Backend{b2, b1}},     // right (other order)
		{Frontend: fe("10.96.0.11", 80, lb.TCP), Backends: []lb.Backend{b1}},         // stale backends
		{Frontend: fe("10.96.0.12", 80, lb.TCP), Backends: []lb.Backend{b3, b3}},     // repeated backend
		{Frontend: fe("10.96.0.99", 80, lb.TCP), Backends: []lb.Backend{b1, b2, b3}}, // deleted while down
	} {
		f.state[s.Frontend] = s
	}
	r := newTestReconciler(t, f)
	// Events that arrived before the resync are superseded by its lists.
	must(t, r.UpsertService(webService("gone", "10.96.0.50")))
	f.takeOps()
	delete(f.state, fe("10.96.0.50", 80, lb.TCP))

	services := []*corev1.Service{webService("a", "10.96.0.10"), webService("b", "10.96.0.11"), webService("c", "10.96.0.12"), webService("d", "10.96.0.13")}
	eps := []*corev1.Endpoints{
		endpoints("a", subset(httpPort, []string{"10.244.0.1", "10.244.0.2"})),
		endpoints("b", subset(httpPort, []string{"10.244.0.2", "10.244.0.3"})),
		endpoints("c", subset(httpPort, []string{"10.244.0.3"})),
		endpoints("d", subset(httpPort, []string{"10.244.0.1"})),
	}
	must(t, r.Resync(context.Background(), services, eps))
	checkOps(t, f,
		"upsert 10.96.0.11:80/TCP [10.244.0.2:8080 10.244.0.3:8080]",
		"upsert 10.96.0.12:80/TCP [10.244.0.3:8080]",
		"upsert 10.96.0.13:80/TCP [10.244.0.1:8080]",
		"delete 10.96.0.99:80/TCP",
	)
	must(t, r.Resync(context.Background(), services, eps))
	checkOps(t, f)
	want := map[lb.Frontend][]lb.Backend{
		fe("10.96.0.10", 80, lb.TCP): {b2, b1},
		fe("10.96.0.11", 80, lb.TCP): {b2, b3},
		fe("10.96.0.12", 80, lb.TCP): {b3},
		fe("10.96.0.13", 80, lb.TCP): {b1},
	}
	got := map[lb.Frontend][]lb.Backend{}
	for fe, s := range f.state {
		got[fe] = s.Backends
	}
	if !reflect.DeepEqual(got, want) {
		t.Fatalf("maps after resync %v, want %v", got, want)
	}
	// And incremental events continue from the resynced state.
	must(t, r.DeleteService("default", "a"))
	checkOps(t, f, "delete 10.96.0.10:80/TCP")
}
