// SPDX-License-Identifier: GPL-2.0
/*
 * DPDK 22.11's rte_kni API on kni, used as a DPDK application uses it:
 * every rte_kni function; the rte_kni_ops callbacks of
 * rte_kni_handle_request(), once per change with the new value, and
 * registered and unregistered; mbuf chains on tx, an empty mempool and
 * chains on rx with no packet and no mbuf lost; rte_kni_release() while
 * the stack transmits; rte_kni_alloc()'s bad input, which must leave
 * no device behind; and the offloads of rte_kni_offload_set(), each mbuf
 * request turned into the kernel's metadata and back (in the loopback
 * mode fifo), or carried out in software.
 *
 * EAL starts once, before the tests fork; each test runs in a network
 * namespace of its own and uses the mempool created then, and ends with
 * as many mbufs in it as it started with.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <dirent.h>
#include <net/if.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>

#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_ethdev.h>
#include <rte_ip.h>
#include <rte_kni.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <rte_tcp.h>
#include <rte_udp.h>

#include "../../kselftest_harness.h"
#include "kni_test.h"

#define POOL_SIZE	512
/* Room of an mbuf, after its headroom: the frames are 4096 bytes. */
#define MBUF_ROOM	2048
#define PORT_ID		7
/*
 * Budget of a wait for the kernel; only a broken run gets near it. The
 * tests' timeouts leave room for a debug kernel under emulation.
 */
#define WAIT_S		20

static struct rte_mempool *pool;

/* Network devices in the namespace. */
static int devices(void)
{
	struct dirent *d;
	char path[300];
	int n = 0;
	DIR *dir;

	dir = opendir("/sys/class/net");
	if (!dir)
		return -1;
	while ((d = readdir(dir))) {
		snprintf(path, sizeof(path), "/sys/class/net/%s/ifindex",
			 d->d_name);
		n += !access(path, F_OK);
	}
	closedir(dir);
	return n;
}

/*
 * Devices besides those the namespace had when the test started (lo, and
 * the fallback devices of tunnel modules).
 */
#define other_devices()	(devices() - self->devs)

static void conf_init(struct rte_kni_conf *conf, const char *name)
{
	memset(conf, 0, sizeof(*conf));
	snprintf(conf->name, sizeof(conf->name), "%s", name);
	conf->mbuf_size = MBUF_ROOM;
	/* Accepted and ignored. */
	conf->core_id = 1;
	conf->force_bind = 1;
	conf->group_id = PORT_ID;
}

/* What the callbacks were called with, per kind. */
struct seen {
	unsigned int mtu_calls, if_calls, mac_calls, promisc_calls, allmulti_calls;
	unsigned int mtu;
	int if_up, promisc, allmulti;
	__u8 mac[RTE_ETHER_ADDR_LEN];
	unsigned int bad_port;
	unsigned int mtu_repeats, mtu_decreases;
	int mtu_ret;
};

static struct seen seen;

/* A thread raising kni0's MTU one step at a time. */
struct storm {
	pthread_t thread;
	unsigned int ifindex;
	__u32 from, to;
	unsigned int made;	/* changes made */
	bool done;		/* set once the last change returned */
	int err;
};

static struct storm storm;

static int on_mtu(__u16 port, unsigned int mtu)
{
	unsigned int made;

	seen.bad_port += port != PORT_ID;
	seen.mtu_calls++;
	seen.mtu_repeats += mtu == seen.mtu;
	seen.mtu_decreases += mtu < seen.mtu;
	seen.mtu = mtu;
	/*
	 * While the storm blows, let it make two more changes first: the
	 * events and the state libkni reads then disagree, as when a change
	 * comes while requests are handled.
	 */
	if (storm.thread) {
		made = __atomic_load_n(&storm.made, __ATOMIC_ACQUIRE);
		WAIT_UNTIL(__atomic_load_n(&storm.made, __ATOMIC_ACQUIRE) >= made + 2 ||
			   __atomic_load_n(&storm.done, __ATOMIC_ACQUIRE), WAIT_S);
	}
	return seen.mtu_ret;
}

static int on_if(__u16 port, __u8 up)
{
	seen.bad_port += port != PORT_ID;
	seen.if_calls++;
	seen.if_up = up;
	return 0;
}

static int on_mac(__u16 port, __u8 mac[])
{
	seen.bad_port += port != PORT_ID;
	seen.mac_calls++;
	memcpy(seen.mac, mac, RTE_ETHER_ADDR_LEN);
	return 0;
}

static int on_promisc(__u16 port, __u8 on)
{
	seen.bad_port += port != PORT_ID;
	seen.promisc_calls++;
	seen.promisc = on;
	return 0;
}

static int on_allmulti(__u16 port, __u8 on)
{
	seen.bad_port += port != PORT_ID;
	seen.allmulti_calls++;
	seen.allmulti = on;
	return 0;
}

static struct rte_kni_ops all_ops = {
	.port_id = PORT_ID,
	.change_mtu = on_mtu,
	.config_network_if = on_if,
	.config_mac_address = on_mac,
	.config_promiscusity = on_promisc,
	.config_allmulticast = on_allmulti,
};

static unsigned int calls(void)
{
	return seen.mtu_calls + seen.if_calls + seen.mac_calls +
	       seen.promisc_calls + seen.allmulti_calls;
}

/*
 * Handle requests until the callbacks were called WANT times in all, then
 * once more, so that a callback called twice for one change shows.
 */
static bool handle_until(struct rte_kni *kni, unsigned int want)
{
	bool ok;

	ok = WAIT_UNTIL(rte_kni_handle_request(kni) == 0 && calls() >= want,
			WAIT_S);
	return rte_kni_handle_request(kni) == 0 && ok && calls() == want;
}

FIXTURE(rte)
{
	unsigned int avail;
	int devs;
	struct rte_kni *kni;
};

FIXTURE_SETUP(rte)
{
	ASSERT_EQ(enter_netns(), 0);
	ASSERT_EQ(rte_kni_init(4), 0);
	self->avail = rte_mempool_avail_count(pool);
	self->devs = devices();
	ASSERT_GT(self->devs, 0);
	self->kni = NULL;
	memset(&seen, 0, sizeof(seen));
	memset(&storm, 0, sizeof(storm));
}

FIXTURE_TEARDOWN(rte)
{
	if (self->kni)
		EXPECT_EQ(rte_kni_release(self->kni), 0);
	rte_kni_close();
	/* No mbuf lost, whatever the test did. */
	EXPECT_EQ(rte_mempool_avail_count(pool), self->avail);
}

