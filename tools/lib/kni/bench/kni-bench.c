// SPDX-License-Identifier: GPL-2.0
/*
 * kni-bench: the dataplane side of "make bench". One mode per way a
 * userspace program exchanges packets with the kernel stack:
 *
 *   kni     libkni bursts on the queues of a kni device
 *   tap     read() and write() on /dev/net/tun (IFF_TAP, optionally
 *           IFF_NAPI), one frame per call
 *   packet  AF_PACKET with PACKET_TX_RING (TPACKET_V2) and PACKET_RX_RING
 *           (TPACKET_V3)
 *   xdp     an AF_XDP socket in copy mode (XDP_COPY): its UMEM and rings
 *           set up with the uapi headers alone; receiving loads a small
 *           XDP program that redirects every frame to the socket
 *
 * and one action per measurement:
 *
 *   tx    send frames of SIZE bytes to the stack as fast as the method
 *         allows until SIGINT or SIGTERM (or -t seconds), then print
 *         "sent N" (the stack's side is counted elsewhere, at a tc drop)
 *   rx    wait for the first frame from the stack, let the rate settle
 *         for -w seconds, count the frames received over -t seconds and
 *         print "pps N", or "error REASON"
 *   echo  answer ARP requests and ICMP echo requests for -a ADDR until
 *         SIGINT or SIGTERM
 *   idle  attach or open, then wait for packets that do not come, until
 *         SIGINT or SIGTERM
 *
 * -q N uses N queues of a kni device, one thread per queue; -c pins the
 * threads to CPUs. -B polls without sleeping (kni: kni_queue_set_busy();
 * tap: a non-blocking file). -r FILE is created once the method is set up
 * and ready for traffic.
 */

#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <getopt.h>
#include <net/if.h>
#include <netinet/in.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <time.h>
#include <unistd.h>
#include <linux/bpf.h>
#include <linux/if_arp.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/if_xdp.h>
#include <linux/ip.h>
#include <linux/udp.h>

#include "libkni.h"

#define ARRAY_SIZE(a)	(sizeof(a) / sizeof(*(a)))

#define MAX_THREADS	8
#define MAX_BURST	256
#define BUF_SIZE	2048
#define FIRST_WAIT_SEC	20	/* for the first frame from the stack */
#define WAIT_MS		100	/* longest sleep, to see the stop flag */

/* AF_PACKET rings */
#define PKT_TX_FRAMES	512
#define PKT_FRAME_SIZE	2048
#define PKT_BLOCK_SIZE	65536
#define PKT_BLOCKS	64

/* AF_XDP */
#define XSK_FRAMES	4096
#define XSK_FRAME_SIZE	2048
#define XSK_RING	2048

static const char usage[] =
"usage: kni-bench METHOD-ACTION -i DEV [options]\n"
"\n"
"METHOD: kni, tap, packet or xdp; ACTION: tx, rx, echo or idle\n"
"(echo and idle for kni and tap only).\n"
"\n"
"  -i DEV    the device: kni (existing), tap (created), packet and xdp\n"
"            (an existing device, e.g. one end of a veth pair)\n"
"  -s SIZE   frame size in bytes for tx, Ethernet header included, FCS\n"
"            not (default 64)\n"
"  -b BURST  frames per call (kni and xdp; default 32)\n"
"  -q N      kni queues, one thread each (default 1)\n"
"  -c LIST   CPUs for the threads, comma-separated, used in turn\n"
"  -B        busy mode: poll without sleeping\n"
"  -n        tap: IFF_NAPI\n"
"  -t SEC    rx: the measured window (default 3); tx: stop after SEC\n"
"  -w SEC    rx: warm-up after the first frame (default 1)\n"
"  -a ADDR   echo: the IPv4 address to answer for\n"
"  -r FILE   create FILE once ready for traffic\n";

enum method { M_KNI, M_TAP, M_PACKET, M_XDP };
enum action { A_TX, A_RX, A_ECHO, A_IDLE };

struct opts {
	enum method method;
	enum action action;
	const char *dev;
	unsigned int size;
	unsigned int burst;
	unsigned int queues;
	int cpus[MAX_THREADS];
	unsigned int ncpus;
	bool busy;
	bool napi;
	double seconds;
	double warmup;
	struct in_addr addr;
	const char *ready;
};

struct pkt {
	void *data;
	unsigned int len;
};

struct port;
typedef void (*rx_cb)(void *arg, const void *data, unsigned int len);

/* What a method does; tx and rx return packets moved or -errno. */
struct port_ops {
	int (*tx)(struct port *p, const struct pkt *pkts, unsigned int n);
	int (*rx)(struct port *p, unsigned int n, rx_cb cb, void *arg);
	/* Sleep until the port may have work, at most ms milliseconds. */
	void (*wait)(struct port *p, bool for_tx, int ms);
	void (*close)(struct port *p);
};

struct pkt_v3 {
	unsigned char *map;
	size_t map_len;
	unsigned int block;
};

struct pkt_v2 {
	unsigned char *map;
	size_t map_len;
	unsigned int head;
};

struct xsk_ring {
	__u32 *producer;
	__u32 *consumer;
	void *desc;
	__u32 size;
	__u32 cached_prod;
	__u32 cached_cons;
	void *map;
	size_t map_len;
};

struct xsk {
	unsigned char *umem;
	size_t umem_len;
	struct xsk_ring fill, comp, rx, tx;
	__u64 free_addr[XSK_FRAMES];
	unsigned int nfree;
	int prog_fd, map_fd, link_fd;
};

struct port {
	const struct port_ops *ops;
	int fd;
	int ifindex;
	bool busy;
	struct kni_queue *q;
	struct kni_buf bufs[MAX_BURST];
	unsigned char *rxbuf;		/* MAX_BURST * BUF_SIZE */
	union {
		struct pkt_v2 v2;
		struct pkt_v3 v3;
		struct xsk *xsk;
	};
};

