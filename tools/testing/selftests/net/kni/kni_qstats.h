/* SPDX-License-Identifier: GPL-2.0 */
/*
 * One per-queue counter from the netdev generic netlink family
 * (qstats-get with the queue scope), for the C tests and kni_qstat: no
 * tool in Debian's userspace reads them yet.
 */
#ifndef KNI_QSTATS_H
#define KNI_QSTATS_H

#include <errno.h>
#include <stdint.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>
#include <linux/genetlink.h>
#include <linux/netdev.h>
#include <linux/netlink.h>

#include "kni_test.h"

#define KNI_QSTATS_BUF	32768

struct kni_qstats_req {
	struct nlmsghdr nlh;
	struct genlmsghdr genl;
	char attrs[64];
};

/* The attribute @type of a generic netlink message, or NULL. */
static inline const struct nlattr *kni_qstats_attr(const struct nlmsghdr *nlh,
						   __u16 type)
{
	const char *p = (const char *)NLMSG_DATA(nlh) + GENL_HDRLEN;
	const char *end = (const char *)nlh + nlh->nlmsg_len;
	const struct nlattr *a;

	while (p + NLA_HDRLEN <= end) {
		a = (const void *)p;
		if (a->nla_len < NLA_HDRLEN || p + a->nla_len > end)
			return NULL;
		if ((a->nla_type & NLA_TYPE_MASK) == type)
			return a;
		p += NLA_ALIGN(a->nla_len);
	}
	return NULL;
}

/* An unsigned attribute of 1 to 8 bytes (netlink's "uint" is 4 or 8). */
static inline int kni_qstats_uint(const struct nlattr *a, uint64_t *v)
{
	__u32 v32;

	if (!a)
		return -ENOENT;
	if (a->nla_len == NLA_HDRLEN + sizeof(*v)) {
		memcpy(v, (const char *)a + NLA_HDRLEN, sizeof(*v));
		return 0;
	}
	if (a->nla_len == NLA_HDRLEN + sizeof(v32)) {
		memcpy(&v32, (const char *)a + NLA_HDRLEN, sizeof(v32));
		*v = v32;
		return 0;
	}
	if (a->nla_len == NLA_HDRLEN + sizeof(__u16)) {
		__u16 v16;

		memcpy(&v16, (const char *)a + NLA_HDRLEN, sizeof(v16));
		*v = v16;
		return 0;
	}
	return -EINVAL;
}

/*
 * Send @req on @fd and walk the answers: for each message, @cb (if any)
 * gets it and returns nonzero to have it kept as the result. Returns 0
 * when a message was kept (copied to @out), -ENOENT when none was, or a
 * negative errno (a netlink error included).
 */
static inline int kni_qstats_talk(int fd, struct kni_qstats_req *req,
				  int (*cb)(const struct nlmsghdr *, void *),
				  void *arg, void *out)
{
	__u64 buf[KNI_QSTATS_BUF / sizeof(__u64)];	/* aligned for nlmsghdr */
	struct nlmsghdr *nlh;
	int found = -ENOENT;
	ssize_t n;

	if (send(fd, req, req->nlh.nlmsg_len, 0) != (ssize_t)req->nlh.nlmsg_len)
		return -errno;
	for (;;) {
		n = recv(fd, buf, sizeof(buf), 0);
		if (n < 0)
			return -errno;
		for (nlh = (void *)buf; NLMSG_OK(nlh, n);
		     nlh = NLMSG_NEXT(nlh, n)) {
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = NLMSG_DATA(nlh);

				return e->error ? e->error : found;
			}
			if (nlh->nlmsg_type == NLMSG_DONE)
				return found;
			if (found && cb(nlh, arg)) {
				memcpy(out, nlh, nlh->nlmsg_len);
				found = 0;
			}
		}
		if (!(req->nlh.nlmsg_flags & NLM_F_DUMP))
			return found;
	}
}

static inline int kni_qstats_any(const struct nlmsghdr *nlh, void *arg)
{
	return 1;
}

struct kni_qstats_want {
	uint64_t type;
	uint64_t id;
};

static inline int kni_qstats_match(const struct nlmsghdr *nlh, void *arg)
{
	const struct kni_qstats_want *w = arg;
	uint64_t type, id;

	return !kni_qstats_uint(kni_qstats_attr(nlh, NETDEV_A_QSTATS_QUEUE_TYPE),
				&type) &&
	       !kni_qstats_uint(kni_qstats_attr(nlh, NETDEV_A_QSTATS_QUEUE_ID),
				&id) &&
	       type == w->type && id == w->id;
}

/**
 * kni_qstat() - one counter of one queue of a device, from qstats-get
 * @ifindex: the device, in the caller's network namespace
 * @type: NETDEV_QUEUE_TYPE_RX or NETDEV_QUEUE_TYPE_TX
 * @id: the queue
 * @attr: the counter, NETDEV_A_QSTATS_*
 * @v: where to store it
 *
 * Return: 0, -ENOENT if the device reports no such queue or counter, or a
 * negative errno.
 */
static inline int kni_qstat(int ifindex, int type, __u32 id, __u16 attr,
			    uint64_t *v)
{
	__u64 msg[KNI_QSTATS_BUF / sizeof(__u64)];
	struct kni_qstats_want w = { .type = type, .id = id };
	struct kni_qstats_req req;
	__u32 scope = NETDEV_QSTATS_SCOPE_QUEUE, ifi = ifindex;
	uint64_t family = 0;
	int fd, err;

	fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC, NETLINK_GENERIC);
	if (fd < 0)
		return -errno;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	req.nlh.nlmsg_type = GENL_ID_CTRL;
	req.nlh.nlmsg_flags = NLM_F_REQUEST;
	req.genl.cmd = CTRL_CMD_GETFAMILY;
	req.genl.version = 1;
	nl_put(&req.nlh, CTRL_ATTR_FAMILY_NAME, NETDEV_FAMILY_NAME,
	       sizeof(NETDEV_FAMILY_NAME));
	err = kni_qstats_talk(fd, &req, kni_qstats_any, NULL, msg);
	if (!err)
		err = kni_qstats_uint(kni_qstats_attr((void *)msg,
						      CTRL_ATTR_FAMILY_ID),
				      &family);
	if (err)
		goto out;

	memset(&req, 0, sizeof(req));
	req.nlh.nlmsg_len = NLMSG_LENGTH(GENL_HDRLEN);
	req.nlh.nlmsg_type = (__u16)family;
	req.nlh.nlmsg_flags = NLM_F_REQUEST | NLM_F_DUMP;
	req.genl.cmd = NETDEV_CMD_QSTATS_GET;
	req.genl.version = 1;
	nl_put(&req.nlh, NETDEV_A_QSTATS_IFINDEX, &ifi, sizeof(ifi));
	nl_put(&req.nlh, NETDEV_A_QSTATS_SCOPE, &scope, sizeof(scope));
	err = kni_qstats_talk(fd, &req, kni_qstats_match, &w, msg);
	if (!err)
		err = kni_qstats_uint(kni_qstats_attr((void *)msg, attr), v);
out:
	close(fd);
	return err;
}

#endif /* KNI_QSTATS_H */