static struct rte_kni *alloc_kni(struct rte_kni_ops *ops)
{
	struct rte_kni_conf conf;

	conf_init(&conf, "kni0");
	return rte_kni_alloc(pool, &conf, ops);
}

TEST_F_TIMEOUT(rte, alloc_get_link_release, 600)
{
	static const __u8 mac[] = { 0x02, 0x4b, 0x4e, 0x49, 0x00, 0x01 };
	struct rte_kni_conf conf;
	char out[128];
	int ifindex;

	conf_init(&conf, "kni0");
	conf.mtu = 1400;
	memcpy(conf.mac_addr, mac, sizeof(mac));
	self->kni = rte_kni_alloc(pool, &conf, NULL);
	ASSERT_NE(self->kni, NULL);
	ifindex = if_nametoindex("kni0");
	ASSERT_GT(ifindex, 0);
	EXPECT_EQ(rte_kni_get("kni0"), self->kni);
	EXPECT_EQ(rte_kni_get("kni1"), NULL);
	EXPECT_EQ(rte_kni_get(""), NULL);
	EXPECT_EQ(rte_kni_get(NULL), NULL);
	EXPECT_STREQ(rte_kni_get_name(self->kni), "kni0");
	EXPECT_EQ(sysfs_long("kni0", "mtu"), 1400);
	ASSERT_EQ(sh_out(out, sizeof(out), "cat /sys/class/net/kni0/address"), 0);
	EXPECT_STREQ(out, "02:4b:4e:49:00:01\n");

	/* The device starts with a carrier; the link follows the calls. */
	ASSERT_EQ(sh("ip link set kni0 up"), 0);
	EXPECT_TRUE(sysfs_wait("kni0", "carrier", 1));
	EXPECT_EQ(rte_kni_update_link(self->kni, 0), 1);
	EXPECT_TRUE(sysfs_wait("kni0", "carrier", 0));
	EXPECT_EQ(rte_kni_update_link(self->kni, 0), 0);
	EXPECT_EQ(rte_kni_update_link(self->kni, 1), 0);
	EXPECT_TRUE(sysfs_wait("kni0", "carrier", 1));
	EXPECT_EQ(rte_kni_update_link(self->kni, 5), 1);
	/* Also while the device is down. */
	ASSERT_EQ(sh("ip link set kni0 down"), 0);
	EXPECT_EQ(rte_kni_update_link(self->kni, 0), 1);
	EXPECT_EQ(rte_kni_update_link(self->kni, 1), 0);

	/* Nothing to handle is no error, without ops too. */
	EXPECT_EQ(rte_kni_handle_request(self->kni), 0);

	EXPECT_EQ(rte_kni_release(self->kni), 0);
	self->kni = NULL;
	EXPECT_EQ(if_nametoindex("kni0"), 0);
	EXPECT_EQ(rte_kni_get("kni0"), NULL);
	EXPECT_EQ(other_devices(), 0);

	/* The name is free again. */
	self->kni = alloc_kni(NULL);
	ASSERT_NE(self->kni, NULL);
}

TEST_F_TIMEOUT(rte, requests, 600)
{
	static const __u8 mac[] = { 0x02, 0, 0, 0, 0, 0x99 };
	struct rte_kni_ops other = { .port_id = PORT_ID, .change_mtu = on_mtu };
	unsigned int n = 0;

	self->kni = alloc_kni(&all_ops);
	ASSERT_NE(self->kni, NULL);
	ASSERT_TRUE(handle_until(self->kni, 0));

	ASSERT_EQ(sh("ip link set kni0 mtu 1400"), 0);
	ASSERT_TRUE(handle_until(self->kni, ++n));
	EXPECT_EQ(seen.mtu_calls, 1);
	EXPECT_EQ(seen.mtu, 1400);

	ASSERT_EQ(sh("ip link set kni0 up"), 0);
	ASSERT_TRUE(handle_until(self->kni, ++n));
	EXPECT_EQ(seen.if_calls, 1);
	EXPECT_EQ(seen.if_up, 1);

	ASSERT_EQ(sh("ip link set kni0 address 02:00:00:00:00:99"), 0);
	ASSERT_TRUE(handle_until(self->kni, ++n));
	EXPECT_EQ(seen.mac_calls, 1);
	EXPECT_EQ(memcmp(seen.mac, mac, sizeof(mac)), 0);

	ASSERT_EQ(sh("ip link set kni0 promisc on"), 0);
	ASSERT_TRUE(handle_until(self->kni, ++n));
	EXPECT_EQ(seen.promisc_calls, 1);
	EXPECT_EQ(seen.promisc, 1);

	ASSERT_EQ(sh("ip link set kni0 allmulticast on"), 0);
	ASSERT_TRUE(handle_until(self->kni, ++n));
	EXPECT_EQ(seen.allmulti_calls, 1);
	EXPECT_EQ(seen.allmulti, 1);

	ASSERT_EQ(sh("ip link set kni0 promisc off"), 0);
	ASSERT_TRUE(handle_until(self->kni, ++n));
	EXPECT_EQ(seen.promisc_calls, 2);
	EXPECT_EQ(seen.promisc, 0);

	ASSERT_EQ(sh("ip link set kni0 allmulticast off"), 0);
	ASSERT_TRUE(handle_until(self->kni, ++n));
	EXPECT_EQ(seen.allmulti_calls, 2);
	EXPECT_EQ(seen.allmulti, 0);

	ASSERT_EQ(sh("ip link set kni0 down"), 0);
	ASSERT_TRUE(handle_until(self->kni, ++n));
	EXPECT_EQ(seen.if_calls, 2);
	EXPECT_EQ(seen.if_up, 0);

	/* Changes between two calls: each reported once. */
	ASSERT_EQ(sh("ip link set kni0 mtu 1300 && ip link set kni0 mtu 1200 && %s",
		     "ip link set kni0 up"), 0);
	n += 3;
	ASSERT_TRUE(handle_until(self->kni, n));
	EXPECT_EQ(seen.mtu_calls, 3);
	EXPECT_EQ(seen.mtu, 1200);
	EXPECT_EQ(seen.if_calls, 3);
	EXPECT_EQ(seen.if_up, 1);

	/* A callback's error does not undo the change the kernel made. */
	seen.mtu_ret = -EINVAL;
	ASSERT_EQ(sh("ip link set kni0 mtu 1000"), 0);
	ASSERT_TRUE(handle_until(self->kni, ++n));
	EXPECT_EQ(seen.mtu, 1000);
	EXPECT_EQ(sysfs_long("kni0", "mtu"), 1000);
	seen.mtu_ret = 0;

	/* Registered handlers must be unregistered before others are. */
	EXPECT_EQ(rte_kni_register_handlers(self->kni, &other), -1);
	EXPECT_EQ(rte_kni_register_handlers(self->kni, NULL), -1);
	EXPECT_EQ(rte_kni_register_handlers(NULL, &other), -1);
	EXPECT_EQ(rte_kni_unregister_handlers(NULL), -1);
	EXPECT_EQ(rte_kni_unregister_handlers(self->kni), 0);
	ASSERT_EQ(sh("ip link set kni0 mtu 1100 && ip link set kni0 promisc on"), 0);
	/* Nobody hears of these... */
	EXPECT_TRUE(handle_until(self->kni, n));
	EXPECT_EQ(rte_kni_register_handlers(self->kni, &other), 0);
	/* ...and only the registered callback of the next ones. */
	ASSERT_EQ(sh("ip link set kni0 mtu 1500 && ip link set kni0 promisc off"), 0);
	ASSERT_TRUE(handle_until(self->kni, ++n));
	EXPECT_EQ(seen.mtu, 1500);
	EXPECT_EQ(seen.promisc_calls, 2);

	EXPECT_EQ(seen.bad_port, 0);
	EXPECT_EQ(seen.mtu_repeats, 0);
}