struct worker {
	pthread_t thread;
	struct port port;
	const struct opts *o;
	int cpu;
	unsigned long long count;
	int err;
};

/* Set by a signal or when the measurement ends; threads poll it. */
static int stop;

static void die(const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	printf("error ");
	vprintf(fmt, ap);
	printf("\n");
	va_end(ap);
	exit(1);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

static bool stopped(void)
{
	return __atomic_load_n(&stop, __ATOMIC_RELAXED);
}

static void sleep_sec(double s)
{
	struct timespec ts = {
		.tv_sec = (time_t)s,
		.tv_nsec = (long)((s - (time_t)s) * 1e9),
	};

	while (nanosleep(&ts, &ts) && errno == EINTR && !stopped())
		;
}

static void set_stop(void)
{
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
}

static void on_signal(int sig)
{
	(void)sig;
	set_stop();
}

static void poll_fd(int fd, short events, int ms)
{
	struct pollfd pfd = { .fd = fd, .events = events };

	poll(&pfd, 1, ms);
}

/* Frames */

static __u16 csum16(const void *data, unsigned int len, __u32 sum)
{
	const __u8 *p = data;

	while (len > 1) {
		sum += (p[0] << 8) | p[1];
		p += 2;
		len -= 2;
	}
	if (len)
		sum += p[0] << 8;
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return htons(~sum & 0xffff);
}

static const __u8 src_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
static const __u8 dst_mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x02 };

/*
 * An IPv4/UDP frame of size bytes, from 10.99.0.1 to 10.99.0.2, port 9 to
 * port 9, without a UDP checksum, so that the stack's GRO parses it but
 * finds nothing to merge.
 */
static void build_udp(__u8 *buf, unsigned int size)
{
	struct ethhdr *eth = (struct ethhdr *)buf;
	struct iphdr *ip = (struct iphdr *)(eth + 1);
	struct udphdr *udp = (struct udphdr *)(ip + 1);

	memset(buf, 0, size);
	memcpy(eth->h_dest, dst_mac, ETH_ALEN);
	memcpy(eth->h_source, src_mac, ETH_ALEN);
	eth->h_proto = htons(ETH_P_IP);
	ip->version = 4;
	ip->ihl = 5;
	ip->tot_len = htons(size - sizeof(*eth));
	ip->ttl = 64;
	ip->protocol = IPPROTO_UDP;
	ip->saddr = htonl(0x0a630001);
	ip->daddr = htonl(0x0a630002);
	ip->check = csum16(ip, sizeof(*ip), 0);
	udp->source = htons(9);
	udp->dest = htons(9);
	udp->len = htons(size - sizeof(*eth) - sizeof(*ip));
}

/* kni */

static int kni_tx(struct port *p, const struct pkt *pkts, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		p->bufs[i].data = pkts[i].data;
		p->bufs[i].len = pkts[i].len;
		p->bufs[i].flags = 0;
	}
	return kni_send_burst(p->q, p->bufs, n);
}

static int kni_rx(struct port *p, unsigned int n, rx_cb cb, void *arg)
{
	unsigned int i;
	int ret;

	for (i = 0; i < n; i++) {
		p->bufs[i].data = p->rxbuf + i * BUF_SIZE;
		p->bufs[i].len = BUF_SIZE;
	}
	ret = kni_recv_burst(p->q, p->bufs, n);
	for (i = 0; cb && ret > 0 && i < (unsigned int)ret; i++)
		cb(arg, p->bufs[i].data, p->bufs[i].len);
	return ret;
}

/*
 * The file is readable both for packets and for frames the kernel gives
 * back: waiting to send is waiting for it too.
 */
static void kni_wait(struct port *p, bool for_tx, int ms)
{
	(void)for_tx;
	poll_fd(p->fd, POLLIN, ms);
}

static void kni_close(struct port *p)
{
	kni_queue_detach(p->q);
}

static const struct port_ops kni_ops = {
	.tx	= kni_tx,
	.rx	= kni_rx,
	.wait	= kni_wait,
	.close	= kni_close,
};

static void kni_open(struct port *p, const char *dev, unsigned int queue,
		     bool busy)
{
	int ifindex, err;

	ifindex = kni_dev_ifindex(dev);
	if (ifindex < 0)
		die("%s: %s", dev, kni_strerror(ifindex));
	err = kni_queue_attach(&p->q, ifindex, queue, NULL);
	if (err)
		die("attach %s queue %u: %s", dev, queue, kni_strerror(err));
	if (busy) {
		err = kni_queue_set_busy(p->q, true);
		if (err)
			die("busy mode: %s", kni_strerror(err));
	}
	if (queue == 0) {
		err = kni_queue_set_carrier(p->q, true);
		if (err)
			die("carrier: %s", kni_strerror(err));
	}
	p->fd = kni_queue_fd(p->q);
	p->ops = &kni_ops;
}

/* tap */

static int tap_tx(struct port *p, const struct pkt *pkts, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++) {
		if (write(p->fd, pkts[i].data, pkts[i].len) < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -errno;
		}
	}
	return i;
}

static int tap_rx(struct port *p, unsigned int n, rx_cb cb, void *arg)
{
	unsigned int i;
	ssize_t len;

	for (i = 0; i < n; i++) {
		len = read(p->fd, p->rxbuf, BUF_SIZE);
		if (len < 0) {
			if (errno == EAGAIN || errno == EINTR)
				break;
			return -errno;
		}
		if (cb)
			cb(arg, p->rxbuf, len);
	}
	return i;
}

static void tap_wait(struct port *p, bool for_tx, int ms)
{
	poll_fd(p->fd, for_tx ? POLLOUT : POLLIN, ms);
}

static void tap_close(struct port *p)
{
	close(p->fd);
}

