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
#include <linux/poll.h>
#include <linux/skbuff.h>
#include <linux/spinlock.h>
#include <linux/u64_stats_sync.h>
#include <linux/uidgid.h>
#include <linux/virtio_net.h>
#include <linux/wait.h>
#include <linux/workqueue.h>
#include <net/rtnetlink.h>
#include <linux/kni.h>

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

/* Bytes of a chain on rx copied to the skb's linear part: its headers. */
#define KNI_RX_HEAD		128

static inline unsigned int kni_max_mtu(u32 frame_size)
{
	return frame_size - KNI_FRAME_HEADROOM - KNI_FRAME_L2_OVERHEAD;
}

/* Offloads this kernel takes on; segmentation needs the first two. */
#define KNI_OFFLOAD_GSO		(KNI_OFFLOAD_TSO4 | KNI_OFFLOAD_TSO6 | \
				 KNI_OFFLOAD_USO)
#define KNI_OFFLOAD_KNOWN	(KNI_OFFLOAD_CSUM | KNI_OFFLOAD_CHAIN | \
				 KNI_OFFLOAD_GSO)

/*
 * Frames the longest chain takes with the smallest frames, each holding
 * its part after the headroom.
 */
#define KNI_CHAIN_MAX		DIV_ROUND_UP(KNI_CHAIN_LEN_MAX, \
					     KNI_FRAME_SIZE_MIN - \
					     KNI_FRAME_HEADROOM)

/**
 * struct kni_stats - counters of one direction of one queue
 * @packets: packets passed on
 * @bytes: bytes of those packets
 * @drops: packets dropped
 * @invalid: descriptors userspace got wrong (rx: a bad rx descriptor or
 *	an rx producer that moved past the ring size; tx: a bad alloc
 *	descriptor)
 * @stops: times the tx subqueue stopped to wait for userspace (tx only)
 * @syncp: protects the counters against torn reads on 32-bit hosts
 *
 * Each direction has a single writer: the queue's NAPI for rx, the
 * queue's tx lock for tx.
 */
struct kni_stats {
	u64_stats_t		packets;
	u64_stats_t		bytes;
	u64_stats_t		drops;
	u64_stats_t		invalid;
	u64_stats_t		stops;
	struct u64_stats_sync	syncp;
};

/**
 * struct kni_stats_snapshot - a consistent copy of struct kni_stats
 * @packets: packets passed on
 * @bytes: bytes of those packets
 * @drops: packets dropped
 * @invalid: descriptors userspace got wrong
 * @stops: times the tx subqueue stopped
 */
struct kni_stats_snapshot {
	u64	packets;
	u64	bytes;
	u64	drops;
	u64	invalid;
	u64	stops;
};

/**
 * struct kni_ring - the kernel's side of one ring of a queue's region
 * @producer: producer index, in the region
 * @consumer: consumer index, in the region
 * @flags: KNI_RING_F_* of the ring, in the region
 * @desc: the descriptors, in the region
 * @mask: ring size - 1; kernel private, never read back from the region
 * @prod: the kernel's producer index: its own if it produces on the ring,
 *	the last one it read if it consumes
 * @cons: the kernel's consumer index, likewise
 *
 * The kernel only ever writes its own index to the region and never reads
 * it back, so userspace cannot make it lose its place.
 */
struct kni_ring {
	u32			*producer;
	u32			*consumer;
	u32			*flags;
	struct kni_desc		*desc;
	u32			mask;
	u32			prod;
	u32			cons;
};

/* Entries in the event ring of every queue. */
#define KNI_EVENT_RING_SIZE	64

