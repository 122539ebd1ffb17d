// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libkni: attaching to a queue, its layout, its control ioctls, and the
 * device's events and state.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <sched.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <unistd.h>
#include <linux/if_ether.h>

#include "libkni_internal.h"

static bool kni_is_pow2(__u32 v)
{
	return v && !(v & (v - 1));
}

/* Does [off, off + len) lie in a region of SIZE bytes, aligned to ALIGN? */
static bool kni_span_ok(__u64 off, __u64 len, __u64 size, __u64 align)
{
	return !(off & (align - 1)) && off <= size && len <= size - off;
}

/* A ring of ENTRIES slots of STRIDE bytes, aligned to ALIGN. */
static bool kni_ring_ok(const struct kni_ring_offsets *o, __u32 entries,
			__u32 stride, __u64 align, __u64 size)
{
	return kni_span_ok(o->producer, sizeof(__u32), size, sizeof(__u32)) &&
	       kni_span_ok(o->consumer, sizeof(__u32), size, sizeof(__u32)) &&
	       kni_span_ok(o->flags, sizeof(__u32), size, sizeof(__u32)) &&
	       kni_span_ok(o->desc, (__u64)entries * stride, size, align);
}

/*
 * Are the ring slots and the state block at least as large as the
 * structures this library was built with? A kernel may make them larger
 * (the fields this library knows keep their place), never smaller.
 */
static bool kni_sizes_known(const struct kni_attach *at)
{
	return at->desc_size >= sizeof(struct kni_desc) &&
	       at->event_size >= sizeof(struct kni_event) &&
	       at->state_size >= sizeof(struct kni_state);
}

/* Is the layout the kernel returned one this library can use? */
static bool kni_layout_ok(const struct kni_attach *at)
{
	const __u64 da = __alignof__(struct kni_desc);
	const __u64 ea = __alignof__(struct kni_event);
	__u64 size = at->mmap_size;

	if (!size || size > SIZE_MAX || !kni_is_pow2(at->ring_size) ||
	    !kni_is_pow2(at->frame_size) || !kni_is_pow2(at->event_ring_size))
		return false;
	/* Frames for sending and for receiving, one ring's worth each. */
	if (at->ring_size > (1U << 24) || at->frame_count < 2 * at->ring_size)
		return false;
	if (at->headroom >= at->frame_size ||
	    at->frame_size - at->headroom < ETH_HLEN)
		return false;
	/* Metadata the library can read, inside the headroom, with offloads. */
	if (at->meta_size > at->headroom ||
	    (at->offloads && at->meta_size < sizeof(struct virtio_net_hdr)) ||
	    (!at->offloads && at->meta_size))
		return false;
	/* Every slot keeps the alignment of the structure in it. */
	if (at->desc_size % da || at->event_size % ea)
		return false;
	if (!kni_span_ok(at->frames, (__u64)at->frame_count * at->frame_size,
			 size, 1))
		return false;
	if (!kni_span_ok(at->state, at->state_size, size, sizeof(__u32)))
		return false;
	return kni_ring_ok(&at->rx, at->ring_size, at->desc_size, da, size) &&
	       kni_ring_ok(&at->free, at->ring_size, at->desc_size, da, size) &&
	       kni_ring_ok(&at->alloc, at->ring_size, at->desc_size, da, size) &&
	       kni_ring_ok(&at->tx, at->ring_size, at->desc_size, da, size) &&
	       kni_ring_ok(&at->event, at->event_ring_size, at->event_size,
			   ea, size);
}

static void kni_ring_init(struct kni_uring *r, unsigned char *map,
			  const struct kni_ring_offsets *o, __u32 size,
			  __u32 stride)
{
	r->producer = (__u32 *)(map + o->producer);
	r->consumer = (__u32 *)(map + o->consumer);
	r->flags = (__u32 *)(map + o->flags);
	r->desc = map + o->desc;
	r->stride = stride;
	r->size = size;
	r->mask = size - 1;
	r->cached_prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
	r->cached_cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
}

static int kni_ioctl(struct kni_queue *q, unsigned long cmd, unsigned long arg)
{
	return ioctl(q->fd, cmd, arg) ? -errno : 0;
}