static const struct port_ops tap_ops = {
	.tx	= tap_tx,
	.rx	= tap_rx,
	.wait	= tap_wait,
	.close	= tap_close,
};

static void set_up(const char *dev)
{
	struct ifreq ifr = {};
	int fd;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		die("socket: %s", strerror(errno));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
	if (ioctl(fd, SIOCGIFFLAGS, &ifr))
		die("%s: %s", dev, strerror(errno));
	ifr.ifr_flags |= IFF_UP;
	if (ioctl(fd, SIOCSIFFLAGS, &ifr))
		die("%s up: %s", dev, strerror(errno));
	close(fd);
}

static void tap_open(struct port *p, const char *dev, bool napi)
{
	struct ifreq ifr = {};

	p->fd = open("/dev/net/tun", O_RDWR | O_NONBLOCK);
	if (p->fd < 0)
		die("/dev/net/tun: %s", strerror(errno));
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", dev);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (napi ? IFF_NAPI : 0);
	if (ioctl(p->fd, TUNSETIFF, &ifr))
		die("TUNSETIFF %s: %s", dev, strerror(errno));
	set_up(dev);
	p->ops = &tap_ops;
}

/* AF_PACKET */

static int if_index(const char *dev)
{
	int ifindex = if_nametoindex(dev);

	if (!ifindex)
		die("%s: %s", dev, strerror(errno));
	return ifindex;
}

static int packet_socket(int ifindex, int proto)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(proto),
		.sll_ifindex = ifindex,
	};
	int fd;

	fd = socket(AF_PACKET, SOCK_RAW, htons(proto));
	if (fd < 0)
		die("AF_PACKET socket: %s", strerror(errno));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll)))
		die("AF_PACKET bind: %s", strerror(errno));
	return fd;
}

/* Fill free slots of the TPACKET_V2 tx ring, then have the kernel send. */
static int packet_tx(struct port *p, const struct pkt *pkts, unsigned int n)
{
	const unsigned int data_off = TPACKET2_HDRLEN -
				      sizeof(struct sockaddr_ll);
	unsigned int i;

	for (i = 0; i < n; i++) {
		struct tpacket2_hdr *hdr = (struct tpacket2_hdr *)
			(p->v2.map + p->v2.head * PKT_FRAME_SIZE);

		if (__atomic_load_n(&hdr->tp_status, __ATOMIC_ACQUIRE) !=
		    TP_STATUS_AVAILABLE)
			break;
		memcpy((__u8 *)hdr + data_off, pkts[i].data, pkts[i].len);
		hdr->tp_len = pkts[i].len;
		__atomic_store_n(&hdr->tp_status, TP_STATUS_SEND_REQUEST,
				 __ATOMIC_RELEASE);
		p->v2.head = (p->v2.head + 1) % PKT_TX_FRAMES;
	}
	if (i && send(p->fd, NULL, 0, MSG_DONTWAIT) < 0 &&
	    errno != EAGAIN && errno != ENOBUFS && errno != EINTR)
		return -errno;
	return i;
}

/* Walk the TPACKET_V3 rx ring's blocks the kernel handed over. */
static int packet_rx(struct port *p, unsigned int n, rx_cb cb, void *arg)
{
	int count = 0;

	(void)n;
	for (;;) {
		struct tpacket_block_desc *bd = (struct tpacket_block_desc *)
			(p->v3.map + p->v3.block * PKT_BLOCK_SIZE);
		struct tpacket3_hdr *hdr;
		unsigned int i, num;

		if (!(__atomic_load_n(&bd->hdr.bh1.block_status,
				      __ATOMIC_ACQUIRE) & TP_STATUS_USER))
			break;
		num = bd->hdr.bh1.num_pkts;
		hdr = (struct tpacket3_hdr *)((__u8 *)bd +
					      bd->hdr.bh1.offset_to_first_pkt);
		for (i = 0; i < num; i++) {
			if (cb)
				cb(arg, (__u8 *)hdr + hdr->tp_mac,
				   hdr->tp_snaplen);
			hdr = (struct tpacket3_hdr *)((__u8 *)hdr +
						      hdr->tp_next_offset);
		}
		count += num;
		__atomic_store_n(&bd->hdr.bh1.block_status, TP_STATUS_KERNEL,
				 __ATOMIC_RELEASE);
		p->v3.block = (p->v3.block + 1) % PKT_BLOCKS;
		if (count >= MAX_BURST)
			break;
	}
	return count;
}

static void packet_wait(struct port *p, bool for_tx, int ms)
{
	poll_fd(p->fd, for_tx ? POLLOUT : POLLIN, ms);
}

static void packet_close(struct port *p)
{
	munmap(p->v2.map, p->v2.map_len);
	close(p->fd);
}

static const struct port_ops packet_ops = {
	.tx	= packet_tx,
	.rx	= packet_rx,
	.wait	= packet_wait,
	.close	= packet_close,
};

