// SPDX-License-Identifier: GPL-2.0
/*
 * kni-fwd: a sample dataplane. It owns a "port" network device, read and
 * written through an AF_PACKET socket with PACKET_MMAP rings, and the
 * queues of a kni device, and moves packets between the two: everything
 * the port receives goes to the kernel stack through the kni device (or,
 * with -x, only the exception traffic), everything the stack sends on the
 * kni device goes out of the port.
 *
 * Packets reach the kernel as the port received them: with the VLAN tag
 * AF_PACKET passes beside the frame put back in, and with a partial
 * checksum (from a local sender that left it to the device) completed.
 * Packets from the kernel are taken only as fast as the port sends them,
 * so a busy port holds them in the kni device's qdisc.
 *
 * Kni's state (MTU, MAC address, up/down, promiscuous and all-multicast
 * mode) is given to the port at start, later changes an administrator
 * makes to it are applied to the port, and the port's link state becomes
 * the kni device's carrier. The multicast groups the stack joined on kni
 * become memberships of the AF_PACKET socket, so that the port passes
 * their packets (all multicast when kni has more than its state lists).
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/mman.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>
#include <libmnl/libmnl.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/rtnetlink.h>
#include <linux/virtio_net.h>

#include "libkni.h"

#ifndef IFF_LOWER_UP
#define IFF_LOWER_UP	0x10000
#endif

#ifndef VLAN_HLEN
#define VLAN_HLEN	4
#endif

#define MAX_QUEUES	64
#define BURST		64
#define PKT_FRAMES	512	/* frames in each of the port's rings */
#define PKT_FRAMES_BIG	64	/* the same with -o, for 64 KiB packets */
#define FWD_OFFLOADS	(KNI_OFFLOAD_CSUM | KNI_OFFLOAD_CHAIN | \
			 KNI_OFFLOAD_TSO4 | KNI_OFFLOAD_TSO6 | KNI_OFFLOAD_USO)
#define DEFAULT_MTU_CAP	9000

static const char usage[] =
"usage: kni-fwd -p PORT -k KNI [-q QUEUES] [-x ADDR] [-m MTU] [-o] [-b] [-v]\n"
"\n"
"Forward packets between the network device PORT (through an AF_PACKET\n"
"socket) and the kni device KNI, apply KNI's control events (MTU, MAC\n"
"address, up/down, promisc, allmulti, multicast groups) to PORT and mirror\n"
"PORT's link state to KNI's carrier. Stops on SIGINT or SIGTERM and\n"
"restores PORT.\n"
"\n"
"  -p PORT    the port device (e.g. one end of a veth pair)\n"
"  -k KNI     the kni device\n"
"  -q QUEUES  kni queues to attach, from queue 0 (default 1)\n"
"  -x ADDR    exception mode: from PORT pass only ARP, ICMP, ICMPv6 and\n"
"             IPv4 packets to ADDR to KNI; count and drop the rest\n"
"  -m MTU     largest MTU to accept on KNI (default: the smallest of PORT's\n"
"             and KNI's maximum and 9000)\n"
"  -o         offloads: pass checksums to complete and unsegmented packets\n"
"             between PORT and KNI as they are (PACKET_VNET_HDR), packets\n"
"             longer than a kni frame over chains of frames\n"
"  -b         busy mode: poll the rings without sleeping\n"
"  -v         print the counters every second\n";

struct counters {
	unsigned long long port_rx;	/* packets read from the port */
	unsigned long long to_kni;	/* of those, passed to kni */
	unsigned long long filtered;	/* not exception traffic (-x) */
	unsigned long long kni_full;	/* no kni frame free */
	unsigned long long truncated;	/* longer than a port or kni frame */
	unsigned long long csum_done;	/* partial checksums completed */
	unsigned long long from_kni;	/* packets kni sent */
	unsigned long long to_port;	/* of those, queued on the port */
	unsigned long long port_full;	/* times the port's tx ring was full */
	unsigned long long port_errors;	/* port transmit errors */
};

/* The port's settings kni-fwd may change, to restore them on exit. */
struct port_state {
	unsigned int flags;
	__u32 mtu;
	__u32 max_mtu;
	__u8 addr[ETH_ALEN];
};

enum {
	CHANGED_MTU	= 1U << 0,
	CHANGED_MAC	= 1U << 1,
	CHANGED_UP	= 1U << 2,
	CHANGED_PROMISC	= 1U << 3,
	CHANGED_ALLMULTI = 1U << 4,
};

struct pkt_ring {
	unsigned char *base;
	unsigned int frame_size;
	unsigned int frames;
	unsigned int head;
};

struct fwd {
	const char *port_name;
	const char *kni_name;
	int port_ifindex;
	int kni_ifindex;
	unsigned int nq;
	struct kni_queue *q[MAX_QUEUES];
	bool busy;
	bool verbose;
	bool except;
	bool offload;
	struct in_addr except_addr;
	__u32 mtu_cap;

	int pkt_fd;
	void *pkt_map;
	size_t pkt_map_len;
	struct pkt_ring rx;
	struct pkt_ring tx;
	unsigned int tx_next_q;		/* the queue kni_to_port() starts at */
	bool tx_blocked;		/* waiting for port tx slots */
	bool ep_blocked;		/* epoll set up for tx_blocked */

	struct mnl_socket *nl;		/* requests */
	unsigned int nl_seq;
	struct mnl_socket *mon;		/* RTMGRP_LINK notifications */
	int carrier;			/* last carrier set on kni, or -1 */

	struct port_state orig;
	unsigned int changed;

	/* The multicast memberships of pkt_fd on the port. */
	__u8 mc[KNI_STATE_MC_MAX][ETH_ALEN];
	unsigned int mc_n;
	bool mc_all;

	int ep;
	int sig_fd;
	bool stop;
	bool gone;
	struct counters c;
	struct counters last;
};

/* rtnetlink: query and change the port. */

