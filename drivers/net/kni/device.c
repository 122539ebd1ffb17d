// SPDX-License-Identifier: GPL-2.0-only
/*
 * kni: the network device and its rtnetlink operations.
 *
 * Devices are created, configured and destroyed only through rtnetlink
 * ("ip link add NAME [numtxqueues N numrxqueues N] type kni ..."). The shape
 * of the shared memory (queues, ring size, frame size) is fixed when a device
 * is created; carrier, loopback mode and the owner may change later.
 */

#include <linux/etherdevice.h>
#include <linux/log2.h>
#include <linux/netdevice.h>
#include <linux/slab.h>
#include <net/netdev_queues.h>
#include <net/rtnetlink.h>

#include "kni.h"

void kni_stats_read(const struct kni_stats *stats,
		    struct kni_stats_snapshot *snap)
{
	unsigned int start;

	do {
		start = u64_stats_fetch_begin(&stats->syncp);
		snap->packets = u64_stats_read(&stats->packets);
		snap->bytes = u64_stats_read(&stats->bytes);
		snap->drops = u64_stats_read(&stats->drops);
		snap->invalid = u64_stats_read(&stats->invalid);
		snap->stops = u64_stats_read(&stats->stops);
	} while (u64_stats_fetch_retry(&stats->syncp, start));
}

static int kni_dev_init(struct net_device *dev)
{
	struct kni_dev *kni = netdev_priv(dev);
	u32 i;

	kni->queues = kcalloc(kni->num_queues, sizeof(*kni->queues),
			      GFP_KERNEL_ACCOUNT);
	if (!kni->queues)
		return -ENOMEM;

	for (i = 0; i < kni->num_queues; i++) {
		struct kni_queue *q = &kni->queues[i];

		q->kni = kni;
		q->index = i;
		u64_stats_init(&q->rx.syncp);
		u64_stats_init(&q->tx.syncp);
		spin_lock_init(&q->wakeup_lock);
		netif_napi_add(dev, &q->napi, kni_napi_poll);
	}
	return 0;
}

static void kni_dev_uninit(struct net_device *dev)
{
	struct kni_dev *kni = netdev_priv(dev);
	u32 i;

	ASSERT_RTNL();
	/*
	 * Attached dataplanes keep their memory and learn the device left.
	 * The core waits for an RCU grace period after ndo_uninit and before
	 * the queues are freed: no reader of a queue, its file pointer or
	 * its NAPI outlives it, so nothing here waits on its own.
	 */
	for (i = 0; i < kni->num_queues; i++) {
		kni_queue_detach(&kni->queues[i], true);
		__netif_napi_del(&kni->queues[i].napi);
	}
}

/*
 * Runs once the last reference is gone, without RTNL, or when registration
 * fails, before the work could ever be queued.
 */
static void kni_dev_free(struct net_device *dev)
{
	struct kni_dev *kni = netdev_priv(dev);

	cancel_work_sync(&kni->mc_work);
	kfree(kni->queues);
}

/* Under the address lock, in atomic context: the work posts the list. */
static void kni_set_rx_mode(struct net_device *dev)
{
	struct kni_dev *kni = netdev_priv(dev);

	schedule_work(&kni->mc_work);
}

static int kni_open(struct net_device *dev)
{
	struct kni_dev *kni = netdev_priv(dev);
	u32 i;

	for (i = 0; i < kni->num_queues; i++) {
		struct kni_queue *q = &kni->queues[i];

		napi_enable(&q->napi);
		netif_queue_set_napi(dev, i, NETDEV_QUEUE_TYPE_RX, &q->napi);
		netif_queue_set_napi(dev, i, NETDEV_QUEUE_TYPE_TX, &q->napi);
	}
	netif_tx_start_all_queues(dev);
	for (i = 0; i < kni->num_queues; i++) {
		struct kni_queue *q = &kni->queues[i];
		struct kni_file *kf = rtnl_dereference(q->file);

		if (!kf)
			continue;
		kni_tx_start(q, kf);
		/* Whatever userspace produced while the device was down. */
		kni_napi_kick(q);
	}
	kni_event_post(kni, KNI_EVENT_UP, 1);
	return 0;
}

