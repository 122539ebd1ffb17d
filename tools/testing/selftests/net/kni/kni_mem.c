// SPDX-License-Identifier: GPL-2.0
/*
 * The memory behind a kni queue's region: its charge against
 * RLIMIT_MEMLOCK and the return of that charge, the exemption of
 * CAP_IPC_LOCK, its charge to the memory cgroup and that cgroup's limit,
 * a region larger than the machine refused without the OOM killer, and a
 * large region faulted in page by page on first touch and given back
 * after close.
 *
 * Each test runs in a network namespace of its own and creates the kni
 * devices it needs there. The RLIMIT_MEMLOCK checks run in a child that
 * sets the limit and then becomes an unprivileged user owning the device,
 * which loses every capability, CAP_IPC_LOCK included.
 *
 * The large regions need a machine of 2 GiB: one region of 1 GiB must
 * fit, two must not.
 */

#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <net/if.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ioctl.h>
#include <sys/mount.h>
#include <sys/mman.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <sys/wait.h>
#include <unistd.h>
#include <linux/capability.h>
#include <linux/if_link.h>
#include <linux/kni.h>
#include <linux/netlink.h>
#include <linux/rtnetlink.h>

#include "../../kselftest_harness.h"
#include "kni_test.h"

#define MIB		BIT_ULL(20)
#define GIB		BIT_ULL(30)

/* Users no process of the machine runs as: their charges are the tests'. */
#define UID_LIMIT	4242
#define UID_RETURN	4243

/* How far MemAvailable may stay below its value before a large region. */
#define MEM_SLACK	(64 * MIB)
/* The region's memory is freed after an RCU grace period, in the background. */
#define MEM_RETURN_SECS	30

static size_t page_size;

static const char *err_name(int err)
{
	const char *name;

	if (!err)
		return "success";
	name = strerrorname_np(err);
	return name ? name : "an unknown error";
}

/* An attach's result as a name: "success" or the errno's. */
static const char *res_name(int res)
{
	return res >= 0 ? "success" : err_name(-res);
}

/* rtnetlink, for devices of the shapes these tests need. */

/*
 * Create kni device NAME, down, with QUEUES queue pairs, RING_SIZE and
 * FRAME_SIZE, that user OWNER may attach to; its ifindex, or -errno.
 */
static int mem_link_add(const char *name, __u32 queues, __u32 ring_size,
			__u32 frame_size, __u32 owner)
{
	__u64 buf[128] = { 0 };
	struct nlmsghdr *nlh = (void *)buf;
	struct ifinfomsg *ifi = NLMSG_DATA(nlh);
	struct rtattr *info, *data;
	int err, ifindex;

	nlh->nlmsg_len = NLMSG_LENGTH(sizeof(*ifi));
	nlh->nlmsg_type = RTM_NEWLINK;
	nlh->nlmsg_flags = NLM_F_CREATE | NLM_F_EXCL;
	ifi->ifi_family = AF_UNSPEC;
	nl_put(nlh, IFLA_IFNAME, name, strlen(name) + 1);
	nl_put(nlh, IFLA_NUM_TX_QUEUES, &queues, sizeof(queues));
	nl_put(nlh, IFLA_NUM_RX_QUEUES, &queues, sizeof(queues));
	info = nl_put(nlh, IFLA_LINKINFO, NULL, 0);
	nl_put(nlh, IFLA_INFO_KIND, "kni", sizeof("kni"));
	data = nl_put(nlh, IFLA_INFO_DATA, NULL, 0);
	nl_put(nlh, IFLA_KNI_RING_SIZE, &ring_size, sizeof(ring_size));
	nl_put(nlh, IFLA_KNI_FRAME_SIZE, &frame_size, sizeof(frame_size));
	nl_put(nlh, IFLA_KNI_OWNER, &owner, sizeof(owner));
	nl_end(nlh, data);
	nl_end(nlh, info);
	err = nl_request(nlh);
	if (err)
		return err;
	ifindex = if_nametoindex(name);
	return ifindex ? ifindex : -ENODEV;
}

/* The region of a queue. */

