// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * iplink_kni.c	kni device support: a virtual Ethernet device whose
 *		other end is a userspace dataplane
 */

#include <stdio.h>
#include <string.h>
#include <pwd.h>
#include <grp.h>
#include <linux/if_link.h>

#include "utils.h"
#include "ip_common.h"

/* IFLA_KNI_OWNER and IFLA_KNI_GROUP value for "none": no owner or group */
#define KNI_ID_NONE	((__u32)-1)

static const char * const kni_loopback_names[] = {
	[KNI_LOOPBACK_NONE]	= "none",
	[KNI_LOOPBACK_FIFO]	= "fifo",
	[KNI_LOOPBACK_FIFO_SKB]	= "fifo_skb",
};

static void print_explain(FILE *f)
{
	fprintf(f,
		"Usage: ... kni [ ring_size RING_SIZE ]\n"
		"		[ frame_size FRAME_SIZE ]\n"
		"		[ loopback { none | fifo | fifo_skb } ]\n"
		"		[ owner { USER | none } ]\n"
		"		[ group { GROUP | none } ]\n"
		"\n"
		"Where:	RING_SIZE	:= descriptors per ring, a power of two\n"
		"	FRAME_SIZE	:= bytes per frame, a power of two\n"
		"	USER		:= user name or uid allowed to attach\n"
		"	GROUP		:= group name or gid allowed to attach\n"
		"\n"
		"The queue pairs are ip link's numtxqueues N numrxqueues N (the same N,\n"
		"fixed at creation); the carrier is ip link's carrier { on | off }.\n"
	);
}

static void check_duparg(__u32 *attrs, int type, const char *key,
			 const char *arg)
{
	if (*attrs & (1U << type))
		duparg(key, arg);
	*attrs |= 1U << type;
}

static __u32 kni_parse_u32(const char *key, const char *arg)
{
	char msg[64];
	__u32 val;

	if (get_u32(&val, arg, 0)) {
		snprintf(msg, sizeof(msg),
			 "%s must be an unsigned 32-bit number", key);
		invarg(msg, arg);
	}
	return val;
}

static __u32 kni_parse_owner(const char *arg)
{
	struct passwd *pw;
	__u32 uid;

	if (!strcmp(arg, "none"))
		return KNI_ID_NONE;
	if (!get_u32(&uid, arg, 10))
		return uid;
	pw = getpwnam(arg);
	if (!pw)
		invarg("owner must be a user name, a uid or \"none\"", arg);
	return pw->pw_uid;
}

static __u32 kni_parse_group(const char *arg)
{
	struct group *gr;
	__u32 gid;

	if (!strcmp(arg, "none"))
		return KNI_ID_NONE;
	if (!get_u32(&gid, arg, 10))
		return gid;
	gr = getgrnam(arg);
	if (!gr)
		invarg("group must be a group name, a gid or \"none\"", arg);
	return gr->gr_gid;
}

static int kni_parse_opt(struct link_util *lu, int argc, char **argv,
			 struct nlmsghdr *n)
{
	__u32 attrs = 0;
	int err;

	while (argc > 0) {
		if (!strcmp(*argv, "ring_size")) {
			NEXT_ARG();
			check_duparg(&attrs, IFLA_KNI_RING_SIZE, "ring_size",
				     *argv);
			addattr32(n, 1024, IFLA_KNI_RING_SIZE,
				  kni_parse_u32("ring_size", *argv));
		} else if (!strcmp(*argv, "frame_size")) {
			NEXT_ARG();
			check_duparg(&attrs, IFLA_KNI_FRAME_SIZE, "frame_size",
				     *argv);
			addattr32(n, 1024, IFLA_KNI_FRAME_SIZE,
				  kni_parse_u32("frame_size", *argv));
		} else if (!strcmp(*argv, "loopback")) {
			int mode;

			NEXT_ARG();
			check_duparg(&attrs, IFLA_KNI_LOOPBACK, "loopback", *argv);
			mode = parse_one_of("loopback", *argv, kni_loopback_names,
					    ARRAY_SIZE(kni_loopback_names), &err);
			if (err)
				return err;
			addattr32(n, 1024, IFLA_KNI_LOOPBACK, mode);
		} else if (!strcmp(*argv, "owner")) {
			NEXT_ARG();
			check_duparg(&attrs, IFLA_KNI_OWNER, "owner", *argv);
			addattr32(n, 1024, IFLA_KNI_OWNER, kni_parse_owner(*argv));
		} else if (!strcmp(*argv, "group")) {
			NEXT_ARG();
			check_duparg(&attrs, IFLA_KNI_GROUP, "group", *argv);
			addattr32(n, 1024, IFLA_KNI_GROUP, kni_parse_group(*argv));
		} else if (!strcmp(*argv, "help")) {
			print_explain(stderr);
			return -1;
		} else {
			fprintf(stderr, "kni: unknown option \"%s\"\n", *argv);
			print_explain(stderr);
			return -1;
		}
		argc--, argv++;
	}

	return 0;
}

static void kni_print_id(const char *key, struct rtattr *attr)
{
	__u32 id = rta_getattr_u32(attr);

	if (id == KNI_ID_NONE) {
		print_int(PRINT_JSON, key, NULL, -1);
		print_string(PRINT_FP, NULL, "%s none ", key);
	} else {
		print_uint(PRINT_JSON, key, NULL, id);
		print_string(PRINT_FP, NULL, "%s ", key);
		print_uint(PRINT_FP, NULL, "%u ", id);
	}
}

static void kni_print_opt(struct link_util *lu, FILE *f, struct rtattr *tb[])
{
	if (!tb)
		return;

	if (tb[IFLA_KNI_RING_SIZE])
		print_uint(PRINT_ANY, "ring_size", "ring_size %u ",
			   rta_getattr_u32(tb[IFLA_KNI_RING_SIZE]));

	if (tb[IFLA_KNI_FRAME_SIZE])
		print_uint(PRINT_ANY, "frame_size", "frame_size %u ",
			   rta_getattr_u32(tb[IFLA_KNI_FRAME_SIZE]));

	if (tb[IFLA_KNI_LOOPBACK]) {
		__u32 mode = rta_getattr_u32(tb[IFLA_KNI_LOOPBACK]);

		if (mode < ARRAY_SIZE(kni_loopback_names) &&
		    kni_loopback_names[mode]) {
			print_string(PRINT_ANY, "loopback", "loopback %s ",
				     kni_loopback_names[mode]);
		} else {
			SPRINT_BUF(b1);

			snprintf(b1, sizeof(b1), "%u", mode);
			print_string(PRINT_ANY, "loopback", "loopback %s ", b1);
		}
	}

	if (tb[IFLA_KNI_OWNER])
		kni_print_id("owner", tb[IFLA_KNI_OWNER]);

	if (tb[IFLA_KNI_GROUP])
		kni_print_id("group", tb[IFLA_KNI_GROUP]);
}

static void kni_print_help(struct link_util *lu, int argc, char **argv,
			   FILE *f)
{
	print_explain(f);
}

struct link_util kni_link_util = {
	.id		= "kni",
	.maxattr	= IFLA_KNI_MAX,
	.parse_opt	= kni_parse_opt,
	.print_opt	= kni_print_opt,
	.print_help	= kni_print_help,
};
