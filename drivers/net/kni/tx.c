// SPDX-License-Identifier: GPL-2.0-only
/*
 * kni: packets from the stack to userspace. ndo_start_xmit copies each
 * packet into a frame userspace offered on the alloc ring and posts it on
 * the tx ring. When fewer frames or tx slots are left than the longest
 * packet takes, the subqueue stops and the qdisc holds the packets;
 * userspace kicks once it made room (it sees KNI_RING_F_NEED_WAKEUP on
 * alloc) and NAPI wakes the subqueue. Packets are dropped only when
 * nothing is attached, each drop counted. While the stack says more
 * packets follow (netdev_xmit_more()), the indexes are published and
 * userspace woken once for the whole batch.
 */

#include <linux/netdevice.h>
#include <linux/poll.h>
#include <linux/skbuff.h>
#include <net/netdev_queues.h>

#include "kni.h"
#include "ring.h"

/*
 * Entries on alloc, looking at the producer again when fewer than @want
 * are known. A producer index out of range is skipped to (see
 * kni_ring_cons_want()) and counted.
 */
static s64 kni_alloc_avail(struct kni_queue *q, struct kni_region *r,
			   u32 want)
{
	s64 n = kni_ring_cons_want(&r->alloc, want);

	if (unlikely(n < 0)) {
		kni_stats_inc(&q->tx, &q->tx.invalid);
		kni_ring_cons_release(&r->alloc);
		n = 0;
	}
	return n;
}

/*
 * Take @need frames from alloc into r->tx_frames, skipping and counting
 * invalid descriptors. Without enough valid ones, only the invalid
 * descriptors in front of the first valid one are consumed: the frames
 * stay for a later packet. Returns -ENOSPC then if alloc held fewer than
 * @need entries: more may come. With @need entries or more, too few of
 * them valid frames, or only invalid ones, -EINVAL: what alloc holds will
 * not do, and waiting for room would wait for room that is there.
 */
static int kni_tx_frames(struct kni_queue *q, struct kni_region *r, u32 need)
{
	s64 n = kni_alloc_avail(q, r, need), avail = n;
	u32 cons = r->alloc.cons, got = 0, lead = 0, skipped = 0;
	struct kni_desc d;
	u64 frame;

	while (got < need && avail-- > 0) {
		kni_ring_read(&r->alloc, &d);
		r->alloc.cons++;
		/* No flag is defined for alloc yet. */
		if (!d.flags &&
		    !kni_frame_of(d.addr, r->area_size, r->frame_size, &frame)) {
			r->tx_frames[got++] = frame;
			continue;
		}
		skipped++;
		if (!got)
			lead++;
	}
	if (got < need) {
		r->alloc.cons = cons + lead;
		skipped = lead;
	}
	while (skipped--)
		kni_stats_inc(&q->tx, &q->tx.invalid);
	if (got == need)
		return 0;
	return (!got && lead) || n >= need ? -EINVAL : -ENOSPC;
}

/*
 * Copy a packet into alloc frames and post it on tx, with the descriptor
 * flags @flags and, when the dataplane took on offloads, the metadata @hdr;
 * the packet is @skb if given, else @len bytes at @data. A packet longer
 * than a frame holds takes a chain of frames when the dataplane took on
 * chains. Called under the tx queue lock; kni_tx_flush() publishes what
 * was posted. Returns -ENOSPC when there are not enough alloc entries or
 * tx slots, -EMSGSIZE when the packet cannot fit, -EINVAL when the alloc
 * entries held too few valid frames (each invalid one counted).
 */
int kni_tx_post(struct kni_queue *q, struct kni_region *r,
		const struct sk_buff *skb, const void *data, u32 len,
		u32 flags, const struct virtio_net_hdr *hdr)
{
	u32 room = r->frame_size - KNI_FRAME_HEADROOM;
	u32 need = DIV_ROUND_UP(len, room);
	u32 i, off, part;
	void *dst;
	int err;

	if (need > r->chain_max)
		return -EMSGSIZE;
	err = kni_ring_prod_want(&r->tx, need) < need ? -ENOSPC :
	      kni_tx_frames(q, r, need);
	/* Until it is posted, the queue waits for room for this packet. */
	r->tx_need = err == -ENOSPC ? need : 0;
	if (err)
		return err;

	if (r->meta_size)
		memcpy(r->frames + r->tx_frames[0], hdr, r->meta_size);
	for (i = 0, off = 0; i < need; i++, off += part) {
		part = min(len - off, room);
		dst = r->frames + r->tx_frames[i] + KNI_FRAME_HEADROOM;
		/* Most packets from the stack are linear: no walk over frags. */
		if (!skb)
			memcpy(dst, data + off, part);
		else if (off + part <= skb_headlen(skb))
			memcpy(dst, skb->data + off, part);
		else
			skb_copy_bits(skb, off, dst, part);
		if (i + 1 < need)
			flags |= KNI_DESC_F_NEXT;
		else
			flags &= ~KNI_DESC_F_NEXT;
		kni_ring_write(&r->tx, r->tx_frames[i] + KNI_FRAME_HEADROOM,
			       part, flags);
		/* The first descriptor speaks for the checksums. */
		flags &= ~KNI_DESC_F_CSUM_VALID;
	}
	r->tx_unflushed++;
	return 0;
}