/* Attach a new file to QUEUE of IFINDEX; the file, or -errno. */
static int mem_attach(int ifindex, __u32 queue, struct kni_attach *at)
{
	int fd, err;

	fd = open("/dev/kni", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	memset(at, 0, sizeof(*at));
	at->ifindex = ifindex;
	at->queue = queue;
	if (ioctl(fd, KNI_IOC_ATTACH, at)) {
		err = -errno;
		close(fd);
		return err;
	}
	return fd;
}

/* mmap_size of a region of queue 0 of IFINDEX, learnt by attaching as root. */
static __u64 mem_region_size(int ifindex)
{
	struct kni_attach at;
	int fd = mem_attach(ifindex, 0, &at);

	if (fd < 0)
		return 0;
	close(fd);
	return at.mmap_size;
}

static unsigned char *mem_map(int fd, __u64 size)
{
	void *map = mmap(NULL, size, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);

	return map == MAP_FAILED ? NULL : map;
}

/* Write one byte of every page of [MAP, MAP + SIZE). */
static void mem_touch(unsigned char *map, __u64 size)
{
	__u64 off;

	for (off = 0; off < size; off += page_size)
		__atomic_store_n(&map[off], 1, __ATOMIC_RELAXED);
}

/* Pages of [MAP, MAP + SIZE) the page tables map, from pagemap; or -1. */
static long mem_present(const unsigned char *map, __u64 size)
{
	__u64 first = (unsigned long)map / page_size;
	__u64 n = size / page_size, i, j, chunk;
	__u64 ent[4096];
	long present = 0;
	int fd;

	fd = open("/proc/self/pagemap", O_RDONLY | O_CLOEXEC);
	if (fd < 0)
		return -1;
	for (i = 0; i < n; i += chunk) {
		chunk = n - i < 4096 ? n - i : 4096;
		if (pread(fd, ent, chunk * sizeof(ent[0]),
			  (first + i) * sizeof(ent[0])) !=
		    (ssize_t)(chunk * sizeof(ent[0]))) {
			close(fd);
			return -1;
		}
		for (j = 0; j < chunk; j++)
			present += ent[j] >> 63;	/* PM_PRESENT */
	}
	close(fd);
	return present;
}

/* The machine. */

/* The field NAME of /proc/meminfo in kB, or -1. */
static long meminfo_kb(const char *name)
{
	size_t len = strlen(name);
	char line[256];
	long v = -1;
	FILE *f;

	f = fopen("/proc/meminfo", "r");
	if (!f)
		return -1;
	while (fgets(line, sizeof(line), f)) {
		if (!strncmp(line, name, len) && line[len] == ':') {
			v = strtol(line + len + 1, NULL, 10);
			break;
		}
	}
	fclose(f);
	return v;
}

static long long mem_available(void)
{
	long kb = meminfo_kb("MemAvailable");

	return kb < 0 ? -1 : kb * 1024LL;
}

/*
 * Wait until MemAvailable is back within MEM_SLACK of BEFORE; true when it
 * is. Its last value in *NOW.
 */
static bool mem_returned(long long before, long long *now)
{
	return WAIT_UNTIL((*now = mem_available()) >= before - (long long)MEM_SLACK,
			  MEM_RETURN_SECS);
}

/*
 * Why mem_returned() failed: *NOW in MiB, MEM_RETURN_SECS, after what (a
 * string), BEFORE in MiB and MEM_SLACK in MiB.
 */
#define MEM_RETURNED_FMT \
	"MemAvailable %lld MiB %d s after %s, %lld MiB before: expected it back within %llu MiB"

/*
 * The OOM killer's runs: /proc/vmstat's oom_kill where the kernel counts
 * its events, and the reports it leaves in the kernel log, which every
 * kernel prints. The log is read from where oom_watch() was called.
 */
struct oom_watch {
	long vmstat;		/* oom_kill, or -1 without event counters */
	int kmsg;		/* /dev/kmsg, at its end when the watch began */
};

/*
 * The counter NAME of a file of "name value" lines (/proc/vmstat, a
 * cgroup's memory.events), or -1.
 */
static long long stat_key(const char *file, const char *name)
{
	long long v = -1, x;
	char key[64];
	FILE *f;

	f = fopen(file, "r");
	if (!f)
		return -1;
	while (fscanf(f, "%63s %lld", key, &x) == 2)
		if (!strcmp(key, name))
			v = x;
	fclose(f);
	return v;
}

static long vmstat_oom_kill(void)
{
	return stat_key("/proc/vmstat", "oom_kill");
}

static void oom_watch(struct oom_watch *w)
{
	w->vmstat = vmstat_oom_kill();
	w->kmsg = open("/dev/kmsg", O_RDONLY | O_NONBLOCK | O_CLOEXEC);
	if (w->kmsg >= 0)
		lseek(w->kmsg, 0, SEEK_END);
}

/*
 * Whether the OOM killer ran since oom_watch(); a description of it in
 * BUF, or of why that cannot be known. Ends the watch.
 */
static bool oom_ran(struct oom_watch *w, char *buf, size_t len)
{
	long vmstat = vmstat_oom_kill();
	char rec[2048], *msg;
	bool ran = false;
	ssize_t n;

	snprintf(buf, len, "no OOM kill");
	if (w->vmstat >= 0 && vmstat != w->vmstat) {
		snprintf(buf, len, "/proc/vmstat oom_kill went from %ld to %ld",
			 w->vmstat, vmstat);
		ran = true;
	}
	if (w->kmsg < 0) {
		if (w->vmstat < 0) {
			snprintf(buf, len, "neither /proc/vmstat oom_kill nor /dev/kmsg to tell");
			ran = true;
		}
		return ran;
	}
	for (;;) {
		n = read(w->kmsg, rec, sizeof(rec) - 1);
		if (n < 0 && errno == EPIPE)	/* records overwritten */
			continue;
		if (n <= 0)
			break;
		rec[n] = '\0';
		/* "level,seq,usecs,flags;message\n" */
		msg = strchr(rec, ';');
		msg = msg ? msg + 1 : rec;
		if (!ran && (strstr(msg, "invoked oom-killer") ||
			     strstr(msg, "Out of memory"))) {
			snprintf(buf, len, "the kernel log says: %.*s",
				 (int)strcspn(msg, "\n"), msg);
			ran = true;
		}
	}
	close(w->kmsg);
	return ran;
}

/* Children with their own limit and credentials. */

/*
 * In a child: whether COND is false, printing why when it is; the child
 * then returns 1.
 */
#define CHILD_FAILED(cond, fmt, ...) ({					\
	bool __failed = !(cond);					\
									\
	if (__failed)							\
		fprintf(stderr, "# %s:%d: " fmt "\n", __FILE__, __LINE__,	\
			##__VA_ARGS__);					\
	__failed;							\
})