static int kni_stop(struct net_device *dev)
{
	struct kni_dev *kni = netdev_priv(dev);
	u32 i;

	/* No poll may wake a subqueue after it stopped. */
	for (i = 0; i < kni->num_queues; i++) {
		netif_queue_set_napi(dev, i, NETDEV_QUEUE_TYPE_RX, NULL);
		netif_queue_set_napi(dev, i, NETDEV_QUEUE_TYPE_TX, NULL);
		napi_disable(&kni->queues[i].napi);
	}
	netif_tx_disable(dev);
	kni_event_post(kni, KNI_EVENT_UP, 0);
	return 0;
}

/* The dataplanes declared their largest MTU; the core enforced it. */
static int kni_change_mtu(struct net_device *dev, int new_mtu)
{
	WRITE_ONCE(dev->mtu, new_mtu);
	kni_event_post(netdev_priv(dev), KNI_EVENT_MTU, new_mtu);
	return 0;
}

static int kni_set_mac_address(struct net_device *dev, void *addr)
{
	struct kni_dev *kni = netdev_priv(dev);
	int err;

	/* An attached dataplane said it cannot follow (KNI_ATTACH_F_FIXED_MAC). */
	if (kni->fixed_mac)
		return -EBUSY;
	err = eth_mac_addr(dev, addr);
	if (err)
		return err;
	kni_event_post(kni, KNI_EVENT_MAC, 0);
	return 0;
}

static void kni_get_stats64(struct net_device *dev,
			    struct rtnl_link_stats64 *stats)
{
	struct kni_dev *kni = netdev_priv(dev);
	struct kni_stats_snapshot snap;
	u32 i;

	for (i = 0; i < kni->num_queues; i++) {
		const struct kni_queue *q = &kni->queues[i];

		kni_stats_read(&q->rx, &snap);
		stats->rx_packets += snap.packets;
		stats->rx_bytes += snap.bytes;
		stats->rx_dropped += snap.drops;
		stats->rx_errors += snap.invalid;

		kni_stats_read(&q->tx, &snap);
		stats->tx_packets += snap.packets;
		stats->tx_bytes += snap.bytes;
		stats->tx_dropped += snap.drops;
		stats->tx_errors += snap.invalid;
	}
}

/*
 * Per-queue statistics for the netdev family (qstats). Packets userspace
 * described wrongly count as drops of the device, like those it dropped.
 */
static void kni_get_queue_stats_rx(struct net_device *dev, int idx,
				   struct netdev_queue_stats_rx *stats)
{
	struct kni_dev *kni = netdev_priv(dev);
	struct kni_stats_snapshot snap;

	kni_stats_read(&kni->queues[idx].rx, &snap);
	stats->packets = snap.packets;
	stats->bytes = snap.bytes;
	stats->hw_drops = snap.drops + snap.invalid;
}

static void kni_get_queue_stats_tx(struct net_device *dev, int idx,
				   struct netdev_queue_stats_tx *stats)
{
	struct kni_dev *kni = netdev_priv(dev);
	struct kni_stats_snapshot snap;

	kni_stats_read(&kni->queues[idx].tx, &snap);
	stats->packets = snap.packets;
	stats->bytes = snap.bytes;
	stats->hw_drops = snap.drops + snap.invalid;
	stats->stop = snap.stops;
}

/* Every count belongs to a queue that exists: nothing is kept apart. */
static void kni_get_base_stats(struct net_device *dev,
			       struct netdev_queue_stats_rx *rx,
			       struct netdev_queue_stats_tx *tx)
{
	rx->packets = 0;
	rx->bytes = 0;
	rx->hw_drops = 0;
	tx->packets = 0;
	tx->bytes = 0;
	tx->hw_drops = 0;
	tx->stop = 0;
}

static const struct netdev_stat_ops kni_stat_ops = {
	.get_queue_stats_rx	= kni_get_queue_stats_rx,
	.get_queue_stats_tx	= kni_get_queue_stats_tx,
	.get_base_stats		= kni_get_base_stats,
};

