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
 * Check the packet's metadata and apply a partial checksum to its skb,
 * whose data starts at the Ethernet header. Only what KNI_OFFLOAD_CSUM
 * allows passes.
 */
static int kni_rx_meta(struct sk_buff *skb, const struct virtio_net_hdr *hdr)
{
	if (hdr->flags & ~(VIRTIO_NET_HDR_F_NEEDS_CSUM |
			   VIRTIO_NET_HDR_F_DATA_VALID) ||
	    hdr->gso_type != VIRTIO_NET_HDR_GSO_NONE)
		return -EINVAL;
	return virtio_net_hdr_to_skb(skb, hdr, true) ? -EINVAL : 0;
}

/*
 * Pass one valid packet on: to the stack, or in a loopback mode straight
 * back to userspace on tx, under the tx queue lock the caller holds. @hdr
 * is the kernel's copy of the packet's metadata when the dataplane took on
 * offloads. Returns -ENOSPC when loopback found no room on tx; the
 * descriptor is then left on rx for the next poll. -EINVAL when the
 * metadata is wrong.
 */
static int kni_rx_one(struct kni_queue *q, struct kni_region *r,
		      const struct kni_desc *d,
		      const struct virtio_net_hdr *hdr, u32 loopback)
{
	struct net_device *dev = q->kni->dev;
	const void *data = r->frames + d->addr;
	struct sk_buff *skb = NULL;
	int err;

	if (loopback != KNI_LOOPBACK_FIFO) {
		skb = napi_alloc_skb(&q->napi, d->len);
		if (unlikely(!skb))
			return -ENOMEM;
		skb_put_data(skb, data, d->len);
	}

	if (loopback == KNI_LOOPBACK_NONE) {
		bool valid = d->flags & KNI_DESC_F_CSUM_VALID;

		skb_record_rx_queue(skb, q->index);
		if (r->meta_size) {
			if (kni_rx_meta(skb, hdr)) {
				kfree_skb(skb);
				return -EINVAL;
			}
			valid |= hdr->flags & VIRTIO_NET_HDR_F_DATA_VALID;
		}
		skb->protocol = eth_type_trans(skb, dev);
		/* A checksum still to complete is never vouched for. */
		if (valid && skb->ip_summed == CHECKSUM_NONE &&
		    (dev->features & NETIF_F_RXCSUM))
			skb->ip_summed = CHECKSUM_UNNECESSARY;
		kni_stats_add(&q->rx, 1, d->len);
		napi_gro_receive(&q->napi, skb);
		return 0;
	}

	/*
	 * fifo copies frame to frame; fifo_skb goes through the skb. Either
	 * way the packet keeps what its descriptor said of its checksums.
	 */
	err = kni_tx_post(q, r, skb, data, d->len,
			  d->flags & KNI_DESC_F_CSUM_VALID, hdr);
	/* Without room the packet waits on rx: not a drop. */
	if (err == -ENOSPC) {
		consume_skb(skb);
		return err;
	}
	/* In through rx, and out through tx unless it could not leave. */
	kni_stats_add(&q->rx, 1, d->len);
	if (err) {
		/*
		 * Too big for a tx frame, or only invalid alloc descriptors:
		 * a tx drop, as it would be for the stack's packet; the
		 * descriptor is marked dropped.
		 */
		kfree_skb(skb);
		kni_stats_inc(&q->tx, &q->tx.drops);
		return -EMSGSIZE;
	}
	consume_skb(skb);
	kni_stats_add(&q->tx, 1, d->len);
	return 0;
}

/* Consume up to @n descriptors of rx, with room for them on free. */
static int kni_rx_descs(struct kni_queue *q, struct kni_file *kf, u32 n,
			u32 loopback)
{
	struct kni_region *r = &kf->region;
	struct virtio_net_hdr hdr;
	struct kni_desc d;
	u32 done = 0;
	int err;

	while (done < n) {
		kni_ring_read(&r->rx, &d);
		if (kni_desc_check(&d, r->area_size, r->frame_size,
				   r->meta_size)) {
			kni_stats_inc(&q->rx, &q->rx.invalid);
			d.flags |= KNI_DESC_F_DROPPED;
		} else {
			/* One read: the dataplane may rewrite it meanwhile. */
			if (r->meta_size)
				memcpy(&hdr, r->frames +
				       kni_frame_start(&d, r->frame_size),
				       sizeof(hdr));
			err = kni_rx_one(q, r, &d, &hdr, loopback);
			if (err == -ENOSPC) {
				kf->rx_blocked = KNI_RX_WAIT_TX;
				break;
			}
			/* -EMSGSIZE: a loopback tx drop, counted already. */
			if (err == -ENOMEM)
				kni_stats_inc(&q->rx, &q->rx.drops);
			else if (err == -EINVAL)
				kni_stats_inc(&q->rx, &q->rx.invalid);
			if (err)
				d.flags |= KNI_DESC_F_DROPPED;
		}
		/* Hand the frame back as it was given, whatever happened. */
		kni_ring_write(&r->free, d.addr, d.len, d.flags);
		r->rx.cons++;
		done++;
	}
	return done;
}

static int kni_rx_ring(struct kni_queue *q, struct kni_file *kf, int budget)
{
	u32 loopback = READ_ONCE(q->kni->loopback);
	struct kni_region *r = &kf->region;
	struct netdev_queue *txq;
	s64 avail;
	u32 room;
	int done;

	kf->rx_blocked = 0;
	avail = kni_ring_cons_avail(&r->rx);
	if (avail < 0) {
		/* The producer jumped: skip to it and count it once. */
		kni_stats_inc(&q->rx, &q->rx.invalid);
		kni_ring_cons_release(&r->rx);
		avail = 0;
	}
	room = kni_ring_prod_room(&r->free);
	if (avail && !room)
		kf->rx_blocked = KNI_RX_WAIT_FREE;
	room = min3(room, (u32)avail, (u32)budget);
	if (!room)
		return 0;

	if (loopback == KNI_LOOPBACK_NONE) {
		done = kni_rx_descs(q, kf, room, loopback);
	} else {
		/* Loopback posts on tx: its lock once for the whole poll. */
		txq = netdev_get_tx_queue(q->kni->dev, q->index);
		__netif_tx_lock(txq, smp_processor_id());
		/* A kick for alloc or tx is only wanted by a stopped queue. */
		if (!netif_tx_queue_stopped(txq))
			WRITE_ONCE(*r->alloc.flags, 0);
		done = kni_rx_descs(q, kf, room, loopback);
		if (kni_tx_flush(r))
			kni_file_wake(kf, EPOLLIN | EPOLLRDNORM);
		__netif_tx_unlock(txq);
	}

	if (done) {
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
		return kni_ring_room(r->free.prod, cons, r->free.mask + 1);
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

int kni_napi_poll(struct napi_struct *napi, int budget)
{
	struct kni_queue *q = container_of(napi, struct kni_queue, napi);
	struct kni_file *kf;
	int done;

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
	 * another CPU, and only the flag may still be touched here. A kick
	 * between the look and the completion finds NAPI still scheduled;
	 * the core then polls again.
	 */
	kni_rx_set_wakeup(kf, true);
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
		 * that poll sets the flag again before it completes. Only
		 * the flag is touched: the file stays valid (RCU), and a
		 * poll already running elsewhere ends by setting it.
		 */
		kni_rx_set_wakeup(kf, false);
	}
	return done;
}