static int caps(struct __user_cap_data_struct data[2], bool set)
{
	struct __user_cap_header_struct hdr = {
		.version = _LINUX_CAPABILITY_VERSION_3,
	};

	return syscall(set ? SYS_capset : SYS_capget, &hdr, data);
}

/* Whether CAP is in the effective set; -1 when that cannot be read. */
static int cap_effective(int cap)
{
	struct __user_cap_data_struct data[2];

	if (caps(data, false))
		return -1;
	return !!(data[cap / 32].effective & (1U << (cap % 32)));
}

/* Raise or lower CAP in the effective set, keeping it permitted. */
static int cap_set_effective(int cap, bool on)
{
	struct __user_cap_data_struct data[2];

	if (caps(data, false))
		return -1;
	if (on)
		data[cap / 32].effective |= 1U << (cap % 32);
	else
		data[cap / 32].effective &= ~(1U << (cap % 32));
	if (caps(data, true))
		return -1;
	return cap_effective(cap) == on ? 0 : -1;
}

/*
 * Run FN(ARG) in a child with RLIMIT_MEMLOCK MEMLOCK bytes (soft and hard),
 * as UID when it is not 0 (every capability gone), as root otherwise. The
 * child is the OOM killer's first choice, should it run. FN's result, 128
 * plus the signal that killed the child, or -1 when it could not run.
 */
static int run_child(uid_t uid, rlim_t memlock, int (*fn)(const void *),
		     const void *arg)
{
	struct rlimit rl = { .rlim_cur = memlock, .rlim_max = memlock };
	int status, fd;
	pid_t pid;

	fflush(NULL);
	pid = fork();
	if (pid < 0)
		return -1;
	if (pid == 0) {
		fd = open("/proc/self/oom_score_adj", O_WRONLY);
		if (fd < 0 || write(fd, "1000", 4) != 4) {
			fprintf(stderr, "# cannot set oom_score_adj: %m\n");
			_exit(2);
		}
		close(fd);
		if (setrlimit(RLIMIT_MEMLOCK, &rl)) {
			fprintf(stderr, "# setrlimit(RLIMIT_MEMLOCK, %llu): %m\n",
				(unsigned long long)memlock);
			_exit(2);
		}
		if (uid && (setgroups(0, NULL) || setresgid(uid, uid, uid) ||
			    setresuid(uid, uid, uid))) {
			fprintf(stderr, "# cannot become uid %u: %m\n", uid);
			_exit(2);
		}
		if (uid && cap_effective(CAP_IPC_LOCK)) {
			fprintf(stderr, "# uid %u kept CAP_IPC_LOCK\n", uid);
			_exit(2);
		}
		_exit(fn(arg));
	}
	if (waitpid(pid, &status, 0) != pid)
		return -1;
	if (WIFSIGNALED(status))
		return 128 + WTERMSIG(status);
	return WEXITSTATUS(status);
}

