// SPDX-License-Identifier: GPL-2.0-only
/*
 * kni: packets from userspace to the stack. One NAPI per queue consumes
 * the rx ring, copies each packet into an skb, hands it to GRO and returns
 * the frame on the free ring. The dataplane kicks NAPI only when the kernel
 * set KNI_RING_F_NEED_WAKEUP on rx, so a busy producer makes no syscalls.
 */

#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/poll.h>
#include <linux/skbuff.h>
#include <linux/virtio_net.h>

#include "kni.h"
#include "ring.h"

/* Called from process context: NAPI must be scheduled with BHs off. */
void kni_napi_kick(struct kni_queue *q)
{
	local_bh_disable();
	napi_schedule(&q->napi);
	local_bh_enable();
}

/*
 * The flag in the region is the only record of whether a kick is wanted:
 * a poll that completed may still clear it while the next one, kicked on
 * another CPU, sets it. Written only when it changes, so a busy queue does
 * not dirty the line userspace reads on every send.
 */
static void kni_rx_set_wakeup(struct kni_file *kf, bool on)
{
	u32 *flags = kf->region.rx.flags;
	u32 want = on ? KNI_RING_F_NEED_WAKEUP : 0;

	if (READ_ONCE(*flags) != want)
		WRITE_ONCE(*flags, want);
}

/*
 * Check the packet's metadata and apply it to its skb, whose data starts at
 * the Ethernet header. Only what the dataplane's @offloads allow passes.
 */
static int kni_rx_meta(struct sk_buff *skb, const struct virtio_net_hdr *hdr,
		       u32 offloads)
{
	u32 need;

	if (hdr->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM |
			   VIRTIO_NET_HDR_F_DATA_VALID))
		return -EINVAL;
	if (hdr->flags && !(offloads & KNI_OFFLOAD_CSUM))
		return -EINVAL;
	switch (hdr->gso_type) {
	case VIRTIO_NET_HDR_GSO_NONE:
		need = 0;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV4:
	case VIRTIO_NET_HDR_GSO_TCPV4 | VIRTIO_NET_HDR_GSO_ECN:
		need = KNI_OFFLOAD_TSO4;
		break;
	case VIRTIO_NET_HDR_GSO_TCPV6:
	case VIRTIO_NET_HDR_GSO_TCPV6 | VIRTIO_NET_HDR_GSO_ECN:
		need = KNI_OFFLOAD_TSO6;
		break;
	case VIRTIO_NET_HDR_GSO_UDP_L4:
		need = KNI_OFFLOAD_USO;
		break;
	default:
		return -EINVAL;
	}
	if ((offloads & need) != need)
		return -EINVAL;
	if (__virtio16_to_cpu(true, hdr->hdr_len) > skb->len)
		return -EINVAL;
	return virtio_net_hdr_to_skb(skb, hdr, true) ? -EINVAL : 0;
}

/*
 * Longest packet copied into a linear skb: one of a page with its skb
 * overhead. A longer one, up to the 64 KiB of the largest frame, would
 * need a high-order allocation in atomic context, which fails first when
 * memory is fragmented.
 */
#define KNI_RX_LINEAR_MAX	(SKB_WITH_OVERHEAD(PAGE_SIZE) - NET_SKB_PAD - \
				 NET_IP_ALIGN)

/*
 * The skb of a packet of @len bytes in the @k descriptors at @c: linear for
 * a short one in one frame; else the headers in the linear part and the
 * rest in page fragments.
 */
