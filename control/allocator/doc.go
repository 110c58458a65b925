// Package allocator hands out values from fixed ranges — Service cluster IPs,
// NodePorts and per-node pod CIDRs — with bitmaps that serialize to small JSON
// snapshots.
//
// The allocators are pure data structures: no I/O, no locking, no clock. The
// API server keeps each snapshot in etcd and changes it with compare-and-swap,
// the way Kubernetes keeps its RangeAllocation objects: read the snapshot,
// restore it into an allocator built from the configured range, Allocate or
// Release, marshal, and write it back at the revision it was read at
// (retrying on conflict).
//
// Three allocators share one bitmap core:
//
//   - IPRange: the addresses of an IP prefix. The network address is never
//     handed out and, for IPv4, neither is the broadcast address, as in
//     Kubernetes' Service IP allocator.
//   - PortRange: the ports of a range such as "30000-32767".
//   - CIDRSet: the subnets of one mask size inside a cluster CIDR (the
//     per-node podCIDRs).
//
// AllocateNext is deterministic: it scans from a hint — the offset after the
// previous AllocateNext, wrapping at the end of the range — so a value just
// released is not handed out again until the rest of the range has been used.
// The hint is part of the snapshot.
//
// A snapshot is {"range":"10.96.0.0/12","next":N,"data":"<base64 bitmap>"}
// (CIDRSet adds "maskSize"). Bit i of the bitmap is bit i%8 of byte i/8;
// trailing zero bytes are left out, so a sparse range has a short snapshot.
// Restoring a snapshot taken for a different range fails with
// ErrRangeChanged: a changed --service-cluster-ip-range must stop the API
// server instead of handing out addresses twice.
//
// Errors wrap the sentinels ErrAllocated, ErrNotInRange, ErrFull,
// ErrRangeChanged, ErrInvalidRange and ErrInvalidSnapshot (test with
// errors.Is); their messages say what to do.
package allocator