struct region_arg {
	int ifindex;
	__u64 size;		/* the region's mmap_size */
	rlim_t memlock;		/* the child's RLIMIT_MEMLOCK */
};

/* An attach the limit has no room for. */
static int attach_refused(const void *p)
{
	const struct region_arg *a = p;
	struct kni_attach at;
	int fd = mem_attach(a->ifindex, 0, &at);

	if (CHILD_FAILED(fd == -ENOBUFS,
			 "uid %u attached a region of %llu bytes with RLIMIT_MEMLOCK %llu: %s, expected ENOBUFS",
			 getuid(), (unsigned long long)a->size,
			 (unsigned long long)a->memlock, res_name(fd)))
		return 1;
	return 0;
}

/* An attach that just fits, mapped and written. */
static int attach_fits(const void *p)
{
	const struct region_arg *a = p;
	struct kni_attach at;
	unsigned char *map;
	int fd = mem_attach(a->ifindex, 0, &at);

	if (CHILD_FAILED(fd >= 0,
			 "uid %u attached a region of %llu bytes with RLIMIT_MEMLOCK %llu: %s, expected success",
			 getuid(), (unsigned long long)a->size,
			 (unsigned long long)a->memlock, res_name(fd)))
		return 1;
	if (CHILD_FAILED(at.mmap_size == a->size,
			 "mmap_size %llu as uid %u, %llu as root: expected the same region",
			 (unsigned long long)at.mmap_size, getuid(),
			 (unsigned long long)a->size))
		return 1;
	map = mem_map(fd, at.mmap_size);
	if (CHILD_FAILED(map,
			 "mmap: %m, expected the region mapped: the limit is charged at attach"))
		return 1;
	mem_touch(map, at.mmap_size);
	munmap(map, at.mmap_size);
	close(fd);
	return 0;
}

FIXTURE(mem)
{
	int unused;
};

FIXTURE_SETUP(mem)
{
	page_size = sysconf(_SC_PAGESIZE);
	ASSERT_EQ(enter_netns(), 0);
}

FIXTURE_TEARDOWN(mem)
{
}

/*
 * The owner of a device attaches without CAP_NET_ADMIN, and without
 * CAP_IPC_LOCK its region counts against its RLIMIT_MEMLOCK: one page short
 * of the region is refused with ENOBUFS, the region's size exactly fits.
 */
TEST_F_TIMEOUT(mem, memlock_limit, 120)
{
	struct region_arg a;
	int ret;

	a.ifindex = mem_link_add("kni0", 1, 1024, 2048, UID_LIMIT);
	ASSERT_GT(a.ifindex, 0)
		TH_LOG("creating kni0: %s", res_name(a.ifindex));
	a.size = mem_region_size(a.ifindex);
	ASSERT_GT(a.size, page_size)
		TH_LOG("root could not attach to learn the region's size");
	ASSERT_EQ(a.size % page_size, 0ULL)
		TH_LOG("mmap_size %llu: expected whole pages",
		       (unsigned long long)a.size);

	a.memlock = a.size - page_size;
	ret = run_child(UID_LIMIT, a.memlock, attach_refused, &a);
	ASSERT_EQ(ret, 0)
		TH_LOG("expected ENOBUFS with RLIMIT_MEMLOCK a page below the region (child: %d)",
		       ret);

	a.memlock = a.size;
	ret = run_child(UID_LIMIT, a.memlock, attach_fits, &a);
	ASSERT_EQ(ret, 0)
		TH_LOG("expected the attach to fit RLIMIT_MEMLOCK equal to the region (child: %d)",
		       ret);
}

/*
 * With RLIMIT_MEMLOCK of exactly one region, one queue attaches and the
 * other is refused until the first region's file is released: closed,
 * or mapped, unmapped and closed, or closed while mapped (the mapping
 * holds the file: the charge stays until munmap). Any charge not returned
 * in full, or taken by a refused attach, refuses the next round's attach.
 */