static void packet_open(struct port *p, const char *dev, bool tx)
{
	int ver = tx ? TPACKET_V2 : TPACKET_V3;
	size_t len;

	p->ifindex = if_index(dev);
	/* A sending socket binds to no protocol: it receives nothing. */
	p->fd = packet_socket(p->ifindex, tx ? 0 : ETH_P_ALL);
	if (setsockopt(p->fd, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)))
		die("PACKET_VERSION: %s", strerror(errno));
	if (tx) {
		struct tpacket_req req = {
			.tp_block_size = PKT_FRAME_SIZE * 16,
			.tp_block_nr = PKT_TX_FRAMES / 16,
			.tp_frame_size = PKT_FRAME_SIZE,
			.tp_frame_nr = PKT_TX_FRAMES,
		};

		if (setsockopt(p->fd, SOL_PACKET, PACKET_TX_RING, &req,
			       sizeof(req)))
			die("PACKET_TX_RING: %s", strerror(errno));
		len = (size_t)PKT_TX_FRAMES * PKT_FRAME_SIZE;
	} else {
		struct tpacket_req3 req = {
			.tp_block_size = PKT_BLOCK_SIZE,
			.tp_block_nr = PKT_BLOCKS,
			.tp_frame_size = PKT_FRAME_SIZE,
			.tp_frame_nr = PKT_BLOCKS *
				       (PKT_BLOCK_SIZE / PKT_FRAME_SIZE),
			.tp_retire_blk_tov = 1,
		};

		if (setsockopt(p->fd, SOL_PACKET, PACKET_RX_RING, &req,
			       sizeof(req)))
			die("PACKET_RX_RING: %s", strerror(errno));
		len = (size_t)PKT_BLOCKS * PKT_BLOCK_SIZE;
	}
	p->v2.map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED,
			 p->fd, 0);
	if (p->v2.map == MAP_FAILED)
		die("mmap of the packet ring: %s", strerror(errno));
	p->v2.map_len = len;
	p->ops = &packet_ops;
}

/* AF_XDP */

static long sys_bpf(int cmd, union bpf_attr *attr)
{
	return syscall(__NR_bpf, cmd, attr, sizeof(*attr));
}

static void xsk_map_ring(int fd, struct xsk_ring *r, const struct xdp_ring_offset *off,
			 __u64 pgoff, size_t desc_size, __u32 size)
{
	r->map_len = off->desc + size * desc_size;
	r->map = mmap(NULL, r->map_len, PROT_READ | PROT_WRITE,
		      MAP_SHARED | MAP_POPULATE, fd, pgoff);
	if (r->map == MAP_FAILED)
		die("mmap of an AF_XDP ring: %s", strerror(errno));
	r->producer = (__u32 *)((__u8 *)r->map + off->producer);
	r->consumer = (__u32 *)((__u8 *)r->map + off->consumer);
	r->desc = (__u8 *)r->map + off->desc;
	r->size = size;
}

/* Entries userspace may produce on a ring the kernel consumes. */
static __u32 xsk_prod_room(struct xsk_ring *r)
{
	r->cached_cons = __atomic_load_n(r->consumer, __ATOMIC_ACQUIRE);
	return r->size - (r->cached_prod - r->cached_cons);
}

static void xsk_prod_submit(struct xsk_ring *r)
{
	__atomic_store_n(r->producer, r->cached_prod, __ATOMIC_RELEASE);
}

/* Entries ready on a ring the kernel produces. */
static __u32 xsk_cons_avail(struct xsk_ring *r)
{
	r->cached_prod = __atomic_load_n(r->producer, __ATOMIC_ACQUIRE);
	return r->cached_prod - r->cached_cons;
}

static void xsk_cons_release(struct xsk_ring *r)
{
	__atomic_store_n(r->consumer, r->cached_cons, __ATOMIC_RELEASE);
}

static void xsk_reap(struct xsk *x)
{
	__u64 *addr = x->comp.desc;
	__u32 n = xsk_cons_avail(&x->comp);

	while (n--) {
		x->free_addr[x->nfree++] =
			addr[x->comp.cached_cons++ & (x->comp.size - 1)];
	}
	xsk_cons_release(&x->comp);
}

static int xdp_tx(struct port *p, const struct pkt *pkts, unsigned int n)
{
	struct xdp_desc *desc = p->xsk->tx.desc;
	struct xsk *x = p->xsk;
	unsigned int i, room;

	xsk_reap(x);
	room = xsk_prod_room(&x->tx);
	for (i = 0; i < n && i < room && x->nfree; i++) {
		__u64 addr = x->free_addr[--x->nfree];
		struct xdp_desc *d;

		memcpy(x->umem + addr, pkts[i].data, pkts[i].len);
		d = &desc[x->tx.cached_prod++ & (x->tx.size - 1)];
		d->addr = addr;
		d->len = pkts[i].len;
		d->options = 0;
	}
	if (i)
		xsk_prod_submit(&x->tx);
	/* Copy mode sends in the syscall, up to 32 frames per call. */
	if (sendto(p->fd, NULL, 0, MSG_DONTWAIT, NULL, 0) < 0 &&
	    errno != EAGAIN && errno != EBUSY && errno != ENOBUFS &&
	    errno != EINTR)
		return -errno;
	return i;
}

static int xdp_rx(struct port *p, unsigned int n, rx_cb cb, void *arg)
{
	struct xdp_desc *desc = p->xsk->rx.desc;
	struct xsk *x = p->xsk;
	__u64 *fill = x->fill.desc;
	__u32 avail, i;

	avail = xsk_cons_avail(&x->rx);
	if (avail > n)
		avail = n;
	if (!avail)
		return 0;
	/* The fill ring has room for every frame the rx ring holds. */
	xsk_prod_room(&x->fill);
	for (i = 0; i < avail; i++) {
		struct xdp_desc *d =
			&desc[x->rx.cached_cons++ & (x->rx.size - 1)];

		if (cb)
			cb(arg, x->umem + d->addr, d->len);
		fill[x->fill.cached_prod++ & (x->fill.size - 1)] =
			d->addr & ~(__u64)(XSK_FRAME_SIZE - 1);
	}
	xsk_cons_release(&x->rx);
	xsk_prod_submit(&x->fill);
	return avail;
}

static void xdp_wait(struct port *p, bool for_tx, int ms)
{
	poll_fd(p->fd, for_tx ? POLLOUT : POLLIN, ms);
}

static void xdp_close(struct port *p)
{
	struct xsk *x = p->xsk;

	if (x->link_fd >= 0)
		close(x->link_fd);
	close(p->fd);
	if (x->prog_fd >= 0)
		close(x->prog_fd);
	if (x->map_fd >= 0)
		close(x->map_fd);
	munmap(x->fill.map, x->fill.map_len);
	munmap(x->comp.map, x->comp.map_len);
	if (x->rx.map)
		munmap(x->rx.map, x->rx.map_len);
	if (x->tx.map)
		munmap(x->tx.map, x->tx.map_len);
	munmap(x->umem, x->umem_len);
	free(x);
}

