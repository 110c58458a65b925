/* SPDX-License-Identifier: (GPL-2.0-only WITH Linux-syscall-note) OR BSD-2-Clause */
/*
 * The few kernel UAPI definitions tug's BPF programs need, copied from
 * include/uapi/linux/bpf.h and linux/types.h. They are stable ABI, so a
 * committed copy keeps the compiled object independent of the build host's
 * kernel headers: `go generate ./bpf/...` gives the same bytes everywhere with
 * Debian's clang 14 and libbpf-dev headers (bpf_helpers.h).
 */
#ifndef TUG_UAPI_H
#define TUG_UAPI_H

typedef unsigned char __u8;
typedef unsigned short __u16;
typedef unsigned int __u32;
typedef unsigned long long __u64;
typedef signed char __s8;
typedef short __s16;
typedef int __s32;
typedef long long __s64;
typedef __u16 __be16;
typedef __u32 __be32;
typedef __u32 __wsum;

/* enum bpf_map_type (subset). */
#define BPF_MAP_TYPE_HASH 1
#define BPF_MAP_TYPE_LRU_HASH 9

/* Map creation flags. */
#define BPF_F_NO_PREALLOC (1U << 0)

/* bpf_map_update_elem flags. */
#define BPF_ANY 0
#define BPF_NOEXIST 1
#define BPF_EXIST 2

struct bpf_sock;

/* Context of BPF_PROG_TYPE_CGROUP_SOCK_ADDR programs. */
struct bpf_sock_addr {
	__u32 user_family;
	__u32 user_ip4;    /* network byte order; 1,2,4-byte read, 4-byte write */
	__u32 user_ip6[4];
	__u32 user_port;   /* network byte order in the low 16 bits; 4-byte write */
	__u32 family;
	__u32 type;
	__u32 protocol;
	__u32 msg_src_ip4;
	__u32 msg_src_ip6[4];
	union {
		struct bpf_sock *sk;
		__u64 :64;
	} __attribute__((aligned(8)));
};

#endif /* TUG_UAPI_H */
