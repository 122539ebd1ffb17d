// SPDX-License-Identifier: BSD-3-Clause
/*
 * The rte_kni API of DPDK 22.11 on the kni network device.
 *
 * DPDK's own KNI handed mbuf addresses to a kernel module that translated
 * them and copied from them, and woke a kernel thread to poll its FIFOs.
 * The kni device does neither: the kernel allocates the memory it shares
 * with the dataplane, and this library copies packets between mbufs and the
 * frames of that memory through libkni. The functions keep their
 * declarations in rte_kni.h and what DPDK 22.11 documents for them, so an
 * application built against rte_kni.h needs no change:
 *
 * rte_kni_init()
 *	There is no kernel thread and no module parameter any more:
 *	max_kni_ifaces limits nothing. kthread_mode=single|multiple and
 *	core_id/force_bind are replaced by NAPI, which runs threaded when
 *	/sys/class/net/NAME/threaded says 1, its thread placed by the
 *	ordinary affinity tools; lo_mode is the device's loopback attribute
 *	("ip link set NAME type kni loopback fifo|fifo_skb"); carrier is the
 *	device's own (see rte_kni_alloc()). Fails when /dev/kni is missing
 *	(the kni module is not loaded).
 * rte_kni_alloc()
 *	Creates the device over rtnetlink in the caller's network namespace
 *	and attaches to its queue 0; needs CAP_NET_ADMIN. The frame size is
 *	the smallest (a power of two, at least 2048 bytes) that holds the
 *	kernel's frame headroom and the larger of conf->mbuf_size and the
 *	data room of the pool's mbufs. conf->mtu (0: the kernel's default),
 *	conf->mac_addr (all zero: a random address) and conf->max_mtu (0:
 *	any MTU a frame holds; the kernel refuses larger MTUs while the
 *	device is attached) are used; core_id, force_bind, group_id,
 *	min_mtu, addr and id are accepted and ignored. The device starts
 *	with a carrier, as rte_kni.ko did with carrier=on (the net_kni PMD
 *	never sets it). On failure NULL is returned with rte_errno set:
 *	EINVAL for a NULL pool or conf, an empty name or one that fills
 *	RTE_KNI_NAMESIZE, a pool that is not a pktmbuf pool, or an MTU
 *	larger than the frame holds; EADDRNOTAVAIL for a MAC address that
 *	is not unicast; EEXIST for a name that is taken; ERANGE for an MTU
 *	above conf->max_mtu; ENOMEM; the kernel's errno otherwise. No
 *	device is left behind.
 * rte_kni_tx_burst()
 *	Copies each mbuf (chains too) into a frame and hands the frames to
 *	the stack, then frees the mbufs. Returns how many mbufs it took:
 *	fewer than num when the frames ran out (they come back as the
 *	kernel processes the packets). An mbuf shorter than an Ethernet
 *	header or longer than a frame holds is taken and dropped, as are
 *	the mbufs of a burst to a device that was deleted.
 * rte_kni_rx_burst()
 *	Copies the packets the stack sent on the device into mbufs from the
 *	pool given to rte_kni_alloc(), chained when one mbuf is too short;
 *	their frames go back to the kernel at once. A packet stays with the
 *	device until there are mbufs for it: an empty pool loses nothing.
 *	Neither burst call blocks; both make a system call only when the
 *	kernel asked to be woken.
 * rte_kni_handle_request()
 *	Calls the rte_kni_ops callbacks for the changes made to the device
 *	since the last call: change_mtu, config_network_if (up/down),
 *	config_mac_address, config_promiscusity and config_allmulticast,
 *	each once per change with the new value, in the order of the
 *	changes. The kernel applied the change before the callback runs and
 *	never waits for it: a callback's return value is logged when it is
 *	not 0 and cannot undo the change. What an application cannot follow
 *	it declares up front instead: conf->max_mtu. Without a callback for
 *	the MAC address, promiscuous or all-multicast mode, and with a valid
 *	ethdev port_id, the port is configured as DPDK 22.11 did.
 * rte_kni_update_link()
 *	Sets the device's carrier; returns the previous one (0 or 1).
 * rte_kni_offload_capa(), rte_kni_offload_set()
 *	Added: the checksum and TCP segmentation offloads of the kni device
 *	(KNI_OFFLOAD_*), in terms of ethdev's offload flags and the mbuf's
 *	(see rte_kni.h). The library maps each mbuf's requests onto the
 *	struct virtio_net_hdr the kernel reads in front of a packet, and
 *	that header onto the mbuf of a received one. A packet larger than a
 *	frame spans a chain of frames, as many as it needs.
 *
 * Threads: rte_kni_tx_burst() and rte_kni_rx_burst() may run at the same
 * time in two threads, and rte_kni_handle_request(), rte_kni_update_link(),
 * rte_kni_register_handlers() and rte_kni_unregister_handlers() in any
 * thread beside them; rte_kni_release() runs when no other call on the
 * interface does. The library serves the process that created the
 * device: a secondary process cannot attach to it.
 */

#include <errno.h>
#include <inttypes.h>
#include <pthread.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <sys/queue.h>
#include <unistd.h>
#include <linux/if_link.h>
#include <linux/rtnetlink.h>

#include <libmnl/libmnl.h>

#include <rte_common.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>
#include <rte_udp.h>
#include <rte_kni.h>

#include <libkni.h>

#define KNI_LOG(level, fmt, ...)					\
	RTE_LOG(level, KNI, "%s(): " fmt "\n", __func__, ##__VA_ARGS__)

/* Packets moved per libkni call. */
#define KNI_BURST		32U

/*
 * Bytes at the start of each frame the kernel keeps for itself (kni.rst,
 * "Rings"); only the choice of frame size depends on it: the kernel checks
 * the MTU against the real value.
 */
#define KNI_FRAME_HEADROOM	256
#define KNI_FRAME_MIN		2048U
#define KNI_FRAME_MAX		65536U

/* The most frames a chain takes: the longest packet in the smallest frames. */
#define KNI_CHAIN_FRAMES	((KNI_CHAIN_LEN_MAX + KNI_FRAME_MIN - \
				  KNI_FRAME_HEADROOM - 1) / \
				 (KNI_FRAME_MIN - KNI_FRAME_HEADROOM))
