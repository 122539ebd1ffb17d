// SPDX-License-Identifier: GPL-2.0
/*
 * libkni, used as a dataplane uses it: device creation and deletion over
 * rtnetlink with the kernel's messages, attach and its errors (also the
 * locked memory limit), packets both
 * ways through the loopback fifo and through the stack with both the
 * copying and the in-place API, busy mode, the carrier, and the control
 * events with their callbacks, including a full event ring and their order
 * while the device keeps changing; a chosen MAC address, the burst calls on
 * a deleted device, sends that must not kick, and one queue driven by a
 * sending and a receiving thread at once; the sizes the public structures
 * carry, as older and newer callers pass them, the multicast list, and
 * the metadata of checksum offload.
 *
 * Each test runs in a network namespace of its own.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <net/if.h>
#include <poll.h>
#include <pthread.h>
#include <sched.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/epoll.h>
#include <sys/ioctl.h>
#include <sys/mman.h>
#include <sys/mount.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <arpa/inet.h>
#include <time.h>
#include <unistd.h>
#include <linux/if_ether.h>
#include <linux/if_link.h>
#include <linux/if_packet.h>

#include "libkni.h"
#include "../../kselftest_harness.h"
#include "kni_test.h"

static int attach(struct kni_queue **q, unsigned int queue,
		  const struct kni_queue_opts *opts)
{
	return kni_queue_attach(q, kni_dev_ifindex("kni0"), queue, opts);
}

/*
 * Budget of every wait for the kernel. A correct run waits far less, even on
 * a debug kernel under emulation; the budget only bounds a broken one.
 */
#define WAIT_MS		20000

static long long now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec * 1000LL + ts.tv_nsec / 1000000;
}

/*
 * Wait until Q's file is readable, or a millisecond: a queue in busy mode
 * is not woken, so the caller looks at its rings again either way.
 */
static int wait_readable(struct kni_queue *q)
{
	struct pollfd pfd = { .fd = kni_queue_fd(q), .events = POLLIN };

	return poll(&pfd, 1, 1) < 0 ? -errno : 0;
}

/*
 * Receive N packets with the copying API into BUFS, STRIDE bytes each, and
 * their lengths into LENS; a truncated packet is an error.
 */
static int recv_copy(struct kni_queue *q, unsigned char *bufs, __u32 stride,
		     __u32 *lens, unsigned int n)
{
	long long end = now_ms() + WAIT_MS;
	unsigned int got = 0, i;
	int ret;

	while (got < n) {
		struct kni_buf b[64];
		unsigned int want = n - got > 64 ? 64 : n - got;

		for (i = 0; i < want; i++) {
			b[i].data = bufs + (size_t)(got + i) * stride;
			b[i].len = stride;
		}
		ret = kni_recv_burst(q, b, want);
		if (ret < 0)
			return ret;
		for (i = 0; i < (unsigned int)ret; i++) {
			if (b[i].flags & KNI_BUF_F_TRUNCATED)
				return -EMSGSIZE;
			lens[got + i] = b[i].len;
		}
		got += ret;
		if (ret)
			continue;
		if (now_ms() > end)
			break;
		ret = wait_readable(q);
		if (ret)
			return ret;
	}
	return (int)got;
}

/* Receive N packets in place into B. */
static int recv_inplace(struct kni_queue *q, struct kni_buf *b, unsigned int n)
{
	long long end = now_ms() + WAIT_MS;
	unsigned int got = 0;
	int ret;

	while (got < n) {
		ret = kni_frame_recv(q, b + got, n - got);
		if (ret < 0)
			return ret;
		got += ret;
		if (ret)
			continue;
		if (now_ms() > end)
			break;
		ret = wait_readable(q);
		if (ret)
			return ret;
	}
	return (int)got;
}

/* What the callbacks saw. */
struct seen {
	int mtu_calls, link_calls, mac_calls, promisc_calls, allmulti_calls;
	int gone_calls, mcast_calls;
	__u32 mtu;
	bool up, promisc, allmulti;
	__u8 mac[ETH_ALEN];
	/* The multicast list of the last mcast callback. */
	unsigned int mc_n;
	bool mc_all;
	__u8 mc[KNI_STATE_MC_MAX][ETH_ALEN];
};

static void on_mtu(void *cookie, __u32 mtu)
{
	struct seen *s = cookie;

	s->mtu_calls++;
	s->mtu = mtu;
}

static void on_link(void *cookie, bool up)
{
	struct seen *s = cookie;

	s->link_calls++;
	s->up = up;
}

static void on_mac(void *cookie, const __u8 *addr)
{
	struct seen *s = cookie;

	s->mac_calls++;
	memcpy(s->mac, addr, ETH_ALEN);
}

static void on_promisc(void *cookie, bool on)
{
	struct seen *s = cookie;

	s->promisc_calls++;
	s->promisc = on;
}

static void on_allmulti(void *cookie, bool on)
{
	struct seen *s = cookie;

	s->allmulti_calls++;
	s->allmulti = on;
}

static void on_gone(void *cookie)
{
	struct seen *s = cookie;

	s->gone_calls++;
}

static void on_mcast(void *cookie, const __u8 *addrs, unsigned int n,
		     bool all)
{
	struct seen *s = cookie;

	s->mcast_calls++;
	s->mc_n = n;
	s->mc_all = all;
	memset(s->mc, 0, sizeof(s->mc));
	memcpy(s->mc, addrs, (n < KNI_STATE_MC_MAX ? n : KNI_STATE_MC_MAX) *
	       sizeof(s->mc[0]));
}

static const struct kni_ops recorder = {
	.sz = sizeof(struct kni_ops),
	.mtu = on_mtu,
	.link = on_link,
	.mac = on_mac,
	.promisc = on_promisc,
	.allmulti = on_allmulti,
	.gone = on_gone,
	.mcast = on_mcast,
};

/* Multicast addresses of kni0 /proc/net/dev_mcast may list in a test. */
#define PROC_MC_MAX	128

/*
 * kni0's multicast addresses as /proc/net/dev_mcast lists them (the
 * device's list, as the stack keeps it) into ADDRS; their number, or -1.
 */
static int proc_mcast(__u8 (*addrs)[ETH_ALEN])
{
	char name[IFNAMSIZ + 1], hex[64];
	int idx, users, global, n = 0;
	FILE *f;

	f = fopen("/proc/net/dev_mcast", "r");
	if (!f)
		return -1;
	while (fscanf(f, "%d %16s %d %d %63s", &idx, name, &users, &global,
		      hex) == 5) {
		if (strcmp(name, "kni0"))
			continue;
		if (n == PROC_MC_MAX ||
		    sscanf(hex, "%2hhx%2hhx%2hhx%2hhx%2hhx%2hhx", &addrs[n][0],
			   &addrs[n][1], &addrs[n][2], &addrs[n][3],
			   &addrs[n][4], &addrs[n][5]) != 6) {
			n = -1;
			break;
		}
		n++;
	}
	fclose(f);
	return n;
}

static bool mc_has(const __u8 (*list)[ETH_ALEN], int n, const __u8 *addr)
{
	int i;

	for (i = 0; i < n; i++)
		if (!memcmp(list[i], addr, ETH_ALEN))
			return true;
	return false;
}

/*
 * Is LIST (N addresses, and more when ALL) what libkni must report for
 * the COUNT addresses WANT of /proc/net/dev_mcast: all of them when they
 * fit, else KNI_STATE_MC_MAX of them and ALL? Neither list repeats one.
 */
static bool mc_matches(const __u8 (*list)[ETH_ALEN], unsigned int n,
		       bool all, const __u8 (*want)[ETH_ALEN], int count)
{
	bool over = count > KNI_STATE_MC_MAX;
	unsigned int i;

	if (all != over ||
	    n != (all ? KNI_STATE_MC_MAX : (unsigned int)count))
		return false;
	for (i = 0; i < n; i++)
		if (!mc_has(want, count, list[i]))
			return false;
	return true;
}

/*
 * Handle Q's events until kni_queue_state() and, with SEEN, the last mcast
 * callback show kni0's multicast list as /proc/net/dev_mcast has it: the
 * stack changes the list at once, the kernel posts it shortly after.
 * Returns the number of addresses, or a negative errno.
 */
static int mcast_wait(struct kni_queue *q, const struct seen *seen)
{
	KNI_OPTS(kni_dev_state, st);
	struct pollfd pfd = { .fd = kni_queue_fd(q), .events = POLLPRI };
	long long end = now_ms() + WAIT_MS;
	__u8 want[PROC_MC_MAX][ETH_ALEN];
	unsigned int n;
	int count, ret;

	for (;;) {
		ret = kni_queue_events(q);
		if (ret < 0 && ret != -EAGAIN)
			return ret;
		count = proc_mcast(want);
		if (count < 0)
			return -EIO;
		ret = kni_queue_state(q, &st);
		if (ret && ret != -EAGAIN)
			return ret;
		n = st.mc_count < KNI_STATE_MC_MAX ? st.mc_count :
						     KNI_STATE_MC_MAX;
		if (!ret && st.mc_count == (unsigned int)count &&
		    mc_matches((const __u8 (*)[ETH_ALEN])st.mc_addr, n,
			       st.mc_all, (const __u8 (*)[ETH_ALEN])want,
			       count) &&
		    (!seen || mc_matches((const __u8 (*)[ETH_ALEN])seen->mc,
					 seen->mc_n, seen->mc_all,
					 (const __u8 (*)[ETH_ALEN])want,
					 count)))
			return count;
		if (now_ms() > end)
			return -ETIMEDOUT;
		/* Not synchronisation: the loop looks again either way. */
		poll(&pfd, 1, 100);
	}
}

/* SIOCADDMULTI or SIOCDELMULTI (CMD) of ADDR on kni0: 0 or -errno. */
static int kni0_multi(unsigned long cmd, const __u8 *addr)
{
	struct ifreq ifr = {};
	int fd, ret = 0;

	fd = socket(AF_INET, SOCK_DGRAM, 0);
	if (fd < 0)
		return -errno;
	snprintf(ifr.ifr_name, sizeof(ifr.ifr_name), "%s", "kni0");
	ifr.ifr_hwaddr.sa_family = AF_UNSPEC;
	memcpy(ifr.ifr_hwaddr.sa_data, addr, ETH_ALEN);
	if (ioctl(fd, cmd, &ifr))
		ret = -errno;
	close(fd);
	return ret;
}

/* Wait for events to be signalled, then handle them. */
static int events(struct kni_queue *q)
{
	struct pollfd pfd = { .fd = kni_queue_fd(q), .events = POLLPRI };

	/* A deleted device may report only the hangup. */
	if (poll(&pfd, 1, WAIT_MS) != 1 || !(pfd.revents & (POLLPRI | POLLHUP)))
		return -ETIMEDOUT;
	return kni_queue_events(q);
}

FIXTURE(dev)
{
	char msg[256];
};

FIXTURE_SETUP(dev)
{
	ASSERT_EQ(enter_netns(), 0);
}

FIXTURE_TEARDOWN(dev)
{
}