void kni_kick_if_needed(struct kni_queue *q, struct kni_uring *r,
			struct kni_queue_stats *st)
{
	/*
	 * Order the index just published before the load of the flag. Pairs
	 * with the kernel's full barrier between setting NEED_WAKEUP and its
	 * last look at the indexes: either it sees our index, or we see its
	 * flag.
	 */
	__atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (!(__atomic_load_n(r->flags, __ATOMIC_RELAXED) &
	      KNI_RING_F_NEED_WAKEUP))
		return;
	st->kicks++;
	if (ioctl(q->fd, KNI_IOC_KICK, 0)) {
		st->kick_errors++;
		if (errno == ENODEV)
			__atomic_store_n(&q->gone, 1, __ATOMIC_RELAXED);
	}
}

int kni_queue_kick(struct kni_queue *q)
{
	int err;

	if (!q)
		return -EINVAL;
	q->ctl_stats.kicks++;
	err = kni_ioctl(q, KNI_IOC_KICK, 0);
	if (err == -ENODEV)
		__atomic_store_n(&q->gone, 1, __ATOMIC_RELAXED);
	return err;
}

int kni_queue_set_busy(struct kni_queue *q, bool busy)
{
	if (!q)
		return -EINVAL;
	return kni_ioctl(q, KNI_IOC_WAKEUPS, busy ? 0 : 1);
}

int kni_queue_set_carrier(struct kni_queue *q, bool on)
{
	if (!q)
		return -EINVAL;
	return kni_ioctl(q, KNI_IOC_CARRIER, on ? 1 : 0);
}

int kni_queue_fd(const struct kni_queue *q)
{
	return q ? q->fd : -EINVAL;
}

const struct kni_queue_info *kni_queue_info(const struct kni_queue *q)
{
	return q ? &q->info : NULL;
}

int kni_queue_stats(const struct kni_queue *q, struct kni_queue_stats *stats)
{
	const struct kni_queue_stats *s, *r, *c;
	struct kni_queue_stats all;

	if (!q || !stats)
		return -EINVAL;
	s = &q->send_stats;
	r = &q->recv_stats;
	c = &q->ctl_stats;
	all = (struct kni_queue_stats) {
		.sent = s->sent,
		.send_dropped = s->send_dropped,
		.received = r->received,
		.truncated = r->truncated,
		.kicks = s->kicks + r->kicks + c->kicks,
		.kick_errors = s->kick_errors + r->kick_errors + c->kick_errors,
		.bad_desc = s->bad_desc + r->bad_desc + c->bad_desc,
		.events = c->events,
	};
	return kni_copy_out(stats, &all, KNI_SZ_QUEUE_STATS);
}

__u32 kni_queue_event_overflows(const struct kni_queue *q)
{
	return q ? q->seen.overflows : 0;
}

/*
 * Read the state block with the kernel's sequence count: retry while the
 * count is odd (an update is in progress) or changed during the copy.
 */
static int kni_read_state(struct kni_queue *q, struct kni_dev_state *st)
{
	struct kni_state *ks = q->state;
	__u32 seq, flags, n, j;
	int i, tries;

	memset(st, 0, sizeof(*st));
	for (tries = 0; tries < 10000; tries++) {
		/* Pairs with the kernel's release of the count after the update. */
		seq = __atomic_load_n(&ks->seq, __ATOMIC_ACQUIRE);
		if (seq & 1) {
			sched_yield();
			continue;
		}
		st->mtu = __atomic_load_n(&ks->mtu, __ATOMIC_RELAXED);
		flags = __atomic_load_n(&ks->flags, __ATOMIC_RELAXED);
		st->overflows = __atomic_load_n(&ks->overflows, __ATOMIC_RELAXED);
		for (i = 0; i < ETH_ALEN; i++)
			st->addr[i] = __atomic_load_n(&ks->addr[i],
						      __ATOMIC_RELAXED);
		st->mc_count = __atomic_load_n(&ks->mc_count, __ATOMIC_RELAXED);
		n = st->mc_count < KNI_STATE_MC_MAX ? st->mc_count :
						      KNI_STATE_MC_MAX;
		memset(st->mc_addr, 0, sizeof(st->mc_addr));
		for (j = 0; j < n; j++)
			for (i = 0; i < ETH_ALEN; i++)
				st->mc_addr[j][i] =
					__atomic_load_n(&ks->mc_addr[j][i],
							__ATOMIC_RELAXED);
		/* The copy completes before the count is read again. */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		if (__atomic_load_n(&ks->seq, __ATOMIC_RELAXED) != seq)
			continue;
		st->up = flags & KNI_STATE_F_UP;
		st->promisc = flags & KNI_STATE_F_PROMISC;
		st->allmulti = flags & KNI_STATE_F_ALLMULTI;
		st->gone = flags & KNI_STATE_F_GONE;
		st->mc_all = flags & KNI_STATE_F_MC_ALL;
		return 0;
	}
	return -EAGAIN;
}