/*
 * Publish the alloc consumer and the tx producer; under the tx queue lock.
 * alloc's goes first, and in full: a dataplane that sees a frame on tx
 * counts on a slot to offer it on alloc again at once (kni.rst). Only
 * an index that moved is stored: userspace may read both lines on every
 * poll, and a store would take them from its cache. Returns whether
 * packets were posted since the last flush, for the caller to wake
 * userspace.
 */
bool kni_tx_flush(struct kni_region *r)
{
	bool posted = r->tx_unflushed;

	/* Skipped invalid entries move alloc's consumer without a post. */
	if (READ_ONCE(*r->alloc.consumer) != r->alloc.cons)
		kni_ring_cons_release(&r->alloc);
	if (posted)
		kni_ring_prod_release(&r->tx);
	r->tx_unflushed = 0;
	return posted;
}

/* Are there @need frames on alloc and @need slots on tx? */
static bool kni_tx_room(struct kni_queue *q, struct kni_region *r, u32 need)
{
	return kni_ring_prod_want(&r->tx, need) >= need &&
	       kni_alloc_avail(q, r, need) >= need;
}

/*
 * Frames the longest packet the stack may send next takes: one, as the
 * MTU fits a frame, or the longest chain once the dataplane took on
 * segmentation.
 */
static u32 kni_tx_need_max(struct kni_region *r)
{
	struct kni_file *kf = container_of(r, struct kni_file, region);

	return kf->offloads & KNI_OFFLOAD_GSO ? r->chain_max : 1;
}

/*
 * May the subqueue run: is there room for the packet that found too few,
 * and for the longest the stack may send next? Stopping before the room
 * runs out is what keeps kni_start_xmit() from returning NETDEV_TX_BUSY.
 * Called under the tx queue lock.
 */
static bool kni_tx_has_room(struct kni_queue *q, struct kni_region *r)
{
	return kni_tx_room(q, r, max(r->tx_need, kni_tx_need_max(r)));
}

/*
 * Set KNI_RING_F_NEED_WAKEUP on alloc, then look once more for room for
 * @need frames: room made before userspace could see the flag must not go
 * unnoticed. The full barrier pairs with the one userspace puts between
 * publishing alloc's producer (or tx's consumer) and reading the flag.
 * Returns true, with the flag cleared again, when the room is there.
 */
static bool kni_tx_ask_room(struct kni_queue *q, struct kni_region *r,
			    u32 need)
{
	WRITE_ONCE(*r->alloc.flags, KNI_RING_F_NEED_WAKEUP);
	/* Orders the flag store before the index loads below. */
	smp_mb();
	if (!kni_tx_room(q, r, need))
		return false;
	WRITE_ONCE(*r->alloc.flags, 0);
	return true;
}

/**
 * kni_tx_want_room() - ask userspace for a kick once tx can take a packet
 * @q: the queue
 * @r: its region
 *
 * Called under the tx queue lock, for loopback, whose packet that found
 * too few waits on rx: the room it needs is what kni_tx_post() recorded,
 * not the room for the stack's longest packet.
 *
 * Return: true, with no kick asked for, when there is room already.
 */
bool kni_tx_want_room(struct kni_queue *q, struct kni_region *r)
{
	return kni_tx_ask_room(q, r, max(r->tx_need, 1U));
}

/*
 * Stop the subqueue until userspace made room (see kni_tx_has_room()),
 * and ask it for a kick. Returns false, with the subqueue running and no
 * kick asked for, when the room was there already. Under the tx queue
 * lock.
 */
