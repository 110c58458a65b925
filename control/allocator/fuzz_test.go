package allocator

import (
	"bytes"
	"encoding/json"
	"net/netip"
	"testing"
)

// FuzzSnapshotDecode feeds arbitrary bytes to each allocator's
// UnmarshalJSON, both on a configured and on a zero allocator. Decoding
// must never panic; a snapshot that decodes must describe a consistent
// allocator whose own snapshot decodes to the same state.
func FuzzSnapshotDecode(f *testing.F) {
	for _, seed := range []string{
		`{"range":"10.96.0.0/28","next":2,"data":"AwI="}`,
		`{"range":"10.96.0.0/12","next":0,"data":""}`,
		`{"range":"30000-32767","next":5,"data":"/w=="}`,
		`{"range":"10.244.0.0/16","maskSize":24,"next":3,"data":"Bw=="}`,
		`{"range":"fd00::/120","next":254,"data":"AQ=="}`,
		`{"range":"10.96.0.0/28","next":14,"data":"AEA="}`,
		`{}`, `null`, `[]`, ``,
	} {
		f.Add([]byte(seed))
	}
	f.Fuzz(func(t *testing.T, data []byte) {
		check := func(a interface {
			json.Marshaler
			json.Unmarshaler
			Size() int
			Used() int
			Free() int
		}, fresh func() json.Unmarshaler) {
			if err := a.UnmarshalJSON(data); err != nil {
				return
			}
			if a.Used() < 0 || a.Used() > a.Size() || a.Used()+a.Free() != a.Size() {
				t.Fatalf("inconsistent after decoding %q: size %d used %d free %d", data, a.Size(), a.Used(), a.Free())
			}
			out, err := a.MarshalJSON()
			if err != nil {
				t.Fatalf("re-encoding: %v", err)
			}
			again := fresh()
			if err := again.UnmarshalJSON(out); err != nil {
				t.Fatalf("decoding own snapshot %s: %v", out, err)
			}
			out2, _ := again.(json.Marshaler).MarshalJSON()
			if !bytes.Equal(out, out2) {
				t.Fatalf("snapshot not stable: %s then %s", out, out2)
			}
		}
		ipr, _ := NewIPRange(netip.MustParsePrefix("10.96.0.0/28"))
		check(ipr, func() json.Unmarshaler { return &IPRange{} })
		check(&IPRange{}, func() json.Unmarshaler { return &IPRange{} })
		ports, _ := ParsePortRange("30000-32767")
		check(ports, func() json.Unmarshaler { return &PortRange{} })
		check(&PortRange{}, func() json.Unmarshaler { return &PortRange{} })
		cidrs, _ := NewCIDRSet(netip.MustParsePrefix("10.244.0.0/16"), 24)
		check(cidrs, func() json.Unmarshaler { return &CIDRSet{} })
		check(&CIDRSet{}, func() json.Unmarshaler { return &CIDRSet{} })
	})
}