/* Received frames held between calls: a burst and one chain. */
#define KNI_PENDING		(KNI_BURST + KNI_CHAIN_FRAMES)
/* Frames one rte_kni_tx_burst() step fills. */
#define KNI_TX_FRAMES		(KNI_BURST + KNI_CHAIN_FRAMES)

/* The offloads of rte_kni_offload_set(). */
#define KNI_RX_CKSUM		(RTE_ETH_RX_OFFLOAD_TCP_CKSUM | \
				 RTE_ETH_RX_OFFLOAD_UDP_CKSUM)
#define KNI_TX_CKSUM		(RTE_ETH_TX_OFFLOAD_TCP_CKSUM | \
				 RTE_ETH_TX_OFFLOAD_UDP_CKSUM)
#define KNI_RX_CAPA		(KNI_RX_CKSUM | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM | \
				 RTE_ETH_RX_OFFLOAD_TCP_LRO | \
				 RTE_ETH_RX_OFFLOAD_SCATTER)
#define KNI_TX_CAPA		(KNI_TX_CKSUM | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM | \
				 RTE_ETH_TX_OFFLOAD_TCP_TSO | \
				 RTE_ETH_TX_OFFLOAD_MULTI_SEGS)

/* Where the checksum goes, from the start of the TCP or UDP header. */
#define KNI_TCP_CSUM_OFF	offsetof(struct rte_tcp_hdr, cksum)
#define KNI_UDP_CSUM_OFF	offsetof(struct rte_udp_hdr, dgram_cksum)

/* The device's state as the callbacks last reported it. */
struct kni_seen {
	uint32_t mtu;
	bool up;
	bool promisc;
	bool allmulti;
	uint8_t addr[RTE_ETHER_ADDR_LEN];
};

struct rte_kni {
	char name[RTE_KNI_NAMESIZE];
	int ifindex;
	struct kni_queue *q;
	struct rte_mempool *pool;
	uint32_t data_room;
	uint32_t max_mtu;

	/*
	 * Offloads: those of rte_kni_offload_set(), and the KNI_OFFLOAD_*
	 * the kernel took on. Frames hold room bytes of a packet, and a
	 * packet sent may be max_len long.
	 */
	uint64_t rx_offloads;
	uint64_t tx_offloads;
	uint32_t offloads;
	uint32_t room;
	uint32_t max_len;

	/* Control side, under ctrl_lock. */
	pthread_mutex_t ctrl_lock;
	struct rte_kni_ops ops;
	struct kni_seen seen;

	/*
	 * Receive side: packets taken from the kernel that did not get
	 * mbufs yet; their frames stay the library's until delivered.
	 */
	struct kni_buf pending[KNI_PENDING];
	unsigned int npending;
	unsigned int pending_first;
	/* The rest of a chain that did not fit in pending is dropped. */
	bool skip_chain;

	TAILQ_ENTRY(rte_kni) next;
};

/* The interfaces of the process, for rte_kni_get(). */
static TAILQ_HEAD(, rte_kni) kni_list = TAILQ_HEAD_INITIALIZER(kni_list);
static pthread_mutex_t kni_list_lock = PTHREAD_MUTEX_INITIALIZER;

int
rte_kni_init(unsigned int max_kni_ifaces __rte_unused)
{
	if (access("/dev/kni", R_OK | W_OK)) {
		KNI_LOG(ERR, "cannot use /dev/kni: %s (is the kni module loaded?)",
			strerror(errno));
		return -1;
	}
	/* Where the module parameters of rte_kni.ko went. */
	KNI_LOG(INFO, "kni: no kernel threads (threaded NAPI: /sys/class/net/*/threaded)");
	KNI_LOG(INFO, "kni: lo_mode is the device attribute loopback");
	return 0;
}

void
rte_kni_close(void)
{
}

static struct rte_kni *
kni_find(const char *name)
{
	struct rte_kni *kni;

	TAILQ_FOREACH(kni, &kni_list, next)
		if (!strncmp(kni->name, name, RTE_KNI_NAMESIZE))
			return kni;
	return NULL;
}

struct rte_kni *
rte_kni_get(const char *name)
{
	struct rte_kni *kni;

	if (!name || !name[0])
		return NULL;
	pthread_mutex_lock(&kni_list_lock);
	kni = kni_find(name);
	pthread_mutex_unlock(&kni_list_lock);
	return kni;
}

const char *
rte_kni_get_name(const struct rte_kni *kni)
{
	return kni->name;
}

/* Control events, turned into the rte_kni_ops callbacks. */

static bool
kni_port_valid(const struct rte_kni *kni)
{
	return kni->ops.port_id != UINT16_MAX &&
	       rte_eth_dev_is_valid_port(kni->ops.port_id);
}

static void
kni_result(const struct rte_kni *kni, const char *what, int ret)
{
	if (ret)
		KNI_LOG(WARNING, "%s: %s of port %u returned %d: the change stays",
			kni->name, what, kni->ops.port_id, ret);
}

static void
kni_on_mtu(void *cookie, __u32 mtu)
{
	struct rte_kni *kni = cookie;

	if (mtu == kni->seen.mtu)
		return;
	kni->seen.mtu = mtu;
	if (kni->ops.change_mtu)
		kni_result(kni, "change_mtu",
			   kni->ops.change_mtu(kni->ops.port_id, mtu));
}