static bool kni_tx_stop_for_room(struct kni_queue *q, struct kni_region *r,
				 struct netdev_queue *txq)
{
	/*
	 * Ask for a kick first: a kick that follows the flag must find the
	 * subqueue stopped (kni_tx_wake() tests the bit without the lock),
	 * and room userspace made before it could see the flag is found by
	 * netif_txq_try_stop()'s second look. Its barrier after stopping is
	 * a full one for the flag store too, as in kni_tx_ask_room().
	 */
	WRITE_ONCE(*r->alloc.flags, KNI_RING_F_NEED_WAKEUP);
	if (!netif_txq_try_stop(txq, kni_tx_has_room(q, r), 1))
		return true;
	WRITE_ONCE(*r->alloc.flags, 0);
	return false;
}

/* Stop the subqueue until userspace makes room for one more packet. */
static void kni_tx_stop(struct kni_queue *q, struct kni_file *kf,
			struct netdev_queue *txq)
{
	struct kni_region *r = &kf->region;

	/* What is posted must reach userspace for it to make room. */
	if (kni_tx_flush(r))
		kni_file_wake(kf, EPOLLIN | EPOLLRDNORM);
	if (kni_tx_stop_for_room(q, r, txq))
		kni_stats_inc(&q->tx, &q->tx.stops);
}

/**
 * kni_tx_start() - start the subqueue of a queue with a dataplane
 * @q: the queue
 * @kf: its dataplane, which may not have offered frames yet
 *
 * Called when the dataplane attaches and when the device opens, with the
 * subqueue running and the qdisc empty. Without room for the longest
 * packet the subqueue stops, and userspace is asked for a kick once it
 * made some.
 */
void kni_tx_start(struct kni_queue *q, struct kni_file *kf)
{
	struct netdev_queue *txq = netdev_get_tx_queue(q->kni->dev, q->index);

	__netif_tx_lock_bh(txq);
	kni_tx_stop_for_room(q, &kf->region, txq);
	__netif_tx_unlock_bh(txq);
}

/* From NAPI, after a kick: restart a subqueue userspace made room for. */
void kni_tx_wake(struct kni_queue *q, struct kni_file *kf)
{
	struct netdev_queue *txq = netdev_get_tx_queue(q->kni->dev, q->index);
	struct kni_region *r = &kf->region;

	if (!netif_tx_queue_stopped(txq))
		return;
	__netif_tx_lock(txq, smp_processor_id());
	if (netif_tx_queue_stopped(txq) && kni_tx_has_room(q, r)) {
		WRITE_ONCE(*r->alloc.flags, 0);
		netif_tx_wake_queue(txq);
	}
	__netif_tx_unlock(txq);
}

/*
 * What the dataplane did not take on is done here: a partial checksum is
 * completed unless it completes checksums. A packet to segment that it
 * cannot take is refused: kni_features_check() saw another dataplane on
 * the queue. With offloads, @hdr is the packet's metadata. Returns why the
 * packet is to be dropped, or SKB_NOT_DROPPED_YET.
 */
static enum skb_drop_reason kni_tx_prepare(struct sk_buff *skb,
					   const struct kni_file *kf,
					   struct virtio_net_hdr *hdr)
{
	/* Checked by the core already, but not trusted to stay so. */
	if (skb_is_gso(skb) &&
	    !skb_gso_ok(skb, (kni_offload_features(kf->offloads) &
			      (NETIF_F_TSO | NETIF_F_TSO6 |
			       NETIF_F_GSO_UDP_L4)) | NETIF_F_GSO_ROBUST))
		return SKB_DROP_REASON_DEV_HDR;
	if (skb->ip_summed == CHECKSUM_PARTIAL &&
	    !(kf->offloads & KNI_OFFLOAD_CSUM) && skb_checksum_help(skb))
		return SKB_DROP_REASON_SKB_CSUM;
	if (kf->offloads && virtio_net_hdr_from_skb(skb, hdr, true, true, 0))
		return SKB_DROP_REASON_DEV_HDR;
	return SKB_NOT_DROPPED_YET;
}

/**
 * kni_offload_features() - the features a set of offloads allows
 * @offloads: KNI_OFFLOAD_*
 *
 * Return: a mask that keeps every feature but the checksum and
 * segmentation offloads @offloads does not take on.
 */
netdev_features_t kni_offload_features(u32 offloads)
{
	netdev_features_t off = 0;

	if (!(offloads & KNI_OFFLOAD_CSUM))
		off |= NETIF_F_CSUM_MASK;
	if (!(offloads & KNI_OFFLOAD_TSO4))
		off |= NETIF_F_TSO;
	if (!(offloads & KNI_OFFLOAD_TSO6))
		off |= NETIF_F_TSO6;
	if (!(offloads & KNI_OFFLOAD_USO))
		off |= NETIF_F_GSO_UDP_L4;
	return ~off;
}

