// SPDX-License-Identifier: GPL-2.0-only OR BSD-2-Clause
/*
 * tug's socket-layer load balancer for Services (IPv4).
 *
 * cgroup sock_addr programs rewrite the destination of connect() and
 * sendmsg() from a Service frontend (virtual IP or node address, port,
 * protocol) to one backend (pod IP, port), chosen round-robin or by session
 * affinity, and rewrite the peer address seen by recvmsg() and getpeername()
 * back to the frontend. Nothing is translated per packet: once connected, a
 * socket talks to the pod directly. IPv6 sockets are served for IPv4-mapped
 * addresses; IPv6 Services are not supported yet.
 *
 * User space (bpf/lb) owns every map entry except the round-robin counters,
 * the selection counters, the reverse translations and the affinity entries,
 * which these programs update. The update order user space follows is what
 * makes the lookups below safe without locks: a frontend's backend_count
 * never covers a slot that is not written.
 */
#include "tug_uapi.h"
#include <bpf/bpf_helpers.h>

#define TUG_ECONNREFUSED 111
#define NSEC_PER_SEC 1000000000ULL
/* Round-robin picks per connect() when updates race it (see translate). */
#define LB_PICK_ATTEMPTS 3

/* frontend.flags */
#define LB_F_AFFINITY (1U << 0) /* sessionAffinity: ClientIP */

/* A Service frontend: where clients connect. */
struct frontend_key {
	__be32 address;
	__be16 port;
	__u8 protocol; /* IPPROTO_TCP or IPPROTO_UDP */
	__u8 pad;
};

struct frontend {
	__u32 service_id;       /* key of the backend slots, rr, affinity */
	__u16 backend_count;    /* slots [0, backend_count) are valid */
	__u16 flags;            /* LB_F_* */
	__u32 affinity_timeout; /* seconds, when LB_F_AFFINITY */
};

struct backend_key {
	__u32 service_id;
	__u32 slot;
};

struct backend {
	__be32 address;
	__be16 port;
	__u16 pad;
};

/* Reverse translation: which frontend a socket's backend stands for. */
struct reverse_key {
	__u64 cookie; /* socket cookie */
	__be32 address; /* backend */
	__be16 port;
	__u16 pad;
};

struct reverse {
	__be32 address; /* frontend */
	__be16 port;
	__u16 pad;
	__u32 service_id;
};

/* Selection counter of one backend of one service. */
struct selection_key {
	__u32 service_id;
	__be32 address;
	__be16 port;
	__u16 pad;
};

/*
 * Session affinity: the client is its network namespace (a pod has exactly
 * one, with one IP; host processes share the node's), because at connect()
 * time an unbound socket has no source address yet.
 */
struct affinity_key {
	__u64 netns_cookie;
	__u32 service_id;
	__u32 pad;
};

struct affinity {
	__u64 last_used_ns; /* bpf_ktime_get_ns() */
	__u32 slot;
	__be32 address; /* backend at slot when chosen; checked on reuse */
	__be16 port;
	__u16 pad;
	__u32 pad2;
};

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct frontend_key);
	__type(value, struct frontend);
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tug_lb4_front SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct backend_key);
	__type(value, struct backend);
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tug_lb4_back SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, __u32);   /* service_id */
	__type(value, __u64); /* connections and datagrams balanced so far */
	__uint(max_entries, 65536);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tug_lb_rr SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct reverse_key);
	__type(value, struct reverse);
	__uint(max_entries, 262144);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tug_lb4_reverse SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_HASH);
	__type(key, struct selection_key);
	__type(value, __u64); /* times this backend was chosen */
	__uint(max_entries, 262144);
	__uint(map_flags, BPF_F_NO_PREALLOC);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tug_lb4_select SEC(".maps");

struct {
	__uint(type, BPF_MAP_TYPE_LRU_HASH);
	__type(key, struct affinity_key);
	__type(value, struct affinity);
	__uint(max_entries, 65536);
	__uint(pinning, LIBBPF_PIN_BY_NAME);
} tug_lb_affinity SEC(".maps");

static __always_inline __u64 next_round_robin(__u32 service_id)
{
	__u64 *rr = bpf_map_lookup_elem(&tug_lb_rr, &service_id);
	if (rr)
		return __sync_fetch_and_add(rr, 1);
	/* User space creates the counter with the service; recreate it if
	 * someone deleted it by hand. */
	__u64 one = 1;
	bpf_map_update_elem(&tug_lb_rr, &service_id, &one, BPF_NOEXIST);
	return 0;
}

