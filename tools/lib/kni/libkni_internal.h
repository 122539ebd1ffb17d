/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libkni internals shared by its source files; not installed.
 */
#ifndef __LIBKNI_INTERNAL_H
#define __LIBKNI_INTERNAL_H

#include <errno.h>
#include <string.h>

#include "libkni.h"

/*
 * The sizes of a public structure that starts with its sz (see libkni.h):
 * @min, the first version's size, the smallest sz taken; @size, its size
 * in this library, the bytes it knows. A field is only ever added past the
 * size of the version before (explicit padding fills a gap the compiler
 * would leave), so that an older library finds it past what it knows.
 */
struct kni_sz {
	size_t min;
	size_t size;
};

#define KNI_SZ(TYPE, MIN) ((struct kni_sz) {				\
	.min = (MIN),							\
	.size = sizeof(struct TYPE),					\
})

/*
 * Each structure, with the size of its first version: the offset of the
 * first field added since, or its size while there is none.
 */
#define KNI_SZ_DEV_CONFIG \
	KNI_SZ(kni_dev_config, sizeof(struct kni_dev_config))
#define KNI_SZ_QUEUE_OPTS \
	KNI_SZ(kni_queue_opts, offsetof(struct kni_queue_opts, offloads))
#define KNI_SZ_OPS \
	KNI_SZ(kni_ops, offsetof(struct kni_ops, mcast))
#define KNI_SZ_QUEUE_STATS \
	KNI_SZ(kni_queue_stats, sizeof(struct kni_queue_stats))
#define KNI_SZ_DEV_STATE \
	KNI_SZ(kni_dev_state, offsetof(struct kni_dev_state, mc_count))

/*
 * The size rule of libkni.h, in one place. USER is the caller's structure
 * of sizes S; IN for one the library reads, else one it writes. Returns
 * how many bytes of it the library reads or writes, min(sz, S.size), or
 * -EINVAL for an sz below the first version's, or (IN) -E2BIG for a
 * non-zero byte past the S.size bytes the library knows.
 */
static inline long kni_sz_check(const void *user, struct kni_sz s, bool in)
{
	const unsigned char *p = user;
	size_t sz, i;

	memcpy(&sz, p, sizeof(sz));
	if (sz < s.min)
		return -EINVAL;
	for (i = s.size; in && i < sz; i++)
		if (p[i])
			return -E2BIG;
	return (long)(sz < s.size ? sz : s.size);
}

/*
 * Copy the caller's input structure USER into the library's LIB of sizes
 * S: the fields past its sz are zero. 0 or kni_sz_check()'s error.
 */
static inline int kni_copy_in(void *lib, const void *user, struct kni_sz s)
{
	long n = kni_sz_check(user, s, true);

	if (n < 0)
		return (int)n;
	memset(lib, 0, s.size);
	memcpy(lib, user, (size_t)n);
	return 0;
}

/*
 * Copy the library's output structure LIB to the caller's USER of sizes
 * S: up to its sz, leaving the sz itself alone. 0 or -EINVAL.
 */
static inline int kni_copy_out(void *user, const void *lib, struct kni_sz s)
{
	long n = kni_sz_check(user, s, false);

	if (n < 0)
		return (int)n;
	memcpy((unsigned char *)user + sizeof(size_t),
	       (const unsigned char *)lib + sizeof(size_t),
	       (size_t)n - sizeof(size_t));
	return 0;
}

/*
 * One ring of the shared region as the library sees it. The library keeps
 * its own copy of the index it owns (the producer of the rings it fills,
 * the consumer of the rings it drains) and a cached copy of the kernel's,
 * refreshed with a load-acquire only when the cached one is exhausted.
 * Slots are STRIDE bytes apart, as the kernel said at attach: at least the
 * structure the library knows, which starts each slot.
 */
struct kni_uring {
	__u32 *producer;
	__u32 *consumer;
	__u32 *flags;
	unsigned char *desc;
	__u32 stride;
	__u32 size;
	__u32 mask;
	__u32 cached_prod;
	__u32 cached_cons;
};

/* Who holds a frame. */
enum kni_frame_owner {
	KNI_FRAME_LIBRARY,	/* in the send pool */
	KNI_FRAME_KERNEL,	/* on rx or free, or on alloc or tx */
	KNI_FRAME_CALLER,	/* reserved or received, not yet given back */
};

