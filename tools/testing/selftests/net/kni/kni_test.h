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
#include <netinet/in.h>

#define ETH_P_TEST	0x88b5	/* IEEE local experimental */

#ifndef BIT
#define BIT(nr)		(1UL << (nr))
#endif
#ifndef BIT_ULL
#define BIT_ULL(nr)	(1ULL << (nr))
#endif

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

/* Udp InCsumErrors of the test's network namespace, or -1. */
static inline long long udp_csum_errors(void)
{
	char names[2048], values[2048], *n, *v, *sn, *sv;
	long long ret = -1;
	FILE *f;

	f = fopen("/proc/net/snmp", "r");
	if (!f)
		return -1;
	/* A line of names, then a line of values. */
	while (fgets(names, sizeof(names), f)) {
		if (strncmp(names, "Udp: ", 5))
			continue;
		if (!fgets(values, sizeof(values), f))
			break;
		n = strtok_r(names, "\n ", &sn);
		v = strtok_r(values, "\n ", &sv);
		while (n && v) {
			if (!strcmp(n, "InCsumErrors")) {
				ret = strtoll(v, NULL, 10);
				break;
			}
			n = strtok_r(NULL, "\n ", &sn);
			v = strtok_r(NULL, "\n ", &sv);
		}
		break;
	}
	fclose(f);
	return ret;
}

/* The Internet checksum of LEN bytes at P, added to SUM, unfolded. */
static inline __u32 csum_add(__u32 sum, const unsigned char *p, __u32 len)
{
	__u32 i;

	for (i = 0; i + 1 < len; i += 2)
		sum += p[i] << 8 | p[i + 1];
	if (len & 1)
		sum += p[len - 1] << 8;
	return sum;
}

static inline __u16 csum_fold(__u32 sum)
{
	while (sum >> 16)
		sum = (sum & 0xffff) + (sum >> 16);
	return ~sum & 0xffff;
}

static inline void put16(unsigned char *p, __u16 v)
{
	p[0] = v >> 8;
	p[1] = v & 0xff;
}

/*
 * At F, a UDP/IPv4 datagram from 10.0.0.1:4000 to 10.0.0.2:PORT, sent to
 * the Ethernet address DST and carrying PAYLOAD. Its IP header checksum is
 * right; its UDP checksum is right unless BAD. Returns the frame's length.
 */
static inline __u32 udp_frame(unsigned char *f, const unsigned char *dst,
			      __u16 port, const char *payload, bool bad)
{
	static const unsigned char src[ETH_ALEN] = { 0x02, 0, 0, 0, 0, 0x01 };
	static const unsigned char addrs[8] = { 10, 0, 0, 1, 10, 0, 0, 2 };
	__u32 plen = strlen(payload), ulen = 8 + plen;
	unsigned char *ip = f + ETH_HLEN, *udp = ip + 20;
	__u16 sum;

	memcpy(f, dst, ETH_ALEN);
	memcpy(f + ETH_ALEN, src, ETH_ALEN);
	put16(f + 12, ETH_P_IP);
	memset(ip, 0, 20);
	ip[0] = 0x45;
	put16(ip + 2, 20 + ulen);
	ip[8] = 64;
	ip[9] = IPPROTO_UDP;
	memcpy(ip + 12, addrs, 8);
	put16(ip + 10, csum_fold(csum_add(0, ip, 20)));
	put16(udp, 4000);
	put16(udp + 2, port);
	put16(udp + 4, ulen);
	put16(udp + 6, 0);
	memcpy(udp + 8, payload, plen);
	/* Over the pseudo header and the datagram; 0 would mean none. */
	sum = csum_fold(csum_add(IPPROTO_UDP + ulen, ip + 12, 8 + ulen)) ?: 0xffff;
	if (bad)
		sum = sum == 0xbeef ? 0xbeee : 0xbeef;
	put16(udp + 6, sum);
	return ETH_HLEN + 20 + ulen;
}

/* kni0 at 10.0.0.2/24, its peer 10.0.0.1 at 02:00:00:00:00:01. */
static inline int kni0_ipv4(void)
{
	return sh("%s && %s", "ip addr add 10.0.0.2/24 dev kni0",
		  "ip neigh add 10.0.0.1 lladdr 02:00:00:00:00:01 dev kni0");
}

/*
 * A UDP socket bound to 10.0.0.2:PORT whose receives give up after 20
 * seconds, or -1.
 */
static inline int udp_socket_on(__u16 port)
{
	struct sockaddr_in sin = {
		.sin_family = AF_INET,
		.sin_port = htons(port),
		.sin_addr.s_addr = htonl(0x0a000002),
	};
	struct timeval tv = { .tv_sec = 20 };
	int s = socket(AF_INET, SOCK_DGRAM, 0);

	if (s < 0)
		return -1;
	if (setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv)) ||
	    bind(s, (struct sockaddr *)&sin, sizeof(sin))) {
		close(s);
		return -1;
	}
	return s;
}

/* kni0's Ethernet address. */
static inline int kni0_mac(unsigned char *mac)
{
	FILE *f = fopen("/sys/class/net/kni0/address", "r");
	int n;

	if (!f)
		return -1;
	n = fscanf(f, "%hhx:%hhx:%hhx:%hhx:%hhx:%hhx", &mac[0], &mac[1],
		   &mac[2], &mac[3], &mac[4], &mac[5]);
	fclose(f);
	return n == ETH_ALEN ? 0 : -1;
}

/* Whether the UDP/IPv4 datagram in the Ethernet frame F has a right checksum. */
static inline bool udp_csum_ok(const unsigned char *f)
{
	const unsigned char *ip = f + ETH_HLEN;
	__u32 ulen = ip[24] << 8 | ip[25];

	return !csum_fold(csum_add(IPPROTO_UDP + ulen, ip + 12, 8 + ulen));
}

#endif /* _KNI_TEST_H */