static int charge_cycles(const void *p)
{
	const struct region_arg *a = p;
	struct kni_attach at;
	__u32 held_q = 0, other;
	unsigned char *map;
	int round, held, fd;

	held = mem_attach(a->ifindex, held_q, &at);
	if (CHILD_FAILED(held >= 0,
			 "queue 0 with RLIMIT_MEMLOCK of exactly one region: %s, expected success",
			 res_name(held)))
		return 1;
	for (round = 0; round < 6; round++) {
		other = !held_q;
		fd = mem_attach(a->ifindex, other, &at);
		if (CHILD_FAILED(fd == -ENOBUFS,
				 "round %d: queue %u attached while queue %u held the whole limit: %s, expected ENOBUFS",
				 round, other, held_q, res_name(fd)))
			return 1;

		switch (round % 3) {
		case 0:
			close(held);
			break;
		case 1:
			map = mem_map(held, a->size);
			if (CHILD_FAILED(map, "round %d: mmap: %m, expected the region mapped",
					 round))
				return 1;
			mem_touch(map, a->size);
			if (CHILD_FAILED(!munmap(map, a->size), "round %d: munmap: %m",
					 round))
				return 1;
			close(held);
			break;
		case 2:
			map = mem_map(held, a->size);
			if (CHILD_FAILED(map, "round %d: mmap: %m, expected the region mapped",
					 round))
				return 1;
			mem_touch(map, a->size);
			close(held);
			fd = mem_attach(a->ifindex, other, &at);
			if (CHILD_FAILED(fd == -ENOBUFS,
					 "round %d: queue %u attached while the mapping of queue %u's closed file held it: %s, expected ENOBUFS until munmap",
					 round, other, held_q, res_name(fd)))
				return 1;
			if (CHILD_FAILED(!munmap(map, a->size), "round %d: munmap: %m",
					 round))
				return 1;
			break;
		}

		held = mem_attach(a->ifindex, other, &at);
		if (CHILD_FAILED(held >= 0,
				 "round %d: queue %u after queue %u's region was %s: %s, expected success: the charge should be back to zero",
				 round, other, held_q,
				 round % 3 == 0 ? "closed" :
				 round % 3 == 1 ? "mapped, unmapped and closed" :
				 "mapped, closed and unmapped",
				 res_name(held)))
			return 1;
		held_q = other;
	}
	close(held);
	return 0;
}

TEST_F_TIMEOUT(mem, charge_returns, 120)
{
	struct region_arg a;
	int ret;

	a.ifindex = mem_link_add("kni0", 2, 1024, 2048, UID_RETURN);
	ASSERT_GT(a.ifindex, 0)
		TH_LOG("creating kni0 with 2 queues: %s",
		       res_name(a.ifindex));
	a.size = mem_region_size(a.ifindex);
	ASSERT_GT(a.size, page_size)
		TH_LOG("root could not attach to learn the region's size");

	a.memlock = a.size;
	ret = run_child(UID_RETURN, a.memlock, charge_cycles, &a);
	ASSERT_EQ(ret, 0)
		TH_LOG("expected each released region to return its whole charge (child: %d)",
		       ret);
}

/*
 * Root held to a limit of one page: refused without CAP_IPC_LOCK in its
 * effective set, which shows the limit applies to root too; with it, a
 * region a thousand times the limit attaches and maps.
 */
static int cap_exempt(const void *p)
{
	const struct region_arg *a = p;
	struct kni_attach at;
	unsigned char *map;
	int fd;

	if (CHILD_FAILED(!cap_set_effective(CAP_IPC_LOCK, false),
			 "cannot drop CAP_IPC_LOCK: %m"))
		return 1;
	fd = mem_attach(a->ifindex, 0, &at);
	if (CHILD_FAILED(fd == -ENOBUFS,
			 "root without CAP_IPC_LOCK attached a region of %llu bytes with RLIMIT_MEMLOCK %llu: %s, expected ENOBUFS",
			 (unsigned long long)a->size, (unsigned long long)a->memlock,
			 res_name(fd)))
		return 1;

	if (CHILD_FAILED(!cap_set_effective(CAP_IPC_LOCK, true),
			 "cannot raise CAP_IPC_LOCK again: %m"))
		return 1;
	fd = mem_attach(a->ifindex, 0, &at);
	if (CHILD_FAILED(fd >= 0,
			 "root with CAP_IPC_LOCK attached a region of %llu bytes with RLIMIT_MEMLOCK %llu: %s, expected success: CAP_IPC_LOCK is exempt from the limit",
			 (unsigned long long)a->size, (unsigned long long)a->memlock,
			 res_name(fd)))
		return 1;
	map = mem_map(fd, at.mmap_size);
	if (CHILD_FAILED(map, "mmap of the region: %m, expected it mapped"))
		return 1;
	mem_touch(map, at.mmap_size);
	munmap(map, at.mmap_size);
	close(fd);
	return 0;
}

