package lb

import (
	"net/netip"
	"reflect"
	"testing"
	"time"
)

// Inspector.Service reads one frontend exactly as Services lists it, with
// counters, and reports a frontend the maps do not have.
func TestInspectorServiceLookup(t *testing.T) {
	env := newTestEnv(t)
	bes := env.backends(t, 3, 8080, false)
	web := Frontend{Address: vip, Port: 80, Protocol: TCP}
	sticky := Frontend{Address: vip, Port: 81, Protocol: TCP}
	mustUpsert(t, env.dp.Maps(), Service{Frontend: web, Backends: bes})
	mustUpsert(t, env.dp.Maps(), Service{Frontend: sticky, Backends: bes[:1], AffinityTimeout: 30 * time.Second})
	if rs := env.client.Results(t, "tcp", netip.AddrPortFrom(vip, 80).String(), "4"); len(rs) != 4 || rs[0].Err != "" {
		t.Fatalf("connections through %s: %+v", web, rs)
	}
	in, err := OpenPinned(env.cfg)
	if err != nil {
		t.Fatal(err)
	}
	defer in.Close()
	all, err := in.Services()
	if err != nil {
		t.Fatal(err)
	}
	if len(all) != 2 {
		t.Fatalf("Services() = %+v, want 2 frontends", all)
	}
	for _, want := range all {
		got, ok, err := in.Service(want.Frontend)
		if err != nil || !ok {
			t.Fatalf("Service(%s) = %v, %v", want.Frontend, ok, err)
		}
		if !reflect.DeepEqual(got, want) {
			t.Errorf("Service(%s) = %+v, Services() has %+v", want.Frontend, got, want)
		}
	}
	if all[0].RoundRobin != 4 || all[1].AffinityTimeout != 30*time.Second {
		t.Errorf("counters and affinity not read: %+v", all)
	}
	if _, ok, err := in.Service(Frontend{Address: vip, Port: 80, Protocol: UDP}); ok || err != nil {
		t.Errorf("Service of an absent frontend = %v, %v; want not found", ok, err)
	}
}
