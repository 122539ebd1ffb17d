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
 *
 * Threads: rte_kni_tx_burst() and rte_kni_rx_burst() may run at the same
 * time in two threads, and rte_kni_handle_request(), rte_kni_update_link(),
 * rte_kni_register_handlers() and rte_kni_unregister_handlers() in any
 * thread beside them; rte_kni_release() runs when no other call on the
 * interface does. The library serves the process that created the
 * device: a secondary process cannot attach to it.
 */

#include <errno.h>
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
#include <rte_log.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
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

	/* Control side, under ctrl_lock. */
	pthread_mutex_t ctrl_lock;
	struct rte_kni_ops ops;
	struct kni_seen seen;

	/*
	 * Receive side: packets taken from the kernel that did not get
	 * mbufs yet; their frames stay the library's until delivered.
	 */
	struct kni_buf pending[KNI_BURST];
	unsigned int npending;
	unsigned int pending_first;

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
	ret = kni_queue_events(kni->q);
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
	old = kni_get_carrier(kni->ifindex);
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

static int
kni_create(struct rte_kni *kni, const struct rte_kni_conf *conf)
{
	static const uint8_t zero[RTE_ETHER_ADDR_LEN];

	KNI_OPTS(kni_dev_config, cfg,
		 .present = KNI_CFG_FRAME_SIZE | KNI_CFG_CARRIER,
		 .carrier = 1);
	KNI_OPTS(kni_queue_opts, opts,
		 .max_mtu = conf->max_mtu,
		 .ops = &kni_lib_ops,
		 .cookie = kni);
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
	ret = kni_queue_attach(&kni->q, kni->ifindex, 0, &opts);
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

int
rte_kni_release(struct rte_kni *kni)
{
	KNI_OPTS(kni_dev_state, st);
	void *frames[KNI_BURST];
	unsigned int i;
	bool gone;
	int ret;

	if (!kni)
		return -1;
	pthread_mutex_lock(&kni_list_lock);
	TAILQ_REMOVE(&kni_list, kni, next);
	pthread_mutex_unlock(&kni_list_lock);

	for (i = 0; i < kni->npending; i++)
		frames[i] = kni->pending[kni->pending_first + i].data;
	kni_frame_release(kni->q, frames, kni->npending);
	/*
	 * Deleted by someone else (then the name may be another device's
	 * now), or ours to delete.
	 */
	gone = kni_queue_state(kni->q, &st) == 0 && st.gone;
	kni_queue_detach(kni->q);
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

/* The data path. */

/* Copy packet B into a chain of mbufs starting at HEAD; 0 or -ENOBUFS. */
static int
kni_fill_mbuf(struct rte_kni *kni, struct rte_mbuf *head,
	      const struct kni_buf *b)
{
	const uint8_t *src = b->data;
	struct rte_mbuf *seg = head;
	uint32_t left = b->len;

	for (;;) {
		uint16_t n = RTE_MIN(left, (uint32_t)rte_pktmbuf_tailroom(seg));

		rte_memcpy(rte_pktmbuf_mtod(seg, void *), src, n);
		seg->data_len = n;
		src += n;
		left -= n;
		if (!left)
			break;
		seg->next = rte_pktmbuf_alloc(kni->pool);
		if (!seg->next) {
			/* Back to a bare head, for the next try. */
			rte_pktmbuf_free(head->next);
			head->next = NULL;
			head->nb_segs = 1;
			head->data_len = 0;
			return -ENOBUFS;
		}
		seg = seg->next;
		head->nb_segs++;
	}
	head->pkt_len = b->len;
	if (b->flags & KNI_DESC_F_CSUM_VALID)
		head->ol_flags |= RTE_MBUF_F_RX_L4_CKSUM_GOOD;
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

unsigned int
rte_kni_rx_burst(struct rte_kni *kni, struct rte_mbuf **mbufs,
		 unsigned int num)
{
	unsigned int got = 0;

	while (got < num) {
		struct rte_mbuf **m = mbufs + got;
		void *done[KNI_BURST];
		struct kni_buf *bufs;
		unsigned int n, i;
		bool more;
		int ret;

		n = kni_alloc_heads(kni, m, RTE_MIN(num - got, KNI_BURST));
		if (!n)
			break;
		if (kni->npending) {
			/* Packets an empty pool held up come first. */
			bufs = kni->pending + kni->pending_first;
			ret = RTE_MIN(n, kni->npending);
			more = true;
		} else {
			bufs = kni->pending;
			kni->pending_first = 0;
			ret = kni_frame_recv(kni->q, bufs, n);
			if (ret < 0)
				ret = 0;
			kni->npending = ret;
			more = (unsigned int)ret == n;
		}
		for (i = 0; i < (unsigned int)ret; i++) {
			if (kni_fill_mbuf(kni, m[i], &bufs[i]))
				break;
			done[i] = bufs[i].data;
		}
		if (i)
			kni_frame_release(kni->q, done, i);
		kni->pending_first += i;
		kni->npending -= i;
		if (i < n)
			rte_pktmbuf_free_bulk(m + i, n - i);
		got += i;
		if (i < (unsigned int)ret || !more)
			break;
	}
	return got;
}

unsigned int
rte_kni_tx_burst(struct rte_kni *kni, struct rte_mbuf **mbufs,
		 unsigned int num)
{
	uint32_t room = kni_queue_info(kni->q)->data_room;
	unsigned int sent = 0;

	while (sent < num) {
		unsigned int chunk = RTE_MIN(num - sent, KNI_BURST);
		unsigned int pkt_of[KNI_BURST];
		struct kni_buf bufs[KNI_BURST];
		void *data[KNI_BURST];
		unsigned int n, i, j, taken;
		int ret;

		n = kni_frame_reserve(kni->q, data, chunk);
		if (!n)
			break;
		for (i = 0, j = 0; i < chunk && j < n; i++) {
			struct rte_mbuf *m = mbufs[sent + i];
			const void *p;

			/* Too short or too long a packet is dropped. */
			if (m->pkt_len < RTE_ETHER_HDR_LEN || m->pkt_len > room)
				continue;
			p = rte_pktmbuf_read(m, 0, m->pkt_len, data[j]);
			if (p != data[j])
				rte_memcpy(data[j], p, m->pkt_len);
			bufs[j].data = data[j];
			bufs[j].len = m->pkt_len;
			bufs[j].flags = (m->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK) ==
					RTE_MBUF_F_RX_L4_CKSUM_GOOD ?
					KNI_DESC_F_CSUM_VALID : 0;
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
