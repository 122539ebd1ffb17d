// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libkni: the data path. Sending produces on rx and takes the frames back
 * from free; receiving consumes tx and gives the frames back on alloc.
 *
 * Ring indexes shared with the kernel are read with a load-acquire before
 * the slots they cover and written with a store-release after the slots,
 * as the uapi header describes; a descriptor from the kernel is copied
 * once, a relaxed atomic load per field (kni_desc_read()), and only the
 * copy is checked and used: one outside the frames it may name is counted
 * in bad_desc and skipped, never followed.
 */

#include <errno.h>
#include <string.h>
#include <linux/if_ether.h>

#include "libkni_internal.h"

/* Entries a consumer may read, refreshing the producer when none is left. */
static __u32 kni_cons_avail(struct kni_uring *r)
{
	__u32 n = r->cached_prod - r->cached_cons;

	if (!n) {
		/* Pairs with the kernel's store-release of the producer. */
		r->cached_prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
		n = r->cached_prod - r->cached_cons;
	}
	return n > r->size ? r->size : n;
}

static void kni_cons_release(struct kni_uring *r)
{
	/* The slots are read: the kernel may overwrite them. */
	__atomic_store_n(r->consumer, r->cached_cons, __ATOMIC_RELEASE);
}

/* Slots a producer may fill, refreshing the consumer when fewer than WANT. */
static __u32 kni_prod_space(struct kni_uring *r, __u32 want)
{
	__u32 used = r->cached_prod - r->cached_cons;

	if (used > r->size || r->size - used < want) {
		/* Pairs with the kernel's store-release of the consumer. */
		r->cached_cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
		used = r->cached_prod - r->cached_cons;
	}
	return used > r->size ? 0 : r->size - used;
}

static void kni_prod_publish(struct kni_uring *r)
{
	/* Pairs with the kernel's load-acquire of the producer. */
	__atomic_store_n(r->producer, r->cached_prod, __ATOMIC_RELEASE);
}

/*
 * The send side's lock: its calls hold it throughout, the receive side only
 * tries it to reclaim sent frames. Uncontended unless both directions run
 * at once, and then held by the receive side only for a reclaim.
 */
static void kni_send_lock(struct kni_queue *q)
{
	while (__atomic_exchange_n(&q->send_lock, 1, __ATOMIC_ACQUIRE)) {
		/* Spin on a plain load, not on the exchange's cache misses. */
		while (__atomic_load_n(&q->send_lock, __ATOMIC_RELAXED))
			continue;
	}
}

static bool kni_send_trylock(struct kni_queue *q)
{
	return !__atomic_exchange_n(&q->send_lock, 1, __ATOMIC_ACQUIRE);
}

static void kni_send_unlock(struct kni_queue *q)
{
	__atomic_store_n(&q->send_lock, 0, __ATOMIC_RELEASE);
}

/*
 * Take back the frames the kernel finished sending into the pool. Send
 * side, under send_lock.
 */
static void kni_reclaim(struct kni_queue *q)
{
	__u32 rs = q->info.ring_size, fs = q->info.frame_size;
	struct kni_uring *r = &q->free;
	__u32 n = kni_cons_avail(r), i;

	if (!n)
		return;
	for (i = 0; i < n; i++) {
		struct kni_desc d = kni_desc_read(r, r->cached_cons++);
		__u64 frame = d.addr / fs;

		/* Only the copy is looked at: a send frame the kernel holds. */
		if (frame >= rs || q->owner[frame] != KNI_FRAME_KERNEL) {
			q->send_stats.bad_desc++;
			continue;
		}
		/* A packet's last descriptor speaks for the whole. */
		if ((d.flags & (KNI_DESC_F_DROPPED | KNI_DESC_F_NEXT)) ==
		    KNI_DESC_F_DROPPED)
			q->send_stats.send_dropped++;
		q->owner[frame] = KNI_FRAME_LIBRARY;
		q->pool[q->pool_len++] = (__u32)frame;
	}
	kni_cons_release(r);
	/*
	 * No kick: the kernel stops consuming rx for room on free only when
	 * free is full, which with one slot per send frame means that every
	 * send frame is on free and rx is empty. A kick is only worth its
	 * syscall after packets were put on rx (kni_send_publish()).
	 */
}