static int link_attr_cb(const struct nlattr *attr, void *data)
{
	struct port_state *st = data;

	switch (mnl_attr_get_type(attr)) {
	case IFLA_MTU:
		if (!mnl_attr_validate(attr, MNL_TYPE_U32))
			st->mtu = mnl_attr_get_u32(attr);
		break;
	case IFLA_MAX_MTU:
		if (!mnl_attr_validate(attr, MNL_TYPE_U32))
			st->max_mtu = mnl_attr_get_u32(attr);
		break;
	case IFLA_ADDRESS:
		if (mnl_attr_get_payload_len(attr) == ETH_ALEN)
			memcpy(st->addr, mnl_attr_get_payload(attr), ETH_ALEN);
		break;
	}
	return MNL_CB_OK;
}

static int link_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct port_state *st = data;

	if (nlh->nlmsg_type != RTM_NEWLINK)
		return MNL_CB_OK;
	st->flags = ifi->ifi_flags;
	return mnl_attr_parse(nlh, sizeof(*ifi), link_attr_cb, data);
}

/* Send NLH on the request socket and run its answers through CB. */
static int nl_talk(struct fwd *f, struct nlmsghdr *nlh, mnl_cb_t cb,
		   void *data)
{
	unsigned int portid = mnl_socket_get_portid(f->nl);
	char buf[MNL_SOCKET_BUFFER_SIZE];
	int ret;

	nlh->nlmsg_seq = ++f->nl_seq;
	if (mnl_socket_sendto(f->nl, nlh, nlh->nlmsg_len) < 0)
		return -errno;
	do {
		ret = (int)mnl_socket_recvfrom(f->nl, buf, sizeof(buf));
		if (ret < 0)
			return -errno;
		ret = mnl_cb_run(buf, ret, nlh->nlmsg_seq, portid, cb, data);
	} while (ret > 0);
	return ret < 0 ? -errno : 0;
}

static struct nlmsghdr *link_msg(char *buf, __u16 type, __u16 flags,
				 int ifindex)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | flags;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	ifi->ifi_index = ifindex;
	return nlh;
}

static int link_get(struct fwd *f, int ifindex, struct port_state *st)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];

	memset(st, 0, sizeof(*st));
	return nl_talk(f, link_msg(buf, RTM_GETLINK, NLM_F_ACK, ifindex), link_msg_cb,
		       st);
}

/* Set the port's flags in MASK to FLAGS, and its MTU and address if given. */
static int port_set(struct fwd *f, unsigned int mask, unsigned int flags,
		    __u32 mtu, const __u8 *addr)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;
	struct ifinfomsg *ifi;

	nlh = link_msg(buf, RTM_NEWLINK, NLM_F_ACK, f->port_ifindex);
	ifi = mnl_nlmsg_get_payload(nlh);
	ifi->ifi_change = mask;
	ifi->ifi_flags = flags & mask;
	if (mtu)
		mnl_attr_put_u32(nlh, IFLA_MTU, mtu);
	if (addr)
		mnl_attr_put(nlh, IFLA_ADDRESS, ETH_ALEN, addr);
	return nl_talk(f, nlh, NULL, NULL);
}

static void port_set_flag(struct fwd *f, unsigned int flag, bool on,
			  unsigned int changed, const char *what)
{
	int err = port_set(f, flag, on ? flag : 0, 0, NULL);

	printf("kni-fwd: %s %s %s%s%s\n", f->port_name, what, on ? "on" : "off",
	       err ? ": " : "", err ? strerror(-err) : "");
	if (!err)
		f->changed |= changed;
}

/* Control events of the kni device, applied to the port. */

static void on_mtu(void *cookie, __u32 mtu)
{
	struct fwd *f = cookie;
	int err = port_set(f, 0, 0, mtu, NULL);

	printf("kni-fwd: %s mtu %u%s%s\n", f->port_name, mtu, err ? ": " : "",
	       err ? strerror(-err) : "");
	if (!err)
		f->changed |= CHANGED_MTU;
}

static void on_link(void *cookie, bool up)
{
	port_set_flag(cookie, IFF_UP, up, CHANGED_UP, "up");
}

static void on_mac(void *cookie, const __u8 *addr)
{
	struct fwd *f = cookie;
	int err = port_set(f, 0, 0, 0, addr);

	printf("kni-fwd: %s address %02x:%02x:%02x:%02x:%02x:%02x%s%s\n",
	       f->port_name, addr[0], addr[1], addr[2], addr[3], addr[4],
	       addr[5], err ? ": " : "", err ? strerror(-err) : "");
	if (!err)
		f->changed |= CHANGED_MAC;
}

static void on_promisc(void *cookie, bool on)
{
	port_set_flag(cookie, IFF_PROMISC, on, CHANGED_PROMISC, "promisc");
}

static void on_allmulti(void *cookie, bool on)
{
	port_set_flag(cookie, IFF_ALLMULTI, on, CHANGED_ALLMULTI, "allmulti");
}

static void on_gone(void *cookie)
{
	struct fwd *f = cookie;

	printf("kni-fwd: %s was deleted\n", f->kni_name);
	f->gone = true;
	f->stop = true;
}

/* Add (PACKET_ADD_MEMBERSHIP) or drop a membership of the port's socket. */
static int port_member(struct fwd *f, int opt, unsigned short type,
		       const __u8 *addr)
{
	struct packet_mreq mr = {
		.mr_ifindex = f->port_ifindex,
		.mr_type = type,
	};

	if (addr) {
		mr.mr_alen = ETH_ALEN;
		memcpy(mr.mr_address, addr, ETH_ALEN);
	}
	return setsockopt(f->pkt_fd, SOL_PACKET, opt, &mr, sizeof(mr)) ?
	       -errno : 0;
}