/* Set the MTU of device IFINDEX over rtnetlink; 0 or -errno. */
static int set_mtu(unsigned int ifindex, __u32 mtu)
{
	struct {
		struct nlmsghdr nlh;
		struct ifinfomsg ifi;
		char attrs[64];
	} req = {
		.nlh = {
			.nlmsg_len = NLMSG_LENGTH(sizeof(struct ifinfomsg)),
			.nlmsg_type = RTM_NEWLINK,
		},
		.ifi = { .ifi_family = AF_UNSPEC, .ifi_index = (int)ifindex },
	};

	nl_put(&req.nlh, IFLA_MTU, &mtu, sizeof(mtu));
	return nl_request(&req.nlh);
}

static void *blow(void *arg)
{
	struct storm *s = arg;
	__u32 mtu;

	for (mtu = s->from; mtu <= s->to && !s->err; mtu++) {
		s->err = set_mtu(s->ifindex, mtu);
		__atomic_fetch_add(&s->made, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&s->done, true, __ATOMIC_RELEASE);
	return NULL;
}

/*
 * Changes made while rte_kni_handle_request() runs: the callback still
 * hears of each value at most once, in the order they were made, and of
 * the last one.
 */
TEST_F_TIMEOUT(rte, requests_while_changing, 1200)
{
	bool ok;

	self->kni = alloc_kni(&all_ops);
	ASSERT_NE(self->kni, NULL);
	ASSERT_EQ(sh("ip link set kni0 mtu 1000"), 0);
	ASSERT_TRUE(handle_until(self->kni, 1));
	storm = (struct storm) {
		.ifindex = if_nametoindex("kni0"),
		.from = 1001,
		.to = 1300,
	};
	ASSERT_EQ(pthread_create(&storm.thread, NULL, blow, &storm), 0);
	ok = WAIT_UNTIL(rte_kni_handle_request(self->kni) == 0 &&
			__atomic_load_n(&storm.done, __ATOMIC_ACQUIRE) &&
			seen.mtu == storm.to, 10 * WAIT_S);
	ASSERT_EQ(pthread_join(storm.thread, NULL), 0);
	storm.thread = 0;
	ASSERT_EQ(storm.err, 0);
	ASSERT_TRUE(ok) TH_LOG("last mtu %u", seen.mtu);
	EXPECT_EQ(rte_kni_handle_request(self->kni), 0);
	TH_LOG("%u changes, %u callbacks", storm.to - storm.from + 1,
	       seen.mtu_calls - 1);
	EXPECT_EQ(seen.mtu_repeats, 0);
	EXPECT_EQ(seen.mtu_decreases, 0);
	EXPECT_EQ(seen.mtu, storm.to);
	EXPECT_EQ(calls(), seen.mtu_calls);
}

/* The LEN bytes at P as a chain of mbufs of SEGS bytes. */
static struct rte_mbuf *mbufs_of(const unsigned char *frame, __u32 len,
				 __u32 segs)
{
	struct rte_mbuf *head = NULL, *m;
	__u32 off = 0;

	do {
		__u32 n = len - off < segs ? len - off : segs;

		m = rte_pktmbuf_alloc(pool);
		if (!m)
			break;
		memcpy(rte_pktmbuf_append(m, n), frame + off, n);
		if (!head)
			head = m;
		else if (rte_pktmbuf_chain(head, m))
			break;
		off += n;
	} while (off < len);
	if (off < len) {
		rte_pktmbuf_free(head);
		rte_pktmbuf_free(m);
		return NULL;
	}
	return head;
}

/* A test frame of LEN bytes from SEED, as a chain of mbufs of SEGS bytes. */
static struct rte_mbuf *chain(__u32 len, __u32 seed, __u32 segs)
{
	unsigned char frame[4096];

	fill(frame, len, seed);
	return mbufs_of(frame, len, segs);
}

TEST_F_TIMEOUT(rte, tx_chains, 600)
{
	/* Length and segment size; the last two are dropped. */
	static const __u32 pkts[][2] = {
		{ 60, 60 }, { 1000, 100 }, { 1514, 14 }, { 3000, 2048 },
		{ 200, 1 }, { 3800, 1000 }, { 10, 10 }, { 4000, 2000 },
	};
	const unsigned int n = ARRAY_SIZE(pkts), sent = n - 2;
	struct rte_mbuf *m[ARRAY_SIZE(pkts)];
	unsigned char want[4096], got[4096];
	unsigned int i;
	int fd;

	self->kni = alloc_kni(NULL);
	ASSERT_NE(self->kni, NULL);
	ASSERT_EQ(sh("ip link set kni0 mtu 3800 up"), 0);
	fd = packet_socket();
	ASSERT_GE(fd, 0);

	for (i = 0; i < n; i++) {
		m[i] = chain(pkts[i][0], i, pkts[i][1]);
		ASSERT_NE(m[i], NULL);
	}
	EXPECT_EQ(m[2]->nb_segs, 109);
	ASSERT_EQ(rte_kni_tx_burst(self->kni, m, n), n);
	/* All freed: what the fixture checks, and sooner. */
	EXPECT_EQ(rte_mempool_avail_count(pool), self->avail);

	for (i = 0; i < sent; i++) {
		ssize_t len = recv(fd, got, sizeof(got), 0);

		ASSERT_EQ(len, pkts[i][0]) TH_LOG("packet %u", i);
		fill(want, pkts[i][0], i);
		EXPECT_EQ(memcmp(got, want, len), 0) TH_LOG("packet %u", i);
	}
	/* Nothing more arrives. */
	EXPECT_EQ(recv(fd, got, sizeof(got), MSG_DONTWAIT), -1);
	close(fd);
}

/* Send COUNT test frames of LEN bytes on kni0, seeds from FIRST. */
static int send_frames(int fd, __u32 len, unsigned int first,
		       unsigned int count)
{
	unsigned char frame[4096];
	unsigned int i;

	for (i = first; i < first + count; i++) {
		fill(frame, len, i);
		if (send(fd, frame, len, 0) != (ssize_t)len)
			return -1;
	}
	return 0;
}

/* Whether M holds the test frame of LEN bytes from SEED. */
static bool is_frame(struct rte_mbuf *m, __u32 len, __u32 seed)
{
	unsigned char want[4096], buf[4096];
	const void *p;

	if (m->pkt_len != len)
		return false;
	p = rte_pktmbuf_read(m, 0, len, buf);
	fill(want, len, seed);
	return p && !memcmp(p, want, len);
}

/* Take every mbuf out of the pool but LEAVE; how many were taken. */
static unsigned int drain_pool(struct rte_mbuf **held, unsigned int leave)
{
	unsigned int n = 0;

	while (rte_mempool_avail_count(pool) > leave)
		held[n++] = rte_pktmbuf_alloc(pool);
	return n;
}

/*
 * Receive into M until WANT packets came or the budget ran out, then once
 * more, so that one too many shows; how many came.
 */
static unsigned int rx_until(struct rte_kni *kni, struct rte_mbuf **m,
			     unsigned int want, unsigned int max)
{
	unsigned int got = 0;

	WAIT_UNTIL((got += rte_kni_rx_burst(kni, m + got, max - got)) >= want,
		   WAIT_S);
	return got + rte_kni_rx_burst(kni, m + got, max - got);
}

TEST_F_TIMEOUT(rte, rx_empty_pool, 600)
{
	const unsigned int count = 64;
	struct rte_mbuf *held[POOL_SIZE], *m[64];
	unsigned int n, got, i, seed = 0;
	int fd;

	self->kni = alloc_kni(NULL);
	ASSERT_NE(self->kni, NULL);
	ASSERT_EQ(sh("ip link set kni0 mtu 3000 up"), 0);
	fd = packet_socket();
	ASSERT_GE(fd, 0);

	/* No mbuf: the packets wait. */
	n = drain_pool(held, 0);
	ASSERT_EQ(send_frames(fd, 100, 0, count), 0);
	for (i = 0; i < 10; i++)
		EXPECT_EQ(rte_kni_rx_burst(self->kni, m, 64), 0);

	/* Five mbufs: five packets, in order. */
	rte_pktmbuf_free_bulk(held + n - 5, 5);
	n -= 5;
	got = rx_until(self->kni, m, 5, 64);
	ASSERT_EQ(got, 5);
	for (i = 0; i < got; i++, seed++)
		EXPECT_TRUE(is_frame(m[i], 100, seed)) TH_LOG("packet %u", seed);
	rte_pktmbuf_free_bulk(m, got);

	/* Then the others. */
	rte_pktmbuf_free_bulk(held, n);
	got = rx_until(self->kni, m, count - 5, 64);
	ASSERT_EQ(got, count - 5);
	for (i = 0; i < got; i++, seed++)
		EXPECT_TRUE(is_frame(m[i], 100, seed)) TH_LOG("packet %u", seed);
	rte_pktmbuf_free_bulk(m, got);

	/* A packet longer than an mbuf holds comes as a chain... */
	ASSERT_EQ(send_frames(fd, 3000, 100, 1), 0);
	ASSERT_EQ(rx_until(self->kni, m, 1, 64), 1);
	EXPECT_EQ(m[0]->nb_segs, 2);
	EXPECT_TRUE(is_frame(m[0], 3000, 100));
	rte_pktmbuf_free(m[0]);

	/* ...and waits while the pool has an mbuf for its head only. */
	n = drain_pool(held, 1);
	ASSERT_EQ(send_frames(fd, 3000, 101, 2), 0);
	for (i = 0; i < 10; i++)
		EXPECT_EQ(rte_kni_rx_burst(self->kni, m, 64), 0);
	EXPECT_EQ(rte_mempool_avail_count(pool), 1);
	rte_pktmbuf_free_bulk(held, n);
	got = rx_until(self->kni, m, 2, 64);
	ASSERT_EQ(got, 2);
	EXPECT_TRUE(is_frame(m[0], 3000, 101));
	EXPECT_TRUE(is_frame(m[1], 3000, 102));
	rte_pktmbuf_free_bulk(m, got);
	EXPECT_EQ(rte_kni_rx_burst(self->kni, m, 64), 0);

	/* The kernel dropped nothing either. */
	EXPECT_EQ(sysfs_long("kni0", "statistics/tx_dropped"), 0);
	EXPECT_EQ(sysfs_long("kni0", "statistics/tx_packets"), count + 3);
	close(fd);
}

struct flood {
	bool stop;
	unsigned long sent;
};

static void *flood(void *arg)
{
	struct flood *f = arg;
	unsigned char frame[ETH_ZLEN];
	int fd = packet_socket();

	fill(frame, sizeof(frame), 0);
	while (fd >= 0 && !__atomic_load_n(&f->stop, __ATOMIC_RELAXED))
		if (send(fd, frame, sizeof(frame), 0) > 0)
			__atomic_fetch_add(&f->sent, 1, __ATOMIC_RELAXED);
	if (fd >= 0)
		close(fd);
	return NULL;
}

TEST_F_TIMEOUT(rte, release_while_transmitting, 600)
{
	struct flood f = { .stop = false };
	struct rte_mbuf *m[32];
	pthread_t thread;
	unsigned int got = 0;

	self->kni = alloc_kni(&all_ops);
	ASSERT_NE(self->kni, NULL);
	ASSERT_EQ(sh("ip link set kni0 up"), 0);
	ASSERT_EQ(pthread_create(&thread, NULL, flood, &f), 0);
	/* Take some of the traffic, leave the rest on the rings. */
	while (got < 100 &&
	       WAIT_UNTIL(__atomic_load_n(&f.sent, __ATOMIC_RELAXED), WAIT_S)) {
		unsigned int n = rte_kni_rx_burst(self->kni, m, 32);

		rte_pktmbuf_free_bulk(m, n);
		got += n;
		if (!n)
			usleep(1000);
	}
	EXPECT_GE(got, 100);
	EXPECT_EQ(rte_kni_release(self->kni), 0);
	self->kni = NULL;
	__atomic_store_n(&f.stop, true, __ATOMIC_RELAXED);
	ASSERT_EQ(pthread_join(thread, NULL), 0);
	EXPECT_EQ(if_nametoindex("kni0"), 0);
	EXPECT_EQ(other_devices(), 0);
}

/* Deleted under the application: the calls go on, the pool stays whole. */
TEST_F_TIMEOUT(rte, deleted_device, 600)
{
	struct rte_mbuf *m[2];

	self->kni = alloc_kni(&all_ops);
	ASSERT_NE(self->kni, NULL);
	ASSERT_EQ(sh("ip link set kni0 up && ip link del kni0"), 0);
	m[0] = chain(100, 0, 100);
	m[1] = chain(100, 1, 10);
	ASSERT_NE(m[0], NULL);
	ASSERT_NE(m[1], NULL);
	/* Dropped: nothing can take them any more. */
	EXPECT_EQ(rte_kni_tx_burst(self->kni, m, 2), 2);
	EXPECT_EQ(rte_kni_rx_burst(self->kni, m, 2), 0);
	EXPECT_EQ(rte_kni_handle_request(self->kni), 0);
	EXPECT_EQ(rte_kni_update_link(self->kni, 1), -1);
	/* Another kni0 is not the application's to delete. */
	ASSERT_EQ(sh("ip link add kni0 type kni"), 0);
	EXPECT_EQ(rte_kni_release(self->kni), 0);
	self->kni = NULL;
	EXPECT_GT(if_nametoindex("kni0"), 0);
	EXPECT_EQ(other_devices(), 1);
}

TEST_F_TIMEOUT(rte, bad_input, 600)
{
	struct rte_kni_conf conf;
	struct rte_mempool *raw;
	struct rte_kni *kni;

	conf_init(&conf, "kni0");
	rte_errno = 0;
	EXPECT_EQ(rte_kni_alloc(NULL, &conf, NULL), NULL);
	EXPECT_EQ(rte_errno, EINVAL);
	rte_errno = 0;
	EXPECT_EQ(rte_kni_alloc(pool, NULL, NULL), NULL);
	EXPECT_EQ(rte_errno, EINVAL);
	EXPECT_EQ(other_devices(), 0);

	/* A pool of something else than packet mbufs. */
	raw = rte_mempool_create("kni_rte_raw", 63, 64, 0, 0, NULL, NULL,
				 NULL, NULL, SOCKET_ID_ANY, 0);
	ASSERT_NE(raw, NULL);
	rte_errno = 0;
	EXPECT_EQ(rte_kni_alloc(raw, &conf, NULL), NULL);
	EXPECT_EQ(rte_errno, EINVAL);
	rte_mempool_free(raw);

	/* No room for the terminating NUL, or an empty name. */
	memset(conf.name, 'k', sizeof(conf.name));
	rte_errno = 0;
	EXPECT_EQ(rte_kni_alloc(pool, &conf, NULL), NULL);
	EXPECT_EQ(rte_errno, EINVAL);
	conf.name[0] = '\0';
	rte_errno = 0;
	EXPECT_EQ(rte_kni_alloc(pool, &conf, NULL), NULL);
	EXPECT_EQ(rte_errno, EINVAL);
	EXPECT_EQ(other_devices(), 0);

	/* More MTU than a frame holds (4096-byte frames for this pool). */
	conf_init(&conf, "kni0");
	conf.mtu = 9000;
	rte_errno = 0;
	EXPECT_EQ(rte_kni_alloc(pool, &conf, NULL), NULL);
	EXPECT_EQ(rte_errno, EINVAL);
	/* More than the application said it handles. */
	conf.mtu = 1500;
	conf.max_mtu = 1400;
	rte_errno = 0;
	EXPECT_EQ(rte_kni_alloc(pool, &conf, NULL), NULL);
	EXPECT_EQ(rte_errno, ERANGE);
	/* Not a unicast address. */
	conf_init(&conf, "kni0");
	conf.mac_addr[0] = 0x01;
	rte_errno = 0;
	EXPECT_EQ(rte_kni_alloc(pool, &conf, NULL), NULL);
	EXPECT_EQ(rte_errno, EADDRNOTAVAIL);
	EXPECT_EQ(other_devices(), 0);

	/* A name another device has... */
	ASSERT_EQ(sh("ip link add taken0 type kni"), 0);
	conf_init(&conf, "taken0");
	rte_errno = 0;
	EXPECT_EQ(rte_kni_alloc(pool, &conf, NULL), NULL);
	EXPECT_EQ(rte_errno, EEXIST);
	EXPECT_EQ(other_devices(), 1);
	EXPECT_GT(if_nametoindex("taken0"), 0);

	/* ...or another interface of the process. */
	self->kni = alloc_kni(NULL);
	ASSERT_NE(self->kni, NULL);
	rte_errno = 0;
	kni = alloc_kni(NULL);
	EXPECT_EQ(kni, NULL);
	EXPECT_EQ(rte_errno, EEXIST);
	EXPECT_EQ(other_devices(), 2);
	EXPECT_EQ(rte_kni_get("kni0"), self->kni);

	/* The other calls refuse NULL. */
	EXPECT_EQ(rte_kni_release(NULL), -1);
	EXPECT_EQ(rte_kni_handle_request(NULL), -1);
	EXPECT_EQ(rte_kni_update_link(NULL, 1), -1);
}

/* Offloads. */

#define BIG_LEN		30000
#define MSS		1448
#define L2_LEN		RTE_ETHER_HDR_LEN
#define L3_LEN		sizeof(struct rte_ipv4_hdr)

static unsigned char big[BIG_LEN], back[BIG_LEN];

static struct rte_ipv4_hdr *ip_of(unsigned char *f)
{
	return (struct rte_ipv4_hdr *)(f + L2_LEN);
}

static struct rte_tcp_hdr *tcp_of(unsigned char *f)
{
	return (struct rte_tcp_hdr *)(f + L2_LEN + L3_LEN);
}

/*
 * An IPv4 packet of LEN bytes to 10.0.0.2 in F, from a TCP or UDP (PROTO)
 * header on; its checksums are left 0.
 */
static void l4_frame(unsigned char *f, __u32 len, __u8 proto, __u32 seed)
{
	struct rte_ipv4_hdr *ip = ip_of(f);
	struct rte_tcp_hdr *th = tcp_of(f);
	struct rte_udp_hdr *uh = (struct rte_udp_hdr *)th;

	fill(f, len, seed);
	memset(f, 0, L2_LEN + L3_LEN + sizeof(*th));
	memset(f, 0x02, 2 * RTE_ETHER_ADDR_LEN);
	f[12] = 0x08;
	ip->version_ihl = RTE_IPV4_VHL_DEF;
	ip->total_length = htons(len - L2_LEN);
	ip->time_to_live = 64;
	ip->next_proto_id = proto;
	ip->src_addr = htonl(0x0a000001);
	ip->dst_addr = htonl(0x0a000002);
	if (proto == IPPROTO_TCP) {
		th->src_port = htons(1000);
		th->dst_port = htons(2000);
		th->data_off = sizeof(*th) << 2;
		th->tcp_flags = RTE_TCP_ACK_FLAG;
	} else {
		uh->src_port = htons(1000);
		uh->dst_port = htons(2000);
		uh->dgram_len = htons(len - L2_LEN - L3_LEN);
	}
}

/*
 * The packet of F (LEN bytes) in mbufs of SEGS bytes, with offload
 * requests FLAGS: their pseudo-header sum is put in as DPDK documents it.
 */
static struct rte_mbuf *offload_mbuf(unsigned char *f, __u32 len, __u32 segs,
				     __u64 flags)
{
	struct rte_ipv4_hdr *ip = ip_of(f);
	struct rte_mbuf *m;

	if (flags & RTE_MBUF_F_TX_TCP_SEG)
		tcp_of(f)->cksum = rte_ipv4_phdr_cksum(ip, flags);
	else if ((flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_TCP_CKSUM)
		tcp_of(f)->cksum = rte_ipv4_phdr_cksum(ip, flags);
	else if ((flags & RTE_MBUF_F_TX_L4_MASK) == RTE_MBUF_F_TX_UDP_CKSUM)
		((struct rte_udp_hdr *)tcp_of(f))->dgram_cksum =
			rte_ipv4_phdr_cksum(ip, flags);
	m = mbufs_of(f, len, segs);
	if (!m)
		return NULL;
	m->ol_flags |= flags;
	m->l2_len = L2_LEN;
	m->l3_len = L3_LEN;
	m->l4_len = ip->next_proto_id == IPPROTO_TCP ?
		    sizeof(struct rte_tcp_hdr) : sizeof(struct rte_udp_hdr);
	m->tso_segsz = MSS;
	return m;
}

/* kni0 up, in the loopback mode fifo, with nothing of its own to send. */
static int loopback_up(void)
{
	return sh("sysctl -qw net.ipv6.conf.kni0.disable_ipv6=1") ||
	       sh("ip link set kni0 type kni loopback fifo") ||
	       sh("ip link set kni0 up");
}

/* The next IPv4 packet KNI receives, within the budget, or NULL. */
static struct rte_mbuf *rx_ipv4(struct rte_kni *kni)
{
	struct rte_mbuf *m = NULL;

	WAIT_UNTIL(({
		struct rte_mbuf *r;

		while (!m && rte_kni_rx_burst(kni, &r, 1) == 1) {
			if (r->pkt_len > L2_LEN &&
			    *rte_pktmbuf_mtod_offset(r, __u16 *, 12) ==
			    htons(RTE_ETHER_TYPE_IPV4))
				m = r;
			else
				rte_pktmbuf_free(r);
		}
		!!m;
	}), WAIT_S);
	return m;
}

/* Send M through the loopback and take it back into the buffer back. */
static struct rte_mbuf *loop_one(struct rte_kni *kni, struct rte_mbuf *m)
{
	struct rte_mbuf *r;

	if (!m || rte_kni_tx_burst(kni, &m, 1) != 1)
		return NULL;
	r = rx_ipv4(kni);
	if (r && r->pkt_len <= sizeof(back) &&
	    rte_pktmbuf_read(r, 0, r->pkt_len, back) != back)
		memcpy(back, rte_pktmbuf_mtod(r, void *), r->pkt_len);
	return r;
}

/* Whether the IPv4 and TCP or UDP checksums of F are right. */
static bool csums_ok(unsigned char *f)
{
	struct rte_ipv4_hdr *ip = ip_of(f);

	return rte_raw_cksum(ip, L3_LEN) == 0xffff &&
	       rte_ipv4_udptcp_cksum_verify(ip, tcp_of(f)) == 0;
}

/* Whether ethtool says FEATURE of kni0 is on. */
static bool feature_on(const char *feature)
{
	return sh("ethtool -k kni0 | grep -qx '%s: on'", feature) == 0;
}

#define RX_CKSUM	(RTE_ETH_RX_OFFLOAD_TCP_CKSUM | RTE_ETH_RX_OFFLOAD_UDP_CKSUM)
#define TX_CKSUM	(RTE_ETH_TX_OFFLOAD_TCP_CKSUM | RTE_ETH_TX_OFFLOAD_UDP_CKSUM)
#define IP_TCP_SEG	(RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | \
			 RTE_MBUF_F_TX_TCP_SEG)
#define IP_TCP_CKSUM	(RTE_MBUF_F_TX_IPV4 | RTE_MBUF_F_TX_IP_CKSUM | \
			 RTE_MBUF_F_TX_TCP_CKSUM)

