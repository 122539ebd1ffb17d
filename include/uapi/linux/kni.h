/* SPDX-License-Identifier: GPL-2.0 WITH Linux-syscall-note */
/*
 * kni: the interface between a kni network device and the userspace
 * dataplane attached to its queues.
 *
 * A dataplane opens /dev/kni (O_RDWR; any other access mode fails with
 * -EINVAL), attaches the file to one queue of a kni device with
 * KNI_IOC_ATTACH and maps the queue's region with mmap(MAP_SHARED) at
 * offset 0. The kernel allocates the region; it holds four packet rings
 * and an area of frames. The region counts against the attaching user's
 * RLIMIT_MEMLOCK, unless the caller has CAP_IPC_LOCK, and against its
 * memory cgroup; an attach beyond the limit fails with -ENOBUFS, one the
 * memory cannot be found for with -ENOMEM. The packet rings carry byte
 * offsets into the frame area, never addresses.
 * Directions are named from the kernel's side:
 *
 *   rx    user -> kernel: filled frames for the network stack
 *   free  kernel -> user: frames of rx the kernel is done with
 *   alloc user -> kernel: empty frames the kernel may fill
 *   tx    kernel -> user: frames holding packets the stack transmitted
 *
 * and a fifth, the event ring, on which the kernel posts changes an
 * administrator made to the device (struct kni_event), next to a block that
 * always holds the device's current state (struct kni_state).
 *
 * Every ring has a producer and a consumer index. Both are free-running
 * 32-bit counters; the slot of index i is i & (size - 1). The side
 * that produces publishes descriptors before its producer index (a
 * store-release of the index after writing the slots); the side that
 * consumes reads the producer index with a load-acquire before reading
 * the slots, and publishes its consumer index with a store-release once
 * it no longer needs them.
 */
#ifndef _UAPI_LINUX_KNI_H
#define _UAPI_LINUX_KNI_H

#include <linux/ioctl.h>
#include <linux/types.h>

/**
 * struct kni_ring_offsets - where one ring lives in the queue's region
 * @producer: offset of the __u32 producer index
 * @consumer: offset of the __u32 consumer index
 * @flags: offset of the __u32 ring flags (KNI_RING_F_*), written by the
 *	kernel only
 * @desc: offset of the array of ring_size struct kni_desc
 */
struct kni_ring_offsets {
	__u64 producer;
	__u64 consumer;
	__u64 flags;
	__u64 desc;
};

/**
 * struct kni_attach - argument of KNI_IOC_ATTACH
 * @flags: KNI_ATTACH_F_* (in)
 * @ifindex: the kni device, in the caller's network namespace (in)
 * @queue: the queue of that device, from 0 (in)
 * @max_mtu: the largest MTU the dataplane can handle, or 0 for any MTU a
 *	frame holds; while the file is attached, larger MTUs are refused. It
 *	must not be smaller than the device's current MTU (in)
 * @mmap_size: bytes to map at offset 0 (out)
 * @ring_size: descriptors in each of the rx, free, alloc and tx rings, a
 *	power of two (out)
 * @frame_size: bytes in each frame, a power of two (out)
 * @frame_count: frames in the frame area (out)
 * @headroom: bytes at the start of every frame before the packets the
 *	kernel writes on tx. Past the first @meta_size, the kernel never
 *	reads or writes them: the dataplane may use them as it likes (out)
 * @frames: offset of the frame area in the region (out)
 * @rx: the rx ring (out)
 * @free: the free ring (out)
 * @alloc: the alloc ring (out)
 * @tx: the tx ring (out)
 * @event_ring_size: entries in the event ring, a power of two (out)
 * @desc_size: bytes from one slot of the rx, free, alloc and tx rings to
 *	the next, at least sizeof(struct kni_desc) (out)
 * @state: offset of the struct kni_state of the device (out)
 * @event: the event ring (out)
 * @event_size: bytes from one slot of the event ring to the next, at
 *	least sizeof(struct kni_event) (out)
 * @state_size: bytes of the state block, at least sizeof(struct
 *	kni_state) (out)
 * @offloads: KNI_OFFLOAD_* the dataplane handles (in); those in effect,
 *	the ones this kernel knows among them (out)
 * @meta_size: bytes at the start of every frame that hold the metadata of
 *	its packet, a struct virtio_net_hdr, when an offload is in effect;
 *	0 when none is (out)
 *
 * The fields marked "out" are written by the kernel; their values on input
 * are ignored. The ioctl number encodes the size of the structure the
 * caller knows, at least KNI_ATTACH_SIZE_VER0 (-EINVAL otherwise): a larger
 * structure from a newer header is accepted when the bytes this kernel
 * does not know are all zero (-E2BIG otherwise), and the kernel writes
 * back only the bytes the caller passed. Fields are only ever added at the
 * end, with 0 meaning what the kernel did before.
 *
 * The slots and the state block may grow in a later kernel: a dataplane
 * steps through the rings by @desc_size and @event_size and reads the
 * fields it knows, which keep their place.
 */
