/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kni: a network device whose other end is a userspace dataplane.
 *
 * Private header shared by the files of the driver.
 */
#ifndef _KNI_H
#define _KNI_H

#include <linux/netdevice.h>
#include <net/rtnetlink.h>

#define KNI_DRV_NAME	"kni"

/**
 * struct kni_dev - private state of one kni network device
 * @dev: the network device this state belongs to
 */
struct kni_dev {
	struct net_device	*dev;
};

extern struct rtnl_link_ops kni_link_ops;

#endif /* _KNI_H */
