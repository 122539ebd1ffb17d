/* SPDX-License-Identifier: GPL-2.0 */
/*
 * A minimal dataplane side of one kni queue, on the raw ABI: attach, map,
 * produce and consume on the rings, read events and the state block, and
 * a traffic pump. Shared by the kni selftest programs.
 */
#ifndef _KNI_UQ_H
#define _KNI_UQ_H

#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <stdbool.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/kni.h>

struct uring {
	__u32 *prod;
	__u32 *cons;
	__u32 *flags;
	unsigned char *slots;
	__u32 stride;		/* bytes from one slot to the next */
	__u32 mask;
};

struct uqueue {
	int fd;
	struct kni_attach at;
	unsigned char *map;
	struct uring rx, free, alloc, tx;
	struct uring event;
	struct kni_state *state;
};

static inline void ring_map(struct uring *r, unsigned char *map,
			    const struct kni_ring_offsets *o, __u32 size,
			    __u32 stride)
{
	r->prod = (__u32 *)(map + o->producer);
	r->cons = (__u32 *)(map + o->consumer);
	r->flags = (__u32 *)(map + o->flags);
	r->slots = map + o->desc;
	r->stride = stride;
	r->mask = size - 1;
}

/* The slot of index I of a packet ring. */
static inline struct kni_desc *desc_at(struct uring *r, __u32 i)
{
	return (struct kni_desc *)(r->slots + (size_t)(i & r->mask) * r->stride);
}

/* The slot N places after the producer index, on a ring userspace fills. */
static inline struct kni_desc *prod_desc(struct uring *r, __u32 n)
{
	return desc_at(r, *r->prod + n);
}

/* The slot N places after the consumer index, on a ring userspace empties. */
static inline struct kni_desc *cons_desc(struct uring *r, __u32 n)
{
	return desc_at(r, *r->cons + n);
}

/* The slot of index I of the event ring. */
static inline struct kni_event *event_at(struct uring *r, __u32 i)
{
	return (struct kni_event *)(r->slots + (size_t)(i & r->mask) * r->stride);
}

static inline void attach_args(struct kni_attach *at, const char *dev,
			       __u32 queue)
{
	memset(at, 0, sizeof(*at));
	at->ifindex = if_nametoindex(dev);
	at->queue = queue;
}

static inline int attach_ioctl(int fd, const char *dev, __u32 queue,
			       struct kni_attach *at)
{
	attach_args(at, dev, queue);
	return ioctl(fd, KNI_IOC_ATTACH, at);
}

/*
 * Whether the layout AT has slots and a state block at least as large as
 * the structures this program reads from them: a kernel may make them
 * larger, never smaller.
 */
static inline bool layout_known(const struct kni_attach *at)
{
	return at->desc_size >= sizeof(struct kni_desc) &&
	       at->event_size >= sizeof(struct kni_event) &&
	       at->state_size >= sizeof(struct kni_state);
}

/*
 * Map the region of a file attached with uq->at; 0 or -errno, -EPROTO
 * when the layout's slots are smaller than the structures they hold.
 */
static inline int uq_map(struct uqueue *uq)
{
	const struct kni_attach *at = &uq->at;

	uq->map = NULL;
	if (!layout_known(at))
		return -EPROTO;
	uq->map = mmap(NULL, at->mmap_size, PROT_READ | PROT_WRITE,
		       MAP_SHARED, uq->fd, 0);
	if (uq->map == MAP_FAILED) {
		uq->map = NULL;
		return -errno;
	}
	ring_map(&uq->rx, uq->map, &at->rx, at->ring_size, at->desc_size);
	ring_map(&uq->free, uq->map, &at->free, at->ring_size, at->desc_size);
	ring_map(&uq->alloc, uq->map, &at->alloc, at->ring_size, at->desc_size);
	ring_map(&uq->tx, uq->map, &at->tx, at->ring_size, at->desc_size);
	ring_map(&uq->event, uq->map, &at->event, at->event_ring_size,
		 at->event_size);
	uq->state = (struct kni_state *)(uq->map + at->state);
	return 0;
}

/*
 * Attach to queue QUEUE of DEV with attach flags FLAGS, the largest MTU
 * MAX_MTU and the offloads OFFLOADS, and map the region; 0 or -errno.
 */
static inline int uq_attach_offloads(struct uqueue *uq, const char *dev,
				     __u32 queue, __u32 flags, __u32 max_mtu,
				     __u32 offloads)
{
	uq->fd = open("/dev/kni", O_RDWR | O_CLOEXEC);
	if (uq->fd < 0)
		return -errno;
	attach_args(&uq->at, dev, queue);
	uq->at.flags = flags;
	uq->at.max_mtu = max_mtu;
	uq->at.offloads = offloads;
	if (ioctl(uq->fd, KNI_IOC_ATTACH, &uq->at))
		return -errno;
	return uq_map(uq);
}

static inline int uq_attach(struct uqueue *uq, const char *dev, __u32 queue,
			    __u32 flags, __u32 max_mtu)
{
	return uq_attach_offloads(uq, dev, queue, flags, max_mtu, 0);
}

static inline void uq_close(struct uqueue *uq)
{
	if (uq->map)
		munmap(uq->map, uq->at.mmap_size);
	close(uq->fd);
	memset(uq, 0, sizeof(*uq));
}

static inline unsigned char *frame(struct uqueue *uq, __u64 addr)
{
	return uq->map + uq->at.frames + addr;
}

/* Publish N more entries on a ring userspace produces on. */
static inline void produce(struct uring *r, __u32 n)
{
	__atomic_store_n(r->prod, *r->prod + n, __ATOMIC_RELEASE);
}