/* Is ADDR among the N addresses at LIST, ETH_ALEN bytes each? */
static bool mc_listed(const __u8 *list, unsigned int n, const __u8 *addr)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (!memcmp(list + i * ETH_ALEN, addr, ETH_ALEN))
			return true;
	return false;
}

/*
 * Kni's multicast list as the port's: drop the memberships of addresses
 * no longer listed, add the new ones, and all-multicast while kni has more
 * addresses than it lists.
 */
static void on_mcast(void *cookie, const __u8 *addrs, unsigned int n,
		     bool all)
{
	__u8 held[KNI_STATE_MC_MAX][ETH_ALEN];
	struct fwd *f = cookie;
	unsigned int i, nh = 0;
	int err = 0, ret;

	if (n > KNI_STATE_MC_MAX)
		n = KNI_STATE_MC_MAX;
	for (i = 0; i < f->mc_n; i++)
		if (!mc_listed(addrs, n, f->mc[i]))
			port_member(f, PACKET_DROP_MEMBERSHIP,
				    PACKET_MR_MULTICAST, f->mc[i]);
	for (i = 0; i < n; i++) {
		const __u8 *addr = addrs + i * ETH_ALEN;

		ret = 0;
		if (!mc_listed(f->mc[0], f->mc_n, addr))
			ret = port_member(f, PACKET_ADD_MEMBERSHIP,
					  PACKET_MR_MULTICAST, addr);
		/* A refused one is tried again with the next list. */
		if (ret)
			err = ret;
		else
			memcpy(held[nh++], addr, ETH_ALEN);
	}
	memcpy(f->mc, held, sizeof(held[0]) * nh);
	f->mc_n = nh;
	if (all != f->mc_all) {
		ret = port_member(f, all ? PACKET_ADD_MEMBERSHIP :
				  PACKET_DROP_MEMBERSHIP, PACKET_MR_ALLMULTI,
				  NULL);
		if (ret)
			err = ret;
		else
			f->mc_all = all;
	}
	printf("kni-fwd: %s multicast %u address%s%s%s%s\n", f->port_name,
	       f->mc_n, f->mc_n == 1 ? "" : "es", f->mc_all ? ", all" : "",
	       err ? ": " : "", err ? strerror(-err) : "");
}

static const struct kni_ops fwd_ops = {
	.sz = sizeof(struct kni_ops),
	.mtu = on_mtu,
	.link = on_link,
	.mac = on_mac,
	.promisc = on_promisc,
	.allmulti = on_allmulti,
	.gone = on_gone,
	.mcast = on_mcast,
};

static void port_restore(struct fwd *f)
{
	unsigned int mask = 0;

	if (f->changed & CHANGED_UP)
		mask |= IFF_UP;
	if (f->changed & CHANGED_PROMISC)
		mask |= IFF_PROMISC;
	if (f->changed & CHANGED_ALLMULTI)
		mask |= IFF_ALLMULTI;
	if (!f->changed)
		return;
	if (port_set(f, mask, f->orig.flags,
		     f->changed & CHANGED_MTU ? f->orig.mtu : 0,
		     f->changed & CHANGED_MAC ? f->orig.addr : NULL))
		fprintf(stderr, "kni-fwd: could not restore %s\n", f->port_name);
}

/* The port's link state as the kni device's carrier. */
static void mirror_carrier(struct fwd *f, unsigned int flags)
{
	int on = !!(flags & IFF_LOWER_UP);
	int err;

	if (on == f->carrier)
		return;
	err = kni_queue_set_carrier(f->q[0], on);
	if (err) {
		fprintf(stderr, "kni-fwd: carrier: %s\n", kni_strerror(err));
		return;
	}
	f->carrier = on;
	printf("kni-fwd: %s carrier %s\n", f->kni_name, on ? "on" : "off");
}

static int mon_cb(const struct nlmsghdr *nlh, void *data)
{
	const struct ifinfomsg *ifi = mnl_nlmsg_get_payload(nlh);
	struct fwd *f = data;

	if (nlh->nlmsg_type == RTM_NEWLINK && ifi->ifi_index == f->port_ifindex)
		mirror_carrier(f, ifi->ifi_flags);
	return MNL_CB_OK;
}

static void mon_read(struct fwd *f)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct port_state st;
	ssize_t len;

	for (;;) {
		len = mnl_socket_recvfrom(f->mon, buf, sizeof(buf));
		if (len < 0) {
			/* Notifications were lost: ask for the state. */
			if (errno == ENOBUFS && !link_get(f, f->port_ifindex, &st))
				mirror_carrier(f, st.flags);
			if (errno == EAGAIN || errno == EWOULDBLOCK ||
			    errno == ENOBUFS)
				return;
			fprintf(stderr, "kni-fwd: netlink: %s\n", strerror(errno));
			return;
		}
		mnl_cb_run(buf, len, 0, 0, mon_cb, f);
	}
}

/* The port's AF_PACKET socket. */

static __u32 pow2_at_least(__u32 v)
{
	__u32 p = 1;

	while (p < v)
		p <<= 1;
	return p;
}