TEST_F_TIMEOUT(rte, offload_set, 600)
{
	const __u64 rx = RX_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_LRO;
	const __u64 tx = TX_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO;
	uint64_t rx_capa = 0, tx_capa = 0;
	unsigned char got[4096];
	struct rte_mbuf *m;
	int fd;

	rte_kni_offload_capa(&rx_capa, &tx_capa);
	EXPECT_EQ(rx_capa, RX_CKSUM | RTE_ETH_RX_OFFLOAD_IPV4_CKSUM |
			   RTE_ETH_RX_OFFLOAD_TCP_LRO |
			   RTE_ETH_RX_OFFLOAD_SCATTER);
	EXPECT_EQ(tx_capa, TX_CKSUM | RTE_ETH_TX_OFFLOAD_IPV4_CKSUM |
			   RTE_ETH_TX_OFFLOAD_TCP_TSO |
			   RTE_ETH_TX_OFFLOAD_MULTI_SEGS);
	EXPECT_EQ(rte_kni_offload_set(NULL, 0, 0), -EINVAL);

	self->kni = alloc_kni(NULL);
	ASSERT_NE(self->kni, NULL);
	ASSERT_EQ(sh("ip link set kni0 up"), 0);
	EXPECT_FALSE(feature_on("tcp-segmentation-offload"));
	EXPECT_FALSE(feature_on("tx-checksumming"));

	/* Out of the capabilities, or TSO without LRO: nothing changes. */
	EXPECT_EQ(rte_kni_offload_set(self->kni,
				      RTE_ETH_RX_OFFLOAD_VLAN_STRIP, 0),
		  -ENOTSUP);
	EXPECT_EQ(rte_kni_offload_set(self->kni, 0,
				      RTE_ETH_TX_OFFLOAD_SCTP_CKSUM),
		  -ENOTSUP);
	EXPECT_EQ(rte_kni_offload_set(self->kni, 0,
				      RTE_ETH_TX_OFFLOAD_TCP_TSO), -EINVAL);
	EXPECT_FALSE(feature_on("tx-checksumming"));

	/* The device offers the stack what the kernel took on... */
	EXPECT_EQ(rte_kni_offload_set(self->kni, rx, tx), 0);
	EXPECT_TRUE(feature_on("tcp-segmentation-offload"));
	EXPECT_TRUE(feature_on("tx-checksumming"));
	/* ...the same again changes nothing... */
	EXPECT_EQ(rte_kni_offload_set(self->kni, rx, tx), 0);
	EXPECT_TRUE(feature_on("tcp-segmentation-offload"));
	/* ...checksums only... */
	EXPECT_EQ(rte_kni_offload_set(self->kni, 0, TX_CKSUM), 0);
	EXPECT_FALSE(feature_on("tcp-segmentation-offload"));
	EXPECT_TRUE(feature_on("tx-checksumming"));
	/* ...and none. */
	EXPECT_EQ(rte_kni_offload_set(self->kni, 0, 0), 0);
	EXPECT_FALSE(feature_on("tx-checksumming"));
	/* The carrier survived attaching again, and so does its absence. */
	EXPECT_EQ(sysfs_long("kni0", "carrier"), 1);
	EXPECT_EQ(rte_kni_update_link(self->kni, 0), 1);
	EXPECT_EQ(rte_kni_offload_set(self->kni, 0, TX_CKSUM), 0);
	EXPECT_EQ(rte_kni_update_link(self->kni, 1), 0);

	/* Attached again, the interface still carries packets. */
	fd = packet_socket();
	ASSERT_GE(fd, 0);
	m = chain(100, 3, 100);
	ASSERT_NE(m, NULL);
	ASSERT_EQ(rte_kni_tx_burst(self->kni, &m, 1), 1);
	EXPECT_EQ(recv(fd, got, sizeof(got), 0), 100);
	close(fd);
}