TEST_F(dev, create_every_attribute)
{
	KNI_OPTS(kni_dev_config, cfg,
		 .present = KNI_CFG_QUEUES | KNI_CFG_RING_SIZE |
			    KNI_CFG_FRAME_SIZE | KNI_CFG_CARRIER |
			    KNI_CFG_LOOPBACK | KNI_CFG_OWNER | KNI_CFG_GROUP |
			    KNI_CFG_MTU,
		 .queues = 3,
		 .ring_size = 128,
		 .frame_size = 4096,
		 .carrier = 1,
		 .loopback = KNI_LOOPBACK_FIFO,
		 .owner = 1234,
		 .group = 4321,
		 .mtu = 3000,
	);
	const struct kni_queue_info *info;
	struct kni_queue *q;
	char out[4096];

	ASSERT_EQ(kni_dev_create("kni0", &cfg, self->msg, sizeof(self->msg)), 0);
	ASSERT_GT(kni_dev_ifindex("kni0"), 0);
	ASSERT_EQ(sh_out(out, sizeof(out), "ip -d link show kni0"), 0);
	EXPECT_NE(strstr(out, "numtxqueues 3 numrxqueues 3 "), NULL)
		TH_LOG("%s", out);
	EXPECT_NE(strstr(out, "ring_size 128 "), NULL) TH_LOG("%s", out);
	EXPECT_NE(strstr(out, "frame_size 4096 "), NULL) TH_LOG("%s", out);
	EXPECT_NE(strstr(out, "loopback fifo "), NULL) TH_LOG("%s", out);
	EXPECT_NE(strstr(out, "owner 1234 "), NULL) TH_LOG("%s", out);
	EXPECT_NE(strstr(out, "group 4321 "), NULL) TH_LOG("%s", out);
	EXPECT_EQ(sysfs_long("kni0", "mtu"), 3000);
	/* sysfs shows the carrier of a device that is up. */
	ASSERT_EQ(sh("ip link set kni0 up"), 0);
	EXPECT_EQ(sysfs_long("kni0", "carrier"), 1);

	ASSERT_EQ(attach(&q, 2, NULL), 0);
	info = kni_queue_info(q);
	EXPECT_EQ(info->ring_size, 128);
	EXPECT_EQ(info->frame_size, 4096);
	EXPECT_EQ(info->frame_count, 2 * info->ring_size);
	EXPECT_EQ(info->data_room, 4096 - info->headroom);
	EXPECT_EQ(info->queue, 2);
	kni_queue_detach(q);
	ASSERT_EQ(attach(&q, 3, NULL), -EINVAL);

	/* Changeable attributes change; fixed ones say why not. */
	cfg.present = KNI_CFG_OWNER | KNI_CFG_LOOPBACK;
	cfg.owner = KNI_ID_NONE;
	cfg.loopback = KNI_LOOPBACK_NONE;
	ASSERT_EQ(kni_dev_change("kni0", &cfg, self->msg, sizeof(self->msg)), 0);
	ASSERT_EQ(sh_out(out, sizeof(out), "ip -d link show kni0"), 0);
	EXPECT_EQ(strstr(out, "owner 1234"), NULL) TH_LOG("%s", out);
	EXPECT_NE(strstr(out, "loopback none "), NULL) TH_LOG("%s", out);
	cfg.present = KNI_CFG_CARRIER;
	cfg.carrier = 0;
	ASSERT_EQ(kni_dev_change("kni0", &cfg, self->msg, sizeof(self->msg)), 0);
	EXPECT_EQ(sysfs_long("kni0", "carrier"), 0);
	cfg.carrier = 1;
	ASSERT_EQ(kni_dev_change("kni0", &cfg, self->msg, sizeof(self->msg)), 0);
	EXPECT_EQ(sysfs_long("kni0", "carrier"), 1);
	cfg.present = KNI_CFG_RING_SIZE;
	cfg.ring_size = 256;
	ASSERT_EQ(kni_dev_change("kni0", &cfg, self->msg, sizeof(self->msg)),
		  -EOPNOTSUPP);
	ASSERT_NE(strstr(self->msg, "ring_size is fixed"), NULL)
		TH_LOG("message '%s'", self->msg);
	/* The queue pairs are fixed at creation: a change is ignored. */
	cfg.present = KNI_CFG_QUEUES;
	cfg.queues = 4;
	EXPECT_EQ(kni_dev_change("kni0", &cfg, self->msg, sizeof(self->msg)), 0)
		TH_LOG("message '%s'", self->msg);
	ASSERT_EQ(sh_out(out, sizeof(out), "ip -d link show kni0"), 0);
	EXPECT_NE(strstr(out, "numtxqueues 3 numrxqueues 3 "), NULL)
		TH_LOG("%s", out);
	ASSERT_EQ(kni_dev_create("kni0", NULL, self->msg, sizeof(self->msg)),
		  -EEXIST);
	ASSERT_EQ(kni_dev_delete("kni0", self->msg, sizeof(self->msg)), 0);
	ASSERT_EQ(kni_dev_ifindex("kni0"), -ENODEV);
}

/* /sys/class/net/DEV/address into BUF, without the newline; 0 or -1. */
static int sysfs_addr(const char *dev, char *buf, size_t len)
{
	char path[128];
	FILE *f;
	int ret = -1;

	snprintf(path, sizeof(path), "/sys/class/net/%s/address", dev);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fgets(buf, (int)len, f)) {
		buf[strcspn(buf, "\n")] = '\0';
		ret = 0;
	}
	fclose(f);
	return ret;
}

/* A chosen MAC address, at creation and on change. */
TEST_F(dev, address)
{
	KNI_OPTS(kni_dev_config, cfg,
		 .present = KNI_CFG_ADDR,
		 .addr = { 0x02, 0x12, 0x34, 0x56, 0x78, 0x9a },
	);
	KNI_OPTS(kni_dev_state, st);
	struct kni_queue *q;
	char addr[32];

	ASSERT_EQ(kni_dev_create("kni0", &cfg, self->msg, sizeof(self->msg)), 0)
		TH_LOG("message '%s'", self->msg);
	ASSERT_EQ(sysfs_addr("kni0", addr, sizeof(addr)), 0);
	EXPECT_STREQ(addr, "02:12:34:56:78:9a");
	/* Set (NET_ADDR_SET), not random. */
	EXPECT_EQ(sysfs_long("kni0", "addr_assign_type"), 3);
	ASSERT_EQ(attach(&q, 0, NULL), 0);
	ASSERT_EQ(kni_queue_state(q, &st), 0);
	EXPECT_EQ(memcmp(st.addr, cfg.addr, ETH_ALEN), 0);
	kni_queue_detach(q);

	cfg.addr[5] = 0xbc;
	ASSERT_EQ(kni_dev_change("kni0", &cfg, self->msg, sizeof(self->msg)), 0)
		TH_LOG("message '%s'", self->msg);
	ASSERT_EQ(sysfs_addr("kni0", addr, sizeof(addr)), 0);
	EXPECT_STREQ(addr, "02:12:34:56:78:bc");

	/* Multicast: refused, with the kernel's reason. */
	cfg.addr[0] = 0x01;
	EXPECT_EQ(kni_dev_change("kni0", &cfg, self->msg, sizeof(self->msg)),
		  -EADDRNOTAVAIL);
	ASSERT_EQ(kni_dev_delete("kni0", NULL, 0), 0);
	EXPECT_EQ(kni_dev_create("kni0", &cfg, self->msg, sizeof(self->msg)),
		  -EADDRNOTAVAIL);
	EXPECT_NE(strstr(self->msg, "unicast"), NULL)
		TH_LOG("message '%s'", self->msg);
	EXPECT_EQ(kni_dev_ifindex("kni0"), -ENODEV);
}

TEST_F(dev, defaults)
{
	struct kni_queue *q;

	ASSERT_EQ(kni_dev_create("kni7", NULL, NULL, 0), 0);
	/* One queue pair, no carrier. */
	EXPECT_EQ(sh("ip link set kni7 up"), 0);
	EXPECT_EQ(sysfs_long("kni7", "carrier"), 0);
	ASSERT_EQ(kni_queue_attach(&q, kni_dev_ifindex("kni7"), 0, NULL), 0);
	EXPECT_EQ(kni_queue_info(q)->ring_size, 1024);
	EXPECT_EQ(kni_queue_info(q)->frame_size, 2048);
	kni_queue_detach(q);
	ASSERT_EQ(kni_queue_attach(&q, kni_dev_ifindex("kni7"), 1, NULL),
		  -EINVAL);
	ASSERT_EQ(kni_dev_delete("kni7", NULL, 0), 0);
}

/*
 * Pages of the mapping of /dev/kni that have no page table entry, or -1
 * when there is no such mapping; its length in @len. The region has no
 * page cache: mincore() reports a page resident only once it is mapped.
 */
static long kni_pages_unmapped(unsigned long *len)
{
	unsigned long start = 0, end = 0, pages, i;
	unsigned char *vec;
	char line[512];
	long unmapped;
	FILE *f;

	f = fopen("/proc/self/maps", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f))
		if (strstr(line, " /dev/kni") &&
		    sscanf(line, "%lx-%lx", &start, &end) == 2)
			break;
	fclose(f);
	*len = end - start;
	pages = *len / getpagesize();
	vec = pages ? calloc(pages, 1) : NULL;
	if (!vec || mincore((void *)start, *len, vec)) {
		free(vec);
		return -1;
	}
	for (unmapped = 0, i = 0; i < pages; i++)
		unmapped += !(vec[i] & 1);
	free(vec);
	return unmapped;
}

/* The data path takes no page fault: the whole region is mapped at attach. */
TEST_F(dev, mapped_at_attach)
{
	struct kni_queue *q;
	unsigned long len;

	ASSERT_EQ(kni_dev_create("kni7", NULL, NULL, 0), 0);
	ASSERT_EQ(kni_queue_attach(&q, kni_dev_ifindex("kni7"), 0, NULL), 0);
	EXPECT_EQ(kni_pages_unmapped(&len), 0);
	EXPECT_EQ(len, kni_queue_info(q)->mmap_size);
	kni_queue_detach(q);
	ASSERT_EQ(kni_dev_delete("kni7", NULL, 0), 0);
}

TEST_F(dev, bad_attribute)
{
	KNI_OPTS(kni_dev_config, cfg,
		 .present = KNI_CFG_RING_SIZE,
		 .ring_size = 100,
	);

	ASSERT_EQ(kni_dev_create("kni0", &cfg, self->msg, sizeof(self->msg)),
		  -EINVAL);
	ASSERT_STREQ(self->msg, "kni ring_size must be a power of two");
	ASSERT_EQ(kni_dev_ifindex("kni0"), -ENODEV);

	/* Out of the policy's range: the kernel's own message. */
	cfg.ring_size = 1U << 20;
	ASSERT_EQ(kni_dev_create("kni0", &cfg, self->msg, sizeof(self->msg)),
		  -ERANGE);
	ASSERT_NE(self->msg[0], '\0');

	/* The queue pairs are the kernel's to check. */
	cfg.present = KNI_CFG_QUEUES;
	cfg.queues = 65;
	ASSERT_EQ(kni_dev_create("kni0", &cfg, self->msg, sizeof(self->msg)),
		  -EINVAL);
	ASSERT_STREQ(self->msg, "kni supports at most 64 queues");
	cfg.queues = 0;
	ASSERT_EQ(kni_dev_create("kni0", &cfg, self->msg, sizeof(self->msg)),
		  -EINVAL);
	ASSERT_STREQ(self->msg, "Invalid number of transmit queues");
	ASSERT_EQ(kni_dev_ifindex("kni0"), -ENODEV);

	/* The carrier is the library's: IFLA_CARRIER takes any byte. */
	cfg.present = KNI_CFG_CARRIER;
	cfg.carrier = 2;
	ASSERT_EQ(kni_dev_create("kni0", &cfg, self->msg, sizeof(self->msg)),
		  -EINVAL);
	ASSERT_STREQ(self->msg, "");
	cfg.carrier = 256;
	ASSERT_EQ(kni_dev_create("kni0", &cfg, self->msg, sizeof(self->msg)),
		  -EINVAL);
	ASSERT_EQ(kni_dev_ifindex("kni0"), -ENODEV);
}

TEST_F(dev, nonexistent)
{
	KNI_OPTS(kni_dev_config, none);
	struct kni_queue *q = (struct kni_queue *)1;

	ASSERT_EQ(kni_dev_delete("kni0", self->msg, sizeof(self->msg)), -ENODEV);
	ASSERT_EQ(kni_dev_ifindex("kni0"), -ENODEV);
	ASSERT_EQ(kni_dev_change("kni0", &none, NULL, 0), -ENODEV);
	/* An index that is not a kni device, one that is no device. */
	ASSERT_EQ(kni_queue_attach(&q, kni_dev_ifindex("lo"), 0, NULL), -ENODEV);
	ASSERT_EQ(q, NULL);
	ASSERT_EQ(kni_queue_attach(&q, 4242, 0, NULL), -ENODEV);
}

