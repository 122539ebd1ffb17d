// SPDX-License-Identifier: GPL-2.0
/*
 * The kni shared-ring data path, driven from userspace as a dataplane
 * would: attach, map, pass packets both ways with the bytes compared,
 * wakeups, backpressure, hostile descriptors and indexes, loopback modes,
 * and the lifetime of an attached file.
 *
 * Each test runs in a network namespace of its own with one kni device
 * (kni0) whose IPv6 is off, so the only traffic is the test's own.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <signal.h>
#include <stdalign.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/prctl.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <time.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/errqueue.h>
#include <linux/ethtool.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>
#include <linux/kni.h>
#include <linux/net_tstamp.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/sockios.h>
#include <linux/virtio_net.h>

#include "../../kselftest_harness.h"
#include "kni_qstats.h"
#include "kni_test.h"
#include "kni_uq.h"

/*
 * A fresh netns holding kni0 with QUEUES queue pairs (0 for the default)
 * and the kni options ARGS, up.
 */
static int setup_netns(unsigned int queues, const char *args)
{
	if (enter_netns())
		return -1;
	return make_kni_queues(queues, args);
}

/* Attach to queue Q of kni0 and map the region; 0 or -errno. */
static int uq_open(struct uqueue *uq, __u32 queue)
{
	return uq_attach(uq, "kni0", queue, 0, 0);
}

static int send_packet(int pfd, __u32 len, __u32 seed)
{
	unsigned char buf[65536];

	fill(buf, len, seed);
	return send(pfd, buf, len, 0) == (ssize_t)len ? 0 : -1;
}

/* Counter NAME of DEV's ethtool -S (ETHTOOL_GSTATS), or -1 if it has none. */
static long long ethtool_stat(const char *dev, const char *name)
{
	struct ethtool_gstrings *strings = NULL;
	struct ethtool_sset_info *sset;
	struct ethtool_stats *stats = NULL;
	struct ifreq ifr = {};
	long long v = -1;
	__u32 n, i;
	int fd;

	sset = calloc(1, sizeof(*sset) + sizeof(__u32));
	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (!sset || fd < 0)
		goto out;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	sset->cmd = ETHTOOL_GSSET_INFO;
	sset->sset_mask = 1ULL << ETH_SS_STATS;
	ifr.ifr_data = (void *)sset;
	if (ioctl(fd, SIOCETHTOOL, &ifr) || !sset->sset_mask)
		goto out;
	n = sset->data[0];
	strings = calloc(1, sizeof(*strings) + (size_t)n * ETH_GSTRING_LEN);
	stats = calloc(1, sizeof(*stats) + (size_t)n * sizeof(__u64));
	if (!strings || !stats)
		goto out;
	strings->cmd = ETHTOOL_GSTRINGS;
	strings->string_set = ETH_SS_STATS;
	strings->len = n;
	ifr.ifr_data = (void *)strings;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		goto out;
	stats->cmd = ETHTOOL_GSTATS;
	stats->n_stats = n;
	ifr.ifr_data = (void *)stats;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		goto out;
	for (i = 0; i < n; i++) {
		if (!strncmp((char *)strings->data + i * ETH_GSTRING_LEN, name,
			     ETH_GSTRING_LEN)) {
			v = stats->data[i];
			break;
		}
	}
out:
	if (fd >= 0)
		close(fd);
	free(stats);
	free(strings);
	free(sset);
	return v;
}

/*
 * Counter NAME of a queue of DEV, "rxN_" or "txN_" and the counter, -1 if
 * it has none: packets, bytes and stops from the netdev family's queue
 * statistics, drops and invalid from ethtool -S.
 */
static long long queue_stat(const char *dev, const char *name)
{
	static const struct {
		const char *name;
		__u16 rx, tx;
	} qs[] = {
		{ "packets", NETDEV_A_QSTATS_RX_PACKETS, NETDEV_A_QSTATS_TX_PACKETS },
		{ "bytes", NETDEV_A_QSTATS_RX_BYTES, NETDEV_A_QSTATS_TX_BYTES },
		{ "stops", 0, NETDEV_A_QSTATS_TX_STOP },
	};
	char dir[3], ctr[ETH_GSTRING_LEN];
	unsigned int q, i;
	bool rx;
	uint64_t v = 0;

	if (sscanf(name, "%2[rtx]%u_%31s", dir, &q, ctr) != 3 ||
	    (strcmp(dir, "rx") && strcmp(dir, "tx")))
		return -1;
	rx = !strcmp(dir, "rx");
	for (i = 0; i < ARRAY_SIZE(qs); i++) {
		if (strcmp(ctr, qs[i].name))
			continue;
		if (!(rx ? qs[i].rx : qs[i].tx) ||
		    kni_qstat(if_nametoindex(dev),
			      rx ? NETDEV_QUEUE_TYPE_RX : NETDEV_QUEUE_TYPE_TX,
			      q, rx ? qs[i].rx : qs[i].tx, &v))
			return -1;
		return (long long)v;
	}
	return ethtool_stat(dev, name);
}

/* Wait up to ten seconds for a counter of kni0 to reach WANT; its value. */
static long long wait_stat(const char *name, long long want)
{
	long long v;

	WAIT_UNTIL((v = queue_stat("kni0", name)) == want, 10);
	return v;
}

/* Put a packet of LEN bytes at ADDR on rx. */
static void post_rx(struct uqueue *uq, __u32 slot, __u64 addr, __u32 len,
		    __u32 seed)
{
	struct kni_desc *d = prod_desc(&uq->rx, slot);

	fill(frame(uq, addr), len, seed);
	d->addr = addr;
	d->len = len;
	d->flags = 0;
}

FIXTURE(kni)
{
	struct uqueue uq;
	int pfd;
};

FIXTURE_VARIANT(kni)
{
	const char *args;
	__u32 stride;	/* of the lengths the round trips go through */
};

/* Every length. */
FIXTURE_VARIANT_ADD(kni, default)
{
	.args = "",
	.stride = 1,
};

/* Every seventh length, so every alignment, to keep the time down. */
FIXTURE_VARIANT_ADD(kni, big_frames)
{
	.args = "ring_size 64 frame_size 8192",
	.stride = 7,
};

FIXTURE_SETUP(kni)
{
	ASSERT_EQ(setup_netns(0, variant->args), 0);
	ASSERT_EQ(uq_open(&self->uq, 0), 0);
	self->pfd = packet_socket();
	ASSERT_GE(self->pfd, 0);
}

FIXTURE_TEARDOWN(kni)
{
	close(self->pfd);
	uq_close(&self->uq);
}

TEST_F(kni, layout)
{
	struct kni_attach *at = &self->uq.at;
	const struct kni_ring_offsets *rings[] = {
		&at->rx, &at->free, &at->alloc, &at->tx,
	};
	unsigned int i;

	ASSERT_EQ(at->frame_count, 2 * at->ring_size);
	ASSERT_EQ(at->headroom, 256);
	ASSERT_EQ(at->frames % getpagesize(), 0);
	ASSERT_GE(at->mmap_size, at->frames +
		  (__u64)at->frame_count * at->frame_size);
	for (i = 0; i < 4; i++) {
		ASSERT_LT(rings[i]->desc + (__u64)at->ring_size * at->desc_size,
			  at->frames + 1);
		ASSERT_EQ(rings[i]->producer % 4, 0);
	}
	ASSERT_LT(at->event.desc + (__u64)at->event_ring_size * at->event_size,
		  at->frames + 1);
	ASSERT_LT(at->state + at->state_size, at->frames + 1);
	/* Nothing polls rx before the first kick. */
	ASSERT_EQ(*self->uq.rx.flags, KNI_RING_F_NEED_WAKEUP);
	/* The last byte of the mapping is usable. */
	self->uq.map[at->mmap_size - 1] = 1;
}

/*
 * The slots of the rings and the state block have the sizes of the
 * structures of this header: a kernel reports them so that it may make
 * them larger one day, and a dataplane steps by what it reports.
 */
TEST_F(kni, slot_sizes)
{
	struct kni_attach *at = &self->uq.at;

	ASSERT_EQ(at->desc_size, sizeof(struct kni_desc));
	ASSERT_EQ(at->event_size, sizeof(struct kni_event));
	ASSERT_EQ(at->state_size, sizeof(struct kni_state));
}

/* Every length from an Ethernet header to the frame size, at offsets. */
TEST_F_TIMEOUT(kni, user_to_stack_every_length, 60)
{
	struct uqueue *uq = &self->uq;
	__u32 fs = uq->at.frame_size, batch = 32, len = ETH_HLEN;
	__u32 step = variant->stride;
	unsigned char buf[65536], want[65536];
	__u64 packets = 0, bytes = 0;

	while (len <= fs) {
		__u32 n, i, l, off;

		for (n = 0; n < batch && len + n * step <= fs; n++) {
			l = len + n * step;
			/* At the start, in the middle, or against the end. */
			off = (l % 3 == 0) ? fs - l : (l % 3 == 1) ? 0 : (fs - l) / 2;
			post_rx(uq, n, (__u64)n * fs + off, l, l);
		}
		produce(&uq->rx, n);
		kick_if_needed(uq);
		for (i = 0; i < n; i++) {
			ssize_t got = recv(self->pfd, buf, sizeof(buf), 0);

			l = len + i * step;
			ASSERT_EQ(got, l) TH_LOG("length %u", l);
			fill(want, l, l);
			ASSERT_EQ(memcmp(buf, want, got), 0);
		}
		/* Every frame comes back on free, not dropped. */
		ASSERT_TRUE(wait_entries(uq, &uq->free, n));
		for (i = 0; i < n; i++) {
			struct kni_desc *d =
				cons_desc(&uq->free, i);

			ASSERT_EQ(d->flags & KNI_DESC_F_DROPPED, 0);
			ASSERT_EQ(d->len, len + i * step);
			packets++;
			bytes += d->len;
		}
		consume(&uq->free, n);
		len += n * step;
	}
	ASSERT_EQ(sysfs_long("kni0", "statistics/rx_errors"), 0);
	ASSERT_EQ(sysfs_long("kni0", "statistics/rx_dropped"), 0);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), packets);
	ASSERT_EQ(queue_stat("kni0", "rx0_bytes"), bytes);
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), 0);
	ASSERT_EQ(queue_stat("kni0", "rx0_drops"), 0);
}

TEST_F_TIMEOUT(kni, stack_to_user_every_length, 60)
{
	struct uqueue *uq = &self->uq;
	__u32 max = uq->at.frame_size - uq->at.headroom;
	__u32 len, i, n, batch = 32, step = variant->stride;
	unsigned char want[65536];
	__u64 packets = 0, bytes = 0, batches = 0;
	int mtu = max - ETH_HLEN;

	/* The largest MTU the frame size allows (one VLAN tag spare). */
	mtu -= 4;
	ASSERT_EQ(sh("ip link set kni0 mtu %d", mtu), 0);
	max = mtu + ETH_HLEN;

	for (len = ETH_HLEN; len <= max; len += n * step) {
		for (n = 0; n < batch && len + n * step <= max; n++)
			;
		batches++;
		give_alloc(uq, 0, n);
		kick_if_needed(uq);
		for (i = 0; i < n; i++)
			ASSERT_EQ(send_packet(self->pfd, len + i * step,
					      len + i * step), 0);
		ASSERT_TRUE(wait_entries(uq, &uq->tx, n)) TH_LOG("length %u", len);
		for (i = 0; i < n; i++) {
			struct kni_desc *d =
				cons_desc(&uq->tx, i);
			__u32 l = len + i * step;

			ASSERT_EQ(d->len, l);
			ASSERT_EQ(d->addr % uq->at.frame_size, uq->at.headroom);
			fill(want, l, l);
			ASSERT_EQ(memcmp(frame(uq, d->addr), want, d->len), 0);
			packets++;
			bytes += l;
		}
		consume(&uq->tx, n);
	}
	ASSERT_EQ(sysfs_long("kni0", "statistics/tx_dropped"), 0);
	ASSERT_EQ(queue_stat("kni0", "tx0_packets"), packets);
	ASSERT_EQ(queue_stat("kni0", "tx0_bytes"), bytes);
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 0);
	ASSERT_EQ(queue_stat("kni0", "tx0_invalid"), 0);
	/* Each batch used up the frames given: the queue stopped once each. */
	ASSERT_EQ(wait_stat("tx0_stops", batches), batches);
}

static bool rx_needs_wakeup(struct uqueue *uq)
{
	return __atomic_load_n(uq->rx.flags, __ATOMIC_ACQUIRE) &
	       KNI_RING_F_NEED_WAKEUP;
}

/*
 * With napi_defer_hard_irqs and gro_flush_timeout set, a poll that found
 * work defers the next one to the core's timer instead of asking for a
 * kick: NEED_WAKEUP stays clear, and packets produced without a kick are
 * taken by the timer's polls. Once the deferral is turned off, the next
 * poll asks for kicks again.
 */
TEST_F_TIMEOUT(kni, napi_deferral, 60)
{
	struct uqueue *uq = &self->uq;
	__u32 fs = uq->at.frame_size, i;

	ASSERT_EQ(sh("echo 1000 > /sys/class/net/kni0/napi_defer_hard_irqs"), 0);
	ASSERT_EQ(sh("echo 10000000 > /sys/class/net/kni0/gro_flush_timeout"), 0);
	ASSERT_TRUE(rx_needs_wakeup(uq));
	for (i = 0; i < 4; i++)
		post_rx(uq, i, (__u64)i * fs, 60, i);
	produce(&uq->rx, 4);
	ASSERT_EQ(kick_if_needed(uq), 0);
	ASSERT_TRUE(WAIT_UNTIL(entries(&uq->free) == 4, 10));
	consume(&uq->free, 4);
	/* Clear but for the moment each empty timer poll takes. */
	ASSERT_TRUE(WAIT_UNTIL(!rx_needs_wakeup(uq), 10));

	for (i = 0; i < 4; i++)
		post_rx(uq, i, (__u64)(4 + i) * fs, 60, 4 + i);
	produce(&uq->rx, 4);
	ASSERT_TRUE(WAIT_UNTIL(entries(&uq->free) == 4, 10));
	consume(&uq->free, 4);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), 8);

	ASSERT_EQ(sh("echo 0 > /sys/class/net/kni0/napi_defer_hard_irqs"), 0);
	ASSERT_EQ(sh("echo 0 > /sys/class/net/kni0/gro_flush_timeout"), 0);
	ASSERT_TRUE(WAIT_UNTIL(rx_needs_wakeup(uq), 10));
	post_rx(uq, 0, 0, 60, 9);
	produce(&uq->rx, 1);
	ASSERT_EQ(kick_if_needed(uq), 0);
	ASSERT_TRUE(wait_entries(uq, &uq->free, 1));
	consume(&uq->free, 1);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), 9);
}

#define TRACING		"/sys/kernel/tracing"
#define XMIT_EVENT	TRACING "/events/net/net_dev_xmit"
#define DROP_EVENT	TRACING "/events/skb/kfree_skb"

/* Record EVENT, what FILTER matches of it ("0" for all), from now on. */
static int trace_start(const char *event, const char *filter)
{
	if (sh("mountpoint -q %s || mount -t tracefs nodev %s", TRACING,
	       TRACING))
		return -1;
	if (sh("echo 0 > %s/enable && echo '%s' > %s/filter", event, filter,
	       event))
		return -1;
	return sh("echo > %s/trace && echo 1 > %s/enable", TRACING, event);
}

/* Stop recording EVENT; 0, or -1 on errors. */
static int trace_stop(const char *event)
{
	return sh("echo 0 > %s/enable", event) ? -1 : 0;
}

/* The lines of the trace the regular expression RE matches, or -1. */
static long traced(const char *re)
{
	char cmd[160], out[64];

	snprintf(cmd, sizeof(cmd), "grep -c '%s' %s/trace", re, TRACING);
	/* grep exits with 1 when no line matched, 2 on errors. */
	if (sh_out(out, sizeof(out), cmd) >= 512)
		return -1;
	return strtol(out, NULL, 10);
}

/*
 * Record what kni0's driver answers to each packet the stack hands it,
 * with the net_dev_xmit tracepoint. The qdisc's requeue counter cannot
 * tell: it also counts packets the core found the queue stopped for.
 */
static int xmit_trace_start(void)
{
	return trace_start(XMIT_EVENT, "name == \"kni0\"");
}

/* The trace's lines of packets of kni0 the driver answered RC to, or -1. */
static long xmit_traced(int rc)
{
	char re[64];

	snprintf(re, sizeof(re), "dev=kni0 .*rc=%d$", rc);
	return traced(re);
}

/*
 * Stop recording; the packets kni0's driver took, and in *BUSY those it
 * handed back (NETDEV_TX_BUSY); -1 when the trace cannot be read.
 */
static long xmit_trace_stop(long *busy)
{
	if (trace_stop(XMIT_EVENT))
		return -1;
	*busy = xmit_traced(16);
	return *busy < 0 ? -1 : xmit_traced(0);
}

/*
 * The subqueue stops before the frames run out, never after: the stack
 * does not get a packet back. Nothing is offered at attach, so it starts
 * stopped and asks for a kick; packets sent meanwhile wait in the qdisc.
 * When a packet takes the last frame, the next one waits too.
 */
TEST_F(kni, tx_stops_before_busy)
{
	struct uqueue *uq = &self->uq;
	__u32 rs = uq->at.ring_size, i;
	long busy = -1;

	ASSERT_EQ(xmit_trace_start(), 0);
	ASSERT_EQ(*uq->alloc.flags, KNI_RING_F_NEED_WAKEUP);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(send_packet(self->pfd, 60 + i, i), 0);
	usleep(200000);
	ASSERT_EQ(entries(&uq->tx), 0);
	give_alloc(uq, rs, 6);
	ASSERT_EQ(kick_if_needed(uq), 0);
	ASSERT_TRUE(wait_entries(uq, &uq->tx, 4));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(cons_desc(&uq->tx, i)->len, 60 + i);
	consume(&uq->tx, 4);

	for (i = 0; i < 3; i++)
		ASSERT_EQ(send_packet(self->pfd, 70 + i, i), 0);
	ASSERT_TRUE(wait_entries(uq, &uq->tx, 2));
	usleep(200000);
	ASSERT_EQ(entries(&uq->tx), 2);
	consume(&uq->tx, 2);
	give_alloc(uq, rs + 6, 1);
	ASSERT_EQ(kick_if_needed(uq), 0);
	ASSERT_TRUE(wait_entries(uq, &uq->tx, 1));
	ASSERT_EQ(cons_desc(&uq->tx, 0)->len, 72);
	consume(&uq->tx, 1);
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 0);
	ASSERT_EQ(xmit_trace_stop(&busy), 7);
	ASSERT_EQ(busy, 0);
}

/*
 * A packet socket that bypasses the qdisc (PACKET_QDISC_BYPASS) hands its
 * packets to the device's checks before it disables BHs: they reach tx
 * as any other, without a splat of the debug kernel.
 */
TEST_F(kni, tx_qdisc_bypass)
{
	struct uqueue *uq = &self->uq;
	int one = 1, i;

	ASSERT_EQ(setsockopt(self->pfd, SOL_PACKET, PACKET_QDISC_BYPASS, &one,
			     sizeof(one)), 0);
	give_alloc(uq, uq->at.ring_size, 8);
	kick_if_needed(uq);
	for (i = 0; i < 8; i++)
		ASSERT_EQ(send_packet(self->pfd, 100 + i, i), 0);
	ASSERT_TRUE(wait_entries(uq, &uq->tx, 8));
	for (i = 0; i < 8; i++)
		ASSERT_EQ(cons_desc(&uq->tx, i)->len, 100 + i);
	consume(&uq->tx, 8);
	ASSERT_EQ(queue_stat("kni0", "tx0_packets"), 8);
}

/*
 * alloc's consumer moves no later than the tx producer that posts the
 * frames it gave: a dataplane that offers every frame it has on alloc
 * (libkni does) finds a slot for a frame it took off tx at once, without
 * waiting for the kernel to publish more. Packets here come one at a
 * time, with room left, so no stop of the queue publishes for them.
 */
TEST_F(kni, alloc_released_with_tx)
{
	struct uqueue *uq = &self->uq;
	__u32 a0 = *uq->alloc.cons, i;

	give_alloc(uq, uq->at.ring_size, 16);
	kick_if_needed(uq);
	for (i = 0; i < 8; i++) {
		ASSERT_EQ(send_packet(self->pfd, 60 + i, i), 0);
		ASSERT_TRUE(wait_entries(uq, &uq->tx, i + 1));
		/* entries() loaded tx's producer with acquire semantics. */
		ASSERT_EQ(entries(&uq->tx), i + 1);
		ASSERT_EQ(__atomic_load_n(uq->alloc.cons, __ATOMIC_ACQUIRE) - a0,
			  i + 1);
	}
	consume(&uq->tx, 8);
	ASSERT_EQ(queue_stat("kni0", "tx0_stops"), 0);
}

/*
 * The driver timestamps what it hands the dataplane (skb_tx_timestamp):
 * a socket that asked for software transmit timestamps gets one on its
 * error queue for each packet posted on tx.
 */
TEST_F(kni, tx_software_timestamp)
{
	int on = SOF_TIMESTAMPING_TX_SOFTWARE | SOF_TIMESTAMPING_SOFTWARE |
		 SOF_TIMESTAMPING_OPT_TSONLY;
	struct uqueue *uq = &self->uq;
	char ctl[CMSG_SPACE(sizeof(struct scm_timestamping)) +
		 CMSG_SPACE(sizeof(struct sock_extended_err)) + 64];
	struct scm_timestamping tss = {};
	struct sock_extended_err ee = {};
	struct pollfd pfd = { .fd = self->pfd, .events = 0 };
	struct msghdr msg = {
		.msg_control = ctl,
		.msg_controllen = sizeof(ctl),
	};
	struct cmsghdr *cm;
	int got = 0;

	ASSERT_EQ(setsockopt(self->pfd, SOL_SOCKET, SO_TIMESTAMPING, &on,
			     sizeof(on)), 0);
	give_alloc(uq, 0, 1);
	kick_if_needed(uq);
	ASSERT_EQ(send_packet(self->pfd, 60, 1), 0);
	ASSERT_TRUE(wait_entries(uq, &uq->tx, 1));
	consume(&uq->tx, 1);

	/* The timestamp is queued before the driver returns. */
	ASSERT_EQ(poll(&pfd, 1, 5000), 1);
	ASSERT_TRUE(pfd.revents & POLLERR);
	ASSERT_GE(recvmsg(self->pfd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT), 0);
	for (cm = CMSG_FIRSTHDR(&msg); cm; cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET &&
		    cm->cmsg_type == SCM_TIMESTAMPING) {
			memcpy(&tss, CMSG_DATA(cm), sizeof(tss));
			got |= 1;
		} else if (cm->cmsg_level == SOL_PACKET &&
			   cm->cmsg_type == PACKET_TX_TIMESTAMP) {
			memcpy(&ee, CMSG_DATA(cm), sizeof(ee));
			got |= 2;
		}
	}
	ASSERT_EQ(got, 3);
	ASSERT_EQ(ee.ee_errno, ENOMSG);
	ASSERT_EQ(ee.ee_origin, SO_EE_ORIGIN_TIMESTAMPING);
	ASSERT_EQ(ee.ee_info, SCM_TSTAMP_SND);
	ASSERT_TRUE(tss.ts[0].tv_sec || tss.ts[0].tv_nsec);
	/* One packet, one timestamp. */
	ASSERT_EQ(recvmsg(self->pfd, &msg, MSG_ERRQUEUE | MSG_DONTWAIT), -1);
	ASSERT_EQ(errno, EAGAIN);
}

/* No kick, no delivery; NEED_WAKEUP is set again once NAPI is idle. */
TEST_F(kni, need_wakeup)
{
	struct uqueue *uq = &self->uq;
	unsigned char buf[2048];
	struct pollfd pfd = { .fd = self->pfd, .events = POLLIN };

	post_rx(uq, 0, 0, 60, 1);
	produce(&uq->rx, 1);
	ASSERT_EQ(poll(&pfd, 1, 300), 0);
	ASSERT_EQ(ioctl(uq->fd, KNI_IOC_KICK, 0), 0);
	ASSERT_EQ(recv(self->pfd, buf, sizeof(buf), 0), 60);
	ASSERT_TRUE(wait_entries(uq, &uq->free, 1));
	ASSERT_NE(__atomic_load_n(uq->rx.flags, __ATOMIC_ACQUIRE) &
		  KNI_RING_F_NEED_WAKEUP, 0);
}

/* Whether thread TID of this process sleeps in poll() or epoll_wait(). */
static bool sleeps_in_poll(pid_t tid)
{
	char path[64];
	long nr = -1;
	FILE *f;

	/* "running" unless the thread is blocked in a system call. */
	snprintf(path, sizeof(path), "/proc/self/task/%d/syscall", tid);
	f = fopen(path, "r");
	if (!f)
		return false;
	if (fscanf(f, "%ld", &nr) != 1)
		nr = -1;
	fclose(f);
	return nr == SYS_poll || nr == SYS_ppoll || nr == SYS_epoll_wait ||
	       nr == SYS_epoll_pwait;
}

struct later {
	pid_t tid;	/* the thread that goes to sleep */
	int pfd;	/* the packet socket to send on */
};

/* Send a packet once the other thread sleeps waiting for it. */
static void *send_later(void *arg)
{
	struct later *l = arg;

	WAIT_UNTIL(sleeps_in_poll(l->tid), 10);
	send_packet(l->pfd, 100, 3);
	return NULL;
}

TEST_F_TIMEOUT(kni, poll_wakes_on_tx, 60)
{
	struct uqueue *uq = &self->uq;
	struct pollfd pfd = { .fd = uq->fd, .events = POLLIN };
	struct later l = { .tid = syscall(SYS_gettid), .pfd = self->pfd };
	pthread_t t;

	give_alloc(uq, 0, 4);
	kick_if_needed(uq);
	/* rx is empty: writable, nothing to read. */
	pfd.events = POLLIN | POLLOUT;
	ASSERT_EQ(poll(&pfd, 1, 0), 1);
	ASSERT_EQ(pfd.revents, POLLOUT);

	pfd.events = POLLIN;
	ASSERT_EQ(pthread_create(&t, NULL, send_later, &l), 0);
	ASSERT_EQ(poll(&pfd, 1, 20000), 1);
	ASSERT_EQ(pfd.revents & POLLIN, POLLIN);
	pthread_join(t, NULL);
	ASSERT_EQ(entries(&uq->tx), 1);
}

struct pri_waiter {
	int fd;
	pid_t tid;	/* set before the thread polls */
	int ret;	/* poll()'s return */
	short revents;
};

