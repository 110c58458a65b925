// Package ipam hands out pod IP addresses from a node's pod CIDR and keeps
// the allocations on disk, so they survive agent restarts and crashes.
//
// The first address after the network address is the gateway (the bridge's
// address); the network and broadcast addresses are never handed out. Each
// pod key (namespace/name/uid) holds at most one address: allocating again
// for the same key returns the same address, which makes the agent's
// "allocate, then set up the sandbox" sequence safe to repeat after a crash.
// Addresses are picked in a deterministic order, like CNI's host-local
// plugin: the search starts after the last address handed out and wraps
// around, so a released address is reused as late as possible.
//
// State lives in one JSON file in a directory of its own (state.json),
// replaced atomically (write a temporary file, fsync, rename, fsync the
// directory) under an exclusive flock on a lock file in the same directory:
// two allocators, in one process or in two, never hand out the same address.
//
// Errors: ErrExhausted when every address is taken (the agent reports it as
// a pod event and retries later), ErrCIDRChanged when the directory holds
// live allocations from a different pod CIDR, ErrCorruptState when the state
// file cannot be trusted. Test with errors.Is; messages name the CIDR,
// counts and file involved.
package ipam