/* Kick when the kernel asked for it; the kick's result, or 0. */
static inline int kick_if_needed(struct uqueue *uq)
{
	/* Pairs with the kernel's barrier between its flag and index. */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if ((__atomic_load_n(uq->rx.flags, __ATOMIC_RELAXED) |
	     __atomic_load_n(uq->alloc.flags, __ATOMIC_RELAXED)) &
	    KNI_RING_F_NEED_WAKEUP)
		return ioctl(uq->fd, KNI_IOC_KICK, 0);
	return 0;
}

static inline __u32 entries(struct uring *r)
{
	return __atomic_load_n(r->prod, __ATOMIC_ACQUIRE) - *r->cons;
}

static inline void consume(struct uring *r, __u32 n)
{
	__atomic_store_n(r->cons, *r->cons + n, __ATOMIC_RELEASE);
}

/*
 * Wait until ring R holds at least N entries, kicking whenever the kernel
 * asks for it; false when ten seconds pass first, far more than a debug
 * kernel under emulation needs.
 */
static inline bool wait_entries(struct uqueue *uq, struct uring *r, __u32 n)
{
	struct timespec ts;
	time_t end;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	end = ts.tv_sec + 10;
	for (;;) {
		if (entries(r) >= n)
			return true;
		clock_gettime(CLOCK_MONOTONIC, &ts);
		if (ts.tv_sec > end)
			return false;
		usleep(1000);
		kick_if_needed(uq);
	}
}

/* Offer frames [first, first + n) on alloc. */
static inline void give_alloc(struct uqueue *uq, __u32 first, __u32 n)
{
	__u32 i, p = *uq->alloc.prod;

	for (i = 0; i < n; i++) {
		struct kni_desc *d = desc_at(&uq->alloc, p + i);

		d->addr = (__u64)(first + i) * uq->at.frame_size;
		d->len = 0;
		d->flags = 0;
	}
	produce(&uq->alloc, n);
}

/* Take the next event off the event ring; false when it is empty. */
static inline bool next_event(struct uqueue *uq, struct kni_event *ev)
{
	if (!entries(&uq->event))
		return false;
	*ev = *event_at(&uq->event, *uq->event.cons);
	consume(&uq->event, 1);
	return true;
}

/* A consistent copy of the state block. */
static inline void read_state(struct uqueue *uq, struct kni_state *st)
{
	__u32 seq;

	for (;;) {
		seq = __atomic_load_n(&uq->state->seq, __ATOMIC_ACQUIRE);
		if (seq & 1)
			continue;
		memcpy(st, uq->state, sizeof(*st));
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&uq->state->seq, __ATOMIC_RELAXED) == seq)
			return;
	}
}

/*
 * Traffic both ways with nothing but the queue: ARP requests from
 * 10.0.0.1 for 10.0.0.2 (the address of the kni device) go to the stack,
 * whose replies come back on tx. The first PUMP_RX frames carry requests;
 * alloc gets up to 64 frames from ring_size on.
 */
#define PUMP_RX		8

struct pump {
	struct uqueue *uq;
	unsigned long sent;
	unsigned long received;
};

static inline void pump_init(struct pump *p, struct uqueue *uq)
{
	__u32 n = uq->at.ring_size < 64 ? uq->at.ring_size : 64;

	memset(p, 0, sizeof(*p));
	p->uq = uq;
	give_alloc(uq, uq->at.ring_size, n);
}

static inline void pump_arp_request(unsigned char *f)
{
	static const unsigned char mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const unsigned char arp[] = {
		0x00, 0x01, 0x08, 0x00, 6, 4, 0x00, 0x01,
	};
	static const unsigned char spa[4] = { 10, 0, 0, 1 };
	static const unsigned char tpa[4] = { 10, 0, 0, 2 };

	memset(f, 0, 60);
	memset(f, 0xff, ETH_ALEN);
	memcpy(f + 6, mac, ETH_ALEN);
	f[12] = ETH_P_ARP >> 8;
	f[13] = ETH_P_ARP & 0xff;
	memcpy(f + 14, arp, sizeof(arp));
	memcpy(f + 22, mac, ETH_ALEN);
	memcpy(f + 28, spa, 4);
	memcpy(f + 38, tpa, 4);
}

/*
 * One round: post requests where rx has room, take back what the kernel
 * is done with, hand tx frames back to alloc, kick. Returns the kick's
 * error (-ENODEV once the device is gone), or 0.
 */
static inline int pump_round(struct pump *p)
{
	struct uqueue *uq = p->uq;
	__u32 fs = uq->at.frame_size, n, i;

	n = entries(&uq->free);
	consume(&uq->free, n);
	if (*uq->rx.prod - __atomic_load_n(uq->rx.cons, __ATOMIC_ACQUIRE) == 0) {
		for (i = 0; i < PUMP_RX; i++) {
			struct kni_desc *d = prod_desc(&uq->rx, i);

			pump_arp_request(frame(uq, (__u64)i * fs));
			d->addr = (__u64)i * fs;
			d->len = 60;
			d->flags = 0;
		}
		produce(&uq->rx, PUMP_RX);
		p->sent += PUMP_RX;
	}

	n = entries(&uq->tx);
	for (i = 0; i < n; i++) {
		struct kni_desc *t = cons_desc(&uq->tx, i);
		struct kni_desc *a = prod_desc(&uq->alloc, i);

		a->addr = t->addr - t->addr % fs;
		a->len = 0;
		a->flags = 0;
	}
	consume(&uq->tx, n);
	produce(&uq->alloc, n);
	p->received += n;

	if (ioctl(uq->fd, KNI_IOC_KICK, 0))
		return -errno;
	return 0;
}

#endif /* _KNI_UQ_H */