/**
 * kni_set_carrier() - turn the carrier of a kni device on or off
 * @kni: the device
 * @on: the new state
 *
 * Under RTNL, from rtnetlink (IFLA_CARRIER), an attached file's ioctl, and
 * the last file's detach: one lock orders them all.
 */
void kni_set_carrier(struct kni_dev *kni, bool on)
{
	ASSERT_RTNL();
	if (on)
		netif_carrier_on(kni->dev);
	else
		netif_carrier_off(kni->dev);
}

/**
 * kni_update_limits() - apply what the attached dataplanes declared
 * @kni: the device
 *
 * The MTU may not exceed what any attached file handles, nor what a frame
 * holds; the MAC address is fixed while any attached file asked so; the
 * device offers the stack the offloads any attached file took on. Called
 * under RTNL after a file attached or detached.
 *
 * Return: whether any file is attached.
 */
bool kni_update_limits(struct kni_dev *kni)
{
	unsigned int max_mtu = kni_max_mtu(kni->frame_size);
	bool attached = false, fixed_mac = false;
	struct kni_file *kf;
	u32 i, offloads = 0;

	ASSERT_RTNL();
	for (i = 0; i < kni->num_queues; i++) {
		kf = rtnl_dereference(kni->queues[i].file);
		if (!kf)
			continue;
		attached = true;
		if (kf->max_mtu)
			max_mtu = min(max_mtu, kf->max_mtu);
		fixed_mac |= kf->fixed_mac;
		offloads |= kf->offloads;
	}
	WRITE_ONCE(kni->dev->max_mtu, max_mtu);
	kni->fixed_mac = fixed_mac;
	if (offloads != kni->offloads) {
		kni->offloads = offloads;
		netdev_update_features(kni->dev);
	}
	return attached;
}

static int kni_change_carrier(struct net_device *dev, bool new_carrier)
{
	kni_set_carrier(netdev_priv(dev), new_carrier);
	return 0;
}

/* Promiscuity and all-multicast changed (RTNL); dev->flags has them. */
static void kni_change_rx_flags(struct net_device *dev, int change)
{
	struct kni_dev *kni = netdev_priv(dev);

	if (change & IFF_PROMISC)
		kni_event_post(kni, KNI_EVENT_PROMISC,
			       !!(dev->flags & IFF_PROMISC));
	if (change & IFF_ALLMULTI)
		kni_event_post(kni, KNI_EVENT_ALLMULTI,
			       !!(dev->flags & IFF_ALLMULTI));
}

/*
 * Checksum offload, and scatter-gather with it, only while a dataplane
 * that completes checksums is attached, segmentation offloads only while
 * one that segments is: otherwise the stack hands over what it did before
 * offloads existed. kni_features_check() narrows them to the queue's
 * dataplane.
 */
static netdev_features_t kni_fix_features(struct net_device *dev,
					  netdev_features_t features)
{
	struct kni_dev *kni = netdev_priv(dev);

	/* kni_offload_features() masks the checksum features, not SG. */
	if (!(kni->offloads & KNI_OFFLOAD_CSUM))
		features &= ~NETIF_F_SG;
	return features & kni_offload_features(kni->offloads);
}

static const struct net_device_ops kni_netdev_ops = {
	.ndo_init		= kni_dev_init,
	.ndo_uninit		= kni_dev_uninit,
	.ndo_open		= kni_open,
	.ndo_stop		= kni_stop,
	.ndo_start_xmit		= kni_start_xmit,
	.ndo_get_stats64	= kni_get_stats64,
	.ndo_change_mtu		= kni_change_mtu,
	.ndo_set_mac_address	= kni_set_mac_address,
	.ndo_validate_addr	= eth_validate_addr,
	.ndo_change_carrier	= kni_change_carrier,
	.ndo_change_rx_flags	= kni_change_rx_flags,
	.ndo_set_rx_mode	= kni_set_rx_mode,
	.ndo_fix_features	= kni_fix_features,
	.ndo_features_check	= kni_features_check,
};

