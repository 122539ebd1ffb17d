// SPDX-License-Identifier: GPL-2.0-only
/*
 * kni: the network device and its rtnetlink operations.
 */

#include <linux/etherdevice.h>
#include <linux/netdevice.h>
#include <net/rtnetlink.h>

#include "kni.h"

static int kni_open(struct net_device *dev)
{
	netif_tx_start_all_queues(dev);
	return 0;
}

static int kni_stop(struct net_device *dev)
{
	netif_tx_stop_all_queues(dev);
	return 0;
}

static netdev_tx_t kni_start_xmit(struct sk_buff *skb, struct net_device *dev)
{
	/* No dataplane is attached to take the packet. */
	dev_core_stats_tx_dropped_inc(dev);
	kfree_skb_reason(skb, SKB_DROP_REASON_DEV_READY);
	return NETDEV_TX_OK;
}

static const struct net_device_ops kni_netdev_ops = {
	.ndo_open		= kni_open,
	.ndo_stop		= kni_stop,
	.ndo_start_xmit		= kni_start_xmit,
	.ndo_get_stats64	= dev_get_tstats64,
	.ndo_set_mac_address	= eth_mac_addr,
	.ndo_validate_addr	= eth_validate_addr,
};

static void kni_setup(struct net_device *dev)
{
	struct kni_dev *kni = netdev_priv(dev);

	ether_setup(dev);
	dev->netdev_ops = &kni_netdev_ops;
	dev->needs_free_netdev = true;
	dev->pcpu_stat_type = NETDEV_PCPU_STAT_TSTATS;
	dev->priv_flags |= IFF_LIVE_ADDR_CHANGE;
	kni->dev = dev;
}

static int kni_newlink(struct net *src_net, struct net_device *dev,
		       struct nlattr *tb[], struct nlattr *data[],
		       struct netlink_ext_ack *extack)
{
	int err;

	if (!tb[IFLA_ADDRESS])
		eth_hw_addr_random(dev);

	err = register_netdevice(dev);
	if (err)
		return err;

	/* Nobody is on the other side yet. */
	netif_carrier_off(dev);
	return 0;
}

struct rtnl_link_ops kni_link_ops __read_mostly = {
	.kind		= KNI_DRV_NAME,
	.priv_size	= sizeof(struct kni_dev),
	.setup		= kni_setup,
	.newlink	= kni_newlink,
};