int kni_queue_state(struct kni_queue *q, struct kni_dev_state *state)
{
	struct kni_dev_state st;
	int err;

	if (!q || !state)
		return -EINVAL;
	err = kni_read_state(q, &st);
	if (!err)
		err = kni_copy_out(state, &st, KNI_SZ_DEV_STATE);
	if (!err)
		q->seen.overflows = st.overflows;
	return err;
}

/* Report one change to the callbacks and remember it. */
static void kni_report(struct kni_queue *q, __u32 type, __u32 value,
		       const __u8 *addr)
{
	struct kni_dev_state *seen = &q->seen;
	const struct kni_ops *ops = &q->ops;

	switch (type) {
	case KNI_EVENT_MTU:
		seen->mtu = value;
		if (ops->mtu)
			ops->mtu(q->cookie, value);
		break;
	case KNI_EVENT_UP:
		seen->up = value;
		if (ops->link)
			ops->link(q->cookie, value);
		break;
	case KNI_EVENT_MAC:
		memcpy(seen->addr, addr, ETH_ALEN);
		if (ops->mac)
			ops->mac(q->cookie, seen->addr);
		break;
	case KNI_EVENT_PROMISC:
		seen->promisc = value;
		if (ops->promisc)
			ops->promisc(q->cookie, value);
		break;
	case KNI_EVENT_ALLMULTI:
		seen->allmulti = value;
		if (ops->allmulti)
			ops->allmulti(q->cookie, value);
		break;
	case KNI_EVENT_GONE:
		seen->gone = true;
		if (ops->gone)
			ops->gone(q->cookie);
		break;
	}
}

/* Report the multicast list of the state ST and remember it. */
static void kni_report_mcast(struct kni_queue *q,
			     const struct kni_dev_state *st)
{
	struct kni_dev_state *seen = &q->seen;
	const struct kni_ops *ops = &q->ops;

	seen->mc_count = st->mc_count;
	seen->mc_all = st->mc_all;
	memcpy(seen->mc_addr, st->mc_addr, sizeof(seen->mc_addr));
	if (ops->mcast)
		ops->mcast(q->cookie, &seen->mc_addr[0][0],
			   seen->mc_count < KNI_STATE_MC_MAX ?
			   seen->mc_count : KNI_STATE_MC_MAX, seen->mc_all);
}

/*
 * Report what differs between the callbacks' view and the state ST. The
 * multicast list is reported from here only: KNI_EVENT_MCAST carries no
 * list, the state block holds it.
 */
static int kni_resync(struct kni_queue *q, const struct kni_dev_state *st)
{
	struct kni_dev_state *seen = &q->seen;
	int n = 0;

	seen->overflows = st->overflows;
	if (seen->gone)
		return 0;
	if (st->mtu != seen->mtu) {
		kni_report(q, KNI_EVENT_MTU, st->mtu, NULL);
		n++;
	}
	if (memcmp(st->addr, seen->addr, ETH_ALEN)) {
		kni_report(q, KNI_EVENT_MAC, 0, st->addr);
		n++;
	}
	if (st->promisc != seen->promisc) {
		kni_report(q, KNI_EVENT_PROMISC, st->promisc, NULL);
		n++;
	}
	if (st->allmulti != seen->allmulti) {
		kni_report(q, KNI_EVENT_ALLMULTI, st->allmulti, NULL);
		n++;
	}
	if (st->mc_count != seen->mc_count || st->mc_all != seen->mc_all ||
	    memcmp(st->mc_addr, seen->mc_addr, sizeof(st->mc_addr))) {
		kni_report_mcast(q, st);
		n++;
	}
	if (st->up != seen->up) {
		kni_report(q, KNI_EVENT_UP, st->up, NULL);
		n++;
	}
	if (st->gone) {
		kni_report(q, KNI_EVENT_GONE, 0, NULL);
		n++;
	}
	return n;
}