static void
kni_on_link(void *cookie, bool up)
{
	struct rte_kni *kni = cookie;

	if (up == kni->seen.up)
		return;
	kni->seen.up = up;
	if (kni->ops.config_network_if)
		kni_result(kni, "config_network_if",
			   kni->ops.config_network_if(kni->ops.port_id, up));
}

static void
kni_on_mac(void *cookie, const __u8 *addr)
{
	struct rte_kni *kni = cookie;
	struct rte_ether_addr mac;
	int ret;

	if (!memcmp(addr, kni->seen.addr, RTE_ETHER_ADDR_LEN))
		return;
	memcpy(kni->seen.addr, addr, RTE_ETHER_ADDR_LEN);
	/* The callback takes a pointer to non-const bytes. */
	memcpy(mac.addr_bytes, addr, RTE_ETHER_ADDR_LEN);
	if (kni->ops.config_mac_address)
		ret = kni->ops.config_mac_address(kni->ops.port_id,
						  mac.addr_bytes);
	else if (kni_port_valid(kni))
		ret = rte_eth_dev_default_mac_addr_set(kni->ops.port_id, &mac);
	else
		return;
	kni_result(kni, "config_mac_address", ret);
}

static void
kni_on_promisc(void *cookie, bool on)
{
	struct rte_kni *kni = cookie;
	int ret;

	if (on == kni->seen.promisc)
		return;
	kni->seen.promisc = on;
	if (kni->ops.config_promiscusity)
		ret = kni->ops.config_promiscusity(kni->ops.port_id, on);
	else if (kni_port_valid(kni))
		ret = on ? rte_eth_promiscuous_enable(kni->ops.port_id) :
			   rte_eth_promiscuous_disable(kni->ops.port_id);
	else
		return;
	kni_result(kni, "config_promiscusity", ret);
}

static void
kni_on_allmulti(void *cookie, bool on)
{
	struct rte_kni *kni = cookie;
	int ret;

	if (on == kni->seen.allmulti)
		return;
	kni->seen.allmulti = on;
	if (kni->ops.config_allmulticast)
		ret = kni->ops.config_allmulticast(kni->ops.port_id, on);
	else if (kni_port_valid(kni))
		ret = on ? rte_eth_allmulticast_enable(kni->ops.port_id) :
			   rte_eth_allmulticast_disable(kni->ops.port_id);
	else
		return;
	kni_result(kni, "config_allmulticast", ret);
}

static const struct kni_ops kni_lib_ops = {
	.sz		= sizeof(kni_lib_ops),
	.mtu		= kni_on_mtu,
	.link		= kni_on_link,
	.mac		= kni_on_mac,
	.promisc	= kni_on_promisc,
	.allmulti	= kni_on_allmulti,
};

int
rte_kni_handle_request(struct rte_kni *kni)
{
	int ret, cancel;

	if (!kni)
		return -1;
	/*
	 * The net_kni PMD cancels the thread that calls this: never in the
	 * middle of a callback, with the lock held.
	 */
	pthread_setcancelstate(PTHREAD_CANCEL_DISABLE, &cancel);
	pthread_mutex_lock(&kni->ctrl_lock);
	/* Not attached: rte_kni_offload_set() failed. */
	ret = kni->q ? kni_queue_events(kni->q) : -ENOTCONN;
	pthread_mutex_unlock(&kni->ctrl_lock);
	pthread_setcancelstate(cancel, NULL);
	if (ret < 0 && ret != -ENODEV) {
		KNI_LOG(ERR, "%s: %s", kni->name, kni_strerror(ret));
		return -1;
	}
	return 0;
}

static bool
kni_ops_set(const struct rte_kni_ops *ops)
{
	return ops->change_mtu || ops->config_network_if ||
	       ops->config_mac_address || ops->config_promiscusity ||
	       ops->config_allmulticast;
}

int
rte_kni_register_handlers(struct rte_kni *kni, struct rte_kni_ops *ops)
{
	int ret = -1;

	if (!kni || !ops)
		return -1;
	pthread_mutex_lock(&kni->ctrl_lock);
	if (kni_ops_set(&kni->ops)) {
		KNI_LOG(ERR, "%s: handlers are registered already", kni->name);
	} else {
		kni->ops = *ops;
		ret = 0;
	}
	pthread_mutex_unlock(&kni->ctrl_lock);
	return ret;
}

int
rte_kni_unregister_handlers(struct rte_kni *kni)
{
	if (!kni)
		return -1;
	pthread_mutex_lock(&kni->ctrl_lock);
	memset(&kni->ops, 0, sizeof(kni->ops));
	kni->ops.port_id = UINT16_MAX;
	pthread_mutex_unlock(&kni->ctrl_lock);
	return 0;
}

/* The carrier, from an RTM_GETLINK of the device: 0 or 1, or -errno. */

static int
kni_carrier_attr(const struct nlattr *attr, void *data)
{
	int *carrier = data;

	if (mnl_attr_get_type(attr) == IFLA_CARRIER &&
	    mnl_attr_validate(attr, MNL_TYPE_U8) == 0)
		*carrier = !!mnl_attr_get_u8(attr);
	return MNL_CB_OK;
}

static int
kni_carrier_msg(const struct nlmsghdr *nlh, void *data)
{
	return mnl_attr_parse(nlh, sizeof(struct ifinfomsg), kni_carrier_attr,
			      data);
}

static int
kni_get_carrier(int ifindex)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifm;
	int carrier = -ENODATA;
	unsigned int portid;
	ssize_t len;
	int ret;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = RTM_GETLINK;
	nlh->nlmsg_flags = NLM_F_REQUEST;
	nlh->nlmsg_seq = 1;
	ifm = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifm));
	ifm->ifi_family = AF_UNSPEC;
	ifm->ifi_index = ifindex;
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	len = mnl_socket_recvfrom(nl, buf, sizeof(buf));
	if (len < 0) {
		ret = -errno;
		goto out;
	}
	ret = mnl_cb_run(buf, len, 1, portid, kni_carrier_msg, &carrier);
	ret = ret < 0 ? -errno : carrier;