static void kni_setup(struct net_device *dev)
{
	struct kni_dev *kni = netdev_priv(dev);

	ether_setup(dev);
	dev->netdev_ops = &kni_netdev_ops;
	dev->ethtool_ops = &kni_ethtool_ops;
	dev->stat_ops = &kni_stat_ops;
	dev->needs_free_netdev = true;
	/*
	 * RXCSUM: whether the stack trusts a dataplane's word that it
	 * verified checksums. The others follow the attached dataplanes'
	 * offloads (kni_fix_features()).
	 */
	dev->hw_features = NETIF_F_RXCSUM | NETIF_F_HW_CSUM | NETIF_F_SG |
			   NETIF_F_TSO | NETIF_F_TSO6 | NETIF_F_GSO_UDP_L4;
	/* Every copy maps the pages of a packet itself (skb_copy_bits()). */
	dev->features = dev->hw_features | NETIF_F_HIGHDMA;
	/* A VLAN on top offers what the device offers at the time. */
	dev->vlan_features = dev->features;
	dev->priv_destructor = kni_dev_free;
	dev->priv_flags |= IFF_LIVE_ADDR_CHANGE;
	/*
	 * The attach permission of a device is decided against its netns and
	 * owner; moving it would hand an attached dataplane's device to
	 * another namespace behind its back.
	 */
	dev->netns_immutable = true;
	/* The largest any frame size allows; newlink narrows it. */
	dev->min_mtu = ETH_MIN_MTU;
	dev->max_mtu = kni_max_mtu(KNI_FRAME_SIZE_MAX);

	kni->dev = dev;
	INIT_WORK(&kni->mc_work, kni_mc_work);
	kni->ring_size = KNI_RING_SIZE_DEFAULT;
	kni->frame_size = KNI_FRAME_SIZE_DEFAULT;
	kni->loopback = KNI_LOOPBACK_NONE;
	kni->owner = INVALID_UID;
	kni->group = INVALID_GID;
}

static const struct netlink_range_validation kni_ring_size_range = {
	.min	= KNI_RING_SIZE_MIN,
	.max	= KNI_RING_SIZE_MAX,
};

static const struct netlink_range_validation kni_frame_size_range = {
	.min	= KNI_FRAME_SIZE_MIN,
	.max	= KNI_FRAME_SIZE_MAX,
};

static const struct nla_policy kni_policy[IFLA_KNI_MAX + 1] = {
	[IFLA_KNI_UNSPEC]	= { .strict_start_type = IFLA_KNI_RING_SIZE },
	[IFLA_KNI_RING_SIZE]	= NLA_POLICY_FULL_RANGE(NLA_U32,
							&kni_ring_size_range),
	[IFLA_KNI_FRAME_SIZE]	= NLA_POLICY_FULL_RANGE(NLA_U32,
							&kni_frame_size_range),
	[IFLA_KNI_LOOPBACK]	= NLA_POLICY_MAX(NLA_U32, KNI_LOOPBACK_MAX),
	[IFLA_KNI_OWNER]	= { .type = NLA_U32 },
	[IFLA_KNI_GROUP]	= { .type = NLA_U32 },
};

static int kni_validate(struct nlattr *tb[], struct nlattr *data[],
			struct netlink_ext_ack *extack)
{
	struct nlattr *attr;

	attr = tb[IFLA_ADDRESS];
	if (attr) {
		if (nla_len(attr) != ETH_ALEN) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "Invalid link address length");
			return -EINVAL;
		}
		if (!is_valid_ether_addr(nla_data(attr))) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "Invalid unicast link address");
			return -EADDRNOTAVAIL;
		}
	}
	if (!data)
		return 0;

	attr = data[IFLA_KNI_RING_SIZE];
	if (attr && !is_power_of_2(nla_get_u32(attr))) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "kni ring_size must be a power of two");
		return -EINVAL;
	}
	attr = data[IFLA_KNI_FRAME_SIZE];
	if (attr && !is_power_of_2(nla_get_u32(attr))) {
		NL_SET_ERR_MSG_ATTR(extack, attr,
				    "kni frame_size must be a power of two");
		return -EINVAL;
	}
	return 0;
}