/* Report the events on the ring up to the producer PROD. */
static int kni_drain_events(struct kni_queue *q, __u32 prod)
{
	struct kni_uring *r = &q->event;
	__u32 n = prod - r->cached_cons, i;
	int calls = 0;

	if (n > r->size) {
		/* Not a count the kernel can produce: keep the newest. */
		q->ctl_stats.bad_desc += n - r->size;
		r->cached_cons = prod - r->size;
		n = r->size;
	}
	for (i = 0; i < n; i++) {
		struct kni_event ev = kni_event_read(r, r->cached_cons++);

		/* The multicast list comes from the state (kni_resync()). */
		if (ev.type < KNI_EVENT_MTU || ev.type > KNI_EVENT_GONE ||
		    q->seen.gone)
			continue;
		kni_report(q, ev.type, ev.value, ev.addr);
		calls++;
	}
	/* The slots are read: the kernel may reuse them. */
	__atomic_store_n(r->consumer, r->cached_cons, __ATOMIC_RELEASE);
	q->ctl_stats.events += n;
	return calls;
}

int kni_queue_events(struct kni_queue *q)
{
	struct kni_dev_state st;
	int calls = 0, err, tries;
	__u32 prod, now;

	if (!q)
		return -EINVAL;
	/* Pairs with the kernel's release of the producer after the slots. */
	prod = __atomic_load_n(q->event.producer, __ATOMIC_ACQUIRE);
	for (tries = 0;; tries++) {
		calls += kni_drain_events(q, prod);
		err = kni_read_state(q, &st);
		if (err)
			return err;
		/*
		 * The kernel writes the state before it posts the event. If
		 * events came meanwhile, the state may hold a change newer
		 * than one of them: report those first, or the callbacks
		 * would see the newer value and then the older one.
		 */
		__atomic_thread_fence(__ATOMIC_ACQUIRE);
		now = __atomic_load_n(q->event.producer, __ATOMIC_ACQUIRE);
		if (now == prod)
			break;
		/*
		 * Still changing: the events drained so far came in order,
		 * and the state waits for a call that finds the ring still.
		 */
		if (tries == 3)
			return calls;
		prod = now;
	}
	return calls + kni_resync(q, &st);
}

static int kni_frames_init(struct kni_queue *q)
{
	__u32 rs = q->info.ring_size, i;

	q->pool = calloc(rs, sizeof(*q->pool));
	q->owner = calloc(2 * rs, sizeof(*q->owner));
	if (!q->pool || !q->owner)
		return -ENOMEM;
	for (i = 0; i < rs; i++)
		q->pool[i] = rs - 1 - i;
	q->pool_len = rs;

	/* Offer every receive frame to the kernel. */
	if (q->alloc.cached_prod - q->alloc.cached_cons)
		return -EPROTO;
	for (i = 0; i < rs; i++) {
		kni_prod_put(&q->alloc, (__u64)(rs + i) * q->info.frame_size,
			     0, 0);
		q->owner[rs + i] = KNI_FRAME_KERNEL;
	}
	/* Pairs with the kernel's load-acquire of the alloc producer. */
	__atomic_store_n(q->alloc.producer, q->alloc.cached_prod,
			 __ATOMIC_RELEASE);
	kni_kick_if_needed(q, &q->alloc, &q->recv_stats);
	return 0;
}