/* Wait for an event only, as a control thread next to the data path would. */
static void *wait_for_event(void *arg)
{
	struct pri_waiter *w = arg;
	struct pollfd pfd = { .fd = w->fd, .events = POLLPRI };

	__atomic_store_n(&w->tid, syscall(SYS_gettid), __ATOMIC_RELEASE);
	/*
	 * No timeout: poll() looks once more when it expires and would
	 * find the event without having been woken. A wakeup that never
	 * comes fails the test by its time limit.
	 */
	w->ret = poll(&pfd, 1, -1);
	w->revents = pfd.revents;
	return NULL;
}

/*
 * The kernel wakes a poller only for what it went to wait for since the
 * last wakeup of that kind: every sleep must be woken again, and packets
 * must not use up the wakeup an event poller waits for.
 */
TEST_F_TIMEOUT(kni, poll_wakes_each_kind, 90)
{
	struct uqueue *uq = &self->uq;
	struct pollfd pfd = { .fd = uq->fd, .events = POLLIN };
	struct later l = { .tid = syscall(SYS_gettid), .pfd = self->pfd };
	struct pri_waiter w = { .fd = uq->fd };
	struct ifreq ifr = {};
	pthread_t t, pri;
	pid_t tid;
	int i;

	give_alloc(uq, 0, 8);
	kick_if_needed(uq);
	/* Each sleep in poll() is woken by the packet that follows it. */
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(pthread_create(&t, NULL, send_later, &l), 0);
		ASSERT_EQ(poll(&pfd, 1, 20000), 1);
		ASSERT_EQ(pfd.revents & POLLIN, POLLIN);
		pthread_join(t, NULL);
		ASSERT_TRUE(WAIT_UNTIL(entries(&uq->tx) == 1, 10));
		consume(&uq->tx, 1);
	}

	/*
	 * A packet arriving while only the event poller sleeps does not use
	 * up that poller's wakeup: the event that follows still wakes it.
	 */
	ASSERT_EQ(pthread_create(&pri, NULL, wait_for_event, &w), 0);
	ASSERT_TRUE(WAIT_UNTIL((tid = __atomic_load_n(&w.tid, __ATOMIC_ACQUIRE)) &&
			       sleeps_in_poll(tid), 10));
	ASSERT_EQ(send_packet(self->pfd, 100, 4), 0);
	ASSERT_TRUE(WAIT_UNTIL(entries(&uq->tx) == 1, 10));
	/*
	 * An ioctl rather than ip(8): a child's exit could wake the thread
	 * (SIGCHLD), and it would then find the event without a wakeup.
	 */
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "kni0");
	ifr.ifr_mtu = 1400;
	ASSERT_EQ(ioctl(self->pfd, SIOCSIFMTU, &ifr), 0);
	pthread_join(pri, NULL);
	ASSERT_EQ(w.ret, 1);
	ASSERT_EQ(w.revents & POLLPRI, POLLPRI);
}

/*
 * Busy mode: nobody sleeping is woken (epoll, unlike poll(), does not look
 * at the file again when its timeout expires), the state is still reported
 * when asked, and switching wakeups back on has epoll look again.
 */
TEST_F_TIMEOUT(kni, busy_mode, 60)
{
	struct uqueue *uq = &self->uq;
	struct pollfd pfd = { .fd = uq->fd, .events = POLLIN };
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct later l = { .tid = syscall(SYS_gettid), .pfd = self->pfd };
	pthread_t t;
	int ep;

	ASSERT_EQ(ioctl(uq->fd, KNI_IOC_WAKEUPS, 2), -1);
	ASSERT_EQ(errno, EINVAL);
	ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, uq->fd, &ev), 0);
	give_alloc(uq, 0, 4);
	kick_if_needed(uq);

	ASSERT_EQ(ioctl(uq->fd, KNI_IOC_WAKEUPS, 0), 0);
	ASSERT_EQ(pthread_create(&t, NULL, send_later, &l), 0);
	ASSERT_EQ(epoll_wait(ep, &out, 1, 1500), 0);
	pthread_join(t, NULL);
	/* Posted, though maybe after the wait ended on a slow machine. */
	WAIT_UNTIL(entries(&uq->tx) >= 1, 10);
	ASSERT_EQ(entries(&uq->tx), 1);
	ASSERT_EQ(poll(&pfd, 1, 0), 1);

	ASSERT_EQ(ioctl(uq->fd, KNI_IOC_WAKEUPS, 1), 0);
	ASSERT_EQ(epoll_wait(ep, &out, 1, 0), 1);
	consume(&uq->tx, 1);
	ASSERT_EQ(pthread_create(&t, NULL, send_later, &l), 0);
	ASSERT_EQ(epoll_wait(ep, &out, 1, 20000), 1);
	pthread_join(t, NULL);
	ASSERT_EQ(entries(&uq->tx), 1);
	close(ep);
}

/*
 * An event posted while wakeups are off wakes nobody; switching them back
 * on wakes a control thread that sleeps waiting for events only.
 */
TEST_F_TIMEOUT(kni, busy_mode_events, 60)
{
	struct uqueue *uq = &self->uq;
	struct pri_waiter w = { .fd = uq->fd };
	struct ifreq ifr = {};
	pthread_t pri;
	pid_t tid;

	ASSERT_EQ(ioctl(uq->fd, KNI_IOC_WAKEUPS, 0), 0);
	ASSERT_EQ(pthread_create(&pri, NULL, wait_for_event, &w), 0);
	ASSERT_TRUE(WAIT_UNTIL((tid = __atomic_load_n(&w.tid, __ATOMIC_ACQUIRE)) &&
			       sleeps_in_poll(tid), 10));
	/* An ioctl rather than ip(8), whose exit could wake the thread. */
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "kni0");
	ifr.ifr_mtu = 1400;
	ASSERT_EQ(ioctl(self->pfd, SIOCSIFMTU, &ifr), 0);
	usleep(200000);
	ASSERT_TRUE(sleeps_in_poll(tid));
	ASSERT_EQ(ioctl(uq->fd, KNI_IOC_WAKEUPS, 1), 0);
	pthread_join(pri, NULL);
	ASSERT_EQ(w.ret, 1);
	ASSERT_EQ(w.revents & POLLPRI, POLLPRI);
}

/*
 * A consumer that stops makes the queue stop; resuming delivers all. The
 * queue's counters say so: every packet passed, none dropped, and a stop
 * each time the frames ran out.
 */
TEST_F_TIMEOUT(kni, backpressure, 60)
{
	struct uqueue *uq = &self->uq;
	__u32 total = 200, got = 0, i;
	__u64 bytes = 0;

	give_alloc(uq, 0, 4);
	for (i = 0; i < total; i++) {
		ASSERT_EQ(send_packet(self->pfd, 60 + i % 100, i), 0);
		bytes += 60 + i % 100;
	}
	/*
	 * Every send returned: four packets took the four frames, the queue
	 * stopped after the fourth and asked for a kick, the rest wait in
	 * the qdisc.
	 */
	ASSERT_TRUE(wait_entries(uq, &uq->tx, 4));
	ASSERT_TRUE(WAIT_UNTIL(__atomic_load_n(uq->alloc.flags, __ATOMIC_ACQUIRE) &
			       KNI_RING_F_NEED_WAKEUP, 10));
	ASSERT_EQ(entries(&uq->tx), 4);
	ASSERT_EQ(queue_stat("kni0", "tx0_packets"), 4);
	ASSERT_EQ(queue_stat("kni0", "tx0_stops"), 1);

	while (got < total) {
		__u32 n = entries(&uq->tx), j, p, frames[8];
		unsigned char want[256];

		/* Only the eight frames given out can be on tx. */
		ASSERT_LE(n, 8);
		for (j = 0; j < n; j++) {
			struct kni_desc *d =
				cons_desc(&uq->tx, j);

			fill(want, 60 + (got + j) % 100, got + j);
			ASSERT_EQ(d->len, 60 + (got + j) % 100);
			ASSERT_EQ(memcmp(frame(uq, d->addr), want, d->len), 0);
			frames[j] = d->addr / uq->at.frame_size;
		}
		consume(&uq->tx, n);
		got += n;
		if (got == total)
			break;
		/*
		 * Give back just the frames read: the others may still be on
		 * alloc, and a frame offered twice would be written twice.
		 */
		p = *uq->alloc.prod;
		for (j = 0; j < n; j++) {
			struct kni_desc *d =
				desc_at(&uq->alloc, p + j);

			d->addr = (__u64)frames[j] * uq->at.frame_size;
			d->len = 0;
			d->flags = 0;
		}
		produce(&uq->alloc, n);
		/* And four more frames, once. */
		if (got == n)
			give_alloc(uq, 4, 4);
		ASSERT_TRUE(wait_entries(uq, &uq->tx, 1)) TH_LOG("after %u", got);
	}
	ASSERT_EQ(sysfs_long("kni0", "statistics/tx_dropped"), 0);
	ASSERT_EQ(queue_stat("kni0", "tx0_packets"), total);
	ASSERT_EQ(queue_stat("kni0", "tx0_bytes"), bytes);
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 0);
	ASSERT_EQ(queue_stat("kni0", "tx0_invalid"), 0);
	/*
	 * At least the first stop; how often a refill came too late to keep
	 * the queue going depends on the scheduling, but never more often
	 * than a packet was posted.
	 */
	i = queue_stat("kni0", "tx0_stops");
	TH_LOG("%u stops", i);
	ASSERT_GE(i, 1);
	ASSERT_LE(i, total);
}

/*
 * Bad descriptors are returned as given but marked, counted in the queue's
 * rxN_invalid (and rx_errors), and the queue works on.
 */
TEST_F(kni, hostile_rx_descriptors)
{
	struct uqueue *uq = &self->uq;
	__u64 area = (__u64)uq->at.frame_count * uq->at.frame_size;
	__u32 fs = uq->at.frame_size;
	const struct kni_desc bad[] = {
		{ .addr = area, .len = 60 },
		{ .addr = area + fs * 4, .len = 60 },
		{ .addr = ~0ULL, .len = 60 },
		{ .addr = ~0ULL - 30, .len = 60 },
		{ .addr = 0, .len = 0 },
		{ .addr = 0, .len = ETH_HLEN - 1 },
		{ .addr = 0, .len = fs + 1 },
		{ .addr = 0, .len = ~0U },
		{ .addr = fs - 10, .len = 60 },
		{ .addr = 0, .len = 60, .flags = 1U << 5 },
		{ .addr = 0, .len = 60, .flags = KNI_DESC_F_DROPPED },
	};
	unsigned int n = ARRAY_SIZE(bad), i;
	unsigned char buf[2048];

	for (i = 0; i < n; i++)
		*prod_desc(&uq->rx, i) = bad[i];
	produce(&uq->rx, n);
	kick_if_needed(uq);
	ASSERT_TRUE(wait_entries(uq, &uq->free, n));
	for (i = 0; i < n; i++) {
		struct kni_desc *d = cons_desc(&uq->free, i);

		ASSERT_EQ(d->addr, bad[i].addr);
		ASSERT_EQ(d->len, bad[i].len);
		ASSERT_EQ(d->flags, bad[i].flags | KNI_DESC_F_DROPPED);
	}
	consume(&uq->free, n);
	ASSERT_EQ(sysfs_long("kni0", "statistics/rx_errors"), n);
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), n);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), 0);
	ASSERT_EQ(queue_stat("kni0", "rx0_drops"), 0);

	/*
	 * A producer jumping past the ring size: skipped to, counted once.
	 * The kernel publishes its consumer index after counting.
	 */
	produce(&uq->rx, uq->at.ring_size + 7);
	ASSERT_EQ(ioctl(uq->fd, KNI_IOC_KICK, 0), 0);
	ASSERT_TRUE(WAIT_UNTIL(__atomic_load_n(uq->rx.cons, __ATOMIC_ACQUIRE) ==
			       *uq->rx.prod, 10));
	ASSERT_EQ(sysfs_long("kni0", "statistics/rx_errors"), n + 1);
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), n + 1);
	/* A consumer index userspace scribbles over is not the kernel's. */
	*uq->rx.cons = 12345;

	post_rx(uq, 0, 0, 64, 9);
	produce(&uq->rx, 1);
	kick_if_needed(uq);
	ASSERT_EQ(recv(self->pfd, buf, sizeof(buf), 0), 64);
	ASSERT_EQ(sysfs_long("kni0", "statistics/rx_errors"), n + 1);
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), n + 1);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), 1);
	ASSERT_EQ(queue_stat("kni0", "rx0_bytes"), 64);
	ASSERT_EQ(queue_stat("kni0", "rx0_drops"), 0);
}

/*
 * Alloc descriptors outside the frame area are skipped and counted in the
 * queue's txN_invalid (and tx_errors); one inside a frame gives the frame.
 * The queue stops each time the last frame is used.
 */
TEST_F(kni, hostile_alloc_descriptors)
{
	struct uqueue *uq = &self->uq;
	__u64 area = (__u64)uq->at.frame_count * uq->at.frame_size;
	__u32 p = *uq->alloc.prod;

	*desc_at(&uq->alloc, p) = (struct kni_desc){ .addr = area };
	*desc_at(&uq->alloc, p + 1) = (struct kni_desc){ .addr = ~0ULL };
	*desc_at(&uq->alloc, p + 2) =
		(struct kni_desc){ .addr = 3 * uq->at.frame_size + 5 };
	produce(&uq->alloc, 3);
	ASSERT_EQ(send_packet(self->pfd, 80, 4), 0);
	ASSERT_TRUE(wait_entries(uq, &uq->tx, 1));
	ASSERT_EQ(cons_desc(&uq->tx, 0)->addr,
		  3 * uq->at.frame_size + uq->at.headroom);
	ASSERT_EQ(sysfs_long("kni0", "statistics/tx_errors"), 2);
	ASSERT_EQ(queue_stat("kni0", "tx0_invalid"), 2);
	ASSERT_EQ(queue_stat("kni0", "tx0_packets"), 1);
	ASSERT_EQ(wait_stat("tx0_stops", 1), 1);
	consume(&uq->tx, 1);

	/*
	 * An alloc producer far ahead is skipped to and counted; the kernel
	 * publishes its consumer index after counting. The packet waits.
	 */
	produce(&uq->alloc, 100000);
	ASSERT_EQ(send_packet(self->pfd, 80, 5), 0);
	ASSERT_EQ(ioctl(uq->fd, KNI_IOC_KICK, 0), 0);
	ASSERT_TRUE(WAIT_UNTIL(__atomic_load_n(uq->alloc.cons, __ATOMIC_ACQUIRE) ==
			       *uq->alloc.prod, 10));
	ASSERT_EQ(sysfs_long("kni0", "statistics/tx_errors"), 3);
	ASSERT_EQ(queue_stat("kni0", "tx0_invalid"), 3);
	ASSERT_EQ(entries(&uq->tx), 0);
	give_alloc(uq, 0, 1);
	kick_if_needed(uq);
	ASSERT_TRUE(wait_entries(uq, &uq->tx, 1));
	ASSERT_EQ(queue_stat("kni0", "tx0_packets"), 2);
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 0);
	ASSERT_EQ(queue_stat("kni0", "tx0_invalid"), 3);
	ASSERT_EQ(wait_stat("tx0_stops", 2), 2);
}

/*
 * The kernel's alloc descriptors carry no flags: one with a flag set is
 * skipped and counted in txN_invalid (and tx_errors) like one outside the
 * area, and the packet takes the next valid frame. A packet that used up
 * alloc on such descriptors is dropped, not held back for a frame.
 */
TEST_F(kni, alloc_descriptors_with_flags)
{
	static const __u32 flags[] = {
		KNI_DESC_F_CSUM_VALID, 1U << 7, KNI_DESC_F_DROPPED,
	};
	struct uqueue *uq = &self->uq;
	__u32 fs = uq->at.frame_size, hr = uq->at.headroom, i, n = 3;
	unsigned char want[80], zero[80] = {};
	__u32 p = *uq->alloc.prod;
	struct kni_desc *d;

	/* Frames 1 to 3 with a flag each, frame 4 without. */
	for (i = 0; i < n; i++)
		*desc_at(&uq->alloc, p + i) = (struct kni_desc){
			.addr = (__u64)(i + 1) * fs, .flags = flags[i],
		};
	*desc_at(&uq->alloc, p + n) =
		(struct kni_desc){ .addr = (__u64)(n + 1) * fs };
	produce(&uq->alloc, n + 1);
	ASSERT_EQ(send_packet(self->pfd, sizeof(want), 4), 0);
	ASSERT_TRUE(wait_entries(uq, &uq->tx, 1));
	d = cons_desc(&uq->tx, 0);
	ASSERT_EQ(d->addr, (__u64)(n + 1) * fs + hr)
		TH_LOG("the packet went to frame %llu",
		       (unsigned long long)d->addr / fs);
	ASSERT_EQ(d->len, sizeof(want));
	fill(want, sizeof(want), 4);
	ASSERT_EQ(memcmp(frame(uq, d->addr), want, sizeof(want)), 0);
	for (i = 1; i <= n; i++) {
		ASSERT_EQ(memcmp(frame(uq, (__u64)i * fs + hr), zero,
				 sizeof(zero)), 0) TH_LOG("frame %u written", i);
	}
	ASSERT_EQ(sysfs_long("kni0", "statistics/tx_errors"), n);
	ASSERT_EQ(queue_stat("kni0", "tx0_invalid"), n);
	ASSERT_EQ(queue_stat("kni0", "tx0_packets"), 1);
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 0);
	consume(&uq->tx, 1);
	/* The last frame went: the queue stopped and asks for a kick. */
	ASSERT_EQ(wait_stat("tx0_stops", 1), 1);

	/* Nothing but flagged descriptors: the next packet is dropped. */
	p = *uq->alloc.prod;
	for (i = 0; i < 2; i++)
		*desc_at(&uq->alloc, p + i) = (struct kni_desc){
			.addr = (__u64)(i + 1) * fs, .flags = KNI_DESC_F_CSUM_VALID,
		};
	produce(&uq->alloc, 2);
	ASSERT_EQ(kick_if_needed(uq), 0);
	ASSERT_EQ(send_packet(self->pfd, sizeof(want), 5), 0);
	ASSERT_EQ(wait_stat("tx0_drops", 1), 1);
	ASSERT_EQ(queue_stat("kni0", "tx0_invalid"), n + 2);
	ASSERT_EQ(sysfs_long("kni0", "statistics/tx_dropped"), 1);
	ASSERT_EQ(sysfs_long("kni0", "statistics/tx_errors"), n + 2);
	ASSERT_EQ(entries(&uq->tx), 0);

	/* A valid frame afterwards takes the next packet. */
	give_alloc(uq, 6, 1);
	ASSERT_EQ(kick_if_needed(uq), 0);
	ASSERT_EQ(send_packet(self->pfd, sizeof(want), 6), 0);
	ASSERT_TRUE(wait_entries(uq, &uq->tx, 1));
	ASSERT_EQ(cons_desc(&uq->tx, 0)->addr, 6ULL * fs + hr);
	ASSERT_EQ(queue_stat("kni0", "tx0_packets"), 2);
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 1);
	ASSERT_EQ(queue_stat("kni0", "tx0_invalid"), n + 2);
}

struct scribble {
	struct uqueue *uq;
	bool stop;		/* __atomic: set by the test, read by the thread */
};

static void *scribbler(void *arg)
{
	struct scribble *s = arg;
	unsigned int seed = 1;

	while (!__atomic_load_n(&s->stop, __ATOMIC_RELAXED)) {
		__u32 i = rand_r(&seed) & s->uq->rx.mask;
		struct kni_desc *d = desc_at(&s->uq->rx, i);

		switch (rand_r(&seed) % 4) {
		case 0:
			d->addr = ((__u64)rand_r(&seed) << 32) | rand_r(&seed);
			break;
		case 1:
			d->len = rand_r(&seed);
			break;
		case 2:
			d->flags = rand_r(&seed);
			break;
		default:
			d->addr = rand_r(&seed) % (s->uq->at.frame_count *
						   s->uq->at.frame_size);
			d->len = 14 + rand_r(&seed) % 2000;
			break;
		}
	}
	return NULL;
}

/* Descriptors rewritten while the kernel reads them: no harm done. */
TEST_F(kni, descriptors_rewritten_under_the_kernel)
{
	struct uqueue *uq = &self->uq;
	struct scribble s = { .uq = uq };
	unsigned char buf[2048], want[64];
	double end;
	pthread_t t;
	ssize_t got;
	int i;

	ASSERT_EQ(pthread_create(&t, NULL, scribbler, &s), 0);
	for (i = 0; i < 200; i++) {
		produce(&uq->rx, 16);
		ioctl(uq->fd, KNI_IOC_KICK, 0);
		consume(&uq->free, entries(&uq->free));
	}
	__atomic_store_n(&s.stop, true, __ATOMIC_RELAXED);
	pthread_join(t, NULL);
	/* Let the kernel catch up with whatever is left on rx. */
	end = mono_now() + 10;
	while (__atomic_load_n(uq->rx.cons, __ATOMIC_ACQUIRE) != *uq->rx.prod &&
	       mono_now() < end) {
		consume(&uq->free, entries(&uq->free));
		ioctl(uq->fd, KNI_IOC_KICK, 0);
		usleep(1000);
	}
	ASSERT_EQ(*uq->rx.cons, *uq->rx.prod);
	consume(&uq->free, entries(&uq->free));

	/*
	 * The queue still works. Packets of the storm may still be on their
	 * way to the socket: skip them.
	 */
	post_rx(uq, 0, 0, 64, 9);
	produce(&uq->rx, 1);
	ASSERT_EQ(ioctl(uq->fd, KNI_IOC_KICK, 0), 0);
	fill(want, sizeof(want), 9);
	do {
		got = recv(self->pfd, buf, sizeof(buf), 0);
		ASSERT_GT(got, 0);
	} while (got != sizeof(want) || memcmp(buf, want, sizeof(want)));
}

/*
 * One legacy ethtool value of DEV (struct ethtool_value): command CMD with
 * *DATA in and out; 0 or -errno.
 */
static int ethtool_value(const char *dev, __u32 cmd, __u32 *data)
{
	struct ethtool_value ev = { .cmd = cmd, .data = *data };
	struct ifreq ifr = {};
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM | SOCK_CLOEXEC, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", dev);
	ifr.ifr_data = (void *)&ev;
	if (ioctl(fd, SIOCETHTOOL, &ifr))
		ret = -errno;
	close(fd);
	*data = ev.data;
	return ret;
}

/*
 * Rx checksum offload (NETIF_F_RXCSUM) of DEV through the ethtool ioctl:
 * with SET -1 whether it is on (0 or 1), otherwise turned on (1) or off
 * (0), and 0; -errno on failure.
 */
static int rx_csum(const char *dev, int set)
{
	__u32 v = set < 0 ? 0 : set;
	int ret;

	ret = ethtool_value(dev, set < 0 ? ETHTOOL_GRXCSUM : ETHTOOL_SRXCSUM,
			    &v);
	if (ret)
		return ret;
	return set < 0 ? (int)v : 0;
}

/*
 * KNI_DESC_F_CSUM_VALID says the dataplane verified the checksums. With
 * rx checksum offload on, the default, the stack trusts it: a UDP datagram
 * whose checksum is wrong reaches its socket with the flag, and without it
 * is dropped and counted in the UDP InCsumErrors. With the offload off
 * (ethtool -K rx off) the flag is ignored and the stack checks for itself:
 * the wrong checksum is dropped despite the flag, a right one passes. The
 * free ring returns each descriptor's flags as they were given.
 *
 * Each packet goes on its own; the socket's next datagram is the next one
 * delivered, so one that does not come was dropped before it.
 */
TEST_F_TIMEOUT(kni, csum_valid, 60)
{
	static const struct {
		const char *payload;
		bool bad;
		__u32 flags;
		int rx_csum;	/* the offload turned so before, or -1 */
		bool delivered;
	} pkts[] = {
		{ "unverified, wrong checksum", true, 0, -1, false },
		{ "unverified, right checksum", false, 0, -1, true },
		{ "verified, wrong checksum", true, KNI_DESC_F_CSUM_VALID, -1,
		  true },
		{ "offload off: verified, wrong checksum", true,
		  KNI_DESC_F_CSUM_VALID, 0, false },
		{ "offload off: verified, right checksum", false,
		  KNI_DESC_F_CSUM_VALID, -1, true },
		{ "offload on: verified, wrong checksum", true,
		  KNI_DESC_F_CSUM_VALID, 1, true },
	};
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(4242),
		.sin_addr.s_addr = htonl(0x0a000002),
	};
	struct timeval tv = { .tv_sec = 20 };
	struct uqueue *uq = &self->uq;
	__u32 i, n = ARRAY_SIZE(pkts), fs = uq->at.frame_size;
	unsigned char mac[ETH_ALEN];
	long long errs, dropped = 0;
	__u64 bytes = 0;
	char buf[256];
	int s;

	ASSERT_EQ(sh("ip addr add 10.0.0.2/24 dev kni0"), 0);
	ASSERT_EQ(kni0_mac(mac), 0);
	ASSERT_EQ(rx_csum("kni0", -1), 1);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_GE(s, 0);
	ASSERT_EQ(setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)), 0);
	ASSERT_EQ(bind(s, (struct sockaddr *)&sin, sizeof(sin)), 0);
	errs = udp_csum_errors();
	ASSERT_GE(errs, 0);

	for (i = 0; i < n; i++) {
		struct kni_desc *d = prod_desc(&uq->rx, 0);
		size_t plen = strlen(pkts[i].payload);

		if (pkts[i].rx_csum >= 0) {
			ASSERT_EQ(rx_csum("kni0", pkts[i].rx_csum), 0);
			ASSERT_EQ(rx_csum("kni0", -1), pkts[i].rx_csum);
		}
		d->addr = (__u64)i * fs + 2;
		d->len = udp_frame(frame(uq, d->addr), mac, 4242,
				   pkts[i].payload, pkts[i].bad);
		d->flags = pkts[i].flags;
		bytes += d->len;
		produce(&uq->rx, 1);
		kick_if_needed(uq);
		if (!pkts[i].delivered) {
			dropped++;
			continue;
		}
		ASSERT_EQ(recv(s, buf, sizeof(buf), 0), plen)
			TH_LOG("%s: not delivered", pkts[i].payload);
		ASSERT_EQ(memcmp(buf, pkts[i].payload, plen), 0)
			TH_LOG("%s: got \"%.*s\"", pkts[i].payload, (int)plen, buf);
		ASSERT_EQ(udp_csum_errors(), errs + dropped)
			TH_LOG("after %s", pkts[i].payload);
	}

	/* Passed on, all: the stack, not the driver, dropped some. */
	ASSERT_TRUE(wait_entries(uq, &uq->free, n));
	for (i = 0; i < n; i++) {
		struct kni_desc *d = cons_desc(&uq->free, i);

		ASSERT_EQ(d->addr, (__u64)i * fs + 2);
		ASSERT_EQ(d->flags, pkts[i].flags) TH_LOG("descriptor %u", i);
	}
	consume(&uq->free, n);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), n);
	ASSERT_EQ(queue_stat("kni0", "rx0_bytes"), bytes);
	ASSERT_EQ(queue_stat("kni0", "rx0_drops"), 0);
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), 0);
	close(s);
}