TEST_F_TIMEOUT(mem, cap_ipc_lock_exempt, 120)
{
	struct region_arg a;
	int ret;

	a.ifindex = mem_link_add("kni0", 1, 1024, 2048, (__u32)-1);
	ASSERT_GT(a.ifindex, 0)
		TH_LOG("creating kni0: %s", res_name(a.ifindex));
	a.size = mem_region_size(a.ifindex);
	ASSERT_GT(a.size, 1000 * page_size)
		TH_LOG("region of %llu bytes: expected over a thousand pages",
		       (unsigned long long)a.size);

	a.memlock = page_size;
	ret = run_child(0, a.memlock, cap_exempt, &a);
	ASSERT_EQ(ret, 0)
		TH_LOG("expected root held to RLIMIT_MEMLOCK iff it lacks CAP_IPC_LOCK (child: %d)",
		       ret);
}

/* The memory cgroup the attaching process is in. */

#define CG_ROOT		"/sys/fs/cgroup"
#define CG_TEST		CG_ROOT "/kni-mem"
/* What the attaching process itself may add to its cgroup's charge. */
#define CG_SLACK	(4 * MIB)

/* The number in cgroup file FILE (its first field), or -1. */
static long long cg_read(const char *file)
{
	char buf[64];
	long long v;
	FILE *f;

	f = fopen(file, "r");
	if (!f)
		return -1;
	v = -1;
	if (fgets(buf, sizeof(buf), f)) {
		char *end;

		errno = 0;
		v = strtoll(buf, &end, 10);
		if (errno || end == buf)
			v = -1;
	}
	fclose(f);
	return v;
}

static int cg_write(const char *file, const char *val)
{
	int fd, ret = 0;

	fd = open(file, O_WRONLY | O_CLOEXEC);
	if (fd < 0)
		return -errno;
	if (write(fd, val, strlen(val)) != (ssize_t)strlen(val))
		ret = -errno;
	close(fd);
	return ret;
}

struct memcg_arg {
	int ifindex;
	__u64 area;		/* bytes of the region's frames */
	bool fits;		/* under the cgroup's memory.max */
};

/*
 * In CG_TEST: attach, and see the region charged to the cgroup; or, when
 * it does not fit the cgroup's limit, refused with ENOMEM.
 */
static int memcg_attach(const void *p)
{
	const struct memcg_arg *a = p;
	long long before, after;
	struct kni_attach at;
	int fd, err;

	err = cg_write(CG_TEST "/cgroup.procs", "0");
	if (CHILD_FAILED(!err, "joining %s: %s", CG_TEST, err_name(-err)))
		return 1;
	before = cg_read(CG_TEST "/memory.current");
	if (CHILD_FAILED(before >= 0, "no %s/memory.current", CG_TEST))
		return 1;
	fd = mem_attach(a->ifindex, 0, &at);
	if (!a->fits) {
		if (CHILD_FAILED(fd == -ENOMEM,
				 "attach of a region of %llu MiB in a cgroup of at most %lld MiB: %s, expected ENOMEM",
				 (unsigned long long)(a->area / MIB),
				 cg_read(CG_TEST "/memory.max") / (long long)MIB,
				 res_name(fd)))
			return 1;
		return 0;
	}
	if (CHILD_FAILED(fd >= 0, "attach in %s: %s, expected success", CG_TEST,
			 res_name(fd)))
		return 1;
	after = cg_read(CG_TEST "/memory.current");
	if (CHILD_FAILED(after - before >= (long long)a->area,
			 "memory.current grew by %lld KiB on attach, expected at least the %llu KiB of frames",
			 (after - before) / 1024,
			 (unsigned long long)(a->area / 1024)))
		return 1;
	/* The charge stays with the cgroup, not the caller: it goes at release. */
	close(fd);
	return 0;
}

/*
 * The region is charged to the memory cgroup of the process that attached
 * (GFP_KERNEL_ACCOUNT), and returned to it once the file is released. A
 * region over the cgroup's memory.max is refused with ENOMEM, and neither
 * the cgroup's OOM killer nor the machine's runs.
 */
