#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
# shellcheck disable=SC2034 # series_paths_* and series_msg_* are read through namerefs
#
# patches/linux: the kernel side as a series for netdev, generated from the
# assembled tree (tree/assemble.sh): each patch takes a group of the files
# the tree adds or changes, in the order a reviewer reads them, with its
# commit message below, and a cover letter.
#
# usage: linux-series.sh [--check]
#
# Without --check, writes patches/linux/ (after the checks below passed on
# what it wrote, and coccicheck found nothing in kni's sources after each
# patch that touches the kernel). With --check, fails when patches/linux/
# is not what it would write, does not apply with "git am" to the pristine
# base, or when the kernel does not build after a patch that touches it
# (CONFIG_KNI=m, the module configuration of tree/build-kernel.sh, one
# build directory reused from patch to patch) with a W=1 or sparse (C=2)
# warning, or a kernel-doc one. Every file the assembled tree changes
# must belong to exactly one patch. Both refuse an assembled tree older
# than the repository's files, and files git does not track ("make
# patches" assembles first).
#
# A patch may also change files that an earlier patch adds: the driver
# comes in several patches (link type, ethtool, data path, control path,
# KUnit), each of which builds. tree/series/NAME.diff holds what patch
# NAME changes in earlier patches' files, as a diff from the tree before
# it to the tree after it. The tree of each patch is the assembled tree
# with the diffs of all later patches reversed, so a change to the driver
# lands in the patch that adds the code it changes, and a diff that no
# longer reverses (its context changed) stops the series with its name:
# edit the diff so that it reverses again.
set -euo pipefail

# shellcheck source=tree/env.sh
. "$(dirname "$0")/env.sh"

check=0
case "${1:-}" in
--check) check=1 ;;
'') ;;
*) kni_die "usage: linux-series.sh [--check]" ;;
esac

series_dir=$KNI_REPO/patches/linux

ksrc()
{
	git -C "$KNI_SRC" "$@"
}

# The patches, in order: NAME PATHS... (a path is a file or a directory).
series_names=(uapi link ethtool datapath control kunit spec libkni selftests
	doc)
series_paths_uapi=(include/uapi/linux/kni.h include/uapi/linux/if_link.h
	Documentation/userspace-api/ioctl/ioctl-number.rst)
series_paths_link=(drivers/net/kni/Kconfig drivers/net/kni/Makefile
	drivers/net/kni/kni.h drivers/net/kni/main.c drivers/net/kni/device.c
	drivers/net/Kconfig drivers/net/Makefile)
series_paths_ethtool=(drivers/net/kni/ethtool.c)
series_paths_datapath=(drivers/net/kni/ring.h drivers/net/kni/queue.c
	drivers/net/kni/rx.c drivers/net/kni/tx.c)
series_paths_control=(drivers/net/kni/event.c)
series_paths_kunit=(drivers/net/kni/ring_test.c)
series_paths_spec=(Documentation/netlink/specs/rt_link.yaml)
series_paths_libkni=(tools/lib/kni)
series_paths_selftests=(tools/testing/selftests/net/kni
	tools/testing/selftests/Makefile)
series_paths_doc=(Documentation/networking/kni.rst
	Documentation/networking/index.rst)

series_msg_uapi="uapi: add the ABI of the kni network device

A userspace dataplane (DPDK and the like) needs a way into the kernel's
network stack for the packets it does not handle itself. TAP costs a
system call per packet; DPDK's out-of-tree KNI module was fast, but it
followed pointers userspace wrote into shared memory, polled with
kernel threads and held RTNL while it waited for the application.

kni is a network device whose packets a dataplane exchanges through
rings in memory the kernel allocates and the dataplane maps. This adds
its ABI: linux/kni.h (the /dev/kni ioctls, the layout of the shared
region, ring descriptors, events and per-packet offload metadata, every
structure sized so that it can grow) and the IFLA_KNI_* link
attributes of the \"kni\" link type. The ioctl number 0xE6 is
registered.
"
series_msg_link="net: kni: add the kni link type

Add the kni network device, without its data path yet: it is created,
changed and deleted over rtnetlink (ip link add NAME type kni), like
any virtual device, and never through a control file, so that
iproute2, YNL and network managers can handle it.