/*
 * A legacy ethtool feature query of DEV (ETHTOOL_GTXCSUM, ETHTOOL_GSG):
 * 0 or 1, or -errno.
 */
static int ethtool_get(const char *dev, __u32 cmd)
{
	__u32 v = 0;
	int ret = ethtool_value(dev, cmd, &v);

	return ret ? ret : !!v;
}

/*
 * Send one UDP datagram from each of N sockets to 10.0.0.1 through kni0,
 * whose queues spread them by flow, and count on PLAIN's and CSUM's tx
 * rings how many arrived with a complete checksum and how many with one
 * to complete.
 */
/*
 * Alloc frames of 2048 bytes enough for the transmit queue to run with
 * segmentation: the longest chain, 65553 bytes in parts of 1792, takes 37.
 */
#define TX_ROOM		37

static void mixed_queues(struct __test_metadata *_metadata,
			 struct uqueue *plain, struct uqueue *csum, __u32 n)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_port = htons(4000),
		.sin_addr.s_addr = htonl(0x0a000001),
	};
	__u32 i, got[2] = { 0, 0 };
	int s;

	ASSERT_EQ(kni0_ipv4(), 0);
	give_alloc(plain, 0, n);
	/* It segments: room for the longest chain, or it never starts. */
	give_alloc(csum, 0, n + TX_ROOM);
	kick_if_needed(plain);
	kick_if_needed(csum);
	for (i = 0; i < n; i++) {
		s = socket(AF_INET, SOCK_DGRAM, 0);
		ASSERT_GE(s, 0);
		ASSERT_EQ(sendto(s, "spread", 6, 0, (struct sockaddr *)&to,
				 sizeof(to)), 6);
		close(s);
	}
	WAIT_UNTIL(entries(&plain->tx) + entries(&csum->tx) == n, 10);
	ASSERT_EQ(entries(&plain->tx) + entries(&csum->tx), n);
	for (i = 0; i < entries(&plain->tx); i++) {
		struct kni_desc *d = cons_desc(&plain->tx, i);

		ASSERT_TRUE(udp_csum_ok(frame(plain, d->addr)));
		got[0]++;
	}
	for (i = 0; i < entries(&csum->tx); i++) {
		struct kni_desc *d = cons_desc(&csum->tx, i);
		const struct virtio_net_hdr *h = (const void *)
			frame(csum, d->addr - csum->at.headroom);

		ASSERT_EQ(h->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		ASSERT_FALSE(udp_csum_ok(frame(csum, d->addr)));
		got[1]++;
	}
	/* Both queues took some: the odds of all on one are 2^-(n-1). */
	ASSERT_GT(got[0], 0);
	ASSERT_GT(got[1], 0);
	consume(&plain->tx, got[0]);
	consume(&csum->tx, got[1]);
	ASSERT_EQ(queue_stat("kni0", "tx0_drops") +
		  queue_stat("kni0", "tx1_drops"), 0);
}

#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103
#endif

/*
 * Send a UDP datagram of 2500 bytes in segments of 1000 (UDP_SEGMENT) from
 * each of N sockets through kni0, whose queues spread them by flow: PLAIN,
 * whose dataplane took on nothing, gets the three segments of each, with
 * complete checksums; GSO, whose dataplane segments, gets each whole over
 * a chain of two frames.
 */
static void mixed_gso(struct __test_metadata *_metadata,
		      struct uqueue *plain, struct uqueue *gso, __u32 n)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_port = htons(4000),
		.sin_addr.s_addr = htonl(0x0a000001),
	};
	static char payload[2500];
	__u32 i, rs = plain->at.ring_size;
	int s, seg = 1000;

	give_alloc(plain, rs, 64);
	give_alloc(gso, rs, 64);
	kick_if_needed(plain);
	kick_if_needed(gso);
	for (i = 0; i < n; i++) {
		s = socket(AF_INET, SOCK_DGRAM, 0);
		ASSERT_GE(s, 0);
		ASSERT_EQ(setsockopt(s, IPPROTO_UDP, UDP_SEGMENT, &seg,
				     sizeof(seg)), 0);
		ASSERT_EQ(sendto(s, payload, sizeof(payload), 0,
				 (struct sockaddr *)&to, sizeof(to)),
			  sizeof(payload));
		close(s);
	}
	WAIT_UNTIL(entries(&plain->tx) / 3 + entries(&gso->tx) / 2 == n, 10);
	ASSERT_EQ(entries(&plain->tx) % 3, 0);
	ASSERT_EQ(entries(&gso->tx) % 2, 0);
	ASSERT_EQ(entries(&plain->tx) / 3 + entries(&gso->tx) / 2, n);
	for (i = 0; i < entries(&plain->tx); i++) {
		struct kni_desc *d = cons_desc(&plain->tx, i);

		ASSERT_EQ(d->flags & KNI_DESC_F_NEXT, 0);
		ASSERT_EQ(d->len, 42 + (i % 3 < 2 ? 1000 : 500));
		ASSERT_TRUE(udp_csum_ok(frame(plain, d->addr)));
	}
	for (i = 0; i < entries(&gso->tx); i++) {
		struct kni_desc *d = cons_desc(&gso->tx, i);
		const struct virtio_net_hdr *h = (const void *)
			frame(gso, d->addr - gso->at.headroom);

		ASSERT_EQ(!!(d->flags & KNI_DESC_F_NEXT), i % 2 == 0);
		if (i % 2 == 0) {
			ASSERT_EQ(h->gso_type, VIRTIO_NET_HDR_GSO_UDP_L4);
			ASSERT_EQ(h->gso_size, 1000);
		}
	}
	/* Both queues took some: the odds of all on one are 2^-(n-1). */
	ASSERT_GT(entries(&plain->tx), 0);
	ASSERT_GT(entries(&gso->tx), 0);
	consume(&plain->tx, entries(&plain->tx));
	consume(&gso->tx, entries(&gso->tx));
	ASSERT_EQ(queue_stat("kni0", "tx0_drops") +
		  queue_stat("kni0", "tx1_drops"), 0);
}

/* Every offload there is: checksums, chains and segmentation. */
#define GSO_OFFLOADS	(KNI_OFFLOAD_CSUM | KNI_OFFLOAD_CHAIN | \
			 KNI_OFFLOAD_TSO4 | KNI_OFFLOAD_TSO6 | KNI_OFFLOAD_USO)

/*
 * Offloads are negotiated per queue: the kernel takes on the ones it knows
 * of those asked for and says so, with room for the metadata in every
 * frame; a dataplane that asks for none gets no metadata. The device
 * offers checksum offload (and with it scatter-gather) to the stack only
 * while a queue that completes checksums is attached, segmentation only
 * while one that segments is, and a queue whose dataplane does not
 * complete checksums or segment still gets complete, segmented packets.
 * Segmentation is taken on only with checksums and chains.
 */
TEST(offload_negotiation)
{
	struct uqueue plain, csum, again;

	ASSERT_EQ(setup_netns(2, ""), 0);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GTXCSUM), 0);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GSG), 0);

	ASSERT_EQ(uq_attach_offloads(&plain, "kni0", 0, 0, 0, 0), 0);
	ASSERT_EQ(plain.at.offloads, 0);
	ASSERT_EQ(plain.at.meta_size, 0);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GTXCSUM), 0);

	/* Segmentation is not taken on without checksums and chains. */
	ASSERT_EQ(uq_attach_offloads(&csum, "kni0", 1, 0, 0,
				     KNI_OFFLOAD_TSO4), 0);
	ASSERT_EQ(csum.at.offloads, 0);
	ASSERT_EQ(csum.at.meta_size, 0);
	uq_close(&csum);
	ASSERT_EQ(uq_attach_offloads(&csum, "kni0", 1, 0, 0,
				     KNI_OFFLOAD_CSUM | KNI_OFFLOAD_USO), 0);
	ASSERT_EQ(csum.at.offloads, KNI_OFFLOAD_CSUM);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GTSO), 0);
	ASSERT_EQ(sh("ethtool -k kni0 | grep -q 'tx-udp-segmentation: off'"), 0);
	uq_close(&csum);
	ASSERT_EQ(uq_attach_offloads(&csum, "kni0", 1, 0, 0,
				     KNI_OFFLOAD_CHAIN | KNI_OFFLOAD_TSO6), 0);
	ASSERT_EQ(csum.at.offloads, KNI_OFFLOAD_CHAIN);
	ASSERT_EQ(csum.at.meta_size, sizeof(struct virtio_net_hdr));
	uq_close(&csum);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GTXCSUM), 0);

	/* Every bit asked for: only what this kernel knows is taken on. */
	ASSERT_EQ(uq_attach_offloads(&csum, "kni0", 1, 0, 0, ~0U), 0);
	ASSERT_EQ(csum.at.offloads, GSO_OFFLOADS);
	ASSERT_EQ(csum.at.meta_size, sizeof(struct virtio_net_hdr));
	ASSERT_LE(csum.at.meta_size, csum.at.headroom);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GTXCSUM), 1);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GSG), 1);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GTSO), 1);
	ASSERT_EQ(sh("ethtool -k kni0 | grep -q 'tx-udp-segmentation: on'"), 0);
	ASSERT_EQ(sh("ethtool -k kni0 | grep -q 'tx-tcp6-segmentation: on'"), 0);
	/* The administrator may still turn it off, and on again. */
	ASSERT_EQ(sh("ethtool -K kni0 tx off"), 0);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GTXCSUM), 0);
	ASSERT_EQ(sh("ethtool -K kni0 tx on"), 0);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GTXCSUM), 1);

	mixed_queues(_metadata, &plain, &csum, 24);
	mixed_gso(_metadata, &plain, &csum, 16);

	uq_close(&csum);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GTXCSUM), 0);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GSG), 0);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GTSO), 0);

	/* Attaching again brings it back, without segmentation. */
	ASSERT_EQ(uq_attach_offloads(&again, "kni0", 1, 0, 0,
				     KNI_OFFLOAD_CSUM), 0);
	ASSERT_EQ(again.at.offloads, KNI_OFFLOAD_CSUM);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GTXCSUM), 1);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GTSO), 0);
	uq_close(&again);
	uq_close(&plain);
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GTXCSUM), 0);
}

FIXTURE(offload)
{
	struct uqueue uq;
	unsigned char mac[ETH_ALEN];
	int s;
};

FIXTURE_VARIANT(offload)
{
	__u32 offloads;
};

FIXTURE_VARIANT_ADD(offload, none)
{
	.offloads = 0,
};

FIXTURE_VARIANT_ADD(offload, csum)
{
	.offloads = KNI_OFFLOAD_CSUM,
};

FIXTURE_VARIANT_ADD(offload, gso)
{
	.offloads = GSO_OFFLOADS,
};

/*
 * kni0 at 10.0.0.2 with 10.0.0.1 behind it, a UDP socket bound to
 * 10.0.0.2:4242, and a dataplane that took on the variant's offloads.
 */
FIXTURE_SETUP(offload)
{
	ASSERT_EQ(setup_netns(0, ""), 0);
	ASSERT_EQ(uq_attach_offloads(&self->uq, "kni0", 0, 0, 0,
				     variant->offloads), 0);
	ASSERT_EQ(self->uq.at.offloads, variant->offloads);
	ASSERT_EQ(kni0_ipv4(), 0);
	ASSERT_EQ(kni0_mac(self->mac), 0);
	self->s = udp_socket_on(4242);
	ASSERT_GE(self->s, 0);
}

FIXTURE_TEARDOWN(offload)
{
	close(self->s);
	uq_close(&self->uq);
}

/*
 * From the stack: with KNI_OFFLOAD_CSUM a UDP datagram comes with its
 * checksum left to complete (NEEDS_CSUM at the UDP header), and completing
 * it as the metadata says gives the right one; without, it comes complete
 * and the start of the frame is left alone.
 */
TEST_F_TIMEOUT(offload, tx_checksum, 60)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_port = htons(4000),
		.sin_addr.s_addr = htonl(0x0a000001),
	};
	static const char payload[] = "checksum me, or have it done";
	struct uqueue *uq = &self->uq;
	const struct virtio_net_hdr *h;
	unsigned char *f, *pkt;
	struct kni_desc *d;
	__u16 start, off;

	f = frame(uq, 0);
	memset(f, 0xa5, uq->at.headroom);
	/* With segmentation, room for the longest chain; frame 0 first. */
	give_alloc(uq, 0, TX_ROOM);
	kick_if_needed(uq);
	ASSERT_EQ(sendto(self->s, payload, sizeof(payload), 0,
			 (struct sockaddr *)&to, sizeof(to)), sizeof(payload));
	ASSERT_TRUE(wait_entries(uq, &uq->tx, 1));
	d = cons_desc(&uq->tx, 0);
	ASSERT_EQ(d->len, ETH_HLEN + 20 + 8 + sizeof(payload));
	ASSERT_EQ(d->addr, uq->at.headroom);
	pkt = frame(uq, d->addr);
	h = (const struct virtio_net_hdr *)f;

	if (!variant->offloads) {
		ASSERT_TRUE(udp_csum_ok(pkt));
		for (off = 0; off < uq->at.headroom; off++)
			ASSERT_EQ(f[off], 0xa5) TH_LOG("headroom byte %u", off);
	} else {
		ASSERT_EQ(h->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		ASSERT_EQ(h->gso_type, VIRTIO_NET_HDR_GSO_NONE);
		start = h->csum_start;
		off = h->csum_offset;
		ASSERT_EQ(start, ETH_HLEN + 20);
		ASSERT_EQ(off, 6);
		ASSERT_FALSE(udp_csum_ok(pkt));
		put16(pkt + start + off,
		      csum_fold(csum_add(0, pkt + start, d->len - start)));
		ASSERT_TRUE(udp_csum_ok(pkt));
		/* Past the metadata, the headroom is the dataplane's. */
		for (off = uq->at.meta_size; off < uq->at.headroom; off++)
			ASSERT_EQ(f[off], 0xa5) TH_LOG("headroom byte %u", off);
	}
	consume(&uq->tx, 1);
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 0);
}

/*
 * A VLAN on kni0 offers what kni0 offers: a datagram sent on kni0.10
 * comes tagged, with its checksum left to the dataplane that took on
 * KNI_OFFLOAD_CSUM, the checksum's start after the tag.
 */
TEST_F_TIMEOUT(offload, tx_checksum_vlan, 60)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_port = htons(4000),
		.sin_addr.s_addr = htonl(0x0a000a01),
	};
	static const char payload[] = "tagged, and checksummed late";
	struct uqueue *uq = &self->uq;
	const struct virtio_net_hdr *h;
	unsigned char *pkt;
	struct kni_desc *d;
	int s;

	ASSERT_EQ(sh("%s && %s && %s && %s",
		     "ip link add link kni0 name kni0.10 type vlan id 10",
		     "ip link set kni0.10 up",
		     "ip addr add 10.0.10.2/24 dev kni0.10",
		     "ip neigh add 10.0.10.1 lladdr 02:00:00:00:00:01 dev kni0.10"),
		  0);
	s = socket(AF_INET, SOCK_DGRAM, 0);
	ASSERT_GE(s, 0);
	give_alloc(uq, 0, TX_ROOM);
	kick_if_needed(uq);
	ASSERT_EQ(sendto(s, payload, sizeof(payload), 0,
			 (struct sockaddr *)&to, sizeof(to)), sizeof(payload));
	close(s);
	ASSERT_TRUE(wait_entries(uq, &uq->tx, 1));
	d = cons_desc(&uq->tx, 0);
	ASSERT_EQ(d->len, ETH_HLEN + 4 + 20 + 8 + sizeof(payload));
	pkt = frame(uq, d->addr);
	/* The 802.1Q tag, VLAN 10, in the packet. */
	ASSERT_EQ(pkt[12], 0x81);
	ASSERT_EQ(pkt[13], 0x00);
	ASSERT_EQ(pkt[15], 10);
	h = (const struct virtio_net_hdr *)frame(uq, 0);
	if (variant->offloads) {
		ASSERT_EQ(h->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		ASSERT_EQ(h->csum_start, ETH_HLEN + 4 + 20);
		ASSERT_EQ(h->csum_offset, 6);
	}
	consume(&uq->tx, 1);
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 0);
}

/*
 * To the stack: a datagram whose checksum is only the pseudo header's, as
 * a partial one is, reaches its socket when the metadata says to complete
 * it (NEEDS_CSUM), and one with a wrong checksum when the metadata says it
 * was verified (DATA_VALID). Without offloads the same bytes in the
 * headroom mean nothing: both are dropped by UDP as bad checksums.
 */
TEST_F_TIMEOUT(offload, rx_checksum, 60)
{
	static const char *const payloads[] = { "partial", "verified" };
	struct uqueue *uq = &self->uq;
	__u32 i, fs = uq->at.frame_size;
	long long errs;
	char buf[64];

	errs = udp_csum_errors();
	ASSERT_GE(errs, 0);
	for (i = 0; i < 2; i++) {
		struct kni_desc *d = prod_desc(&uq->rx, 0);
		unsigned char *f = frame(uq, (__u64)i * fs);
		struct virtio_net_hdr *h = (struct virtio_net_hdr *)f;
		unsigned char *pkt = f + 64, *ip = pkt + ETH_HLEN;
		__u32 len, ulen;

		len = udp_frame(pkt, self->mac, 4242, payloads[i], i == 1);
		ulen = len - ETH_HLEN - 20;
		memset(h, 0, sizeof(*h));
		if (i == 0) {
			/* What the stack leaves in a partial checksum. */
			put16(ip + 26, ~csum_fold(csum_add(IPPROTO_UDP + ulen,
							   ip + 12, 8)) & 0xffff);
			h->flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			h->csum_start = ETH_HLEN + 20;
			h->csum_offset = 6;
		} else {
			h->flags = VIRTIO_NET_HDR_F_DATA_VALID;
		}
		ASSERT_FALSE(udp_csum_ok(pkt));
		d->addr = (__u64)i * fs + 64;
		d->len = len;
		d->flags = 0;
		produce(&uq->rx, 1);
		kick_if_needed(uq);
		if (variant->offloads) {
			ASSERT_EQ(recv(self->s, buf, sizeof(buf), 0),
				  strlen(payloads[i]));
			ASSERT_EQ(memcmp(buf, payloads[i], strlen(payloads[i])), 0);
		} else {
			WAIT_UNTIL(udp_csum_errors() == errs + i + 1, 10);
			ASSERT_EQ(udp_csum_errors(), errs + i + 1);
		}
	}
	ASSERT_TRUE(wait_entries(uq, &uq->free, 2));
	for (i = 0; i < 2; i++)
		ASSERT_EQ(cons_desc(&uq->free, i)->flags, 0);
	consume(&uq->free, 2);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), 2);
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), 0);
	if (variant->offloads)
		ASSERT_EQ(udp_csum_errors(), errs);
}

/*
 * Wrong metadata is a counted drop, its descriptor returned marked, and
 * never reaches the stack: a flag or gso_type kni does not take, a
 * checksum to complete that starts or ends beyond the packet's headers,
 * a packet over the metadata. The same headroom without offloads is the
 * dataplane's own: every packet passes (and UDP drops the ones whose
 * checksum is wrong).
 */
TEST_F_TIMEOUT(offload, rx_bad_metadata, 60)
{
	static const struct {
		const char *what;
		__u8 flags;
		__u8 gso_type;
		__u16 gso_size;
		__u16 csum_start;
		__u16 csum_offset;
		__u32 at;	/* where the packet starts in its frame */
		__u16 hdr_len;
		__u32 ok_with;	/* offloads with which it is valid */
	} bad[] = {
		{ "unknown flag", 1U << 2, 0, 0, 0, 0, 64 },
		{ "gso TCPv4 (too short to segment)", 0,
		  VIRTIO_NET_HDR_GSO_TCPV4, 1000, 0, 0, 64, 0,
		  KNI_OFFLOAD_TSO4 },
		{ "gso UDP_L4 without a checksum to complete", 0,
		  VIRTIO_NET_HDR_GSO_UDP_L4, 100, 0, 0, 64 },
		{ "unknown gso_type", 0, 0x42, 100, 0, 0, 64 },
		{ "gso UDP (fragmentation)", 0, VIRTIO_NET_HDR_GSO_UDP, 100,
		  0, 0, 64 },
		{ "gso UDP_L4 with ECN", VIRTIO_NET_HDR_F_NEEDS_CSUM,
		  VIRTIO_NET_HDR_GSO_UDP_L4 | VIRTIO_NET_HDR_GSO_ECN, 100,
		  ETH_HLEN + 20, 6, 64 },
		{ "gso_size 0", 0, VIRTIO_NET_HDR_GSO_TCPV4, 0, 0, 0, 64 },
		{ "gso TCPv4 checksum not in the TCP header",
		  VIRTIO_NET_HDR_F_NEEDS_CSUM, VIRTIO_NET_HDR_GSO_TCPV4, 1000,
		  ETH_HLEN + 20, 6, 64 },
		{ "hdr_len beyond the packet", 0, 0, 0, 0, 0, 64, 2000 },
		{ "csum_start beyond the packet", VIRTIO_NET_HDR_F_NEEDS_CSUM,
		  0, 0, 1000, 6, 64 },
		{ "csum_offset beyond the packet", VIRTIO_NET_HDR_F_NEEDS_CSUM,
		  0, 0, ETH_HLEN + 20, 200, 64 },
		{ "csum_start in the Ethernet header",
		  VIRTIO_NET_HDR_F_NEEDS_CSUM, 0, 0, 4, 6, 64 },
		{ "packet over the metadata", 0, 0, 0, 0, 0, 2 },
	};
	__u32 i, n = ARRAY_SIZE(bad), fs = self->uq.at.frame_size;
	struct uqueue *uq = &self->uq;
	__u32 dropped = 0;

	/* Dropped for their metadata, the skb says so to drop monitors. */
	ASSERT_EQ(trace_start(DROP_EVENT, "0"), 0);

	for (i = 0; i < n; i++) {
		struct kni_desc *d = prod_desc(&uq->rx, i);
		unsigned char *f = frame(uq, (__u64)i * fs);
		struct virtio_net_hdr *h = (struct virtio_net_hdr *)f;

		d->len = udp_frame(f + bad[i].at, self->mac, 4243,
				   bad[i].what, false);
		memset(h, 0, sizeof(*h));
		h->flags = bad[i].flags;
		h->gso_type = bad[i].gso_type;
		h->gso_size = bad[i].gso_size;
		h->csum_start = bad[i].csum_start;
		h->csum_offset = bad[i].csum_offset;
		h->hdr_len = bad[i].hdr_len;
		d->addr = (__u64)i * fs + bad[i].at;
		d->flags = 0;
	}
	produce(&uq->rx, n);
	kick_if_needed(uq);
	ASSERT_TRUE(wait_entries(uq, &uq->free, n));
	for (i = 0; i < n; i++) {
		bool drop = variant->offloads &&
			    (!bad[i].ok_with ||
			     (variant->offloads & bad[i].ok_with) != bad[i].ok_with);

		dropped += drop;
		ASSERT_EQ(cons_desc(&uq->free, i)->flags,
			  drop ? KNI_DESC_F_DROPPED : 0)
			TH_LOG("%s", bad[i].what);
	}
	consume(&uq->free, n);
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), dropped);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), n - dropped);
	ASSERT_EQ(trace_stop(DROP_EVENT), 0);
	/* The last never became an skb: its descriptor was refused. */
	ASSERT_EQ(traced("reason: DEV_HDR$"), dropped ? dropped - 1 : 0);
}

/*
 * At F, an IPv4 (or with V6 an IPv6) packet from the peer behind kni0
 * (10.0.0.1, fd00::1) to kni0 (10.0.0.2, fd00::2) or with ROUTED to a host
 * routed through the peer (10.0.1.5, fd00:1::5), sent to the Ethernet
 * address DST: a UDP datagram or a TCP segment from port 4000 to 4242 with
 * PLEN bytes of payload. Its L4 checksum is right, or with PARTIAL only
 * the pseudo header's, as the stack leaves one to complete. Returns the
 * frame's length; *CSUM_START and *CSUM_OFFSET say where the checksum is.
 */