/**
 * struct kni_region - the memory a queue shares with its dataplane
 * @addr: start of the region (vmalloc)
 * @size: bytes in the region, a multiple of PAGE_SIZE
 * @frames: start of the frame area
 * @area_size: bytes in the frame area
 * @frame_size: bytes per frame, a power of two
 * @meta_size: bytes of packet metadata at the start of every frame, 0 when
 *	the dataplane took on no offload
 * @chain_max: descriptors a packet may span: 1, or with KNI_OFFLOAD_CHAIN
 *	enough tx frames for KNI_CHAIN_LEN_MAX bytes
 * @rx: user -> kernel, packets for the stack
 * @free: kernel -> user, rx frames returned
 * @alloc: user -> kernel, empty frames
 * @tx: kernel -> user, packets from the stack
 * @tx_unflushed: packets posted on @tx whose producer index is not
 *	published yet (the stack said more were coming); tx queue lock
 * @tx_need: frames of the chain that found too few, until it is posted;
 *	0 when the last packet was (tx queue lock)
 * @event: kernel -> user, control events (the descriptor pointer is unused)
 * @events: the slots of @event
 * @state: the device's state, in the region
 * @state_seq: the kernel's copy of @state's sequence number
 * @overflows: events the full event ring could not take
 * @tx_frames: the frames taken from alloc for the packet being posted (tx
 *	queue lock)
 *
 * @event, @events, @state and the two counters are written under RTNL.
 */
struct kni_region {
	void			*addr;
	size_t			size;
	u8			*frames;
	u64			area_size;
	u32			frame_size;
	u32			meta_size;
	u32			chain_max;
	struct kni_ring		rx ____cacheline_aligned_in_smp;
	struct kni_ring		free;
	struct kni_ring		alloc ____cacheline_aligned_in_smp;
	struct kni_ring		tx;
	u32			tx_unflushed;
	u32			tx_need;
	struct kni_ring		event ____cacheline_aligned_in_smp;
	struct kni_event	*events;
	struct kni_state	*state;
	u32			state_seq;
	u32			overflows;
	u64			tx_frames[KNI_CHAIN_MAX];
};

struct kni_queue;

/* Bits of kni_file.armed: what a poller waits for. */
enum {
	KNI_ARMED_IN,		/* EPOLLIN: tx or free has entries */
	KNI_ARMED_OUT,		/* EPOLLOUT: rx has room */
	KNI_ARMED_PRI,		/* EPOLLPRI: the event ring has entries */
};

/* Values of kni_file.rx_blocked. */
enum {
	KNI_RX_WAIT_FREE = 1,
	KNI_RX_WAIT_TX,
};

/**
 * struct kni_file - an open /dev/kni
 * @lock: serialises attaches of this file; taken before RTNL, so nothing
 *	that runs under mmap_lock (mmap) may take it
 * @queue: the queue attached to, NULL before attach and once detached
 *	(written under RTNL, read under RCU)
 * @region: the shared memory, set by attach, freed after the file is
 *	released (every mapping holds the file) and an RCU grace period
 * @wait: poll waiters
 * @armed: KNI_ARMED_* bits, one per kind of event that a poller went to
 *	wait for since the last wakeup of that kind; a wakeup is only
 *	worth its cost when the bit is set
 * @ready: @region is set up and stays so until release (store-release by
 *	attach, load-acquire by mmap and poll)
 * @dead: the device went away while attached
 * @busy: wakeups are off (KNI_IOC_WAKEUPS)
 * @fixed_mac: the dataplane cannot change its MAC address (attach flag)
 * @max_mtu: the largest MTU the dataplane handles, 0 for any (attach)
 * @offloads: KNI_OFFLOAD_* the dataplane took on (attach)
 * @rx_blocked: why the last poll left descriptors on rx: KNI_RX_WAIT_FREE
 *	for want of room on free, KNI_RX_WAIT_TX in a loopback mode for want
 *	of room on tx or of an alloc frame, 0 when it did not (NAPI)
 * @rx_need: descriptors the packet at the head of rx returns on free
 *	(NAPI; with KNI_RX_WAIT_FREE)
 * @rx_skip: the rest of an invalid chain is still to be dropped, up to
 *	its last descriptor (NAPI)
 * @chain: the kernel's copy of the descriptors of the chain on rx (NAPI)
 * @user: the user whose RLIMIT_MEMLOCK the region is charged to, or NULL
 * @locked_pages: pages of the region charged to @user
 * @rcu: frees the file and its region once no reader can see them
 *
 * The NAPI fields live here rather than in the queue: a poll that still
 * runs for a file that just detached never touches the state of the next
 * file attached to the same queue.
 */