/* The largest packet the queue carries: one frame's, or a chain's. */
static __u32 kni_max_packet(const struct kni_queue *q)
{
	if (q->info.offloads & KNI_OFFLOAD_CHAIN)
		return KNI_CHAIN_LEN_MAX;
	return q->info.data_room;
}

/*
 * A packet, or with NEXT allowed a part of one; PART says that it follows
 * a part with KNI_DESC_F_NEXT, so a byte will do.
 */
static bool kni_send_ok(const struct kni_buf *b, bool next, bool part)
{
	__u32 known = KNI_DESC_F_CSUM_VALID | (next ? KNI_DESC_F_NEXT : 0);

	return b->len >= (part ? 1 : ETH_HLEN) && !(b->flags & ~known);
}

/* A buffer kni_send_burst() can copy into frames. */
static bool kni_send_copy_ok(const struct kni_queue *q, const struct kni_buf *b)
{
	return b->data && kni_send_ok(b, false, false) &&
	       b->len <= kni_max_packet(q);
}

/* Publish N packets put on rx; the only place the send side kicks. */
static void kni_send_publish(struct kni_queue *q, unsigned int n)
{
	if (!n)
		return;
	kni_prod_publish(&q->rx);
	q->send_stats.sent += n;
	kni_kick_if_needed(q, &q->rx, &q->send_stats);
}

/* The metadata at the start of frame FRAME. */
static struct virtio_net_hdr *kni_meta_of(const struct kni_queue *q,
					  __u64 frame)
{
	return (struct virtio_net_hdr *)(q->frames +
					 frame * q->info.frame_size);
}

int kni_send_burst_meta(struct kni_queue *q, const struct kni_buf *bufs,
			const struct virtio_net_hdr *meta, unsigned int n)
{
	__u32 fs, room, space;
	unsigned int i;

	if (!q || (n && !bufs))
		return -EINVAL;
	if (meta && !q->info.meta_size)
		return -EOPNOTSUPP;
	if (kni_queue_gone(q))
		return -ENODEV;
	if (n && !kni_send_copy_ok(q, &bufs[0]))
		return -EINVAL;
	fs = q->info.frame_size;
	room = q->info.data_room;
	kni_send_lock(q);
	if (q->pool_len < n)
		kni_reclaim(q);
	space = kni_prod_space(&q->rx, n);
	for (i = 0; i < n; i++) {
		const struct kni_buf *b = &bufs[i];
		__u32 frame, j, k, off, part;
		__u64 addr;

		if (!kni_send_copy_ok(q, b))
			break;
		/* A packet longer than a frame holds takes a chain of them. */
		k = (b->len + room - 1) / room;
		if (q->pool_len < k)
			kni_reclaim(q);
		if (space < k)
			space = kni_prod_space(&q->rx, k);
		if (q->pool_len < k || space < k)
			break;
		for (j = 0, off = 0; j < k; j++, off += part) {
			part = b->len - off < room ? b->len - off : room;
			frame = q->pool[--q->pool_len];
			addr = (__u64)frame * fs + q->info.headroom;
			memcpy(q->frames + addr, (const char *)b->data + off,
			       part);
			/* Without metadata, none: not what the frame held. */
			if (!j && meta)
				*kni_meta_of(q, frame) = meta[i];
			else if (!j && q->info.meta_size)
				memset(kni_meta_of(q, frame), 0, sizeof(*meta));
			q->owner[frame] = KNI_FRAME_KERNEL;
			kni_prod_put(&q->rx, addr, part,
				     (j ? 0 : b->flags) |
				     (j + 1 < k ? KNI_DESC_F_NEXT : 0));
		}
		space -= k;
	}
	kni_send_publish(q, i);
	kni_send_unlock(q);
	return (int)i;
}