static struct sk_buff *kni_rx_skb(struct kni_queue *q, struct kni_region *r,
				  const struct kni_desc *c, u32 k, u32 len)
{
	u32 i, off, head;
	struct sk_buff *skb;
	int err;

	if (k == 1 && len <= KNI_RX_LINEAR_MAX) {
		skb = napi_alloc_skb(&q->napi, len);
		if (likely(skb))
			skb_put_data(skb, kni_frame_ptr(r, c->addr), len);
		return skb;
	}

	head = min_t(u32, c->len, KNI_RX_HEAD);
	skb = alloc_skb_with_frags(NET_SKB_PAD + NET_IP_ALIGN + head, len - head,
				   PAGE_ALLOC_COSTLY_ORDER, &err, GFP_ATOMIC);
	if (unlikely(!skb))
		return NULL;
	skb_reserve(skb, NET_SKB_PAD + NET_IP_ALIGN);
	skb_put(skb, head);
	skb->data_len = len - head;
	skb->len += len - head;
	for (i = 0, off = 0; i < k; off += c[i].len, i++) {
		if (WARN_ON_ONCE(skb_store_bits(skb, off,
						kni_frame_ptr(r, c[i].addr),
						c[i].len))) {
			kfree_skb(skb);
			return NULL;
		}
	}
	return skb;
}

/*
 * Pass one valid packet on, @len bytes in the @k descriptors at @c: to the
 * stack, or in a loopback mode straight back to userspace on tx, under
 * the tx queue lock the caller holds. @hdr is the kernel's copy of the
 * packet's metadata when the dataplane took on offloads. Returns -ENOSPC
 * when loopback found no room on tx; the descriptors are then left on rx
 * for the next poll. -EINVAL when the metadata is wrong.
 */
static int kni_rx_one(struct kni_queue *q, struct kni_file *kf,
		      const struct kni_desc *c, u32 k, u32 len,
		      const struct virtio_net_hdr *hdr, u32 loopback)
{
	struct kni_region *r = &kf->region;
	struct net_device *dev = q->kni->dev;
	bool valid = c->flags & KNI_DESC_F_CSUM_VALID;
	struct sk_buff *skb = NULL;
	int err;

	/* fifo copies frame to frame, unless the packet spans frames. */
	if (loopback != KNI_LOOPBACK_FIFO || k > 1) {
		skb = kni_rx_skb(q, r, c, k, len);
		if (unlikely(!skb))
			return -ENOMEM;
	}

	if (loopback == KNI_LOOPBACK_NONE) {
		skb_record_rx_queue(skb, q->index);
		if (r->meta_size) {
			if (kni_rx_meta(skb, hdr, kf->offloads)) {
				kfree_skb_reason(skb, SKB_DROP_REASON_DEV_HDR);
				return -EINVAL;
			}
			valid |= hdr->flags & VIRTIO_NET_HDR_F_DATA_VALID;
		}
		skb->protocol = eth_type_trans(skb, dev);
		/* A checksum still to complete is never vouched for. */
		if (valid && skb->ip_summed == CHECKSUM_NONE &&
		    (dev->features & NETIF_F_RXCSUM))
			skb->ip_summed = CHECKSUM_UNNECESSARY;
		kni_stats_add(&q->rx, 1, len);
		napi_gro_receive(&q->napi, skb);
		return 0;
	}

	/*
	 * fifo copies frame to frame; fifo_skb goes through the skb. Either
	 * way the packet keeps what its descriptor said of its checksums.
	 */
	err = kni_tx_post(q, r, skb, kni_frame_ptr(r, c->addr), len,
			  c->flags & KNI_DESC_F_CSUM_VALID, hdr);
	if (err == -ENOSPC) {
		/* Without room the packet waits on rx: not a drop. */
		if (!kni_tx_want_room(q, r)) {
			consume_skb(skb);
			return err;
		}
		/* Room came meanwhile; losing it again is a drop. */
		err = kni_tx_post(q, r, skb, kni_frame_ptr(r, c->addr), len,
				  c->flags & KNI_DESC_F_CSUM_VALID, hdr);
	}
	/* In through rx, and out through tx unless it could not leave. */
	kni_stats_add(&q->rx, 1, len);
	if (err) {
		/*
		 * Too big for tx frames, or too few valid alloc descriptors:
		 * a tx drop, as it would be for the stack's packet; the
		 * descriptors are marked dropped.
		 */
		kfree_skb_reason(skb, kni_tx_drop_reason(err));
		kni_stats_inc(&q->tx, &q->tx.drops);
		return -EMSGSIZE;
	}
	consume_skb(skb);
	kni_stats_add(&q->tx, 1, len);
	return 0;
}

