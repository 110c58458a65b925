package storage

import "testing"

func TestOrderedProgressRequests(t *testing.T) {
	for _, c := range []struct {
		version string
		want    bool
	}{
		{"3.4.23", false}, // Debian bookworm's etcd-server
		{"3.4.30", false},
		{"3.4.31", true},
		{"3.5.12", false},
		{"3.5.13", true},
		{"3.6.0", true},
		{"3.6.0-rc.1", true},
		{"3.7.3", true},
		{"v3.5.21", true},
		{"3.3.27", false},
		{"4.0.0", true},
		{"", false},
		{"garbage", false},
		{"3.x.1", false},
	} {
		if got := orderedProgressRequests(c.version); got != c.want {
			t.Errorf("orderedProgressRequests(%q) = %v, want %v", c.version, got, c.want)
		}
	}
}
