package container

import (
	"slices"
	"testing"
)

func TestMonitorEnv(t *testing.T) {
	for _, tc := range []struct {
		name          string
		environ, want []string
	}{
		{"empty", nil, []string{"GOMAXPROCS=1"}},
		{"kept in order", []string{"A=1", "PATH=/bin"}, []string{"A=1", "PATH=/bin", "GOMAXPROCS=1"}},
		{"replaced", []string{"GOMAXPROCS=8", "A=1"}, []string{"A=1", "GOMAXPROCS=1"}},
		{"prefix of another name", []string{"GOMAXPROCSX=2"}, []string{"GOMAXPROCSX=2", "GOMAXPROCS=1"}},
		{"other Go settings kept", []string{"GOGC=50", "GODEBUG=x=1"}, []string{"GOGC=50", "GODEBUG=x=1", "GOMAXPROCS=1"}},
	} {
		t.Run(tc.name, func(t *testing.T) {
			if got := monitorEnv(tc.environ); !slices.Equal(got, tc.want) {
				t.Errorf("monitorEnv(%q) = %q, want %q", tc.environ, got, tc.want)
			}
		})
	}
}