/*
 * Read the packet at the consumer index into kf->chain: its descriptor, or
 * with chains every descriptor up to the first without KNI_DESC_F_NEXT.
 * Returns how many were read; sets @bad, and kf->rx_skip for the rest,
 * when the chain is longer than any valid one or goes on past the
 * producer index.
 */
static u32 kni_rx_gather(struct kni_file *kf, bool *bad)
{
	struct kni_region *r = &kf->region;
	struct kni_ring *rx = &r->rx;
	u32 k = 0, prod;
	s64 n;

	*bad = false;
	kni_ring_peek(rx, 0, &kf->chain[0]);
	if (r->chain_max == 1)
		return 1;
	while (kf->chain[k++].flags & KNI_DESC_F_NEXT) {
		if (k == r->chain_max)
			goto bad;
		if (k == kni_ring_entries(rx->prod, rx->cons, rx->mask + 1)) {
			/* (B): pairs with the userspace producer's (A). */
			prod = smp_load_acquire(rx->producer);
			n = kni_ring_entries(prod, rx->cons, rx->mask + 1);
			/* Published in one go, or not at all. */
			if (n <= k)
				goto bad;
			rx->prod = prod;
		}
		kni_ring_peek(rx, k, &kf->chain[k]);
	}
	return k;
bad:
	*bad = true;
	kf->rx_skip = true;
	return k;
}

/*
 * Check the @k descriptors of a packet at @c, read once, and set @len to
 * its length. Every part must be valid, the frames distinct and the whole
 * no longer than KNI_CHAIN_LEN_MAX.
 */
static int kni_rx_check(const struct kni_region *r, const struct kni_desc *c,
			u32 k, u32 *len)
{
	u32 known = r->chain_max > 1 ? KNI_DESC_F_RX_CHAIN :
				       KNI_DESC_F_RX_KNOWN;
	u32 i, j, total;
	u64 frame;

	if (kni_desc_check(c, r->area_size, r->frame_size, r->meta_size,
			   known))
		return -EINVAL;
	total = c->len;
	for (i = 1; i < k; i++) {
		if (kni_desc_check_part(&c[i], r->area_size, r->frame_size))
			return -EINVAL;
		total += c[i].len;
		frame = kni_frame_start(&c[i], r->frame_size);
		for (j = 0; j < i; j++)
			if (kni_frame_start(&c[j], r->frame_size) == frame)
				return -EINVAL;
	}
	if (k > 1 && total > KNI_CHAIN_LEN_MAX)
		return -EINVAL;
	*len = total;
	return 0;
}

/* Return @k descriptors of rx on free, as they were given. */
static void kni_rx_return(struct kni_region *r, const struct kni_desc *c,
			  u32 k, u32 flags)
{
	u32 i;

	for (i = 0; i < k; i++)
		kni_ring_write(&r->free, c[i].addr, c[i].len,
			       c[i].flags | flags);
	r->rx.cons += k;
}

/*
 * Consume up to @budget packets of rx, with room for their descriptors on
 * free. Returns the packets consumed and sets @descs to the descriptors.
 */