struct kni_attach {
	__u32 flags;
	__u32 ifindex;
	__u32 queue;
	__u32 max_mtu;

	__u64 mmap_size;
	__u32 ring_size;
	__u32 frame_size;
	__u32 frame_count;
	__u32 headroom;
	__u64 frames;
	struct kni_ring_offsets rx;
	struct kni_ring_offsets free;
	struct kni_ring_offsets alloc;
	struct kni_ring_offsets tx;
	__u32 event_ring_size;
	__u32 desc_size;
	__u64 state;
	struct kni_ring_offsets event;
	__u32 event_size;
	__u32 state_size;
	__u32 offloads;
	__u32 meta_size;
};

/* The size of the first struct kni_attach. */
#define KNI_ATTACH_SIZE_VER0	240

/*
 * The dataplane cannot change its MAC address: while the file is attached,
 * the kernel refuses to change the device's.
 */
#define KNI_ATTACH_F_FIXED_MAC	(1U << 0)

/*
 * Offloads a dataplane may take on at attach. With any of them, the first
 * meta_size bytes of every frame of rx and tx hold a struct virtio_net_hdr
 * (<linux/virtio_net.h>, little-endian) for the frame's packet, and a
 * packet on rx must start after them. Its fields mean what they mean for
 * virtio-net, with csum_start counted from the packet's first byte (the
 * Ethernet header). The device offers the stack what the attached
 * dataplanes take on between them; a queue whose dataplane took on less
 * gets packets completed in software.
 *
 * KNI_OFFLOAD_CSUM: on tx, a packet may come with VIRTIO_NET_HDR_F_NEEDS_CSUM:
 * its checksum is to be completed from csum_start, into csum_offset after
 * it; VIRTIO_NET_HDR_F_DATA_VALID says the stack verified its checksums.
 * On rx, the dataplane may set either flag with the same meaning. gso_type
 * is VIRTIO_NET_HDR_GSO_NONE both ways, unless a segmentation offload
 * below is in effect. A packet on rx whose metadata is wrong (another flag
 * or a gso_type not taken on, a checksum to complete that does not start
 * after the Ethernet header or does not end inside the packet) is
 * dropped and counted as invalid. In the loopback modes the metadata goes
 * from the rx frame to the tx frame as it was.
 */
#define KNI_OFFLOAD_CSUM	(1U << 0)

/*
 * KNI_OFFLOAD_CHAIN: a packet may span several frames, one descriptor per
 * frame, each but the last with KNI_DESC_F_NEXT, published together (one
 * producer index update covers the whole chain). Only the first frame
 * holds the metadata, whose flags must be 0 on rx without KNI_OFFLOAD_CSUM;
 * every frame of a tx chain holds its part of the packet at the frame's
 * start plus the headroom. A chain carries up to
 * KNI_CHAIN_LEN_MAX bytes; one on rx that is longer, that is not whole
 * where the producer index stops, or that names a frame twice is dropped
 * up to and including its first descriptor without KNI_DESC_F_NEXT, each
 * descriptor returned on free with KNI_DESC_F_DROPPED, and counted once as
 * invalid.
 *
 * KNI_OFFLOAD_TSO4, KNI_OFFLOAD_TSO6, KNI_OFFLOAD_USO: with CSUM and CHAIN,
 * packets may be segmentation offloads (gso_type VIRTIO_NET_HDR_GSO_TCPV4,
 * _TCPV6, with VIRTIO_NET_HDR_GSO_ECN, or _UDP_L4): on tx the stack hands
 * over unsegmented packets the dataplane segments; on rx the dataplane may
 * pass coalesced ones, which need gso_size and, for UDP_L4,
 * VIRTIO_NET_HDR_F_NEEDS_CSUM. hdr_len is a hint on tx; on rx it may not
 * exceed the packet. Without CSUM and CHAIN they are not taken on.
 */
