// SPDX-License-Identifier: GPL-2.0
/*
 * tap-fwd: the forwarding of kni-fwd with a TAP device where kni-fwd has
 * its kni device, for the bulk TCP figures of "make bench". The port side
 * is kni-fwd's: an AF_PACKET socket with TPACKET_V2 rx and tx rings of the
 * same sizes, and PACKET_VNET_HDR with -o. The TAP side is what a
 * dataplane on TAP does: read() and write() per packet, with a
 * virtio_net_hdr before every packet and the device's offloads turned on
 * (IFF_VNET_HDR, TUNSETOFFLOAD) with -o.
 *
 * A packet the TAP device gives is read straight into the port's tx slot:
 * with -o both put the same virtio_net_hdr before the packet. A packet on
 * the port's rx ring is written to the TAP device from the ring, its
 * virtio_net_hdr (-o) with it.
 *
 * Runs until SIGINT or SIGTERM, then prints its counters. No control
 * events, no VLAN tags (a tagged frame is counted and dropped), one queue:
 * only what the benchmark needs.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/if_tun.h>
#include <linux/virtio_net.h>

#define BURST		64
#define PKT_FRAMES	512	/* as kni-fwd */
#define PKT_FRAMES_BIG	64	/* as kni-fwd -o */
#define LEN_MAX		(65535 + 18)	/* KNI_CHAIN_LEN_MAX */
#define MTU_MAX		9000

static const char usage[] =
"usage: tap-fwd -p PORT -t TAP [-o]\n"
"\n"
"Forward packets between the network device PORT (AF_PACKET rings) and\n"
"the TAP device TAP (created, and set up), until SIGINT or SIGTERM.\n"
"\n"
"  -o  offloads: a virtio_net_hdr with every packet on both sides\n"
"      (PACKET_VNET_HDR, IFF_VNET_HDR), checksum and segmentation\n"
"      offloads on TAP\n";

struct ring {
	unsigned char *base;
	unsigned int frame_size;
	unsigned int frames;
	unsigned int head;
};

struct tfwd {
	int tap;
	int pkt;
	bool offload;
	size_t hdr;			/* virtio_net_hdr bytes per packet */
	struct ring rx;
	struct ring tx;
	unsigned long long port_rx, to_tap, dropped;
	unsigned long long from_tap, to_port, errors;
};

static int stop;

static void on_signal(int sig)
{
	(void)sig;
	__atomic_store_n(&stop, 1, __ATOMIC_RELAXED);
}

static int tap_open(struct tfwd *f, const char *name)
{
	unsigned int off = TUN_F_CSUM | TUN_F_TSO4 | TUN_F_TSO6 |
			   TUN_F_USO4 | TUN_F_USO6;
	struct ifreq ifr = {};
	int s, err;

	f->tap = open("/dev/net/tun", O_RDWR | O_NONBLOCK | O_CLOEXEC);
	if (f->tap < 0)
		return -errno;
	snprintf(ifr.ifr_name, IFNAMSIZ, "%s", name);
	ifr.ifr_flags = IFF_TAP | IFF_NO_PI | (f->offload ? IFF_VNET_HDR : 0);
	if (ioctl(f->tap, TUNSETIFF, &ifr))
		return -errno;
	if (f->offload && ioctl(f->tap, TUNSETOFFLOAD, off))
		return -errno;
	s = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (s < 0)
		return -errno;
	err = 0;
	if (ioctl(s, SIOCGIFFLAGS, &ifr)) {
		err = -errno;
	} else {
		ifr.ifr_flags |= IFF_UP;
		if (ioctl(s, SIOCSIFFLAGS, &ifr))
			err = -errno;
	}
	close(s);
	return err;
}

static int port_open(struct tfwd *f, const char *name)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)if_nametoindex(name),
	};
	unsigned int frames = f->offload ? PKT_FRAMES_BIG : PKT_FRAMES;
	unsigned int max = f->offload ? LEN_MAX + f->hdr : MTU_MAX + ETH_HLEN + 4;
	int ver = TPACKET_V2, one = 1;
	struct tpacket_req req = {};
	unsigned int fsz = 2048;
	size_t len;
	void *map;

	if (!sll.sll_ifindex)
		return -ENODEV;
	while (fsz < max + TPACKET_ALIGN(TPACKET2_HDRLEN) + 64)
		fsz <<= 1;
	req.tp_frame_size = fsz;
	req.tp_block_size = fsz < 65536 ? 65536 : fsz;
	req.tp_frame_nr = frames;
	req.tp_block_nr = frames / (req.tp_block_size / fsz);

	f->pkt = socket(AF_PACKET, SOCK_RAW | SOCK_CLOEXEC, 0);
	if (f->pkt < 0)
		return -errno;
	if ((f->offload &&
	     setsockopt(f->pkt, SOL_PACKET, PACKET_VNET_HDR, &one, sizeof(one))) ||
	    setsockopt(f->pkt, SOL_PACKET, PACKET_VERSION, &ver, sizeof(ver)) ||
	    setsockopt(f->pkt, SOL_PACKET, PACKET_IGNORE_OUTGOING, &one,
		       sizeof(one)) ||
	    setsockopt(f->pkt, SOL_PACKET, PACKET_LOSS, &one, sizeof(one)) ||
	    setsockopt(f->pkt, SOL_PACKET, PACKET_RX_RING, &req, sizeof(req)) ||
	    setsockopt(f->pkt, SOL_PACKET, PACKET_TX_RING, &req, sizeof(req)))
		return -errno;
	len = 2 * (size_t)req.tp_block_size * req.tp_block_nr;
	map = mmap(NULL, len, PROT_READ | PROT_WRITE, MAP_SHARED, f->pkt, 0);
	if (map == MAP_FAILED)
		return -errno;
	f->rx = (struct ring){ .base = map, .frame_size = fsz, .frames = frames };
	f->tx = f->rx;
	f->tx.base += len / 2;
	if (bind(f->pkt, (struct sockaddr *)&sll, sizeof(sll)))
		return -errno;
	return 0;
}

