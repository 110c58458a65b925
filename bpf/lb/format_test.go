package lb

import (
	"net/netip"
	"strings"
	"testing"
	"time"
)

func TestWriteServices(t *testing.T) {
	var sb strings.Builder
	err := WriteServices(&sb, []ServiceInfo{
		{
			Frontend: Frontend{Address: netip.MustParseAddr("10.96.0.10"), Port: 80, Protocol: TCP}, ID: 1,
			Backends: []BackendInfo{
				{Slot: 0, Backend: Backend{Address: netip.MustParseAddr("10.244.1.1"), Port: 8080}, Selections: 10},
				{Slot: 1, Backend: Backend{Address: netip.MustParseAddr("10.244.1.2"), Port: 8080}, Selections: 9},
			},
		},
		{Frontend: Frontend{Address: netip.MustParseAddr("10.96.0.11"), Port: 53, Protocol: UDP}, ID: 2},
		{
			Frontend: Frontend{Address: netip.MustParseAddr("10.96.0.12"), Port: 443, Protocol: TCP}, ID: 3, AffinityTimeout: 3 * time.Hour,
			Backends: []BackendInfo{{Slot: 0}},
		},
	})
	if err != nil {
		t.Fatal(err)
	}
	want := `SERVICE ADDRESS     BACKEND ADDRESS (SELECTIONS)
10.96.0.10:80/TCP   10.244.1.1:8080/TCP (10)
                    10.244.1.2:8080/TCP (9)
10.96.0.11:53/UDP   (no backends: connections refused)
10.96.0.12:443/TCP  <empty slot 0>  [sessionAffinity: ClientIP, 3h0m0s]
`
	if sb.String() != want {
		t.Fatalf("got\n%s\nwant\n%s", sb.String(), want)
	}
}