static __u32 ip_frame(unsigned char *f, const unsigned char *dst, bool v6,
		      __u8 proto, __u32 plen, bool routed, bool partial,
		      __u16 *csum_start, __u16 *csum_offset)
{
	static const unsigned char src[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
	__u32 iphl = v6 ? 40 : 20, l4hl = proto == IPPROTO_TCP ? 20 : 8;
	__u32 l4len = l4hl + plen, i, sum;
	unsigned char *ip = f + ETH_HLEN, *l4 = ip + iphl;
	__u16 off = proto == IPPROTO_TCP ? 16 : 6;

	memcpy(f, dst, ETH_ALEN);
	memcpy(f + ETH_ALEN, src, ETH_ALEN);
	put16(f + 12, v6 ? ETH_P_IPV6 : ETH_P_IP);
	memset(ip, 0, iphl + l4hl);
	if (v6) {
		ip[0] = 0x60;
		put16(ip + 4, l4len);
		ip[6] = proto;
		ip[7] = 64;
		ip[8] = 0xfd;
		ip[23] = 1;
		ip[24] = 0xfd;
		ip[27] = routed;
		ip[39] = routed ? 5 : 2;
		sum = csum_add(proto + l4len, ip + 8, 32);
	} else {
		ip[0] = 0x45;
		put16(ip + 2, iphl + l4len);
		ip[8] = 64;
		ip[9] = proto;
		ip[12] = 10;
		ip[15] = 1;
		ip[16] = 10;
		ip[18] = routed;
		ip[19] = routed ? 5 : 2;
		put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
		sum = csum_add(proto + l4len, ip + 12, 8);
	}
	put16(l4, 4000);
	put16(l4 + 2, 4242);
	if (proto == IPPROTO_TCP) {
		l4[7] = 1;		/* seq 1 */
		l4[12] = 5 << 4;	/* no options */
		l4[13] = 0x18;		/* PSH, ACK */
		put16(l4 + 14, 65535);
	} else {
		put16(l4 + 4, l4len);
	}
	for (i = 0; i < plen; i++)
		l4[l4hl + i] = (unsigned char)(i * 7 + 3);
	if (partial)
		put16(l4 + off, ~csum_fold(sum) & 0xffff);
	else
		put16(l4 + off, csum_fold(csum_add(sum, l4, l4len)) ?: 0xffff);
	*csum_start = ETH_HLEN + iphl;
	*csum_offset = off;
	return ETH_HLEN + iphl + l4len;
}

/*
 * Post the LEN bytes at PKT on rx, with the metadata H: in frame FIRST
 * from byte 64 and in the frames after it, PARTS[i] bytes in each (the
 * last takes the rest), chained. Returns the descriptors posted.
 */
static __u32 post_chain(struct uqueue *uq, __u32 first, const unsigned char *pkt,
			__u32 len, const struct virtio_net_hdr *h,
			const __u32 *parts, __u32 nparts)
{
	__u32 i, off = 0, fs = uq->at.frame_size;

	memcpy(frame(uq, (__u64)first * fs), h, sizeof(*h));
	for (i = 0; i < nparts; i++) {
		struct kni_desc *d = prod_desc(&uq->rx, i);
		__u32 at = i ? 0 : 64;
		__u32 part = i + 1 < nparts ? parts[i] : len - off;

		d->addr = (__u64)(first + i) * fs + at;
		d->len = part;
		d->flags = i + 1 < nparts ? KNI_DESC_F_NEXT : 0;
		memcpy(frame(uq, d->addr), pkt + off, part);
		off += part;
	}
	produce(&uq->rx, nparts);
	kick_if_needed(uq);
	return nparts;
}

/*
 * Take the next packet off tx into BUF (SIZE bytes): its descriptors up to
 * the first without KNI_DESC_F_NEXT. Sets *H to its metadata and *FLAGS to
 * its first descriptor's flags. Returns its length, or 0 when none came.
 */
static __u32 take_tx(struct uqueue *uq, unsigned char *buf, __u32 size,
		     struct virtio_net_hdr *h, __u32 *flags, __u32 *descs)
{
	__u64 mask = ~(__u64)(uq->at.frame_size - 1);
	__u32 len = 0, n = 0, i;
	struct kni_desc *d;

	do {
		if (!wait_entries(uq, &uq->tx, n + 1))
			return 0;
		d = cons_desc(&uq->tx, n);
		if (!n) {
			memcpy(h, frame(uq, d->addr & mask), sizeof(*h));
			*flags = d->flags;
		}
		if (len + d->len > size)
			return 0;
		memcpy(buf + len, frame(uq, d->addr), d->len);
		len += d->len;
		n++;
	} while (d->flags & KNI_DESC_F_NEXT);
	/* The frames go back on alloc. */
	for (i = 0; i < n; i++) {
		d = prod_desc(&uq->alloc, i);
		d->addr = cons_desc(&uq->tx, i)->addr & mask;
		d->len = 0;
		d->flags = 0;
	}
	consume(&uq->tx, n);
	produce(&uq->alloc, n);
	*descs = n;
	return len;
}

/*
 * A packet spanning frames, chained with KNI_DESC_F_NEXT, reaches its
 * socket whole, in parts of any length at any place in their frames; the
 * frames come back on free as they were given. Without chains the flag
 * is refused: the descriptor is dropped and counted.
 */
TEST_F_TIMEOUT(offload, rx_chain, 60)
{
	static const __u32 parts[] = { 100, 1900, 1000, 0 };
	static unsigned char pkt[8192], buf[8192];
	struct virtio_net_hdr h = { 0 };
	struct uqueue *uq = &self->uq;
	__u16 start, off;
	__u32 len, i;

	len = ip_frame(pkt, self->mac, false, IPPROTO_UDP, 5000, false, false,
		       &start, &off);
	post_chain(uq, 0, pkt, len, &h, parts, 4);
	if (!(variant->offloads & KNI_OFFLOAD_CHAIN)) {
		/* The first part is refused; the datagram never arrives. */
		ASSERT_TRUE(wait_entries(uq, &uq->free, 4));
		ASSERT_EQ(cons_desc(&uq->free, 0)->flags,
			  KNI_DESC_F_NEXT | KNI_DESC_F_DROPPED);
		consume(&uq->free, 4);
		ASSERT_GE(queue_stat("kni0", "rx0_invalid"), 1);
		ASSERT_EQ(recv(self->s, buf, sizeof(buf), MSG_DONTWAIT), -1);
		ASSERT_EQ(errno, EAGAIN);
		return;
	}
	ASSERT_EQ(recv(self->s, buf, sizeof(buf), 0), 5000);
	ASSERT_EQ(memcmp(buf, pkt + ETH_HLEN + 28, 5000), 0);
	ASSERT_TRUE(wait_entries(uq, &uq->free, 4));
	for (i = 0; i < 4; i++)
		ASSERT_EQ(cons_desc(&uq->free, i)->flags,
			  i < 3 ? KNI_DESC_F_NEXT : 0);
	ASSERT_EQ(cons_desc(&uq->free, 2)->addr, 2ULL * uq->at.frame_size);
	ASSERT_EQ(cons_desc(&uq->free, 3)->len, len - 3000);
	consume(&uq->free, 4);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), 1);
	ASSERT_EQ(queue_stat("kni0", "rx0_bytes"), len);
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), 0);
}

/* Wait for N descriptors on free, all marked dropped, and consume them. */
static void expect_dropped(struct __test_metadata *_metadata,
			   struct uqueue *uq, __u32 n, const char *what)
{
	__u32 i;

	ASSERT_TRUE(wait_entries(uq, &uq->free, n)) TH_LOG("%s", what);
	for (i = 0; i < n; i++)
		ASSERT_TRUE(cons_desc(&uq->free, i)->flags & KNI_DESC_F_DROPPED)
			TH_LOG("%s: descriptor %u", what, i);
	consume(&uq->free, n);
}

/*
 * A malformed chain is dropped whole and counted once: one that names a
 * frame twice, one that is not whole where the producer index stops (its
 * rest, published later, is dropped too), one that never ends (the whole
 * ring of descriptors with KNI_DESC_F_NEXT), one longer than
 * KNI_CHAIN_LEN_MAX. A valid chain after them passes.
 */
TEST_F_TIMEOUT(offload, rx_bad_chain, 120)
{
	static unsigned char pkt[8192], buf[8192];
	struct virtio_net_hdr h = { 0 };
	struct uqueue *uq = &self->uq;
	__u32 i, fs = uq->at.frame_size, rs = uq->at.ring_size;
	__u32 parts[40];
	__u16 start, off;
	__u32 len;

	if (!(variant->offloads & KNI_OFFLOAD_CHAIN)) {
		/* Without chains, the flag alone is refused. */
		len = ip_frame(pkt, self->mac, false, IPPROTO_UDP, 100, false,
			       false, &start, &off);
		memcpy(frame(uq, 64), pkt, len);
		prod_desc(&uq->rx, 0)->addr = 64;
		prod_desc(&uq->rx, 0)->len = len;
		prod_desc(&uq->rx, 0)->flags = KNI_DESC_F_NEXT;
		produce(&uq->rx, 1);
		kick_if_needed(uq);
		expect_dropped(_metadata, uq, 1, "next without chains");
		ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), 1);
		ASSERT_EQ(queue_stat("kni0", "rx0_packets"), 0);
		return;
	}

	len = ip_frame(pkt, self->mac, false, IPPROTO_UDP, 3000, false, false,
		       &start, &off);
	/* A frame named twice: the last part in the frame of the second. */
	for (i = 0; i < 3; i++) {
		struct kni_desc *d = prod_desc(&uq->rx, i);

		d->addr = i ? fs + (i - 1) * 1024 : 64;
		d->len = i ? 1000 : 100;
		d->flags = i < 2 ? KNI_DESC_F_NEXT : 0;
	}
	produce(&uq->rx, 3);
	kick_if_needed(uq);
	expect_dropped(_metadata, uq, 3, "a frame named twice");
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), 1);

	/* Not whole where the producer stops; the rest comes later. */
	for (i = 0; i < 4; i++) {
		struct kni_desc *d = prod_desc(&uq->rx, i);

		d->addr = (__u64)i * fs + 64;
		d->len = 500;
		d->flags = i < 3 ? KNI_DESC_F_NEXT : 0;
	}
	produce(&uq->rx, 2);
	kick_if_needed(uq);
	expect_dropped(_metadata, uq, 2, "a chain cut short");
	produce(&uq->rx, 2);
	kick_if_needed(uq);
	expect_dropped(_metadata, uq, 2, "the rest of a chain cut short");
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), 2);

	/* A whole ring of descriptors that all say more follows. */
	for (i = 0; i < rs; i++) {
		struct kni_desc *d = prod_desc(&uq->rx, i);

		d->addr = (__u64)i * fs + 64;
		d->len = ETH_HLEN;
		d->flags = KNI_DESC_F_NEXT;
	}
	produce(&uq->rx, rs);
	kick_if_needed(uq);
	expect_dropped(_metadata, uq, rs, "a chain as long as the ring");
	prod_desc(&uq->rx, 0)->addr = 64;
	prod_desc(&uq->rx, 0)->len = ETH_HLEN;
	prod_desc(&uq->rx, 0)->flags = 0;
	produce(&uq->rx, 1);
	kick_if_needed(uq);
	expect_dropped(_metadata, uq, 1, "the end of a chain as long as the ring");
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), 3);

	/* Few enough frames, but more than KNI_CHAIN_LEN_MAX bytes. */
	i = (KNI_CHAIN_LEN_MAX + 1800) / 1800;
	ASSERT_LE(i, (KNI_CHAIN_LEN_MAX + fs - 257) / (fs - 256));
	while (i--)
		parts[i] = 1800;
	memset(frame(uq, 0), 0, sizeof(h));
	for (i = 0; i < (KNI_CHAIN_LEN_MAX + 1800) / 1800; i++) {
		struct kni_desc *d = prod_desc(&uq->rx, i);

		d->addr = (__u64)i * fs + 64;
		d->len = parts[i];
		d->flags = KNI_DESC_F_NEXT;
	}
	prod_desc(&uq->rx, i - 1)->flags = 0;
	produce(&uq->rx, i);
	kick_if_needed(uq);
	expect_dropped(_metadata, uq, i, "a chain too long");
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), 4);

	/* And a good one passes. */
	parts[0] = 1500;
	post_chain(uq, 0, pkt, len, &h, parts, 2);
	ASSERT_EQ(recv(self->s, buf, sizeof(buf), 0), 3000);
	ASSERT_EQ(memcmp(buf, pkt + ETH_HLEN + 28, 3000), 0);
	ASSERT_TRUE(wait_entries(uq, &uq->free, 2));
	ASSERT_EQ(cons_desc(&uq->free, 0)->flags, KNI_DESC_F_NEXT);
	consume(&uq->free, 2);
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), 4);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), 1);
}

/*
 * A UDP send of 4500 bytes in segments of 1000 (UDP_SEGMENT): a dataplane
 * that segments UDP gets it as one packet over a chain of frames, with
 * gso_type UDP_L4 and gso_size 1000; one that only completes checksums
 * gets the five segments, each with its checksum to complete; one that
 * took on nothing gets them complete.
 */
TEST_F_TIMEOUT(offload, tx_udp_segments, 60)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_port = htons(4000),
		.sin_addr.s_addr = htonl(0x0a000001),
	};
	static unsigned char payload[4500], buf[8192];
	struct uqueue *uq = &self->uq;
	struct virtio_net_hdr h;
	__u32 i, len, flags, descs, off = 0;
	int gso = 1000;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (unsigned char)(i * 13 + 1);
	give_alloc(uq, uq->at.ring_size, 64);
	kick_if_needed(uq);
	ASSERT_EQ(setsockopt(self->s, IPPROTO_UDP, UDP_SEGMENT, &gso,
			     sizeof(gso)), 0);
	ASSERT_EQ(sendto(self->s, payload, sizeof(payload), 0,
			 (struct sockaddr *)&to, sizeof(to)), sizeof(payload));

	if (variant->offloads & KNI_OFFLOAD_USO) {
		len = take_tx(uq, buf, sizeof(buf), &h, &flags, &descs);
		ASSERT_EQ(len, ETH_HLEN + 28 + sizeof(payload));
		ASSERT_EQ(descs, 3);
		ASSERT_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_UDP_L4);
		ASSERT_EQ(h.gso_size, 1000);
		ASSERT_EQ(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		ASSERT_EQ(h.csum_start, ETH_HLEN + 20);
		ASSERT_EQ(h.csum_offset, 6);
		ASSERT_EQ(memcmp(buf + ETH_HLEN + 28, payload, sizeof(payload)), 0);
		ASSERT_EQ(queue_stat("kni0", "tx0_packets"), 1);
		return;
	}
	for (i = 0; i < 5; i++) {
		len = take_tx(uq, buf, sizeof(buf), &h, &flags, &descs);
		ASSERT_EQ(descs, 1);
		ASSERT_EQ(len, ETH_HLEN + 28 + (i < 4 ? 1000 : 500));
		if (variant->offloads) {
			ASSERT_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_NONE);
			ASSERT_EQ(h.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		} else {
			ASSERT_TRUE(udp_csum_ok(buf));
		}
		ASSERT_EQ(memcmp(buf + ETH_HLEN + 28, payload + off, len - 42), 0);
		off += len - 42;
	}
	ASSERT_EQ(queue_stat("kni0", "tx0_packets"), 5);
}

/*
 * Chains without checksum offload: the metadata is there, but a packet on
 * rx whose metadata speaks of checksums is dropped; one whose metadata is
 * all zero passes, and the stack completes checksums before tx.
 */
TEST(offload_chain_only)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_port = htons(4000),
		.sin_addr.s_addr = htonl(0x0a000001),
	};
	static const __u8 flags[] = { VIRTIO_NET_HDR_F_NEEDS_CSUM,
				      VIRTIO_NET_HDR_F_DATA_VALID, 0 };
	static unsigned char pkt[2048], buf[2048];
	struct virtio_net_hdr h = { 0 };
	__u32 i, len, got, fl, descs;
	unsigned char mac[ETH_ALEN];
	struct uqueue uq;
	__u16 start, off;
	int s;

	ASSERT_EQ(setup_netns(0, ""), 0);
	ASSERT_EQ(uq_attach_offloads(&uq, "kni0", 0, 0, 0, KNI_OFFLOAD_CHAIN), 0);
	ASSERT_EQ(uq.at.offloads, KNI_OFFLOAD_CHAIN);
	ASSERT_EQ(uq.at.meta_size, sizeof(struct virtio_net_hdr));
	ASSERT_EQ(ethtool_get("kni0", ETHTOOL_GTXCSUM), 0);
	ASSERT_EQ(kni0_ipv4(), 0);
	ASSERT_EQ(kni0_mac(mac), 0);
	s = udp_socket_on(4242);
	ASSERT_GE(s, 0);

	len = ip_frame(pkt, mac, false, IPPROTO_UDP, 100, false, false,
		       &start, &off);
	for (i = 0; i < 3; i++) {
		h.flags = flags[i];
		h.csum_start = flags[i] ? start : 0;
		h.csum_offset = flags[i] ? off : 0;
		post_chain(&uq, i, pkt, len, &h, &len, 1);
		ASSERT_TRUE(wait_entries(&uq, &uq.free, 1));
		ASSERT_EQ(!!(cons_desc(&uq.free, 0)->flags &
			     KNI_DESC_F_DROPPED), i < 2);
		consume(&uq.free, 1);
	}
	ASSERT_EQ(recv(s, buf, sizeof(buf), 0), 100);
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), 2);

	give_alloc(&uq, uq.at.ring_size, 4);
	kick_if_needed(&uq);
	ASSERT_EQ(sendto(s, "complete", 8, 0, (struct sockaddr *)&to,
			 sizeof(to)), 8);
	got = take_tx(&uq, buf, sizeof(buf), &h, &fl, &descs);
	ASSERT_EQ(got, 42 + 8);
	ASSERT_TRUE(udp_csum_ok(buf));
	ASSERT_FALSE(h.flags & VIRTIO_NET_HDR_F_NEEDS_CSUM);
	close(s);
	uq_close(&uq);
}

/*
 * kni0 in a new namespace, with an IPv4 address, its queue 0 attached with
 * segmentation and frames of 2048 bytes, and a UDP socket in *s. Returns
 * 0, or -1 when a step failed.
 */
static int gso_queue(struct uqueue *uq, int *s)
{
	if (setup_netns(0, "") ||
	    uq_attach_offloads(uq, "kni0", 0, 0, 0, GSO_OFFLOADS) ||
	    uq->at.frame_size != 2048 || kni0_ipv4())
		return -1;
	*s = socket(AF_INET, SOCK_DGRAM, 0);
	return *s < 0 ? -1 : 0;
}

/* Send @len bytes at @buf from @s to 10.0.0.1:4000, kni0's neighbour. */
static ssize_t gso_send(int s, const void *buf, size_t len)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_port = htons(4000),
		.sin_addr.s_addr = htonl(0x0a000001),
	};

	return sendto(s, buf, len, 0, (struct sockaddr *)&to, sizeof(to));
}

/*
 * With segmentation, the subqueue runs only while alloc holds frames
 * enough for the longest chain (37 of 2048 bytes): a datagram of 17 frames
 * leaves 23 of 40, and the next one waits for the frames to come back,
 * never to be handed back to the stack. Nothing is dropped.
 */
TEST(offload_gso_stops_before_busy)
{
	static unsigned char payload[30000], buf[65536];
	struct virtio_net_hdr h;
	__u32 flags, descs, i;
	long busy = -1;
	struct uqueue uq;
	int s, gso = 1000;

	ASSERT_EQ(gso_queue(&uq, &s), 0);
	ASSERT_EQ(setsockopt(s, IPPROTO_UDP, UDP_SEGMENT, &gso, sizeof(gso)), 0);
	ASSERT_EQ(xmit_trace_start(), 0);

	give_alloc(&uq, uq.at.ring_size, TX_ROOM + 3);
	ASSERT_EQ(kick_if_needed(&uq), 0);
	for (i = 0; i < 3; i++)
		ASSERT_EQ(gso_send(s, payload, sizeof(payload)),
			  sizeof(payload));
	usleep(300000);
	ASSERT_EQ(entries(&uq.tx), 17);
	for (i = 0; i < 3; i++) {
		ASSERT_EQ(take_tx(&uq, buf, sizeof(buf), &h, &flags, &descs),
			  42 + sizeof(payload));
		ASSERT_EQ(descs, 17);
		ASSERT_EQ(h.gso_type, VIRTIO_NET_HDR_GSO_UDP_L4);
	}
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 0);
	ASSERT_EQ(xmit_trace_stop(&busy), 3);
	ASSERT_EQ(busy, 0);
	close(s);
	uq_close(&uq);
}

/*
 * The boundary itself: with segmentation, 36 frames on alloc keep even a
 * packet of one frame in the qdisc, and the 37th lets it leave.
 */
TEST(offload_gso_runs_at_the_longest_chain)
{
	static unsigned char payload[100], buf[2048];
	struct virtio_net_hdr h;
	__u32 flags, descs;
	struct uqueue uq;
	int s;

	ASSERT_EQ(gso_queue(&uq, &s), 0);

	give_alloc(&uq, uq.at.ring_size, TX_ROOM - 1);
	ASSERT_EQ(kick_if_needed(&uq), 0);
	ASSERT_EQ(gso_send(s, payload, sizeof(payload)), sizeof(payload));
	usleep(300000);
	ASSERT_EQ(kick_if_needed(&uq), 0);
	usleep(300000);
	ASSERT_EQ(entries(&uq.tx), 0);

	give_alloc(&uq, uq.at.ring_size + TX_ROOM - 1, 1);
	ASSERT_EQ(kick_if_needed(&uq), 0);
	ASSERT_EQ(take_tx(&uq, buf, sizeof(buf), &h, &flags, &descs),
		  42 + sizeof(payload));
	ASSERT_EQ(descs, 1);
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 0);
	close(s);
	uq_close(&uq);
}

/*
 * A packet socket that bypasses the qdisc records the sending CPU's queue
 * (its number modulo the queue count) in the skb, and the device's checks
 * look at that queue, before the core sends on the queue it picks from
 * it: from CPU 0 the checks see queue 1, whose dataplane completes
 * checksums, and the packet goes to queue 0, whose dataplane does not.
 * The driver completes the checksum there: the datagram arrives right.
 */
TEST(offload_bypass_other_queue)
{
	struct virtio_net_hdr h = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.csum_start = ETH_HLEN + 20,
		.csum_offset = 6,
	};
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_IP),
	};
	unsigned char pkt[sizeof(h) + 128], mac[ETH_ALEN];
	unsigned char *f = pkt + sizeof(h), *ip = f + ETH_HLEN;
	struct uqueue plain, csum;
	int one = 1, fd;
	cpu_set_t cpus, cpu0;
	__u32 len, ulen;

	ASSERT_EQ(setup_netns(2, ""), 0);
	ASSERT_EQ(uq_attach_offloads(&plain, "kni0", 0, 0, 0, 0), 0);
	ASSERT_EQ(uq_attach_offloads(&csum, "kni0", 1, 0, 0,
				     KNI_OFFLOAD_CSUM), 0);
	ASSERT_EQ(csum.at.offloads, KNI_OFFLOAD_CSUM);
	give_alloc(&plain, plain.at.ring_size, 4);
	give_alloc(&csum, csum.at.ring_size, 4);
	ASSERT_EQ(kick_if_needed(&plain), 0);
	ASSERT_EQ(kick_if_needed(&csum), 0);

	/* A datagram whose UDP checksum field holds the pseudo header's sum. */
	ASSERT_EQ(kni0_mac(mac), 0);
	len = udp_frame(f, mac, 4242, "left to complete", false);
	ulen = len - ETH_HLEN - 20;
	put16(ip + 26, ~csum_fold(csum_add(IPPROTO_UDP + ulen, ip + 12, 8)));
	memcpy(pkt, &h, sizeof(h));

	sll.sll_ifindex = (int)if_nametoindex("kni0");
	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_IP));
	ASSERT_GE(fd, 0);
	ASSERT_EQ(bind(fd, (struct sockaddr *)&sll, sizeof(sll)), 0);
	ASSERT_EQ(setsockopt(fd, SOL_PACKET, PACKET_VNET_HDR, &one,
			     sizeof(one)), 0);
	ASSERT_EQ(setsockopt(fd, SOL_PACKET, PACKET_QDISC_BYPASS, &one,
			     sizeof(one)), 0);
	ASSERT_EQ(sched_getaffinity(0, sizeof(cpus), &cpus), 0);
	CPU_ZERO(&cpu0);
	CPU_SET(0, &cpu0);
	ASSERT_EQ(sched_setaffinity(0, sizeof(cpu0), &cpu0), 0);
	ASSERT_EQ(send(fd, pkt, sizeof(h) + len, 0), sizeof(h) + len);
	ASSERT_EQ(sched_setaffinity(0, sizeof(cpus), &cpus), 0);
	close(fd);

	WAIT_UNTIL(entries(&plain.tx) + entries(&csum.tx) == 1, 10);
	ASSERT_EQ(entries(&plain.tx), 1);
	ASSERT_EQ(entries(&csum.tx), 0);
	ASSERT_EQ(cons_desc(&plain.tx, 0)->len, len);
	ASSERT_TRUE(udp_csum_ok(frame(&plain, cons_desc(&plain.tx, 0)->addr)));
	consume(&plain.tx, 1);
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 0);
	uq_close(&csum);
	uq_close(&plain);
}

/*
 * A packet that needs more alloc frames than are offered waits in the
 * qdisc with the subqueue stopped, and leaves once there are enough:
 * nothing is dropped, the segments come in order.
 */
TEST_F_TIMEOUT(offload, tx_waits_for_frames, 60)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_port = htons(4000),
		.sin_addr.s_addr = htonl(0x0a000001),
	};
	static unsigned char payload[4500], buf[8192];
	__u32 i, len, flags, descs, off = 0;
	struct uqueue *uq = &self->uq;
	__u32 rs = uq->at.ring_size;
	struct virtio_net_hdr h;
	int gso = 1000;

	for (i = 0; i < sizeof(payload); i++)
		payload[i] = (unsigned char)(i * 11 + 5);
	give_alloc(uq, rs, 2);
	kick_if_needed(uq);
	ASSERT_EQ(setsockopt(self->s, IPPROTO_UDP, UDP_SEGMENT, &gso,
			     sizeof(gso)), 0);
	ASSERT_EQ(sendto(self->s, payload, sizeof(payload), 0,
			 (struct sockaddr *)&to, sizeof(to)), sizeof(payload));
	usleep(300000);
	/*
	 * Two segments of five otherwise; with segmentation the queue never
	 * started, two frames being less than the longest chain takes.
	 */
	ASSERT_EQ(entries(&uq->tx), variant->offloads & KNI_OFFLOAD_USO ? 0 : 2);
	ASSERT_GE(queue_stat("kni0", "tx0_stops"),
		  variant->offloads & KNI_OFFLOAD_USO ? 0 : 1);
	give_alloc(uq, rs + 2, 62);
	kick_if_needed(uq);
	while (off < sizeof(payload)) {
		len = take_tx(uq, buf, sizeof(buf), &h, &flags, &descs);
		ASSERT_GT(len, 42);
		ASSERT_LE(off + len - 42, sizeof(payload));
		ASSERT_EQ(memcmp(buf + 42, payload + off, len - 42), 0);
		off += len - 42;
	}
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 0);
}

/*
 * Forwarded through kni0 and back out of it: the TCP/IPv4, TCP/IPv6 and
 * UDP/IPv4 packets a dataplane coalesced (64 + 3000 bytes, segments of
 * 1000, checksum to complete) leave as they came, unsegmented, over a
 * chain, with the same metadata: segmentation and the checksum are still
 * the dataplane's to do, never vouched for. Without segmentation, single
 * segments make the same trip: one with its checksum to complete keeps
 * it so (checksum offload), one without metadata comes as it was (none).
 */