The queue count, ring size and frame size are fixed at creation: they
will be the layout of memory that a dataplane maps, which cannot change
under it. Changing one later fails with -EOPNOTSUPP and an extack
message that gives the current value; restating it is not a change. The
owner, the group and the loopback mode may change. Every attribute is
checked before anything changes, so a rejected request changes nothing.

Devices live in the namespace they are created in and cannot move:
who may attach to a device is decided against its namespace and its
owner, and moving it would hand an attached dataplane's queues to
another administrative domain. Deleting a namespace deletes its kni
devices.

Counters are kept per queue and direction, each with a single writer,
and reported through ndo_get_stats64 and the netdev family's queue
statistics. Until the data path follows, the device drops and counts
what the stack sends it.
"
series_msg_ethtool="net: kni: add ethtool support

Report the driver, the queue count and the ring and frame sizes
(ethtool -i, -l, -g): a dataplane's operator needs them to size it.
Queue count and ring sizes are fixed at creation, so they are reported
but cannot be set.

ethtool -S has, per queue and direction, only what the netdev family's
queue statistics cannot tell apart: their hw-drops add up the packets
kni dropped and the descriptors it refused, and the invalid counters
are where a dataplane that writes bad descriptors shows up. Packets,
bytes and transmit stops are reported there and not repeated here.
"
series_msg_datapath="net: kni: add the data path

A dataplane opens /dev/kni and attaches the file to one queue of a
device (KNI_IOC_ATTACH). The kernel allocates the queue's region, four
rings of 16-byte descriptors and the frames, with vmalloc, charges it
to the attaching process' memory cgroup and to RLIMIT_MEMLOCK as
AF_XDP charges a umem, and the dataplane maps it. The region belongs to
the file: every mapping holds the file, so deleting the device never
frees memory a dataplane still maps, and neither deleting a device nor
closing a file waits for userspace or for a grace period.

DPDK's KNI followed addresses the application wrote into shared FIFOs.
Here nothing the dataplane writes is trusted: descriptors carry offsets
into the frame area, never addresses; each is read once, checked
against the region and its frame, and a bad one is dropped, returned
and counted in rxN_invalid or txN_invalid. An offset is clamped to the
frame area with array_index_nospec() where it is used, so a mispredicted
check reads nothing past it either. The kernel keeps its own copy of
the indexes it owns and never reads them back.

To the stack, NAPI builds skbs from the rx ring and hands the frames
back on free. It runs when the dataplane kicks (KNI_IOC_KICK), and with
need_wakeup, as AF_XDP has it, a dataplane that keeps the rings busy
makes no system call at all. From the stack, ndo_start_xmit copies each
skb into a frame the dataplane offered on the alloc ring and publishes
it on tx; the subqueue stops while fewer frames are left than the
longest packet takes, so the qdisc holds the packets and none comes
back as NETDEV_TX_BUSY. No kernel thread polls, unlike DPDK's KNI.

At attach the dataplane also declares the largest MTU it handles and
whether it can follow a change of the MAC address; while it is attached
the device refuses what it cannot follow. Checksum and segmentation
offloads (TSO4, TSO6, USO) and packets over several frames are
negotiated per queue at attach. The per-packet metadata is a struct
virtio_net_hdr, checked as virtio_net_hdr_to_skb() checks it, and the
device offers the stack only the offloads its attached dataplanes took
on. Two loopback modes turn rx back into tx inside the kernel, to test
and measure the rings without the stack.
"
series_msg_control="net: kni: add the control path

DPDK's KNI held RTNL while it waited for the application to apply an
MTU or address change, so one stuck dataplane stalled every network
configuration of the host. kni applies every change at once and tells
the attached dataplanes afterwards: changes of the MTU, the MAC
address, the administrative state, promiscuity, all-multicast and the
multicast list are posted to an event ring in each queue's region, and
a state block under a sequence count always holds the current values,
so a dataplane whose event ring overflowed has missed nothing. What a
dataplane cannot follow it declared at attach, and those changes are
refused (previous patch).