/*
 * Owner and group are given as ids of the caller's user namespace; -1
 * means nobody. They must also be mapped in the user namespace that owns
 * the device's network namespace: its root could neither see nor restate
 * an id it has no name for. Only parsed here: the caller applies them once
 * every other check passed, so a rejected request changes nothing.
 */
static int kni_parse_owner(struct kni_dev *kni, struct nlattr *data[],
			   kuid_t *owner, kgid_t *group,
			   struct netlink_ext_ack *extack)
{
	struct user_namespace *dev_ns = dev_net(kni->dev)->user_ns;
	struct nlattr *attr;
	u32 id;

	*owner = kni->owner;
	*group = kni->group;

	attr = data[IFLA_KNI_OWNER];
	if (attr) {
		id = nla_get_u32(attr);
		*owner = make_kuid(current_user_ns(), id);
		if (id != (u32)-1 && !uid_valid(*owner)) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "kni owner uid is not mapped in the caller's user namespace");
			return -EINVAL;
		}
		if (uid_valid(*owner) && !kuid_has_mapping(dev_ns, *owner)) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "kni owner uid is not mapped in the device's user namespace");
			return -EINVAL;
		}
	}
	attr = data[IFLA_KNI_GROUP];
	if (attr) {
		id = nla_get_u32(attr);
		*group = make_kgid(current_user_ns(), id);
		if (id != (u32)-1 && !gid_valid(*group)) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "kni group gid is not mapped in the caller's user namespace");
			return -EINVAL;
		}
		if (gid_valid(*group) && !kgid_has_mapping(dev_ns, *group)) {
			NL_SET_ERR_MSG_ATTR(extack, attr,
					    "kni group gid is not mapped in the device's user namespace");
			return -EINVAL;
		}
	}
	return 0;
}

static int kni_newlink(struct net *src_net, struct net_device *dev,
		       struct nlattr *tb[], struct nlattr *data[],
		       struct netlink_ext_ack *extack)
{
	struct kni_dev *kni = netdev_priv(dev);
	kuid_t owner = INVALID_UID;
	kgid_t group = INVALID_GID;
	int err;

	/* Queue pairs: the core allocated numtxqueues and numrxqueues. */
	if (dev->num_tx_queues != dev->num_rx_queues) {
		NL_SET_ERR_MSG(extack,
			       "kni needs as many rx queues as tx queues");
		return -EINVAL;
	}
	if (dev->num_tx_queues > KNI_MAX_QUEUES) {
		NL_SET_ERR_MSG_FMT(extack, "kni supports at most %u queues",
				   KNI_MAX_QUEUES);
		return -EINVAL;
	}
	kni->num_queues = dev->num_tx_queues;

	if (data) {
		if (data[IFLA_KNI_RING_SIZE])
			kni->ring_size = nla_get_u32(data[IFLA_KNI_RING_SIZE]);
		if (data[IFLA_KNI_FRAME_SIZE])
			kni->frame_size = nla_get_u32(data[IFLA_KNI_FRAME_SIZE]);
		if (data[IFLA_KNI_LOOPBACK])
			kni->loopback = nla_get_u32(data[IFLA_KNI_LOOPBACK]);
		err = kni_parse_owner(kni, data, &owner, &group, extack);
		if (err)
			return err;
	}
	kni->owner = owner;
	kni->group = group;

	dev->max_mtu = kni_max_mtu(kni->frame_size);
	if (dev->mtu > dev->max_mtu) {
		NL_SET_ERR_MSG_ATTR_FMT(extack, tb[IFLA_MTU],
					"MTU %u does not fit in a kni frame of %u bytes (max %u)",
					dev->mtu, kni->frame_size, dev->max_mtu);
		return -EINVAL;
	}

	if (!tb[IFLA_ADDRESS])
		eth_hw_addr_random(dev);

	/*
	 * The core applies IFLA_CARRIER only to existing devices: a new one
	 * starts with it, or without a carrier until a dataplane says so,
	 * and is never seen in another state.
	 */
	if (!tb[IFLA_CARRIER] || !nla_get_u8(tb[IFLA_CARRIER]))
		netif_carrier_off(dev);