TEST_F_TIMEOUT(offload, forward, 90)
{
	static const struct {
		bool v6;
		__u8 proto;
		__u8 gso_type;
	} kinds[] = {
		{ false, IPPROTO_TCP, VIRTIO_NET_HDR_GSO_TCPV4 },
		{ true, IPPROTO_TCP, VIRTIO_NET_HDR_GSO_TCPV6 },
		{ false, IPPROTO_UDP, VIRTIO_NET_HDR_GSO_UDP_L4 },
	};
	static unsigned char pkt[8192], buf[8192];
	bool gso = variant->offloads & KNI_OFFLOAD_TSO4;
	__u32 plen = gso ? 3000 : 1000, i, k, len, got, flags, descs;
	static const __u32 parts[] = { 1500, 0 };
	struct uqueue *uq = &self->uq;
	struct virtio_net_hdr h, th;
	unsigned char *ip;
	__u16 start, off;

	ASSERT_EQ(sh("sysctl -qw %s %s %s %s", "net.ipv4.ip_forward=1",
		     "net.ipv4.conf.all.send_redirects=0",
		     "net.ipv4.conf.kni0.send_redirects=0",
		     "net.ipv6.conf.all.forwarding=1"), 0);
	ASSERT_EQ(sh("ip route add 10.0.1.0/24 via 10.0.0.1"), 0);
	ASSERT_EQ(sh("%s && %s", "ip link set kni0 addrgenmode none",
		     "sysctl -qw net.ipv6.conf.kni0.disable_ipv6=0"), 0);
	ASSERT_EQ(sh("ip -6 addr add fd00::2/64 dev kni0 nodad"), 0);
	ASSERT_EQ(sh("ip -6 neigh add fd00::1 lladdr 02:00:00:00:00:01 dev kni0"), 0);
	ASSERT_EQ(sh("ip -6 route add fd00:1::/64 via fd00::1"), 0);
	give_alloc(uq, uq->at.ring_size, 256);
	kick_if_needed(uq);

	for (k = 0; k < 3; k++) {
		len = ip_frame(pkt, self->mac, kinds[k].v6, kinds[k].proto,
			       plen, true, variant->offloads, &start, &off);
		memset(&h, 0, sizeof(h));
		if (variant->offloads) {
			h.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM;
			h.csum_start = start;
			h.csum_offset = off;
		}
		if (gso) {
			h.gso_type = kinds[k].gso_type;
			h.gso_size = 1000;
			h.hdr_len = start + (kinds[k].proto == IPPROTO_TCP ? 20 : 8);
		}
		post_chain(uq, 2 * k, pkt, len, &h, parts, gso ? 2 : 1);

		/* Skip what else the stack sends (neighbour discovery). */
		for (i = 0; i < 16; i++) {
			got = take_tx(uq, buf, sizeof(buf), &th, &flags, &descs);
			ASSERT_NE(got, 0) TH_LOG("kind %u: nothing forwarded", k);
			if (got == len && !memcmp(buf + 12, pkt + 12, 2) &&
			    !memcmp(buf + start, pkt + start, 4))
				break;
		}
		ASSERT_LT(i, 16);
		ASSERT_EQ(descs, gso ? 2 : 1);
		/* A checksum still to complete is not vouched for. */
		if (variant->offloads)
			ASSERT_FALSE(flags & KNI_DESC_F_CSUM_VALID);
		/* One hop less; for IPv4 the header checksum follows. */
		ip = buf + ETH_HLEN;
		if (kinds[k].v6) {
			ASSERT_EQ(ip[7], 63);
			ip[7] = 64;
		} else {
			ASSERT_EQ(ip[8], 63);
			ip[8] = 64;
			ip[10] = pkt[ETH_HLEN + 10];
			ip[11] = pkt[ETH_HLEN + 11];
		}
		if (!variant->offloads) {
			ASSERT_EQ(memcmp(buf + ETH_HLEN, pkt + ETH_HLEN,
					 len - ETH_HLEN), 0);
			continue;
		}
		ASSERT_EQ(memcmp(buf + ETH_HLEN, pkt + ETH_HLEN, len - ETH_HLEN), 0);
		ASSERT_EQ(th.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
		ASSERT_EQ(th.csum_start, start);
		ASSERT_EQ(th.csum_offset, off);
		ASSERT_EQ(th.gso_type, h.gso_type);
		ASSERT_EQ(th.gso_size, h.gso_size);
		if (gso) {
			ASSERT_GE(th.hdr_len, h.hdr_len);
			ASSERT_LE(th.hdr_len, len);
		}
	}
	ASSERT_TRUE(wait_entries(uq, &uq->free, gso ? 6 : 3));
	for (i = 0; i < (gso ? 6u : 3u); i++)
		ASSERT_FALSE(cons_desc(&uq->free, i)->flags & KNI_DESC_F_DROPPED);
	consume(&uq->free, gso ? 6 : 3);
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), 0);
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 0);
}

TEST_F_TIMEOUT(kni, threaded_napi, 60)
{
	struct uqueue *uq = &self->uq;
	unsigned char buf[2048];
	int i;

	ASSERT_EQ(sh("echo 1 > /sys/class/net/kni0/threaded"), 0);
	for (i = 0; i < 64; i++)
		post_rx(uq, i, (__u64)i * uq->at.frame_size, 60 + i, i);
	produce(&uq->rx, 64);
	kick_if_needed(uq);
	for (i = 0; i < 64; i++)
		ASSERT_EQ(recv(self->pfd, buf, sizeof(buf), 0), 60 + i);
	ASSERT_EQ(sh("echo 0 > /sys/class/net/kni0/threaded"), 0);
}

static void spin_until(double t)
{
	while (mono_now() < t)
		;
}

/*
 * Wait up to ten seconds for ring R to hold N entries, without the kicks
 * wait_entries() makes: the kernel asked for none. A stall is a failure
 * only after the bound, far above what a poll of a ring takes even on a
 * debug kernel under emulation.
 */
static bool wait_unkicked(struct uring *r, __u32 n)
{
	WAIT_UNTIL(entries(r) >= n, 10);
	return entries(r) == n;
}

/*
 * The two tests below hunt a race for a while, by time: they end after
 * RACE_SECONDS (or RACE_ROUNDS rounds, on a fast machine, which is plenty)
 * and say how many rounds they made. Their timeout covers the setup, the
 * time, and a last round that waits its full bound for a stall.
 */
#define RACE_SECONDS	15
#define RACE_ROUNDS	2000

FIXTURE(race)
{
	struct uqueue uq;
};

FIXTURE_SETUP(race)
{
}

FIXTURE_TEARDOWN(race)
{
	uq_close(&self->uq);
}

/*
 * A full free ring stops a poll with descriptors left on rx. A dataplane
 * that drains free while that poll still runs (threaded NAPI, on the
 * other CPU) sees no NEED_WAKEUP and does not kick: the kernel must look
 * at free again after re-arming, or nothing moves again. The drain
 * comes a little later each round, sweeping over the poll, so that many
 * rounds make it land in that window.
 */
TEST_F_TIMEOUT(race, free_drained_during_poll, 90)
{
	struct uqueue *uq = &self->uq;
	__u32 ring, round, i, half;
	double end;

	ASSERT_EQ(setup_netns(0, "ring_size 64"), 0);
	ASSERT_EQ(uq_open(uq, 0), 0);
	ASSERT_EQ(sh("echo 1 > /sys/class/net/kni0/threaded"), 0);
	ring = uq->at.ring_size;

	/* Half the frames go through to free, which is then full. */
	for (i = 0; i < ring; i++)
		post_rx(uq, i, (__u64)i * uq->at.frame_size, 60, i);
	produce(&uq->rx, ring);
	ASSERT_EQ(kick_if_needed(uq), 0);
	ASSERT_TRUE(wait_entries(uq, &uq->free, ring));

	end = mono_now() + RACE_SECONDS;
	for (round = 1; round <= RACE_ROUNDS && mono_now() < end; round++) {
		/* The other half onto rx: the poll finds free full... */
		half = round % 2 ? ring : 0;
		for (i = 0; i < ring; i++)
			post_rx(uq, i, (__u64)(half + i) * uq->at.frame_size,
				60, i);
		produce(&uq->rx, ring);
		ASSERT_EQ(kick_if_needed(uq), 0);
		/* ...and free is drained while it runs, a bit later each round. */
		spin_until(mono_now() + (round % 50) * 0.000004);
		consume(&uq->free, ring);
		ASSERT_EQ(kick_if_needed(uq), 0);
		ASSERT_TRUE(wait_unkicked(&uq->free, ring))
			TH_LOG("rx stalled in round %u", round);
	}
	TH_LOG("%u rounds", round - 1);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), (long long)ring * round);
	ASSERT_EQ(sh("echo 0 > /sys/class/net/kni0/threaded"), 0);
}

/*
 * The same in a loopback mode, for a poll stopped for want of an alloc
 * frame: frames offered while it runs must get the packets on rx moving.
 */
TEST_F_TIMEOUT(race, alloc_given_during_loopback_poll, 90)
{
	struct uqueue *uq = &self->uq;
	__u32 ring, round, i;
	double end;

	ASSERT_EQ(setup_netns(0, "ring_size 64 loopback fifo"), 0);
	ASSERT_EQ(uq_open(uq, 0), 0);
	ASSERT_EQ(sh("echo 1 > /sys/class/net/kni0/threaded"), 0);
	ring = uq->at.ring_size;

	end = mono_now() + RACE_SECONDS;
	for (round = 1; round <= RACE_ROUNDS && mono_now() < end; round++) {
		/* Packets onto rx with no alloc frame: the poll stops... */
		for (i = 0; i < ring; i++)
			post_rx(uq, i, (__u64)i * uq->at.frame_size, 60, i);
		produce(&uq->rx, ring);
		ASSERT_EQ(kick_if_needed(uq), 0);
		/* ...and frames are offered while it runs. */
		spin_until(mono_now() + (round % 50) * 0.000004);
		give_alloc(uq, ring, ring);
		ASSERT_EQ(kick_if_needed(uq), 0);
		ASSERT_TRUE(wait_unkicked(&uq->tx, ring))
			TH_LOG("loopback stalled in round %u", round);
		ASSERT_TRUE(wait_unkicked(&uq->free, ring));
		consume(&uq->tx, ring);
		consume(&uq->free, ring);
	}
	TH_LOG("%u rounds", round - 1);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"),
		  (long long)ring * (round - 1));
	ASSERT_EQ(sh("echo 0 > /sys/class/net/kni0/threaded"), 0);
}

FIXTURE(attach)
{
	int unused;
};

FIXTURE_SETUP(attach)
{
	ASSERT_EQ(setup_netns(2, ""), 0);
}

FIXTURE_TEARDOWN(attach)
{
}

/* The rings are read and written through one mapping: O_RDWR only. */
TEST_F(attach, open_read_write_only)
{
	int fd;

	ASSERT_EQ(open("/dev/kni", O_RDONLY), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(open("/dev/kni", O_WRONLY), -1);
	ASSERT_EQ(errno, EINVAL);
	fd = open("/dev/kni", O_RDWR);
	ASSERT_GE(fd, 0);
	close(fd);
}

TEST_F(attach, bad_arguments)
{
	struct kni_attach at;
	int fd, fd2;

	fd = open("/dev/kni", O_RDWR);
	ASSERT_GE(fd, 0);

	/* Not attached yet. */
	ASSERT_EQ(ioctl(fd, KNI_IOC_KICK, 0), -1);
	ASSERT_EQ(errno, ENOTCONN);
	ASSERT_EQ(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd, 0), MAP_FAILED);
	ASSERT_EQ(errno, ENXIO);
	ASSERT_EQ(ioctl(fd, _IO(KNI_IOC_MAGIC, 0x7f)), -1);
	ASSERT_EQ(errno, ENOTTY);
	ASSERT_EQ(ioctl(fd, KNI_IOC_WAKEUPS, 3), -1);
	ASSERT_EQ(errno, EINVAL);
	/* Wakeups are the file's own: they may be set before attach. */
	ASSERT_EQ(ioctl(fd, KNI_IOC_WAKEUPS, 0), 0);
	ASSERT_EQ(ioctl(fd, KNI_IOC_WAKEUPS, 1), 0);
	/* The kick's argument is reserved. */
	ASSERT_EQ(ioctl(fd, KNI_IOC_KICK, 1), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(ioctl(fd, KNI_IOC_CARRIER, 1), -1);
	ASSERT_EQ(errno, ENOTCONN);
	ASSERT_EQ(ioctl(fd, KNI_IOC_CARRIER, 2), -1);
	ASSERT_EQ(errno, EINVAL);

	attach_args(&at, "kni0", 0);
	at.flags = 1U << 31;
	ASSERT_EQ(ioctl(fd, KNI_IOC_ATTACH, &at), -1);
	ASSERT_EQ(errno, EINVAL);
	at.flags = 0;
	/* No MTU below the minimum, none below the device's own. */
	at.max_mtu = 67;
	ASSERT_EQ(ioctl(fd, KNI_IOC_ATTACH, &at), -1);
	ASSERT_EQ(errno, EINVAL);
	at.max_mtu = 1499;
	ASSERT_EQ(ioctl(fd, KNI_IOC_ATTACH, &at), -1);
	ASSERT_EQ(errno, ERANGE);
	at.max_mtu = 0;

	/* The wrong direction bits are another ioctl; sizes: argument_size. */
	ASSERT_EQ(ioctl(fd, _IOW(KNI_IOC_MAGIC, 0x01, struct kni_attach), &at), -1);
	ASSERT_EQ(errno, ENOTTY);
	ASSERT_EQ(ioctl(fd, KNI_IOC_ATTACH, NULL), -1);
	ASSERT_EQ(errno, EFAULT);

	/* Devices and queues. */
	at.ifindex = 0;
	ASSERT_EQ(ioctl(fd, KNI_IOC_ATTACH, &at), -1);
	ASSERT_EQ(errno, ENODEV);
	at.ifindex = if_nametoindex("lo");
	ASSERT_EQ(ioctl(fd, KNI_IOC_ATTACH, &at), -1);
	ASSERT_EQ(errno, ENODEV);
	ASSERT_EQ(attach_ioctl(fd, "kni0", 2, &at), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(attach_ioctl(fd, "kni0", ~0U, &at), -1);
	ASSERT_EQ(errno, EINVAL);

	ASSERT_EQ(attach_ioctl(fd, "kni0", 1, &at), 0);
	ASSERT_GT(at.mmap_size, 0);

	/* Once per file, once per queue. */
	ASSERT_EQ(attach_ioctl(fd, "kni0", 0, &at), -1);
	ASSERT_EQ(errno, EBUSY);
	fd2 = open("/dev/kni", O_RDWR);
	ASSERT_GE(fd2, 0);
	ASSERT_EQ(attach_ioctl(fd2, "kni0", 1, &at), -1);
	ASSERT_EQ(errno, EBUSY);
	ASSERT_EQ(attach_ioctl(fd2, "kni0", 0, &at), 0);

	/* Mappings: offset 0 only, no larger than the region. */
	ASSERT_EQ(mmap(NULL, at.mmap_size + 4096, PROT_READ, MAP_SHARED, fd2, 0),
		  MAP_FAILED);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(mmap(NULL, 4096, PROT_READ, MAP_SHARED, fd2, 4096), MAP_FAILED);
	ASSERT_EQ(errno, EINVAL);

	/* Closing releases the queue. */
	close(fd);
	fd = open("/dev/kni", O_RDWR);
	ASSERT_EQ(attach_ioctl(fd, "kni0", 1, &at), 0);
	close(fd);
	close(fd2);
}

/* KNI_IOC_ATTACH for a struct kni_attach of SIZE bytes. */
#define KNI_IOC_ATTACH_SIZE(size) \
	_IOC(_IOC_READ | _IOC_WRITE, KNI_IOC_MAGIC, 0x01, (size))

/*
 * The ioctl number carries the size of the caller's structure. Smaller
 * than the first one (KNI_ATTACH_SIZE_VER0, this header's) is refused,
 * whatever it holds, also without its last fields; larger than this
 * header's is a newer header's, accepted when the fields this kernel does
 * not know are 0. The kernel writes back the caller's bytes and not one
 * more, and ignores what the output fields held.
 */
TEST_F(attach, argument_size)
{
	alignas(8) unsigned char buf[sizeof(struct kni_attach) + 32];
	const size_t size = sizeof(struct kni_attach);
	const size_t smaller[] = {
		16, offsetof(struct kni_attach, offloads), size - 4, size - 1
	};
	const size_t tail[] = { 0, 7, 15 };
	struct kni_attach at, *out = (struct kni_attach *)buf;
	unsigned int i;
	int fd;

	ASSERT_EQ(size, KNI_ATTACH_SIZE_VER0);
	fd = open("/dev/kni", O_RDWR);
	ASSERT_GE(fd, 0);
	attach_args(&at, "kni0", 0);

	for (i = 0; i < ARRAY_SIZE(smaller); i++) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf, &at, sizeof(at));
		ASSERT_EQ(ioctl(fd, KNI_IOC_ATTACH_SIZE(smaller[i]), buf), -1);
		ASSERT_EQ(errno, EINVAL) TH_LOG("%zu bytes", smaller[i]);
	}
	for (i = 0; i < ARRAY_SIZE(tail); i++) {
		memset(buf, 0, sizeof(buf));
		memcpy(buf, &at, sizeof(at));
		buf[size + tail[i]] = 1;
		ASSERT_EQ(ioctl(fd, KNI_IOC_ATTACH_SIZE(size + 16), buf), -1);
		ASSERT_EQ(errno, E2BIG) TH_LOG("byte %zu set", size + tail[i]);
	}

	/*
	 * Larger with a zero tail: attached, the tail left 0, the bytes
	 * after the caller's size left alone.
	 */
	memset(buf, 0, sizeof(buf));
	memcpy(buf, &at, sizeof(at));
	memset(buf + size + 16, 0xa5, 16);
	ASSERT_EQ(ioctl(fd, KNI_IOC_ATTACH_SIZE(size + 16), buf), 0);
	ASSERT_GT(out->mmap_size, 0);
	ASSERT_EQ(out->desc_size, sizeof(struct kni_desc));
	ASSERT_EQ(out->state_size, sizeof(struct kni_state));
	for (i = size; i < sizeof(buf); i++) {
		ASSERT_EQ(buf[i], i < size + 16 ? 0 : 0xa5)
			TH_LOG("byte %u", i);
	}
	close(fd);

	/*
	 * This header's size, with every output field and the bytes after
	 * the structure set: the outputs are overwritten, the rest is not.
	 */
	fd = open("/dev/kni", O_RDWR);
	ASSERT_GE(fd, 0);
	memset(buf, 0xa5, sizeof(buf));
	memcpy(buf, &at, offsetof(struct kni_attach, mmap_size));
	ASSERT_EQ(ioctl(fd, KNI_IOC_ATTACH, buf), 0);
	ASSERT_EQ(out->ifindex, at.ifindex);
	ASSERT_EQ(out->queue, 0);
	ASSERT_EQ(out->ring_size, 1024);
	ASSERT_EQ(out->desc_size, sizeof(struct kni_desc));
	ASSERT_EQ(out->event_size, sizeof(struct kni_event));
	ASSERT_EQ(out->state_size, sizeof(struct kni_state));
	ASSERT_EQ(out->frames % getpagesize(), 0);
	for (i = size; i < sizeof(buf); i++) {
		ASSERT_EQ(buf[i], 0xa5)
			TH_LOG("byte %u", i);
	}
	close(fd);
}

/*
 * The region is shared with the kernel: MAP_SHARED only, at offset 0, no
 * larger than mmap_size. Its pages come in as they are touched, the last
 * as well as the first, and every mapping of the file sees the same ones.
 */
TEST_F(attach, mmap)
{
	struct kni_attach at;
	unsigned char *m, *m2, *last;
	struct kni_state *st;
	long page = getpagesize();
	int fd;

	fd = open("/dev/kni", O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(attach_ioctl(fd, "kni0", 0, &at), 0);
	ASSERT_EQ(at.mmap_size % page, 0);

	ASSERT_EQ(mmap(NULL, at.mmap_size, PROT_READ | PROT_WRITE, MAP_PRIVATE,
		       fd, 0), MAP_FAILED);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(mmap(NULL, page, PROT_READ, MAP_PRIVATE, fd, 0), MAP_FAILED);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(mmap(NULL, at.mmap_size + page, PROT_READ | PROT_WRITE,
		       MAP_SHARED, fd, 0), MAP_FAILED);
	ASSERT_EQ(errno, EINVAL);

	m = mmap(NULL, at.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(m, MAP_FAILED);
	m2 = mmap(NULL, at.mmap_size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(m2, MAP_FAILED);
	/* The last page first, through one mapping; seen through the other. */
	last = m + at.mmap_size - page;
	memset(last, 0x5a, page);
	ASSERT_EQ(m2[at.mmap_size - page], 0x5a);
	ASSERT_EQ(m2[at.mmap_size - 1], 0x5a);
	m2[at.mmap_size - 1] = 0x3c;
	ASSERT_EQ(last[page - 1], 0x3c);
	/* The kernel's writes: the state block. */
	st = (struct kni_state *)(m2 + at.state);
	ASSERT_EQ(st->mtu, 1500);
	ASSERT_EQ(st->flags & KNI_STATE_F_UP, KNI_STATE_F_UP);
	ASSERT_EQ(*(__u32 *)(m + at.rx.flags), KNI_RING_F_NEED_WAKEUP);
	ASSERT_EQ(munmap(m, at.mmap_size), 0);
	ASSERT_EQ(munmap(m2, at.mmap_size), 0);

	/* A part of the region, from its start. */
	m = mmap(NULL, page, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	ASSERT_NE(m, MAP_FAILED);
	ASSERT_EQ(*(__u32 *)(m + at.rx.flags), KNI_RING_F_NEED_WAKEUP);
	ASSERT_EQ(munmap(m, page), 0);
	close(fd);
}

static int attach_in_child(bool drop_privileges)
{
	pid_t pid = fork();
	int status;

	if (pid == 0) {
		struct kni_attach at;
		int fd = open("/dev/kni", O_RDWR);

		if (drop_privileges && (setgid(65534) || setuid(65534)))
			_exit(100);
		if (attach_ioctl(fd, "kni0", 0, &at))
			_exit(errno);
		_exit(0);
	}
	if (pid < 0 || waitpid(pid, &status, 0) != pid || !WIFEXITED(status))
		return -1;
	return WEXITSTATUS(status);
}

TEST_F_TIMEOUT(attach, permissions, 60)
{
	ASSERT_EQ(attach_in_child(true), EPERM);
	ASSERT_EQ(sh("ip link set kni0 type kni owner 65534"), 0);
	ASSERT_EQ(attach_in_child(true), 0);
	ASSERT_EQ(sh("ip link set kni0 type kni owner none group 65534"), 0);
	ASSERT_EQ(attach_in_child(true), 0);
	ASSERT_EQ(sh("ip link set kni0 type kni group none"), 0);
	ASSERT_EQ(attach_in_child(true), EPERM);
	ASSERT_EQ(attach_in_child(false), 0);
}

/* Drop capability CAP from the effective set, or also from the others. */
static int cap_drop(int cap, bool all)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[CAP_TO_INDEX(cap)].effective &= ~CAP_TO_MASK(cap);
	if (all) {
		data[CAP_TO_INDEX(cap)].permitted &= ~CAP_TO_MASK(cap);
		data[CAP_TO_INDEX(cap)].inheritable &= ~CAP_TO_MASK(cap);
	}
	return syscall(SYS_capset, &hdr, data);
}

/* Raise capability CAP, still permitted, in the effective set again. */
static int cap_raise(int cap)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};
	struct __user_cap_data_struct data[_LINUX_CAPABILITY_U32S_3];

	if (syscall(SYS_capget, &hdr, data))
		return -1;
	data[CAP_TO_INDEX(cap)].effective |= CAP_TO_MASK(cap);
	return syscall(SYS_capset, &hdr, data);
}

/* The attaches of refusals_before_memlock, in the order they are made. */
enum {
	REF_FREE,	/* a free queue: the memlock limit */
	REF_BUSY_QUEUE,	/* the queue the test holds */
	REF_BUSY_FILE,	/* with the test's attached file */
	REF_QUEUE,	/* a queue the device does not have */
	REF_MTU,	/* a max_mtu below the device's MTU */
	REF_DEVICE,	/* a device that is no kni device */
	REF_PERM,	/* without CAP_NET_ADMIN */
	REF_FREE_AGAIN,	/* the free queue again: nothing was left charged */
	REF_MAX,
};

static const struct {
	const char *what;
	int err;
} refusals[REF_MAX] = {
	[REF_FREE] = { "a free queue", ENOBUFS },
	[REF_BUSY_QUEUE] = { "an attached queue", EBUSY },
	[REF_BUSY_FILE] = { "an attached file", EBUSY },
	[REF_QUEUE] = { "queue 2 of 2", EINVAL },
	[REF_MTU] = { "max_mtu 1499", ERANGE },
	[REF_DEVICE] = { "lo", ENODEV },
	[REF_PERM] = { "no CAP_NET_ADMIN", EPERM },
	[REF_FREE_AGAIN] = { "the free queue again", ENOBUFS },
};

/* An attach of refusals_before_memlock: 0 or its errno. */
static int try_attach(int fd, const char *dev, __u32 queue, __u32 max_mtu)
{
	struct kni_attach at;
	int ret;

	if (fd < 0)
		fd = open("/dev/kni", O_RDWR | O_CLOEXEC);
	else
		fd = dup(fd);
	if (fd < 0)
		return 255;
	attach_args(&at, dev, queue);
	at.max_mtu = max_mtu;
	ret = ioctl(fd, KNI_IOC_ATTACH, &at) ? errno : 0;
	close(fd);
	return ret;
}

/*
 * Attach checks everything it could refuse before it charges the region
 * to the caller's RLIMIT_MEMLOCK, and allocates it only after: a caller
 * over its limit learns what else is wrong with its attach, not that it
 * is out of locked memory. The caller is a child without CAP_IPC_LOCK
 * (which exempts from the limit) and with a limit far below the region;
 * it reports the result of each attach on a pipe.
 */
TEST_F_TIMEOUT(attach, refusals_before_memlock, 60)
{
	int fd, p[2], status, i;
	struct kni_attach at;
	unsigned char res[REF_MAX];
	pid_t pid;

	fd = open("/dev/kni", O_RDWR | O_CLOEXEC);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(attach_ioctl(fd, "kni0", 0, &at), 0);
	/* The limit below is far below the region. */
	ASSERT_GT(at.mmap_size, 1 << 20);
	ASSERT_EQ(pipe(p), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct rlimit rl = { .rlim_cur = 64 << 10, .rlim_max = 64 << 10 };

		close(p[0]);
		memset(res, 255, sizeof(res));
		if (setrlimit(RLIMIT_MEMLOCK, &rl) ||
		    cap_drop(CAP_IPC_LOCK, true))
			_exit(1);
		res[REF_FREE] = try_attach(-1, "kni0", 1, 0);
		res[REF_BUSY_QUEUE] = try_attach(-1, "kni0", 0, 0);
		res[REF_BUSY_FILE] = try_attach(fd, "kni0", 1, 0);
		res[REF_QUEUE] = try_attach(-1, "kni0", 2, 0);
		res[REF_MTU] = try_attach(-1, "kni0", 1, 1499);
		res[REF_DEVICE] = try_attach(-1, "lo", 0, 0);
		if (cap_drop(CAP_NET_ADMIN, false))
			_exit(1);
		res[REF_PERM] = try_attach(-1, "kni0", 1, 0);
		if (cap_raise(CAP_NET_ADMIN))
			_exit(1);
		res[REF_FREE_AGAIN] = try_attach(-1, "kni0", 1, 0);
		_exit(write(p[1], res, sizeof(res)) == sizeof(res) ? 0 : 1);
	}
	close(p[1]);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status) && WEXITSTATUS(status) == 0);
	ASSERT_EQ(read(p[0], res, sizeof(res)), sizeof(res));
	for (i = 0; i < REF_MAX; i++) {
		EXPECT_EQ(res[i], refusals[i].err)
			TH_LOG("%s: %s, not %s", refusals[i].what,
			       res[i] ? strerror(res[i]) : "attached",
			       strerror(refusals[i].err));
	}
	close(p[0]);

	/* The limit was the child's: the queue it could not have is free. */
	ASSERT_EQ(try_attach(-1, "kni0", 1, 0), 0);
	close(fd);
}

