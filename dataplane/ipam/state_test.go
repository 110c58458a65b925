package ipam

import (
	"bytes"
	"maps"
	"strings"
	"testing"
)

var validState = []byte(`{
  "version": 1,
  "cidr": "10.244.1.0/24",
  "last": "10.244.1.3",
  "allocations": {
    "default/a/1111": "10.244.1.2",
    "default/b/2222": "10.244.1.3"
  }
}
`)

func TestDecodeStateRejects(t *testing.T) {
	tests := []struct {
		name, data, want string
	}{
		{"garbage", `not json`, "parse"},
		{"trailing", `{"version":1,"cidr":"10.0.0.0/24","allocations":{}} {}`, "trailing"},
		{"unknown field", `{"version":1,"cidr":"10.0.0.0/24","allocations":{},"x":1}`, "unknown field"},
		{"version", `{"version":2,"cidr":"10.0.0.0/24","allocations":{}}`, "version 2"},
		{"bad cidr", `{"version":1,"cidr":"10.0.0.0/33","allocations":{}}`, "cidr"},
		{"gateway allocated", `{"version":1,"cidr":"10.0.0.0/24","allocations":{"k":"10.0.0.1"}}`, "not a pod address"},
		{"network allocated", `{"version":1,"cidr":"10.0.0.0/24","allocations":{"k":"10.0.0.0"}}`, "not a pod address"},
		{"broadcast allocated", `{"version":1,"cidr":"10.0.0.0/24","allocations":{"k":"10.0.0.255"}}`, "not a pod address"},
		{"outside", `{"version":1,"cidr":"10.0.0.0/24","allocations":{"k":"10.0.1.2"}}`, "not a pod address"},
		{"duplicate", `{"version":1,"cidr":"10.0.0.0/24","allocations":{"k":"10.0.0.2","j":"10.0.0.2"}}`, "allocated to both"},
		{"empty key", `{"version":1,"cidr":"10.0.0.0/24","allocations":{"":"10.0.0.2"}}`, "empty"},
		{"bad last", `{"version":1,"cidr":"10.0.0.0/24","last":"10.0.0.255","allocations":{}}`, "last address"},
	}
	for _, tt := range tests {
		t.Run(tt.name, func(t *testing.T) {
			_, err := decodeState([]byte(tt.data))
			if err == nil || !strings.Contains(err.Error(), tt.want) {
				t.Fatalf("decodeState error = %v, want one containing %q", err, tt.want)
			}
		})
	}
}

func TestStateRoundTrip(t *testing.T) {
	s, err := decodeState(validState)
	if err != nil {
		t.Fatal(err)
	}
	out, err := encodeState(s)
	if err != nil {
		t.Fatal(err)
	}
	if !bytes.Equal(out, validState) {
		t.Fatalf("encode(decode(x)) differs from x:\n%s\nwant\n%s", out, validState)
	}
}

// FuzzDecodeState feeds arbitrary bytes to the state decoder: it must never
// panic, and whatever it accepts must satisfy the allocator's invariants and
// survive an encode/decode round trip unchanged.
func FuzzDecodeState(f *testing.F) {
	f.Add(validState)
	f.Add([]byte(`{"version":1,"cidr":"10.1.1.4/30","allocations":{"x":"10.1.1.6"}}`))
	f.Add([]byte(`{"version":1,"cidr":"10.0.0.0/8","last":"10.255.255.254","allocations":{}}`))
	f.Add([]byte(`{"version":1,"cidr":"::/0","allocations":{}}`))
	f.Add([]byte(`{}`))
	f.Fuzz(func(t *testing.T, data []byte) {
		s, err := decodeState(data)
		if err != nil {
			return
		}
		p, err := newPool(s.cidr)
		if err != nil {
			t.Fatalf("accepted state with unusable CIDR %s: %v", s.cidr, err)
		}
		seen := map[string]bool{}
		for k, a := range s.byKey {
			if !p.assignable(a) {
				t.Fatalf("accepted %s for %q outside the pod range of %s", a, k, s.cidr)
			}
			if seen[a.String()] {
				t.Fatalf("accepted duplicate address %s", a)
			}
			seen[a.String()] = true
		}
		if s.last.IsValid() && !p.assignable(s.last) {
			t.Fatalf("accepted hint %s outside %s", s.last, s.cidr)
		}
		enc, err := encodeState(s)
		if err != nil {
			t.Fatalf("encode accepted state: %v", err)
		}
		s2, err := decodeState(enc)
		if err != nil {
			t.Fatalf("decode of re-encoded state failed: %v\n%s", err, enc)
		}
		if s2.cidr != s.cidr || s2.last != s.last || !maps.Equal(s2.byKey, s.byKey) {
			t.Fatalf("round trip changed the state:\n%s", enc)
		}
	})
}
