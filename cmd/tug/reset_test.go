package main

import (
	"os"
	"path/filepath"
	"testing"
)

func TestResetDirs(t *testing.T) {
	root := t.TempDir()
	mk := func(dirs ...string) string {
		base := filepath.Join(root, dirs[0])
		for _, d := range dirs[1:] {
			if err := os.MkdirAll(filepath.Join(base, d), 0o700); err != nil {
				t.Fatal(err)
			}
		}
		return base
	}
	up := mk("up", "agent/containers", "server/etcd")
	upNoServer := mk("up-external-etcd", "agent/containers")
	agentDir := mk("agent", "containers", "images")
	for _, tt := range []struct {
		name, dataDir, serverDataDir string
		wantAgent, wantServer        string
	}{
		{"tug up's directory: both", up, "", filepath.Join(up, "agent"), filepath.Join(up, "server")},
		{"tug up's, server data given", up, "/elsewhere", filepath.Join(up, "agent"), "/elsewhere"},
		{"tug up's without a server directory", upNoServer, "", filepath.Join(upNoServer, "agent"), ""},
		{"an agent's directory: the agent only", agentDir, "", agentDir, ""},
		{"an agent's, with --server-data-dir", agentDir, "/var/lib/tug/server", agentDir, "/var/lib/tug/server"},
		{"absent: as given", filepath.Join(root, "none"), "", filepath.Join(root, "none"), ""},
	} {
		a, s := resetDirs(tt.dataDir, tt.serverDataDir)
		if a != tt.wantAgent || s != tt.wantServer {
			t.Errorf("%s: resetDirs(%q, %q) = %q, %q; want %q, %q", tt.name, tt.dataDir, tt.serverDataDir, a, s, tt.wantAgent, tt.wantServer)
		}
	}
}
