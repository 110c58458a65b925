package client

import (
	"errors"
	"testing"
)

func TestServerURL(t *testing.T) {
	env := func(v string) func(string) string {
		return func(k string) string {
			if k == EnvServer {
				return v
			}
			return ""
		}
	}
	tests := []struct {
		name   string
		flag   string
		getenv func(string) string
		want   string
	}{
		{"seed host:port", "172.17.1.4:8080", nil, "http://172.17.1.4:8080"},
		{"url kept", "https://api.example:6443", nil, "https://api.example:6443"},
		{"trailing slash dropped", "http://127.0.0.1:8080/", nil, "http://127.0.0.1:8080"},
		{"prefix path kept", "http://127.0.0.1:8080/k8s/", nil, "http://127.0.0.1:8080/k8s"},
		{"ipv6", "[::1]:8080", nil, "http://[::1]:8080"},
		{"host only", "localhost", nil, "http://localhost"},
		{"flag beats env", "10.0.0.1:1", env("10.0.0.2:2"), "http://10.0.0.1:1"},
		{"env", "", env("10.0.0.2:2"), "http://10.0.0.2:2"},
		{"default", "", env(""), DefaultServer},
		{"default without env", "", nil, DefaultServer},
		{"spaces trimmed", "  127.0.0.1:8080 ", nil, "http://127.0.0.1:8080"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			got, err := ServerURL(tt.flag, tt.getenv)
			if err != nil {
				t.Fatalf("ServerURL(%q) error: %v", tt.flag, err)
			}
			if got != tt.want {
				t.Fatalf("ServerURL(%q) = %q, want %q", tt.flag, got, tt.want)
			}
		})
	}
}

func TestNormalizeServerRejects(t *testing.T) {
	for _, in := range []string{"ftp://h:1", "http://", "http://user:pw@h:1", "http://h:1/?x=1", "::1:8080", "http://h:port"} {
		_, err := NormalizeServer(in)
		if !errors.Is(err, ErrBadServer) {
			t.Errorf("NormalizeServer(%q) error = %v, want ErrBadServer", in, err)
		}
	}
}