out:
	mnl_socket_close(nl);
	return ret;
}

int
rte_kni_update_link(struct rte_kni *kni, unsigned int linkup)
{
	int old, ret;

	if (!kni)
		return -1;
	pthread_mutex_lock(&kni->ctrl_lock);
	old = kni->q ? kni_get_carrier(kni->ifindex) : -ENOTCONN;
	if (old < 0) {
		KNI_LOG(ERR, "%s: cannot read the carrier: %s", kni->name,
			strerror(-old));
	} else if (old != !!linkup) {
		ret = kni_queue_set_carrier(kni->q, linkup);
		if (ret) {
			KNI_LOG(ERR, "%s: cannot set the carrier: %s",
				kni->name, kni_strerror(ret));
			old = -1;
		}
	}
	pthread_mutex_unlock(&kni->ctrl_lock);
	return old < 0 ? -1 : old;
}

/* Creation and release. */

static uint32_t
kni_frame_size(uint32_t room)
{
	uint32_t size = KNI_FRAME_MIN;

	while (size < KNI_FRAME_MAX && size < room + KNI_FRAME_HEADROOM)
		size <<= 1;
	return size;
}

/* Attach to the device's queue 0, the kernel to take on OFFLOADS. */
static int
kni_attach_queue(struct rte_kni *kni, uint32_t offloads)
{
	KNI_OPTS(kni_queue_opts, opts,
		 .max_mtu = kni->max_mtu,
		 .ops = &kni_lib_ops,
		 .cookie = kni,
		 .offloads = offloads);
	const struct kni_queue_info *info;
	int ret;

	ret = kni_queue_attach(&kni->q, kni->ifindex, 0, &opts);
	if (ret) {
		kni->q = NULL;
		return ret;
	}
	info = kni_queue_info(kni->q);
	kni->offloads = info->offloads;
	kni->room = info->data_room;
	kni->max_len = kni->room;
	if (kni->offloads & KNI_OFFLOAD_CHAIN) {
		if ((KNI_CHAIN_LEN_MAX + kni->room - 1) / kni->room >
		    KNI_CHAIN_FRAMES) {
			/* Not with the frame sizes rte_kni_alloc() picks. */
			kni_queue_detach(kni->q);
			kni->q = NULL;
			kni->offloads = 0;
			return -ERANGE;
		}
		kni->max_len = KNI_CHAIN_LEN_MAX;
	}
	return 0;
}

static int
kni_create(struct rte_kni *kni, const struct rte_kni_conf *conf)
{
	static const uint8_t zero[RTE_ETHER_ADDR_LEN];

	KNI_OPTS(kni_dev_config, cfg,
		 .present = KNI_CFG_FRAME_SIZE | KNI_CFG_CARRIER,
		 .carrier = 1);
	KNI_OPTS(kni_dev_state, st);
	uint32_t room = kni->data_room;
	char msg[256];
	int ret;

	if (conf->mbuf_size > room)
		room = conf->mbuf_size;
	cfg.frame_size = kni_frame_size(room);
	if (conf->mtu) {
		cfg.present |= KNI_CFG_MTU;
		cfg.mtu = conf->mtu;
	}
	if (memcmp(conf->mac_addr, zero, sizeof(zero))) {
		cfg.present |= KNI_CFG_ADDR;
		memcpy(cfg.addr, conf->mac_addr, sizeof(cfg.addr));
	}
	ret = kni_dev_create(kni->name, &cfg, msg, sizeof(msg));
	if (ret) {
		KNI_LOG(ERR, "cannot create %s: %s%s%s", kni->name,
			kni_strerror(ret), msg[0] ? ": " : "", msg);
		return ret;
	}
	ret = kni_dev_ifindex(kni->name);
	if (ret < 0)
		goto fail;
	kni->ifindex = ret;
	kni->max_mtu = conf->max_mtu;
	ret = kni_attach_queue(kni, 0);
	if (ret)
		goto fail;
	/* Report changes from the state the device was created with. */
	ret = kni_queue_state(kni->q, &st);
	if (ret)
		goto fail_detach;
	kni->seen.mtu = st.mtu;
	kni->seen.up = st.up;
	kni->seen.promisc = st.promisc;
	kni->seen.allmulti = st.allmulti;
	memcpy(kni->seen.addr, st.addr, sizeof(kni->seen.addr));
	return 0;

fail_detach:
	kni_queue_detach(kni->q);
	kni->q = NULL;
fail:
	KNI_LOG(ERR, "cannot attach to %s: %s", kni->name, kni_strerror(ret));
	kni_dev_delete(kni->name, NULL, 0);
	return ret;
}