int kni_queue_attach(struct kni_queue **qp, int ifindex, unsigned int queue,
		     const struct kni_queue_opts *opts)
{
	struct kni_attach at = {
		.ifindex = (__u32)ifindex,
		.queue = queue,
	};
	struct kni_queue_opts o = {};
	struct kni_ops ops = {};
	struct kni_queue *q;
	int err;

	if (!qp || ifindex <= 0)
		return -EINVAL;
	*qp = NULL;
	if (opts) {
		err = kni_copy_in(&o, opts, KNI_SZ_QUEUE_OPTS);
		if (err)
			return err;
	}
	if (o.ops) {
		err = kni_copy_in(&ops, o.ops, KNI_SZ_OPS);
		if (err)
			return err;
	}
	if (o.flags & ~KNI_ATTACH_F_FIXED_MAC)
		return -EINVAL;
	at.flags = o.flags;
	at.max_mtu = o.max_mtu;
	at.offloads = o.offloads;
	q = calloc(1, sizeof(*q));
	if (!q)
		return -ENOMEM;
	q->map = MAP_FAILED;
	q->fd = open("/dev/kni", O_RDWR | O_CLOEXEC);
	if (q->fd < 0) {
		err = -errno;
		goto err_free;
	}
	if (ioctl(q->fd, KNI_IOC_ATTACH, &at)) {
		err = -errno;
		goto err_close;
	}
	if (!kni_sizes_known(&at)) {
		err = -EPROTONOSUPPORT;
		goto err_close;
	}
	/* Only offloads that were asked for. */
	if (!kni_layout_ok(&at) || (at.offloads & ~o.offloads)) {
		err = -EPROTO;
		goto err_close;
	}
	/*
	 * Shared: the kernel refuses a private mapping of the region. Mapped
	 * whole now, not page by page as packets first touch frames: a page
	 * fault on the data path costs more than the packet's copy.
	 */
	q->map = mmap(NULL, at.mmap_size, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_POPULATE, q->fd, 0);
	if (q->map == MAP_FAILED) {
		err = -errno;
		goto err_close;
	}
	q->info = (struct kni_queue_info) {
		.ifindex = (__u32)ifindex,
		.queue = queue,
		.ring_size = at.ring_size,
		.frame_size = at.frame_size,
		.frame_count = 2 * at.ring_size,
		.headroom = at.headroom,
		.data_room = at.frame_size - at.headroom,
		.event_ring_size = at.event_ring_size,
		.mmap_size = at.mmap_size,
		.offloads = at.offloads,
		.meta_size = at.meta_size,
	};
	q->frames = q->map + at.frames;
	q->state = (struct kni_state *)(q->map + at.state);
	kni_ring_init(&q->rx, q->map, &at.rx, at.ring_size, at.desc_size);
	kni_ring_init(&q->free, q->map, &at.free, at.ring_size, at.desc_size);
	kni_ring_init(&q->alloc, q->map, &at.alloc, at.ring_size,
		      at.desc_size);
	kni_ring_init(&q->tx, q->map, &at.tx, at.ring_size, at.desc_size);
	kni_ring_init(&q->event, q->map, &at.event, at.event_ring_size,
		      at.event_size);
	q->ops = ops;
	q->cookie = o.cookie;

	/* The callbacks start from the state at attach. */
	err = kni_read_state(q, &q->seen);
	if (!err && q->seen.gone)
		/* Deleted since the ioctl: no callback would say so. */
		err = -ENODEV;
	if (err)
		goto err_unmap;
	err = kni_frames_init(q);
	if (err)
		goto err_unmap;
	*qp = q;
	return 0;

err_unmap:
	munmap(q->map, at.mmap_size);
err_close:
	close(q->fd);
err_free:
	free(q->pool);
	free(q->owner);
	free(q);
	return err;
}

void kni_queue_detach(struct kni_queue *q)
{
	if (!q)
		return;
	munmap(q->map, q->info.mmap_size);
	close(q->fd);
	free(q->pool);
	free(q->owner);
	free(q);
}

/* Messages longer than a line, kept whole so that they can be found. */
#define KNI_ERR_SIZES \
	"the kernel's ring slots or state block are smaller than libkni's structures (a kernel older than libkni's linux/kni.h)"
#define KNI_ERR_FIELD \
	"a field is set that libkni does not know (a non-zero byte past its size of the structure) or the kernel does not know (in struct kni_attach)"
#define KNI_ERR_MEMLOCK \
	"the region exceeds the caller's RLIMIT_MEMLOCK (needs CAP_IPC_LOCK or a larger limit)"

const char *kni_strerror(int err)
{
	const char *s;

	if (err < 0)
		err = -err;
	switch (err) {
	case 0:
		return "success";
	case EPROTO:
		return "the kernel's queue layout is not one libkni can use";
	case EBUSY:
		return "the queue is attached already (or the device is busy)";
	case ENODEV:
		return "no such kni device, or the device is gone";
	case ENOENT:
		return "no /dev/kni: is the kni module loaded?";
	case ENOTCONN:
		return "the file is not attached to a queue";
	case EPROTONOSUPPORT:
		return KNI_ERR_SIZES;
	case ENOBUFS:
		return KNI_ERR_MEMLOCK;
	case E2BIG:
		return KNI_ERR_FIELD;
	}
	s = strerrordesc_np(err);
	return s ? s : "unknown error";
}
