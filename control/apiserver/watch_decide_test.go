package apiserver

import (
	"testing"

	"k8s.io/apimachinery/pkg/watch"
)

func TestWatchTransition(t *testing.T) {
	tests := []struct {
		oldMatch, newMatch bool
		want               watch.EventType
		send               bool
	}{
		{true, true, watch.Modified, true},
		{false, true, watch.Added, true},
		{true, false, watch.Deleted, true},
		{false, false, "", false},
	}
	for _, tt := range tests {
		got, send := watchTransition(tt.oldMatch, tt.newMatch)
		if got != tt.want || send != tt.send {
			t.Errorf("watchTransition(%v, %v) = %q, %v; want %q, %v", tt.oldMatch, tt.newMatch, got, send, tt.want, tt.send)
		}
	}
}

func TestDecideWatchStart(t *testing.T) {
	yes, no := true, false
	tests := []struct {
		name string
		lo   listOptions
		want watchStart
	}{
		{"no resourceVersion replays state", listOptions{}, watchStart{initial: true}},
		{"resourceVersion 0 replays state", listOptions{rv: "0"}, watchStart{initial: true}},
		{"resourceVersion streams after it", listOptions{rv: "42"}, watchStart{rev: 42}},
		{"sendInitialEvents ends with a bookmark", listOptions{rv: "42", sendInitialEvents: &yes}, watchStart{initial: true, initialEnd: true}},
		{"sendInitialEvents=false from now", listOptions{sendInitialEvents: &no}, watchStart{}},
		{"sendInitialEvents=false after rv", listOptions{rv: "7", sendInitialEvents: &no}, watchStart{rev: 7}},
	}
	for _, tt := range tests {
		if got := decideWatchStart(tt.lo); got != tt.want {
			t.Errorf("%s: decideWatchStart = %+v, want %+v", tt.name, got, tt.want)
		}
	}
}