struct rte_kni *
rte_kni_alloc(struct rte_mempool *pktmbuf_pool,
	      const struct rte_kni_conf *conf, struct rte_kni_ops *ops)
{
	struct rte_kni *kni;
	size_t len;
	int ret;

	if (!pktmbuf_pool || !conf) {
		rte_errno = EINVAL;
		return NULL;
	}
	len = strnlen(conf->name, RTE_KNI_NAMESIZE);
	if (!len || len == RTE_KNI_NAMESIZE) {
		KNI_LOG(ERR, "the name must have 1 to %d characters",
			RTE_KNI_NAMESIZE - 1);
		rte_errno = EINVAL;
		return NULL;
	}
	if (pktmbuf_pool->private_data_size <
	    sizeof(struct rte_pktmbuf_pool_private) ||
	    rte_pktmbuf_data_room_size(pktmbuf_pool) <= RTE_PKTMBUF_HEADROOM) {
		KNI_LOG(ERR, "%s is not a pool of packet mbufs",
			pktmbuf_pool->name);
		rte_errno = EINVAL;
		return NULL;
	}

	kni = calloc(1, sizeof(*kni));
	if (!kni) {
		rte_errno = ENOMEM;
		return NULL;
	}
	memcpy(kni->name, conf->name, len);
	kni->pool = pktmbuf_pool;
	kni->data_room = rte_pktmbuf_data_room_size(pktmbuf_pool) -
			 RTE_PKTMBUF_HEADROOM;
	pthread_mutex_init(&kni->ctrl_lock, NULL);
	if (ops)
		kni->ops = *ops;
	else
		kni->ops.port_id = UINT16_MAX;

	pthread_mutex_lock(&kni_list_lock);
	if (kni_find(kni->name)) {
		ret = -EEXIST;
		goto fail;
	}
	ret = kni_create(kni, conf);
	if (ret)
		goto fail;
	TAILQ_INSERT_TAIL(&kni_list, kni, next);
	pthread_mutex_unlock(&kni_list_lock);
	return kni;

fail:
	pthread_mutex_unlock(&kni_list_lock);
	pthread_mutex_destroy(&kni->ctrl_lock);
	free(kni);
	rte_errno = -ret;
	return NULL;
}

/* Give the frames of packets not delivered yet back to the kernel. */
static void
kni_release_pending(struct rte_kni *kni)
{
	void *frames[KNI_PENDING];
	unsigned int i;

	for (i = 0; i < kni->npending; i++)
		frames[i] = kni->pending[kni->pending_first + i].data;
	kni_frame_release(kni->q, frames, kni->npending);
	kni->npending = 0;
	kni->pending_first = 0;
	kni->skip_chain = false;
}

int
rte_kni_release(struct rte_kni *kni)
{
	KNI_OPTS(kni_dev_state, st);
	bool gone;
	int ret;

	if (!kni)
		return -1;
	pthread_mutex_lock(&kni_list_lock);
	TAILQ_REMOVE(&kni_list, kni, next);
	pthread_mutex_unlock(&kni_list_lock);

	/*
	 * Deleted by someone else (then the name may be another device's
	 * now), or ours to delete. Without a queue (rte_kni_offload_set()
	 * failed), the name tells.
	 */
	gone = false;
	if (kni->q) {
		kni_release_pending(kni);
		gone = kni_queue_state(kni->q, &st) == 0 && st.gone;
		kni_queue_detach(kni->q);
	}
	ret = 0;
	if (!gone && kni_dev_ifindex(kni->name) == kni->ifindex) {
		ret = kni_dev_delete(kni->name, NULL, 0);
		if (ret == -ENODEV)
			ret = 0;
		if (ret)
			KNI_LOG(ERR, "cannot delete %s: %s", kni->name,
				kni_strerror(ret));
	}
	pthread_mutex_destroy(&kni->ctrl_lock);
	free(kni);
	return ret ? -1 : 0;
}

/* Offloads. */

void
rte_kni_offload_capa(uint64_t *rx_capa, uint64_t *tx_capa)
{
	if (rx_capa)
		*rx_capa = KNI_RX_CAPA;
	if (tx_capa)
		*tx_capa = KNI_TX_CAPA;
}

/* The KNI_OFFLOAD_* that offloads of rte_kni_offload_set() need. */
static uint32_t
kni_offloads_for(uint64_t rx, uint64_t tx)
{
	uint32_t offloads = 0;

	if ((rx & (KNI_RX_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_LRO)) ||
	    (tx & (KNI_TX_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO)))
		offloads |= KNI_OFFLOAD_CSUM;
	if (rx & RTE_ETH_RX_OFFLOAD_TCP_LRO)
		offloads |= KNI_OFFLOAD_CHAIN | KNI_OFFLOAD_TSO4 |
			    KNI_OFFLOAD_TSO6;
	return offloads;
}

int
rte_kni_offload_set(struct rte_kni *kni, uint64_t rx_offloads,
		    uint64_t tx_offloads)
{
	uint32_t want, had;
	int ret, ret2, carrier;

	if (!kni)
		return -EINVAL;
	if ((rx_offloads & ~KNI_RX_CAPA) || (tx_offloads & ~KNI_TX_CAPA)) {
		KNI_LOG(ERR, "%s: offloads rx 0x%" PRIx64 " tx 0x%" PRIx64
			" are not supported", kni->name,
			rx_offloads & ~KNI_RX_CAPA, tx_offloads & ~KNI_TX_CAPA);
		return -ENOTSUP;
	}
	if ((tx_offloads & RTE_ETH_TX_OFFLOAD_TCP_TSO) &&
	    !(rx_offloads & RTE_ETH_RX_OFFLOAD_TCP_LRO)) {
		KNI_LOG(ERR, "%s: TCP TSO needs TCP LRO: the kernel segments TCP in both directions or in neither",
			kni->name);
		return -EINVAL;
	}
	want = kni_offloads_for(rx_offloads, tx_offloads);
	if (kni->q && want == kni->offloads) {
		kni->rx_offloads = rx_offloads;
		kni->tx_offloads = tx_offloads;
		return 0;
	}

	/* The control side uses the queue too. */
	pthread_mutex_lock(&kni->ctrl_lock);
	had = kni->offloads;
	/* The kernel drops the carrier with the last queue detached. */
	carrier = kni->q ? kni_get_carrier(kni->ifindex) : 0;
	if (kni->q) {
		kni_release_pending(kni);
		kni_queue_detach(kni->q);
	}
	kni->rx_offloads = 0;
	kni->tx_offloads = 0;
	ret = kni_attach_queue(kni, want);
	if (!ret && kni->offloads != want) {
		KNI_LOG(ERR, "%s: the kernel took on offloads 0x%x of 0x%x",
			kni->name, kni->offloads, want);
		kni_queue_detach(kni->q);
		ret = kni_attach_queue(kni, 0);
		if (!ret)
			ret = -ENOTSUP;
	} else if (ret) {
		KNI_LOG(ERR, "%s: cannot attach with offloads 0x%x: %s",
			kni->name, want, kni_strerror(ret));
		ret2 = kni_attach_queue(kni, had);
		if (ret2)
			KNI_LOG(ERR, "%s: cannot attach again: %s; the interface drops its packets",
				kni->name, kni_strerror(ret2));
	} else {
		kni->rx_offloads = rx_offloads;
		kni->tx_offloads = tx_offloads;
	}
	if (kni->q && carrier == 1) {
		ret2 = kni_queue_set_carrier(kni->q, 1);
		if (ret2) {
			KNI_LOG(ERR, "%s: cannot set the carrier again: %s",
				kni->name, kni_strerror(ret2));
			if (!ret)
				ret = ret2;
		}
	}
	pthread_mutex_unlock(&kni->ctrl_lock);
	return ret;
}