static int port_open(struct fwd *f, __u32 max_len)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = f->port_ifindex,
	};
	unsigned int frames = f->offload ? PKT_FRAMES_BIG : PKT_FRAMES;
	int ver = TPACKET_V2, one = 1;
	struct tpacket_req req = {};
	__u32 fsz;

	/* With offloads, a virtio_net_hdr precedes every packet. */
	if (f->offload)
		max_len = KNI_CHAIN_LEN_MAX + sizeof(struct virtio_net_hdr);
	fsz = pow2_at_least(max_len + TPACKET_ALIGN(TPACKET2_HDRLEN) + 64);
	if (fsz < 2048)
		fsz = 2048;
	req.tp_frame_size = fsz;
	req.tp_block_size = fsz < 65536 ? 65536 : fsz;
	req.tp_frame_nr = frames;
	req.tp_block_nr = frames / (req.tp_block_size / fsz);
	if (req.tp_block_nr * (req.tp_block_size / fsz) != frames)
		return -EINVAL;

	f->pkt_fd = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (f->pkt_fd < 0)
		return -errno;
	if (f->offload &&
	    setsockopt(f->pkt_fd, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one)))
		return -errno;
	if (setsockopt(f->pkt_fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) ||
	    setsockopt(f->pkt_fd, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
		       sizeof(one)) ||
	    setsockopt(f->pkt_fd, SOL_PACKET, PACKET_LOSS, &one, sizeof(one)) ||
	    setsockopt(f->pkt_fd, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) ||
	    setsockopt(f->pkt_fd, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)))
		return -errno;
	f->pkt_map_len = 2 * (size_t)req.tp_block_size * req.tp_block_nr;
	f->pkt_map = mmap(NULL, f->pkt_map_len, PROT_READ | PROT_WRITE,
			  MAP_SHARED, f->pkt_fd, 0);
	if (f->pkt_map == MAP_FAILED) {
		f->pkt_map = NULL;
		return -errno;
	}
	f->rx = (struct pkt_ring) {
		.base = f->pkt_map,
		.frame_size = fsz,
		.frames = frames,
	};
	f->tx = f->rx;
	f->tx.base += f->pkt_map_len / 2;
	if (bind(f->pkt_fd, (struct sockaddr *)&sll, sizeof(sll)))
		return -errno;
	return 0;
}

static struct tpacket2_hdr *pkt_frame(struct pkt_ring *r)
{
	return (struct tpacket2_hdr *)(r->base + (size_t)r->head * r->frame_size);
}

/* Is the frame exception traffic for the kernel (-x)? */
static bool is_exception(const struct fwd *f, const __u8 *p, __u32 len)
{
	__u16 proto;

	if (len < ETH_HLEN)
		return false;
	proto = (__u16)(p[12] << 8 | p[13]);
	p += ETH_HLEN;
	len -= ETH_HLEN;
	switch (proto) {
	case ETH_P_ARP:
		return true;
	case ETH_P_IP:
		if (len < 20)
			return false;
		/* ICMP, or addressed to the kernel's address. */
		return p[9] == IPPROTO_ICMP ||
		       !memcmp(p + 16, &f->except_addr, 4);
	case ETH_P_IPV6:
		return len >= 40 && p[6] == IPPROTO_ICMPV6;
	}
	return false;
}

/* A queue for the frame: flows of IPv4 addresses stay on one queue. */
static unsigned int pick_queue(const struct fwd *f, const __u8 *p, __u32 len)
{
	__u32 h = 0;
	int i;

	if (f->nq == 1)
		return 0;
	if (len >= ETH_HLEN + 20 && p[12] == 0x08 && p[13] == 0x00)
		for (i = 0; i < 8; i++)
			h = h * 31 + p[ETH_HLEN + 12 + i];
	return h % f->nq;
}

/* The 16-bit one's complement sum of LEN bytes at P, added to SUM. */
static __u32 csum_add(__u32 sum, const __u8 *p, __u32 len)
{
	while (len > 1) {
		sum += (__u32)(p[0] << 8 | p[1]);
		p += 2;
		len -= 2;
	}
	if (len)
		sum += (__u32)(p[0] << 8);
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return sum;
}

/*
 * Complete the partial checksum of a TCP or UDP packet over IPv4 or IPv6
 * whose IP header starts at L3 in the LEN bytes at P. A partial checksum
 * (TP_STATUS_CSUMNOTREADY: a local sender left it to the device) holds
 * the pseudo-header's sum; the device adds the transport header and
 * payload. Returns false for a packet whose checksum is not found.
 */
static bool csum_complete(__u8 *p, __u32 len, __u32 l3)
{
	__u32 l4, l4len, off, sum;
	__u16 proto = (__u16)(p[l3 - 2] << 8 | p[l3 - 1]);
	__u8 next;

	if (proto == ETH_P_IP && len >= l3 + 20) {
		__u32 ihl = (p[l3] & 0xf) * 4U;
		__u32 tot = (__u32)(p[l3 + 2] << 8 | p[l3 + 3]);

		/* Not a fragment: offset and more-fragments clear. */
		if (ihl < 20 || tot < ihl || l3 + tot > len ||
		    ((p[l3 + 6] << 8 | p[l3 + 7]) & 0x3fff))
			return false;
		next = p[l3 + 9];
		l4 = l3 + ihl;
		l4len = tot - ihl;
	} else if (proto == ETH_P_IPV6 && len >= l3 + 40) {
		l4len = (__u32)(p[l3 + 4] << 8 | p[l3 + 5]);
		if (l3 + 40 + l4len > len)
			return false;
		next = p[l3 + 6];
		l4 = l3 + 40;
	} else {
		return false;
	}
	if (next == IPPROTO_TCP && l4len >= 20)
		off = 16;
	else if (next == IPPROTO_UDP && l4len >= 8)
		off = 6;
	else
		return false;

	sum = (__u16)~csum_add(0, p + l4, l4len);
	/* UDP sends a zero sum as all ones: zero means "no checksum". */
	if (next == IPPROTO_UDP && !sum)
		sum = 0xffff;
	p[l4 + off] = (__u8)(sum >> 8);
	p[l4 + off + 1] = (__u8)sum;
	return true;
}

/*
 * Copy the port's frame into the kni frame FRAME, with the VLAN tag
 * AF_PACKET took out of it (into tp_vlan_tci) put back, and complete a
 * partial checksum. Returns the frame's length, 0 when it does not fit in
 * ROOM bytes; *FLAGS gets the descriptor flags.
 */
