// SPDX-License-Identifier: (LGPL-2.1 OR BSD-2-Clause)
/*
 * libkni: kni devices over rtnetlink. Every call opens a netlink socket of
 * its own, so the functions here may run in any number of threads.
 */

#include <errno.h>
#include <net/if.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>
#include <time.h>
#include <libmnl/libmnl.h>
#include <linux/if_link.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "libkni_internal.h"

struct kni_ack {
	const char *msg;
};

static int kni_ack_attr(const struct nlattr *attr, void *data)
{
	struct kni_ack *ack = data;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG &&
	    mnl_attr_validate(attr, MNL_TYPE_NUL_STRING) == 0)
		ack->msg = mnl_attr_get_str(attr);
	return MNL_CB_OK;
}

/* The error of an NLMSG_ERROR message; its extack message into ERRMSG. */
static int kni_parse_ack(const struct nlmsghdr *nlh, char *errmsg,
			 size_t errlen)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t len = mnl_nlmsg_get_payload_len(nlh);
	struct kni_ack ack = {};
	size_t off = sizeof(*err);

	if (len < sizeof(*err))
		return -EBADMSG;
	if (nlh->nlmsg_flags & NLM_F_ACK_TLVS) {
		/* The request is echoed unless the ACK is capped. */
		if (!(nlh->nlmsg_flags & NLM_F_CAPPED) &&
		    err->msg.nlmsg_len >= sizeof(struct nlmsghdr))
			off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
		if (off < len)
			mnl_attr_parse_payload((const char *)err + off,
					       len - off, kni_ack_attr, &ack);
	}
	if (errmsg && errlen && ack.msg)
		snprintf(errmsg, errlen, "%s", ack.msg);
	return err->error > 0 ? -EPROTO : err->error;
}

/* Send the request NLH and wait for its ACK; 0 or -errno. */
static int kni_rtnl_request(struct nlmsghdr *nlh, char *errmsg, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct mnl_socket *nl;
	unsigned int portid;
	int one = 1, ret, len;

	nl = mnl_socket_open2(NETLINK_ROUTE, SOCK_CLOEXEC);
	if (!nl)
		return -errno;
	/* Both are optional: without them the ACK just carries less. */
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0) {
		ret = -errno;
		goto out;
	}
	portid = mnl_socket_get_portid(nl);
	nlh->nlmsg_seq = (unsigned int)time(NULL);
	if (mnl_socket_sendto(nl, nlh, nlh->nlmsg_len) < 0) {
		ret = -errno;
		goto out;
	}
	for (;;) {
		const struct nlmsghdr *h;

		len = (int)mnl_socket_recvfrom(nl, buf, sizeof(buf));
		if (len < 0) {
			ret = -errno;
			goto out;
		}
		for (h = (const struct nlmsghdr *)buf; mnl_nlmsg_ok(h, len);
		     h = mnl_nlmsg_next(h, &len)) {
			if (!mnl_nlmsg_portid_ok(h, portid) ||
			    !mnl_nlmsg_seq_ok(h, nlh->nlmsg_seq))
				continue;
			if (h->nlmsg_type == NLMSG_ERROR) {
				ret = kni_parse_ack(h, errmsg, errlen);
				goto out;
			}
		}
	}
out:
	mnl_socket_close(nl);
	return ret;
}

static bool kni_name_ok(const char *name)
{
	return name && name[0] && strnlen(name, IFNAMSIZ) < IFNAMSIZ;
}

/* An RTM_NEWLINK or RTM_DELLINK request for NAME in BUF. */
static struct nlmsghdr *kni_link_msg(char *buf, __u16 type, __u16 flags,
				     const char *name)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct ifinfomsg *ifi;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK | flags;
	ifi = mnl_nlmsg_put_extra_header(nlh, sizeof(*ifi));
	ifi->ifi_family = AF_UNSPEC;
	mnl_attr_put_strz(nlh, IFLA_IFNAME, name);
	return nlh;
}

