/* KNI section */

/*
 * What a kni device does with the frames userspace posts for the stack. The
 * loopback modes let a dataplane measure and test its side of the rings
 * with the stack out of the way (fifo), or with the skb allocation and
 * copy of the real path in (fifo_skb); DPDK's KNI offered the same as its
 * lo_mode.
 */
enum kni_loopback {
	KNI_LOOPBACK_NONE,	/* deliver them to the network stack */
	KNI_LOOPBACK_FIFO,	/* move them to the tx ring of the same queue */
	KNI_LOOPBACK_FIFO_SKB,	/* the same, through an skb on the way */
	__KNI_LOOPBACK_MAX,
};

#define KNI_LOOPBACK_MAX	(__KNI_LOOPBACK_MAX - 1)

enum {
	IFLA_KNI_UNSPEC,
	IFLA_KNI_RING_SIZE,	/* u32: descriptors per ring, power of two */
	IFLA_KNI_FRAME_SIZE,	/* u32: bytes per frame, power of two */
	IFLA_KNI_LOOPBACK,	/* u32: enum kni_loopback */
	IFLA_KNI_OWNER,		/* u32: uid allowed to attach, or -1 */
	IFLA_KNI_GROUP,		/* u32: gid allowed to attach, or -1 */
	__IFLA_KNI_MAX,
};

#define IFLA_KNI_MAX	(__IFLA_KNI_MAX - 1)