#define KNI_OFFLOAD_CHAIN	(1U << 1)
#define KNI_OFFLOAD_TSO4	(1U << 2)
#define KNI_OFFLOAD_TSO6	(1U << 3)
#define KNI_OFFLOAD_USO		(1U << 4)

/* The longest packet a chain carries: an IP packet of 64 KiB, tagged. */
#define KNI_CHAIN_LEN_MAX	(65535 + 18)

/**
 * struct kni_desc - one ring slot
 * @addr: offset of the packet's first byte in the frame area. The frame
 *	is addr / frame_size; the packet must end inside that frame, and
 *	on rx start at least meta_size bytes into it. On the
 *	alloc ring only the frame counts: the kernel writes at its start plus
 *	the headroom. In a chain (KNI_OFFLOAD_CHAIN), the same holds for
 *	each descriptor's part of the packet, except that only the first
 *	frame holds metadata.
 * @len: length of the packet in bytes, from the Ethernet header; in a
 *	chain, of this descriptor's part, at least 1 byte (the first part at
 *	least an Ethernet header)
 * @flags: KNI_DESC_F_*. rx: only KNI_DESC_F_CSUM_VALID, and
 *	KNI_DESC_F_NEXT with KNI_OFFLOAD_CHAIN; a descriptor with any other
 *	flag is dropped. alloc: 0; a descriptor with a flag is skipped. tx:
 *	KNI_DESC_F_CSUM_VALID, KNI_DESC_F_NEXT or 0; a dataplane ignores
 *	flags it does not know. free: see below. Only the first descriptor
 *	of a chain says whether the checksums were verified.
 *
 * The free ring returns the descriptors of rx as they were read, with
 * KNI_DESC_F_DROPPED added when the kernel dropped the packet.
 */
struct kni_desc {
	__u64 addr;
	__u32 len;
	__u32 flags;
};

/*
 * rx: the dataplane verified the packet's checksums; the stack trusts them
 * (CHECKSUM_UNNECESSARY) unless rx checksum offload is off on the device
 * (ethtool -K rx off). tx: the stack had verified them (a packet forwarded
 * from a device that checked them, or looped back with the flag set).
 */
#define KNI_DESC_F_CSUM_VALID	(1U << 0)
/* The packet continues in the frame of the ring's next descriptor. */
#define KNI_DESC_F_NEXT		(1U << 1)
/* free: the packet was not passed on; a counter says why. */
#define KNI_DESC_F_DROPPED	(1U << 31)

/**
 * struct kni_event - one slot of the event ring
 * @type: KNI_EVENT_*
 * @value: KNI_EVENT_MTU: the new MTU; KNI_EVENT_UP, KNI_EVENT_PROMISC and
 *	KNI_EVENT_ALLMULTI: 1 for on, 0 for off; KNI_EVENT_MCAST: the number
 *	of multicast addresses the device listens to; otherwise 0
 * @addr: KNI_EVENT_MAC: the new address in its first 6 bytes; otherwise 0
 *
 * Events are posted in the order the changes happened, once the change is
 * made: the kernel never waits for the dataplane to act on one. The one
 * exception is KNI_EVENT_MCAST: the stack changes the multicast list where
 * the event ring cannot be written, so the kernel posts the list shortly
 * after, possibly behind the events of later changes; the state block
 * always holds the current list. When the
 * ring is full the event is not posted and kni_state.overflows counts it;
 * struct kni_state still holds the state after it, so a dataplane that
 * drains the ring and then reads the state has missed nothing.
 */
struct kni_event {
	__u32 type;
	__u32 value;
	__u8 addr[8];
};

#define KNI_EVENT_MTU		1	/* the MTU changed */
#define KNI_EVENT_UP		2	/* administratively up (1) or down (0) */
#define KNI_EVENT_MAC		3	/* the MAC address changed */
#define KNI_EVENT_PROMISC	4	/* promiscuous mode on (1) or off (0) */
#define KNI_EVENT_ALLMULTI	5	/* all-multicast mode on (1) or off (0) */
#define KNI_EVENT_GONE		6	/* the device was deleted; last event */
#define KNI_EVENT_MCAST		7	/* the multicast list changed */