TEST_F(attach, other_netns)
{
	struct kni_attach at;
	int ifindex = if_nametoindex("kni0");
	int fd = open("/dev/kni", O_RDWR);

	ASSERT_GE(fd, 0);
	ASSERT_EQ(unshare(CLONE_NEWNET), 0);
	attach_args(&at, "lo", 0);
	at.ifindex = ifindex;
	ASSERT_EQ(ioctl(fd, KNI_IOC_ATTACH, &at), -1);
	ASSERT_EQ(errno, ENODEV);
	close(fd);
}

struct racer {
	pthread_barrier_t *barrier;
	int result;
	int fd;
};

static void *attach_racer(void *arg)
{
	struct racer *r = arg;
	struct kni_attach at;

	pthread_barrier_wait(r->barrier);
	r->result = attach_ioctl(r->fd, "kni0", 1, &at) ? errno : 0;
	return NULL;
}

TEST_F(attach, concurrent)
{
	struct racer racers[8];
	pthread_barrier_t barrier;
	pthread_t t[8];
	int i, winners = 0;

	pthread_barrier_init(&barrier, NULL, 8);
	for (i = 0; i < 8; i++) {
		racers[i].barrier = &barrier;
		racers[i].fd = open("/dev/kni", O_RDWR);
		ASSERT_GE(racers[i].fd, 0);
		ASSERT_EQ(pthread_create(&t[i], NULL, attach_racer, &racers[i]), 0);
	}
	for (i = 0; i < 8; i++)
		pthread_join(t[i], NULL);
	/* Only now: a close would let a late racer in. */
	for (i = 0; i < 8; i++) {
		if (racers[i].result == 0)
			winners++;
		else
			ASSERT_EQ(racers[i].result, EBUSY);
		close(racers[i].fd);
	}
	ASSERT_EQ(winners, 1);
}

/* The device goes away under an attached, mapped file. */
TEST_F_TIMEOUT(attach, delete_while_attached, 60)
{
	struct uqueue uq = {};
	struct pollfd pfd;
	int i;

	ASSERT_EQ(uq_open(&uq, 0), 0);
	give_alloc(&uq, 0, 16);
	for (i = 0; i < 16; i++)
		post_rx(&uq, i, (__u64)(16 + i) * uq.at.frame_size, 60, i);
	produce(&uq.rx, 16);
	kick_if_needed(&uq);

	ASSERT_EQ(sh("ip link del kni0"), 0);
	pfd.fd = uq.fd;
	pfd.events = POLLIN;
	ASSERT_EQ(poll(&pfd, 1, 1000), 1);
	ASSERT_EQ(pfd.revents & (POLLHUP | POLLERR), POLLHUP | POLLERR);
	ASSERT_EQ(ioctl(uq.fd, KNI_IOC_KICK, 0), -1);
	ASSERT_EQ(errno, ENODEV);
	/* The mapping is still ours. */
	memset(uq.map, 0xa5, uq.at.mmap_size);
	uq_close(&uq);
}

TEST_F_TIMEOUT(attach, delete_netns_while_attached, 90)
{
	struct uqueue uq = {};
	struct pollfd pfd;
	int self_ns, ns;

	self_ns = open("/proc/self/ns/net", O_RDONLY);
	ASSERT_GE(self_ns, 0);
	ASSERT_EQ(setup_netns(0, ""), 0);
	ns = open("/proc/self/ns/net", O_RDONLY);
	ASSERT_EQ(uq_open(&uq, 0), 0);
	ASSERT_EQ(setns(self_ns, CLONE_NEWNET), 0);
	/* The last reference to the namespace goes. */
	close(ns);

	pfd.fd = uq.fd;
	pfd.events = POLLIN;
	/* The namespace is cleaned up by a worker, in its own time. */
	ASSERT_EQ(poll(&pfd, 1, 60000), 1);
	ASSERT_EQ(pfd.revents & POLLHUP, POLLHUP);
	memset(uq.map, 0x5a, uq.at.mmap_size);
	uq_close(&uq);
	close(self_ns);
}

/*
 * The shapes a device alternates between in delete_while_attaching. The
 * first one's region is 32 MiB: attach takes a while to allocate and clear
 * it before it takes RTNL, time for the device to be replaced.
 */
static const struct shape {
	__u32 ring_size;
	__u32 frame_size;
} shapes[2] = {
	{ 1024, 16384 },
	{ 64, 2048 },
};

/* Generation G of kni0 has this address and shapes[G % 2]. */
static void gen_mac(unsigned char *mac, __u32 gen)
{
	mac[0] = 0x02;
	mac[1] = 0x6b;
	mac[2] = 0x6e;
	mac[3] = gen >> 16;
	mac[4] = gen >> 8;
	mac[5] = gen;
}

enum {
	OUT_ATTACHED,
	OUT_ENODEV,
	OUT_EAGAIN,
	OUT_EBUSY,
	OUT_GONE,	/* attached, then the kick found the device gone */
	OUT_MAX,
};

struct attacher {
	int ifindex;
	/* __atomic: set by the test, read by the thread */
	bool stop;
	__u32 gens;		/* generations created or being created */
	unsigned long count[OUT_MAX];
	char bad[256];		/* the first wrong result, if any */
};

/*
 * Check the layout UQ->at of a file attached to kni0 generation GENS - 1
 * or older: the state block holds the address of the device attached to,
 * which gives its generation, whose shape the layout must have. NULL when
 * it matches; otherwise what is wrong, in BUF. The file is mapped here.
 */
static const char *layout_mismatch(struct uqueue *uq, __u32 gens, char *buf,
				   size_t len)
{
	const struct kni_attach *at = &uq->at;
	const struct shape *want;
	struct kni_state st;
	__u32 gen;
	int err;

	/* Attached: the region stays mappable whatever became of the device. */
	err = uq_map(uq);
	if (err) {
		uq->map = NULL;
		snprintf(buf, len, "mmap: %s", strerror(-err));
		return buf;
	}
	read_state(uq, &st);
	gen = st.addr[3] << 16 | st.addr[4] << 8 | st.addr[5];
	want = &shapes[gen % 2];
	if (st.addr[0] != 0x02 || st.addr[1] != 0x6b || st.addr[2] != 0x6e ||
	    gen >= gens) {
		snprintf(buf, len,
			 "attached to %02x:%02x:%02x:%02x:%02x:%02x, not a device the test made",
			 st.addr[0], st.addr[1], st.addr[2], st.addr[3],
			 st.addr[4], st.addr[5]);
		return buf;
	}
	if (at->ring_size != want->ring_size ||
	    at->frame_size != want->frame_size ||
	    at->frame_count != 2 * want->ring_size ||
	    at->mmap_size < at->frames + (__u64)at->frame_count * at->frame_size) {
		snprintf(buf, len,
			 "generation %u has rings of %u and frames of %u, the layout %u, %u (%u frames, %llu bytes)",
			 gen, want->ring_size, want->frame_size, at->ring_size,
			 at->frame_size, at->frame_count,
			 (unsigned long long)at->mmap_size);
		return buf;
	}
	return NULL;
}

static void attach_once(struct attacher *a)
{
	struct uqueue uq = {};
	struct kni_attach at;
	int err;

	uq.fd = open("/dev/kni", O_RDWR | O_CLOEXEC);
	if (uq.fd < 0) {
		snprintf(a->bad, sizeof(a->bad), "open: %s", strerror(errno));
		return;
	}
	memset(&at, 0, sizeof(at));
	at.ifindex = a->ifindex;
	if (ioctl(uq.fd, KNI_IOC_ATTACH, &at)) {
		err = errno;
		close(uq.fd);
		switch (err) {
		case ENODEV:	/* between deletion and creation */
			a->count[OUT_ENODEV]++;
			return;
		case EAGAIN:	/* replaced by a device of the other shape */
			a->count[OUT_EAGAIN]++;
			return;
		case EBUSY:	/* the other attacher has the queue */
			a->count[OUT_EBUSY]++;
			return;
		}
		snprintf(a->bad, sizeof(a->bad), "attach: %s", strerror(err));
		return;
	}
	uq.at = at;
	if (!layout_mismatch(&uq, __atomic_load_n(&a->gens, __ATOMIC_RELAXED),
			     a->bad, sizeof(a->bad))) {
		if (ioctl(uq.fd, KNI_IOC_KICK, 0) == 0)
			a->count[OUT_ATTACHED]++;
		else if (errno == ENODEV)
			a->count[OUT_GONE]++;
		else
			snprintf(a->bad, sizeof(a->bad), "kick: %s",
				 strerror(errno));
	}
	uq_close(&uq);
}

static void *attach_loop(void *arg)
{
	struct attacher *a = arg;

	while (!__atomic_load_n(&a->stop, __ATOMIC_RELAXED) && !a->bad[0])
		attach_once(a);
	return NULL;
}

/*
 * The ip command, without "ip", that creates a generation of kni0 at an
 * index. Its arguments: the index, bytes 3 to 5 of the generation's
 * address (gen_mac()), its shape's ring_size and frame_size.
 */
#define GEN_LINK_ADD \
	"link add kni0 index %d address 02:6b:6e:%02x:%02x:%02x type kni ring_size %u frame_size %u"

/*
 * Two threads attach to queue 0 of an ifindex, in a loop, while kni0 is
 * deleted and created again at that index, alternately with two shapes
 * of rings and frames. Every attach fails with ENODEV (no device there),
 * EAGAIN (the device it sized its region for was replaced by one of the
 * other shape), EBUSY (the other thread has the queue), or attaches with
 * the layout of the device it attached to; the mapping works, and the
 * kick works or finds the device gone.
 *
 * Each round replaces the device once. The test runs for a time and
 * then reports how often each outcome came; it ends early once each
 * outcome came often enough to show the checks ran.
 */
#define REPLACE_SECONDS	30
TEST_F_TIMEOUT(attach, delete_while_attaching, 120)
{
	struct attacher a[2] = {};
	unsigned long count[OUT_MAX] = {};
	unsigned char mac[ETH_ALEN];
	__u32 gen, i, j;
	int ifindex;
	pthread_t t[2];
	double end;

	ifindex = if_nametoindex("kni0");
	ASSERT_GT(ifindex, 0);
	for (i = 0; i < 2; i++) {
		a[i].ifindex = ifindex;
		__atomic_store_n(&a[i].gens, 1, __ATOMIC_RELAXED);
	}
	/* Generation 0, at kni0's index. */
	gen_mac(mac, 0);
	ASSERT_EQ(sh("ip link del kni0 && ip " GEN_LINK_ADD " && ip link set kni0 up",
		     ifindex, mac[3], mac[4], mac[5], shapes[0].ring_size,
		     shapes[0].frame_size), 0);
	for (i = 0; i < 2; i++)
		ASSERT_EQ(pthread_create(&t[i], NULL, attach_loop, &a[i]), 0);

	end = mono_now() + REPLACE_SECONDS;
	for (gen = 1; mono_now() < end; gen++) {
		const struct shape *s = &shapes[gen % 2];

		if (a[0].bad[0] || a[1].bad[0])
			break;
		/* Enough of each outcome the race decides: it is covered. */
		if (a[0].count[OUT_ATTACHED] + a[1].count[OUT_ATTACHED] >= 5 &&
		    a[0].count[OUT_ENODEV] + a[1].count[OUT_ENODEV] >= 5 &&
		    a[0].count[OUT_EAGAIN] + a[1].count[OUT_EAGAIN] >= 5)
			break;
		gen_mac(mac, gen);
		for (i = 0; i < 2; i++)
			__atomic_store_n(&a[i].gens, gen + 1, __ATOMIC_RELAXED);
		/* One ip process: delete and create as close as it can. */
		ASSERT_EQ(sh("printf 'link del kni0\\n"
			     GEN_LINK_ADD "\\n"
			     "link set kni0 up\\n' | ip -batch -",
			     ifindex, mac[3], mac[4], mac[5], s->ring_size,
			     s->frame_size), 0);
		ASSERT_EQ(if_nametoindex("kni0"), ifindex);
	}
	for (i = 0; i < 2; i++) {
		__atomic_store_n(&a[i].stop, true, __ATOMIC_RELAXED);
		pthread_join(t[i], NULL);
		for (j = 0; j < OUT_MAX; j++)
			count[j] += a[i].count[j];
	}
	TH_LOG("%u devices: %lu attached, %lu attached but gone, %lu ENODEV, %lu EAGAIN, %lu EBUSY",
	       gen, count[OUT_ATTACHED], count[OUT_GONE], count[OUT_ENODEV],
	       count[OUT_EAGAIN], count[OUT_EBUSY]);
	/* Braces: ASSERT_*() and what it logs are two statements. */
	for (i = 0; i < 2; i++) {
		ASSERT_EQ(a[i].bad[0], 0)
			TH_LOG("%s", a[i].bad);
	}
	ASSERT_GT(count[OUT_ATTACHED] + count[OUT_GONE], 0);
}

struct link_req {
	struct nlmsghdr nlh;
	struct ifinfomsg ifi;
	char attrs[512];
};

/* Delete the device at IFINDEX: one request, no lookup by name first. */
static int link_del(int ifindex)
{
	struct link_req req = {
		.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		.nlh.nlmsg_type = RTM_DELLINK,
		.ifi.ifi_family = AF_UNSPEC,
		.ifi.ifi_index = ifindex,
	};

	return nl_request(&req.nlh);
}

/* Create kni0 at IFINDEX with address MAC and SHAPE, carrier on and up. */
static int link_add_kni0(int ifindex, const unsigned char *mac,
			 const struct shape *shape)
{
	struct link_req req = {
		.nlh.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
		.nlh.nlmsg_type = RTM_NEWLINK,
		.nlh.nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL,
		.ifi.ifi_family = AF_UNSPEC,
		.ifi.ifi_index = ifindex,
		.ifi.ifi_flags = IFF_UP,
		.ifi.ifi_change = IFF_UP,
	};
	struct rtattr *info, *data;
	__u8 carrier = 1;

	nl_put(&req.nlh, IFLA_IFNAME, "kni0", sizeof("kni0"));
	nl_put(&req.nlh, IFLA_ADDRESS, mac, ETH_ALEN);
	nl_put(&req.nlh, IFLA_CARRIER, &carrier, sizeof(carrier));
	info = nl_put(&req.nlh, IFLA_LINKINFO, NULL, 0);
	nl_put(&req.nlh, IFLA_INFO_KIND, "kni", sizeof("kni"));
	data = nl_put(&req.nlh, IFLA_INFO_DATA, NULL, 0);
	nl_put(&req.nlh, IFLA_KNI_RING_SIZE, &shape->ring_size, sizeof(__u32));
	nl_put(&req.nlh, IFLA_KNI_FRAME_SIZE, &shape->frame_size,
	       sizeof(__u32));
	nl_end(&req.nlh, data);
	nl_end(&req.nlh, info);
	return nl_request(&req.nlh);
}

/*
 * One of the steps of replaced_while_attaching, run by a thread of its
 * own so that the test can watch it wait for RTNL.
 */
struct step {
	int (*fn)(struct step *st);
	const char *const *callers;	/* of rtnl_lock(), see waits_for_rtnl() */
	/* __atomic: set by the step's thread, read by the test */
	pid_t tid;
	bool done;
	int ret;
	char wchan[64];		/* where it was last seen sleeping */
	/* the arguments */
	int ifindex;
	unsigned char mac[ETH_ALEN];
	const struct shape *shape;
	/* an attach's file and layout */
	int fd;
	struct kni_attach at;
};

static int step_del(struct step *st)
{
	return link_del(st->ifindex);
}

static int step_add(struct step *st)
{
	return link_add_kni0(st->ifindex, st->mac, st->shape);
}

static int step_attach(struct step *st)
{
	memset(&st->at, 0, sizeof(st->at));
	st->at.ifindex = st->ifindex;
	return ioctl(st->fd, KNI_IOC_ATTACH, &st->at) ? -errno : 0;
}

static void *step_thread(void *arg)
{
	struct step *st = arg;

	__atomic_store_n(&st->tid, syscall(SYS_gettid), __ATOMIC_RELAXED);
	st->ret = st->fn(st);
	__atomic_store_n(&st->done, true, __ATOMIC_RELAXED);
	return NULL;
}

/* The file /proc/self/task/TID/NAME, in BUF; empty if it cannot be read. */
static const char *task_file(pid_t tid, const char *name, char *buf,
			     size_t len)
{
	char path[64];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/self/task/%d/%s", tid, name);
	buf[0] = '\0';
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return buf;
	n = read(fd, buf, len - 1);
	buf[n > 0 ? n : 0] = '\0';
	close(fd);
	return buf;
}

/*
 * Where a thread waiting for RTNL sleeps: its wchan, the first function
 * of its stack outside the scheduler and the mutex code, is rtnl_lock(),
 * or the function that called it when rtnl_lock() ended in a tail call
 * or was inlined. Nothing else these functions call directly sleeps
 * there: attach also takes its file's mutex, which nobody else holds.
 */
static const char *const rtnl_callers[] = {
	"rtnl_lock", "rtnetlink_rcv_msg", NULL,
};

static const char *const attach_callers[] = {
	"rtnl_lock", "kni_attach", "kni_ioctl_attach", "kni_ioctl", NULL,
};

/* Whether step ST's thread sleeps taking RTNL. */
static bool waits_for_rtnl(struct step *st)
{
	pid_t tid = __atomic_load_n(&st->tid, __ATOMIC_RELAXED);
	char buf[64];
	int i;

	if (!tid || !task_file(tid, "wchan", buf, sizeof(buf))[0])
		return false;
	snprintf(st->wchan, sizeof(st->wchan), "%s", buf);
	for (i = 0; st->callers[i]; i++)
		if (!strcmp(buf, st->callers[i]))
			return true;
	return false;
}

/*
 * Start step ST; true once it waits for RTNL, false if it finished
 * first (or did not wait within ten seconds).
 */
static bool step_start(struct step *st, pthread_t *t)
{
	if (pthread_create(t, NULL, step_thread, st))
		return false;
	WAIT_UNTIL(__atomic_load_n(&st->done, __ATOMIC_RELAXED) ||
		   waits_for_rtnl(st), 10);
	return !__atomic_load_n(&st->done, __ATOMIC_RELAXED) &&
	       waits_for_rtnl(st);
}

/* Whether process PID is inside an rtnetlink request to create a link. */
static bool creates_link(pid_t pid)
{
	char path[64], buf[4096];
	ssize_t n;
	int fd;

	snprintf(path, sizeof(path), "/proc/%d/stack", pid);
	fd = open(path, O_RDONLY);
	if (fd < 0)
		return false;
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	buf[n > 0 ? n : 0] = '\0';
	return strstr(buf, "rtnl_newlink");
}

/*
 * Attach to the device at IFINDEX while, under one holder of RTNL, the
 * device is deleted and another of other sizes is created at the same
 * index, in this order: the deletion and the creation wait for RTNL
 * before the attach looks the device up, and the attach waits for it
 * after them. RTNL is a mutex, its waiters get it in the order they came:
 * the deletion, the creation, the attach, which finds a device at the
 * index that does not have the sizes it allocated its region for, and
 * fails with EAGAIN.
 *
 * The holder is an ip process creating a veth pair with many queues
 * (each a sysfs directory: slow). A round in which a step did not wait,
 * because the holder was done too soon, proves nothing; the next round's
 * veth has twice the queues. Such a round still has to end well.
 */
#define REPLACED_ROUNDS		4	/* rounds whose order was seen */
#define REPLACED_SECONDS	90	/* at most, for all rounds */
TEST_F_TIMEOUT(attach, replaced_while_attaching, 240)
{
	unsigned long seen = 0, missed = 0, eagain = 0;
	unsigned int queues = 256, gen;
	int ifindex, status;
	unsigned char mac[ETH_ALEN];
	pthread_t t[3];
	double end;
	pid_t h;

	ifindex = if_nametoindex("kni0");
	ASSERT_GT(ifindex, 0);
	ASSERT_EQ(link_del(ifindex), 0);
	gen_mac(mac, 0);
	ASSERT_EQ(link_add_kni0(ifindex, mac, &shapes[0]), 0);

	end = mono_now() + REPLACED_SECONDS;
	for (gen = 1; seen < REPLACED_ROUNDS && mono_now() < end; gen++) {
		struct step del = {
			.fn = step_del,
			.callers = rtnl_callers,
			.ifindex = ifindex,
		};
		struct step add = {
			.fn = step_add,
			.callers = rtnl_callers,
			.ifindex = ifindex,
			.shape = &shapes[gen % 2],
		};
		struct step att = {
			.fn = step_attach,
			.callers = attach_callers,
			.ifindex = ifindex,
			.fd = -1,
		};
		bool order = false, held;
		int started = 0, i;

		gen_mac(add.mac, gen);
		att.fd = open("/dev/kni", O_RDWR | O_CLOEXEC);
		ASSERT_GE(att.fd, 0);

		h = fork();
		ASSERT_GE(h, 0);
		if (h == 0) {
			char q[16];

			prctl(PR_SET_PDEATHSIG, SIGKILL);
			snprintf(q, sizeof(q), "%u", queues);
			execlp("ip", "ip", "link", "add", "kh0", "numtxqueues", q,
			       "numrxqueues", q, "type", "veth", "peer", "name",
			       "kh1", "numtxqueues", q, "numrxqueues", q, NULL);
			_exit(127);
		}
		/*
		 * Once the holder is in its request (under RTNL), each step
		 * only once the one before it waits for RTNL.
		 */
		held = WAIT_UNTIL(creates_link(h), 30);
		if (step_start(&del, &t[started++]) &&
		    step_start(&add, &t[started++]) &&
		    step_start(&att, &t[started++]))
			/* Still all three waiting: the queue is in that order. */
			order = waits_for_rtnl(&del) && waits_for_rtnl(&add);
		for (i = 0; i < started; i++)
			pthread_join(t[i], NULL);
		ASSERT_EQ(waitpid(h, &status, 0), h);
		ASSERT_TRUE(WIFEXITED(status) && !WEXITSTATUS(status));
		ASSERT_EQ(sh("ip link del kh0"), 0);

		/* Whatever happened, the device is replaced once. */
		ASSERT_EQ(del.ret, 0);
		if (started < 2)
			add.ret = step_add(&add);
		ASSERT_EQ(add.ret, 0);
		if (order) {
			seen++;
			ASSERT_EQ(att.ret, -EAGAIN)
				TH_LOG("round %u: the attach got %d", gen, att.ret);
		} else {
			missed++;
			TH_LOG("round %u (%u queues, %s): %d steps, seen in %s, %s, %s",
			       gen, queues, held ? "held" : "not seen holding",
			       started, del.wchan, add.wchan, att.wchan);
			if (queues < 4096)
				queues *= 2;
			/* Any outcome the race allows. */
			if (started == 3 && att.ret == 0) {
				struct uqueue uq = { .fd = att.fd, .at = att.at };
				char bad[256];

				ASSERT_EQ(layout_mismatch(&uq, gen + 1, bad,
							  sizeof(bad)), NULL)
					TH_LOG("%s", bad);
				munmap(uq.map, uq.at.mmap_size);
			} else if (started == 3) {
				ASSERT_TRUE(att.ret == -EAGAIN ||
					    att.ret == -ENODEV)
					TH_LOG("attach: %d", att.ret);
			}
		}
		eagain += att.ret == -EAGAIN;
		close(att.fd);
	}
	TH_LOG("%u rounds: %lu in the order sought, %lu not; %lu EAGAIN",
	       gen - 1, seen, missed, eagain);
	if (!seen)
		SKIP(return, "the RTNL holder never held it long enough");
}

/*
 * Read one byte a child writes to the pipe READ_FD to report progress,
 * waiting at most SECS seconds; the byte, or -1.
 */
static int child_says(int read_fd, int secs)
{
	struct pollfd pfd = { .fd = read_fd, .events = POLLIN };
	char c;

	if (poll(&pfd, 1, secs * 1000) != 1 || read(read_fd, &c, 1) != 1)
		return -1;
	return c;
}

/*
 * A dataplane killed while packets flow both ways, with more waiting
 * than it takes: the queue is free again and works for the next one.
 */
TEST_F_TIMEOUT(attach, kill_during_traffic, 60)
{
	struct uqueue uq = {};
	int status, i, pfd, p[2];
	long long rx0, tx0;
	pid_t pid;

	/*
	 * One queue, so that all of the stack's traffic is the child's; the
	 * stack answers the pump's ARP requests on tx.
	 */
	ASSERT_EQ(sh("ip link del kni0 && %s && %s",
		     "ip link add kni0 carrier on type kni && ip link set kni0 up",
		     "ip addr add 10.0.0.2/24 dev kni0"), 0);
	pfd = packet_socket();
	ASSERT_GE(pfd, 0);
	ASSERT_EQ(pipe(p), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		struct pump pp;

		/* Whatever becomes of the test. */
		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(p[0]);
		if (uq_open(&uq, 0))
			_exit(1);
		if (write(p[1], "a", 1) != 1)
			_exit(1);
		pump_init(&pp, &uq);
		for (;;) {
			pump_round(&pp);
			/*
			 * Both ways: rx was consumed (the pump posts again
			 * only then) and tx delivered. Say so once.
			 */
			if (pp.sent > PUMP_RX && pp.received && p[1] >= 0) {
				if (write(p[1], "t", 1) != 1)
					_exit(1);
				close(p[1]);
				p[1] = -1;
			}
		}
	}
	close(p[1]);
	ASSERT_EQ(child_says(p[0], 30), 'a');
	/* Traffic the other way too, more than the child takes. */
	for (i = 0; i < 300; i++)
		ASSERT_EQ(send_packet(pfd, 60, i), 0);
	ASSERT_EQ(child_says(p[0], 30), 't');
	rx0 = queue_stat("kni0", "rx0_packets");
	tx0 = queue_stat("kni0", "tx0_packets");
	ASSERT_GT(rx0, 0);
	ASSERT_GT(tx0, 0);
	kill(pid, SIGKILL);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFSIGNALED(status));
	close(p[0]);

	/* The queue is free again, and works. */
	ASSERT_EQ(uq_open(&uq, 0), 0);
	post_rx(&uq, 0, 0, 60, 1);
	produce(&uq.rx, 1);
	ASSERT_EQ(kick_if_needed(&uq), 0);
	ASSERT_TRUE(wait_entries(&uq, &uq.free, 1));
	ASSERT_EQ(cons_desc(&uq.free, 0)->flags, 0);
	ASSERT_GT(queue_stat("kni0", "rx0_packets"), rx0);
	uq_close(&uq);
	close(pfd);
}

