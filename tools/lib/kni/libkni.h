/* SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause) */
/*
 * libkni: a small library for dataplanes attached to kni devices.
 *
 * It creates and deletes kni devices over rtnetlink, attaches to their
 * queues through /dev/kni, manages the frames of a queue's shared region,
 * moves packets to and from the network stack in bursts, and turns the
 * device's control events into callbacks.
 *
 * Directions are named from the dataplane's side: "send" hands packets to
 * the network stack (the kernel's rx ring), "receive" takes the packets the
 * stack transmitted on the device (the kernel's tx ring).
 *
 * Thread model: a queue handle has two directions, and each may run in a
 * thread of its own, as in the rte_kni model where one thread sends to the
 * stack while another receives from it:
 *   - the send side: kni_send_burst(), kni_frame_reserve(),
 *     kni_frame_submit(), and kni_frame_release() of reserved frames;
 *   - the receive side: kni_recv_burst(), kni_frame_recv(), and
 *     kni_frame_release() of received frames.
 * A call of the send side may run at the same time as a call of the receive
 * side; the calls of one side run one at a time (a kni_frame_release() with
 * frames of both kinds belongs to both sides). The two sides share no state
 * they both write: the receive side takes the frames of sent packets back
 * only when no send call runs, which then does it itself. The control calls
 * (kni_queue_events(), kni_queue_state(), kni_queue_event_overflows(),
 * kni_queue_kick(), kni_queue_set_busy(), kni_queue_set_carrier()) run one
 * at a time, in either thread or a third one. kni_queue_info() and
 * kni_queue_fd() may be called any time; kni_queue_stats() is exact when no
 * other call on the handle runs; kni_queue_detach() runs alone. Different
 * handles may be used by different threads concurrently. The device
 * functions (kni_dev_*) open a netlink socket of their own for each call and
 * may be called from any thread. The library keeps no global state.
 *
 * Errors are returned as negative errno values; kni_strerror() describes
 * them.
 *
 * A deleted device: once the kernel reported the device gone (the state
 * block's gone flag, which it sets before the queue's file reports
 * EPOLLHUP, or a kick that failed with -ENODEV), the burst functions
 * (kni_send_burst(), kni_recv_burst(), kni_frame_submit(),
 * kni_frame_recv()) return -ENODEV instead of 0, so that a polling loop
 * learns of it. Frames the caller holds can still be released, and the
 * handle must still be detached.
 */
#ifndef __LIBKNI_H
#define __LIBKNI_H

#include <stdbool.h>
#include <stddef.h>
#include <string.h>
#include <linux/types.h>
#include <linux/kni.h>
#include <linux/virtio_net.h>