struct kni_file {
	struct mutex		lock; /* attach */
	struct kni_queue __rcu	*queue;
	struct kni_region	region;
	wait_queue_head_t	wait;
	unsigned long		armed;
	bool			ready;
	bool			dead;
	bool			busy;
	bool			fixed_mac;
	u32			max_mtu;
	u32			offloads;
	u8			rx_blocked;
	bool			rx_skip;
	u32			rx_need;
	struct user_struct	*user;
	unsigned long		locked_pages;
	struct rcu_head		rcu;
	struct kni_desc		chain[KNI_CHAIN_MAX];
};

/**
 * struct kni_queue - one queue pair of a kni device
 * @kni: the device the queue belongs to
 * @index: queue number, the same for the tx and the rx side
 * @file: the attached dataplane, or NULL (written under RTNL, read under
 *	RCU)
 * @napi: consumes the rx ring, returns frames on free, wakes tx
 * @wakeup_lock: orders the polls' stores of NEED_WAKEUP on rx (see
 *	kni_napi_poll())
 * @wakeup_seq: polls that set NEED_WAKEUP on rx (@wakeup_lock)
 * @rx: counters of packets userspace passed to the stack
 * @tx: counters of packets the stack passed to userspace
 */
struct kni_queue {
	struct kni_dev		*kni;
	u32			index;
	struct kni_file __rcu	*file;
	/* Dirtied by every poll and kick; @file is read by every xmit. */
	struct napi_struct	napi ____cacheline_aligned_in_smp;
	/* Taken by polls only, in softirq context or with BHs off. */
	spinlock_t		wakeup_lock;
	u32			wakeup_seq;
	struct kni_stats	rx ____cacheline_aligned_in_smp;
	struct kni_stats	tx ____cacheline_aligned_in_smp;
};

/**
 * struct kni_dev - private state of one kni network device
 * @dev: the network device this state belongs to
 * @queues: @num_queues queue pairs
 * @num_queues: number of queue pairs, fixed at creation
 * @ring_size: descriptors per ring, fixed at creation
 * @frame_size: bytes per frame, fixed at creation
 * @fixed_mac: an attached dataplane cannot change the MAC address (RTNL)
 * @offloads: KNI_OFFLOAD_* any attached dataplane took on (RTNL)
 * @loopback: enum kni_loopback
 * @owner: user allowed to attach without CAP_NET_ADMIN, or INVALID_UID
 * @group: group allowed to attach without CAP_NET_ADMIN, or INVALID_GID
 * @mc_work: posts the multicast list; ndo_set_rx_mode runs in atomic
 *	context, without RTNL, which the event rings need
 * @mc_count: multicast addresses of the device, last posted (RTNL)
 * @mc_addr: the first KNI_STATE_MC_MAX of them (RTNL)
 *
 * The attributes are written under RTNL and read locklessly elsewhere.
 */
struct kni_dev {
	struct net_device	*dev;
	struct kni_queue	*queues;
	u32			num_queues;
	u32			ring_size;
	u32			frame_size;
	bool			fixed_mac;
	u32			offloads;
	u32			loopback;
	kuid_t			owner;
	kgid_t			group;
	struct work_struct	mc_work;
	u32			mc_count;
	u8			mc_addr[KNI_STATE_MC_MAX][ETH_ALEN];
};

extern struct rtnl_link_ops kni_link_ops;
extern const struct ethtool_ops kni_ethtool_ops;

void kni_stats_read(const struct kni_stats *stats,
		    struct kni_stats_snapshot *snap);