TEST_F_TIMEOUT(rte, offload_tso_lro, 600)
{
	unsigned char want[BIG_LEN];
	struct rte_mbuf *m, *r;
	const void *p;

	self->kni = alloc_kni(NULL);
	ASSERT_NE(self->kni, NULL);
	ASSERT_EQ(rte_kni_offload_set(self->kni,
				      RX_CKSUM | RTE_ETH_RX_OFFLOAD_TCP_LRO,
				      TX_CKSUM | RTE_ETH_TX_OFFLOAD_TCP_TSO |
				      RTE_ETH_TX_OFFLOAD_IPV4_CKSUM), 0);
	ASSERT_EQ(loopback_up(), 0);

	/*
	 * A TCP packet of 30000 bytes in mbufs of 1000 to be segmented: it
	 * comes back whole over frames of 4096 bytes, as LRO, its IPv4
	 * checksum done and its pseudo-header sum with the length in, as
	 * the kernel has it.
	 */
	l4_frame(big, BIG_LEN, IPPROTO_TCP, 1);
	m = offload_mbuf(big, BIG_LEN, 1000, IP_TCP_SEG);
	ASSERT_NE(m, NULL);
	memcpy(want, big, BIG_LEN);
	ip_of(want)->hdr_checksum = rte_ipv4_cksum(ip_of(want));
	tcp_of(want)->cksum = rte_ipv4_phdr_cksum(ip_of(want), 0);
	r = loop_one(self->kni, m);
	ASSERT_NE(r, NULL);
	EXPECT_EQ(r->pkt_len, BIG_LEN);
	EXPECT_GT(r->nb_segs, BIG_LEN / MBUF_ROOM);
	EXPECT_TRUE(r->ol_flags & RTE_MBUF_F_RX_LRO);
	EXPECT_EQ(r->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK,
		  RTE_MBUF_F_RX_L4_CKSUM_NONE);
	EXPECT_EQ((unsigned int)r->tso_segsz, MSS);
	EXPECT_EQ(memcmp(back, want, BIG_LEN), 0);
	rte_pktmbuf_free(r);

	/* One segment's worth: only its checksum is left to complete. */
	l4_frame(big, 1000, IPPROTO_TCP, 2);
	m = offload_mbuf(big, 1000, 1000, IP_TCP_SEG);
	r = loop_one(self->kni, m);
	ASSERT_NE(r, NULL);
	EXPECT_EQ(r->pkt_len, 1000);
	EXPECT_FALSE(r->ol_flags & RTE_MBUF_F_RX_LRO);
	EXPECT_EQ(r->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK,
		  RTE_MBUF_F_RX_L4_CKSUM_NONE);
	EXPECT_EQ(tcp_of(back)->cksum, rte_ipv4_phdr_cksum(ip_of(back), 0));
	rte_pktmbuf_free(r);

	/* A packet over frames without an offload request is left alone. */
	fill(big, 9000, 3);
	memset(big + 12, 0x88, 2);
	m = mbufs_of(big, 9000, 2000);
	ASSERT_NE(m, NULL);
	ASSERT_EQ(rte_kni_tx_burst(self->kni, &m, 1), 1);
	r = NULL;
	WAIT_UNTIL(rte_kni_rx_burst(self->kni, &r, 1) == 1, WAIT_S);
	ASSERT_NE(r, NULL);
	EXPECT_EQ(r->pkt_len, 9000);
	EXPECT_EQ(r->ol_flags & (RTE_MBUF_F_RX_LRO | RTE_MBUF_F_RX_L4_CKSUM_MASK),
		  0);
	p = rte_pktmbuf_read(r, 0, 9000, back);
	ASSERT_NE(p, NULL);
	EXPECT_EQ(memcmp(p, big, 9000), 0);
	rte_pktmbuf_free(r);
}