static struct tpacket2_hdr *slot(struct ring *r, unsigned int i)
{
	return (struct tpacket2_hdr *)(r->base +
				       (size_t)((r->head + i) % r->frames) *
				       r->frame_size);
}

/* Port to TAP: one write() per packet, from the ring. */
static int port_to_tap(struct tfwd *f)
{
	int n;

	for (n = 0; n < BURST; n++) {
		struct tpacket2_hdr *h = slot(&f->rx, 0);
		__u32 status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
		const unsigned char *data = (unsigned char *)h + h->tp_mac;

		if (!(status & TP_STATUS_USER))
			break;
		f->port_rx++;
		if (h->tp_snaplen != h->tp_len || (status & TP_STATUS_VLAN_VALID))
			f->dropped++;
		else if (write(f->tap, data - f->hdr, h->tp_snaplen + f->hdr) < 0)
			f->dropped++;
		else
			f->to_tap++;
		__atomic_store_n(&h->tp_status, TP_STATUS_KERNEL,
				 __ATOMIC_RELEASE);
		f->rx.head = (f->rx.head + 1) % f->rx.frames;
	}
	return n;
}

/*
 * TAP to port: one read() per packet, into the port's next free tx slot;
 * one send() for the batch. Returns the packets read, -1 when the port's
 * ring is full and the TAP device may have more.
 */
static int tap_to_port(struct tfwd *f)
{
	size_t room = f->tx.frame_size - TPACKET2_HDRLEN +
		      sizeof(struct sockaddr_ll);
	int n, full = 0;

	for (n = 0; n < BURST; n++) {
		struct tpacket2_hdr *h = slot(&f->tx, 0);
		__u32 status = __atomic_load_n(&h->tp_status, __ATOMIC_ACQUIRE);
		ssize_t len;

		if (status != TP_STATUS_AVAILABLE &&
		    status != TP_STATUS_WRONG_FORMAT) {
			full = 1;
			break;
		}
		if (status == TP_STATUS_WRONG_FORMAT)
			f->errors++;
		len = read(f->tap, (unsigned char *)h + TPACKET2_HDRLEN -
			   sizeof(struct sockaddr_ll), room);
		if (len <= 0)
			break;
		f->from_tap++;
		h->tp_len = (__u32)len;
		/* The bytes are in place before the kernel may send. */
		__atomic_store_n(&h->tp_status, TP_STATUS_SEND_REQUEST,
				 __ATOMIC_RELEASE);
		f->tx.head = (f->tx.head + 1) % f->tx.frames;
	}
	if (n) {
		if (send(f->pkt, NULL, 0, MSG_DONTWAIT) < 0 &&
		    errno != EAGAIN && errno != ENOBUFS)
			f->errors++;
		else
			f->to_port += n;
	}
	return full ? -1 : n;
}

static void run(struct tfwd *f)
{
	struct pollfd pfd[2] = {
		{ .fd = f->tap },
		{ .fd = f->pkt },
	};
	int a, b;

	while (!__atomic_load_n(&stop, __ATOMIC_RELAXED)) {
		a = port_to_tap(f);
		b = tap_to_port(f);
		if (a || b > 0)
			continue;
		/* Idle: wait for either side, or for tx slots when full. */
		pfd[0].events = b < 0 ? 0 : POLLIN;
		pfd[1].events = POLLIN | (b < 0 ? POLLOUT : 0);
		poll(pfd, 2, 100);
	}
}

int main(int argc, char **argv)
{
	struct tfwd f = { .tap = -1, .pkt = -1 };
	const char *port = NULL, *tap = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	int opt, err;

	while ((opt = getopt(argc, argv, "p:t:oh")) != -1) {
		switch (opt) {
		case 'p':
			port = optarg;
			break;
		case 't':
			tap = optarg;
			break;
		case 'o':
			f.offload = true;
			break;
		case 'h':
			fputs(usage, stdout);
			return 0;
		default:
			fputs(usage, stderr);
			return 2;
		}
	}
	if (!port || !tap || optind != argc) {
		fputs(usage, stderr);
		return 2;
	}
	f.hdr = f.offload ? sizeof(struct virtio_net_hdr) : 0;
	sigaction(SIGINT, &sa, NULL);
	sigaction(SIGTERM, &sa, NULL);

	err = tap_open(&f, tap);
	if (err) {
		fprintf(stderr, "tap-fwd: TAP %s: %s\n", tap, strerror(-err));
		return 1;
	}
	err = port_open(&f, port);
	if (err) {
		fprintf(stderr, "tap-fwd: AF_PACKET on %s: %s\n", port,
			strerror(-err));
		return 1;
	}
	printf("tap-fwd: forwarding between %s and %s%s\n", port, tap,
	       f.offload ? " with offloads" : "");
	fflush(stdout);
	run(&f);
	printf("tap-fwd: port rx %llu, to %s %llu, dropped %llu; ",
	       f.port_rx, tap, f.to_tap, f.dropped);
	printf("from %s %llu, to %s %llu, errors %llu\n",
	       tap, f.from_tap, port, f.to_port, f.errors);
	return 0;
}
