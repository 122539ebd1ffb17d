// SPDX-License-Identifier: GPL-2.0-only
/*
 * kni: control events, kernel -> user. Every change an administrator makes
 * to a kni device (MTU, up/down, MAC address, promiscuity, all-multicast)
 * is posted on the event ring of each attached queue once the change is
 * made, and the state block next to the ring is rewritten. The device's
 * own callbacks post them (device.c); no notifier watches other devices.
 * The kernel never waits for the dataplane: what it cannot honour it
 * declared at attach time (maximum MTU, fixed MAC address) and the kernel
 * refuses that at once.
 *
 * Everything here runs under RTNL, the only writer of the event rings and
 * the state blocks.
 */

#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <linux/poll.h>
#include <linux/rtnetlink.h>

#include "kni.h"
#include "ring.h"

static u32 kni_state_flags(const struct net_device *dev)
{
	const struct kni_dev *kni = netdev_priv(dev);
	u32 flags = 0;

	/* Set before ndo_open and cleared before ndo_stop, unlike IFF_UP. */
	if (netif_running(dev))
		flags |= KNI_STATE_F_UP;
	if (dev->flags & IFF_PROMISC)
		flags |= KNI_STATE_F_PROMISC;
	if (dev->flags & IFF_ALLMULTI)
		flags |= KNI_STATE_F_ALLMULTI;
	if (kni->mc_count > KNI_STATE_MC_MAX)
		flags |= KNI_STATE_F_MC_ALL;
	return flags;
}

/*
 * Rewrite the state block under its sequence number, seqcount style: odd
 * while the fields change, even once they are stable again.
 */
static void kni_state_write(struct kni_region *r, const struct net_device *dev,
			    u32 extra)
{
	const struct kni_dev *kni = netdev_priv(dev);
	struct kni_state *st = r->state;
	u32 i, n = min_t(u32, kni->mc_count, KNI_STATE_MC_MAX);

	WRITE_ONCE(st->seq, ++r->state_seq);
	/* Orders the odd sequence before the fields; pairs with the reader's
	 * read barrier between copying the fields and loading seq again.
	 */
	smp_wmb();
	WRITE_ONCE(st->mtu, READ_ONCE(dev->mtu));
	WRITE_ONCE(st->flags, kni_state_flags(dev) | extra);
	WRITE_ONCE(st->overflows, r->overflows);
	memcpy(st->addr, dev->dev_addr, ETH_ALEN);
	WRITE_ONCE(st->mc_count, kni->mc_count);
	for (i = 0; i < KNI_STATE_MC_MAX; i++) {
		memset(st->mc_addr[i], 0, sizeof(st->mc_addr[i]));
		if (i < n)
			memcpy(st->mc_addr[i], kni->mc_addr[i], ETH_ALEN);
	}
	/* Pairs with the reader's load-acquire of seq: fields, then seq. */
	smp_store_release(&st->seq, ++r->state_seq);
}

static void kni_event_post_file(struct kni_file *kf,
				const struct net_device *dev, u32 type,
				u32 value, u32 extra)
{
	struct kni_region *r = &kf->region;
	struct kni_ring *ring = &r->event;
	struct kni_event *slot;

	if (kni_ring_prod_room(ring)) {
		slot = &r->events[ring->prod & ring->mask];
		WRITE_ONCE(slot->type, type);
		WRITE_ONCE(slot->value, value);
		memset(slot->addr, 0, sizeof(slot->addr));
		if (type == KNI_EVENT_MAC)
			memcpy(slot->addr, dev->dev_addr, ETH_ALEN);
		ring->prod++;
	} else {
		r->overflows++;
	}
	/*
	 * The state first, the event after: a dataplane that sees the event
	 * and then reads the state finds it at least as new.
	 */
	kni_state_write(r, dev, extra);
	kni_ring_prod_release(ring);
	kni_file_wake(kf, EPOLLPRI);
}

/* The state a file finds right after it attached. */
void kni_event_attach(struct kni_file *kf, const struct net_device *dev)
{
	ASSERT_RTNL();
	kni_state_write(&kf->region, dev, 0);
}

/* The last event of a file whose device is going away. */
void kni_event_gone(struct kni_file *kf, const struct net_device *dev)
{
	ASSERT_RTNL();
	kni_event_post_file(kf, dev, KNI_EVENT_GONE, 0, KNI_STATE_F_GONE);
}

/**
 * kni_event_post() - tell every attached dataplane about a change
 * @kni: the device that changed
 * @type: KNI_EVENT_*
 * @value: the event's value (struct kni_event)
 *
 * Called under RTNL after the change is made.
 */
void kni_event_post(struct kni_dev *kni, u32 type, u32 value)
{
	struct kni_file *kf;
	u32 i;

	ASSERT_RTNL();
	for (i = 0; i < kni->num_queues; i++) {
		kf = rtnl_dereference(kni->queues[i].file);
		if (kf)
			kni_event_post_file(kf, kni->dev, type, value, 0);
	}
}

/**
 * kni_mc_work() - post the device's multicast list when it changed
 * @work: kni_dev.mc_work, queued by ndo_set_rx_mode
 *
 * A dataplane that filters multicast must let the groups the stack joined
 * through (IPv6 neighbour discovery depends on them). The list is read
 * under the address lock and posted under RTNL; a device that is going
 * away posts nothing, and its destructor cancels the work. Neither does a
 * device that is down: the dataplane keeps the list it had when the
 * device was last up (closing it has the stack leave its groups, after
 * ndo_set_rx_mode queued this work), and opening it posts the list anew.
 */
void kni_mc_work(struct work_struct *work)
{
	struct kni_dev *kni = container_of(work, struct kni_dev, mc_work);
	u8 addr[KNI_STATE_MC_MAX][ETH_ALEN] = {};
	struct net_device *dev = kni->dev;
	struct netdev_hw_addr *ha;
	u32 n = 0;

	rtnl_lock();
	if (dev->reg_state != NETREG_REGISTERED || !netif_running(dev))
		goto unlock;
	netif_addr_lock_bh(dev);
	netdev_for_each_mc_addr(ha, dev) {
		if (n < KNI_STATE_MC_MAX)
			memcpy(addr[n], ha->addr, ETH_ALEN);
		n++;
	}
	netif_addr_unlock_bh(dev);
	/* ndo_set_rx_mode also runs for changes of flags only. */
	if (n == kni->mc_count && !memcmp(addr, kni->mc_addr, sizeof(addr)))
		goto unlock;
	kni->mc_count = n;
	memcpy(kni->mc_addr, addr, sizeof(addr));
	kni_event_post(kni, KNI_EVENT_MCAST, n);
unlock:
	rtnl_unlock();
}
