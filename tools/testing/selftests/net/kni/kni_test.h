/* SPDX-License-Identifier: GPL-2.0 */
/*
 * Helpers shared by the kni selftest programs: shell commands, sysfs,
 * a namespace of the test's own with kni0 in it, and test packets.
 */
#ifndef _KNI_TEST_H
#define _KNI_TEST_H

#include <errno.h>
#include <net/if.h>
#include <sched.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/mount.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <linux/if_ether.h>
#include <linux/if_packet.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>
#include <linux/types.h>

#define ETH_P_TEST	0x88b5	/* IEEE local experimental */

/* CLOCK_MONOTONIC, in seconds. */
static inline double mono_now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return ts.tv_sec + ts.tv_nsec / 1e9;
}

/*
 * Evaluate COND every millisecond until it holds or SECS seconds passed;
 * its last value. The bound only ends a wait that failed: size it for a
 * debug kernel under emulation, far above what a correct run needs.
 */
#define WAIT_UNTIL(cond, secs) ({					\
	double __wu_end = mono_now() + (secs);				\
	bool __wu_ok;							\
									\
	while (!(__wu_ok = (cond)) && mono_now() < __wu_end)		\
		usleep(1000);						\
	__wu_ok;							\
})

static inline int sh(const char *fmt, ...)
{
	char cmd[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(cmd, sizeof(cmd), fmt, ap);
	va_end(ap);
	return system(cmd);
}

/* Run CMD; its status, and its output (stdout and stderr) in OUT. */
static inline int sh_out(char *out, size_t len, const char *cmd)
{
	char full[512];
	size_t got = 0;
	FILE *p;

	snprintf(full, sizeof(full), "%s 2>&1", cmd);
	p = popen(full, "r");
	if (!p)
		return -1;
	while (got + 1 < len && fgets(out + got, len - got, p))
		got += strlen(out + got);
	out[got] = '\0';
	return pclose(p);
}

/* /sys/class/net/DEV/NAME as a number, or -1. */
static inline long sysfs_long(const char *dev, const char *name)
{
	char path[128];
	long v = -1;
	FILE *f;

	snprintf(path, sizeof(path), "/sys/class/net/%s/%s", dev, name);
	f = fopen(path, "r");
	if (!f)
		return -1;
	if (fscanf(f, "%ld", &v) != 1)
		v = -1;
	fclose(f);
	return v;
}

/* Wait up to ten seconds for a sysfs value. */
static inline bool sysfs_wait(const char *dev, const char *name, long want)
{
	return WAIT_UNTIL(sysfs_long(dev, name) == want, 10);
}

/*
 * A network namespace of the test's own, with IPv6 off so that the only
 * traffic is the test's, and a mount namespace whose /sys shows it.
 */
static inline int enter_netns(void)
{
	if (unshare(CLONE_NEWNET | CLONE_NEWNS))
		return -1;
	if (mount(NULL, "/", NULL, MS_REC | MS_PRIVATE, NULL) ||
	    umount2("/sys", MNT_DETACH) ||
	    mount("sysfs", "/sys", "sysfs", 0, NULL))
		return -1;
	return sh("ip link set lo up && sysctl -qw net.ipv6.conf.default.disable_ipv6=1");
}

/*
 * kni0 with QUEUES queue pairs (numtxqueues and numrxqueues; 0 leaves the
 * default), the carrier on and the kni options ARGS, and up.
 */
static inline int make_kni_queues(unsigned int queues, const char *args)
{
	char q[64] = "";

	if (queues)
		snprintf(q, sizeof(q), "numtxqueues %u numrxqueues %u ",
			 queues, queues);
	return sh("ip link add kni0 %scarrier on type kni %s && ip link set kni0 up",
		  q, args);
}

/* kni0 with one queue pair, the carrier on and the kni options ARGS, up. */
static inline int make_kni(const char *args)
{
	return make_kni_queues(0, args);
}

/* A broadcast test frame of LEN bytes whose payload depends on SEED. */
static inline void fill(unsigned char *p, __u32 len, __u32 seed)
{
	static const unsigned char src[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
	__u32 i;

	memset(p, 0xff, ETH_ALEN);
	memcpy(p + ETH_ALEN, src, ETH_ALEN);
	p[12] = ETH_P_TEST >> 8;
	p[13] = ETH_P_TEST & 0xff;
	for (i = ETH_HLEN; i < len; i++)
		p[i] = (unsigned char)(seed * 31 + i * 7);
}

/* A packet socket on kni0 for the test's EtherType. */
static inline int packet_socket(void)
{
	struct sockaddr_ll sll = {
		.sll_family = AF_PACKET,
		.sll_protocol = htons(ETH_P_TEST),
		.sll_ifindex = (int)if_nametoindex("kni0"),
	};
	struct timeval tv = { .tv_sec = 5 };
	int size = 4 << 20;
	int fd;

	fd = socket(AF_PACKET, SOCK_RAW, htons(ETH_P_TEST));
	if (fd < 0)
		return -1;
	setsockopt(fd, SOL_SOCKET, SO_RCVBUFFORCE, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_SNDBUFFORCE, &size, sizeof(size));
	setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	if (bind(fd, (struct sockaddr *)&sll, sizeof(sll))) {
		close(fd);
		return -1;
	}
	return fd;
}

/* rtnetlink requests of the tests that build them by hand. */

/* Append attribute TYPE with LEN bytes at DATA to the request at NLH. */
static inline struct rtattr *nl_put(struct nlmsghdr *nlh, unsigned short type,
				    const void *data, unsigned short len)
{
	struct rtattr *rta = (void *)((char *)nlh + NLMSG_ALIGN(nlh->nlmsg_len));

	rta->rta_type = type;
	rta->rta_len = RTA_LENGTH(len);
	if (len)
		memcpy(RTA_DATA(rta), data, len);
	nlh->nlmsg_len = NLMSG_ALIGN(nlh->nlmsg_len) + RTA_ALIGN(rta->rta_len);
	return rta;
}

/* Close the nested attribute NEST, the last one opened. */
static inline void nl_end(struct nlmsghdr *nlh, struct rtattr *nest)
{
	nest->rta_len = (char *)nlh + nlh->nlmsg_len - (char *)nest;
}

/*
 * Send one rtnetlink request and return the kernel's answer, 0 or -errno.
 * The kernel handles it in the calling thread, which blocks in sendto()
 * while another holds RTNL.
 */
static inline int nl_request(struct nlmsghdr *nlh)
{
	struct sockaddr_nl sa = { .nl_family = AF_NETLINK };
	char buf[4096];
	struct nlmsghdr *r = (void *)buf;
	int fd, ret;
	ssize_t n;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_ROUTE);
	if (fd < 0)
		return -errno;
	nlh->nlmsg_flags |= NLM_F_REQUEST | NLM_F_ACK;
	if (sendto(fd, nlh, nlh->nlmsg_len, 0, (struct sockaddr *)&sa,
		   sizeof(sa)) < 0) {
		ret = -errno;
	} else {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			ret = -errno;
		else if (n < (ssize_t)NLMSG_LENGTH(sizeof(struct nlmsgerr)) ||
			 r->nlmsg_type != NLMSG_ERROR)
			ret = -EPROTO;
		else
			ret = ((struct nlmsgerr *)NLMSG_DATA(r))->error;
	}
	close(fd);
	return ret;
}

#endif /* _KNI_TEST_H */