static long carrier(void)
{
	return sysfs_long("kni0", "carrier");
}

/* A layout the kernel cannot write back is refused before attaching. */
TEST_F(attach, unwritable_argument)
{
	struct kni_attach at, *ro;
	struct uqueue uq = {};
	int fd, mfd;

	fd = open("/dev/kni", O_RDWR);
	ASSERT_GE(fd, 0);
	mfd = memfd_create("kni-attach", 0);
	ASSERT_GE(mfd, 0);
	ASSERT_EQ(ftruncate(mfd, 4096), 0);
	attach_args(&at, "kni0", 0);
	ASSERT_EQ(pwrite(mfd, &at, sizeof(at), 0), sizeof(at));
	ro = mmap(NULL, 4096, PROT_READ, MAP_SHARED, mfd, 0);
	ASSERT_NE(ro, MAP_FAILED);

	ASSERT_EQ(ioctl(fd, KNI_IOC_ATTACH, ro), -1);
	ASSERT_EQ(errno, EFAULT);
	/* Neither the queue nor the file was taken. */
	ASSERT_EQ(uq_open(&uq, 0), 0);
	uq_close(&uq);
	ASSERT_EQ(attach_ioctl(fd, "kni0", 0, &at), 0);
	munmap(ro, 4096);
	close(mfd);
	close(fd);
}

/* What the dataplane declared it cannot do is refused at once. */
TEST_F_TIMEOUT(attach, limits, 120)
{
	struct uqueue uq0 = {}, uq1 = {};
	char out[1024];

	ASSERT_EQ(uq_attach(&uq0, "kni0", 0, 0, 1700), 0);
	ASSERT_EQ(uq_attach(&uq1, "kni0", 1, KNI_ATTACH_F_FIXED_MAC, 1600), 0);
	ASSERT_EQ(sh_out(out, sizeof(out), "ip -d link show kni0"), 0);
	ASSERT_NE(strstr(out, "maxmtu 1600"), NULL) TH_LOG("%s", out);

	ASSERT_NE(sh_out(out, sizeof(out), "ip link set kni0 mtu 1601"), 0);
	ASSERT_NE(strstr(out, "mtu greater than device maximum"), NULL)
		TH_LOG("%s", out);
	ASSERT_EQ(sh("ip link set kni0 mtu 1600"), 0);
	/* ndo_set_mac_address says no, without a message: EBUSY. */
	ASSERT_NE(sh_out(out, sizeof(out),
			 "ip link set kni0 address 02:00:00:00:00:42"), 0);
	ASSERT_NE(strstr(out, "Device or resource busy"), NULL)
		TH_LOG("%s", out);
	ASSERT_NE(sh("grep -qx 02:00:00:00:00:42 /sys/class/net/kni0/address"), 0);

	/* Queue 1's limits go with it; queue 0's stay. */
	uq_close(&uq1);
	ASSERT_EQ(sh("ip link set kni0 address 02:00:00:00:00:42"), 0);
	ASSERT_EQ(sh("ip link set kni0 mtu 1700"), 0);
	ASSERT_NE(sh("ip link set kni0 mtu 1701 2>/dev/null"), 0);
	uq_close(&uq0);
	ASSERT_EQ(sh("ip link set kni0 mtu 1774"), 0);
	ASSERT_NE(sh("ip link set kni0 mtu 1775 2>/dev/null"), 0);
}

TEST_F_TIMEOUT(attach, carrier, 60)
{
	struct uqueue uq0 = {}, uq1 = {};

	ASSERT_EQ(carrier(), 1);
	ASSERT_EQ(uq_open(&uq0, 0), 0);
	ASSERT_EQ(uq_open(&uq1, 1), 0);
	ASSERT_EQ(ioctl(uq0.fd, KNI_IOC_CARRIER, 2), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(ioctl(uq0.fd, KNI_IOC_CARRIER, 0), 0);
	ASSERT_EQ(carrier(), 0);
	ASSERT_EQ(ioctl(uq1.fd, KNI_IOC_CARRIER, 1), 0);
	ASSERT_EQ(carrier(), 1);
	/* The standard attribute keeps working. */
	ASSERT_EQ(sh("ip link set kni0 carrier off"), 0);
	ASSERT_EQ(carrier(), 0);
	ASSERT_EQ(sh("ip link set kni0 carrier on"), 0);
	ASSERT_EQ(carrier(), 1);
	/* Off when the last file detaches, not before. */
	uq_close(&uq0);
	ASSERT_EQ(carrier(), 1);
	uq_close(&uq1);
	ASSERT_EQ(carrier(), 0);
}

/*
 * A packet from queue N reaches the stack recorded as received on queue
 * N (skb_record_rx_queue), which RPS, XPS and packet fanout use. Fanout
 * by queue mapping spreads over two sockets by the recorded mapping,
 * which is the queue + 1: queue 0 goes to the second socket, queue 1 to
 * the first. Unrecorded, both would go to the first.
 */
TEST_F_TIMEOUT(attach, rx_queue_recorded, 60)
{
	int fanout = 7 | (PACKET_FANOUT_QM << 16);
	struct uqueue uq[2] = {};
	unsigned char buf[128], want[128];
	int fd[2], q, i;

	for (i = 0; i < 2; i++) {
		fd[i] = packet_socket();
		ASSERT_GE(fd[i], 0);
		ASSERT_EQ(setsockopt(fd[i], SOL_PACKET, PACKET_FANOUT, &fanout,
				     sizeof(fanout)), 0);
	}
	for (q = 0; q < 2; q++)
		ASSERT_EQ(uq_open(&uq[q], q), 0);
	for (q = 0; q < 2; q++) {
		for (i = 0; i < 4; i++)
			post_rx(&uq[q], i, (__u64)i * uq[q].at.frame_size, 60,
				q * 4 + i);
		produce(&uq[q].rx, 4);
		ASSERT_EQ(kick_if_needed(&uq[q]), 0);
		for (i = 0; i < 4; i++) {
			ASSERT_EQ(recv(fd[(q + 1) % 2], buf, sizeof(buf), 0),
				  60) TH_LOG("queue %d packet %d", q, i);
			fill(want, 60, q * 4 + i);
			ASSERT_EQ(memcmp(buf, want, 60), 0);
		}
		ASSERT_EQ(recv(fd[q], buf, sizeof(buf), MSG_DONTWAIT), -1);
		ASSERT_EQ(errno, EAGAIN);
	}
	for (q = 0; q < 2; q++)
		uq_close(&uq[q]);
	close(fd[0]);
	close(fd[1]);
}

/* Whether "ip link show kni0" reports the flag FLAG (" FLAG," or "<FLAG,"). */
static bool link_flag(const char *flag)
{
	char out[1024], pat[64];
	char *b, *e;

	if (sh_out(out, sizeof(out), "ip link show kni0"))
		return false;
	b = strchr(out, '<');
	e = b ? strchr(b, '>') : NULL;
	if (!e)
		return false;
	*e = ',';
	e[1] = '\0';
	snprintf(pat, sizeof(pat), "%s,", flag);
	for (e = b; (e = strstr(e + 1, pat)); )
		if (e[-1] == '<' || e[-1] == ',')
			return true;
	return false;
}

/*
 * One dataplane, one file: the carrier follows KNI_IOC_CARRIER, visible
 * in sysfs and as LOWER_UP, and goes off when that file is released (its
 * last reference, the mapping, goes), not before. The device was
 * created with the standard carrier attribute (ip link add ... carrier
 * on); at creation without it the carrier is off.
 */
TEST_F_TIMEOUT(attach, carrier_one_file, 60)
{
	struct uqueue uq = {};
	int fd;

	ASSERT_EQ(carrier(), 1);
	ASSERT_TRUE(link_flag("LOWER_UP"));
	ASSERT_EQ(sh("ip link set kni0 carrier off"), 0);
	ASSERT_EQ(carrier(), 0);

	ASSERT_EQ(uq_open(&uq, 0), 0);
	ASSERT_EQ(ioctl(uq.fd, KNI_IOC_CARRIER, 1), 0);
	ASSERT_EQ(carrier(), 1);
	ASSERT_TRUE(link_flag("LOWER_UP"));
	/* The operational state follows, in its own time. */
	ASSERT_TRUE(WAIT_UNTIL(!link_flag("NO-CARRIER"), 10));
	ASSERT_EQ(ioctl(uq.fd, KNI_IOC_CARRIER, 0), 0);
	ASSERT_EQ(carrier(), 0);
	ASSERT_FALSE(link_flag("LOWER_UP"));
	ASSERT_EQ(ioctl(uq.fd, KNI_IOC_CARRIER, 1), 0);
	ASSERT_EQ(carrier(), 1);

	/* Closed, but mapped: still attached, the carrier stays. */
	fd = uq.fd;
	uq.fd = -1;
	ASSERT_EQ(close(fd), 0);
	ASSERT_EQ(carrier(), 1);
	ASSERT_EQ(munmap(uq.map, uq.at.mmap_size), 0);
	uq.map = NULL;
	ASSERT_TRUE(sysfs_wait("kni0", "carrier", 0));
	ASSERT_FALSE(link_flag("LOWER_UP"));

	/* A device created without the attribute has no carrier. */
	ASSERT_EQ(sh("ip link add kni1 type kni && ip link set kni1 up"), 0);
	ASSERT_EQ(sysfs_long("kni1", "carrier"), 0);
	ASSERT_EQ(sh("ip link del kni1"), 0);
}

/*
 * The next event but KNI_EVENT_MCAST; false when there is none. The
 * kernel posts the multicast list from a work item, after the change
 * that altered it: a while after, maybe after the events of later
 * changes, so that it has no place in the order the tests check.
 */
static bool next_event_but_mc(struct uqueue *uq, struct kni_event *ev)
{
	while (next_event(uq, ev))
		if (ev->type != KNI_EVENT_MCAST)
			return true;
	return false;
}

static void expect_event(struct __test_metadata *_metadata, struct uqueue *uq,
			 __u32 type, __u32 value)
{
	struct kni_event ev;

	ASSERT_TRUE(next_event_but_mc(uq, &ev)) TH_LOG("no event %u", type);
	ASSERT_EQ(ev.type, type);
	ASSERT_EQ(ev.value, value);
}

/*
 * Whether the multicast list in UQ's state block is the one
 * /proc/net/dev_mcast shows for kni0, in any order: the work that posts
 * it has run since the list last changed.
 */
static bool state_mc_is_kni0s(struct uqueue *uq)
{
	char line[256], name[IFNAMSIZ + 1], hex[64];
	unsigned char a[ETH_ALEN];
	struct kni_state st;
	__u32 n = 0, i, max;
	int idx, users, global;
	bool found;
	FILE *f;

	read_state(uq, &st);
	max = st.mc_count < KNI_STATE_MC_MAX ? st.mc_count : KNI_STATE_MC_MAX;
	f = fopen("/proc/net/dev_mcast", "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f)) {
		if (sscanf(line, "%d %16s %d %d %63s", &idx, name, &users,
			   &global, hex) != 5 || strcmp(name, "kni0"))
			continue;
		if (sscanf(hex, "%2hhx%2hhx%2hhx%2hhx%2hhx%2hhx", &a[0], &a[1],
			   &a[2], &a[3], &a[4], &a[5]) != ETH_ALEN)
			break;
		for (i = 0, found = false; i < max && !found; i++)
			found = !memcmp(st.mc_addr[i], a, ETH_ALEN);
		if (!found)
			break;
		n++;
	}
	found = feof(f) && n == st.mc_count;
	fclose(f);
	return found;
}

TEST_F_TIMEOUT(attach, events, 120)
{
	static const unsigned char mac[ETH_ALEN] = { 0x02, 0x11, 0x22, 0x33, 0x44, 0x55 };
	struct epoll_event pev = { .events = EPOLLPRI }, out;
	struct uqueue uq = {}, uq1 = {};
	struct kni_state st;
	struct kni_event ev;
	int ep, i;

	ASSERT_EQ(uq_open(&uq, 0), 0);
	ASSERT_EQ(uq_open(&uq1, 1), 0);
	/* A power of two; queue 1 keeps the eight events below. */
	ASSERT_EQ(uq.at.event_ring_size & (uq.at.event_ring_size - 1), 0);
	ASSERT_GE(uq.at.event_ring_size, 8);
	ASSERT_EQ(uq1.at.event_ring_size, uq.at.event_ring_size);
	read_state(&uq, &st);
	ASSERT_EQ(st.mtu, 1500);
	ASSERT_EQ(st.flags, KNI_STATE_F_UP);
	ASSERT_EQ(st.overflows, 0);
	ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, uq.fd, &pev), 0);
	ASSERT_EQ(epoll_wait(ep, &out, 1, 0), 0);

	ASSERT_EQ(sh("ip link set kni0 mtu 1400"), 0);
	ASSERT_EQ(epoll_wait(ep, &out, 1, 1000), 1);
	ASSERT_EQ(out.events & EPOLLPRI, EPOLLPRI);
	expect_event(_metadata, &uq, KNI_EVENT_MTU, 1400);

	ASSERT_EQ(sh("ip link set kni0 down"), 0);
	expect_event(_metadata, &uq, KNI_EVENT_UP, 0);
	read_state(&uq, &st);
	ASSERT_EQ(st.flags & KNI_STATE_F_UP, 0);
	ASSERT_EQ(sh("ip link set kni0 up"), 0);
	expect_event(_metadata, &uq, KNI_EVENT_UP, 1);
	/*
	 * Down and up, the stack left and joined groups: the state block
	 * follows. Once it did, nothing below changes the list.
	 */
	ASSERT_TRUE(WAIT_UNTIL(state_mc_is_kni0s(&uq), 10));

	ASSERT_EQ(sh("ip link set kni0 address 02:11:22:33:44:55"), 0);
	ASSERT_TRUE(next_event_but_mc(&uq, &ev));
	ASSERT_EQ(ev.type, KNI_EVENT_MAC);
	ASSERT_EQ(memcmp(ev.addr, mac, ETH_ALEN), 0);

	ASSERT_EQ(sh("ip link set kni0 promisc on"), 0);
	expect_event(_metadata, &uq, KNI_EVENT_PROMISC, 1);
	ASSERT_EQ(sh("ip link set kni0 allmulticast on"), 0);
	expect_event(_metadata, &uq, KNI_EVENT_ALLMULTI, 1);
	read_state(&uq, &st);
	ASSERT_EQ(st.mtu, 1400);
	ASSERT_EQ(st.flags, KNI_STATE_F_UP | KNI_STATE_F_PROMISC |
		  KNI_STATE_F_ALLMULTI);
	ASSERT_EQ(memcmp(st.addr, mac, ETH_ALEN), 0);
	ASSERT_EQ(sh("ip link set kni0 promisc off allmulticast off"), 0);
	expect_event(_metadata, &uq, KNI_EVENT_PROMISC, 0);
	expect_event(_metadata, &uq, KNI_EVENT_ALLMULTI, 0);
	ASSERT_FALSE(next_event_but_mc(&uq, &ev));
	ASSERT_EQ(epoll_wait(ep, &out, 1, 0), 0);

	/* Every attached queue hears of every change. */
	for (i = 0; next_event_but_mc(&uq1, &ev); i++)
		;
	ASSERT_EQ(i, 8);

	ASSERT_EQ(sh("ip link del kni0"), 0);
	/* Down first, then gone. */
	expect_event(_metadata, &uq, KNI_EVENT_UP, 0);
	expect_event(_metadata, &uq, KNI_EVENT_GONE, 0);
	read_state(&uq, &st);
	ASSERT_NE(st.flags & KNI_STATE_F_GONE, 0);
	close(ep);
	uq_close(&uq);
	uq_close(&uq1);
}

/*
 * The multicast list stays what it was while the device was up: closing
 * it has the stack leave its groups after ndo_set_rx_mode queued the work
 * that posts the list, which must then post nothing. Opened again, the
 * device posts the list as it is.
 */
TEST_F_TIMEOUT(attach, mcast_kept_while_down, 60)
{
	struct kni_state up, down;
	struct kni_event ev = {};
	struct uqueue uq = {};

	ASSERT_EQ(uq_open(&uq, 0), 0);
	ASSERT_EQ(sh("ip maddr add 01:00:5e:01:02:03 dev kni0"), 0);
	ASSERT_TRUE(WAIT_UNTIL(state_mc_is_kni0s(&uq), 10));
	read_state(&uq, &up);
	ASSERT_GE(up.mc_count, 2) TH_LOG("the stack's group and ours");
	while (next_event(&uq, &ev))
		;

	ASSERT_EQ(sh("ip link set kni0 down"), 0);
	expect_event(_metadata, &uq, KNI_EVENT_UP, 0);
	/* The work runs within milliseconds; give it a second. */
	usleep(1000 * 1000);
	ASSERT_FALSE(next_event(&uq, &ev)) TH_LOG("event %u", ev.type);
	read_state(&uq, &down);
	ASSERT_EQ(down.mc_count, up.mc_count);
	ASSERT_EQ(memcmp(down.mc_addr, up.mc_addr, sizeof(up.mc_addr)), 0);

	ASSERT_EQ(sh("ip maddr del 01:00:5e:01:02:03 dev kni0"), 0);
	ASSERT_EQ(sh("ip link set kni0 up"), 0);
	expect_event(_metadata, &uq, KNI_EVENT_UP, 1);
	ASSERT_TRUE(WAIT_UNTIL(state_mc_is_kni0s(&uq), 10));
	read_state(&uq, &down);
	ASSERT_EQ(down.mc_count, up.mc_count - 1);
	uq_close(&uq);
}

/*
 * A full ring loses events, never the state: half a ring more MTU changes
 * than the ring holds (its size is in the layout), all different.
 */
TEST_F_TIMEOUT(attach, event_overflow, 60)
{
	struct uqueue uq = {};
	struct kni_state st;
	struct kni_event ev;
	__u32 i, size, changes, base = 1280;

	ASSERT_EQ(uq_open(&uq, 0), 0);
	size = uq.at.event_ring_size;
	changes = size + size / 2;
	/*
	 * MTUs from base + 1 up, all below what 2048-byte frames allow and
	 * none below IPv6's minimum, which would have IPv6 leave its groups
	 * and the kernel post the multicast list. Its posting of the list
	 * of the device's creation is over once the state block holds it.
	 */
	ASSERT_LE(base + changes + 1, 1774) TH_LOG("event ring of %u", size);
	ASSERT_TRUE(WAIT_UNTIL(state_mc_is_kni0s(&uq), 10));
	while (next_event(&uq, &ev)) {
		/* Braces: ASSERT_*() is two statements. */
		ASSERT_EQ(ev.type, KNI_EVENT_MCAST);
	}
	/* One ip process for all: starting many takes a while here. */
	ASSERT_EQ(sh("for i in $(seq 1 %u); "
		     "do echo link set kni0 mtu $((%u + i)); done | ip -batch -",
		     changes, base), 0);
	for (i = 1; i <= size; i++)
		expect_event(_metadata, &uq, KNI_EVENT_MTU, base + i);
	ASSERT_FALSE(next_event(&uq, &ev));
	read_state(&uq, &st);
	ASSERT_EQ(st.mtu, base + changes);
	ASSERT_EQ(st.overflows, changes - size);
	/* Room again: the next change is posted. */
	ASSERT_EQ(sh("ip link set kni0 mtu %u", base + changes + 1), 0);
	expect_event(_metadata, &uq, KNI_EVENT_MTU, base + changes + 1);
	uq_close(&uq);
}

struct pumper {
	struct pump p;
	bool stop;		/* __atomic: read by the thread */
	int err;
};

static void *pump_thread(void *arg)
{
	struct pumper *pp = arg;
	double end = mono_now() + 60;

	/* Until the device goes, or for a minute. */
	while (!__atomic_load_n(&pp->stop, __ATOMIC_RELAXED) && mono_now() < end) {
		pp->err = pump_round(&pp->p);
		if (pp->err)
			break;
		usleep(1000);
	}
	return NULL;
}

/*
 * kni0 again with a single queue: the stack's ARP replies must find the
 * pump's queue whatever their hash.
 */
static int pump_device(void)
{
	return sh("ip link del kni0; %s && %s",
		  "ip link add kni0 carrier on type kni && ip link set kni0 up",
		  "ip addr add 10.0.0.2/24 dev kni0");
}

/* Wait up to thirty seconds for the pump to receive N packets. */
static bool pumped(struct pumper *pp, unsigned long n)
{
	return WAIT_UNTIL(pp->p.received >= n || pp->err, 30) &&
	       pp->p.received >= n;
}

/* The device is deleted while packets flow both ways. */
TEST_F_TIMEOUT(attach, delete_under_traffic, 120)
{
	struct pumper pp = {};
	struct uqueue uq = {};
	struct pollfd pfd;
	struct kni_state st;
	pthread_t t;

	ASSERT_EQ(pump_device(), 0);
	ASSERT_EQ(uq_open(&uq, 0), 0);
	pump_init(&pp.p, &uq);
	ASSERT_EQ(pthread_create(&t, NULL, pump_thread, &pp), 0);
	ASSERT_TRUE(pumped(&pp, 100));

	ASSERT_EQ(sh("ip link del kni0"), 0);
	pthread_join(t, NULL);
	ASSERT_EQ(pp.err, -ENODEV);
	pfd.fd = uq.fd;
	pfd.events = POLLIN;
	ASSERT_EQ(poll(&pfd, 1, 1000), 1);
	ASSERT_EQ(pfd.revents & POLLHUP, POLLHUP);
	read_state(&uq, &st);
	ASSERT_NE(st.flags & KNI_STATE_F_GONE, 0);
	memset(uq.map, 0x5a, uq.at.mmap_size);
	uq_close(&uq);
}

/* The device's netns goes away while packets flow both ways. */
TEST_F_TIMEOUT(attach, delete_netns_under_traffic, 90)
{
	struct pumper pp = {};
	struct uqueue uq = {};
	int self_ns, ns;
	pthread_t t;

	self_ns = open("/proc/self/ns/net", O_RDONLY);
	ASSERT_GE(self_ns, 0);
	ASSERT_EQ(setup_netns(0, ""), 0);
	ASSERT_EQ(sh("ip addr add 10.0.0.2/24 dev kni0"), 0);
	ASSERT_EQ(uq_open(&uq, 0), 0);
	ns = open("/proc/self/ns/net", O_RDONLY);
	ASSERT_GE(ns, 0);
	/* The pump runs outside the namespace, which only ns holds now. */
	ASSERT_EQ(setns(self_ns, CLONE_NEWNET), 0);
	pump_init(&pp.p, &uq);
	ASSERT_EQ(pthread_create(&t, NULL, pump_thread, &pp), 0);
	ASSERT_TRUE(pumped(&pp, 100));

	close(ns);
	pthread_join(t, NULL);
	ASSERT_EQ(pp.err, -ENODEV);
	memset(uq.map, 0xa5, uq.at.mmap_size);
	uq_close(&uq);
	close(self_ns);
}

/*
 * A stopped dataplane holds nothing up: the kernel never waits for it.
 * Each command gets thirty seconds, far more than any needs even on a
 * debug kernel under emulation: the bound only turns a hang into a
 * failure.
 */
TEST_F_TIMEOUT(attach, stopped_dataplane, 180)
{
	struct uqueue uq = {};
	int status, c[2];
	struct pump p;
	pid_t pid;

	ASSERT_EQ(pump_device(), 0);
	ASSERT_EQ(pipe(c), 0);
	pid = fork();
	ASSERT_GE(pid, 0);
	if (pid == 0) {
		int err;

		prctl(PR_SET_PDEATHSIG, SIGKILL);
		close(c[0]);
		if (uq_open(&uq, 0))
			_exit(1);
		pump_init(&p, &uq);
		do {
			err = pump_round(&p);
			/* Replies came back: packets moved both ways. */
			if (p.received && c[1] >= 0) {
				if (write(c[1], "t", 1) != 1)
					_exit(1);
				close(c[1]);
				c[1] = -1;
			}
			usleep(1000);
		} while (!err);
		_exit(err == -ENODEV && p.received ? 0 : 2);
	}
	close(c[1]);
	/* Stopped in the middle of its traffic. */
	ASSERT_EQ(child_says(c[0], 30), 't');
	close(c[0]);
	ASSERT_EQ(kill(pid, SIGSTOP), 0);
	ASSERT_EQ(waitpid(pid, &status, WUNTRACED), pid);
	ASSERT_TRUE(WIFSTOPPED(status));

	ASSERT_EQ(sh("timeout 30 ip link set kni0 mtu 1400"), 0);
	ASSERT_EQ(sh("timeout 30 ip link set kni0 down"), 0);
	ASSERT_EQ(sh("timeout 30 ip link set kni0 up"), 0);
	ASSERT_EQ(sh("timeout 30 ip link set kni0 promisc on"), 0);
	ASSERT_EQ(sh("timeout 30 ip link del kni0"), 0);

	ASSERT_EQ(kill(pid, SIGCONT), 0);
	ASSERT_EQ(waitpid(pid, &status, 0), pid);
	ASSERT_TRUE(WIFEXITED(status));
	ASSERT_EQ(WEXITSTATUS(status), 0);
}

/* Whether /sys/class/net/DEV/queues/NAME exists. */
static bool has_queue(const char *dev, const char *name)
{
	char path[128];

	snprintf(path, sizeof(path), "/sys/class/net/%s/queues/%s", dev, name);
	return access(path, F_OK) == 0;
}

/*
 * A device's queue pairs are its tx and rx queues, numtxqueues and
 * numrxqueues at creation: with 4 of each, queues 0 to 3 can be attached
 * and queue 4 does not exist; without them, the device has one.
 */