static const struct port_ops xdp_ops = {
	.tx	= xdp_tx,
	.rx	= xdp_rx,
	.wait	= xdp_wait,
	.close	= xdp_close,
};

/*
 * The XDP program: redirect every frame to the socket of its rx queue in
 * the XSKMAP, and pass it to the stack when there is none:
 *
 *	r2 = *(u32 *)(r1 + offsetof(struct xdp_md, rx_queue_index))
 *	r1 = map_fd ll
 *	r3 = XDP_PASS
 *	call bpf_redirect_map
 *	exit
 */
static int xdp_prog_load(int map_fd, char *log, size_t log_len)
{
	struct bpf_insn insns[] = {
		{ .code = BPF_LDX | BPF_MEM | BPF_W, .dst_reg = BPF_REG_2,
		  .src_reg = BPF_REG_1,
		  .off = offsetof(struct xdp_md, rx_queue_index) },
		{ .code = BPF_LD | BPF_DW | BPF_IMM, .dst_reg = BPF_REG_1,
		  .src_reg = BPF_PSEUDO_MAP_FD, .imm = map_fd },
		{ .code = 0 },
		{ .code = BPF_ALU64 | BPF_MOV | BPF_K, .dst_reg = BPF_REG_3,
		  .imm = XDP_PASS },
		{ .code = BPF_JMP | BPF_CALL, .imm = BPF_FUNC_redirect_map },
		{ .code = BPF_JMP | BPF_EXIT },
	};
	static const char license[] = "GPL";
	union bpf_attr attr;

	memset(&attr, 0, sizeof(attr));
	attr.prog_type = BPF_PROG_TYPE_XDP;
	attr.expected_attach_type = BPF_XDP;
	attr.insns = (__u64)(unsigned long)insns;
	attr.insn_cnt = ARRAY_SIZE(insns);
	attr.license = (__u64)(unsigned long)license;
	attr.log_buf = (__u64)(unsigned long)log;
	attr.log_size = log_len;
	attr.log_level = 1;
	return sys_bpf(BPF_PROG_LOAD, &attr);
}

/* Load the redirect program, attach it through a link, add the socket. */
static void xdp_attach(struct port *p)
{
	struct xsk *x = p->xsk;
	union bpf_attr attr;
	char log[4096] = "";
	__u32 key = 0;
	int val = p->fd;

	memset(&attr, 0, sizeof(attr));
	attr.map_type = BPF_MAP_TYPE_XSKMAP;
	attr.key_size = sizeof(__u32);
	attr.value_size = sizeof(int);
	attr.max_entries = 1;
	x->map_fd = sys_bpf(BPF_MAP_CREATE, &attr);
	if (x->map_fd < 0)
		die("XSKMAP: %s", strerror(errno));
	x->prog_fd = xdp_prog_load(x->map_fd, log, sizeof(log));
	if (x->prog_fd < 0)
		die("XDP program: %s: %s", strerror(errno), log);

	memset(&attr, 0, sizeof(attr));
	attr.link_create.prog_fd = x->prog_fd;
	attr.link_create.target_ifindex = p->ifindex;
	attr.link_create.attach_type = BPF_XDP;
	attr.link_create.flags = XDP_FLAGS_DRV_MODE;
	x->link_fd = sys_bpf(BPF_LINK_CREATE, &attr);
	if (x->link_fd < 0) {
		fprintf(stderr, "kni-bench: native XDP: %s; generic XDP\n",
			strerror(errno));
		attr.link_create.flags = XDP_FLAGS_SKB_MODE;
		x->link_fd = sys_bpf(BPF_LINK_CREATE, &attr);
		if (x->link_fd < 0)
			die("XDP link: %s", strerror(errno));
	}

	memset(&attr, 0, sizeof(attr));
	attr.map_fd = x->map_fd;
	attr.key = (__u64)(unsigned long)&key;
	attr.value = (__u64)(unsigned long)&val;
	if (sys_bpf(BPF_MAP_UPDATE_ELEM, &attr))
		die("XSKMAP update: %s", strerror(errno));
}