TEST_F_TIMEOUT(mem, memcg_charge, 120)
{
	struct memcg_arg a = { .area = 2ULL * 1024 * 16384 };
	long long base, now;
	struct oom_watch w;
	char why[512];
	int ret;

	if (mount("cgroup2", CG_ROOT, "cgroup2", 0, NULL))
		SKIP(return, "no cgroup2 file system (CONFIG_CGROUPS): %m");
	if (cg_write(CG_ROOT "/cgroup.subtree_control", "+memory"))
		SKIP(return, "no memory controller (CONFIG_MEMCG)");
	ASSERT_EQ(mkdir(CG_TEST, 0755), 0) TH_LOG("mkdir %s: %m", CG_TEST);

	a.ifindex = mem_link_add("kni0", 1, 1024, 16384, (__u32)-1);
	ASSERT_GT(a.ifindex, 0) TH_LOG("creating kni0: %s", res_name(a.ifindex));
	a.fits = true;
	ret = run_child(0, RLIM_INFINITY, memcg_attach, &a);
	ASSERT_EQ(ret, 0) TH_LOG("expected the region charged to the cgroup (child: %d)",
				 ret);
	/* Only the cgroup's own pages remain; the region's come back. */
	ASSERT_TRUE(WAIT_UNTIL((now = cg_read(CG_TEST "/memory.current")) <
			       (long long)CG_SLACK, MEM_RETURN_SECS))
		TH_LOG("memory.current %lld KiB %d s after the release, expected below %llu KiB",
		       now / 1024, MEM_RETURN_SECS, CG_SLACK / 1024);
	base = now;

	a.fits = false;
	ASSERT_EQ(cg_write(CG_TEST "/memory.max", "16M"), 0);
	oom_watch(&w);
	ret = run_child(0, RLIM_INFINITY, memcg_attach, &a);
	ASSERT_FALSE(oom_ran(&w, why, sizeof(why)))
		TH_LOG("attaching over memory.max: %s; expected ENOMEM, no OOM killer",
		       why);
	ASSERT_EQ(ret, 0) TH_LOG("expected ENOMEM over memory.max (child: %d)", ret);
	ASSERT_EQ(stat_key(CG_TEST "/memory.events", "oom_kill"), 0);
	ASSERT_EQ(stat_key(CG_TEST "/memory.events", "oom"), 0);
	ASSERT_TRUE(WAIT_UNTIL((now = cg_read(CG_TEST "/memory.current")) <=
			       base + (long long)CG_SLACK, MEM_RETURN_SECS))
		TH_LOG("memory.current %lld KiB after the refused attach, %lld KiB before",
		       now / 1024, base / 1024);
	ASSERT_EQ(rmdir(CG_TEST), 0) TH_LOG("rmdir %s: %m", CG_TEST);
}

/* An attach the machine has no memory for. */
static int attach_enomem(const void *p)
{
	const struct region_arg *a = p;
	struct kni_attach at;
	int fd = mem_attach(a->ifindex, 1, &at);

	if (CHILD_FAILED(fd == -ENOMEM,
			 "attach of a region of %llu MiB with %ld MiB of memory: %s, expected ENOMEM",
			 (unsigned long long)(a->size / MIB),
			 meminfo_kb("MemTotal") / 1024, res_name(fd)))
		return 1;
	return 0;
}

/*
 * Regions the machine cannot hold fail with ENOMEM, and never through the
 * OOM killer: one larger than all of the memory (4 GiB on 2 GiB), and a
 * second region of 1 GiB next to a first one.
 */
TEST_F_TIMEOUT(mem, too_big_for_memory, 600)
{
	long long before, now;
	struct oom_watch w;
	struct kni_attach at;
	struct region_arg a;
	char why[512];
	int ret, fd;

	before = mem_available();
	ASSERT_GT(before, 0) TH_LOG("no MemAvailable in /proc/meminfo");

	/* Queue 1 of 2; queue 0 stays free. */
	a.ifindex = mem_link_add("kni0", 2, 32768, 65536, (__u32)-1);
	ASSERT_GT(a.ifindex, 0)
		TH_LOG("creating kni0, ring_size 32768, frame_size 65536: %s",
		       res_name(a.ifindex));
	a.size = 2ULL * 32768 * 65536;
	a.memlock = RLIM_INFINITY;
	oom_watch(&w);
	ret = run_child(0, a.memlock, attach_enomem, &a);
	ASSERT_FALSE(oom_ran(&w, why, sizeof(why)))
		TH_LOG("attaching a 4 GiB region: %s; expected ENOMEM without the OOM killer",
		       why);
	ASSERT_EQ(ret, 0)
		TH_LOG("expected ENOMEM for 4 GiB, and the attaching process alive (child: %d)",
		       ret);
	ASSERT_TRUE(mem_returned(before, &now))
		TH_LOG(MEM_RETURNED_FMT, now / (long long)MIB, MEM_RETURN_SECS,
		       "the failed attach", before / (long long)MIB,
		       MEM_SLACK / MIB);

	/* Two regions of 1 GiB, the second one too many. */
	a.ifindex = mem_link_add("kni1", 2, 32768, 16384, (__u32)-1);
	ASSERT_GT(a.ifindex, 0)
		TH_LOG("creating kni1, ring_size 32768, frame_size 16384: %s",
		       res_name(a.ifindex));
	fd = mem_attach(a.ifindex, 0, &at);
	ASSERT_GE(fd, 0)
		TH_LOG("the first region of 1 GiB: %s, expected success",
		       res_name(fd));
	a.size = at.mmap_size;
	oom_watch(&w);
	ret = run_child(0, a.memlock, attach_enomem, &a);
	ASSERT_FALSE(oom_ran(&w, why, sizeof(why)))
		TH_LOG("attaching a second region of 1 GiB: %s; expected ENOMEM, no OOM killer",
		       why);
	ASSERT_EQ(ret, 0)
		TH_LOG("expected ENOMEM for 1 GiB more, the attaching process alive (child: %d)",
		       ret);
	close(fd);
	ASSERT_TRUE(mem_returned(before, &now))
		TH_LOG(MEM_RETURNED_FMT, now / (long long)MIB, MEM_RETURN_SECS,
		       "closing the region of 1 GiB", before / (long long)MIB,
		       MEM_SLACK / MIB);
}