/*
 * The device offers what any attached dataplane takes on: the core
 * completes in software, before kni_start_xmit(), what the dataplane of
 * the packet's queue does not, and segments what a chain cannot carry.
 */
netdev_features_t kni_features_check(struct sk_buff *skb,
				     struct net_device *dev,
				     netdev_features_t features)
{
	struct kni_dev *kni = netdev_priv(dev);
	u16 index = skb_get_queue_mapping(skb);
	struct kni_file *kf = NULL;
	u32 offloads = 0;

	/*
	 * A packet socket that bypasses the qdisc validates its packets
	 * before it picks their queue, and with BHs on: the mapping may be
	 * another queue's, or none. Software does it all then, and
	 * kni_tx_prepare() refuses what the queue turns out not to take.
	 */
	if (index < kni->num_queues) {
		rcu_read_lock();
		kf = rcu_dereference(kni->queues[index].file);
		if (kf)
			offloads = kf->offloads;
		rcu_read_unlock();
	}
	features &= kni_offload_features(offloads);
	if (skb_is_gso(skb) && skb->len > KNI_CHAIN_LEN_MAX)
		features &= ~NETIF_F_GSO_MASK;
	/* What the core checks for a device without this callback. */
	return vlan_features_check(skb, features);
}

netdev_tx_t kni_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	struct kni_dev *kni = netdev_priv(dev);
	u16 index = skb_get_queue_mapping(skb);
	struct kni_queue *q = &kni->queues[index];
	enum skb_drop_reason reason;
	struct virtio_net_hdr hdr;
	struct netdev_queue *txq;
	struct kni_region *r;
	struct kni_file *kf;
	u32 len = skb->len;
	u32 flags = 0;
	int err;

	kf = rcu_dereference_bh(q->file);
	if (!kf) {
		/* No dataplane is attached to take the packet. */
		kni_stats_inc(&q->tx, &q->tx.drops);
		kfree_skb_reason(skb, SKB_DROP_REASON_DEV_READY);
		return NETDEV_TX_OK;
	}

	txq = netdev_get_tx_queue(dev, index);
	r = &kf->region;
	reason = kni_tx_prepare(skb, kf, &hdr);
	if (unlikely(reason != SKB_NOT_DROPPED_YET)) {
		kni_stats_inc(&q->tx, &q->tx.drops);
		goto flush;
	}
	if (skb->ip_summed == CHECKSUM_UNNECESSARY)
		flags |= KNI_DESC_F_CSUM_VALID;
	err = kni_tx_post(q, r, skb, NULL, len, flags, &hdr);
	if (unlikely(err == -ENOSPC)) {
		/*
		 * The check below stops the subqueue before the room for the
		 * longest packet runs out. So only when userspace rewrote
		 * frames it had offered, or a frame longer than the MTU says
		 * (stacked VLAN tags) takes a chain: the qdisc keeps the
		 * packet, and the subqueue waits for room for all of it.
		 */
		kni_tx_stop(q, kf, txq);
		if (netif_tx_queue_stopped(txq))
			return NETDEV_TX_BUSY;
		/* Room came back meanwhile; losing it again is a drop. */
		err = kni_tx_post(q, r, skb, NULL, len, flags, &hdr);
	}
	if (unlikely(err)) {
		/*
		 * Too big for a frame, or userspace offered only invalid
		 * frames: requeueing would not help.
		 */
		kni_stats_inc(&q->tx, &q->tx.drops);
		reason = kni_tx_drop_reason(err);
	} else {
		kni_stats_add(&q->tx, 1, len);
		skb_tx_timestamp(skb);
	}
	if (!kni_tx_has_room(q, r))
		kni_tx_stop(q, kf, txq);

flush:
	/* The stack calls again unless the subqueue stopped. */
	if ((!netdev_xmit_more() || netif_xmit_stopped(txq)) &&
	    kni_tx_flush(r))
		kni_file_wake(kf, EPOLLIN | EPOLLRDNORM);
	/* Freed once the copy is out: the free is not on the packet's way. */
	if (reason == SKB_NOT_DROPPED_YET)
		consume_skb(skb);
	else
		kfree_skb_reason(skb, reason);
	return NETDEV_TX_OK;
}