/* The data path. */

/* An mbuf as rte_pktmbuf_alloc() returned it, for the next packet. */
static void
kni_mbuf_reset(struct rte_mbuf *head)
{
	if (head->next)
		rte_pktmbuf_free(head->next);
	rte_pktmbuf_reset(head);
}

/* The checksum field for one's complement sum SUM, as the kernel writes it. */
static uint16_t
kni_csum_field(uint16_t sum)
{
	sum = ~sum;
	/* A zero checksum means none for UDP. */
	return sum ? sum : 0xffff;
}

/*
 * Complete the checksum of M from START into OFF after it, as the kernel
 * asked (VIRTIO_NET_HDR_F_NEEDS_CSUM): 0, or -EINVAL when that lies
 * outside the packet or the first mbuf.
 */
static int
kni_csum_mbuf(struct rte_mbuf *m, uint32_t start, uint32_t off)
{
	uint16_t sum;

	if (start >= m->pkt_len || start + off + sizeof(sum) > m->data_len ||
	    rte_raw_cksum_mbuf(m, start, m->pkt_len - start, &sum))
		return -EINVAL;
	sum = kni_csum_field(sum);
	memcpy(rte_pktmbuf_mtod_offset(m, uint8_t *, start + off), &sum,
	       sizeof(sum));
	return 0;
}

/*
 * Turn the metadata the kernel gave packet M into mbuf flags: 0, or
 * -EINVAL when the application cannot take the packet.
 */
static int
kni_rx_meta(struct rte_kni *kni, struct rte_mbuf *m,
	    const struct virtio_net_hdr *hdr)
{
	if (hdr->gso_type != VIRTIO_NET_HDR_GSO_NONE) {
		/* The kernel takes TCP segmentation on for LRO only. */
		if (!(kni->rx_offloads & RTE_ETH_RX_OFFLOAD_TCP_LRO) ||
		    !hdr->gso_size)
			return -EINVAL;
		m->ol_flags |= RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_NONE;
		m->tso_segsz = rte_le_to_cpu_16(hdr->gso_size);
		return 0;
	}
	if (hdr->flags & VIRTIO_NET_HDR_F_NEEDS_CSUM) {
		m->ol_flags &= ~RTE_MBUF_F_RX_L4_CKSUM_MASK;
		if (kni->rx_offloads & KNI_RX_CKSUM) {
			m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_NONE;
			return 0;
		}
		if (kni_csum_mbuf(m, rte_le_to_cpu_16(hdr->csum_start),
				  rte_le_to_cpu_16(hdr->csum_offset)))
			return -EINVAL;
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	} else if (hdr->flags & VIRTIO_NET_HDR_F_DATA_VALID) {
		m->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	}
	return 0;
}

/*
 * Copy the packet in the N frames of B into a chain of mbufs starting at
 * HEAD: 0; -ENOBUFS when the pool ran out, or -EINVAL when the packet is
 * dropped (HEAD is then bare again, for the next packet).
 */
static int
kni_fill_mbuf(struct rte_kni *kni, struct rte_mbuf *head,
	      const struct kni_buf *b, unsigned int n)
{
	struct rte_mbuf *seg = head;
	uint32_t total = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		const uint8_t *src = b[i].data;
		uint32_t left = b[i].len;

		while (left) {
			uint16_t len;

			if (!rte_pktmbuf_tailroom(seg)) {
				seg->next = rte_pktmbuf_alloc(kni->pool);
				if (!seg->next) {
					kni_mbuf_reset(head);
					return -ENOBUFS;
				}
				seg = seg->next;
				head->nb_segs++;
			}
			len = RTE_MIN(left, (uint32_t)rte_pktmbuf_tailroom(seg));
			rte_memcpy(rte_pktmbuf_mtod_offset(seg, uint8_t *,
							   seg->data_len),
				   src, len);
			seg->data_len += len;
			src += len;
			left -= len;
		}
		total += b[i].len;
	}
	head->pkt_len = total;
	if (b[0].flags & KNI_DESC_F_CSUM_VALID)
		head->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
	if (kni->offloads &&
	    kni_rx_meta(kni, head, kni_frame_meta(kni->q, b[0].data))) {
		kni_mbuf_reset(head);
		return -EINVAL;
	}
	return 0;
}

/* Mbufs for up to N packets, as many as the pool gives. */
static unsigned int
kni_alloc_heads(struct rte_kni *kni, struct rte_mbuf **m, unsigned int n)
{
	unsigned int i;

	if (!rte_pktmbuf_alloc_bulk(kni->pool, m, n))
		return n;
	for (i = 0; i < n; i++) {
		m[i] = rte_pktmbuf_alloc(kni->pool);
		if (!m[i])
			break;
	}
	return i;
}

/* Entries of the whole packet at the start of B (N of them), or 0. */
static unsigned int
kni_packet_len(const struct kni_buf *b, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!(b[i].flags & KNI_DESC_F_NEXT))
			return i + 1;
	return 0;
}