static int kni_rx_descs(struct kni_queue *q, struct kni_file *kf, int budget,
			u32 loopback, u32 *descs)
{
	struct kni_region *r = &kf->region;
	const struct kni_desc *c = kf->chain;
	struct virtio_net_hdr hdr;
	u32 start = r->rx.cons;
	int done = 0, err;
	bool bad;
	u32 k, len;

	while (done < budget &&
	       kni_ring_entries(r->rx.prod, r->rx.cons, r->rx.mask + 1) > 0) {
		if (!kni_ring_prod_room(&r->free)) {
			kf->rx_blocked = KNI_RX_WAIT_FREE;
			kf->rx_need = 1;
			break;
		}
		if (kf->rx_skip) {
			/* The rest of an invalid chain, one at a time. */
			kni_ring_peek(&r->rx, 0, &kf->chain[0]);
			kf->rx_skip = c->flags & KNI_DESC_F_NEXT;
			kni_rx_return(r, c, 1, KNI_DESC_F_DROPPED);
			done++;
			continue;
		}
		k = kni_rx_gather(kf, &bad);
		if (kni_ring_prod_want(&r->free, k) < k) {
			/* Not the rest: it is read again, with room. */
			kf->rx_skip = false;
			kf->rx_blocked = KNI_RX_WAIT_FREE;
			kf->rx_need = k;
			break;
		}
		if (bad || kni_rx_check(r, c, k, &len)) {
			kni_stats_inc(&q->rx, &q->rx.invalid);
			kni_rx_return(r, c, k, KNI_DESC_F_DROPPED);
			done++;
			continue;
		}
		/* One read: the dataplane may rewrite it meanwhile. */
		if (r->meta_size) {
			u64 meta = kni_frame_start(c, r->frame_size);

			memcpy(&hdr, kni_frame_ptr(r, meta), sizeof(hdr));
		}
		err = kni_rx_one(q, kf, c, k, len, &hdr, loopback);
		if (err == -ENOSPC) {
			kf->rx_blocked = KNI_RX_WAIT_TX;
			break;
		}
		/* -EMSGSIZE: a loopback tx drop, counted already. */
		if (err == -ENOMEM)
			kni_stats_inc(&q->rx, &q->rx.drops);
		else if (err == -EINVAL)
			kni_stats_inc(&q->rx, &q->rx.invalid);
		/* Hand the frames back as they were given, whatever happened. */
		kni_rx_return(r, c, k, err ? KNI_DESC_F_DROPPED : 0);
		done++;
	}
	*descs = r->rx.cons - start;
	return done;
}

static int kni_rx_ring(struct kni_queue *q, struct kni_file *kf, int budget)
{
	u32 loopback = READ_ONCE(q->kni->loopback);
	struct kni_region *r = &kf->region;
	struct netdev_queue *txq;
	u32 descs;
	s64 avail;
	int done;

	kf->rx_blocked = 0;
	avail = kni_ring_cons_avail(&r->rx);
	if (avail < 0) {
		/* The producer jumped: skip to it and count it once. */
		kni_stats_inc(&q->rx, &q->rx.invalid);
		kni_ring_cons_release(&r->rx);
		kf->rx_skip = false;
		avail = 0;
	}
	if (!avail)
		return 0;

	if (loopback == KNI_LOOPBACK_NONE) {
		done = kni_rx_descs(q, kf, budget, loopback, &descs);
	} else {
		/* Loopback posts on tx: its lock once for the whole poll. */
		txq = netdev_get_tx_queue(q->kni->dev, q->index);
		__netif_tx_lock(txq, smp_processor_id());
		/* A kick for alloc or tx is only wanted by a stopped queue. */
		if (!netif_tx_queue_stopped(txq))
			WRITE_ONCE(*r->alloc.flags, 0);
		done = kni_rx_descs(q, kf, budget, loopback, &descs);
		if (kni_tx_flush(r))
			kni_file_wake(kf, EPOLLIN | EPOLLRDNORM);
		__netif_tx_unlock(txq);
	}

	if (descs) {
		kni_ring_cons_release(&r->rx);
		kni_ring_prod_release(&r->free);
	}
	return done;
}

/*
 * Is there rx work the next poll could do? Called after the poll set
 * NEED_WAKEUP on rx and before it completes; a poll stopped by a full free
 * or tx ring also looks again at that ring, which userspace may have
 * drained before it could see a flag.
 */