static __always_inline void count_selection(__u32 service_id, const struct backend *be)
{
	struct selection_key key = {
		.service_id = service_id,
		.address = be->address,
		.port = be->port,
	};
	__u64 *n = bpf_map_lookup_elem(&tug_lb4_select, &key);
	if (n) {
		__sync_fetch_and_add(n, 1);
		return;
	}
	__u64 one = 1;
	bpf_map_update_elem(&tug_lb4_select, &key, &one, BPF_NOEXIST);
}

/* The backend a client with affinity used last, if still valid. */
static __always_inline struct backend *affinity_backend(struct bpf_sock_addr *ctx,
							const struct frontend *fe, __u64 now)
{
	struct affinity_key key = {
		.netns_cookie = bpf_get_netns_cookie(ctx),
		.service_id = fe->service_id,
	};
	struct affinity *a = bpf_map_lookup_elem(&tug_lb_affinity, &key);
	if (!a)
		return 0;
	/* Another CPU may have refreshed the entry after now was read. */
	if (now > a->last_used_ns &&
	    now - a->last_used_ns > (__u64)fe->affinity_timeout * NSEC_PER_SEC)
		return 0;
	if (a->slot >= fe->backend_count)
		return 0;
	struct backend_key bkey = { .service_id = fe->service_id, .slot = a->slot };
	struct backend *be = bpf_map_lookup_elem(&tug_lb4_back, &bkey);
	/* The slot may hold another backend since: then choose afresh. */
	if (!be || be->address != a->address || be->port != a->port)
		return 0;
	a->last_used_ns = now;
	return be;
}

static __always_inline void remember_affinity(struct bpf_sock_addr *ctx, const struct frontend *fe,
					      __u32 slot, const struct backend *be, __u64 now)
{
	struct affinity_key key = {
		.netns_cookie = bpf_get_netns_cookie(ctx),
		.service_id = fe->service_id,
	};
	struct affinity val = {
		.last_used_ns = now,
		.slot = slot,
		.address = be->address,
		.port = be->port,
	};
	bpf_map_update_elem(&tug_lb_affinity, &key, &val, BPF_ANY);
}

static __always_inline void remember_reverse(struct bpf_sock_addr *ctx, const struct frontend_key *fk,
					     const struct frontend *fe, const struct backend *be)
{
	struct reverse_key key = {
		.cookie = bpf_get_socket_cookie(ctx),
		.address = be->address,
		.port = be->port,
	};
	struct reverse *old = bpf_map_lookup_elem(&tug_lb4_reverse, &key);
	/* An unconnected UDP socket sends many datagrams: write only changes. */
	if (old && old->address == fk->address && old->port == fk->port &&
	    old->service_id == fe->service_id)
		return;
	struct reverse val = {
		.address = fk->address,
		.port = fk->port,
		.service_id = fe->service_id,
	};
	bpf_map_update_elem(&tug_lb4_reverse, &key, &val, BPF_ANY);
}

/*
 * IPv4 addresses on IPv6 sockets (::ffff:a.b.c.d, as Java and other
 * dual-stack clients connect) are translated like IPv4 ones. The v6 hooks
 * pass mapped = 1; being a constant in each program, it leaves only the
 * context fields that hook may touch.
 */
#if __BYTE_ORDER__ == __ORDER_LITTLE_ENDIAN__
#define V4_MAPPED_PREFIX 0xffff0000U /* 0000:ffff in network byte order */
#else
#define V4_MAPPED_PREFIX 0x0000ffffU
#endif

static __always_inline int is_v4_mapped(struct bpf_sock_addr *ctx)
{
	return ctx->user_ip6[0] == 0 && ctx->user_ip6[1] == 0 && ctx->user_ip6[2] == V4_MAPPED_PREFIX;
}

static __always_inline __be32 peer_ip4(struct bpf_sock_addr *ctx, const int mapped)
{
	return mapped ? ctx->user_ip6[3] : ctx->user_ip4;
}

static __always_inline void set_peer(struct bpf_sock_addr *ctx, const int mapped, __be32 address, __be16 port)
{
	if (mapped)
		ctx->user_ip6[3] = address;
	else
		ctx->user_ip4 = address;
	ctx->user_port = (__u32)port;
}

/*
 * Rewrites the destination of connect()/sendmsg() when it is a frontend.
 * Returns the program's verdict: 1 lets the call proceed, 0 fails it with
 * the errno set by bpf_set_retval (ECONNREFUSED, as kube-proxy's REJECT).
 */