static __u32 port_frame_copy(struct fwd *f, const struct tpacket2_hdr *h,
			     __u32 status, __u8 *frame, __u32 room,
			     __u32 *flags)
{
	const __u8 *data = (const __u8 *)h + h->tp_mac;
	__u32 len = h->tp_snaplen, l3 = ETH_HLEN;

	*flags = 0;
	if (status & TP_STATUS_VLAN_VALID) {
		__u16 tpid = status & TP_STATUS_VLAN_TPID_VALID ?
			     h->tp_vlan_tpid : ETH_P_8021Q;

		if (len < ETH_HLEN || len + VLAN_HLEN > room)
			return 0;
		memcpy(frame, data, 2 * ETH_ALEN);
		frame[12] = (__u8)(tpid >> 8);
		frame[13] = (__u8)tpid;
		frame[14] = (__u8)(h->tp_vlan_tci >> 8);
		frame[15] = (__u8)h->tp_vlan_tci;
		memcpy(frame + 16, data + 12, len - 12);
		len += VLAN_HLEN;
		l3 += VLAN_HLEN;
	} else {
		if (len > room)
			return 0;
		memcpy(frame, data, len);
	}

	/*
	 * The kernel checked a checksum it marked valid; a partial one is
	 * completed here. Anything else the kni device's stack checks.
	 */
	if (status & TP_STATUS_CSUM_VALID) {
		*flags = KNI_DESC_F_CSUM_VALID;
	} else if (status & TP_STATUS_CSUMNOTREADY) {
		if (csum_complete(frame, len, l3)) {
			*flags = KNI_DESC_F_CSUM_VALID;
			f->c.csum_done++;
		}
	}
	return len;
}

/*
 * Port to kni with offloads: each packet with its virtio_net_hdr, which
 * the port's socket wrote before it, copied by libkni into one frame or a
 * chain. A VLAN tag AF_PACKET took out is put back first, in BOUNCE, and
 * the checksum's start moves with it.
 */
static bool port_to_kni_meta(struct fwd *f, const struct tpacket2_hdr *h,
			     __u32 status, unsigned int qi)
{
	static __u8 bounce[KNI_CHAIN_LEN_MAX + VLAN_HLEN];
	const __u8 *data = (const __u8 *)h + h->tp_mac;
	struct virtio_net_hdr meta;
	struct kni_buf b = {
		.data = (void *)data,
		.len = h->tp_snaplen,
	};

	memcpy(&meta, data - sizeof(meta), sizeof(meta));
	if (status & TP_STATUS_CSUM_VALID)
		b.flags = KNI_DESC_F_CSUM_VALID;
	if (status & TP_STATUS_VLAN_VALID) {
		__u16 tpid = status & TP_STATUS_VLAN_TPID_VALID ?
			     h->tp_vlan_tpid : ETH_P_8021Q;

		if (b.len < ETH_HLEN || b.len + VLAN_HLEN > sizeof(bounce))
			return false;
		memcpy(bounce, data, 2 * ETH_ALEN);
		bounce[12] = (__u8)(tpid >> 8);
		bounce[13] = (__u8)tpid;
		bounce[14] = (__u8)(h->tp_vlan_tci >> 8);
		bounce[15] = (__u8)h->tp_vlan_tci;
		memcpy(bounce + 16, data + 12, b.len - 12);
		b.data = bounce;
		b.len += VLAN_HLEN;
		if (meta.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM)
			meta.csum_start += VLAN_HLEN;
		if (meta.hdr_len)
			meta.hdr_len += VLAN_HLEN;
	}
	return kni_send_burst_meta(f->q[qi], &b, &meta, 1) == 1;
}

/* Port to kni: a burst of frames from the port's rx ring. */
static int port_to_kni(struct fwd *f)
{
	static struct kni_buf batch[MAX_QUEUES][BURST];
	unsigned int count[MAX_QUEUES] = {}, qi, i;
	int n;

	for (n = 0; n < BURST; n++) {
		struct tpacket2_hdr *h = pkt_frame(&f->rx);
		__u32 status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
		const __u8 *data = (const __u8 *)h + h->tp_mac;
		struct kni_buf *b;
		void *frame;

		if (!(status & TP_STATUS_USER))
			break;
		f->c.port_rx++;
		if (h->tp_snaplen != h->tp_len) {
			f->c.truncated++;
		} else if (f->except && !is_exception(f, data, h->tp_snaplen)) {
			f->c.filtered++;
		} else {
			qi = pick_queue(f, data, h->tp_snaplen);
			b = &batch[qi][count[qi]];
			if (f->offload) {
				if (port_to_kni_meta(f, h, status, qi))
					f->c.to_kni++;
				else
					f->c.kni_full++;
			} else if (!kni_frame_reserve(f->q[qi], &frame, 1)) {
				f->c.kni_full++;
			} else {
				b->len = port_frame_copy(f, h, status, frame,
							 kni_queue_info(f->q[qi])->data_room,
							 &b->flags);
				b->data = frame;
				if (b->len) {
					count[qi]++;
				} else {
					f->c.truncated++;
					kni_frame_release(f->q[qi], &b->data, 1);
				}
			}
		}
		/* Hand the slot back once its bytes are copied. */
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL,
				 __ATOMIC_RELEASE);
		f->rx.head = (f->rx.head + 1) % f->rx.frames;
	}
	for (qi = 0; qi < f->nq; qi++) {
		int sent;

		if (!count[qi])
			continue;
		sent = kni_frame_submit(f->q[qi], batch[qi], count[qi]);
		if (sent < 0)
			sent = 0;
		f->c.to_kni += sent;
		for (i = sent; i < count[qi]; i++) {
			f->c.kni_full++;
			kni_frame_release(f->q[qi], &batch[qi][i].data, 1);
		}
	}
	return n;
}

/*
 * Free slots of the port's tx ring from its head on, up to MAX: a slot is
 * free once the kernel sent its frame (or refused it: the refusal is
 * counted when the slot is reused).
 */
