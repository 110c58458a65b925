package ipam

import (
	"bytes"
	"encoding/json"
	"errors"
	"fmt"
	"net/netip"
	"unicode/utf8"
)

// stateVersion is the version of the on-disk format written by this package.
const stateVersion = 1

// maxKeyLen bounds a pod key: namespace (63) + name (253) + uid + separators
// fit comfortably.
const maxKeyLen = 512

// stateFile is the JSON layout of state.json. Maps encode with sorted keys,
// so the same state always produces the same bytes.
type stateFile struct {
	Version     int               `json:"version"`
	CIDR        string            `json:"cidr"`
	Last        string            `json:"last,omitempty"`
	Allocations map[string]string `json:"allocations"`
}

// state is the decoded, validated allocation table.
type state struct {
	cidr  netip.Prefix
	last  netip.Addr            // last address handed out: the search hint
	byKey map[string]netip.Addr // pod key → address
}

func newState(cidr netip.Prefix) *state {
	return &state{cidr: cidr, byKey: map[string]netip.Addr{}}
}

// used returns the set of allocated addresses.
func (s *state) used() map[netip.Addr]bool {
	u := make(map[netip.Addr]bool, len(s.byKey))
	for _, a := range s.byKey {
		u[a] = true
	}
	return u
}

func validateKey(key string) error {
	switch {
	case key == "":
		return errors.New("pod key is empty (want namespace/name/uid)")
	case len(key) > maxKeyLen:
		return fmt.Errorf("pod key is %d bytes long, more than %d", len(key), maxKeyLen)
	case !utf8.ValidString(key):
		return fmt.Errorf("pod key %q is not valid UTF-8", key)
	}
	return nil
}

func encodeState(s *state) ([]byte, error) {
	f := stateFile{
		Version:     stateVersion,
		CIDR:        s.cidr.String(),
		Allocations: make(map[string]string, len(s.byKey)),
	}
	if s.last.IsValid() {
		f.Last = s.last.String()
	}
	for k, a := range s.byKey {
		f.Allocations[k] = a.String()
	}
	b, err := json.MarshalIndent(f, "", "  ")
	if err != nil {
		return nil, err
	}
	return append(b, '\n'), nil
}

// decodeState parses and validates state.json. Anything that could make the
// allocator hand out an address twice or outside the pod range is an error:
// a state file that cannot be trusted must stop allocation, not be guessed at.
func decodeState(data []byte) (*state, error) {
	dec := json.NewDecoder(bytes.NewReader(data))
	dec.DisallowUnknownFields()
	var f stateFile
	if err := dec.Decode(&f); err != nil {
		return nil, fmt.Errorf("parse: %w", err)
	}
	if dec.More() {
		return nil, errors.New("trailing data after the JSON object")
	}
	if f.Version != stateVersion {
		return nil, fmt.Errorf("version %d, want %d", f.Version, stateVersion)
	}
	cidr, err := netip.ParsePrefix(f.CIDR)
	if err != nil {
		return nil, fmt.Errorf("cidr: %w", err)
	}
	p, err := newPool(cidr)
	if err != nil {
		return nil, err
	}
	s := newState(cidr)
	if f.Last != "" {
		last, err := netip.ParseAddr(f.Last)
		if err != nil {
			return nil, fmt.Errorf("last: %w", err)
		}
		if !p.assignable(last) {
			return nil, fmt.Errorf("last address %s is not a pod address of %s", last, cidr)
		}
		s.last = last
	}
	owner := make(map[netip.Addr]string, len(f.Allocations))
	for k, v := range f.Allocations {
		if err := validateKey(k); err != nil {
			return nil, err
		}
		a, err := netip.ParseAddr(v)
		if err != nil {
			return nil, fmt.Errorf("address of %q: %w", k, err)
		}
		if !p.assignable(a) {
			return nil, fmt.Errorf("address %s of %q is not a pod address of %s", a, k, cidr)
		}
		if prev, dup := owner[a]; dup {
			return nil, fmt.Errorf("address %s is allocated to both %q and %q", a, prev, k)
		}
		owner[a] = k
		s.byKey[k] = a
	}
	return s, nil
}