static __always_inline int translate(struct bpf_sock_addr *ctx, const int mapped)
{
	if (mapped && !is_v4_mapped(ctx))
		return 1;
	struct frontend_key fk = {
		.address = peer_ip4(ctx, mapped),
		.port = (__be16)ctx->user_port,
		.protocol = (__u8)ctx->protocol,
	};
	struct frontend *fe = bpf_map_lookup_elem(&tug_lb4_front, &fk);
	if (!fe)
		return 1;

	__u32 count = fe->backend_count;
	if (count == 0)
		goto refuse;

	__u64 now = 0;
	struct backend *be = 0;
	__u32 slot = 0;
	if (fe->flags & LB_F_AFFINITY) {
		now = bpf_ktime_get_ns();
		be = affinity_backend(ctx, fe, now);
	}
	if (!be) {
		/*
		 * The frontend may shrink between reading its count and
		 * reading the slot: user space writes the lower count first
		 * and deletes the slots above it after, so a slot read with
		 * the old count can be gone. Read the frontend again and pick
		 * under its new count; every slot below the count it holds at
		 * any instant is written. Only a bug or a hand edit leaves a
		 * slot below the count empty for good: refuse then rather
		 * than let the VIP leave untranslated.
		 */
		for (int attempt = 0; attempt < LB_PICK_ATTEMPTS; attempt++) {
			if (attempt > 0) {
				fe = bpf_map_lookup_elem(&tug_lb4_front, &fk);
				if (!fe)
					return 1; /* the Service was deleted meanwhile */
				count = fe->backend_count;
				if (count == 0)
					goto refuse;
			}
			slot = next_round_robin(fe->service_id) % count;
			struct backend_key bkey = { .service_id = fe->service_id, .slot = slot };
			be = bpf_map_lookup_elem(&tug_lb4_back, &bkey);
			if (be)
				break;
		}
		if (!be)
			goto refuse;
		if (fe->flags & LB_F_AFFINITY)
			remember_affinity(ctx, fe, slot, be, now);
	}

	remember_reverse(ctx, &fk, fe, be);
	count_selection(fe->service_id, be);
	set_peer(ctx, mapped, be->address, be->port);
	return 1;

refuse:
	bpf_set_retval(-TUG_ECONNREFUSED);
	return 0;
}

/* Rewrites a backend peer address back to the frontend the socket used. */
static __always_inline void reverse_translate(struct bpf_sock_addr *ctx, const int mapped)
{
	if (mapped && !is_v4_mapped(ctx))
		return;
	struct reverse_key key = {
		.cookie = bpf_get_socket_cookie(ctx),
		.address = peer_ip4(ctx, mapped),
		.port = (__be16)ctx->user_port,
	};
	struct reverse *rv = bpf_map_lookup_elem(&tug_lb4_reverse, &key);
	if (!rv)
		return;
	set_peer(ctx, mapped, rv->address, rv->port);
}

SEC("cgroup/connect4")
int tug_connect4(struct bpf_sock_addr *ctx)
{
	return translate(ctx, 0);
}

SEC("cgroup/sendmsg4")
int tug_sendmsg4(struct bpf_sock_addr *ctx)
{
	return translate(ctx, 0);
}

SEC("cgroup/recvmsg4")
int tug_recvmsg4(struct bpf_sock_addr *ctx)
{
	reverse_translate(ctx, 0);
	return 1;
}

SEC("cgroup/getpeername4")
int tug_getpeer4(struct bpf_sock_addr *ctx)
{
	reverse_translate(ctx, 0);
	return 1;
}

/*
 * IPv6 sockets, IPv4-mapped destinations only. Unconnected UDP to a mapped
 * address needs no sendmsg6 program: the kernel hands such datagrams to the
 * IPv4 path, where sendmsg4 runs. Replies come back through recvmsg6.
 */
SEC("cgroup/connect6")
int tug_connect6(struct bpf_sock_addr *ctx)
{
	return translate(ctx, 1);
}

SEC("cgroup/recvmsg6")
int tug_recvmsg6(struct bpf_sock_addr *ctx)
{
	reverse_translate(ctx, 1);
	return 1;
}

SEC("cgroup/getpeername6")
int tug_getpeer6(struct bpf_sock_addr *ctx)
{
	reverse_translate(ctx, 1);
	return 1;
}

char __license[] SEC("license") = "Dual BSD/GPL";