static inline void kni_stats_add(struct kni_stats *stats, u64 packets,
				 u64 bytes)
{
	u64_stats_update_begin(&stats->syncp);
	u64_stats_add(&stats->packets, packets);
	u64_stats_add(&stats->bytes, bytes);
	u64_stats_update_end(&stats->syncp);
}

static inline void kni_stats_inc(struct kni_stats *stats, u64_stats_t *ctr)
{
	u64_stats_update_begin(&stats->syncp);
	u64_stats_inc(ctr);
	u64_stats_update_end(&stats->syncp);
}

/* Clear @bit of @kf->armed; return whether it was set. */
static inline bool kni_file_disarm(struct kni_file *kf, int bit)
{
	/* The plain test keeps a busy queue from dirtying the line. */
	return test_bit(bit, &kf->armed) &&
	       test_and_clear_bit(bit, &kf->armed);
}

/**
 * kni_file_wake() - wake poll() waiters for what the caller published
 * @kf: the file
 * @events: EPOLLIN, EPOLLOUT and/or EPOLLPRI with their companions
 *
 * Wakes only if the dataplane does not busy-poll and a poller went to
 * wait for one of @events since the last such wakeup (kni_poll() arms the
 * bit of each kind it waits for): a dataplane that is already awake, or
 * never sleeps, costs the caller one barrier and a load per kind. Clearing
 * the bit with an atomic read-modify-write keeps a wakeup from taking away
 * the bit of a poller that armed it after that wakeup looked.
 */
static inline void kni_file_wake(struct kni_file *kf, __poll_t events)
{
	bool armed = false;

	if (READ_ONCE(kf->busy))
		return;
	/*
	 * Orders the caller's stores of what it published before the loads
	 * of the bits; pairs with the barrier in kni_poll() between arming
	 * and looking at the rings.
	 */
	smp_mb();
	if (events & EPOLLIN)
		armed |= kni_file_disarm(kf, KNI_ARMED_IN);
	if (events & EPOLLOUT)
		armed |= kni_file_disarm(kf, KNI_ARMED_OUT);
	if (events & EPOLLPRI)
		armed |= kni_file_disarm(kf, KNI_ARMED_PRI);
	if (armed)
		wake_up_interruptible_poll(&kf->wait, events);
}

/* device.c */
void kni_set_carrier(struct kni_dev *kni, bool on);
bool kni_update_limits(struct kni_dev *kni);

/* event.c */
void kni_event_attach(struct kni_file *kf, const struct net_device *dev);
void kni_event_post(struct kni_dev *kni, u32 type, u32 value);
void kni_event_gone(struct kni_file *kf, const struct net_device *dev);
void kni_mc_work(struct work_struct *work);

/* queue.c */
int kni_chrdev_init(void);
void kni_chrdev_exit(void);
void kni_queue_detach(struct kni_queue *q, bool dead);

/* rx.c */
int kni_napi_poll(struct napi_struct *napi, int budget);
void kni_napi_kick(struct kni_queue *q);

/* tx.c */
netdev_tx_t kni_start_xmit(struct sk_buff *skb, struct net_device *dev);
int kni_tx_post(struct kni_queue *q, struct kni_region *r,
		const struct sk_buff *skb, const void *data, u32 len,
		u32 flags, const struct virtio_net_hdr *hdr);
bool kni_tx_flush(struct kni_region *r);
netdev_features_t kni_offload_features(u32 offloads);
netdev_features_t kni_features_check(struct sk_buff *skb,
				     struct net_device *dev,
				     netdev_features_t features);
bool kni_tx_want_room(struct kni_queue *q, struct kni_region *r);
void kni_tx_start(struct kni_queue *q, struct kni_file *kf);
void kni_tx_wake(struct kni_queue *q, struct kni_file *kf);

/* Why a packet kni_tx_post() refused for good is dropped. */
static inline enum skb_drop_reason kni_tx_drop_reason(int err)
{
	return err == -EMSGSIZE ? SKB_DROP_REASON_PKT_TOO_BIG :
				  SKB_DROP_REASON_FULL_RING;
}

#endif /* _KNI_H */