int kni_send_burst(struct kni_queue *q, const struct kni_buf *bufs,
		   unsigned int n)
{
	return kni_send_burst_meta(q, bufs, NULL, n);
}

unsigned int kni_frame_reserve(struct kni_queue *q, void **data,
			       unsigned int n)
{
	unsigned int i;

	if (!q || !data)
		return 0;
	kni_send_lock(q);
	if (q->pool_len < n)
		kni_reclaim(q);
	for (i = 0; i < n && q->pool_len; i++) {
		__u32 frame = q->pool[--q->pool_len];

		q->owner[frame] = KNI_FRAME_CALLER;
		if (q->info.meta_size)
			memset(kni_meta_of(q, frame), 0,
			       sizeof(struct virtio_net_hdr));
		data[i] = q->frames + (__u64)frame * q->info.frame_size +
			  q->info.headroom;
	}
	kni_send_unlock(q);
	return i;
}

/* The frame P points into, or -1 when P is outside the frames. */
static long long kni_frame_of(const struct kni_queue *q, const void *p)
{
	const unsigned char *c = p;
	__u64 frame;

	if (!c || c < q->frames)
		return -1;
	frame = (__u64)(c - q->frames) / q->info.frame_size;
	return frame < q->info.frame_count ? (long long)frame : -1;
}

/*
 * The send frame P points into, or -1 when it is none or not owned by the
 * caller. Send side, under send_lock.
 */
static long long kni_caller_send_frame(const struct kni_queue *q,
				       const void *p)
{
	long long frame = kni_frame_of(q, p);

	if (frame < 0 || frame >= q->info.ring_size ||
	    q->owner[frame] != KNI_FRAME_CALLER)
		return -1;
	return frame;
}

int kni_frame_submit(struct kni_queue *q, const struct kni_buf *bufs,
		     unsigned int n)
{
	unsigned int i, whole = 0, packets = 0, stop;
	__u32 fs, space;
	bool chain;

	if (!q || (n && !bufs))
		return -EINVAL;
	if (kni_queue_gone(q))
		return -ENODEV;
	fs = q->info.frame_size;
	chain = q->info.offloads & KNI_OFFLOAD_CHAIN;
	kni_send_lock(q);
	space = kni_prod_space(&q->rx, n);
	for (i = 0; i < n && space; i++, space--) {
		const struct kni_buf *b = &bufs[i];
		long long frame = kni_caller_send_frame(q, b->data);
		bool part = i > whole;
		__u64 addr;

		if (frame < 0 || !kni_send_ok(b, chain, part))
			break;
		addr = (__u64)((unsigned char *)b->data - q->frames);
		/* The packet ends inside its frame. */
		if (b->len > fs - addr % fs)
			break;
		q->owner[frame] = KNI_FRAME_KERNEL;
		kni_prod_put(&q->rx, addr, b->len, b->flags);
		if (!(b->flags & KNI_DESC_F_NEXT)) {
			whole = i + 1;
			packets++;
		}
	}
	/* The kernel takes a chain whole: the parts of one cut short stay. */
	stop = i;
	while (i > whole) {
		i--;
		q->owner[kni_frame_of(q, bufs[i].data)] = KNI_FRAME_CALLER;
		q->rx.cached_prod--;
	}
	kni_send_publish(q, packets);
	kni_send_unlock(q);
	if (!i && n) {
		/* Stopped for want of room: the caller tries again. */
		if (stop < n && !space)
			return 0;
		/* A bad buffer, or a chain the burst does not end. */
		return -EINVAL;
	}
	return (int)i;
}

