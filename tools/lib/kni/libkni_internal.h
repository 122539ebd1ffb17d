/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libkni internals shared by its source files; not installed.
 */
#ifndef __LIBKNI_INTERNAL_H
#define __LIBKNI_INTERNAL_H

#include <string.h>

#include "libkni.h"

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