/*
 * A region of 1 GiB: nothing of it is mapped until touched, every page then
 * reads zero in the frame area and keeps what is written to it, and the
 * memory comes back after munmap and close.
 */
TEST_F_TIMEOUT(mem, one_gib_region, 600)
{
	const __u64 magic = 0x6b6e69a5c3e1f00dULL;
	long long before, now;
	struct kni_attach at;
	unsigned char *map;
	__u64 off, pages, p, v;
	int ifindex, fd;
	long present;

	before = mem_available();
	ASSERT_GT(before, 0) TH_LOG("no MemAvailable in /proc/meminfo");

	ifindex = mem_link_add("kni0", 1, 32768, 16384, (__u32)-1);
	ASSERT_GT(ifindex, 0)
		TH_LOG("creating kni0, ring_size 32768, frame_size 16384: %s",
		       res_name(ifindex));
	fd = mem_attach(ifindex, 0, &at);
	ASSERT_GE(fd, 0)
		TH_LOG("a region of 1 GiB with %lld MiB available: %s, expected success",
		       before / (long long)MIB, res_name(fd));
	ASSERT_GE(at.mmap_size, GIB)
		TH_LOG("mmap_size %llu: expected at least 1 GiB",
		       (unsigned long long)at.mmap_size);
	pages = at.mmap_size / page_size;

	map = mem_map(fd, at.mmap_size);
	ASSERT_NE(map, NULL)
		TH_LOG("mmap of 1 GiB: %s, expected success",
		       err_name(errno));
	present = mem_present(map, at.mmap_size);
	ASSERT_EQ(present, 0)
		TH_LOG("%ld of %llu pages mapped after mmap: expected none before the first touch",
		       present, (unsigned long long)pages);

	/* Touch: a read fault on every page; the frames start out zero. */
	for (off = 0; off < at.mmap_size; off += page_size) {
		v = __atomic_load_n(&map[off], __ATOMIC_RELAXED);
		if (off >= at.frames)
			ASSERT_EQ(v, 0ULL)
				TH_LOG("byte %llu of the frame area reads %llu: expected zero",
				       (unsigned long long)(off - at.frames),
				       (unsigned long long)v);
	}
	present = mem_present(map, at.mmap_size);
	ASSERT_EQ(present, (long)pages)
		TH_LOG("%ld of %llu pages mapped after touching each: expected all",
		       present, (unsigned long long)pages);

	/* A pattern particular to each page, at both of its ends. */
	for (p = 0; p < pages; p++) {
		__u64 *w = (__u64 *)(map + p * page_size);

		w[0] = p * 0x9e3779b97f4a7c15ULL ^ magic;
		w[page_size / 8 - 1] = ~w[0];
	}
	for (p = 0; p < pages; p++) {
		__u64 *w = (__u64 *)(map + p * page_size);
		__u64 want = p * 0x9e3779b97f4a7c15ULL ^ magic;

		ASSERT_EQ(w[0], want)
			TH_LOG("page %llu starts with %#llx: expected %#llx, as written there",
			       (unsigned long long)p,
			       (unsigned long long)w[0],
			       (unsigned long long)want);
		ASSERT_EQ(w[page_size / 8 - 1], ~want)
			TH_LOG("page %llu ends with %#llx: expected %#llx, as written there",
			       (unsigned long long)p,
			       (unsigned long long)w[page_size / 8 - 1],
			       (unsigned long long)~want);
	}

	ASSERT_EQ(munmap(map, at.mmap_size), 0);
	close(fd);
	ASSERT_TRUE(mem_returned(before, &now))
		TH_LOG(MEM_RETURNED_FMT, now / (long long)MIB, MEM_RETURN_SECS,
		       "closing the region", before / (long long)MIB,
		       MEM_SLACK / MIB);
}

TEST_HARNESS_MAIN