static void kni_put_config(struct nlmsghdr *nlh,
			   const struct kni_dev_config *cfg)
{
	__u32 p = cfg->present;
	struct nlattr *info, *data;

	if (p & KNI_CFG_MTU)
		mnl_attr_put_u32(nlh, IFLA_MTU, cfg->mtu);
	if (p & KNI_CFG_ADDR)
		mnl_attr_put(nlh, IFLA_ADDRESS, sizeof(cfg->addr), cfg->addr);
	/* A queue pair is a tx and an rx queue: as many of each. */
	if (p & KNI_CFG_QUEUES) {
		mnl_attr_put_u32(nlh, IFLA_NUM_TX_QUEUES, cfg->queues);
		mnl_attr_put_u32(nlh, IFLA_NUM_RX_QUEUES, cfg->queues);
	}
	if (p & KNI_CFG_CARRIER)
		mnl_attr_put_u8(nlh, IFLA_CARRIER, (__u8)cfg->carrier);
	info = mnl_attr_nest_start(nlh, IFLA_LINKINFO);
	mnl_attr_put_strz(nlh, IFLA_INFO_KIND, "kni");
	data = mnl_attr_nest_start(nlh, IFLA_INFO_DATA);
	if (p & KNI_CFG_RING_SIZE)
		mnl_attr_put_u32(nlh, IFLA_KNI_RING_SIZE, cfg->ring_size);
	if (p & KNI_CFG_FRAME_SIZE)
		mnl_attr_put_u32(nlh, IFLA_KNI_FRAME_SIZE, cfg->frame_size);
	if (p & KNI_CFG_LOOPBACK)
		mnl_attr_put_u32(nlh, IFLA_KNI_LOOPBACK, cfg->loopback);
	if (p & KNI_CFG_OWNER)
		mnl_attr_put_u32(nlh, IFLA_KNI_OWNER, cfg->owner);
	if (p & KNI_CFG_GROUP)
		mnl_attr_put_u32(nlh, IFLA_KNI_GROUP, cfg->group);
	mnl_attr_nest_end(nlh, data);
	mnl_attr_nest_end(nlh, info);
}

static const __u32 kni_cfg_known = KNI_CFG_QUEUES | KNI_CFG_RING_SIZE |
	KNI_CFG_FRAME_SIZE | KNI_CFG_CARRIER | KNI_CFG_LOOPBACK |
	KNI_CFG_OWNER | KNI_CFG_GROUP | KNI_CFG_MTU | KNI_CFG_ADDR;

static int kni_newlink(const char *name, const struct kni_dev_config *user,
		       __u16 flags, char *errmsg, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct kni_dev_config cfg = {};
	struct nlmsghdr *nlh;
	int err;

	if (errmsg && errlen)
		errmsg[0] = '\0';
	if (!kni_name_ok(name))
		return -EINVAL;
	if (user) {
		err = kni_copy_in(&cfg, user, KNI_SZ_DEV_CONFIG);
		if (err)
			return err;
	}
	if (cfg.present & ~kni_cfg_known)
		return -EINVAL;
	/* IFLA_CARRIER is a byte the kernel takes as on when not 0. */
	if ((cfg.present & KNI_CFG_CARRIER) && cfg.carrier > 1)
		return -EINVAL;
	nlh = kni_link_msg(buf, RTM_NEWLINK, flags, name);
	kni_put_config(nlh, &cfg);
	return kni_rtnl_request(nlh, errmsg, errlen);
}

int kni_dev_create(const char *name, const struct kni_dev_config *cfg,
		   char *errmsg, size_t errlen)
{
	return kni_newlink(name, cfg, NLM_F_CREATE | NLM_F_EXCL, errmsg,
			   errlen);
}

int kni_dev_change(const char *name, const struct kni_dev_config *cfg,
		   char *errmsg, size_t errlen)
{
	if (!cfg)
		return -EINVAL;
	return kni_newlink(name, cfg, 0, errmsg, errlen);
}

int kni_dev_delete(const char *name, char *errmsg, size_t errlen)
{
	char buf[MNL_SOCKET_BUFFER_SIZE];
	struct nlmsghdr *nlh;

	if (errmsg && errlen)
		errmsg[0] = '\0';
	if (!kni_name_ok(name))
		return -EINVAL;
	nlh = kni_link_msg(buf, RTM_DELLINK, 0, name);
	return kni_rtnl_request(nlh, errmsg, errlen);
}

int kni_dev_ifindex(const char *name)
{
	unsigned int ifindex;

	if (!kni_name_ok(name))
		return -EINVAL;
	ifindex = if_nametoindex(name);
	if (!ifindex)
		return errno ? -errno : -ENODEV;
	if (ifindex > INT32_MAX)
		return -EOVERFLOW;
	return (int)ifindex;
}