static unsigned int port_tx_room(struct fwd *f, unsigned int max)
{
	unsigned int i;

	for (i = 0; i < max; i++) {
		const struct tpacket2_hdr *h = (const struct tpacket2_hdr *)
			(f->tx.base + (size_t)((f->tx.head + i) % f->tx.frames) *
			 f->tx.frame_size);
		__u32 status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);

		if (status != TP_STATUS_AVAILABLE &&
		    status != TP_STATUS_WRONG_FORMAT)
			break;
	}
	return i;
}

/*
 * Kni to port with offloads: up to SLOTS packets of queue QI copied by
 * libkni, chains whole, into the port's tx slots after their
 * virtio_net_hdr. Returns how many were queued.
 */
static int kni_to_port_meta(struct fwd *f, unsigned int qi, unsigned int slots)
{
	__u32 room = f->tx.frame_size - TPACKET2_HDRLEN +
		     sizeof(struct sockaddr_ll) - sizeof(struct virtio_net_hdr);
	unsigned int i;

	for (i = 0; i < slots; i++) {
		struct tpacket2_hdr *h = pkt_frame(&f->tx);
		__u8 *p = (__u8 *)h + TPACKET2_HDRLEN - sizeof(struct sockaddr_ll);
		struct virtio_net_hdr *meta = (struct virtio_net_hdr *)p;
		struct kni_buf b = {
			.data = p + sizeof(*meta),
			.len = room,
		};

		if (kni_recv_burst_meta(f->q[qi], &b, meta, 1) != 1)
			break;
		f->c.from_kni++;
		if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) ==
		    TP_STATUS_WRONG_FORMAT)
			f->c.port_errors++;
		if (b.flags & KNI_BUF_F_TRUNCATED) {
			f->c.port_errors++;
			continue;
		}
		h->tp_len = b.len + sizeof(*meta);
		/* The bytes are in place before the kernel may send. */
		__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST,
				 __ATOMIC_RELEASE);
		f->tx.head = (f->tx.head + 1) % f->tx.frames;
	}
	return (int)i;
}

/*
 * Kni to port: the packets the stack sent, onto the port's tx ring. Only
 * as many as the port has room for are taken: the rest wait on kni's tx
 * ring, and when that fills, kni stops its queue and the stack's qdisc
 * holds the packets, as with any other device whose link is busy.
 */
static int kni_to_port(struct fwd *f)
{
	__u32 room = f->tx.frame_size - TPACKET2_HDRLEN +
		     sizeof(struct sockaddr_ll);
	unsigned int qi, k, slots = 0;
	int n, i, queued = 0, total = 0;
	struct kni_buf bufs[BURST];
	void *done[BURST];
	bool blocked = false;

	for (k = 0; k < f->nq; k++) {
		/* Start from another queue each time, so none starves. */
		qi = (f->tx_next_q + k) % f->nq;
		slots = port_tx_room(f, BURST);
		if (!slots) {
			blocked = true;
			break;
		}
		if (f->offload) {
			n = kni_to_port_meta(f, qi, slots);
			queued += n;
			total += n;
			continue;
		}
		n = kni_frame_recv(f->q[qi], bufs, slots);
		for (i = 0; i < n; i++) {
			struct tpacket2_hdr *h = pkt_frame(&f->tx);

			done[i] = bufs[i].data;
			f->c.from_kni++;
			if (__atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE) ==
			    TP_STATUS_WRONG_FORMAT)
				f->c.port_errors++;
			if (bufs[i].len > room) {
				f->c.port_errors++;
				continue;
			}
			memcpy((__u8 *)h + TPACKET2_HDRLEN -
			       sizeof(struct sockaddr_ll), bufs[i].data,
			       bufs[i].len);
			h->tp_len = bufs[i].len;
			/* The bytes are in place before the kernel may send. */
			__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST,
					 __ATOMIC_RELEASE);
			f->tx.head = (f->tx.head + 1) % f->tx.frames;
			queued++;
		}
		if (n > 0)
			kni_frame_release(f->q[qi], done, n);
		total += n > 0 ? n : 0;
	}
	f->tx_next_q = (f->tx_next_q + 1) % f->nq;
	if (queued) {
		if (sendto(f->pkt_fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 &&
		    errno != EAGAIN && errno != ENOBUFS)
			f->c.port_errors++;
		f->c.to_port += queued;
	}
	if (blocked && !f->tx_blocked)
		f->c.port_full++;
	f->tx_blocked = blocked;
	return total;
}