	return register_netdevice(dev);
}

/* The shape of the shared memory cannot change under an attached dataplane. */
static int kni_check_fixed(struct nlattr *attr, u32 now, const char *name,
			   struct netlink_ext_ack *extack)
{
	if (attr && nla_get_u32(attr) != now) {
		NL_SET_ERR_MSG_ATTR_FMT(extack, attr,
					"kni %s is fixed when the device is created (it is %u)",
					name, now);
		return -EOPNOTSUPP;
	}
	return 0;
}

static int kni_changelink(struct net_device *dev, struct nlattr *tb[],
			  struct nlattr *data[],
			  struct netlink_ext_ack *extack)
{
	struct kni_dev *kni = netdev_priv(dev);
	kuid_t owner;
	kgid_t group;
	int err;
	u32 i;

	if (!data)
		return 0;

	err = kni_check_fixed(data[IFLA_KNI_RING_SIZE], kni->ring_size,
			      "ring_size", extack);
	if (!err)
		err = kni_check_fixed(data[IFLA_KNI_FRAME_SIZE],
				      kni->frame_size, "frame_size", extack);
	if (!err)
		err = kni_parse_owner(kni, data, &owner, &group, extack);
	if (err)
		return err;

	WRITE_ONCE(kni->owner, owner);
	WRITE_ONCE(kni->group, group);
	if (data[IFLA_KNI_LOOPBACK] &&
	    nla_get_u32(data[IFLA_KNI_LOOPBACK]) != kni->loopback) {
		WRITE_ONCE(kni->loopback, nla_get_u32(data[IFLA_KNI_LOOPBACK]));
		/*
		 * A poll that stopped for what the old mode needed (an alloc
		 * frame, a tx slot) waits for a kick the dataplane has no
		 * reason to give: poll again in the new mode.
		 */
		for (i = 0; i < kni->num_queues; i++)
			kni_napi_kick(&kni->queues[i]);
	}
	return 0;
}

static size_t kni_get_size(const struct net_device *dev)
{
	return nla_total_size(sizeof(u32)) +	/* IFLA_KNI_RING_SIZE */
	       nla_total_size(sizeof(u32)) +	/* IFLA_KNI_FRAME_SIZE */
	       nla_total_size(sizeof(u32)) +	/* IFLA_KNI_LOOPBACK */
	       nla_total_size(sizeof(u32)) +	/* IFLA_KNI_OWNER */
	       nla_total_size(sizeof(u32));	/* IFLA_KNI_GROUP */
}

static int kni_fill_info(struct sk_buff *skb, const struct net_device *dev)
{
	const struct kni_dev *kni = netdev_priv(dev);
	kuid_t owner = READ_ONCE(kni->owner);
	kgid_t group = READ_ONCE(kni->group);

	if (nla_put_u32(skb, IFLA_KNI_RING_SIZE, kni->ring_size) ||
	    nla_put_u32(skb, IFLA_KNI_FRAME_SIZE, kni->frame_size) ||
	    nla_put_u32(skb, IFLA_KNI_LOOPBACK, READ_ONCE(kni->loopback)))
		return -EMSGSIZE;
	if (uid_valid(owner) &&
	    nla_put_u32(skb, IFLA_KNI_OWNER,
			from_kuid_munged(current_user_ns(), owner)))
		return -EMSGSIZE;
	if (gid_valid(group) &&
	    nla_put_u32(skb, IFLA_KNI_GROUP,
			from_kgid_munged(current_user_ns(), group)))
		return -EMSGSIZE;
	return 0;
}

struct rtnl_link_ops kni_link_ops __read_mostly = {
	.kind			= KNI_DRV_NAME,
	.priv_size		= sizeof(struct kni_dev),
	.setup			= kni_setup,
	.validate		= kni_validate,
	.newlink		= kni_newlink,
	.changelink		= kni_changelink,
	.get_size		= kni_get_size,
	.fill_info		= kni_fill_info,
	.policy			= kni_policy,
	.maxtype		= IFLA_KNI_MAX,
};