static void xdp_open(struct port *p, const char *dev, bool tx)
{
	struct xdp_umem_reg reg = {};
	struct sockaddr_xdp sxdp = {};
	struct xdp_mmap_offsets off;
	socklen_t optlen = sizeof(off);
	__u32 ring = XSK_RING;
	struct xsk *x;
	unsigned int i;

	x = calloc(1, sizeof(*x));
	if (!x)
		die("out of memory");
	x->prog_fd = -1;
	x->map_fd = -1;
	x->link_fd = -1;
	p->xsk = x;
	p->ifindex = if_index(dev);
	p->fd = socket(AF_XDP, SOCK_RAW, 0);
	if (p->fd < 0)
		die("AF_XDP socket: %s", strerror(errno));

	x->umem_len = (size_t)XSK_FRAMES * XSK_FRAME_SIZE;
	x->umem = mmap(NULL, x->umem_len, PROT_READ | PROT_WRITE,
		       MAP_PRIVATE | MAP_ANONYMOUS | MAP_POPULATE, -1, 0);
	if (x->umem == MAP_FAILED)
		die("UMEM: %s", strerror(errno));
	reg.addr = (__u64)(unsigned long)x->umem;
	reg.len = x->umem_len;
	reg.chunk_size = XSK_FRAME_SIZE;
	if (setsockopt(p->fd, SOL_XDP, XDP_UMEM_REG, &reg, sizeof(reg)))
		die("XDP_UMEM_REG: %s", strerror(errno));
	if (setsockopt(p->fd, SOL_XDP, XDP_UMEM_FILL_RING, &ring,
		       sizeof(ring)) ||
	    setsockopt(p->fd, SOL_XDP, XDP_UMEM_COMPLETION_RING, &ring,
		       sizeof(ring)) ||
	    setsockopt(p->fd, SOL_XDP, tx ? XDP_TX_RING : XDP_RX_RING, &ring,
		       sizeof(ring)))
		die("AF_XDP ring sizes: %s", strerror(errno));
	if (getsockopt(p->fd, SOL_XDP, XDP_MMAP_OFFSETS, &off, &optlen))
		die("XDP_MMAP_OFFSETS: %s", strerror(errno));
	xsk_map_ring(p->fd, &x->fill, &off.fr, XDP_UMEM_PGOFF_FILL_RING,
		     sizeof(__u64), ring);
	xsk_map_ring(p->fd, &x->comp, &off.cr, XDP_UMEM_PGOFF_COMPLETION_RING,
		     sizeof(__u64), ring);
	if (tx)
		xsk_map_ring(p->fd, &x->tx, &off.tx, XDP_PGOFF_TX_RING,
			     sizeof(struct xdp_desc), ring);
	else
		xsk_map_ring(p->fd, &x->rx, &off.rx, XDP_PGOFF_RX_RING,
			     sizeof(struct xdp_desc), ring);

	/* Half the frames for the fill ring (rx), all of them free (tx). */
	if (tx) {
		for (i = 0; i < XSK_FRAMES; i++)
			x->free_addr[x->nfree++] = (__u64)i * XSK_FRAME_SIZE;
	} else {
		__u64 *fill = x->fill.desc;

		for (i = 0; i < ring; i++)
			fill[x->fill.cached_prod++] = (__u64)i * XSK_FRAME_SIZE;
		xsk_prod_submit(&x->fill);
	}

	sxdp.sxdp_family = AF_XDP;
	sxdp.sxdp_ifindex = p->ifindex;
	sxdp.sxdp_queue_id = 0;
	sxdp.sxdp_flags = XDP_COPY;
	if (bind(p->fd, (struct sockaddr *)&sxdp, sizeof(sxdp)))
		die("AF_XDP bind to %s in copy mode: %s", dev,
		    strerror(errno));
	if (!tx)
		xdp_attach(p);
	p->ops = &xdp_ops;
}

/* Echo: answer ARP and ICMP echo requests for one address */

struct echo {
	struct in_addr addr;
	__u8 mac[ETH_ALEN];
	struct pkt out[MAX_BURST];
	__u8 *outbuf;
	unsigned int n;
	unsigned long long answered;
};

struct arp_eth {
	struct arphdr hdr;
	__u8 sender_hw[ETH_ALEN];
	__u8 sender_ip[4];
	__u8 target_hw[ETH_ALEN];
	__u8 target_ip[4];
};

struct icmp_echo {
	__u8 type;
	__u8 code;
	__u16 check;
	__u16 id;
	__u16 seq;
};

static void echo_cb(void *arg, const void *data, unsigned int len)
{
	const struct ethhdr *eth = data;
	struct echo *e = arg;
	struct ethhdr *reth;
	__u8 *out;

	if (len < sizeof(*eth) || len > BUF_SIZE || e->n == MAX_BURST)
		return;
	out = e->outbuf + e->n * BUF_SIZE;
	reth = (struct ethhdr *)out;
	if (eth->h_proto == htons(ETH_P_ARP) &&
	    len >= sizeof(*eth) + sizeof(struct arp_eth)) {
		const struct arp_eth *req = (const void *)(eth + 1);
		struct arp_eth *rep = (void *)(reth + 1);

		if (req->hdr.ar_op != htons(ARPOP_REQUEST) ||
		    memcmp(req->target_ip, &e->addr, 4))
			return;
		memcpy(reth->h_dest, eth->h_source, ETH_ALEN);
		memcpy(reth->h_source, e->mac, ETH_ALEN);
		reth->h_proto = htons(ETH_P_ARP);
		rep->hdr = req->hdr;
		rep->hdr.ar_op = htons(ARPOP_REPLY);
		memcpy(rep->sender_hw, e->mac, ETH_ALEN);
		memcpy(rep->sender_ip, &e->addr, 4);
		memcpy(rep->target_hw, req->sender_hw, ETH_ALEN);
		memcpy(rep->target_ip, req->sender_ip, 4);
		e->out[e->n].data = out;
		e->out[e->n].len = sizeof(*reth) + sizeof(*rep);
		e->n++;
	} else if (eth->h_proto == htons(ETH_P_IP) &&
		   len >= sizeof(*eth) + sizeof(struct iphdr) +
			  sizeof(struct icmp_echo)) {
		const struct iphdr *ip = (const void *)(eth + 1);
		unsigned int ihl = ip->ihl * 4, tot = ntohs(ip->tot_len);
		struct icmp_echo *icmp;
		struct iphdr *rip;

		if (ip->protocol != IPPROTO_ICMP || ip->daddr != e->addr.s_addr ||
		    ihl < sizeof(*ip) || tot < ihl + sizeof(*icmp) ||
		    sizeof(*eth) + tot > len)
			return;
		icmp = (struct icmp_echo *)((__u8 *)ip + ihl);
		if (icmp->type != 8 || icmp->code)
			return;
		memcpy(out, data, sizeof(*eth) + tot);
		memcpy(reth->h_dest, eth->h_source, ETH_ALEN);
		memcpy(reth->h_source, e->mac, ETH_ALEN);
		rip = (struct iphdr *)(reth + 1);
		rip->saddr = ip->daddr;
		rip->daddr = ip->saddr;
		icmp = (struct icmp_echo *)((__u8 *)rip + ihl);
		icmp->type = 0;
		icmp->check = 0;
		icmp->check = csum16(icmp, tot - ihl, 0);
		e->out[e->n].data = out;
		e->out[e->n].len = sizeof(*eth) + tot;
		e->n++;
	}
}