TEST_F(dev, bad_arguments)
{
	KNI_OPTS(kni_dev_config, cfg, .present = 1U << 31);
	KNI_OPTS(kni_queue_opts, opts, .flags = 1U << 7);
	struct kni_queue *q;

	ASSERT_EQ(kni_dev_create(NULL, NULL, NULL, 0), -EINVAL);
	ASSERT_EQ(kni_dev_create("", NULL, NULL, 0), -EINVAL);
	ASSERT_EQ(kni_dev_create("a-name-much-too-long", NULL, NULL, 0), -EINVAL);
	ASSERT_EQ(kni_dev_create("kni0", &cfg, NULL, 0), -EINVAL);
	ASSERT_EQ(kni_dev_change("kni0", NULL, NULL, 0), -EINVAL);
	ASSERT_EQ(kni_dev_delete(NULL, NULL, 0), -EINVAL);
	ASSERT_EQ(kni_dev_ifindex(NULL), -EINVAL);

	ASSERT_EQ(make_kni(""), 0);
	ASSERT_EQ(kni_queue_attach(NULL, kni_dev_ifindex("kni0"), 0, NULL),
		  -EINVAL);
	ASSERT_EQ(attach(&q, 0, &opts), -EINVAL);
	ASSERT_EQ(kni_queue_attach(&q, 0, 0, NULL), -EINVAL);
	ASSERT_EQ(kni_queue_attach(&q, -1, 0, NULL), -EINVAL);
	ASSERT_EQ(attach(&q, 1, NULL), -EINVAL);
	ASSERT_EQ(attach(&q, ~0U, NULL), -EINVAL);

	/* NULL handles and buffers. */
	ASSERT_EQ(kni_send_burst(NULL, NULL, 0), -EINVAL);
	ASSERT_EQ(kni_recv_burst(NULL, NULL, 0), -EINVAL);
	ASSERT_EQ(kni_frame_submit(NULL, NULL, 0), -EINVAL);
	ASSERT_EQ(kni_frame_recv(NULL, NULL, 0), -EINVAL);
	ASSERT_EQ(kni_frame_release(NULL, NULL, 0), -EINVAL);
	ASSERT_EQ(kni_frame_reserve(NULL, NULL, 1), 0);
	ASSERT_EQ(kni_queue_events(NULL), -EINVAL);
	ASSERT_EQ(kni_queue_state(NULL, NULL), -EINVAL);
	ASSERT_EQ(kni_queue_set_busy(NULL, true), -EINVAL);
	ASSERT_EQ(kni_queue_set_carrier(NULL, true), -EINVAL);
	ASSERT_EQ(kni_queue_kick(NULL), -EINVAL);
	ASSERT_EQ(kni_queue_fd(NULL), -EINVAL);
	ASSERT_EQ(kni_queue_info(NULL), NULL);
	kni_queue_detach(NULL);
	ASSERT_NE(kni_strerror(-EPROTO), NULL);
	ASSERT_STRNE(kni_strerror(-EBUSY), kni_strerror(-ENODEV));
	ASSERT_STRNE(kni_strerror(-EPROTONOSUPPORT), kni_strerror(-EPROTO));
	ASSERT_STREQ(kni_strerror(-ENOBUFS),
		     "the region exceeds the caller's RLIMIT_MEMLOCK (needs CAP_IPC_LOCK or a larger limit)");
}

/*
 * A queue's region counts against the locked memory limit of a caller
 * without CAP_IPC_LOCK (here the device's owner, a user with no
 * capability) while it is attached.
 */
TEST_F(dev, memlock)
{
	KNI_OPTS(kni_dev_config, cfg,
		 .present = KNI_CFG_QUEUES | KNI_CFG_RING_SIZE | KNI_CFG_OWNER,
		 .queues = 2,
		 .ring_size = 64,
		 .owner = 4242,
	);
	struct kni_queue *q = NULL, *q2 = NULL;
	struct rlimit rl;
	__u64 size;
	int ifindex;

	ASSERT_EQ(kni_dev_create("kni0", &cfg, self->msg, sizeof(self->msg)), 0);
	ifindex = kni_dev_ifindex("kni0");
	ASSERT_GT(ifindex, 0);
	ASSERT_EQ(getrlimit(RLIMIT_MEMLOCK, &rl), 0);
	/* A region of 64-slot rings is some 300 KiB: two fit in 1 MiB. */
	ASSERT_TRUE(rl.rlim_max == RLIM_INFINITY || rl.rlim_max >= (1U << 20))
		TH_LOG("RLIMIT_MEMLOCK's hard limit is %llu",
		       (unsigned long long)rl.rlim_max);
	rl.rlim_cur = 4096;
	ASSERT_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	/* Leaving uid 0 drops every capability. */
	ASSERT_EQ(setuid(4242), 0);

	ASSERT_EQ(kni_queue_attach(&q, ifindex, 0, NULL), -ENOBUFS);
	ASSERT_EQ(q, NULL);

	/* Room for one region and a half: one attaches, a second not. */
	rl.rlim_cur = rl.rlim_max;
	ASSERT_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	ASSERT_EQ(kni_queue_attach(&q, ifindex, 0, NULL), 0);
	size = kni_queue_info(q)->mmap_size;
	kni_queue_detach(q);
	rl.rlim_cur = size + size / 2;
	ASSERT_EQ(setrlimit(RLIMIT_MEMLOCK, &rl), 0);
	ASSERT_EQ(kni_queue_attach(&q, ifindex, 0, NULL), 0);
	ASSERT_EQ(kni_queue_attach(&q2, ifindex, 1, NULL), -ENOBUFS);
	/* Detaching returns the charge. */
	kni_queue_detach(q);
	ASSERT_EQ(kni_queue_attach(&q2, ifindex, 1, NULL), 0);
	kni_queue_detach(q2);
}

TEST_F(dev, double_attach)
{
	KNI_OPTS(kni_dev_config, cfg, .present = KNI_CFG_QUEUES, .queues = 2);
	struct kni_queue *q, *q2 = NULL;

	ASSERT_EQ(kni_dev_create("kni0", &cfg, self->msg, sizeof(self->msg)), 0);
	ASSERT_EQ(attach(&q, 0, NULL), 0);
	ASSERT_EQ(attach(&q2, 0, NULL), -EBUSY);
	ASSERT_EQ(q2, NULL);
	ASSERT_EQ(attach(&q2, 1, NULL), 0);
	kni_queue_detach(q2);
	kni_queue_detach(q);
	/* Detaching frees the queue. */
	ASSERT_EQ(attach(&q, 0, NULL), 0);
	kni_queue_detach(q);
}

/*
 * The size rule of the structures the caller passes in: an sz below the
 * first version's is refused, a larger one taken while the bytes past the
 * library's structure are zero, refused (-E2BIG) once one is not.
 */
TEST_F(dev, sz_dev_config)
{
	struct {
		struct kni_dev_config c;
		__u8 tail[16];
	} big;

	memset(&big, 0, sizeof(big));
	big.c.present = KNI_CFG_MTU;
	big.c.mtu = 1400;
	big.c.sz = 0;
	ASSERT_EQ(kni_dev_create("kni0", &big.c, NULL, 0), -EINVAL);
	big.c.sz = sizeof(big.c) - 1;
	ASSERT_EQ(kni_dev_create("kni0", &big.c, NULL, 0), -EINVAL);
	big.c.sz = sizeof(big);
	big.tail[15] = 1;
	ASSERT_EQ(kni_dev_create("kni0", &big.c, NULL, 0), -E2BIG);
	ASSERT_EQ(kni_dev_ifindex("kni0"), -ENODEV);
	big.tail[15] = 0;
	ASSERT_EQ(kni_dev_create("kni0", &big.c, self->msg, sizeof(self->msg)),
		  0) TH_LOG("message '%s'", self->msg);
	EXPECT_EQ(sysfs_long("kni0", "mtu"), 1400);

	big.c.mtu = 1300;
	big.tail[0] = 0x80;
	ASSERT_EQ(kni_dev_change("kni0", &big.c, NULL, 0), -E2BIG);
	big.c.sz = sizeof(big.c) - 1;
	ASSERT_EQ(kni_dev_change("kni0", &big.c, NULL, 0), -EINVAL);
	EXPECT_EQ(sysfs_long("kni0", "mtu"), 1400);
	big.c.sz = sizeof(big.c);
	ASSERT_EQ(kni_dev_change("kni0", &big.c, NULL, 0), 0);
	EXPECT_EQ(sysfs_long("kni0", "mtu"), 1300);
	ASSERT_EQ(kni_dev_delete("kni0", NULL, 0), 0);
	/* kni_strerror() says what -E2BIG means here. */
	EXPECT_NE(strstr(kni_strerror(-E2BIG), "libkni"), NULL);
}

TEST_F(dev, sz_queue_opts)
{
	struct {
		struct kni_queue_opts o;
		__u8 tail[16];
	} big;
	struct kni_queue *q;

	ASSERT_EQ(make_kni(""), 0);
	memset(&big, 0, sizeof(big));
	big.o.max_mtu = 1500;
	big.o.sz = offsetof(struct kni_queue_opts, offloads) - 1;
	ASSERT_EQ(attach(&q, 0, &big.o), -EINVAL);
	/* The first version's: no offloads. */
	big.o.sz = offsetof(struct kni_queue_opts, offloads);
	big.o.offloads = KNI_OFFLOAD_CSUM;
	ASSERT_EQ(attach(&q, 0, &big.o), 0);
	ASSERT_EQ(kni_queue_info(q)->offloads, 0);
	kni_queue_detach(q);
	big.o.offloads = 0;
	big.o.sz = sizeof(big);
	big.tail[7] = 1;
	ASSERT_EQ(attach(&q, 0, &big.o), -E2BIG);
	ASSERT_EQ(q, NULL);
	big.tail[7] = 0;
	ASSERT_EQ(attach(&q, 0, &big.o), 0);
	/* max_mtu was read: a larger MTU is refused. */
	EXPECT_NE(sh("ip link set kni0 mtu 1600 2>/dev/null"), 0);
	kni_queue_detach(q);
}

/* Receive one packet from the stack with kni_recv_burst_meta() into BUF. */
static int recv_meta_one(struct kni_queue *q, unsigned char *buf, __u32 size,
			 struct virtio_net_hdr *meta)
{
	long long end = now_ms() + WAIT_MS;
	struct kni_buf b;
	int ret;

	for (;;) {
		b = (struct kni_buf){ .data = buf, .len = size };
		ret = kni_recv_burst_meta(q, &b, meta, 1);
		if (ret)
			return ret < 0 ? ret : (int)b.len;
		if (now_ms() > end)
			return -ETIMEDOUT;
		ret = wait_readable(q);
		if (ret)
			return ret;
	}
}

/* Send one UDP datagram to 10.0.0.1 through kni0 from socket S. */
static int stack_send(int s)
{
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_port = htons(4000),
		.sin_addr.s_addr = htonl(0x0a000001),
	};

	return sendto(s, "out", 3, 0, (struct sockaddr *)&to,
		      sizeof(to)) == 3 ? 0 : -1;
}

/*
 * Metadata through libkni, as a dataplane that took on checksum offload
 * uses it: the option and what the kernel took on; datagrams whose
 * checksum is partial or verified reach their socket only with the
 * metadata that says so, sent by copy and in place; datagrams from the
 * stack come with the metadata of their partial checksum, by copy and in
 * place. A send without metadata on such a queue carries none, whatever
 * the frame held; a reserved frame's metadata starts zero. A queue that
 * took on nothing refuses metadata to send and reports none received.
 */