/*
 * Take packets from the kernel into pending, up to WANT entries and then
 * as many as complete the last chain; when pending fills up inside a
 * chain, the chain is dropped.
 */
static void
kni_rx_take(struct rte_kni *kni, unsigned int want)
{
	struct kni_buf *p;
	int ret;

	if (kni->pending_first) {
		memmove(kni->pending, kni->pending + kni->pending_first,
			kni->npending * sizeof(kni->pending[0]));
		kni->pending_first = 0;
	}
	if (kni->npending < want) {
		ret = kni_frame_recv(kni->q, kni->pending + kni->npending,
				     want - kni->npending);
		if (ret > 0)
			kni->npending += ret;
	}
	p = kni->pending;
	while (kni->npending &&
	       (p[kni->npending - 1].flags & KNI_DESC_F_NEXT)) {
		if (kni->npending == KNI_PENDING) {
			void *frames[KNI_PENDING];
			unsigned int i, first;

			/* The chain that does not fit, from its start. */
			for (first = kni->npending - 1; first; first--)
				if (!(p[first - 1].flags & KNI_DESC_F_NEXT))
					break;
			for (i = first; i < kni->npending; i++)
				frames[i - first] = p[i].data;
			kni_frame_release(kni->q, frames, i - first);
			kni->npending = first;
			kni->skip_chain = true;
			KNI_LOG(WARNING, "%s: a packet over more than %u frames is dropped",
				kni->name, KNI_PENDING - first);
			break;
		}
		ret = kni_frame_recv(kni->q, p + kni->npending,
				     KNI_PENDING - kni->npending);
		if (ret <= 0)
			break;
		kni->npending += ret;
	}
	/* What is left of a dropped chain. */
	while (kni->skip_chain && kni->npending) {
		bool last = !(p[0].flags & KNI_DESC_F_NEXT);

		kni_frame_release(kni->q, &p[0].data, 1);
		memmove(p, p + 1, --kni->npending * sizeof(*p));
		if (last)
			kni->skip_chain = false;
	}
}

unsigned int
rte_kni_rx_burst(struct rte_kni *kni, struct rte_mbuf **mbufs,
		 unsigned int num)
{
	unsigned int got = 0;

	if (!kni->q)
		return 0;
	while (got < num) {
		struct rte_mbuf **m = mbufs + got;
		void *done[KNI_PENDING];
		unsigned int n, i, len, ndone = 0, filled = 0;
		struct kni_buf *b;
		bool more;
		int ret = 0;

		n = RTE_MIN(num - got, KNI_BURST);
		kni_rx_take(kni, n);
		if (!kni->npending)
			break;
		/* The kernel may have more when it filled what was asked. */
		more = kni->npending >= n;
		n = kni_alloc_heads(kni, m, n);
		if (!n)
			break;
		b = kni->pending;
		i = 0;
		while (filled < n && i < kni->npending) {
			len = kni_packet_len(b + i, kni->npending - i);
			if (!len)
				break;
			ret = kni_fill_mbuf(kni, m[filled], b + i, len);
			if (ret == -ENOBUFS)
				break;
			/* Delivered or dropped, its frames go back. */
			while (len--)
				done[ndone++] = b[i++].data;
			if (!ret)
				filled++;
		}
		if (ndone)
			kni_frame_release(kni->q, done, ndone);
		kni->pending_first = i;
		kni->npending -= i;
		if (filled < n)
			rte_pktmbuf_free_bulk(m + filled, n - filled);
		got += filled;
		if (ret == -ENOBUFS || !more || !filled)
			break;
	}
	return got;
}

/* Fold a 32-bit one's complement sum to 16 bits. */
static uint16_t
kni_fold(uint32_t sum)
{
	sum = (sum & 0xffff) + (sum >> 16);
	return (sum & 0xffff) + (sum >> 16);
}

/*
 * Carry out packet M's offload requests (the packet is in the frames of
 * DATA, FIRST bytes of it in the first): fill its metadata, or do in
 * software what the kernel did not take on. 0, or -EINVAL to drop it.
 */