/*
 * The fields of a queue handle by who writes them, so that a sending and a
 * receiving thread share none (see the thread model in libkni.h):
 *   send side, under send_lock: rx, free, pool, pool_len, owner[0, rs),
 *	send_stats;
 *   receive side: tx, alloc, owner[rs, 2 * rs), recv_stats;
 *   control calls: event, ops, cookie, seen, ctl_stats;
 *   either, atomically: gone;
 *   nobody after attach: fd, map, frames, info, state.
 * The receive side takes send_lock only to try to reclaim sent frames.
 */
struct kni_queue {
	int fd;
	unsigned char *map;
	unsigned char *frames;
	struct kni_queue_info info;
	struct kni_uring rx;
	struct kni_uring free;
	struct kni_uring alloc;
	struct kni_uring tx;
	struct kni_uring event;
	struct kni_state *state;

	/*
	 * Frames [0, ring_size) are for sending: the pool holds those the
	 * library may hand out. Frames [ring_size, 2 * ring_size) are for
	 * receiving and circulate between alloc, tx and the caller.
	 */
	__u32 *pool;
	__u32 pool_len;
	__u8 *owner;

	struct kni_ops ops;
	void *cookie;
	/* The state as the callbacks last reported it. */
	struct kni_dev_state seen;

	struct kni_queue_stats send_stats;
	struct kni_queue_stats recv_stats;
	struct kni_queue_stats ctl_stats;

	/* Held by the send side; 0 free, 1 held. */
	int send_lock;

	/*
	 * Set once the kernel said the device is gone (a kick that failed
	 * with -ENODEV); the state block's KNI_STATE_F_GONE says it too.
	 * Written with an atomic store: either direction may set it.
	 */
	int gone;
};

void kni_kick_if_needed(struct kni_queue *q, struct kni_uring *r,
			struct kni_queue_stats *st);

/*
 * Has the kernel reported the device gone? Looks at the flag a failed kick
 * set, then at the state block: the kernel sets KNI_STATE_F_GONE before it
 * signals the hangup (EPOLLHUP) and before kicks fail. One load each, no
 * syscall.
 */
static inline bool kni_queue_gone(struct kni_queue *q)
{
	if (__atomic_load_n(&q->gone, __ATOMIC_RELAXED))
		return true;
	if (__atomic_load_n(&q->state->flags, __ATOMIC_RELAXED) &
	    KNI_STATE_F_GONE) {
		__atomic_store_n(&q->gone, 1, __ATOMIC_RELAXED);
		return true;
	}
	return false;
}

/* The slot of index IDX. */
static inline void *kni_slot(const struct kni_uring *r, __u32 idx)
{
	return r->desc + (size_t)(idx & r->mask) * r->stride;
}

/*
 * Copy the descriptor the kernel wrote in the slot of index IDX: each field
 * is loaded exactly once (a relaxed atomic load the compiler may neither
 * repeat nor tear), so the copy the caller validates is the one it uses,
 * whatever the kernel (or another process sharing the region) writes to
 * the slot meanwhile.
 */
static inline struct kni_desc kni_desc_read(const struct kni_uring *r,
					    __u32 idx)
{
	const struct kni_desc *s = kni_slot(r, idx);
	struct kni_desc d;

	d.addr = __atomic_load_n(&s->addr, __ATOMIC_RELAXED);
	d.len = __atomic_load_n(&s->len, __ATOMIC_RELAXED);
	d.flags = __atomic_load_n(&s->flags, __ATOMIC_RELAXED);
	return d;
}

/* The same for an event. */
static inline struct kni_event kni_event_read(const struct kni_uring *r,
					      __u32 idx)
{
	const struct kni_event *s = kni_slot(r, idx);
	struct kni_event ev;
	unsigned int i;

	ev.type = __atomic_load_n(&s->type, __ATOMIC_RELAXED);
	ev.value = __atomic_load_n(&s->value, __ATOMIC_RELAXED);
	for (i = 0; i < sizeof(ev.addr); i++)
		ev.addr[i] = __atomic_load_n(&s->addr[i], __ATOMIC_RELAXED);
	return ev;
}

/*
 * Produce a descriptor in the next slot of R (published later). Bytes of a
 * larger slot that the library does not know are zeroed: a field a kernel
 * adds means, at 0, what the kernel did before it.
 */
static inline void kni_prod_put(struct kni_uring *r, __u64 addr, __u32 len,
				__u32 flags)
{
	struct kni_desc *d = kni_slot(r, r->cached_prod++);

	d->addr = addr;
	d->len = len;
	d->flags = flags;
	if (r->stride > sizeof(*d))
		memset(d + 1, 0, r->stride - sizeof(*d));
}

#endif /* __LIBKNI_INTERNAL_H */