TEST_F_TIMEOUT(rte, offload_csum, 600)
{
	struct rte_mbuf *r;

	/* The kernel takes checksums on; the application does not on rx. */
	self->kni = alloc_kni(NULL);
	ASSERT_NE(self->kni, NULL);
	ASSERT_EQ(rte_kni_offload_set(self->kni, 0, TX_CKSUM), 0);
	ASSERT_EQ(loopback_up(), 0);

	/* The kernel's checksum request is completed by the library. */
	l4_frame(big, 1500, IPPROTO_TCP, 4);
	r = loop_one(self->kni, offload_mbuf(big, 1500, 700, IP_TCP_CKSUM));
	ASSERT_NE(r, NULL);
	EXPECT_EQ(r->pkt_len, 1500);
	EXPECT_TRUE(csums_ok(back));
	EXPECT_EQ(r->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK,
		  RTE_MBUF_F_RX_L4_CKSUM_GOOD);
	rte_pktmbuf_free(r);

	/* With rx checksums on, it is handed over as it came. */
	ASSERT_EQ(rte_kni_offload_set(self->kni, RX_CKSUM, TX_CKSUM), 0);
	ASSERT_EQ(loopback_up(), 0);
	l4_frame(big, 1500, IPPROTO_UDP, 5);
	r = loop_one(self->kni,
		     offload_mbuf(big, 1500, 1500, RTE_MBUF_F_TX_IPV4 |
				  RTE_MBUF_F_TX_UDP_CKSUM));
	ASSERT_NE(r, NULL);
	EXPECT_EQ(r->ol_flags & RTE_MBUF_F_RX_L4_CKSUM_MASK,
		  RTE_MBUF_F_RX_L4_CKSUM_NONE);
	EXPECT_EQ(((struct rte_udp_hdr *)tcp_of(back))->dgram_cksum,
		  rte_ipv4_phdr_cksum(ip_of(back), 0));
	rte_pktmbuf_free(r);
}