static bool kni_rx_pending(struct kni_queue *q, struct kni_file *kf)
{
	struct kni_region *r = &kf->region;
	struct netdev_queue *txq;
	bool room;
	u32 cons;

	/* (B): pairs with the userspace producer's store-release (A). */
	if (smp_load_acquire(r->rx.producer) == r->rx.cons)
		return false;

	switch (kf->rx_blocked) {
	case KNI_RX_WAIT_FREE:
		/* (D): pairs with the userspace consumer's store-release (C). */
		cons = smp_load_acquire(r->free.consumer);
		return kni_ring_room(r->free.prod, cons, r->free.mask + 1) >=
		       kf->rx_need;
	case KNI_RX_WAIT_TX:
		/* Loopback: userspace kicks for alloc's flag once it made room. */
		txq = netdev_get_tx_queue(q->kni->dev, q->index);
		__netif_tx_lock(txq, smp_processor_id());
		room = kni_tx_want_room(q, r);
		__netif_tx_unlock(txq);
		return room;
	}
	return true;
}

/*
 * Set NEED_WAKEUP on rx as a poll ends. Returns the poll's ticket: the
 * flag it set is its own until a later poll sets it again.
 */
static u32 kni_rx_want_kick(struct kni_queue *q, struct kni_file *kf)
{
	u32 seq;

	spin_lock(&q->wakeup_lock);
	kni_rx_set_wakeup(kf, true);
	seq = ++q->wakeup_seq;
	spin_unlock(&q->wakeup_lock);
	return seq;
}

/*
 * Take back the flag of the poll with ticket @seq, after NAPI completed:
 * a later poll may have run meanwhile on another CPU and gone idle, and
 * the flag it set is the dataplane's only way to reach it.
 */
static void kni_rx_unwant_kick(struct kni_queue *q, struct kni_file *kf,
			       u32 seq)
{
	spin_lock(&q->wakeup_lock);
	if (q->wakeup_seq == seq)
		kni_rx_set_wakeup(kf, false);
	spin_unlock(&q->wakeup_lock);
}

int kni_napi_poll(struct napi_struct *napi, int budget)
{
	struct kni_queue *q = container_of(napi, struct kni_queue, napi);
	struct kni_file *kf;
	int done;
	u32 seq;

	if (unlikely(budget <= 0))
		return 0;

	/* NAPI runs with BHs off: an RCU read-side section. */
	kf = rcu_dereference_bh(q->file);
	if (!kf) {
		napi_complete(napi);
		return 0;
	}

	kni_rx_set_wakeup(kf, false);
	/* A kick may also mean alloc was refilled or tx drained. */
	kni_tx_wake(q, kf);

	done = kni_rx_ring(q, kf, budget);
	if (done)
		kni_file_wake(kf, EPOLLIN | EPOLLRDNORM | EPOLLOUT | EPOLLWRNORM);

	if (done == budget)
		return budget;

	/*
	 * Ask for a kick, then look again: a descriptor published before
	 * userspace could see the flag must not be stranded. The full barrier
	 * pairs with the one userspace puts between publishing its producer
	 * and reading the flag. All of it before completing: once
	 * napi_complete_done() returns, a kick may run the next poll on
	 * another CPU. A kick between the look and the completion finds NAPI
	 * still scheduled; the core then polls again.
	 */
	seq = kni_rx_want_kick(q, kf);
	/* Orders the flag store before the index loads below. */
	smp_mb();
	if (kni_rx_pending(q, kf))
		return budget;
	if (!napi_complete_done(napi, done)) {
		/*
		 * Another poll is certain: the core's timer deferred it
		 * (napi_defer_hard_irqs with gro_flush_timeout), a busy
		 * poller owns NAPI, or a kick came meanwhile. No kick is
		 * needed until then, so the dataplane makes no syscall;
		 * that poll asks for one again before it completes. NAPI is
		 * no longer ours: a kick may already have run that poll
		 * elsewhere, so the flag is cleared only if no poll set it
		 * since. The file stays valid (RCU).
		 */
		kni_rx_unwant_kick(q, kf, seq);
	}
	return done;
}