/* Offer receive frame FRAME to the kernel again. Receive side. */
static void kni_alloc_put(struct kni_queue *q, __u32 frame)
{
	if (!kni_prod_space(&q->alloc, 1)) {
		/* Cannot happen: alloc has a slot for every receive frame. */
		q->recv_stats.bad_desc++;
		return;
	}
	q->owner[frame] = KNI_FRAME_KERNEL;
	kni_prod_put(&q->alloc, (__u64)frame * q->info.frame_size, 0, 0);
}

/*
 * Does the packet at the consumer index end within the AVAIL descriptors
 * the kernel posted? It posts a chain whole, so only a kernel gone wrong
 * leaves one cut short.
 */
static bool kni_chain_posted(const struct kni_uring *r, __u32 avail)
{
	__u32 i;

	for (i = 0; i < avail; i++)
		if (!(kni_desc_read(r, r->cached_cons + i).flags &
		      KNI_DESC_F_NEXT))
			return true;
	return false;
}

/* A packet being copied out of a chain of receive frames. */
struct kni_copy {
	__u32 off;
	__u32 flags;
	bool open;
};

/*
 * Copy the part of a packet descriptor D names, in receive frame FRAME,
 * into B after what C says was copied, with the metadata of its first
 * frame into META when given, and give the frame back. Returns true once
 * the packet is whole: B then has its length and flags.
 */
static bool kni_copy_part(struct kni_queue *q, struct kni_buf *b,
			  struct virtio_net_hdr *meta, const struct kni_desc *d,
			  __u64 frame, struct kni_copy *c)
{
	__u32 len = d->len;

	if (!c->open) {
		c->open = true;
		c->off = 0;
		c->flags = d->flags & ~KNI_DESC_F_NEXT;
		if (meta && q->info.meta_size)
			*meta = *kni_meta_of(q, frame);
		else if (meta)
			memset(meta, 0, sizeof(*meta));
	}
	if (len > b->len - c->off) {
		len = b->len - c->off;
		if (!(c->flags & KNI_BUF_F_TRUNCATED))
			q->recv_stats.truncated++;
		c->flags |= KNI_BUF_F_TRUNCATED;
	}
	if (len)
		memcpy((char *)b->data + c->off, q->frames + d->addr, len);
	c->off += len;
	kni_alloc_put(q, (__u32)frame);
	if (d->flags & KNI_DESC_F_NEXT)
		return false;
	b->len = c->off;
	b->flags = c->flags;
	c->open = false;
	return true;
}

/*
 * Take up to N packets from tx: copied into BUFS and their frames given
 * back to the kernel when COPY, a chain into one buffer, else handed to
 * the caller in place, one buffer per frame.
 */
static int kni_take(struct kni_queue *q, struct kni_buf *bufs,
		    struct virtio_net_hdr *meta, unsigned int n, bool copy)
{
	struct kni_copy c = { .open = false };
	__u32 rs, fs, avail, i, got = 0;
	struct kni_uring *r;
	bool skip = false;
	__u32 alloc_prod;