static int handle_events(struct fwd *f)
{
	unsigned int qi;
	int ret;

	for (qi = 0; qi < f->nq; qi++) {
		ret = kni_queue_events(f->q[qi]);
		if (ret < 0 && ret != -EAGAIN)
			return ret;
	}
	return 0;
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static void print_counters(struct fwd *f)
{
	struct counters *c = &f->c, *l = &f->last;

	printf("kni-fwd: port->kni %llu/s (filtered %llu, no frame %llu, ",
	       c->to_kni - l->to_kni, c->filtered - l->filtered,
	       c->kni_full - l->kni_full);
	printf("truncated %llu), kni->port %llu/s (port full %llu, errors %llu)\n",
	       c->truncated - l->truncated, c->to_port - l->to_port,
	       c->port_full - l->port_full, c->port_errors - l->port_errors);
	fflush(stdout);
	*l = *c;
}

static void print_totals(struct fwd *f)
{
	struct counters *c = &f->c;
	unsigned long long kdrop = 0;
	unsigned int qi;

	for (qi = 0; qi < f->nq; qi++) {
		KNI_OPTS(kni_queue_stats, s);

		if (!kni_queue_stats(f->q[qi], &s))
			kdrop += s.send_dropped;
	}
	printf("kni-fwd: port rx %llu, to %s %llu (dropped by the kernel %llu), ",
	       c->port_rx, f->kni_name, c->to_kni, kdrop);
	printf("filtered %llu, no frame %llu, truncated %llu, partial checksums completed %llu\n",
	       c->filtered, c->kni_full, c->truncated, c->csum_done);
	printf("kni-fwd: from %s %llu, to %s %llu, port full %llu, port errors %llu\n",
	       f->kni_name, c->from_kni, f->port_name, c->to_port,
	       c->port_full, c->port_errors);
}

static void drain_signals(struct fwd *f)
{
	struct signalfd_siginfo si;

	while (read(f->sig_fd, &si, sizeof(si)) == sizeof(si))
		f->stop = true;
}

/* Add (EPOLL_CTL_ADD) or change (EPOLL_CTL_MOD) what epoll waits for. */
static int ep_ctl(struct fwd *f, int op, int fd, __u32 events)
{
	struct epoll_event ev = { .events = events, .data.fd = fd };

	return epoll_ctl(f->ep, op, fd, &ev) ? -errno : 0;
}

/*
 * While the port's tx ring is full, wait for it to have room (EPOLLOUT)
 * rather than for kni's tx ring, which stays readable until there is.
 */
static void ep_track_blocked(struct fwd *f)
{
	unsigned int qi;
	__u32 kev, pev;

	if (f->tx_blocked == f->ep_blocked)
		return;
	kev = f->tx_blocked ? EPOLLPRI : EPOLLIN | EPOLLPRI;
	pev = f->tx_blocked ? EPOLLIN | EPOLLOUT : EPOLLIN;
	if (ep_ctl(f, EPOLL_CTL_MOD, f->pkt_fd, pev))
		return;
	for (qi = 0; qi < f->nq; qi++)
		ep_ctl(f, EPOLL_CTL_MOD, kni_queue_fd(f->q[qi]), kev);
	f->ep_blocked = f->tx_blocked;
}

static void clear_sock_error(int fd)
{
	socklen_t len = sizeof(int);
	int err;

	getsockopt(fd, SOL_SOCKET, SO_ERROR, &err, &len);
}

/* Handle what epoll reported, without waiting when TIMEOUT is 0. */
static void poll_fds(struct fwd *f, int timeout)
{
	struct epoll_event evs[MAX_QUEUES + 4];
	int n, i;

	n = epoll_wait(f->ep, evs, MAX_QUEUES + 4, timeout);
	for (i = 0; i < n; i++) {
		int fd = evs[i].data.fd;

		if (fd == f->sig_fd)
			drain_signals(f);
		else if (fd == mnl_socket_get_fd(f->mon))
			mon_read(f);
		else if (fd == f->pkt_fd && (evs[i].events & EPOLLERR))
			/*
			 * The port went down (ENETDOWN): clear the error, or
			 * epoll reports it again at once and the loop spins.
			 */
			clear_sock_error(f->pkt_fd);
		else if (fd != f->pkt_fd && (evs[i].events & (EPOLLHUP | EPOLLERR)))
			/* A kni queue whose device is gone: events say so. */
			handle_events(f);
	}
}

static int run(struct fwd *f)
{
	double next = now() + 1;
	unsigned long iter = 0;
	int err, work;

	while (!f->stop) {
		work = port_to_kni(f);
		work += kni_to_port(f);
		err = handle_events(f);
		if (err) {
			fprintf(stderr, "kni-fwd: events: %s\n", kni_strerror(err));
			return err;
		}
		if (f->stop)
			break;
		/* Sleep when idle, unless busy; look at signals meanwhile. */
		ep_track_blocked(f);
		if (!f->busy && !work)
			poll_fds(f, 1000);
		else if (!(++iter & 255))
			poll_fds(f, 0);
		if (f->verbose && now() >= next) {
			print_counters(f);
			next += 1;
		}
	}
	return 0;
}

static int setup(struct fwd *f)
{
	KNI_OPTS(kni_queue_opts, opts);
	KNI_OPTS(kni_dev_state, kni_st);
	struct port_state kst, pst;
	sigset_t mask;
	unsigned int qi;
	int err;

	f->port_ifindex = kni_dev_ifindex(f->port_name);
	f->kni_ifindex = kni_dev_ifindex(f->kni_name);
	if (f->port_ifindex < 0 || f->kni_ifindex < 0) {
		fprintf(stderr, "kni-fwd: no device %s\n",
			f->port_ifindex < 0 ? f->port_name : f->kni_name);
		return -ENODEV;
	}

	f->nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	f->mon = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC | SOCK_NONBLOCK);
	if (!f->nl || !f->mon ||
	    mnl_socket_bind(f->nl, 0, MNL_SOCKET_AUTOPID) < 0 ||
	    mnl_socket_bind(f->mon, RTMGRP_LINK, MNL_SOCKET_AUTOPID) < 0)
		return -errno;
	err = link_get(f, f->port_ifindex, &f->orig);
	if (!err)
		err = link_get(f, f->kni_ifindex, &kst);
	if (err) {
		fprintf(stderr, "kni-fwd: RTM_GETLINK: %s\n", strerror(-err));
		return err;
	}
	pst = f->orig;

	/* The limits kni-fwd declares: what the port and its rings take. */
	if (!f->mtu_cap) {
		f->mtu_cap = DEFAULT_MTU_CAP;
		if (pst.max_mtu && pst.max_mtu < f->mtu_cap)
			f->mtu_cap = pst.max_mtu;
		if (kst.max_mtu && kst.max_mtu < f->mtu_cap)
			f->mtu_cap = kst.max_mtu;
		if (kst.mtu > f->mtu_cap)
			f->mtu_cap = kst.mtu;
	}
	opts.max_mtu = f->mtu_cap;
	opts.cookie = f;
	if (f->offload)
		opts.offloads = FWD_OFFLOADS;
	for (qi = 0; qi < f->nq; qi++) {
		/* Queue 0 applies the events; the others only keep up. */
		opts.ops = qi ? NULL : &fwd_ops;
		err = kni_queue_attach(&f->q[qi], f->kni_ifindex, qi, &opts);
		if (err) {
			fprintf(stderr, "kni-fwd: attach %s queue %u (max_mtu %u): %s\n",
				f->kni_name, qi, opts.max_mtu, kni_strerror(err));
			return err;
		}
		if (kni_queue_info(f->q[qi])->offloads != opts.offloads) {
			fprintf(stderr, "kni-fwd: %s takes on offloads %#x, not %#x\n",
				f->kni_name, kni_queue_info(f->q[qi])->offloads,
				opts.offloads);
			return -EOPNOTSUPP;
		}
		if (f->busy) {
			err = kni_queue_set_busy(f->q[qi], true);
			if (err)
				return err;
		}
	}

	/*
	 * Events report changes only: kni's state as it is now - its MTU,
	 * address, up/down, promiscuous and all-multicast mode - is given to
	 * the port here, or the port would drop the larger frames or the
	 * ones for kni's address.
	 */
	if (kst.mtu && kst.mtu != pst.mtu)
		on_mtu(f, kst.mtu);
	if (memcmp(kst.addr, pst.addr, ETH_ALEN))
		on_mac(f, kst.addr);
	if ((kst.flags ^ pst.flags) & IFF_UP)
		on_link(f, kst.flags & IFF_UP);
	if ((kst.flags ^ pst.flags) & IFF_PROMISC)
		on_promisc(f, kst.flags & IFF_PROMISC);
	if ((kst.flags ^ pst.flags) & IFF_ALLMULTI)
		on_allmulti(f, kst.flags & IFF_ALLMULTI);

	err = port_open(f, f->mtu_cap + ETH_HLEN + 4);
	if (err) {
		fprintf(stderr, "kni-fwd: AF_PACKET on %s: %s\n", f->port_name,
			strerror(-err));
		return err;
	}
	/* Kni's multicast groups, on the socket; the events follow them. */
	err = kni_queue_state(f->q[0], &kni_st);
	if (err) {
		fprintf(stderr, "kni-fwd: state of %s: %s\n", f->kni_name,
			kni_strerror(err));
		return err;
	}
	on_mcast(f, kni_st.mc_addr[0],
		 kni_st.mc_count < KNI_STATE_MC_MAX ? kni_st.mc_count :
						      KNI_STATE_MC_MAX,
		 kni_st.mc_all);

	/* A shell starts background jobs with SIGINT ignored: undo that. */
	signal(SIGINT, SIG_DFL);
	signal(SIGTERM, SIG_DFL);
	sigemptyset(&mask);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGTERM);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	f->sig_fd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	f->ep = epoll_create1(EPOLL_CLOEXEC);
	if (f->sig_fd < 0 || f->ep < 0)
		return -errno;
	err = ep_ctl(f, EPOLL_CTL_ADD, f->sig_fd, EPOLLIN);
	if (!err)
		err = ep_ctl(f, EPOLL_CTL_ADD, mnl_socket_get_fd(f->mon),
			     EPOLLIN);
	if (!err)
		err = ep_ctl(f, EPOLL_CTL_ADD, f->pkt_fd, EPOLLIN);
	for (qi = 0; !err && qi < f->nq; qi++)
		err = ep_ctl(f, EPOLL_CTL_ADD, kni_queue_fd(f->q[qi]),
			     EPOLLIN | EPOLLPRI);
	if (err)
		return err;

	/* The carrier follows the port from now on. */
	mirror_carrier(f, pst.flags);
	mon_read(f);
	printf("kni-fwd: forwarding between %s and %s (%u queue%s, max mtu %u, %s mode%s)\n",
	       f->port_name, f->kni_name, f->nq, f->nq > 1 ? "s" : "",
	       f->mtu_cap, f->busy ? "busy" : "interrupt",
	       f->except ? ", exception traffic only" : "");
	fflush(stdout);
	return 0;
}

