package ipam

import (
	"context"
	"fmt"
	"net/netip"
	"testing"
)

// BenchmarkAllocateRelease measures one durable allocation plus its release
// (two locked read-modify-write cycles, each with fsync and rename).
func BenchmarkAllocateRelease(b *testing.B) {
	ctx := context.Background()
	a, err := New(ctx, Config{Dir: b.TempDir(), CIDR: netip.MustParsePrefix("10.244.0.0/16")})
	if err != nil {
		b.Fatal(err)
	}
	defer a.Close()
	for i := range 100 { // a realistic table: 100 pods already present
		if _, err := a.Allocate(ctx, fmt.Sprint("base/", i)); err != nil {
			b.Fatal(err)
		}
	}
	for i := 0; b.Loop(); i++ {
		key := fmt.Sprint("bench/", i)
		if _, err := a.Allocate(ctx, key); err != nil {
			b.Fatal(err)
		}
		if err := a.Release(ctx, key); err != nil {
			b.Fatal(err)
		}
	}
}