	if (!q || (n && !bufs))
		return -EINVAL;
	for (i = 0; copy && i < n; i++)
		if (!bufs[i].data && bufs[i].len)
			return -EINVAL;
	if (kni_queue_gone(q))
		return -ENODEV;
	rs = q->info.ring_size;
	fs = q->info.frame_size;
	r = &q->tx;
	alloc_prod = q->alloc.cached_prod;
	/*
	 * Take the sent frames too, unless a send call runs: it reclaims
	 * them itself when it needs them.
	 */
	if (kni_send_trylock(q)) {
		kni_reclaim(q);
		kni_send_unlock(q);
	}
	avail = kni_cons_avail(r);
	for (i = 0; i < avail && got < n; i++) {
		struct kni_desc d;
		__u64 frame;

		d = kni_desc_read(r, r->cached_cons);
		/* A copy takes a chain whole, once the kernel posted it all. */
		if (copy && !c.open && !skip && (d.flags & KNI_DESC_F_NEXT) &&
		    !kni_chain_posted(r, avail - i))
			break;
		r->cached_cons++;
		frame = d.addr / fs;
		/*
		 * Only the copy is looked at and used: a receive frame the
		 * kernel holds, and a packet that ends inside it.
		 */
		if (frame < rs || frame >= 2ULL * rs ||
		    q->owner[frame] != KNI_FRAME_KERNEL ||
		    d.len > fs - d.addr % fs) {
			q->recv_stats.bad_desc++;
			/* The rest of its packet is not worth copying. */
			c.open = false;
			skip = d.flags & KNI_DESC_F_NEXT;
			continue;
		}
		if (!copy) {
			bufs[got].data = q->frames + d.addr;
			bufs[got].len = d.len;
			bufs[got].flags = d.flags;
			q->owner[frame] = KNI_FRAME_CALLER;
			got++;
			continue;
		}
		if (skip) {
			skip = d.flags & KNI_DESC_F_NEXT;
			kni_alloc_put(q, (__u32)frame);
			continue;
		}
		if (kni_copy_part(q, &bufs[got], meta ? &meta[got] : NULL,
				  &d, frame, &c))
			got++;
	}
	if (!i)
		return 0;
	kni_cons_release(r);
	if (q->alloc.cached_prod != alloc_prod)
		kni_prod_publish(&q->alloc);
	q->recv_stats.received += got;
	/* Transmission may have stopped for a tx slot or an alloc frame. */
	kni_kick_if_needed(q, &q->alloc, &q->recv_stats);
	return (int)got;
}

int kni_recv_burst_meta(struct kni_queue *q, struct kni_buf *bufs,
			struct virtio_net_hdr *meta, unsigned int n)
{
	return kni_take(q, bufs, meta, n, true);
}

int kni_recv_burst(struct kni_queue *q, struct kni_buf *bufs, unsigned int n)
{
	return kni_take(q, bufs, NULL, n, true);
}

int kni_frame_recv(struct kni_queue *q, struct kni_buf *bufs, unsigned int n)
{
	return kni_take(q, bufs, NULL, n, false);
}

struct virtio_net_hdr *kni_frame_meta(struct kni_queue *q, const void *data)
{
	long long frame;

	if (!q || !q->info.meta_size)
		return NULL;
	frame = kni_frame_of(q, data);
	if (frame < 0 || q->owner[frame] != KNI_FRAME_CALLER)
		return NULL;
	return kni_meta_of(q, (__u64)frame);
}

int kni_frame_release(struct kni_queue *q, void *const *data, unsigned int n)
{
	bool locked = false, put = false;
	unsigned int i;
	int err = 0;
	__u32 rs;

	if (!q || (n && !data))
		return -EINVAL;
	rs = q->info.ring_size;
	for (i = 0; i < n; i++) {
		long long frame = kni_frame_of(q, data[i]);

		if (frame < 0) {
			err = -EINVAL;
			break;
		}
		if (frame < rs) {
			/* A reserved frame: the send side's. */
			if (!locked) {
				kni_send_lock(q);
				locked = true;
			}
			if (q->owner[frame] != KNI_FRAME_CALLER) {
				err = -EINVAL;
				break;
			}
			q->owner[frame] = KNI_FRAME_LIBRARY;
			q->pool[q->pool_len++] = (__u32)frame;
		} else {
			/* A received frame: the receive side's. */
			if (q->owner[frame] != KNI_FRAME_CALLER) {
				err = -EINVAL;
				break;
			}
			kni_alloc_put(q, (__u32)frame);
			put = true;
		}
	}
	if (locked)
		kni_send_unlock(q);
	/* Only a release of received frames touches the receive side. */
	if (put) {
		kni_prod_publish(&q->alloc);
		kni_kick_if_needed(q, &q->alloc, &q->recv_stats);
	}
	return err;
}