The stack changes the multicast list in atomic context, without RTNL;
a work item posts it. A dataplane mirrors the link of the port it
serves with KNI_IOC_CARRIER, ordered with IFLA_CARRIER by RTNL, and the
carrier goes off when the last file detaches. Deleting the device posts
a last event, and the file then reports EPOLLHUP.
"
series_msg_kunit="net: kni: add KUnit tests of the descriptor checks

The checks of what userspace writes in the rings are the driver's
security boundary. Test them directly, at the edges a selftest cannot
aim at reliably: offsets and lengths at the ends of the frame area and
of a frame, the metadata at the start of a frame, flags and chains,
and producer indexes that moved past the ring size.
"
series_msg_spec="netlink: specs: rt_link: add the kni link attributes

Describe IFLA_KNI_* so that YNL can create, change and dump kni
devices, with the same ranges the driver's policy enforces.
"
series_msg_libkni="tools: lib: add libkni and the kni-fwd sample

A dataplane should not have to know the ring layout to use kni. libkni
wraps it: create and attach over rtnetlink and /dev/kni, burst and
in-place send and receive, offload metadata, events, and statistics.
It maps the whole region at attach, so that no packet takes a page
fault on the way. kni-fwd forwards between a kni device and another
device through an AF_PACKET socket, applying kni's control events to
it. The bench directory holds the benchmark's dataplane side.
"
series_msg_selftests="selftests: net: add kni tests

Cover the ABI (argument sizes, hostile descriptors, races between
delete and attach), the data path both ways with and without offloads,
libkni, namespaces, user namespaces, ethtool, the netlink spec, and a
forwarding topology with TCP and UDP transfers checked byte for byte.
A QEMU harness runs them on a debug kernel.
"
series_msg_doc="Documentation: networking: describe kni

The device, its queues and rings, need_wakeup, events, offloads,
limits, every attribute and ioctl, libkni, the benchmark, and how DPDK
KNI users move to it.
"

series_cover="net: kni, a network device for userspace dataplanes

A userspace dataplane (DPDK, or any program that owns a NIC) has to
hand the kernel the packets it does not process itself (ARP, control
protocols, management traffic) and take the kernel's replies. TAP
costs a system call and a copy per packet. DPDK's KNI module was
faster, but it was never merged and DPDK removed it: the kernel
followed addresses the application wrote into shared FIFOs, kernel
threads polled whether or not packets moved, and RTNL was held while
the kernel waited for the application to answer a request.

kni answers each of those:
- the kernel allocates the memory it shares with the dataplane and
  reads every descriptor once, checked against it: nothing userspace
  writes is followed as a pointer;
- NAPI runs when the dataplane kicks or when packets arrive, with
  need_wakeup as AF_XDP has it: no thread polls;
- configuration changes take effect at once and are reported to the
  dataplane as events: RTNL never waits for userspace.

Design: one region per attached queue with four rings (rx, free,
alloc, tx) of 16-byte descriptors, frames of a size set per device,
an event ring and a state block; devices, queues and limits are
rtnetlink attributes; checksum and segmentation offloads are
negotiated per queue at attach.

The series, in the order a reviewer reads it:
 1. the ABI: linux/kni.h and the IFLA_KNI_* attributes;
 2. the link type: creation, attributes, namespaces, counters;
 3. ethtool;
 4. the data path: /dev/kni, attach, the region, NAPI, transmit,
    offloads;
 5. the control path: events, the state block, the carrier;
 6. KUnit tests of the descriptor checks;
 7. the netlink spec, so that YNL handles kni devices;
 8. libkni and the kni-fwd sample (tools/lib/kni);
 9. the selftests;
10. the documentation.
Each patch builds (W=1, sparse, kernel-doc clean) and each one that
adds files adds them to the MAINTAINERS entry, which the first one
creates.