TEST(queue_count)
{
	struct kni_attach at;
	int fd, fd3;

	ASSERT_EQ(enter_netns(), 0);
	ASSERT_EQ(make_kni_queues(4, ""), 0);
	ASSERT_TRUE(has_queue("kni0", "tx-3") && has_queue("kni0", "rx-3"));
	ASSERT_FALSE(has_queue("kni0", "tx-4") || has_queue("kni0", "rx-4"));
	fd = open("/dev/kni", O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(attach_ioctl(fd, "kni0", 4, &at), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(attach_ioctl(fd, "kni0", 64, &at), -1);
	ASSERT_EQ(errno, EINVAL);
	fd3 = open("/dev/kni", O_RDWR);
	ASSERT_GE(fd3, 0);
	ASSERT_EQ(attach_ioctl(fd3, "kni0", 3, &at), 0);
	ASSERT_EQ(attach_ioctl(fd, "kni0", 0, &at), 0);
	close(fd);
	close(fd3);

	ASSERT_EQ(sh("ip link del kni0"), 0);
	ASSERT_EQ(make_kni(""), 0);
	ASSERT_TRUE(has_queue("kni0", "tx-0") && has_queue("kni0", "rx-0"));
	ASSERT_FALSE(has_queue("kni0", "tx-1") || has_queue("kni0", "rx-1"));
	fd = open("/dev/kni", O_RDWR);
	ASSERT_GE(fd, 0);
	ASSERT_EQ(attach_ioctl(fd, "kni0", 1, &at), -1);
	ASSERT_EQ(errno, EINVAL);
	ASSERT_EQ(attach_ioctl(fd, "kni0", 0, &at), 0);
	close(fd);
}

FIXTURE(multi)
{
	struct uqueue uq[4];
};

FIXTURE_SETUP(multi)
{
	int i;

	ASSERT_EQ(setup_netns(4, ""), 0);
	for (i = 0; i < 4; i++)
		ASSERT_EQ(uq_open(&self->uq[i], i), 0);
	ASSERT_EQ(sh("%s && %s", "ip addr add 10.9.0.2/24 dev kni0",
		     "ip neigh add 10.9.0.1 lladdr 02:00:00:00:00:01 dev kni0"), 0);
}

FIXTURE_TEARDOWN(multi)
{
	int i;

	for (i = 0; i < 4; i++)
		uq_close(&self->uq[i]);
}

/* Each queue passes packets up; the stack spreads flows over the queues. */
TEST_F(multi, queues)
{
	struct sockaddr_in dst = { .sin_family = AF_INET };
	int pfd = packet_socket(), s, i, q, used = 0;
	unsigned char buf[2048];
	__u32 total = 0;

	ASSERT_GE(pfd, 0);
	for (q = 0; q < 4; q++) {
		give_alloc(&self->uq[q], 0, 128);
		post_rx(&self->uq[q], 0, 128 * self->uq[q].at.frame_size,
			60 + q, q);
		produce(&self->uq[q].rx, 1);
		kick_if_needed(&self->uq[q]);
		ASSERT_EQ(recv(pfd, buf, sizeof(buf), 0), 60 + q);
	}

	inet_pton(AF_INET, "10.9.0.1", &dst.sin_addr);
	for (i = 0; i < 64; i++) {
		/* A socket per flow: nothing ties the flows to one queue. */
		s = socket(AF_INET, SOCK_DGRAM, 0);
		ASSERT_GE(s, 0);
		dst.sin_port = htons(10000 + i);
		ASSERT_EQ(sendto(s, "kni", 3, 0, (struct sockaddr *)&dst,
				 sizeof(dst)), 3);
		close(s);
	}
	WAIT_UNTIL((total = entries(&self->uq[0].tx) + entries(&self->uq[1].tx) +
			    entries(&self->uq[2].tx) + entries(&self->uq[3].tx)) >= 64,
		   10);
	ASSERT_EQ(total, 64);
	for (q = 0; q < 4; q++)
		used += entries(&self->uq[q].tx) > 0;
	ASSERT_EQ(used, 4);
	close(pfd);
}

FIXTURE(loopback)
{
	struct uqueue uq;
};

FIXTURE_VARIANT(loopback)
{
	const char *mode;
	const char *other;	/* the other loopback mode */
};

FIXTURE_VARIANT_ADD(loopback, fifo)
{
	.mode = "fifo",
	.other = "fifo_skb",
};

FIXTURE_VARIANT_ADD(loopback, fifo_skb)
{
	.mode = "fifo_skb",
	.other = "fifo",
};

FIXTURE_SETUP(loopback)
{
	char args[64];

	snprintf(args, sizeof(args), "loopback %s", variant->mode);
	ASSERT_EQ(setup_netns(0, args), 0);
	ASSERT_EQ(uq_open(&self->uq, 0), 0);
}

FIXTURE_TEARDOWN(loopback)
{
	uq_close(&self->uq);
}

/* A packet socket that sees everything kni0 receives and sends. */
static int packet_socket_all(void)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_ALL),
		.sll_ifindex = (int)if_nametoindex("kni0"),
	};
	int fd;

	fd = socket(AF_PACKET, SOCK_RAW | SOCK_NONBLOCK, htons(ETH_P_ALL));
	if (fd < 0)
		return -1;
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		return -1;
	}
	return fd;
}

/*
 * rx comes straight back on tx, byte for byte, waiting for room, and
 * never reaches the stack: a packet socket on kni0 sees nothing. The
 * queue counts each packet on the way in (rxN_*) and on the way out
 * (txN_*).
 */
/*
 * With offloads, a looped packet takes its metadata along, as it was: the
 * tx frame's header is the rx frame's.
 */
TEST_F(loopback, metadata)
{
	const struct virtio_net_hdr hdr = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.csum_start = ETH_HLEN + 20,
		.csum_offset = 6,
	};
	struct uqueue *uq = &self->uq;
	__u32 rs, fs;
	struct kni_desc *d;

	uq_close(uq);
	ASSERT_EQ(uq_attach_offloads(uq, "kni0", 0, 0, 0, KNI_OFFLOAD_CSUM), 0);
	rs = uq->at.ring_size;
	fs = uq->at.frame_size;
	give_alloc(uq, rs, 1);
	post_rx(uq, 0, 64, 100, 7);
	memcpy(frame(uq, 0), &hdr, sizeof(hdr));
	produce(&uq->rx, 1);
	kick_if_needed(uq);
	ASSERT_TRUE(wait_entries(uq, &uq->tx, 1));
	d = cons_desc(&uq->tx, 0);
	ASSERT_EQ(d->addr, (__u64)rs * fs + uq->at.headroom);
	ASSERT_EQ(d->len, 100);
	ASSERT_EQ(memcmp(frame(uq, (__u64)rs * fs), &hdr, sizeof(hdr)), 0);
	consume(&uq->tx, 1);
}

/*
 * A chain loops back as a chain: the packet whole, in as many tx frames
 * as it needs after their headroom, the metadata in the first.
 */
TEST_F(loopback, chain)
{
	static const __u32 parts[] = { 1900, 1900, 0 };
	static unsigned char pkt[8192], buf[8192];
	const struct virtio_net_hdr hdr = {
		.flags = VIRTIO_NET_HDR_F_DATA_VALID,
	};
	struct uqueue *uq = &self->uq;
	struct virtio_net_hdr h;
	__u32 len = 5000, flags, descs;

	uq_close(uq);
	ASSERT_EQ(uq_attach_offloads(uq, "kni0", 0, 0, 0, KNI_OFFLOAD_CHAIN),
		  0);
	fill(pkt, len, 3);
	give_alloc(uq, uq->at.ring_size, 8);
	post_chain(uq, 0, pkt, len, &hdr, parts, 3);
	ASSERT_EQ(take_tx(uq, buf, sizeof(buf), &h, &flags, &descs), len);
	ASSERT_EQ(descs, (len + uq->at.frame_size - uq->at.headroom - 1) /
			 (uq->at.frame_size - uq->at.headroom));
	ASSERT_EQ(memcmp(buf, pkt, len), 0);
	ASSERT_EQ(memcmp(&h, &hdr, sizeof(h)), 0);
	ASSERT_TRUE(wait_entries(uq, &uq->free, 3));
	consume(&uq->free, 3);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), 1);
	ASSERT_EQ(queue_stat("kni0", "tx0_packets"), 1);
}

TEST_F(loopback, rx_to_tx)
{
	struct uqueue *uq = &self->uq;
	__u32 rs = uq->at.ring_size, max = uq->at.frame_size - uq->at.headroom;
	unsigned char want[65536];
	__u32 i, len, done = 0;
	__u64 bytes = 0;
	int all;

	all = packet_socket_all();
	ASSERT_GE(all, 0);
	/* More packets than alloc frames: the rest wait on rx. */
	give_alloc(uq, rs, rs / 2);
	for (i = 0; i < rs; i++) {
		len = ETH_HLEN + i * (max - ETH_HLEN) / (rs - 1);
		post_rx(uq, i, (__u64)i * uq->at.frame_size, len, i);
		bytes += len;
	}
	produce(&uq->rx, rs);
	kick_if_needed(uq);
	/*
	 * NAPI stops when the frames run out, and asks for a kick on alloc
	 * once it gave up: by then it consumed exactly as many packets.
	 */
	ASSERT_TRUE(wait_entries(uq, &uq->tx, rs / 2));
	ASSERT_TRUE(WAIT_UNTIL(__atomic_load_n(uq->alloc.flags, __ATOMIC_ACQUIRE) &
			       KNI_RING_F_NEED_WAKEUP, 10));
	ASSERT_EQ(entries(&uq->tx), rs / 2);
	ASSERT_EQ(entries(&uq->free), rs / 2);
	ASSERT_EQ(__atomic_load_n(uq->rx.cons, __ATOMIC_ACQUIRE), rs / 2);

	while (done < rs) {
		__u32 n = entries(&uq->tx);

		for (i = 0; i < n; i++) {
			struct kni_desc *d =
				cons_desc(&uq->tx, i);

			len = ETH_HLEN + (done + i) * (max - ETH_HLEN) / (rs - 1);
			ASSERT_EQ(d->len, len);
			fill(want, len, done + i);
			ASSERT_EQ(memcmp(frame(uq, d->addr), want, len), 0);
		}
		consume(&uq->tx, n);
		done += n;
		if (done == rs)
			break;
		give_alloc(uq, rs, n);
		kick_if_needed(uq);
		ASSERT_TRUE(wait_entries(uq, &uq->tx, 1));
	}
	ASSERT_TRUE(wait_entries(uq, &uq->free, rs));
	ASSERT_EQ(sysfs_long("kni0", "statistics/rx_packets"), rs);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), rs);
	ASSERT_EQ(queue_stat("kni0", "rx0_bytes"), bytes);
	ASSERT_EQ(queue_stat("kni0", "rx0_drops"), 0);
	ASSERT_EQ(sysfs_long("kni0", "statistics/tx_packets"), rs);
	ASSERT_EQ(queue_stat("kni0", "tx0_packets"), rs);
	ASSERT_EQ(queue_stat("kni0", "tx0_bytes"), bytes);
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 0);
	ASSERT_EQ(recv(all, want, sizeof(want), 0), -1);
	ASSERT_EQ(errno, EAGAIN);
	close(all);
}

/*
 * A chain that finds as many alloc entries as it needs, but too few of
 * them valid frames, is a tx drop in a loopback mode, as it is from the
 * stack: NAPI does not poll for ever for room it already has. Its rx
 * descriptors come back dropped, and the valid frame stays on alloc.
 */
TEST_F_TIMEOUT(loopback, chain_without_valid_frames, 60)
{
	static const __u32 parts[] = { 1900, 1900, 0 };
	static unsigned char pkt[8192];
	const struct virtio_net_hdr hdr = {};
	struct uqueue *uq = &self->uq;
	__u32 rs, fs, p, i, len = 5000;

	uq_close(uq);
	ASSERT_EQ(uq_attach_offloads(uq, "kni0", 0, 0, 0, KNI_OFFLOAD_CHAIN),
		  0);
	rs = uq->at.ring_size;
	fs = uq->at.frame_size;
	fill(pkt, len, 5);
	/* One valid frame, then three with a flag alloc does not take. */
	p = *uq->alloc.prod;
	*desc_at(&uq->alloc, p) = (struct kni_desc){ .addr = (__u64)rs * fs };
	for (i = 1; i < 4; i++)
		*desc_at(&uq->alloc, p + i) = (struct kni_desc){
			.addr = (__u64)(rs + i) * fs, .flags = 1 };
	produce(&uq->alloc, 4);
	post_chain(uq, 0, pkt, len, &hdr, parts, 3);
	ASSERT_TRUE(wait_entries(uq, &uq->free, 3));
	for (i = 0; i < 3; i++)
		ASSERT_EQ(cons_desc(&uq->free, i)->flags,
			  KNI_DESC_F_DROPPED | (i < 2 ? KNI_DESC_F_NEXT : 0));
	consume(&uq->free, 3);
	ASSERT_EQ(entries(&uq->tx), 0);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), 1);
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 1);
	ASSERT_EQ(queue_stat("kni0", "tx0_packets"), 0);
}

/*
 * A packet that fills its rx frame cannot come back: a tx frame has the
 * headroom in front. It is a tx drop (as the stack's packet would be),
 * handed back on free marked dropped, and what follows still loops.
 * fifo_skb frees its skb with the reason the stack's packet would have.
 */
TEST_F(loopback, too_big_for_tx)
{
	struct uqueue *uq = &self->uq;
	__u32 rs = uq->at.ring_size, fs = uq->at.frame_size;
	__u32 max = fs - uq->at.headroom;
	bool skb = !strcmp(variant->mode, "fifo_skb");
	unsigned char want[128];
	struct kni_desc *d;

	ASSERT_EQ(trace_start(DROP_EVENT, "0"), 0);
	give_alloc(uq, rs, 2);
	post_rx(uq, 0, 0, max + 1, 1);
	post_rx(uq, 1, fs, 60, 2);
	produce(&uq->rx, 2);
	ASSERT_EQ(kick_if_needed(uq), 0);
	ASSERT_TRUE(wait_entries(uq, &uq->free, 2));
	d = cons_desc(&uq->free, 0);
	ASSERT_EQ(d->addr, 0);
	ASSERT_EQ(d->len, max + 1);
	ASSERT_EQ(d->flags, KNI_DESC_F_DROPPED);
	ASSERT_EQ(cons_desc(&uq->free, 1)->flags, 0);
	consume(&uq->free, 2);
	ASSERT_TRUE(wait_entries(uq, &uq->tx, 1));
	ASSERT_EQ(entries(&uq->tx), 1);
	d = cons_desc(&uq->tx, 0);
	ASSERT_EQ(d->len, 60);
	fill(want, 60, 2);
	ASSERT_EQ(memcmp(frame(uq, d->addr), want, 60), 0);
	consume(&uq->tx, 1);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), 2);
	ASSERT_EQ(queue_stat("kni0", "rx0_drops"), 0);
	ASSERT_EQ(queue_stat("kni0", "tx0_packets"), 1);
	ASSERT_EQ(queue_stat("kni0", "tx0_bytes"), 60);
	ASSERT_EQ(queue_stat("kni0", "tx0_drops"), 1);
	ASSERT_EQ(trace_stop(DROP_EVENT), 0);
	ASSERT_EQ(traced("reason: PKT_TOO_BIG$"), skb ? 1 : 0);
}

/*
 * A looped-back packet keeps KNI_DESC_F_CSUM_VALID: the tx descriptor of
 * each rx descriptor that had the flag has it (fifo copies it, fifo_skb
 * carries it through the skb), and one without comes back without.
 */
TEST_F(loopback, csum_valid)
{
	struct uqueue *uq = &self->uq;
	__u32 rs = uq->at.ring_size, fs = uq->at.frame_size, i, n = 8;
	unsigned char want[128];

	give_alloc(uq, rs, n);
	for (i = 0; i < n; i++) {
		post_rx(uq, i, (__u64)i * fs, 60 + i, i);
		prod_desc(&uq->rx, i)->flags = i % 2 ? KNI_DESC_F_CSUM_VALID : 0;
	}
	produce(&uq->rx, n);
	ASSERT_EQ(kick_if_needed(uq), 0);
	ASSERT_TRUE(wait_entries(uq, &uq->tx, n));
	for (i = 0; i < n; i++) {
		struct kni_desc *d = cons_desc(&uq->tx, i);

		ASSERT_EQ(d->len, 60 + i);
		ASSERT_EQ(d->flags, i % 2 ? KNI_DESC_F_CSUM_VALID : 0)
			TH_LOG("packet %u", i);
		fill(want, 60 + i, i);
		ASSERT_EQ(memcmp(frame(uq, d->addr), want, d->len), 0);
	}
	consume(&uq->tx, n);
	ASSERT_TRUE(wait_entries(uq, &uq->free, n));
	for (i = 0; i < n; i++) {
		ASSERT_EQ(cons_desc(&uq->free, i)->flags,
			  i % 2 ? KNI_DESC_F_CSUM_VALID : 0);
	}
	consume(&uq->free, n);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), n);
	ASSERT_EQ(queue_stat("kni0", "rx0_drops"), 0);
	ASSERT_EQ(queue_stat("kni0", "tx0_packets"), n);
}

/*
 * Packets that wait on rx in a loopback mode, for want of an alloc frame,
 * go to the stack once the mode changes to none. The dataplane has no
 * reason to kick again: it produced them and kicked, and by the ABI kicks
 * next after producing on rx, consuming from free, producing on alloc or
 * consuming from tx; nor does it learn that the mode changed.
 *
 * Without changelink scheduling NAPI when the mode changes, NAPI stays
 * idle, asking for an alloc frame, and the packets stay on rx until the
 * dataplane's next kick.
 */
TEST_F(loopback, switch_to_none_moves_waiting_packets)
{
	struct uqueue *uq = &self->uq;
	unsigned char buf[2048], want[60];
	__u32 i, n = 8;
	int pfd;

	pfd = packet_socket();
	ASSERT_GE(pfd, 0);
	for (i = 0; i < n; i++)
		post_rx(uq, i, (__u64)i * uq->at.frame_size, sizeof(want), i);
	produce(&uq->rx, n);
	ASSERT_EQ(kick_if_needed(uq), 0);
	/* No alloc frame: NAPI gives up and asks for one. */
	ASSERT_TRUE(WAIT_UNTIL(__atomic_load_n(uq->alloc.flags, __ATOMIC_ACQUIRE) &
			       KNI_RING_F_NEED_WAKEUP, 10));
	ASSERT_EQ(entries(&uq->free), 0);

	ASSERT_EQ(sh("ip link set kni0 type kni loopback none"), 0);
	ASSERT_TRUE(WAIT_UNTIL(entries(&uq->free) == n, 10))
		TH_LOG("%u of %u packets left rx after the switch to none: NAPI did not run",
		       entries(&uq->free), n);
	for (i = 0; i < n; i++) {
		fill(want, sizeof(want), i);
		ASSERT_EQ(recv(pfd, buf, sizeof(buf), 0), sizeof(want));
		ASSERT_EQ(memcmp(buf, want, sizeof(want)), 0);
	}
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), n);
	close(pfd);
}

/*
 * Packets of switch_under_traffic: numbered, of lengths from 60 to 259
 * bytes, the number right after the Ethernet header.
 */
static __u32 seq_len(__u32 seq)
{
	return 60 + seq % 200;
}

static void seq_frame(unsigned char *p, __u32 seq)
{
	fill(p, seq_len(seq), seq);
	memcpy(p + ETH_HLEN, &seq, sizeof(seq));
}

/* The number of a packet seq_frame() wrote, or -1 if it is not one. */
static long seq_of(const unsigned char *p, __u32 len)
{
	unsigned char want[300];
	__u32 seq;

	if (len < ETH_HLEN + sizeof(seq))
		return -1;
	memcpy(&seq, p + ETH_HLEN, sizeof(seq));
	if (len != seq_len(seq))
		return -1;
	seq_frame(want, seq);
	return memcmp(want, p, len) ? -1 : (long)seq;
}

struct switcher {
	const char *modes[3];
	/* __atomic: stop set by the test, switches by the thread */
	bool stop;
	unsigned int switches;
	int err;
};

/* The number of mode switches SW made so far. */
static unsigned int switches_made(struct switcher *sw)
{
	return __atomic_load_n(&sw->switches, __ATOMIC_RELAXED);
}

/* Cycle through the modes, one ip command after the other. */
static void *switch_modes(void *arg)
{
	struct switcher *sw = arg;
	unsigned int n;

	while (!__atomic_load_n(&sw->stop, __ATOMIC_RELAXED)) {
		n = __atomic_load_n(&sw->switches, __ATOMIC_RELAXED);
		if (sh("ip link set kni0 type kni loopback %s",
		       sw->modes[n % 3])) {
			sw->err = -1;
			break;
		}
		__atomic_store_n(&sw->switches, n + 1, __ATOMIC_RELAXED);
	}
	return NULL;
}

#define SWITCHES	30	/* ten rounds of the three modes, */
#define SWITCH_SECONDS	60	/* or as many as fit in a minute */
#define SEQ_MAX		BIT(22)

/*
 * The loopback mode changes while packets flow: to the other loopback
 * mode, to none (the packets go to the stack, where a packet socket takes
 * them), and back. Each poll works in one mode, so every packet comes out
 * exactly once, on tx or to the stack, every descriptor comes back on free
 * unmarked, and the queue counted each packet once.
 *
 * The modes change for a time, or until SWITCHES changes, at least once
 * to each mode; then the traffic stops and drains.
 */
TEST_F_TIMEOUT(loopback, switch_under_traffic, 150)
{
	struct switcher sw = {
		.modes = { variant->other, "none", variant->mode },
	};
	struct uqueue *uq = &self->uq;
	__u32 rs = uq->at.ring_size, fs = uq->at.frame_size;
	unsigned long returned = 0, via_tx = 0, via_stack = 0;
	__u32 *rxfree, nfree, posted = 0, i, n;
	struct tpacket_stats pst;
	unsigned char buf[2048];
	socklen_t pstlen;
	bool draining = false;
	unsigned char *seen;
	double end;
	pthread_t t;
	ssize_t got;
	long seq;
	int pfd;

	pfd = packet_socket();
	ASSERT_GE(pfd, 0);
	seen = calloc(SEQ_MAX, 1);
	rxfree = calloc(rs, sizeof(*rxfree));
	ASSERT_TRUE(seen && rxfree);
	/* Frames [0, rs) carry rx, [rs, 2 rs) are all on alloc. */
	for (nfree = 0; nfree < rs; nfree++)
		rxfree[nfree] = rs - 1 - nfree;
	give_alloc(uq, rs, rs);
	ASSERT_EQ(pthread_create(&t, NULL, switch_modes, &sw), 0);

	/* Until the switches are done; then until every packet came out. */
	end = mono_now() + SWITCH_SECONDS;
	for (;;) {
		bool moved = false;

		if (!draining && (switches_made(&sw) >= SWITCHES || sw.err ||
				  (mono_now() > end && switches_made(&sw) >= 3))) {
			__atomic_store_n(&sw.stop, true, __ATOMIC_RELAXED);
			pthread_join(t, NULL);
			ASSERT_EQ(sw.err, 0);
			draining = true;
			end = mono_now() + 30;
		}
		if (draining && returned == posted &&
		    via_tx + via_stack == posted)
			break;
		/* Three ip commands take no minute: the switches hang. */
		ASSERT_TRUE(draining || mono_now() < end + 60)
			TH_LOG("only %u mode switches", switches_made(&sw));
		ASSERT_TRUE(!draining || mono_now() < end)
			TH_LOG("%lu of %u returned, %lu + %lu came out", returned,
			       posted, via_tx, via_stack);

		/* Frames the kernel is done with, never marked dropped. */
		n = entries(&uq->free);
		for (i = 0; i < n; i++) {
			struct kni_desc *d =
				cons_desc(&uq->free, i);

			ASSERT_EQ(d->flags, 0);
			ASSERT_EQ(d->addr % fs, 0);
			ASSERT_LT(d->addr / fs, rs);
			rxfree[nfree++] = d->addr / fs;
		}
		consume(&uq->free, n);
		returned += n;
		moved |= n;

		/* Looped back: each number once; the frame goes back to alloc. */
		n = entries(&uq->tx);
		for (i = 0; i < n; i++) {
			struct kni_desc *d =
				cons_desc(&uq->tx, i);
			struct kni_desc *a =
				prod_desc(&uq->alloc, i);

			seq = seq_of(frame(uq, d->addr), d->len);
			ASSERT_GE(seq, 0) TH_LOG("tx length %u", d->len);
			ASSERT_LT(seq, posted);
			ASSERT_EQ(seen[seq], 0) TH_LOG("packet %ld twice", seq);
			seen[seq] = 1;
			a->addr = d->addr - d->addr % fs;
			a->len = 0;
			a->flags = 0;
		}
		consume(&uq->tx, n);
		produce(&uq->alloc, n);
		via_tx += n;
		moved |= n;

		/* Through the stack while the mode was none. */
		while ((got = recv(pfd, buf, sizeof(buf), MSG_DONTWAIT)) > 0) {
			seq = seq_of(buf, got);
			ASSERT_GE(seq, 0) TH_LOG("stack length %zd", got);
			ASSERT_LT(seq, posted);
			ASSERT_EQ(seen[seq], 0) TH_LOG("packet %ld twice", seq);
			seen[seq] = 1;
			via_stack++;
			moved = true;
		}

		/* More packets, at most 32 a round. */
		for (n = 0; !draining && nfree && n < 32 && posted < SEQ_MAX; n++) {
			struct kni_desc *d =
				prod_desc(&uq->rx, n);
			__u32 f = rxfree[--nfree];

			seq_frame(frame(uq, (__u64)f * fs), posted);
			d->addr = (__u64)f * fs;
			d->len = seq_len(posted);
			d->flags = 0;
			posted++;
		}
		produce(&uq->rx, n);
		moved |= n;
		ASSERT_EQ(kick_if_needed(uq), 0);
		if (!moved)
			usleep(1000);
	}
	TH_LOG("%u mode switches, %u packets: %lu looped back, %lu through the stack",
	       switches_made(&sw), posted, via_tx, via_stack);

	pstlen = sizeof(pst);
	ASSERT_EQ(getsockopt(pfd, SOL_PACKET, PACKET_STATISTICS, &pst, &pstlen), 0);
	ASSERT_EQ(pst.tp_drops, 0);
	ASSERT_EQ(queue_stat("kni0", "rx0_packets"), posted);
	ASSERT_EQ(queue_stat("kni0", "rx0_drops"), 0);
	ASSERT_EQ(queue_stat("kni0", "rx0_invalid"), 0);
	free(rxfree);
	free(seen);
	close(pfd);
}

TEST_HARNESS_MAIN
