// SPDX-License-Identifier: GPL-2.0-only
/*
 * kni: control events, kernel -> user. Every change an administrator makes
 * to a kni device (MTU, up/down, MAC address, promiscuity, all-multicast)
 * is posted on the event ring of each attached queue once the change is
 * made, and the state block next to the ring is rewritten. The kernel never
 * waits for the dataplane: what it cannot honour it declared at attach time
 * (maximum MTU, fixed MAC address) and the kernel refuses that at once.
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
	u32 flags = 0;

	if (dev->flags & IFF_UP)
		flags |= KNI_STATE_F_UP;
	if (dev->flags & IFF_PROMISC)
		flags |= KNI_STATE_F_PROMISC;
	if (dev->flags & IFF_ALLMULTI)
		flags |= KNI_STATE_F_ALLMULTI;
	return flags;
}

/*
 * Rewrite the state block under its sequence number, seqcount style: odd
 * while the fields change, even once they are stable again.
 */
static void kni_state_write(struct kni_region *r, const struct net_device *dev,
			    u32 extra)
{
	struct kni_state *st = r->state;

	WRITE_ONCE(st->seq, ++r->state_seq);
	/* Orders the odd sequence before the fields; pairs with the reader's
	 * read barrier between copying the fields and loading seq again.
	 */
	smp_wmb();
	WRITE_ONCE(st->mtu, READ_ONCE(dev->mtu));
	WRITE_ONCE(st->flags, kni_state_flags(dev) | extra);
	WRITE_ONCE(st->overflows, r->overflows);
	memcpy(st->addr, dev->dev_addr, ETH_ALEN);
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

static int kni_netdev_event(struct notifier_block *nb, unsigned long event,
			    void *ptr)
{
	struct net_device *dev = netdev_notifier_info_to_dev(ptr);
	struct netlink_ext_ack *extack;
	struct kni_dev *kni;

	if (dev->rtnl_link_ops != &kni_link_ops)
		return NOTIFY_DONE;
	kni = netdev_priv(dev);

	switch (event) {
	case NETDEV_PRE_CHANGEADDR:
		if (!kni->fixed_mac)
			break;
		extack = netdev_notifier_info_to_extack(ptr);
		NL_SET_ERR_MSG_FMT(extack,
				   "the dataplane attached to %s cannot change its MAC address",
				   dev->name);
		return notifier_from_errno(-EBUSY);
	case NETDEV_CHANGEADDR:
		kni_event_post(kni, KNI_EVENT_MAC, 0);
		break;
	case NETDEV_CHANGEMTU:
		kni_event_post(kni, KNI_EVENT_MTU, dev->mtu);
		break;
	case NETDEV_UP:
		kni_event_post(kni, KNI_EVENT_UP, 1);
		break;
	case NETDEV_DOWN:
		kni_event_post(kni, KNI_EVENT_UP, 0);
		break;
	}
	return NOTIFY_DONE;
}

static struct notifier_block kni_notifier = {
	.notifier_call	= kni_netdev_event,
};

int kni_event_init(void)
{
	return register_netdevice_notifier(&kni_notifier);
}

void kni_event_exit(void)
{
	unregister_netdevice_notifier(&kni_notifier);
}