TEST_F_TIMEOUT(rte, offload_software, 600)
{
	struct rte_mbuf *m[4], *r;

	/* No offload set: the library does what the mbufs ask for. */
	self->kni = alloc_kni(NULL);
	ASSERT_NE(self->kni, NULL);
	ASSERT_EQ(loopback_up(), 0);

	l4_frame(big, 1200, IPPROTO_TCP, 6);
	r = loop_one(self->kni, offload_mbuf(big, 1200, 100, IP_TCP_CKSUM));
	ASSERT_NE(r, NULL);
	EXPECT_EQ(r->pkt_len, 1200);
	EXPECT_TRUE(csums_ok(back));
	rte_pktmbuf_free(r);

	l4_frame(big, 800, IPPROTO_UDP, 7);
	r = loop_one(self->kni,
		     offload_mbuf(big, 800, 800, RTE_MBUF_F_TX_IPV4 |
				  RTE_MBUF_F_TX_IP_CKSUM |
				  RTE_MBUF_F_TX_UDP_CKSUM));
	ASSERT_NE(r, NULL);
	EXPECT_TRUE(csums_ok(back));
	rte_pktmbuf_free(r);

	/*
	 * Dropped: segmentation the kernel did not take on, a checksum
	 * request without header lengths, an SCTP checksum, and an IPv4
	 * checksum on a packet said to be IPv6. Only the packet after them
	 * arrives.
	 */
	l4_frame(big, 3000, IPPROTO_TCP, 8);
	m[0] = offload_mbuf(big, 1500, 1500, IP_TCP_SEG);
	m[1] = offload_mbuf(big, 1500, 1500, IP_TCP_CKSUM);
	m[2] = offload_mbuf(big, 1500, 1500, RTE_MBUF_F_TX_IPV4 |
			    RTE_MBUF_F_TX_SCTP_CKSUM);
	m[3] = offload_mbuf(big, 1500, 1500, RTE_MBUF_F_TX_IPV6 |
			    RTE_MBUF_F_TX_IP_CKSUM);
	ASSERT_NE(m[0], NULL);
	ASSERT_NE(m[1], NULL);
	ASSERT_NE(m[2], NULL);
	ASSERT_NE(m[3], NULL);
	m[1]->l2_len = 0;
	ASSERT_EQ(rte_kni_tx_burst(self->kni, m, 4), 4);
	l4_frame(big, 700, IPPROTO_TCP, 9);
	r = loop_one(self->kni, offload_mbuf(big, 700, 700, IP_TCP_CKSUM));
	ASSERT_NE(r, NULL);
	EXPECT_EQ(r->pkt_len, 700);
	EXPECT_TRUE(csums_ok(back));
	rte_pktmbuf_free(r);
}

int main(int argc, char **argv)
{
	static const char *const eal_args[] = {
		"kni_rte", "--no-huge", "-m", "64", "--no-pci", "--no-shconf",
		"--no-telemetry", "-l", "0", "--log-level", "lib.eal:error",
	};
	char *eal[ARRAY_SIZE(eal_args)];
	unsigned int i;

	/* EAL reorders the pointers, never the strings. */
	for (i = 0; i < ARRAY_SIZE(eal); i++)
		eal[i] = (char *)eal_args[i];
	if (rte_eal_init(ARRAY_SIZE(eal), eal) < 0) {
		fprintf(stderr, "EAL: %s\n", rte_strerror(rte_errno));
		return KSFT_FAIL;
	}
	/* No per-lcore cache: the count of free mbufs is exact. */
	pool = rte_pktmbuf_pool_create("kni_rte", POOL_SIZE, 0, 0,
				       MBUF_ROOM + RTE_PKTMBUF_HEADROOM,
				       SOCKET_ID_ANY);
	if (!pool) {
		fprintf(stderr, "mempool: %s\n", rte_strerror(rte_errno));
		return KSFT_FAIL;
	}
	return test_harness_run(argc, argv);
}