Performance, measured by the selftests' benchmark (qemu/bench.sh) in
one boot of a 2-vCPU QEMU guest without KVM, so only the ratios mean
something: 64-byte frames, one queue, the median of 3 rounds in kpps,
and kni/x, kni's figure over the method's (above 1, kni moved more):

                        to the stack      from the stack
  method                kpps   kni/x      kpps   kni/x
  kni                    482    1.00       339    1.00
  DPDK's KNI             352    1.37       230    1.47
  virtio-user/vhost-net  310    1.55       163    2.07
  TAP                    307    1.57       345    0.98
  TAP with IFF_NAPI      216    2.23       348    0.97
  AF_PACKET on a veth    169    2.86       210    1.61
  AF_XDP on a veth       269    1.79        91    3.72
  kni, two queues        830               248

From the stack kni and TAP moved about as much: tun's transmit only
queues the skb, where kni copies the packet into a frame on the
transmitting CPU, which is the limit (the receiver kept up); two
queues do not help there on two vCPUs. With 1500-byte frames kni
moved more than every other way to the stack, and 1.09 times TAP
from it. Stock testpmd over DPDK's net_kni PMD on kni moved 447 and
328 kpps, against 352 and 230 over DPDK's KNI. DPDK's KNI kept a
kernel thread polling, 18% of a vCPU with no traffic; kni added
nothing measurable. Bulk TCP through a forwarding dataplane with
checksum and segmentation offloads reached 1400 Mbit/s from the peer
with kni and 1238 with TAP and vnet headers, against 1432 with no
forwarder at all; to the peer kni's rounds ranged from 759 to 1373
Mbit/s, against TAP's 1207 and 1592 without a forwarder.

Tested with the selftests and KUnit on a debug kernel (KASAN, lockdep,
kmemleak) under QEMU, and with DPDK 22.11's testpmd over librte_kni
rebuilt on libkni.

Two choices reviewers may want otherwise:
- IFLA_KNI_LOOPBACK (fifo, fifo_skb) has the kernel turn rx back into
  tx, so that a dataplane or a PMD can be tested without the stack, as
  DPDK's KNI had its lo_mode module parameter for. The selftests and
  DPDK's net_kni guide use it. It could move to debugfs instead of
  staying a link attribute.
- kni.rst also covers libkni, migrating from DPDK's KNI and how the
  benchmark runs; that part could move to tools/lib/kni.

Based on Linux 6.12.117."

# series_files NAME: the files of patch NAME in the assembled tree.
series_files()
{
	local -n paths="series_paths_$1"
	local p

	for p in "${paths[@]}"; do
		if [ -d "$KNI_SRC/$p" ]; then
			env -u GIT_INDEX_FILE git -C "$KNI_REPO" ls-files -- "$p"
		else
			echo "$p"
		fi
	done
}

# The files the assembled tree adds or changes.
series_changed()
{
	{ ksrc ls-files -m
		grep -vE '^(#|$)' "$KNI_REPO/tree/overlay" | while read -r p; do
			git -C "$KNI_REPO" ls-files -- "$p"
		done; } | LC_ALL=C sort -u
}

# Every file the assembled tree adds or changes must be in one patch, but
# MAINTAINERS, whose entry each patch extends (series_commit).
series_cover_all()
{
	local changed listed

	changed=$(series_changed | grep -vx MAINTAINERS)
	listed=$(for n in "${series_names[@]}"; do series_files "$n"; done |
		LC_ALL=C sort)
	if [ "$(uniq -d <<< "$listed")" ]; then
		kni_die "in two patches: $(uniq -d <<< "$listed" | tr '\n' ' ')"
	fi
	if [ "$changed" != "$listed" ]; then
		diff <(echo "$changed") <(echo "$listed") >&2 || true
		kni_die "the patches do not take exactly the changed files (< changed, > listed)"
	fi
}