static int
kni_tx_meta(struct rte_kni *kni, const struct rte_mbuf *m, uint8_t *data,
	    uint32_t first)
{
	uint64_t fl = m->ol_flags;
	uint32_t l3 = m->l2_len, l4 = m->l2_len + m->l3_len, off;
	struct virtio_net_hdr *hdr = NULL;
	uint16_t sum;

	if (!(fl & (RTE_MBUF_F_TX_IP_CKSUM | RTE_MBUF_F_TX_L4_MASK |
		    RTE_MBUF_F_TX_TCP_SEG)))
		return 0;
	if (!m->l2_len || !m->l3_len || l4 >= first)
		return -EINVAL;
	if (fl & RTE_MBUF_F_TX_IP_CKSUM) {
		struct rte_ipv4_hdr *ip = (void *)(data + l3);

		if (!(fl & RTE_MBUF_F_TX_IPV4) ||
		    m->l3_len < sizeof(*ip) || rte_ipv4_hdr_len(ip) > m->l3_len)
			return -EINVAL;
		ip->hdr_checksum = 0;
		ip->hdr_checksum = rte_ipv4_cksum(ip);
	}
	if (fl & RTE_MBUF_F_TX_TCP_SEG) {
		uint32_t need = fl & RTE_MBUF_F_TX_IPV6 ? KNI_OFFLOAD_TSO6 :
						       KNI_OFFLOAD_TSO4;
		uint32_t tcp_len = m->pkt_len - l4;
		rte_be16_t *check;

		if ((kni->offloads & need) != need ||
		    !(fl & (RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IPV6)) ||
		    m->l4_len < sizeof(struct rte_tcp_hdr) ||
		    l4 + m->l4_len > first || !m->tso_segsz ||
		    tcp_len > UINT16_MAX)
			return -EINVAL;
		/*
		 * The application left the length out of the pseudo-header
		 * sum, as for a NIC; the kernel counts it in.
		 */
		check = (rte_be16_t *)(data + l4 + KNI_TCP_CSUM_OFF);
		*check = rte_cpu_to_be_16(kni_fold(rte_be_to_cpu_16(*check) +
						   tcp_len));
		hdr = kni_frame_meta(kni->q, data);
		hdr->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		hdr->csum_start = rte_cpu_to_le_16(l4);
		hdr->csum_offset = rte_cpu_to_le_16(KNI_TCP_CSUM_OFF);
		/* A packet that makes one segment is only checksummed. */
		if (tcp_len - m->l4_len > m->tso_segsz) {
			hdr->gso_type = fl & RTE_MBUF_F_TX_IPV6 ?
					VIRTIO_NET_HDR_GSO_TCPV6 :
					VIRTIO_NET_HDR_GSO_TCPV4;
			hdr->gso_size = rte_cpu_to_le_16(m->tso_segsz);
			hdr->hdr_len = rte_cpu_to_le_16(l4 + m->l4_len);
		}
		return 0;
	}
	switch (fl & RTE_MBUF_F_TX_L4_MASK) {
	case RTE_MBUF_F_TX_TCP_CKSUM:
		off = KNI_TCP_CSUM_OFF;
		break;
	case RTE_MBUF_F_TX_UDP_CKSUM:
		off = KNI_UDP_CSUM_OFF;
		break;
	case 0:
		return 0;
	default:
		return -EINVAL;
	}
	if (l4 + off + sizeof(sum) > first)
		return -EINVAL;
	if (kni->offloads & KNI_OFFLOAD_CSUM) {
		hdr = kni_frame_meta(kni->q, data);
		hdr->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
		hdr->csum_start = rte_cpu_to_le_16(l4);
		hdr->csum_offset = rte_cpu_to_le_16(off);
		return 0;
	}
	/* Without a chain, the packet is all in the first frame. */
	sum = kni_csum_field(rte_raw_cksum(data + l4, m->pkt_len - l4));
	memcpy(data + l4 + off, &sum, sizeof(sum));
	return 0;
}

/* Frames packet M takes, or 0 when it is dropped for its length. */
static unsigned int
kni_tx_frames(const struct rte_kni *kni, const struct rte_mbuf *m)
{
	if (m->pkt_len < RTE_ETHER_HDR_LEN || m->pkt_len > kni->max_len)
		return 0;
	return (m->pkt_len + kni->room - 1) / kni->room;
}

/*
 * Copy packet M into the N frames of DATA, described in B: 0, or -EINVAL
 * when it is dropped.
 */
static int
kni_tx_copy(struct rte_kni *kni, const struct rte_mbuf *m, void **data,
	    struct kni_buf *b, unsigned int n)
{
	uint32_t off = 0;
	unsigned int i;

	for (i = 0; i < n; i++) {
		uint32_t len = RTE_MIN(m->pkt_len - off, kni->room);
		const void *p = rte_pktmbuf_read(m, off, len, data[i]);

		if (p != data[i])
			rte_memcpy(data[i], p, len);
		b[i].data = data[i];
		b[i].len = len;
		b[i].flags = i + 1 < n ? KNI_DESC_F_NEXT : 0;
		off += len;
	}
	if ((m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) ==
	    RTE_MBUF_F_RX_L4_CKSUM_GOOD)
		b[0].flags |= KNI_DESC_F_CSUM_VALID;
	if (kni->offloads)
		memset(kni_frame_meta(kni->q, data[0]), 0,
		       sizeof(struct virtio_net_hdr));
	return kni_tx_meta(kni, m, data[0], b[0].len);
}

unsigned int
rte_kni_tx_burst(struct rte_kni *kni, struct rte_mbuf **mbufs,
		 unsigned int num)
{
	unsigned int sent = 0;

	if (!kni->q) {
		/* Not attached (rte_kni_offload_set() failed): dropped. */
		rte_pktmbuf_free_bulk(mbufs, num);
		return num;
	}
	while (sent < num) {
		unsigned int chunk = RTE_MIN(num - sent, KNI_BURST);
		unsigned int pkt_of[KNI_TX_FRAMES];
		struct kni_buf bufs[KNI_TX_FRAMES];
		void *data[KNI_TX_FRAMES];
		unsigned int nf[KNI_BURST];
		unsigned int n, i, j, need, frames, taken;
		int ret;

		/* The frames of the packets that fit in one step. */
		for (i = 0, need = 0; i < chunk; i++) {
			nf[i] = kni_tx_frames(kni, mbufs[sent + i]);
			if (need + nf[i] > KNI_TX_FRAMES)
				break;
			need += nf[i];
		}
		chunk = i;
		n = need ? kni_frame_reserve(kni->q, data, need) : 0;
		if (!n && need)
			break;
		for (i = 0, j = 0; i < chunk; i++) {
			struct rte_mbuf *m = mbufs[sent + i];

			frames = nf[i];
			/* Too short or too long a packet is dropped. */
			if (!frames)
				continue;
			if (j + frames > n)
				break;
			if (kni_tx_copy(kni, m, data + j, bufs + j, frames))
				continue;
			for (; frames; frames--)
				pkt_of[j++] = i;
		}
		ret = kni_frame_submit(kni->q, bufs, j);
		if (ret == -ENODEV) {
			/* The device is gone: what it was given is dropped. */
			ret = 0;
			taken = i;
		} else {
			if (ret < 0)
				ret = 0;
			/* The mbufs up to the first packet not sent. */
			taken = (unsigned int)ret < j ? pkt_of[ret] : i;
		}
		kni_frame_release(kni->q, data + ret, n - ret);
		rte_pktmbuf_free_bulk(mbufs + sent, taken);
		sent += taken;
		if (taken < chunk)
			break;
	}
	return sent;
}