#ifdef __cplusplus
extern "C" {
#endif

/*
 * Structures that grow: struct kni_dev_config, struct kni_queue_opts,
 * struct kni_ops, struct kni_queue_stats and struct kni_dev_state start
 * with a size_t sz, which the caller sets to the sizeof() of the structure
 * it was built with (KNI_OPTS() does it). A later libkni only adds fields
 * at their end, so a program and a library built from different versions
 * of this header agree on the fields both know:
 *   - a structure the caller passes in (kni_dev_config, kni_queue_opts,
 *     kni_ops): the library reads only the fields within sz, and a field
 *     past sz counts as zero (or NULL). An sz smaller than the first
 *     version of the structure is refused with -EINVAL; an sz larger than
 *     the library knows is accepted only when every byte past what it
 *     knows is zero, else -E2BIG: the caller asked for something this
 *     library cannot do. Unused bytes must therefore be zero: declare the
 *     structure with KNI_OPTS(), or memset() it before setting fields;
 *   - a structure the library fills in (kni_queue_stats, kni_dev_state):
 *     the library writes min(sz, its own size) bytes and nothing past
 *     them, and refuses an sz smaller than the first version with
 *     -EINVAL. It leaves sz alone, and a field it does not know as the
 *     caller left it.
 */

/**
 * KNI_OPTS() - declare a libkni structure with its size
 * @TYPE: the structure's tag, without "struct" (kni_queue_opts, ...)
 * @NAME: the variable to declare
 * @...: designated initialisers of its fields
 *
 * Declares struct TYPE NAME with every byte zero, sz set to sizeof(struct
 * TYPE) and then the given fields set::
 *
 *	KNI_OPTS(kni_queue_opts, opts, .max_mtu = 9000, .ops = &ops);
 *	KNI_OPTS(kni_dev_state, st);
 *
 * A structure with static storage is zero already; it only needs its sz:
 * static const struct kni_ops ops = { .sz = sizeof(ops), .mtu = on_mtu }.
 */
#define KNI_OPTS(TYPE, NAME, ...)					\
	struct TYPE NAME = ({						\
		struct TYPE __kni_opts;					\
									\
		memset(&__kni_opts, 0, sizeof(__kni_opts));		\
		__kni_opts = (struct TYPE) {				\
			.sz = sizeof(struct TYPE),			\
			__VA_ARGS__					\
		};							\
		__kni_opts;						\
	})

/* Bits of kni_dev_config.present: the attributes a request carries. */
enum {
	KNI_CFG_QUEUES		= 1U << 0,
	KNI_CFG_RING_SIZE	= 1U << 1,
	KNI_CFG_FRAME_SIZE	= 1U << 2,
	KNI_CFG_CARRIER		= 1U << 3,
	KNI_CFG_LOOPBACK	= 1U << 4,
	KNI_CFG_OWNER		= 1U << 5,
	KNI_CFG_GROUP		= 1U << 6,
	KNI_CFG_MTU		= 1U << 7,
	KNI_CFG_ADDR		= 1U << 8,
};

/* Value of kni_dev_config.owner and .group that removes the owner. */
#define KNI_ID_NONE		((__u32)-1)

/**
 * struct kni_dev_config - attributes of a kni device
 * @sz: sizeof(struct kni_dev_config) as the caller was built
 * @present: KNI_CFG_* bits naming the fields below that are sent; the
 *	kernel uses its defaults (on creation) or keeps the current values
 *	(on change) for the others
 * @queues: queue pairs: sent as both IFLA_NUM_TX_QUEUES and
 *	IFLA_NUM_RX_QUEUES, the device's number of transmit and receive
 *	queues. They are fixed at creation: on change the kernel ignores
 *	them, as it does for any device, and the device keeps its count
 * @ring_size: descriptors per ring (IFLA_KNI_RING_SIZE)
 * @frame_size: bytes per frame (IFLA_KNI_FRAME_SIZE)
 * @carrier: the carrier, 0 or 1 (IFLA_CARRIER), at creation (off when not
 *	given) and on change
 * @loopback: enum kni_loopback (IFLA_KNI_LOOPBACK)
 * @owner: uid allowed to attach, or KNI_ID_NONE (IFLA_KNI_OWNER)
 * @group: gid allowed to attach, or KNI_ID_NONE (IFLA_KNI_GROUP)
 * @mtu: the device's MTU (IFLA_MTU)
 * @addr: the device's MAC address (IFLA_ADDRESS), at creation instead of
 *	a random one, and on change. The kernel refuses one that is not a
 *	valid unicast address (-EADDRNOTAVAIL), and a change while a queue
 *	attached with KNI_ATTACH_F_FIXED_MAC
 *
 * The values are sent as given: range checks are the kernel's, and its
 * extended ACK message says what it refused. Only @carrier is checked
 * here (-EINVAL unless 0 or 1), since the kernel takes any byte but 0 as
 * on.
 */
struct kni_dev_config {
	size_t sz;
	__u32 present;
	__u32 queues;
	__u32 ring_size;
	__u32 frame_size;
	__u32 carrier;
	__u32 loopback;
	__u32 owner;
	__u32 group;
	__u32 mtu;
	__u8 addr[6];
};

/**
 * kni_dev_create() - create a kni device
 * @name: the device's name, shorter than IFNAMSIZ
 * @cfg: its attributes, or NULL for the kernel's defaults
 * @errmsg: buffer for the kernel's extended ACK message, or NULL; set to
 *	the empty string when the kernel sent none
 * @errlen: size of @errmsg
 *
 * The device is created in the caller's network namespace.
 *
 * Return: 0, or a negative errno (-EEXIST when the name is taken, -EINVAL
 * for bad arguments or values the kernel refused, or an @cfg->sz too
 * small, -E2BIG for a field of @cfg this library does not know set).
 */
int kni_dev_create(const char *name, const struct kni_dev_config *cfg,
		   char *errmsg, size_t errlen);

/**
 * kni_dev_change() - change attributes of an existing kni device
 * @name: the device's name
 * @cfg: the attributes to change
 * @errmsg: buffer for the kernel's extended ACK message, or NULL
 * @errlen: size of @errmsg
 *
 * Return: 0, or a negative errno (-ENODEV when there is no such device,
 * -EOPNOTSUPP for attributes fixed at creation, -EINVAL and -E2BIG for
 * @cfg as kni_dev_create() says).
 */
int kni_dev_change(const char *name, const struct kni_dev_config *cfg,
		   char *errmsg, size_t errlen);

/**
 * kni_dev_delete() - delete a network device
 * @name: the device's name
 * @errmsg: buffer for the kernel's extended ACK message, or NULL
 * @errlen: size of @errmsg
 *
 * Return: 0, or a negative errno (-ENODEV when there is no such device).
 */
int kni_dev_delete(const char *name, char *errmsg, size_t errlen);

/**
 * kni_dev_ifindex() - look up a network device's index
 * @name: the device's name
 *
 * Return: the index (> 0), or a negative errno (-ENODEV when there is no
 * such device).
 */
int kni_dev_ifindex(const char *name);

struct kni_queue;

/**
 * struct kni_dev_state - the device's state as the kernel last reported it
 * @sz: sizeof(struct kni_dev_state) as the caller was built, set by the
 *	caller; the library writes the fields within it
 * @mtu: the MTU
 * @up: administratively up
 * @promisc: promiscuous mode on
 * @allmulti: all-multicast mode on
 * @gone: the device was deleted
 * @addr: the MAC address
 * @overflows: events the kernel could not post because the event ring
 *	was full
 * @reserved: 0; the fields after it start past the first version's size
 * @mc_count: multicast addresses the device listens to (the groups the
 *	stack joined), as of when it was last up
 * @mc_all: there are more than @mc_addr holds: the dataplane should pass
 *	every multicast packet to the stack
 * @mc_addr: the first min(@mc_count, KNI_STATE_MC_MAX) of those
 *	addresses; the other entries are zero
 */
struct kni_dev_state {
	size_t sz;
	__u32 mtu;
	bool up;
	bool promisc;
	bool allmulti;
	bool gone;
	__u8 addr[6];
	__u32 overflows;
	__u32 reserved;
	/* Added after the first version. */
	__u32 mc_count;
	bool mc_all;
	__u8 mc_addr[KNI_STATE_MC_MAX][6];
};

/**
 * struct kni_ops - what a dataplane does when the device changes
 * @sz: sizeof(struct kni_ops) as the caller was built; a callback past it
 *	counts as NULL
 * @mtu: the MTU is now @mtu
 * @link: the device is administratively up (@up true) or down
 * @mac: the MAC address is now @addr (6 bytes)
 * @promisc: promiscuous mode is now on (@on true) or off
 * @allmulti: all-multicast mode is now on (@on true) or off
 * @gone: the device was deleted; no callback follows
 * @mcast: the multicast list changed: the device now listens to the @n
 *	addresses at @addrs, 6 bytes each and back to back (@n at most
 *	KNI_STATE_MC_MAX), and to more than those when @all is true, in
 *	which case the dataplane should pass every multicast packet to the
 *	stack. @addrs is valid during the call only
 *
 * Every callback is optional and gets the cookie given with the ops. They
 * run in the thread that calls kni_queue_events(), after the change was
 * made: the kernel never waits for them. A callback may be called again
 * with the value it was last called with. The multicast list reaches the
 * dataplane shortly after the stack changed it, possibly after the
 * callbacks of later changes (see KNI_EVENT_MCAST); @mcast always reports
 * the whole list as the device's state held it.
 */
struct kni_ops {
	size_t sz;
	void (*mtu)(void *cookie, __u32 mtu);
	void (*link)(void *cookie, bool up);
	void (*mac)(void *cookie, const __u8 *addr);
	void (*promisc)(void *cookie, bool on);
	void (*allmulti)(void *cookie, bool on);
	void (*gone)(void *cookie);
	/* Added after the first version. */
	void (*mcast)(void *cookie, const __u8 *addrs, unsigned int n,
		      bool all);
};

/**
 * struct kni_queue_opts - options of kni_queue_attach()
 * @sz: sizeof(struct kni_queue_opts) as the caller was built
 * @flags: KNI_ATTACH_F_* (KNI_ATTACH_F_FIXED_MAC: the dataplane cannot
 *	change its MAC address and the kernel refuses to change the device's)
 * @max_mtu: the largest MTU the dataplane handles, 0 for any that fits a
 *	frame; the kernel refuses larger MTUs while the queue is attached
 * @ops: callbacks for control events, or NULL to only track the state
 * @cookie: passed to every callback
 * @offloads: KNI_OFFLOAD_* the dataplane handles; kni_queue_info() says
 *	which the kernel took on. With any, every packet has metadata: see
 *	kni_send_burst_meta()
 */
struct kni_queue_opts {
	size_t sz;
	__u32 flags;
	__u32 max_mtu;
	const struct kni_ops *ops;
	void *cookie;
	/* Added after the first version. */
	__u32 offloads;
};

/**
 * struct kni_queue_info - layout of an attached queue
 * @ifindex: the device
 * @queue: the queue of the device
 * @ring_size: descriptors per ring
 * @frame_size: bytes per frame
 * @frame_count: frames the library manages, 2 * @ring_size: @ring_size
 *	for sending, @ring_size for receiving
 * @headroom: bytes at the start of every frame before the packets the
 *	stack sends; past the first @meta_size, the caller may use them as
 *	it likes
 * @data_room: bytes available for a packet at a frame's headroom,
 *	@frame_size - @headroom: the largest packet the queue sends and
 *	receives
 * @event_ring_size: entries in the event ring
 * @mmap_size: bytes of the queue's mapping
 * @offloads: KNI_OFFLOAD_* the kernel took on, of those asked for
 * @meta_size: bytes of metadata at the start of every frame, 0 without
 *	offloads
 *
 * kni_queue_info() returns the library's own copy, so it carries no size:
 * a later libkni only adds fields at its end, and a caller reads the
 * fields of the libkni.h it was built with, which every library of the
 * same soname version has.
 */
struct kni_queue_info {
	__u32 ifindex;
	__u32 queue;
	__u32 ring_size;
	__u32 frame_size;
	__u32 frame_count;
	__u32 headroom;
	__u32 data_room;
	__u32 event_ring_size;
	__u64 mmap_size;
	__u32 offloads;
	__u32 meta_size;
};

/**
 * struct kni_queue_stats - counters of a queue handle
 * @sz: sizeof(struct kni_queue_stats) as the caller was built, set by the
 *	caller; the library writes the counters within it
 * @sent: packets handed to the kernel
 * @send_dropped: of those, packets the kernel returned as dropped
 * @received: packets taken from the kernel
 * @truncated: packets kni_recv_burst() cut to fit the caller's buffer
 * @kicks: doorbells rung
 * @kick_errors: doorbells that failed (the device is gone)
 * @bad_desc: descriptors from the kernel the library could not use
 * @events: event ring entries consumed
 */
struct kni_queue_stats {
	size_t sz;
	__u64 sent;
	__u64 send_dropped;
	__u64 received;
	__u64 truncated;
	__u64 kicks;
	__u64 kick_errors;
	__u64 bad_desc;
	__u64 events;
};

/**
 * kni_queue_attach() - attach to a queue of a kni device
 * @qp: where the new handle is stored
 * @ifindex: the device, in the caller's network namespace
 * @queue: the queue, from 0
 * @opts: options, or NULL for none
 *
 * Opens /dev/kni, attaches to the queue, maps its region (every page at
 * once, so that no packet takes a page fault on its way) and offers half
 * of the frames to the kernel for the packets the stack transmits. The
 * device's state is read once; events posted from then on reach the
 * callbacks through kni_queue_events().
 *
 * The region is mapped shared (MAP_SHARED) and counts against the locked
 * memory limit (RLIMIT_MEMLOCK) of the caller's user, unless the caller
 * has CAP_IPC_LOCK, and against its memory cgroup, until the handle is
 * detached.
 *
 * Return: 0, or a negative errno: -EINVAL for bad arguments, a queue the
 * device does not have, or an @opts->sz or @opts->ops->sz too small,
 * -E2BIG for a field of @opts or @opts->ops this library does not know
 * set, -ENODEV when there is no such kni device, -EBUSY
 * when the queue is attached already, -EPERM without the right to attach,
 * -ERANGE when the device's MTU is larger than @opts->max_mtu, -ENOBUFS
 * when the region would exceed the caller's RLIMIT_MEMLOCK, -ENOMEM when
 * the kernel found no memory for it, -EAGAIN when the device was replaced
 * while attaching (try again), -EPROTONOSUPPORT when the kernel's ring
 * slots or state block are smaller than the structures of the
 * linux/kni.h the library was built with, -EPROTO when the kernel's
 * layout is otherwise one the library cannot use.
 */
int kni_queue_attach(struct kni_queue **qp, int ifindex, unsigned int queue,
		     const struct kni_queue_opts *opts);

/**
 * kni_queue_detach() - detach from a queue and free the handle
 * @q: the handle, or NULL
 *
 * Unmaps the region and closes the file. Frame pointers of @q become
 * invalid. When the last queue of a device detaches, the kernel turns the
 * carrier off.
 */
void kni_queue_detach(struct kni_queue *q);

/**
 * kni_queue_info() - layout of an attached queue
 * @q: the handle
 *
 * Return: the layout, valid as long as @q.
 */
const struct kni_queue_info *kni_queue_info(const struct kni_queue *q);

/**
 * kni_queue_stats() - counters of a queue handle
 * @q: the handle
 * @stats: where the counters are copied; the caller sets @stats->sz
 *
 * Return: 0, or -EINVAL for bad arguments or an @stats->sz too small.
 */
int kni_queue_stats(const struct kni_queue *q, struct kni_queue_stats *stats);

/**
 * kni_queue_fd() - the file of a queue, for poll() and epoll
 * @q: the handle
 *
 * The file is readable (EPOLLIN) when packets or sent frames wait for the
 * library, has priority data (EPOLLPRI) when events wait, and reports
 * EPOLLHUP | EPOLLERR once the device is gone. kni_recv_burst() and
 * kni_frame_recv() take both packets and sent frames, kni_queue_events()
 * the events. The caller must not close the file.
 *
 * Return: the file descriptor.
 */
int kni_queue_fd(const struct kni_queue *q);

/**
 * kni_queue_set_busy() - switch poll wakeups off or on
 * @q: the handle
 * @busy: true when the dataplane polls the queue without sleeping (the
 *	kernel then looks for no sleeper), false to sleep in poll() or epoll
 *	again (the default)
 *
 * Return: 0, or a negative errno.
 */
int kni_queue_set_busy(struct kni_queue *q, bool busy);

/**
 * kni_queue_set_carrier() - turn the device's carrier on or off
 * @q: the handle
 * @on: true for on
 *
 * Return: 0, or a negative errno (-ENODEV when the device is gone).
 */
int kni_queue_set_carrier(struct kni_queue *q, bool on);

/**
 * kni_queue_kick() - ring the queue's doorbell unconditionally
 * @q: the handle
 *
 * The burst functions ring it when the kernel asks for it; this is for
 * callers that want to know whether the device is still there.
 *
 * Return: 0, or a negative errno (-ENODEV when the device is gone).
 */
int kni_queue_kick(struct kni_queue *q);

/**
 * kni_queue_events() - handle the device's control events
 * @q: the handle
 *
 * Drains the event ring, calling the callbacks of the queue's ops for each
 * event, then reads the device's state and calls them once more for every
 * difference between the state and what the callbacks last reported, so
 * that events lost to a full event ring are made up for. When it returns,
 * the callbacks have reported the state the device had at some point
 * during the call, unless changes kept coming faster than the call could
 * drain them: then it reports the events it drained, and a later call the
 * state. A callback may be called twice with the same value, but never
 * with an older value after a newer one. The multicast list (kni_ops.mcast)
 * is always reported from the state, as the call read it.
 *
 * Return: the number of callbacks called (also of those the ops do not
 * set), or a negative errno.
 */
int kni_queue_events(struct kni_queue *q);

/**
 * kni_queue_state() - read the device's current state
 * @q: the handle
 * @state: where the state is stored; the caller sets @state->sz
 *
 * Does not consume events nor call callbacks.
 *
 * Return: 0, or a negative errno (-EAGAIN when the kernel kept updating
 * the state while it was read, -EINVAL for bad arguments or an
 * @state->sz too small).
 */
int kni_queue_state(struct kni_queue *q, struct kni_dev_state *state);

/**
 * kni_queue_event_overflows() - events lost to a full event ring
 * @q: the handle
 *
 * Return: the kernel's count as of the last kni_queue_events() or
 * kni_queue_state() call.
 */
__u32 kni_queue_event_overflows(const struct kni_queue *q);

/* kni_buf.flags set by kni_recv_burst(): the packet did not fit. */
#define KNI_BUF_F_TRUNCATED	0x40000000U

/**
 * struct kni_buf - a packet in a burst
 * @data: the packet's first byte (its Ethernet header)
 * @len: its length in bytes
 * @flags: KNI_DESC_F_* of the descriptor, and KNI_BUF_F_TRUNCATED. For
 *	sending, 0 or KNI_DESC_F_CSUM_VALID: the packet's checksums were
 *	verified (the stack trusts them unless rx checksumming is off on the
 *	device). Received, KNI_DESC_F_CSUM_VALID says that the stack had
 *	verified them; a caller ignores flags it does not know. In place
 *	(kni_frame_submit(), kni_frame_recv()) on a queue that took on
 *	KNI_OFFLOAD_CHAIN, KNI_DESC_F_NEXT says the packet goes on in the
 *	next buffer
 */
struct kni_buf {
	void *data;
	__u32 len;
	__u32 flags;
};

/**
 * kni_send_burst() - copy packets to the network stack
 * @q: the handle
 * @bufs: the packets; each at least an Ethernet header and at most
 *	kni_queue_info()->data_room long, or KNI_CHAIN_LEN_MAX on a queue
 *	that took on KNI_OFFLOAD_CHAIN: a longer packet is copied into a
 *	chain of frames
 * @n: number of packets
 *
 * Copies as many packets as there are free frames, in order, and rings the
 * doorbell when it sent any and the kernel asks for it: a burst that sends
 * nothing (no packets, or none fit) makes no syscall.
 *
 * Return: the number of packets sent (less than @n when frames ran out:
 * they come back as the kernel processes the packets), -EINVAL when the
 * first packet is invalid (a later invalid one ends the burst), or -ENODEV
 * once the device is gone.
 */
int kni_send_burst(struct kni_queue *q, const struct kni_buf *bufs,
		   unsigned int n);

/**
 * kni_recv_burst() - copy packets from the network stack
 * @q: the handle
 * @bufs: buffers: on input @data and @len give a buffer and its size; on
 *	output @len is the number of bytes copied and @flags the packet's
 *	flags, with KNI_BUF_F_TRUNCATED when the packet was longer
 * @n: number of buffers
 *
 * A packet over a chain of frames (KNI_OFFLOAD_CHAIN) is copied whole into
 * one buffer: KNI_CHAIN_LEN_MAX bytes hold any. The frames go straight
 * back to the kernel. Also takes the frames of sent
 * packets the kernel is done with, so a caller that receives whenever the
 * queue's file is readable does not see it readable again for them.
 *
 * Return: the number of packets received, or a negative errno (-ENODEV
 * once the device is gone).
 */
int kni_recv_burst(struct kni_queue *q, struct kni_buf *bufs, unsigned int n);

/**
 * kni_send_burst_meta() - copy packets and their metadata to the stack
 * @q: the handle
 * @bufs: the packets, as for kni_send_burst()
 * @meta: one struct virtio_net_hdr per packet (see KNI_OFFLOAD_CSUM in
 *	linux/kni.h), or NULL for none: the stack then checks the packets'
 *	checksums as it would without offloads
 * @n: number of packets
 *
 * kni_send_burst() is this call with @meta NULL. The kernel checks the
 * metadata and drops a packet whose metadata it refuses (counted in
 * kni_queue_stats() as send_dropped once its frame comes back).
 *
 * Return: as for kni_send_burst(); -EOPNOTSUPP when @meta is given and
 * the queue took on no offload.
 */
int kni_send_burst_meta(struct kni_queue *q, const struct kni_buf *bufs,
			const struct virtio_net_hdr *meta, unsigned int n);

/**
 * kni_recv_burst_meta() - copy packets and their metadata from the stack
 * @q: the handle
 * @bufs: buffers, as for kni_recv_burst()
 * @meta: where each packet's struct virtio_net_hdr is stored, or NULL;
 *	all zero on a queue that took on no offload (the stack completed
 *	everything)
 * @n: number of buffers and of @meta entries
 *
 * Return: as for kni_recv_burst().
 */
int kni_recv_burst_meta(struct kni_queue *q, struct kni_buf *bufs,
			struct virtio_net_hdr *meta, unsigned int n);

/**
 * kni_frame_meta() - the metadata of the packet in a frame
 * @q: the handle
 * @data: a pointer into a frame the caller owns, from kni_frame_recv() or
 *	kni_frame_reserve()
 *
 * A reserved frame's metadata starts all zero; the caller sets it before
 * kni_frame_submit().
 *
 * Return: the frame's struct virtio_net_hdr, or NULL when the queue took on
 * no offload or @data is not in a frame.
 */
struct virtio_net_hdr *kni_frame_meta(struct kni_queue *q, const void *data);

/**
 * kni_frame_reserve() - take empty frames for sending in place
 * @q: the handle
 * @data: where the frames' data pointers are stored, each at the frame's
 *	headroom with kni_queue_info()->data_room bytes after it (and the
 *	headroom before it, for prepending headers)
 * @n: number of frames wanted
 *
 * The frames belong to the caller until it passes them to
 * kni_frame_submit() or kni_frame_release().
 *
 * Return: the number of frames reserved, 0 when none is free.
 */
unsigned int kni_frame_reserve(struct kni_queue *q, void **data,
			       unsigned int n);

/**
 * kni_frame_submit() - send reserved frames to the network stack
 * @q: the handle
 * @bufs: the packets; @data must lie in a frame from kni_frame_reserve()
 *	and the packet must end inside that frame. On a queue that took on
 *	KNI_OFFLOAD_CHAIN, a packet may go on in the following buffers, each
 *	but its last with KNI_DESC_F_NEXT, each in a frame of its own; the
 *	metadata is the first frame's
 * @n: number of buffers
 *
 * Publishes all the packets at once and rings the doorbell when it sent
 * any and the kernel asks for it. The frames belong to the library again.
 * A chain is sent whole or not at all.
 *
 * Return: the number of buffers sent, -EINVAL when the first packet is
 * invalid or the burst ends inside a chain (a later invalid one ends the
 * burst; it and the following ones still belong to the caller, as do the
 * buffers of a chain not sent whole), 0 when there was no room for the
 * first packet, or -ENODEV once the device is gone (the packets still
 * belong to the caller).
 */
int kni_frame_submit(struct kni_queue *q, const struct kni_buf *bufs,
		     unsigned int n);

/**
 * kni_frame_recv() - take packets from the network stack in place
 * @q: the handle
 * @bufs: where the packets are described; @data points into the frame
 * @n: number of entries of @bufs
 *
 * A packet over a chain of frames (KNI_OFFLOAD_CHAIN) takes one entry per
 * frame, each but the last with KNI_DESC_F_NEXT; a chain may end in the
 * next call's entries. The frames belong to the caller until it passes them to
 * kni_frame_release(). Like kni_recv_burst(), it also takes the frames of
 * sent packets.
 *
 * Return: the number of entries filled, or a negative errno (-ENODEV once
 * the device is gone).
 */
int kni_frame_recv(struct kni_queue *q, struct kni_buf *bufs, unsigned int n);

/**
 * kni_frame_release() - give frames back to the library
 * @q: the handle
 * @data: pointers into frames from kni_frame_recv() or kni_frame_reserve()
 * @n: number of pointers
 *
 * Received frames are offered to the kernel again (the doorbell rings when
 * the kernel waits for them); reserved frames return to the send pool.
 *
 * Return: 0, or -EINVAL at the first pointer that is not in a frame the
 * caller owns (the frames before it are released).
 */
int kni_frame_release(struct kni_queue *q, void *const *data, unsigned int n);

/**
 * kni_strerror() - describe an error of the library
 * @err: a negative errno returned by a libkni function
 *
 * Return: a constant string.
 */
const char *kni_strerror(int err);

#ifdef __cplusplus
}
#endif

#endif /* __LIBKNI_H */