/* Multicast addresses struct kni_state holds; beyond, KNI_STATE_F_MC_ALL. */
#define KNI_STATE_MC_MAX	32

/**
 * struct kni_state - the device's current state, in the queue's region
 * @seq: even while the block is stable, odd while the kernel updates it.
 *	A reader loads it (acquire), copies the block, issues a read barrier
 *	and loads it again; it retries while the value was odd or changed.
 * @mtu: the MTU
 * @flags: KNI_STATE_F_*
 * @overflows: events not posted because the event ring was full
 * @addr: the MAC address in the first 6 bytes
 * @mc_count: multicast addresses the device listens to (the stack joined
 *	their groups), of which the first min(@mc_count, KNI_STATE_MC_MAX) are
 *	in @mc_addr
 * @pad: 0
 * @mc_addr: those addresses, each in the first 6 bytes of its slot. A
 *	dataplane that filters multicast passes these to the stack (IPv6
 *	neighbour discovery needs them), and every multicast packet when
 *	KNI_STATE_F_MC_ALL is set.
 *
 * Written at attach and before each event is posted, by the kernel only.
 * The multicast list is the one the device had when it was last up: the
 * stack maintains it only while the device is running.
 */
struct kni_state {
	__u32 seq;
	__u32 mtu;
	__u32 flags;
	__u32 overflows;
	__u8 addr[8];
	__u32 mc_count;
	__u32 pad;
	__u8 mc_addr[KNI_STATE_MC_MAX][8];
};

#define KNI_STATE_F_UP		(1U << 0)
#define KNI_STATE_F_PROMISC	(1U << 1)
#define KNI_STATE_F_ALLMULTI	(1U << 2)
#define KNI_STATE_F_GONE	(1U << 3)
/* More multicast addresses than @mc_addr holds: accept all multicast. */
#define KNI_STATE_F_MC_ALL	(1U << 4)

/*
 * rx ring: the kernel is not polling the ring (it is idle, or waits for
 * room on free); kick it with KNI_IOC_KICK after producing on rx or
 * consuming from free. alloc ring: transmission stopped for want of alloc
 * frames or of room on the tx ring, as it is from attach until frames are
 * offered; kick after producing on alloc or consuming from tx. Put a full
 * memory barrier between publishing an index and reading the flag: the
 * kernel does the same between setting the flag and looking at the
 * indexes one last time.
 */
#define KNI_RING_F_NEED_WAKEUP	(1U << 0)

/*
 * ioctls on a /dev/kni file. KNI_IOC_ATTACH attaches the file to a queue;
 * a file attaches once and detaches when it is closed. KNI_IOC_KICK has the
 * kernel look at the rx and alloc rings; its argument is reserved and must
 * be 0 (-EINVAL otherwise). KNI_IOC_WAKEUPS with argument 0
 * switches poll wakeups off (busy mode: the dataplane polls its rings and
 * does not sleep in poll()), with 1 back on (the default). KNI_IOC_CARRIER
 * with argument 1 turns the device's carrier on, with 0 off; when the last
 * file attached to a device detaches, the carrier goes off. Both take no
 * other argument (-EINVAL). KNI_IOC_KICK and KNI_IOC_CARRIER fail with
 * -ENOTCONN on a file not attached yet and with -ENODEV once its device
 * is gone; KNI_IOC_WAKEUPS applies to the file whatever its state.
 *
 * poll(): EPOLLIN when tx or free hold descriptors, EPOLLOUT when rx has
 * room, EPOLLPRI when the event ring holds events, EPOLLHUP | EPOLLERR once
 * the device is gone; the mapping stays valid until it is unmapped. With
 * wakeups off, poll() still reports the state when called, but a sleeping
 * caller is woken only by its timeout or by the device going away.
 */
#define KNI_IOC_MAGIC		0xE6
#define KNI_IOC_ATTACH		_IOWR(KNI_IOC_MAGIC, 0x01, struct kni_attach)
#define KNI_IOC_KICK		_IO(KNI_IOC_MAGIC, 0x02)
#define KNI_IOC_WAKEUPS		_IO(KNI_IOC_MAGIC, 0x03)
#define KNI_IOC_CARRIER		_IO(KNI_IOC_MAGIC, 0x04)

#endif /* _UAPI_LINUX_KNI_H */