/* Threads */

static void pin(int cpu)
{
	cpu_set_t set;

	if (cpu < 0)
		return;
	CPU_ZERO(&set);
	CPU_SET(cpu, &set);
	if (pthread_setaffinity_np(pthread_self(), sizeof(set), &set))
		fprintf(stderr, "kni-bench: cannot run on CPU %d only\n", cpu);
}

static void add_count(struct worker *w, unsigned int n)
{
	__atomic_store_n(&w->count, w->count + n, __ATOMIC_RELAXED);
}

static void *tx_thread(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	struct pkt pkts[MAX_BURST];
	struct port *p = &w->port;
	unsigned int i;
	__u8 *frame;
	int n;

	pin(w->cpu);
	frame = calloc(1, BUF_SIZE);
	if (!frame) {
		w->err = -ENOMEM;
		return NULL;
	}
	build_udp(frame, o->size);
	for (i = 0; i < o->burst; i++) {
		pkts[i].data = frame;
		pkts[i].len = o->size;
	}
	while (!stopped()) {
		n = p->ops->tx(p, pkts, o->burst);
		if (n < 0) {
			w->err = n;
			break;
		}
		add_count(w, n);
		if ((unsigned int)n < o->burst) {
			/* Frames the stack sent on the device would pile up. */
			if (o->method == M_KNI)
				p->ops->rx(p, MAX_BURST, NULL, NULL);
			if (!p->busy)
				p->ops->wait(p, true, WAIT_MS);
		}
	}
	free(frame);
	return NULL;
}

static void *rx_thread(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	struct port *p = &w->port;
	int n;

	pin(w->cpu);
	while (!stopped()) {
		n = p->ops->rx(p, o->burst, NULL, NULL);
		if (n < 0) {
			w->err = n;
			break;
		}
		add_count(w, n);
		if (!n && !p->busy)
			p->ops->wait(p, false, WAIT_MS);
	}
	return NULL;
}

static void *echo_thread(void *arg)
{
	struct worker *w = arg;
	const struct opts *o = w->o;
	struct port *p = &w->port;
	struct echo e = { .addr = o->addr };
	unsigned int done;
	int n;

	pin(w->cpu);
	memcpy(e.mac, dst_mac, ETH_ALEN);
	e.outbuf = malloc((size_t)MAX_BURST * BUF_SIZE);
	if (!e.outbuf) {
		w->err = -ENOMEM;
		return NULL;
	}
	while (!stopped()) {
		e.n = 0;
		n = p->ops->rx(p, o->burst, echo_cb, &e);
		if (n < 0) {
			w->err = n;
			break;
		}
		for (done = 0; done < e.n && !stopped(); ) {
			n = p->ops->tx(p, e.out + done, e.n - done);
			if (n < 0) {
				w->err = n;
				break;
			}
			done += n;
			if (done < e.n && !p->busy)
				p->ops->wait(p, true, WAIT_MS);
		}
		e.answered += done;
		add_count(w, done);
		if (!e.n && !p->busy)
			p->ops->wait(p, false, WAIT_MS);
	}
	free(e.outbuf);
	return NULL;
}

static void *idle_thread(void *arg)
{
	struct worker *w = arg;
	struct port *p = &w->port;

	pin(w->cpu);
	while (!stopped()) {
		if (p->ops->rx(p, MAX_BURST, NULL, NULL) < 0)
			break;
		p->ops->wait(p, false, 1000);
	}
	return NULL;
}

static unsigned long long total(struct worker *w, unsigned int n)
{
	unsigned long long sum = 0;
	unsigned int i;

	for (i = 0; i < n; i++)
		sum += __atomic_load_n(&w[i].count, __ATOMIC_RELAXED);
	return sum;
}

static int worker_error(struct worker *w, unsigned int n)
{
	unsigned int i;

	for (i = 0; i < n; i++)
		if (w[i].err)
			return w[i].err;
	return 0;
}

/*
 * rx: the window opens -w seconds after the first frame and lasts -t
 * seconds; the rate is what all threads counted in it.
 */
static int measure_rx(const struct opts *o, struct worker *w, unsigned int n)
{
	unsigned long long c0, c1;
	double deadline, t0, t1;
	int err;

	deadline = now() + FIRST_WAIT_SEC;
	while (!total(w, n) && !worker_error(w, n) && now() < deadline &&
	       !stopped())
		sleep_sec(0.01);
	err = worker_error(w, n);
	if (err) {
		printf("error %s\n", strerror(-err));
		return 1;
	}
	if (!total(w, n)) {
		printf("error no frame from the stack within %d s\n",
		       FIRST_WAIT_SEC);
		return 1;
	}
	sleep_sec(o->warmup);
	c0 = total(w, n);
	t0 = now();
	sleep_sec(o->seconds);
	c1 = total(w, n);
	t1 = now();
	err = worker_error(w, n);
	if (err) {
		printf("error %s\n", strerror(-err));
		return 1;
	}
	printf("pps %.1f\n", (c1 - c0) / (t1 - t0));
	fprintf(stderr, "kni-bench: %llu frames in %.3f s, %llu in all\n",
		c1 - c0, t1 - t0, c1);
	return 0;
}

/* tx, echo, idle: until a signal (or -t seconds for tx). */
static int wait_stop(const struct opts *o, struct worker *w, unsigned int n)
{
	double end = o->seconds > 0 ? now() + o->seconds : 0;
	int err;

	while (!stopped() && !worker_error(w, n) && (!end || now() < end))
		sleep_sec(0.05);
	err = worker_error(w, n);
	if (err) {
		printf("error %s\n", strerror(-err));
		return 1;
	}
	return 0;
}