static void teardown(struct fwd *f)
{
	unsigned int qi;

	for (qi = 0; qi < f->nq; qi++)
		kni_queue_detach(f->q[qi]);
	if (f->nl)
		port_restore(f);
	if (f->pkt_map)
		munmap(f->pkt_map, f->pkt_map_len);
	if (f->pkt_fd >= 0)
		close(f->pkt_fd);
	if (f->ep >= 0)
		close(f->ep);
	if (f->sig_fd >= 0)
		close(f->sig_fd);
	if (f->mon)
		mnl_socket_close(f->mon);
	if (f->nl)
		mnl_socket_close(f->nl);
}

int main(int argc, char **argv)
{
	struct fwd f = {
		.nq = 1,
		.pkt_fd = -1,
		.ep = -1,
		.sig_fd = -1,
		.carrier = -1,
	};
	int opt, err;

	setvbuf(stdout, NULL, _IOLBF, 0);
	while ((opt = getopt(argc, argv, "p:k:q:x:m:obvh")) != -1) {
		switch (opt) {
		case 'p':
			f.port_name = optarg;
			break;
		case 'k':
			f.kni_name = optarg;
			break;
		case 'q':
			f.nq = (unsigned int)strtoul(optarg, NULL, 0);
			break;
		case 'x':
			if (inet_pton(AF_INET, optarg, &f.except_addr) != 1) {
				fprintf(stderr, "kni-fwd: bad address %s\n", optarg);
				return 2;
			}
			f.except = true;
			break;
		case 'm':
			f.mtu_cap = (__u32)strtoul(optarg, NULL, 0);
			break;
		case 'o':
			f.offload = true;
			break;
		case 'b':
			f.busy = true;
			break;
		case 'v':
			f.verbose = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!f.port_name || !f.kni_name || !f.nq || f.nq > MAX_QUEUES ||
	    optind != argc) {
		fputs(usage, stderr);
		return 2;
	}

	err = setup(&f);
	if (!err)
		err = run(&f);
	if (f.q[0])
		print_totals(&f);
	teardown(&f);
	if (f.gone)
		return 1;
	return err ? 1 : 0;
}