# series_maintainers: the assembled MAINTAINERS with only those F: lines
# of kni's entry whose files the index (GIT_INDEX_FILE) holds.
series_maintainers()
{
	local line in=0

	while IFS= read -r line; do
		if [ "$line" = "KNI NETWORK DRIVER" ]; then
			in=1
		elif [ -z "$line" ]; then
			in=0
		elif [ $in = 1 ] && [[ $line == F:* ]] &&
		     [ -z "$(ksrc ls-files -- "${line#F:*[[:space:]]}" | head -n 1)" ]; then
			continue
		fi
		printf '%s\n' "$line"
	done < "$KNI_SRC/MAINTAINERS"
}

# series_owner PATH: the index in series_names of the patch that adds PATH.
series_owner()
{
	local k

	for k in "${!series_names[@]}"; do
		if series_files "${series_names[k]}" | grep -qxF -- "$1"; then
			echo "$k"
			return
		fi
	done
	kni_die "$1 belongs to no patch"
}

# series_diffs_known: every tree/series/NAME.diff names a patch, and only
# changes files of earlier patches.
series_diffs_known()
{
	local d name k p

	for d in "$KNI_REPO"/tree/series/*.diff; do
		[ -e "$d" ] || continue
		name=${d##*/}
		name=${name%.diff}
		for k in "${!series_names[@]}"; do
			[ "${series_names[k]}" != "$name" ] || break
		done
		[ "${series_names[k]}" = "$name" ] ||
			kni_die "tree/series/$name.diff: there is no patch $name"
		while read -r p; do
			[ "$(series_owner "$p")" -lt "$k" ] ||
				kni_die "tree/series/$name.diff changes $p, which no earlier patch adds"
		done < <(sed -n 's|^+++ b/||p' "$d")
	done
}

# series_tree STAGE K: the tree of patch K, the files of patches 0..K as
# STAGE holds them. A patch that adds files also adds them to kni's
# MAINTAINERS entry.
series_tree()
{
	local stage=$1 k=$2 idx j blob

	idx=$(mktemp)
	rm -f "$idx"
	(export GIT_INDEX_FILE=$idx &&
	 ksrc read-tree kni-base &&
	 for ((j = 0; j <= k; j++)); do series_files "${series_names[j]}"; done |
		git --git-dir="$KNI_SRC/.git" --work-tree="$stage" \
			add -f --pathspec-from-file=- &&
	 blob=$(series_maintainers | ksrc hash-object -w --stdin) &&
	 ksrc update-index --cacheinfo "100644,$blob,MAINTAINERS" &&
	 ksrc write-tree) ||
		kni_die "cannot build the tree of patch ${series_names[k]}"
	rm -f "$idx"
}

# series_commit PARENT TREE NAME: the commit of patch NAME.
series_commit()
{
	local parent=$1 tree=$2 name=$3 msg
	local -n m="series_msg_$name"

	msg="$m
Signed-off-by: $series_name <$series_email>"
	GIT_AUTHOR_NAME=$series_name GIT_AUTHOR_EMAIL=$series_email \
		GIT_COMMITTER_NAME=$series_name GIT_COMMITTER_EMAIL=$series_email \
		GIT_AUTHOR_DATE="@$series_date +0000" \
		GIT_COMMITTER_DATE="@$series_date +0000" \
		ksrc commit-tree --no-gpg-sign "$tree" -p "$parent" <<< "$msg"
}

# series_write DIR
series_write()
{
	local dir=$1 c=kni-base stage=$1.stage idx k d
	local -a trees

	series_name=$(git -C "$KNI_REPO" log -1 --format=%an -- drivers/net/kni)
	series_email=$(git -C "$KNI_REPO" log -1 --format=%ae -- drivers/net/kni)
	[ -n "$series_email" ] || kni_die "drivers/net/kni has no commit in $KNI_REPO"
	# The base's own date (its top Makefile's, from the tarball): the
	# same files on every machine and every run.
	series_date=$(stat -c %Y "$KNI_SRC/Makefile")
	# From the last patch to the first: its tree, then the tree before it.
	mkdir -p "$stage"
	series_changed | (cd "$KNI_SRC" && cpio -pdm --quiet "$stage")
	for ((k = ${#series_names[@]} - 1; k >= 0; k--)); do
		trees[k]=$(series_tree "$stage" "$k")
		d=$KNI_REPO/tree/series/${series_names[k]}.diff
		[ -f "$d" ] || continue
		(cd "$stage" && git apply -R "$d") ||
			kni_die "tree/series/${series_names[k]}.diff does not reverse on the tree of its patch"
	done
	for k in "${!series_names[@]}"; do
		c=$(series_commit "$c" "${trees[k]}" "${series_names[k]}")
	done
	rm -rf "$stage"
	ksrc update-ref refs/heads/kni-patches "$c"
	# The last patch leaves the files as the assembled tree has them.
	idx=$(mktemp)
	rm -f "$idx"
	(export GIT_INDEX_FILE=$idx && ksrc read-tree kni-patches &&
	 series_changed | (cd "$KNI_SRC" && git add -f --pathspec-from-file=-) &&
	 ksrc diff --cached --quiet kni-patches) ||
		kni_die "the series does not end with the assembled tree"
	rm -f "$idx"
	mkdir -p "$dir"
	rm -f "$dir"/*.patch
	GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 \
		ksrc -c core.abbrev=12 -c "branch.kni-patches.description=$series_cover" \
		-c "user.name=$series_name" -c "user.email=$series_email" \
		format-patch --zero-commit --no-signature --cover-letter \
		--cover-from-description=subject --subject-prefix="PATCH net-next" \
		--to=netdev@vger.kernel.org -o "$dir" kni-base..kni-patches >/dev/null
	sed -i "s/^Date: .*/Date: $(date -u -R -d "@$series_date")/" \
		"$dir/0000-cover-letter.patch"
}

# series_build TMP PATCH: after PATCH, the kernel's headers and kni's
# objects build in TMP/build, every kni object recompiled with W=1 and
# sparse (C=2), kernel-doc finds nothing in kni's sources and, when the
# series is written, neither does coccicheck: any output fails.
series_build()
{
	local tmp=$1 name=$2 out

	echo "linux-series: building after $name" >&2
	mkdir -p "$tmp/build"
	cp "$module_config" "$tmp/build/.config"
	if ! make -s -C "$tmp/src" O="$tmp/build" olddefconfig >/dev/null ||
	   ! make -s -C "$tmp/src" O="$tmp/build" -j"$KNI_JOBS" \
		modules_prepare headers > "$tmp/build.log" 2>&1; then
		tail -n 30 "$tmp/build.log" >&2
		kni_die "the kernel does not build after $name"
	fi
	[ -d "$tmp/src/drivers/net/kni" ] || return 0
	rm -rf "$tmp/build/drivers/net/kni"
	out=$(make -s -C "$tmp/src" O="$tmp/build" -j"$KNI_JOBS" W=1 C=2 \
		drivers/net/kni/ 2>&1) ||
		{ echo "$out" >&2; kni_die "kni does not build after $name"; }
	out=$(grep -vE '^make(\[[0-9]+\])?: (Entering|Leaving)' <<< "$out")
	[ -z "$out" ] ||
		{ echo "$out" >&2; kni_die "W=1 or sparse warnings after $name"; }
	out=$(cd "$tmp/src" && PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH \
		scripts/kernel-doc -Wall -Werror -none drivers/net/kni/*.[ch] \
		include/uapi/linux/kni.h 2>&1) && [ -z "$out" ] ||
		{ echo "$out" >&2; kni_die "kernel-doc warnings after $name"; }
	# Writing the series only: each run takes a minute or more, and the
	# tree of the last patch that changes the driver is the assembled
	# one, which make check's static checks cover.
	[ "$check" = 1 ] || out=$(kni_coccicheck "$tmp/src" O="$tmp/build") ||
		{ echo "$out" >&2; kni_die "coccicheck findings after $name"; }
}

# series_apply DIR TMP: the base with DIR's patches applied one by one in
# TMP/src, the kernel built after each patch that touches it.
series_apply()
{
	local dir=$1 tmp=$2 p

	ksrc worktree prune
	ksrc worktree add -q --detach "$tmp/src" kni-base ||
		kni_die "cannot check out the base"
	for p in "$dir"/[0-9]*-*.patch; do
		[ "${p##*/}" != 0000-cover-letter.patch ] || continue
		GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 \
			git -C "$tmp/src" -c user.name=kni -c user.email=kni@localhost \
			am -q "$p" || kni_die "${p##*/} does not apply"
		git -C "$tmp/src" diff --quiet HEAD~ -- drivers include ||
			series_build "$tmp" "${p##*/}"
	done
}

# CONFIG_KNI=m, as static-checks.sh builds it (build-kernel.sh takes the
# lock itself).
module_config=$("$KNI_REPO/tree/build-kernel.sh" module | tail -n 1)/.config
# series_checkpatch DIR: checkpatch --strict finds nothing in any patch.
# Its FILE_PATH_CHANGES warning only guesses from MAINTAINERS not being
# in a patch that adds files; series_maintained checks the real thing,
# so the patches after the first one that adds a directory's file need
# not touch MAINTAINERS.
series_checkpatch()
{
	local spell=/usr/lib/python3/dist-packages/codespell_lib/data/dictionary.txt
	local p out

	for p in "$1"/[0-9]*-*.patch; do
		[ "${p##*/}" != 0000-cover-letter.patch ] || continue
		out=$(cd "$KNI_SRC" && PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH \
			scripts/checkpatch.pl --strict -q --show-types --codespell \
			--ignore FILE_PATH_CHANGES \
			--codespellfile "$spell" "$p" 2>&1) && [ -z "$out" ] ||
			{ echo "$out" >&2; kni_die "checkpatch --strict: ${p##*/}"; }
	done
}

# series_maintained: every file a patch of kni-patches adds is covered by
# an F: line of kni's MAINTAINERS entry in that patch.
series_maintained()
{
	local c f e ok
	local -a entry

	for c in $(ksrc rev-list --reverse kni-base..kni-patches); do
		mapfile -t entry < <(ksrc show "$c:MAINTAINERS" |
			sed -n '/^KNI NETWORK DRIVER$/,/^$/s/^F:[[:space:]]*//p')
		while read -r f; do
			ok=0
			for e in "${entry[@]}"; do
				if [ "$f" = "$e" ] ||
				   { [ "${e%/}" != "$e" ] && [ "${f#"$e"}" != "$f" ]; }; then
					ok=1
				fi
			done
			[ $ok = 1 ] ||
				kni_die "$(ksrc log -1 --format=%s "$c"): adds $f, which kni's MAINTAINERS entry does not cover"
		done < <(ksrc diff --name-only --diff-filter=A "$c~" "$c")
	done
}

# series_fresh: the assembled tree holds the repository's files as they
# are, and git tracks every one of them (series_files lists what git
# tracks, so an untracked file would silently be left out).
series_fresh()
{
	local p f new=()

	while read -r p; do
		while IFS= read -r f; do
			new+=("$f")
		done < <(git -C "$KNI_REPO" ls-files --others --exclude-standard -- "$p")
		while IFS= read -r f; do
			cmp -s "$KNI_REPO/$f" "$KNI_SRC/$f" ||
				kni_die "$f differs from the assembled tree: run make patches, which assembles first"
		done < <(git -C "$KNI_REPO" ls-files -- "$p")
	done < <(grep -vE '^(#|$)' "$KNI_REPO/tree/overlay")
	[ ${#new[@]} -eq 0 ] ||
		kni_die "git does not track ${new[*]}: add or remove before writing the series"
}

kni_lock
[ -n "$(ksrc rev-parse -q --verify kni-base 2>/dev/null)" ] ||
	kni_die "no assembled tree: run tree/assemble.sh"
series_fresh
series_cover_all
series_diffs_known
tmp=$(mktemp -d)
# shellcheck disable=SC2064 # expand now
trap "git -C '$KNI_SRC' worktree remove --force '$tmp/src' 2>/dev/null; rm -rf '$tmp'" EXIT
series_write "$tmp/series"
if [ "$check" = 1 ]; then
	diff -ru "$series_dir" "$tmp/series" >&2 ||
		kni_die "patches/linux is stale: run make patches"
	series_checkpatch "$series_dir"
	series_maintained
	series_apply "$series_dir" "$tmp"
	echo "patches/linux: current, checkpatch-clean, applies to Linux $KNI_BASE_VERSION, builds after each patch"
	exit 0
fi
series_checkpatch "$tmp/series"
series_maintained
series_apply "$tmp/series" "$tmp"
mkdir -p "$series_dir"
rm -f "$series_dir"/*.patch
cp "$tmp/series"/*.patch "$series_dir/"
echo "$series_dir"
