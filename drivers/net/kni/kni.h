/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * kni: a network device whose other end is a userspace dataplane.
 *
 * Private header shared by the files of the driver.
 */
#ifndef _KNI_H
#define _KNI_H

#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_vlan.h>
#include <linux/netdevice.h>
#include <linux/u64_stats_sync.h>
#include <linux/uidgid.h>
#include <net/rtnetlink.h>

#define KNI_DRV_NAME		"kni"

/* Limits and defaults of the IFLA_KNI_* attributes. */
#define KNI_MAX_QUEUES		64
#define KNI_RING_SIZE_MIN	64
#define KNI_RING_SIZE_MAX	32768
#define KNI_RING_SIZE_DEFAULT	1024
#define KNI_FRAME_SIZE_MIN	2048
#define KNI_FRAME_SIZE_MAX	65536
#define KNI_FRAME_SIZE_DEFAULT	2048

/*
 * Bytes at the start of every frame that belong to offload metadata and
 * headroom, never to packet data: the largest MTU a frame size allows is
 * what is left after them and an Ethernet header with one VLAN tag.
 */
#define KNI_FRAME_HEADROOM	256
#define KNI_FRAME_L2_OVERHEAD	(ETH_HLEN + VLAN_HLEN)

static inline unsigned int kni_max_mtu(u32 frame_size)
{
	return frame_size - KNI_FRAME_HEADROOM - KNI_FRAME_L2_OVERHEAD;
}

/**
 * struct kni_stats - counters of one direction of one queue
 * @packets: packets passed on
 * @bytes: bytes of those packets
 * @drops: packets dropped
 * @syncp: protects the counters against torn reads on 32-bit hosts
 *
 * Each direction has a single writer (the queue's tx lock or its NAPI).
 */
struct kni_stats {
	u64_stats_t		packets;
	u64_stats_t		bytes;
	u64_stats_t		drops;
	struct u64_stats_sync	syncp;
};

/**
 * struct kni_queue - one queue pair of a kni device
 * @kni: the device the queue belongs to
 * @index: queue number, the same for the tx and the rx side
 * @rx: counters of packets userspace passed to the stack
 * @tx: counters of packets the stack passed to userspace
 */
struct kni_queue {
	struct kni_dev		*kni;
	u32			index;
	struct kni_stats	rx ____cacheline_aligned_in_smp;
	struct kni_stats	tx ____cacheline_aligned_in_smp;
};

/**
 * struct kni_dev - private state of one kni network device
 * @dev: the network device this state belongs to
 * @list: entry in the per-netns list of kni devices (RTNL)
 * @queues: @num_queues queue pairs
 * @num_queues: number of queue pairs, fixed at creation
 * @ring_size: descriptors per ring, fixed at creation
 * @frame_size: bytes per frame, fixed at creation
 * @carrier: carrier state requested by IFLA_KNI_CARRIER
 * @loopback: enum kni_loopback
 * @owner: user allowed to attach without CAP_NET_ADMIN, or INVALID_UID
 * @group: group allowed to attach without CAP_NET_ADMIN, or INVALID_GID
 *
 * The attributes are written under RTNL and read locklessly elsewhere.
 */
struct kni_dev {
	struct net_device	*dev;
	struct list_head	list;
	struct kni_queue	*queues;
	u32			num_queues;
	u32			ring_size;
	u32			frame_size;
	bool			carrier;
	u32			loopback;
	kuid_t			owner;
	kgid_t			group;
};

/**
 * struct kni_net - per network namespace state
 * @devs: kni devices in this namespace (RTNL)
 */
struct kni_net {
	struct list_head	devs;
};

extern unsigned int kni_net_id;
extern struct rtnl_link_ops kni_link_ops;
extern const struct ethtool_ops kni_ethtool_ops;

void kni_stats_read(const struct kni_stats *stats, u64 *packets, u64 *bytes,
		    u64 *drops);

#endif /* _KNI_H */