TEST_F(dev, offload_csum)
{
	KNI_OPTS(kni_queue_opts, opts,
		 .offloads = KNI_OFFLOAD_CSUM | 1U << 30);
	const struct virtio_net_hdr zero = {}, partial = {
		.flags = VIRTIO_NET_HDR_F_NEEDS_CSUM,
		.csum_start = ETH_HLEN + 20,
		.csum_offset = 6,
	}, valid = { .flags = VIRTIO_NET_HDR_F_DATA_VALID };
	const struct kni_queue_info *info;
	unsigned char mac[ETH_ALEN], pkt[256], buf[256];
	struct virtio_net_hdr meta, *m;
	__u32 len, i, ulen, nres;
	struct kni_buf b;
	struct kni_queue *q;
	long long errs;
	void *p[64];
	int s;

	ASSERT_EQ(make_kni(""), 0);
	ASSERT_EQ(kni0_ipv4(), 0);
	ASSERT_EQ(kni0_mac(mac), 0);
	s = udp_socket_on(4242);
	ASSERT_GE(s, 0);

	/* Nothing taken on: no metadata either way. */
	ASSERT_EQ(attach(&q, 0, NULL), 0);
	info = kni_queue_info(q);
	ASSERT_EQ(info->offloads, 0);
	ASSERT_EQ(info->meta_size, 0);
	len = udp_frame(pkt, mac, 4242, "plain", false);
	b = (struct kni_buf){ .data = pkt, .len = len };
	ASSERT_EQ(kni_send_burst_meta(q, &b, &valid, 1), -EOPNOTSUPP);
	ASSERT_EQ(kni_frame_reserve(q, p, 1), 1);
	ASSERT_EQ(kni_frame_meta(q, p[0]), NULL);
	ASSERT_EQ(kni_frame_release(q, p, 1), 0);
	ASSERT_EQ(stack_send(s), 0);
	memset(&meta, 0xff, sizeof(meta));
	ASSERT_EQ(recv_meta_one(q, buf, sizeof(buf), &meta), ETH_HLEN + 20 + 8 + 3);
	ASSERT_EQ(memcmp(&meta, &zero, sizeof(meta)), 0);
	ASSERT_TRUE(udp_csum_ok(buf));
	kni_queue_detach(q);

	ASSERT_EQ(attach(&q, 0, &opts), 0);
	/* The last file's detach took the carrier. */
	ASSERT_EQ(kni_queue_set_carrier(q, true), 0);
	info = kni_queue_info(q);
	ASSERT_EQ(info->offloads, KNI_OFFLOAD_CSUM);
	ASSERT_EQ(info->meta_size, sizeof(struct virtio_net_hdr));

	/* Every send frame's metadata says "verified"... */
	nres = kni_frame_reserve(q, p, 64);
	ASSERT_GT(nres, 0);
	for (i = 0; i < nres; i++) {
		m = kni_frame_meta(q, p[i]);
		ASSERT_NE(m, NULL);
		ASSERT_EQ(memcmp(m, &zero, sizeof(*m)), 0);
		*m = valid;
	}
	ASSERT_EQ(kni_frame_release(q, p, nres), 0);
	ASSERT_EQ(kni_frame_meta(q, p[0]), NULL);
	/* ...but a send without metadata does not say so: UDP drops it. */
	errs = udp_csum_errors();
	len = udp_frame(pkt, mac, 4242, "wrong", true);
	b = (struct kni_buf){ .data = pkt, .len = len };
	ASSERT_EQ(kni_send_burst(q, &b, 1), 1);
	WAIT_UNTIL(udp_csum_errors() == errs + 1, 10);
	ASSERT_EQ(udp_csum_errors(), errs + 1);

	/* With it, the same datagram is delivered. */
	len = udp_frame(pkt, mac, 4242, "verified", true);
	b = (struct kni_buf){ .data = pkt, .len = len };
	ASSERT_EQ(kni_send_burst_meta(q, &b, &valid, 1), 1);
	ASSERT_EQ(recv(s, buf, sizeof(buf), 0), 8);
	ASSERT_EQ(memcmp(buf, "verified", 8), 0);

	/* A partial checksum, by copy and in place. */
	for (i = 0; i < 2; i++) {
		const char *what = i ? "partial in place" : "partial";
		unsigned char *ip = pkt + ETH_HLEN;

		len = udp_frame(pkt, mac, 4242, what, false);
		ulen = len - ETH_HLEN - 20;
		put16(ip + 26, ~csum_fold(csum_add(IPPROTO_UDP + ulen, ip + 12,
						   8)) & 0xffff);
		ASSERT_FALSE(udp_csum_ok(pkt));
		if (!i) {
			b = (struct kni_buf){ .data = pkt, .len = len };
			ASSERT_EQ(kni_send_burst_meta(q, &b, &partial, 1), 1);
		} else {
			ASSERT_EQ(kni_frame_reserve(q, p, 1), 1);
			memcpy(p[0], pkt, len);
			m = kni_frame_meta(q, p[0]);
			ASSERT_NE(m, NULL);
			*m = partial;
			b = (struct kni_buf){ .data = p[0], .len = len };
			ASSERT_EQ(kni_frame_submit(q, &b, 1), 1);
		}
		ASSERT_EQ(recv(s, buf, sizeof(buf), 0), strlen(what));
		ASSERT_EQ(memcmp(buf, what, strlen(what)), 0);
	}
	ASSERT_EQ(udp_csum_errors(), errs + 1);

	/* From the stack: left to complete, by copy and in place. */
	ASSERT_EQ(stack_send(s), 0);
	ASSERT_EQ(recv_meta_one(q, buf, sizeof(buf), &meta), ETH_HLEN + 20 + 8 + 3);
	ASSERT_EQ(meta.flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ASSERT_EQ(meta.csum_start, ETH_HLEN + 20);
	ASSERT_EQ(meta.csum_offset, 6);
	ASSERT_FALSE(udp_csum_ok(buf));
	ASSERT_EQ(stack_send(s), 0);
	ASSERT_EQ(recv_inplace(q, &b, 1), 1);
	m = kni_frame_meta(q, b.data);
	ASSERT_NE(m, NULL);
	ASSERT_EQ(m->flags, VIRTIO_NET_HDR_F_NEEDS_CSUM);
	ASSERT_EQ(m->csum_start, ETH_HLEN + 20);
	p[0] = b.data;
	ASSERT_EQ(kni_frame_release(q, p, 1), 0);
	kni_queue_detach(q);
	close(s);
}

#ifndef UDP_SEGMENT
#define UDP_SEGMENT	103
#endif

/*
 * Packets longer than a frame, as a dataplane that took on chains and
 * segmentation uses them: a datagram of 5000 bytes reaches its socket
 * when copied (one buffer, a chain in the ring) and when sent in place
 * (three frames chained by the caller); a burst that ends inside a chain
 * sends nothing and leaves the frames to the caller; a packet longer than
 * any chain is refused. From the stack, a UDP send in segments of 1000
 * comes whole with its segmentation metadata, copied into one buffer
 * (or cut to a smaller one) and in place, one entry per frame.
 */
TEST_F(dev, offload_chain)
{
	KNI_OPTS(kni_queue_opts, opts,
		 .offloads = KNI_OFFLOAD_CSUM | KNI_OFFLOAD_CHAIN |
			     KNI_OFFLOAD_USO);
	KNI_OPTS(kni_queue_stats, st);
	struct sockaddr_in to = {
		.sin_family = AF_INET,
		.sin_port = htons(4000),
		.sin_addr.s_addr = htonl(0x0a000001),
	};
	static unsigned char pkt[KNI_CHAIN_LEN_MAX + 1], buf[8192];
	static char payload[5001];
	struct virtio_net_hdr meta;
	unsigned char mac[ETH_ALEN];
	__u32 len, i, off, room;
	struct kni_buf b, parts[8];
	struct kni_queue *q;
	int s, seg = 1000;
	void *p[3];

	ASSERT_EQ(make_kni(""), 0);
	ASSERT_EQ(kni0_ipv4(), 0);
	ASSERT_EQ(kni0_mac(mac), 0);
	s = udp_socket_on(4242);
	ASSERT_GE(s, 0);
	for (i = 0; i < 5000; i++)
		payload[i] = 'a' + i % 26;

	/* Without chains, a packet longer than a frame is refused. */
	ASSERT_EQ(attach(&q, 0, NULL), 0);
	len = udp_frame(pkt, mac, 4242, payload, false);
	b = (struct kni_buf){ .data = pkt, .len = len };
	ASSERT_EQ(kni_send_burst(q, &b, 1), -EINVAL);
	kni_queue_detach(q);

	ASSERT_EQ(attach(&q, 0, &opts), 0);
	ASSERT_EQ(kni_queue_set_carrier(q, true), 0);
	ASSERT_EQ(kni_queue_info(q)->offloads, opts.offloads);
	room = kni_queue_info(q)->data_room;

	/* By copy. */
	ASSERT_EQ(kni_send_burst(q, &b, 1), 1);
	ASSERT_EQ(recv(s, buf, sizeof(buf), 0), 5000);
	ASSERT_EQ(memcmp(buf, payload, 5000), 0);

	/* In place, three frames. */
	ASSERT_EQ(kni_frame_reserve(q, p, 3), 3);
	for (i = 0, off = 0; i < 3; i++) {
		__u32 part = i < 2 ? 1700 : len - 3400;

		ASSERT_LE(part, room);
		memcpy(p[i], pkt + off, part);
		parts[i] = (struct kni_buf){
			.data = p[i], .len = part,
			.flags = i < 2 ? KNI_DESC_F_NEXT : 0,
		};
		off += part;
	}
	/* A burst that ends inside the chain sends nothing of it. */
	ASSERT_EQ(kni_frame_submit(q, parts, 2), -EINVAL);
	ASSERT_EQ(kni_frame_submit(q, parts, 3), 3);
	ASSERT_EQ(recv(s, buf, sizeof(buf), 0), 5000);
	ASSERT_EQ(memcmp(buf, payload, 5000), 0);

	/* Longer than any chain. */
	memset(pkt + len, 0, sizeof(pkt) - len);
	b = (struct kni_buf){ .data = pkt, .len = KNI_CHAIN_LEN_MAX + 1 };
	ASSERT_EQ(kni_send_burst(q, &b, 1), -EINVAL);

	/* From the stack, whole. */
	ASSERT_EQ(setsockopt(s, IPPROTO_UDP, UDP_SEGMENT, &seg, sizeof(seg)), 0);
	ASSERT_EQ(sendto(s, payload, 4500, 0, (struct sockaddr *)&to,
			 sizeof(to)), 4500);
	ASSERT_EQ(recv_meta_one(q, buf, sizeof(buf), &meta), 42 + 4500);
	ASSERT_EQ(meta.gso_type, VIRTIO_NET_HDR_GSO_UDP_L4);
	ASSERT_EQ(meta.gso_size, 1000);
	ASSERT_EQ(memcmp(buf + 42, payload, 4500), 0);

	/* Cut to a smaller buffer, counted once. */
	ASSERT_EQ(sendto(s, payload, 4500, 0, (struct sockaddr *)&to,
			 sizeof(to)), 4500);
	ASSERT_EQ(recv_meta_one(q, buf, 3000, &meta), 3000);
	ASSERT_EQ(memcmp(buf + 42, payload, 3000 - 42), 0);
	ASSERT_EQ(kni_queue_stats(q, &st), 0);
	ASSERT_EQ(st.truncated, 1);

	/* In place: an entry per frame, the last one ending the packet. */
	ASSERT_EQ(sendto(s, payload, 4500, 0, (struct sockaddr *)&to,
			 sizeof(to)), 4500);
	ASSERT_EQ(recv_inplace(q, parts, 3), 3);
	for (i = 0, off = 0; i < 3; i++) {
		ASSERT_EQ(!!(parts[i].flags & KNI_DESC_F_NEXT), i < 2);
		memcpy(buf + off, parts[i].data, parts[i].len);
		off += parts[i].len;
		p[i] = parts[i].data;
	}
	ASSERT_EQ(off, 42 + 4500);
	ASSERT_EQ(kni_frame_meta(q, p[0])->gso_type, VIRTIO_NET_HDR_GSO_UDP_L4);
	ASSERT_EQ(memcmp(buf + 42, payload, 4500), 0);
	ASSERT_EQ(kni_frame_release(q, p, 3), 0);

	ASSERT_EQ(kni_queue_stats(q, &st), 0);
	ASSERT_EQ(st.sent, 2);
	ASSERT_EQ(st.send_dropped, 0);
	ASSERT_EQ(st.bad_desc, 0);
	kni_queue_detach(q);
	close(s);
}

TEST_F(dev, sz_ops)
{
	struct {
		struct kni_ops o;
		__u8 tail[16];
	} big;
	KNI_OPTS(kni_queue_opts, opts, .ops = &big.o);
	struct kni_queue *q;

	ASSERT_EQ(make_kni(""), 0);
	memset(&big, 0, sizeof(big));
	big.o.sz = offsetof(struct kni_ops, mcast) - 1;
	ASSERT_EQ(attach(&q, 0, &opts), -EINVAL);
	big.o.sz = 0;
	ASSERT_EQ(attach(&q, 0, &opts), -EINVAL);
	big.o.sz = sizeof(big);
	big.tail[sizeof(big.tail) - 1] = 0xff;
	ASSERT_EQ(attach(&q, 0, &opts), -E2BIG);
	big.tail[sizeof(big.tail) - 1] = 0;
	ASSERT_EQ(attach(&q, 0, &opts), 0);
	kni_queue_detach(q);
	/* The first version's size. */
	big.o.sz = offsetof(struct kni_ops, mcast);
	ASSERT_EQ(attach(&q, 0, &opts), 0);
	kni_queue_detach(q);
}

/* A byte the library must not have written. */
#define GUARD	0xa5

static bool guarded(const void *p, size_t from, size_t to)
{
	const __u8 *b = p;

	for (; from < to; from++)
		if (b[from] != GUARD)
			return false;
	return true;
}

/*
 * The structures the library fills in: an sz below the first version's is
 * refused and nothing written; otherwise the library writes within the sz
 * and within its structure, and not a byte past either.
 */
TEST_F(dev, sz_output)
{
	const size_t st_v1 = offsetof(struct kni_dev_state, mc_count);
	union {
		struct kni_queue_stats s;
		__u8 b[sizeof(struct kni_queue_stats) + 16];
	} stats;
	union {
		struct kni_dev_state s;
		__u8 b[sizeof(struct kni_dev_state) + 16];
	} state;
	struct kni_queue *q;

	ASSERT_EQ(make_kni(""), 0);
	ASSERT_EQ(attach(&q, 0, NULL), 0);

	memset(&stats, GUARD, sizeof(stats));
	stats.s.sz = sizeof(stats.s) - 1;
	EXPECT_EQ(kni_queue_stats(q, &stats.s), -EINVAL);
	EXPECT_TRUE(guarded(&stats, sizeof(size_t), sizeof(stats)));
	/* A newer caller's larger structure: its new fields are its own. */
	stats.s.sz = sizeof(stats);
	EXPECT_EQ(kni_queue_stats(q, &stats.s), 0);
	EXPECT_EQ(stats.s.sz, sizeof(stats));
	EXPECT_EQ(stats.s.sent, 0);
	EXPECT_EQ(stats.s.events, 0);
	EXPECT_TRUE(guarded(&stats, sizeof(stats.s), sizeof(stats)));

	memset(&state, GUARD, sizeof(state));
	state.s.sz = st_v1 - 1;
	EXPECT_EQ(kni_queue_state(q, &state.s), -EINVAL);
	EXPECT_TRUE(guarded(&state, sizeof(size_t), sizeof(state)));
	/* A caller of the first version: the multicast list is not its. */
	state.s.sz = st_v1;
	EXPECT_EQ(kni_queue_state(q, &state.s), 0);
	EXPECT_EQ(state.s.mtu, 1500);
	EXPECT_TRUE(state.s.up);
	EXPECT_FALSE(state.s.gone);
	EXPECT_EQ(state.s.overflows, 0);
	EXPECT_TRUE(guarded(&state, st_v1, sizeof(state)));
	state.s.sz = sizeof(state);
	EXPECT_EQ(kni_queue_state(q, &state.s), 0);
	EXPECT_EQ(state.s.sz, sizeof(state));
	EXPECT_FALSE(state.s.mc_all);
	EXPECT_TRUE(guarded(&state, sizeof(state.s), sizeof(state)));
	kni_queue_detach(q);
}

FIXTURE(data)
{
	struct kni_queue *q;
	int pfd;
};

FIXTURE_VARIANT(data)
{
	const char *args;
	bool loopback;
	bool busy;
};

FIXTURE_VARIANT_ADD(data, stack)
{
	.args = "ring_size 64",
};

FIXTURE_VARIANT_ADD(data, stack_busy)
{
	.args = "ring_size 64",
	.busy = true,
};

FIXTURE_VARIANT_ADD(data, loopback_fifo)
{
	.args = "ring_size 64 loopback fifo",
	.loopback = true,
};

FIXTURE_VARIANT_ADD(data, loopback_fifo_skb)
{
	.args = "ring_size 64 frame_size 4096 loopback fifo_skb",
	.loopback = true,
};

FIXTURE_SETUP(data)
{
	ASSERT_EQ(enter_netns(), 0);
	ASSERT_EQ(make_kni(variant->args), 0);
	ASSERT_EQ(attach(&self->q, 0, NULL), 0);
	if (variant->busy)
		ASSERT_EQ(kni_queue_set_busy(self->q, true), 0);
	self->pfd = packet_socket();
	ASSERT_GE(self->pfd, 0);
}

FIXTURE_TEARDOWN(data)
{
	close(self->pfd);
	kni_queue_detach(self->q);
}

/* The packet of index I in a round trip. */
static __u32 pkt_len(const struct kni_queue_info *info, __u32 i)
{
	return ETH_HLEN + (i * 97) % (info->data_room - ETH_HLEN - 4);
}

/* Packets from a socket on kni0 reach the library, and the reverse. */
static void stack_round_trip(struct __test_metadata *_metadata,
			     struct kni_queue *q, int pfd, bool inplace)
{
	const struct kni_queue_info *info = kni_queue_info(q);
	unsigned int rounds = 3 * info->ring_size, i;
	/* Room for the largest packet the queue takes, whatever the layout. */
	unsigned char *buf = malloc(info->data_room);
	unsigned char *want = malloc(info->data_room);
	struct kni_buf b;
	ssize_t got;

	ASSERT_NE(buf, NULL);
	ASSERT_NE(want, NULL);
	/* Library to stack, more packets than frames. */
	for (i = 0; i < rounds; i++) {
		__u32 len = pkt_len(info, i);
		int sent;

		fill(want, len, i);
		if (inplace) {
			void *p;

			ASSERT_EQ(kni_frame_reserve(q, &p, 1), 1);
			memcpy(p, want, len);
			b = (struct kni_buf){ .data = p, .len = len };
			sent = kni_frame_submit(q, &b, 1);
		} else {
			b = (struct kni_buf){ .data = want, .len = len };
			sent = kni_send_burst(q, &b, 1);
		}
		ASSERT_EQ(sent, 1);
		got = recv(pfd, buf, info->data_room, 0);
		ASSERT_EQ(got, len) TH_LOG("packet %u", i);
		ASSERT_EQ(memcmp(buf, want, len), 0);
	}

	/* Stack to library, within the MTU. */
	for (i = 0; i < rounds; i++) {
		__u32 len = ETH_ZLEN + (i * 97) % (ETH_FRAME_LEN - ETH_ZLEN + 1);

		fill(want, len, i + 1000);
		ASSERT_EQ(send(pfd, want, len, 0), len);
		if (inplace) {
			ASSERT_EQ(recv_inplace(q, &b, 1), 1) TH_LOG("packet %u", i);
			ASSERT_EQ(b.len, len);
			ASSERT_EQ(memcmp(b.data, want, len), 0);
			ASSERT_EQ(kni_frame_release(q, &b.data, 1), 0);
			/* Once only. */
			ASSERT_EQ(kni_frame_release(q, &b.data, 1), -EINVAL);
		} else {
			__u32 l;

			ASSERT_EQ(recv_copy(q, buf, info->data_room, &l, 1), 1)
				TH_LOG("packet %u", i);
			ASSERT_EQ(l, len);
			ASSERT_EQ(memcmp(buf, want, len), 0);
		}
	}
	free(buf);
	free(want);
}

/* Everything sent comes back on tx through the loopback fifo. */
static void loopback_round_trip(struct __test_metadata *_metadata,
				struct kni_queue *q, bool inplace)
{
	const struct kni_queue_info *info = kni_queue_info(q);
	__u32 room = info->data_room, lens[32];
	unsigned int batch = 32, round, i;
	/* Packets up to the queue's data room, whatever the frame size. */
	unsigned char *bufs = calloc(batch, room);
	unsigned char *want = malloc(room);
	struct kni_buf b[32];
	void *p[32];

	ASSERT_NE(bufs, NULL);
	ASSERT_NE(want, NULL);
	/* Many more packets than frames: the frames must circulate. */
	for (round = 0; round < 8 * info->ring_size / batch; round++) {
		for (i = 0; i < batch; i++) {
			__u32 len = pkt_len(info, round * batch + i);

			fill(bufs + i * room, len, round * batch + i);
			b[i] = (struct kni_buf){ .data = bufs + i * room,
						 .len = len };
			lens[i] = len;
		}
		if (inplace) {
			ASSERT_EQ(kni_frame_reserve(q, p, batch), batch);
			for (i = 0; i < batch; i++) {
				memcpy(p[i], bufs + i * room, lens[i]);
				b[i].data = p[i];
			}
			ASSERT_EQ(kni_frame_submit(q, b, batch), batch);
		} else {
			ASSERT_EQ(kni_send_burst(q, b, batch), batch);
		}
		if (inplace) {
			ASSERT_EQ(recv_inplace(q, b, batch), batch)
				TH_LOG("round %u", round);
			for (i = 0; i < batch; i++) {
				fill(want, lens[i], round * batch + i);
				ASSERT_EQ(b[i].len, lens[i]);
				ASSERT_EQ(memcmp(b[i].data, want, lens[i]), 0);
				p[i] = b[i].data;
			}
			ASSERT_EQ(kni_frame_release(q, p, batch), 0);
		} else {
			__u32 got_lens[32];

			ASSERT_EQ(recv_copy(q, bufs, room, got_lens, batch), batch)
				TH_LOG("round %u", round);
			for (i = 0; i < batch; i++) {
				fill(want, lens[i], round * batch + i);
				ASSERT_EQ(got_lens[i], lens[i]);
				ASSERT_EQ(memcmp(bufs + i * room, want, lens[i]), 0);
			}
		}
	}
	free(bufs);
	free(want);
}

TEST_F(data, copy)
{
	if (variant->loopback)
		loopback_round_trip(_metadata, self->q, false);
	else
		stack_round_trip(_metadata, self->q, self->pfd, false);
}

TEST_F(data, in_place)
{
	if (variant->loopback)
		loopback_round_trip(_metadata, self->q, true);
	else
		stack_round_trip(_metadata, self->q, self->pfd, true);
}

/* The library's frame accounting and its refusals. */
TEST_F(data, frames)
{
	const struct kni_queue_info *info = kni_queue_info(self->q);
	unsigned int rs = info->ring_size, i;
	void *p[1024], *extra;
	struct kni_buf b;
	unsigned char small[64] = {};

	ASSERT_LE(rs, 1024);
	ASSERT_EQ(info->frame_count, 2 * rs);
	ASSERT_EQ(kni_frame_reserve(self->q, p, rs), rs);
	ASSERT_EQ(kni_frame_reserve(self->q, &extra, 1), 0);
	/* No frame left to copy into either. */
	b = (struct kni_buf){ .data = small, .len = sizeof(small) };
	ASSERT_EQ(kni_send_burst(self->q, &b, 1), 0);
	for (i = 1; i < rs; i++)
		ASSERT_NE(p[i], p[i - 1]);
	ASSERT_EQ(kni_frame_release(self->q, p, rs), 0);
	ASSERT_EQ(kni_frame_release(self->q, p, 1), -EINVAL);
	ASSERT_EQ(kni_frame_reserve(self->q, p, rs), rs);
	ASSERT_EQ(kni_frame_release(self->q, p + 1, rs - 1), 0);

	/* Too short, too long, unknown flags, not a reserved frame. */
	b = (struct kni_buf){ .data = p[0], .len = ETH_HLEN - 1 };
	ASSERT_EQ(kni_frame_submit(self->q, &b, 1), -EINVAL);
	b.len = info->data_room + 1;
	ASSERT_EQ(kni_frame_submit(self->q, &b, 1), -EINVAL);
	b.len = 60;
	b.flags = KNI_DESC_F_DROPPED;
	ASSERT_EQ(kni_frame_submit(self->q, &b, 1), -EINVAL);
	b = (struct kni_buf){ .data = small, .len = sizeof(small) };
	ASSERT_EQ(kni_frame_submit(self->q, &b, 1), -EINVAL);
	ASSERT_EQ(kni_frame_release(self->q, &b.data, 1), -EINVAL);
	b.len = ETH_HLEN - 1;
	ASSERT_EQ(kni_send_burst(self->q, &b, 1), -EINVAL);
	b.len = info->data_room + 1;
	ASSERT_EQ(kni_send_burst(self->q, &b, 1), -EINVAL);
	b = (struct kni_buf){ .data = NULL, .len = 60 };
	ASSERT_EQ(kni_recv_burst(self->q, &b, 1), -EINVAL);
	ASSERT_EQ(kni_frame_release(self->q, p, 1), 0);
}

/*
 * A send that puts nothing on rx rings no doorbell, even when the kernel
 * asks for wakeups and sent frames came back meanwhile.
 */
TEST_F(data, no_idle_kick)
{
	KNI_OPTS(kni_queue_stats, st0);
	KNI_OPTS(kni_queue_stats, st);
	const struct kni_queue_info *info = kni_queue_info(self->q);
	struct pollfd pfd = { .fd = kni_queue_fd(self->q), .events = POLLIN };
	unsigned int rs = info->ring_size;
	unsigned char pkt[64] = {}, buf[128];
	struct kni_buf b;
	void *p[1024];

	ASSERT_LE(rs, 1024);
	/* One frame left for sending. */
	ASSERT_EQ(kni_frame_reserve(self->q, p, rs - 1), rs - 1);
	fill(pkt, sizeof(pkt), 7);
	b = (struct kni_buf){ .data = pkt, .len = sizeof(pkt) };
	ASSERT_EQ(kni_send_burst(self->q, &b, 1), 1);
	if (variant->loopback) {
		/* The packet comes back on tx, its frame on free. */
		struct kni_buf rb = { .data = buf, .len = sizeof(buf) };
		int i, n = 0;

		for (i = 0; i < WAIT_MS / 10 && !n; i++) {
			n = kni_recv_burst(self->q, &rb, 1);
			if (!n)
				usleep(10000);
		}
		ASSERT_EQ(n, 1);
		ASSERT_EQ(rb.len, sizeof(pkt));
	} else {
		ASSERT_EQ(recv(self->pfd, buf, sizeof(buf), 0), sizeof(pkt));
		/* Its frame is back on free: the file is readable. */
		ASSERT_EQ(poll(&pfd, 1, WAIT_MS), 1);
	}

	ASSERT_EQ(kni_queue_stats(self->q, &st0), 0);
	/* Nothing to send, an invalid packet, a reservation. */
	ASSERT_EQ(kni_send_burst(self->q, &b, 0), 0);
	b.len = ETH_HLEN - 1;
	ASSERT_EQ(kni_send_burst(self->q, &b, 1), -EINVAL);
	ASSERT_EQ(kni_frame_reserve(self->q, &p[rs - 1], 1), 1);
	/* No frame left: nothing sent. */
	b.len = sizeof(pkt);
	ASSERT_EQ(kni_send_burst(self->q, &b, 1), 0);
	b = (struct kni_buf){ .data = p[0], .len = ETH_HLEN - 1 };
	ASSERT_EQ(kni_frame_submit(self->q, &b, 1), -EINVAL);
	ASSERT_EQ(kni_queue_stats(self->q, &st), 0);
	EXPECT_EQ(st.kicks, st0.kicks);
	EXPECT_EQ(st.sent, st0.sent);
	ASSERT_EQ(kni_frame_release(self->q, p, rs), 0);
}

/*
 * One queue, two threads: one sends to the stack, the other receives from
 * it, as the thread model of libkni.h allows. Through the loopback fifo
 * every packet sent comes back; each must arrive once and in order.
 */
FIXTURE(threads)
{
	struct kni_queue *q;
};

FIXTURE_VARIANT(threads)
{
	bool inplace;
};

FIXTURE_VARIANT_ADD(threads, copy)
{
	.inplace = false,
};

FIXTURE_VARIANT_ADD(threads, in_place)
{
	.inplace = true,
};

FIXTURE_SETUP(threads)
{
	ASSERT_EQ(enter_netns(), 0);
	ASSERT_EQ(make_kni("ring_size 64 loopback fifo"), 0);
	ASSERT_EQ(attach(&self->q, 0, NULL), 0);
}

FIXTURE_TEARDOWN(threads)
{
	kni_queue_detach(self->q);
}

struct flow {
	struct kni_queue *q;
	unsigned int n;
	bool inplace;
	/* Out: packets done, 0 or -errno, and what went wrong. */
	unsigned int done;
	int err;
	char why[128];
};

/* Packet SEQ of a flow: its number after the Ethernet header. */
static void flow_pkt(unsigned char *p, __u32 len, __u32 seq)
{
	fill(p, len, seq);
	memcpy(p + ETH_HLEN, &seq, sizeof(seq));
}

static __u32 flow_len(const struct kni_queue_info *info, __u32 seq)
{
	/* Room for the number, up to the data room. */
	return ETH_HLEN + 4 + (seq * 97) % (info->data_room - ETH_HLEN - 4);
}

/* Wait for the queue's file to be readable, or until the budget is spent. */
static int flow_wait(struct kni_queue *q, long long *idle_end)
{
	if (now_ms() > *idle_end)
		return -ETIMEDOUT;
	return wait_readable(q);
}

static void *flow_send(void *arg)
{
	struct flow *f = arg;
	const struct kni_queue_info *info = kni_queue_info(f->q);
	__u32 room = info->data_room;
	unsigned char *bufs = malloc(32 * room);
	long long idle_end = now_ms() + WAIT_MS;
	struct kni_buf b[32];
	void *p[32];

	if (!bufs) {
		f->err = -ENOMEM;
		return NULL;
	}
	while (f->done < f->n) {
		unsigned int want = f->n - f->done > 32 ? 32 : f->n - f->done;
		unsigned int i;
		int ret;

		if (f->inplace)
			want = kni_frame_reserve(f->q, p, want);
		for (i = 0; i < want; i++) {
			__u32 seq = f->done + i;
			__u32 len = flow_len(info, seq);
			unsigned char *d = f->inplace ? p[i] : bufs + i * room;

			flow_pkt(d, len, seq);
			b[i] = (struct kni_buf){ .data = d, .len = len };
		}
		if (!want)
			ret = 0;
		else if (f->inplace)
			ret = kni_frame_submit(f->q, b, want);
		else
			ret = kni_send_burst(f->q, b, want);
		if (ret < 0) {
			f->err = ret;
			snprintf(f->why, sizeof(f->why), "send at %u: %d",
				 f->done, ret);
			break;
		}
		if (f->inplace && (unsigned int)ret < want &&
		    kni_frame_release(f->q, p + ret, want - ret)) {
			f->err = -EINVAL;
			snprintf(f->why, sizeof(f->why), "release at %u", f->done);
			break;
		}
		f->done += ret;
		if (ret) {
			idle_end = now_ms() + WAIT_MS;
			continue;
		}
		/* Frames come back as the kernel loops the packets. */
		f->err = flow_wait(f->q, &idle_end);
		if (f->err) {
			snprintf(f->why, sizeof(f->why), "send stuck at %u: %d",
				 f->done, f->err);
			break;
		}
	}
	free(bufs);
	return NULL;
}

static void *flow_recv(void *arg)
{
	struct flow *f = arg;
	const struct kni_queue_info *info = kni_queue_info(f->q);
	__u32 room = info->data_room;
	unsigned char *bufs = malloc(32 * room), *want = malloc(room);
	long long idle_end = now_ms() + WAIT_MS;
	struct kni_buf b[32];
	void *p[32];

	if (!bufs || !want) {
		f->err = -ENOMEM;
		goto out;
	}
	while (f->done < f->n) {
		unsigned int i;
		int ret;

		if (f->inplace) {
			ret = kni_frame_recv(f->q, b, 32);
		} else {
			for (i = 0; i < 32; i++)
				b[i] = (struct kni_buf){ .data = bufs + i * room,
							 .len = room };
			ret = kni_recv_burst(f->q, b, 32);
		}
		if (ret < 0) {
			f->err = ret;
			snprintf(f->why, sizeof(f->why), "receive at %u: %d",
				 f->done, ret);
			break;
		}
		for (i = 0; i < (unsigned int)ret && !f->err; i++) {
			__u32 seq = f->done, len = flow_len(info, seq), got;

			memcpy(&got, (unsigned char *)b[i].data + ETH_HLEN,
			       sizeof(got));
			flow_pkt(want, len, seq);
			if (b[i].len != len || memcmp(b[i].data, want, len)) {
				f->err = -EBADMSG;
				snprintf(f->why, sizeof(f->why),
					 "packet %u: got number %u length %u, want length %u",
					 seq, got, b[i].len, len);
			}
			f->done++;
			p[i] = b[i].data;
		}
		if (f->inplace && ret && kni_frame_release(f->q, p, ret)) {
			f->err = -EINVAL;
			snprintf(f->why, sizeof(f->why), "release at %u", f->done);
		}
		if (f->err)
			break;
		if (ret) {
			idle_end = now_ms() + WAIT_MS;
			continue;
		}
		f->err = flow_wait(f->q, &idle_end);
		if (f->err) {
			snprintf(f->why, sizeof(f->why), "receive stuck at %u: %d",
				 f->done, f->err);
			break;
		}
	}
out:
	free(bufs);
	free(want);
	return NULL;
}

TEST_F_TIMEOUT(threads, both_ways, 600)
{
	KNI_OPTS(kni_queue_stats, st);
	const struct kni_queue_info *info = kni_queue_info(self->q);
	unsigned int n = 32 * info->ring_size;
	struct flow tx = { .q = self->q, .n = n, .inplace = variant->inplace };
	struct flow rx = tx;
	unsigned char buf[64];
	struct kni_buf b = { .data = buf, .len = sizeof(buf) };
	pthread_t ts, tr;

	ASSERT_EQ(pthread_create(&tr, NULL, flow_recv, &rx), 0);
	ASSERT_EQ(pthread_create(&ts, NULL, flow_send, &tx), 0);
	ASSERT_EQ(pthread_join(ts, NULL), 0);
	ASSERT_EQ(pthread_join(tr, NULL), 0);
	EXPECT_EQ(tx.err, 0) TH_LOG("%s", tx.why);
	EXPECT_EQ(rx.err, 0) TH_LOG("%s", rx.why);
	EXPECT_EQ(tx.done, n);
	EXPECT_EQ(rx.done, n);
	/* Nothing more: every packet came once. */
	EXPECT_EQ(kni_recv_burst(self->q, &b, 1), 0);
	ASSERT_EQ(kni_queue_stats(self->q, &st), 0);
	EXPECT_EQ(st.sent, n);
	EXPECT_EQ(st.received, n);
	EXPECT_EQ(st.send_dropped, 0);
	EXPECT_EQ(st.bad_desc, 0);
	EXPECT_EQ(st.truncated, 0);
}

/* Busy mode against the stack. */
FIXTURE(busy)
{
	struct kni_queue *q;
	int pfd;
};

FIXTURE_SETUP(busy)
{
	ASSERT_EQ(enter_netns(), 0);
	ASSERT_EQ(make_kni("ring_size 64"), 0);
	ASSERT_EQ(attach(&self->q, 0, NULL), 0);
	self->pfd = packet_socket();
	ASSERT_GE(self->pfd, 0);
}

FIXTURE_TEARDOWN(busy)
{
	close(self->pfd);
	kni_queue_detach(self->q);
}

/* With wakeups off, a packet wakes nobody; back on, epoll sees it. */
TEST_F(busy, wakeups)
{
	struct epoll_event ev = { .events = EPOLLIN }, out;
	struct pollfd pfd = { .fd = kni_queue_fd(self->q), .events = POLLIN };
	unsigned char pkt[100], buf[2048];
	struct kni_buf b;
	long long end;
	int ep, ready;

	ep = epoll_create1(0);
	ASSERT_GE(ep, 0);
	ASSERT_EQ(epoll_ctl(ep, EPOLL_CTL_ADD, kni_queue_fd(self->q), &ev), 0);
	ASSERT_EQ(kni_queue_set_busy(self->q, true), 0);
	fill(pkt, sizeof(pkt), 1);
	ASSERT_EQ(send(self->pfd, pkt, sizeof(pkt), 0), sizeof(pkt));
	/*
	 * Wait until the packet is on the tx ring: poll() with no timeout
	 * looks at the rings and does not sleep. Then epoll, which learns of
	 * readiness only from wakeups, must not have been told.
	 */
	end = now_ms() + WAIT_MS;
	while (!(ready = poll(&pfd, 1, 0)) && now_ms() < end)
		sched_yield();
	ASSERT_EQ(ready, 1);
	ASSERT_EQ(pfd.revents, POLLIN);
	ASSERT_EQ(epoll_wait(ep, &out, 1, 0), 0);
	/* A busy poller finds it. */
	b = (struct kni_buf){ .data = buf, .len = sizeof(buf) };
	ASSERT_EQ(kni_recv_burst(self->q, &b, 1), 1);
	ASSERT_EQ(b.len, sizeof(pkt));
	ASSERT_EQ(b.flags & KNI_BUF_F_TRUNCATED, 0);

	ASSERT_EQ(kni_queue_set_busy(self->q, false), 0);
	ASSERT_EQ(send(self->pfd, pkt, sizeof(pkt), 0), sizeof(pkt));
	ASSERT_EQ(epoll_wait(ep, &out, 1, WAIT_MS), 1);
	b = (struct kni_buf){ .data = buf, .len = 10 };
	ASSERT_EQ(kni_recv_burst(self->q, &b, 1), 1);
	/* Cut to the buffer, and said so. */
	ASSERT_EQ(b.len, 10);
	ASSERT_EQ(b.flags & KNI_BUF_F_TRUNCATED, KNI_BUF_F_TRUNCATED);
	close(ep);
}

/*
 * kni_queue_events(), after waiting for an event when WAIT, less the mcast
 * callbacks it made: the stack changes kni0's multicast list when kni0
 * goes down or up, and the kernel posts the list shortly after, so that
 * it may come with any later event.
 */
static int events_nomc(struct kni_queue *q, struct seen *s, bool wait)
{
	int before = s->mcast_calls;
	int ret = wait ? events(q) : kni_queue_events(q);

	return ret < 0 ? ret : ret - (s->mcast_calls - before);
}

FIXTURE(ctl)
{
	struct kni_queue *q;
	struct seen seen;
};

FIXTURE_SETUP(ctl)
{
	ASSERT_EQ(enter_netns(), 0);
	ASSERT_EQ(make_kni(""), 0);
}

FIXTURE_TEARDOWN(ctl)
{
	kni_queue_detach(self->q);
}

static int attach_ctl(struct kni_queue **q, struct seen *seen, __u32 flags,
		      __u32 max_mtu)
{
	KNI_OPTS(kni_queue_opts, opts,
		 .flags = flags,
		 .max_mtu = max_mtu,
		 .ops = &recorder,
		 .cookie = seen,
	);
	KNI_OPTS(kni_dev_state, st);
	int ret;

	ret = attach(q, 0, &opts);
	if (ret)
		return ret;
	/*
	 * The multicast list the stack set up when kni0 went up reaches the
	 * queue shortly after, maybe after the attach: let it, so that the
	 * test counts only the callbacks of its own changes.
	 */
	ret = kni_queue_state(*q, &st);
	if (!ret && st.up) {
		ret = mcast_wait(*q, NULL);
		if (ret >= 0)
			ret = kni_queue_events(*q);
	}
	memset(seen, 0, sizeof(*seen));
	return ret < 0 ? ret : 0;
}

TEST_F(ctl, carrier)
{
	ASSERT_EQ(attach_ctl(&self->q, &self->seen, 0, 0), 0);
	ASSERT_EQ(kni_queue_set_carrier(self->q, false), 0);
	ASSERT_TRUE(sysfs_wait("kni0", "carrier", 0));
	ASSERT_EQ(kni_queue_set_carrier(self->q, true), 0);
	ASSERT_TRUE(sysfs_wait("kni0", "carrier", 1));
	/* The last detach takes the carrier down. */
	kni_queue_detach(self->q);
	self->q = NULL;
	ASSERT_TRUE(sysfs_wait("kni0", "carrier", 0));
}

TEST_F(ctl, each_event)
{
	KNI_OPTS(kni_dev_state, st);

	ASSERT_EQ(attach_ctl(&self->q, &self->seen, 0, 0), 0);
	ASSERT_EQ(kni_queue_state(self->q, &st), 0);
	ASSERT_EQ(st.mtu, 1500);
	ASSERT_TRUE(st.up);
	ASSERT_FALSE(st.gone);
	/* Nothing happened yet. */
	ASSERT_EQ(kni_queue_events(self->q), 0);

	ASSERT_EQ(sh("ip link set kni0 mtu 1400"), 0);
	ASSERT_EQ(events_nomc(self->q, &self->seen, true), 1);
	ASSERT_EQ(self->seen.mtu_calls, 1);
	ASSERT_EQ(self->seen.mtu, 1400);

	ASSERT_EQ(sh("ip link set kni0 down"), 0);
	ASSERT_EQ(events_nomc(self->q, &self->seen, true), 1);
	ASSERT_EQ(self->seen.link_calls, 1);
	ASSERT_FALSE(self->seen.up);
	ASSERT_EQ(sh("ip link set kni0 up"), 0);
	ASSERT_EQ(events_nomc(self->q, &self->seen, true), 1);
	ASSERT_EQ(self->seen.link_calls, 2);
	ASSERT_TRUE(self->seen.up);

	ASSERT_EQ(sh("ip link set kni0 address 02:11:22:33:44:55"), 0);
	ASSERT_EQ(events_nomc(self->q, &self->seen, true), 1);
	ASSERT_EQ(self->seen.mac_calls, 1);
	ASSERT_EQ(memcmp(self->seen.mac, "\x02\x11\x22\x33\x44\x55", ETH_ALEN), 0);

	ASSERT_EQ(sh("ip link set kni0 promisc on"), 0);
	ASSERT_EQ(events_nomc(self->q, &self->seen, true), 1);
	ASSERT_EQ(self->seen.promisc_calls, 1);
	ASSERT_TRUE(self->seen.promisc);

	ASSERT_EQ(sh("ip link set kni0 allmulticast on"), 0);
	ASSERT_EQ(events_nomc(self->q, &self->seen, true), 1);
	ASSERT_EQ(self->seen.allmulti_calls, 1);
	ASSERT_TRUE(self->seen.allmulti);
	ASSERT_EQ(sh("ip link set kni0 allmulticast off"), 0);
	ASSERT_EQ(events_nomc(self->q, &self->seen, true), 1);
	ASSERT_FALSE(self->seen.allmulti);

	/* Each change reported once: no spurious resync. */
	ASSERT_EQ(self->seen.mtu_calls, 1);
	ASSERT_EQ(self->seen.link_calls, 2);
	ASSERT_EQ(self->seen.mac_calls, 1);
	ASSERT_EQ(self->seen.promisc_calls, 1);
	ASSERT_EQ(self->seen.allmulti_calls, 2);
	ASSERT_EQ(self->seen.gone_calls, 0);
	ASSERT_EQ(kni_queue_event_overflows(self->q), 0);
	ASSERT_EQ(events_nomc(self->q, &self->seen, false), 0);
}

TEST_F(ctl, gone)
{
	KNI_OPTS(kni_dev_state, st);

	ASSERT_EQ(attach_ctl(&self->q, &self->seen, 0, 0), 0);
	ASSERT_EQ(sh("ip link del kni0"), 0);
	ASSERT_GE(events(self->q), 1);
	ASSERT_EQ(self->seen.gone_calls, 1);
	ASSERT_EQ(kni_queue_state(self->q, &st), 0);
	ASSERT_TRUE(st.gone);
	/* Reported once, and the queue says the device is gone. */
	ASSERT_EQ(kni_queue_events(self->q), 0);
	ASSERT_EQ(self->seen.gone_calls, 1);
	ASSERT_EQ(kni_queue_kick(self->q), -ENODEV);
	ASSERT_EQ(kni_queue_set_carrier(self->q, true), -ENODEV);
}

/*
 * Once the device is gone, the burst calls say so instead of finding
 * nothing to do, so that a dataplane polling them learns of it.
 */
TEST_F(ctl, gone_bursts)
{
	struct pollfd pfd = { .events = POLLIN };
	unsigned char pkt[64] = {};
	struct kni_buf b, rb;
	void *p;

	ASSERT_EQ(attach_ctl(&self->q, &self->seen, 0, 0), 0);
	/* Nothing to do yet: 0, not an error. */
	rb = (struct kni_buf){ .data = pkt, .len = sizeof(pkt) };
	ASSERT_EQ(kni_recv_burst(self->q, &rb, 1), 0);
	ASSERT_EQ(kni_frame_recv(self->q, &rb, 1), 0);
	ASSERT_EQ(kni_frame_reserve(self->q, &p, 1), 1);

	ASSERT_EQ(sh("ip link del kni0"), 0);
	pfd.fd = kni_queue_fd(self->q);
	ASSERT_EQ(poll(&pfd, 1, WAIT_MS), 1);
	ASSERT_TRUE(pfd.revents & POLLHUP);

	b = (struct kni_buf){ .data = pkt, .len = sizeof(pkt) };
	EXPECT_EQ(kni_send_burst(self->q, &b, 1), -ENODEV);
	EXPECT_EQ(kni_send_burst(self->q, &b, 0), -ENODEV);
	rb = (struct kni_buf){ .data = pkt, .len = sizeof(pkt) };
	EXPECT_EQ(kni_recv_burst(self->q, &rb, 1), -ENODEV);
	EXPECT_EQ(kni_frame_recv(self->q, &rb, 1), -ENODEV);
	b = (struct kni_buf){ .data = p, .len = sizeof(pkt) };
	EXPECT_EQ(kni_frame_submit(self->q, &b, 1), -ENODEV);
	/* The reserved frame is still the caller's to give back. */
	EXPECT_EQ(kni_frame_release(self->q, &p, 1), 0);
	EXPECT_EQ(kni_queue_kick(self->q), -ENODEV);
}

TEST_F(ctl, max_mtu)
{
	char out[1024];

	/* Below the current MTU: refused. */
	ASSERT_EQ(attach_ctl(&self->q, &self->seen, 0, 1400), -ERANGE);
	ASSERT_EQ(attach_ctl(&self->q, &self->seen, 0, 1500), 0);
	ASSERT_NE(sh_out(out, sizeof(out), "ip link set kni0 mtu 1600"), 0);
	ASSERT_NE(strstr(out, "Error"), NULL) TH_LOG("'%s'", out);
	ASSERT_EQ(sysfs_long("kni0", "mtu"), 1500);
	/* A refused change is no event. */
	ASSERT_EQ(kni_queue_events(self->q), 0);
	ASSERT_EQ(sh("ip link set kni0 mtu 1300"), 0);
	ASSERT_EQ(events(self->q), 1);
	ASSERT_EQ(self->seen.mtu_calls, 1);
	ASSERT_EQ(self->seen.mtu, 1300);
	kni_queue_detach(self->q);
	self->q = NULL;
	ASSERT_EQ(sh("ip link set kni0 mtu 1600"), 0);
	ASSERT_EQ(sysfs_long("kni0", "mtu"), 1600);
}

TEST_F(ctl, fixed_mac)
{
	char out[1024];

	ASSERT_EQ(attach_ctl(&self->q, &self->seen, KNI_ATTACH_F_FIXED_MAC, 0), 0);
	/* ndo_set_mac_address refuses it: EBUSY, with no message. */
	ASSERT_NE(sh_out(out, sizeof(out),
			 "ip link set kni0 address 02:00:00:00:00:42"), 0);
	ASSERT_NE(strstr(out, "Device or resource busy"), NULL)
		TH_LOG("'%s'", out);
	ASSERT_EQ(kni_queue_events(self->q), 0);
	ASSERT_EQ(self->seen.mac_calls, 0);
	kni_queue_detach(self->q);
	self->q = NULL;
	ASSERT_EQ(sh("ip link set kni0 address 02:00:00:00:00:42"), 0);
}

/*
 * The multicast groups kni0 joins reach the mcast callback and the state,
 * all of them; one it leaves goes from both; more than the state holds
 * set the all-multicast flag, which clears once they are left.
 */
TEST_F(ctl, mcast)
{
	static const __u8 groups[3][ETH_ALEN] = {
		{ 0x01, 0x00, 0x5e, 0x01, 0x02, 0x03 },
		{ 0x01, 0x00, 0x5e, 0x01, 0x02, 0x04 },
		{ 0x33, 0x33, 0x00, 0x00, 0x12, 0x34 },
	};
	KNI_OPTS(kni_dev_state, st);
	__u8 many[40][ETH_ALEN], list[PROC_MC_MAX][ETH_ALEN];
	int base, count, calls;
	unsigned int i;

	ASSERT_EQ(attach_ctl(&self->q, &self->seen, 0, 0), 0);
	/* What the stack joined itself (IPv4's all-hosts group). */
	base = proc_mcast(list);
	ASSERT_GT(base, 0);
	ASSERT_LE(base + 3, KNI_STATE_MC_MAX);
	ASSERT_EQ(kni_queue_state(self->q, &st), 0);
	EXPECT_EQ(st.mc_count, base);
	EXPECT_FALSE(st.mc_all);

	for (i = 0; i < 3; i++)
		ASSERT_EQ(kni0_multi(SIOCADDMULTI, groups[i]), 0);
	ASSERT_EQ(proc_mcast(list), base + 3);
	for (i = 0; i < 3; i++)
		ASSERT_TRUE(mc_has((const __u8 (*)[ETH_ALEN])list, base + 3,
				   groups[i]));
	ASSERT_EQ(mcast_wait(self->q, &self->seen), base + 3);
	ASSERT_GE(self->seen.mcast_calls, 1);
	EXPECT_EQ(self->seen.mc_n, base + 3);
	EXPECT_FALSE(self->seen.mc_all);
	ASSERT_EQ(kni_queue_state(self->q, &st), 0);
	EXPECT_EQ(st.mc_count, base + 3);
	/* Reported once: nothing changed since. */
	calls = self->seen.mcast_calls;
	ASSERT_EQ(kni_queue_events(self->q), 0);

	/* One group left: gone from the list. */
	ASSERT_EQ(kni0_multi(SIOCDELMULTI, groups[1]), 0);
	ASSERT_EQ(mcast_wait(self->q, &self->seen), base + 2);
	EXPECT_GT(self->seen.mcast_calls, calls);
	EXPECT_FALSE(mc_has((const __u8 (*)[ETH_ALEN])self->seen.mc,
			    self->seen.mc_n, groups[1]));
	EXPECT_TRUE(mc_has((const __u8 (*)[ETH_ALEN])self->seen.mc,
			   self->seen.mc_n, groups[2]));

	/* More than the state holds: all multicast. */
	for (i = 0; i < 40; i++) {
		memcpy(many[i], "\x01\x00\x5e\x02\x00\x00", ETH_ALEN);
		many[i][5] = (__u8)i;
		ASSERT_EQ(kni0_multi(SIOCADDMULTI, many[i]), 0);
	}
	count = mcast_wait(self->q, &self->seen);
	ASSERT_EQ(count, base + 2 + 40);
	EXPECT_TRUE(self->seen.mc_all);
	EXPECT_EQ(self->seen.mc_n, KNI_STATE_MC_MAX);
	ASSERT_EQ(kni_queue_state(self->q, &st), 0);
	EXPECT_TRUE(st.mc_all);
	EXPECT_EQ(st.mc_count, count);

	/* Left again: the flag clears, the list is what remains. */
	for (i = 0; i < 40; i++)
		ASSERT_EQ(kni0_multi(SIOCDELMULTI, many[i]), 0);
	ASSERT_EQ(mcast_wait(self->q, &self->seen), base + 2);
	EXPECT_FALSE(self->seen.mc_all);
	EXPECT_EQ(self->seen.mc_n, base + 2);
	ASSERT_EQ(kni_queue_state(self->q, &st), 0);
	EXPECT_FALSE(st.mc_all);
	EXPECT_EQ(st.mc_count, base + 2);
	EXPECT_EQ(self->seen.gone_calls, 0);
}

/*
 * A program built before kni_ops had mcast passes an sz that ends before
 * it: the library must take the callback as NULL, whatever lies there,
 * and still call the ones within the sz.
 */
TEST_F(ctl, mcast_old_ops)
{
	static const struct kni_ops old = {
		.sz = offsetof(struct kni_ops, mcast),
		.mtu = on_mtu,
		.mcast = on_mcast,
	};
	KNI_OPTS(kni_queue_opts, opts, .ops = &old, .cookie = &self->seen);
	static const __u8 group[ETH_ALEN] = { 0x01, 0x00, 0x5e, 0x01, 0x02, 0x05 };
	int base;

	ASSERT_EQ(attach(&self->q, 0, &opts), 0);
	base = mcast_wait(self->q, NULL);
	ASSERT_GT(base, 0);
	ASSERT_EQ(kni0_multi(SIOCADDMULTI, group), 0);
	ASSERT_EQ(mcast_wait(self->q, NULL), base + 1);
	/* Whatever the last call left to report. */
	ASSERT_GE(kni_queue_events(self->q), 0);
	EXPECT_EQ(self->seen.mcast_calls, 0);

	ASSERT_EQ(sh("ip link set kni0 mtu 1400"), 0);
	ASSERT_GE(events(self->q), 1);
	EXPECT_EQ(self->seen.mtu_calls, 1);
	EXPECT_EQ(self->seen.mtu, 1400);
	EXPECT_EQ(self->seen.mcast_calls, 0);
}

/* More changes than the event ring holds: the state makes up for them. */
TEST_F_TIMEOUT(ctl, event_overflow, 120)
{
	KNI_OPTS(kni_queue_stats, stats);
	KNI_OPTS(kni_dev_state, st);
	static const __u8 mac[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x07 };
	char path[] = "/tmp/kni_lib.XXXXXX";
	unsigned int ers, n, i;
	__u32 last = 0;
	FILE *f;
	int fd, ret;

	/*
	 * Only the changes below post events: kni0 is down, so the stack
	 * keeps no multicast list and no KNI_EVENT_MCAST can come. One the
	 * multicast work still owes for going up reads the list under RTNL,
	 * after the down emptied it: it posts nothing.
	 */
	ASSERT_EQ(sh("ip link set kni0 down"), 0);
	ASSERT_EQ(attach_ctl(&self->q, &self->seen, 0, 0), 0);
	ers = kni_queue_info(self->q)->event_ring_size;
	/* With nobody draining, the ring takes ERS events and loses the rest. */
	n = ers + 16;
	fd = mkstemp(path);
	ASSERT_GE(fd, 0);
	f = fdopen(fd, "w");
	ASSERT_NE(f, NULL);
	for (i = 0; i < n; i++) {
		last = 1000 + i;
		fprintf(f, "link set dev kni0 mtu %u\n", last);
	}
	fprintf(f, "link set dev kni0 promisc on\n");
	fprintf(f, "link set dev kni0 address 02:00:00:00:00:07\n");
	ASSERT_EQ(fclose(f), 0);
	ret = sh("ip -batch %s", path);
	unlink(path);
	ASSERT_EQ(ret, 0);

	ASSERT_GE(events(self->q), 1);
	ASSERT_EQ(kni_queue_event_overflows(self->q), n + 2 - ers);
	ASSERT_EQ(kni_queue_stats(self->q, &stats), 0);
	ASSERT_EQ(stats.events, ers);
	ASSERT_EQ(self->seen.mtu, last);
	ASSERT_TRUE(self->seen.promisc);
	ASSERT_EQ(memcmp(self->seen.mac, mac, ETH_ALEN), 0);
	ASSERT_EQ(kni_queue_state(self->q, &st), 0);
	ASSERT_EQ(st.mtu, last);
	ASSERT_EQ(st.overflows, n + 2 - ers);
	/* The ring is empty and the view current: nothing more to say. */
	ASSERT_EQ(kni_queue_events(self->q), 0);

	/* Events flow again. */
	ASSERT_EQ(sh("ip link set kni0 promisc off"), 0);
	ASSERT_EQ(events(self->q), 1);
	ASSERT_FALSE(self->seen.promisc);
	ASSERT_EQ(kni_queue_event_overflows(self->q), n + 2 - ers);
}

/*
 * The MTU as the callbacks report it while another thread raises it.
 *
 * The writer only ever raises the MTU, one step at a time, so the values of
 * the events in the order they were posted and the values the state block
 * held over time are both increasing. The callbacks may report a value
 * twice, or skip values whose events a full ring lost (the state makes up
 * for them), but must never report a smaller value after a larger one.
 *
 * A dataplane's callback takes time (it reconfigures a port). Here every
 * MTU callback waits until the writer has made two more changes, so the
 * changes keep coming faster than a call drains them. The changes made
 * during a callback land after the call looked at the event ring:
 * their events are not among those being drained, while the state block
 * already holds the second change. A library that then reported the state
 * (the second value) and drained the first change's event only later would
 * show the callback a smaller value after a larger one, and the test counts
 * every such decrease. The same holds for an event left on the ring when
 * the library makes up from the state for events a full ring lost.
 */
struct mtu_writer {
	__u32 from, to;
	int err;		/* of the first change that failed */
	__u32 failed_mtu;
	char msg[256];
	unsigned int made;	/* changes made */
	int done;		/* set once the last change returned */
};

struct mtu_order {
	struct mtu_writer *w;
	bool stall;		/* the callbacks wait for the writer */
	__u32 last;		/* the last value reported */
	unsigned int calls;
	unsigned int stalls;
	unsigned int repeats;	/* reported again: allowed */
	unsigned int skipped;	/* values never reported: lost events */
	unsigned int decreases;
	unsigned int out_of_range;
	__u32 bad_prev, bad;	/* the first decrease */
};

static void on_mtu_order(void *cookie, __u32 mtu)
{
	struct mtu_order *o = cookie;
	struct mtu_writer *w = o->w;

	o->calls++;
	if (mtu < w->from - 1 || mtu > w->to)
		o->out_of_range++;
	if (mtu < o->last) {
		if (!o->decreases++) {
			o->bad_prev = o->last;
			o->bad = mtu;
		}
	} else if (mtu == o->last) {
		o->repeats++;
	} else {
		o->skipped += mtu - o->last - 1;
	}
	o->last = mtu;

	if (o->stall) {
		unsigned int target = __atomic_load_n(&w->made, __ATOMIC_ACQUIRE) + 2;

		o->stalls++;
		while (__atomic_load_n(&w->made, __ATOMIC_ACQUIRE) < target &&
		       !__atomic_load_n(&w->done, __ATOMIC_ACQUIRE))
			sched_yield();
	}
}

/* Raise kni0's MTU from FROM to TO over rtnetlink, one step at a time. */
static void *raise_mtu(void *arg)
{
	KNI_OPTS(kni_dev_config, cfg, .present = KNI_CFG_MTU);
	struct mtu_writer *w = arg;
	__u32 mtu;
	int err;

	for (mtu = w->from; mtu <= w->to; mtu++) {
		cfg.mtu = mtu;
		err = kni_dev_change("kni0", &cfg, w->msg, sizeof(w->msg));
		if (err) {
			w->err = err;
			w->failed_mtu = mtu;
			break;
		}
		/* The change is made and its event posted. */
		__atomic_fetch_add(&w->made, 1, __ATOMIC_RELEASE);
	}
	__atomic_store_n(&w->done, 1, __ATOMIC_RELEASE);
	return NULL;
}

TEST_F_TIMEOUT(ctl, mtu_order, 600)
{
	static const struct kni_ops ops = {
		.sz = sizeof(struct kni_ops),
		.mtu = on_mtu_order,
	};
	struct mtu_writer w = { .from = 1001, .to = 1500 };
	struct mtu_order o = { .w = &w, .last = w.from - 1 };

	KNI_OPTS(kni_queue_opts, opts, .ops = &ops, .cookie = &o);
	KNI_OPTS(kni_queue_stats, stats);
	KNI_OPTS(kni_dev_state, st);
	unsigned int holds = 0, calls = 0, released_at = 0, ers;
	struct pollfd pfd = { .events = POLLPRI };
	__u32 hold_from = 0;
	bool hold = true;
	pthread_t writer;
	long long start;
	int ret;

	ASSERT_EQ(sh("ip link set kni0 mtu %u", o.last), 0);
	ASSERT_EQ(attach(&self->q, 0, &opts), 0);
	ASSERT_EQ(kni_queue_state(self->q, &st), 0);
	ASSERT_EQ(st.mtu, o.last);
	ASSERT_EQ(st.overflows, 0);
	ers = kni_queue_info(self->q)->event_ring_size;
	ASSERT_GT(w.to - w.from + 1, 4 * ers);
	pfd.fd = kni_queue_fd(self->q);

	start = now_ms();
	ASSERT_EQ(pthread_create(&writer, NULL, raise_mtu, &w), 0);
	/*
	 * The dataplane: handle events as they come. The writer alone may
	 * never get a ring's worth ahead, so now and then stop draining until
	 * the kernel has lost an event: the next call must make up from the
	 * state for what was lost, with the writer still going. Hold for the
	 * first time at once, and again once the callbacks reported two
	 * rings' worth of changes since the last hold.
	 */
	for (;;) {
		bool done = __atomic_load_n(&w.done, __ATOMIC_ACQUIRE);

		if (hold && !done) {
			ret = kni_queue_state(self->q, &st);
			ASSERT_TRUE(ret == 0 || ret == -EAGAIN) TH_LOG("%d", ret);
			if (ret || st.overflows == hold_from) {
				sched_yield();
				continue;
			}
			hold = false;
			holds++;
			released_at = o.calls;
		}
		o.stall = true;
		ret = kni_queue_events(self->q);
		ASSERT_GE(ret, 0) TH_LOG("%s", kni_strerror(ret));
		calls++;
		/*
		 * Nothing left after the writer's last change: the ring is
		 * drained and the callbacks reported the final state.
		 */
		if (done && !ret)
			break;
		if (!hold && o.calls - released_at >= 2 * ers) {
			hold = true;
			hold_from = kni_queue_event_overflows(self->q);
		}
		/* Not synchronisation: the loop looks again either way. */
		if (!ret && !hold)
			ASSERT_GE(poll(&pfd, 1, 100), 0);
	}
	ASSERT_EQ(pthread_join(writer, NULL), 0);
	ASSERT_EQ(w.err, 0)
		TH_LOG("mtu %u: %s '%s'", w.failed_mtu, kni_strerror(w.err), w.msg);

	ASSERT_EQ(kni_queue_stats(self->q, &stats), 0);
	TH_LOG("%u changes in %lld ms, %u calls: %llu events read, %u lost (ring full %u times)",
	       w.made, now_ms() - start, calls,
	       (unsigned long long)stats.events,
	       kni_queue_event_overflows(self->q), holds);
	TH_LOG("%u mtu callbacks: %u stalled, %u repeated, %u values skipped",
	       o.calls, o.stalls, o.repeats, o.skipped);
	EXPECT_EQ(o.decreases, 0)
		TH_LOG("%u decreases, the first from %u to %u", o.decreases,
		       o.bad_prev, o.bad);
	EXPECT_EQ(o.out_of_range, 0);
	/* The overflow path ran, while the writer kept going. */
	EXPECT_GT(kni_queue_event_overflows(self->q), 0);
	/* The last value reported is the device's. */
	ASSERT_EQ(kni_queue_state(self->q, &st), 0);
	EXPECT_EQ(st.mtu, w.to);
	EXPECT_EQ(sysfs_long("kni0", "mtu"), w.to);
	EXPECT_EQ(o.last, st.mtu);
}

TEST_HARNESS_MAIN
