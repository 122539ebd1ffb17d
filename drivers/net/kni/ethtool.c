// SPDX-License-Identifier: GPL-2.0-only
/*
 * kni: ethtool operations. The queue count and the ring size are fixed
 * when a device is created, so they are reported but cannot be set.
 */

#include <linux/ethtool.h>
#include <linux/netdevice.h>

#include "kni.h"

/*
 * Per queue, what the netdev family's queue statistics cannot tell apart:
 * their hw-drops add up the packets kni dropped and the descriptors it
 * refused. Packets, bytes and stops are only there (qstats-get).
 */
static const char kni_stat_names[][ETH_GSTRING_LEN] = {
	"drops",
	"invalid",
};

#define KNI_STATS	ARRAY_SIZE(kni_stat_names)

static void kni_get_drvinfo(struct net_device *dev,
			    struct ethtool_drvinfo *info)
{
	strscpy(info->driver, KNI_DRV_NAME, sizeof(info->driver));
}

static void kni_get_channels(struct net_device *dev,
			     struct ethtool_channels *ch)
{
	const struct kni_dev *kni = netdev_priv(dev);

	ch->max_combined = kni->num_queues;
	ch->combined_count = kni->num_queues;
}

static void kni_get_ringparam(struct net_device *dev,
			      struct ethtool_ringparam *ring,
			      struct kernel_ethtool_ringparam *kring,
			      struct netlink_ext_ack *extack)
{
	const struct kni_dev *kni = netdev_priv(dev);

	ring->rx_max_pending = KNI_RING_SIZE_MAX;
	ring->tx_max_pending = KNI_RING_SIZE_MAX;
	ring->rx_pending = kni->ring_size;
	ring->tx_pending = kni->ring_size;
	kring->rx_buf_len = kni->frame_size;
}

static int kni_get_sset_count(struct net_device *dev, int sset)
{
	const struct kni_dev *kni = netdev_priv(dev);

	if (sset != ETH_SS_STATS)
		return -EOPNOTSUPP;
	return kni->num_queues * 2 * KNI_STATS;
}

static void kni_get_strings(struct net_device *dev, u32 sset, u8 *data)
{
	const struct kni_dev *kni = netdev_priv(dev);
	u32 i, j;

	if (sset != ETH_SS_STATS)
		return;
	for (i = 0; i < kni->num_queues; i++)
		for (j = 0; j < KNI_STATS; j++)
			ethtool_sprintf(&data, "rx%u_%s", i, kni_stat_names[j]);
	for (i = 0; i < kni->num_queues; i++)
		for (j = 0; j < KNI_STATS; j++)
			ethtool_sprintf(&data, "tx%u_%s", i, kni_stat_names[j]);
}

static void kni_get_ethtool_stats(struct net_device *dev,
				  struct ethtool_stats *stats, u64 *data)
{
	const struct kni_dev *kni = netdev_priv(dev);
	struct kni_stats_snapshot s;
	u32 i;

	for (i = 0; i < kni->num_queues; i++) {
		kni_stats_read(&kni->queues[i].rx, &s);
		*data++ = s.drops;
		*data++ = s.invalid;
	}
	for (i = 0; i < kni->num_queues; i++) {
		kni_stats_read(&kni->queues[i].tx, &s);
		*data++ = s.drops;
		*data++ = s.invalid;
	}
}

const struct ethtool_ops kni_ethtool_ops = {
	.get_drvinfo		= kni_get_drvinfo,
	.get_link		= ethtool_op_get_link,
	.get_channels		= kni_get_channels,
	.get_ringparam		= kni_get_ringparam,
	.get_sset_count		= kni_get_sset_count,
	.get_strings		= kni_get_strings,
	.get_ethtool_stats	= kni_get_ethtool_stats,
};