static void parse_cpus(struct opts *o, char *list)
{
	char *tok, *save = NULL;

	for (tok = strtok_r(list, ",", &save); tok && o->ncpus < MAX_THREADS;
	     tok = strtok_r(NULL, ",", &save))
		o->cpus[o->ncpus++] = atoi(tok);
}

static void parse_mode(struct opts *o, const char *mode)
{
	static const char *const methods[] = {
		[M_KNI] = "kni", [M_TAP] = "tap", [M_PACKET] = "packet",
		[M_XDP] = "xdp",
	};
	static const char *const actions[] = {
		[A_TX] = "tx", [A_RX] = "rx", [A_ECHO] = "echo",
		[A_IDLE] = "idle",
	};
	const char *dash = strchr(mode, '-');
	unsigned int i, j;

	for (i = 0; dash && i < ARRAY_SIZE(methods); i++) {
		if (strncmp(mode, methods[i], dash - mode) ||
		    methods[i][dash - mode])
			continue;
		for (j = 0; j < ARRAY_SIZE(actions); j++) {
			if (strcmp(dash + 1, actions[j]))
				continue;
			o->method = i;
			o->action = j;
			if (j >= A_ECHO && i >= M_PACKET)
				break;
			return;
		}
	}
	fprintf(stderr, "kni-bench: unknown mode '%s'\n\n%s", mode, usage);
	exit(2);
}

int main(int argc, char **argv)
{
	struct opts o = {
		.size = 64, .burst = 32, .queues = 1, .seconds = -1,
		.warmup = 1,
	};
	struct sigaction sa = { .sa_handler = on_signal };
	struct worker *w;
	void *(*fn)(void *arg);
	unsigned int i;
	int opt, ret;

	setvbuf(stdout, NULL, _IOLBF, 0);
	if (argc < 2 || argv[1][0] == '-') {
		fputs(usage, stderr);
		return 2;
	}
	parse_mode(&o, argv[1]);
	optind = 2;
	while ((opt = getopt(argc, argv, "i:s:b:q:c:Bnt:w:a:r:h")) != -1) {
		switch (opt) {
		case 'i':
			o.dev = optarg;
			break;
		case 's':
			o.size = atoi(optarg);
			break;
		case 'b':
			o.burst = atoi(optarg);
			break;
		case 'q':
			o.queues = atoi(optarg);
			break;
		case 'c':
			parse_cpus(&o, optarg);
			break;
		case 'B':
			o.busy = true;
			break;
		case 'n':
			o.napi = true;
			break;
		case 't':
			o.seconds = atof(optarg);
			break;
		case 'w':
			o.warmup = atof(optarg);
			break;
		case 'a':
			if (inet_pton(AF_INET, optarg, &o.addr) != 1)
				die("bad address '%s'", optarg);
			break;
		case 'r':
			o.ready = optarg;
			break;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!o.dev || o.size < 60 || o.size > BUF_SIZE || !o.burst ||
	    o.burst > MAX_BURST || !o.queues || o.queues > MAX_THREADS ||
	    (o.queues > 1 && o.method != M_KNI) ||
	    (o.action == A_ECHO && !o.addr.s_addr)) {
		fputs(usage, stderr);
		return 2;
	}
	if (o.action == A_RX && o.seconds <= 0)
		o.seconds = 3;

	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);

	w = calloc(o.queues, sizeof(*w));
	if (!w)
		die("out of memory");
	for (i = 0; i < o.queues; i++) {
		struct port *p = &w[i].port;

		w[i].o = &o;
		w[i].cpu = o.ncpus ? o.cpus[i % o.ncpus] : -1;
		p->busy = o.busy;
		p->rxbuf = malloc((size_t)MAX_BURST * BUF_SIZE);
		if (!p->rxbuf)
			die("out of memory");
		switch (o.method) {
		case M_KNI:
			kni_open(p, o.dev, i, o.busy);
			break;
		case M_TAP:
			tap_open(p, o.dev, o.napi);
			break;
		case M_PACKET:
			packet_open(p, o.dev, o.action == A_TX);
			break;
		case M_XDP:
			xdp_open(p, o.dev, o.action == A_TX);
			break;
		}
	}

	fn = o.action == A_TX ? tx_thread : o.action == A_RX ? rx_thread :
	     o.action == A_ECHO ? echo_thread : idle_thread;
	for (i = 0; i < o.queues; i++) {
		ret = pthread_create(&w[i].thread, NULL, fn, &w[i]);
		if (ret)
			die("thread: %s", strerror(ret));
	}
	if (o.ready) {
		int fd = open(o.ready, O_WRONLY | O_CREAT, 0644);

		if (fd < 0)
			die("%s: %s", o.ready, strerror(errno));
		close(fd);
	}

	ret = o.action == A_RX ? measure_rx(&o, w, o.queues) :
	      wait_stop(&o, w, o.queues);
	set_stop();
	for (i = 0; i < o.queues; i++)
		pthread_join(w[i].thread, NULL);
	/* Only now: a thread may have sent one more burst after the signal. */
	if (o.action == A_TX)
		printf("sent %llu\n", total(w, o.queues));
	else if (o.action == A_ECHO)
		fprintf(stderr, "kni-bench: answered %llu\n",
			total(w, o.queues));
	for (i = 0; i < o.queues; i++) {
		if (o.method == M_KNI) {
			KNI_OPTS(kni_queue_stats, st);

			kni_queue_stats(w[i].port.q, &st);
			fprintf(stderr,
				"kni-bench: queue %u: sent %llu dropped %llu received %llu kicks %llu bad %llu\n",
				i, st.sent, st.send_dropped, st.received,
				st.kicks, st.bad_desc);
		}
		w[i].port.ops->close(&w[i].port);
		free(w[i].port.rxbuf);
	}
	free(w);
	return ret;
}
