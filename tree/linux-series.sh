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
# what it wrote). With --check, fails when patches/linux/ is not what it
# would write, does not apply with "git am" to the pristine base, or when
# the kernel does not build after a patch that touches it (CONFIG_KNI=m,
# the module configuration of tree/build-kernel.sh, one build directory
# reused from patch to patch). Every file the assembled tree changes must
# belong to exactly one patch.
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
series_names=(uapi driver spec libkni selftests doc)
series_paths_uapi=(include/uapi/linux/kni.h include/uapi/linux/if_link.h
	Documentation/userspace-api/ioctl/ioctl-number.rst)
series_paths_driver=(drivers/net/kni drivers/net/Kconfig drivers/net/Makefile)
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
series_msg_driver="net: add the kni driver

The kni device carries packets between the stack and a userspace
dataplane through rings in a region the kernel allocates with vmalloc
and the dataplane maps from /dev/kni. Nothing the dataplane writes is
trusted: every descriptor is read once, checked against the region and
the frame, and a bad one is dropped and counted.

- Devices are created with rtnetlink (ip link add NAME type kni), with
  the frame size, queue counts and ring sizes as attributes, per
  network namespace.
- A dataplane attaches a file to one queue. The region and its
  memory are charged to the attaching process (memcg, RLIMIT_MEMLOCK).
- To the stack, the dataplane posts frames on the rx ring; NAPI builds
  skbs from them and hands them back on the free ring. A kick (or
  need_wakeup, as with AF_XDP) runs NAPI; no kernel thread polls.
- From the stack, ndo_start_xmit copies each skb into a frame the
  dataplane offered on the alloc ring and publishes it on the tx ring;
  the subqueue stops when frames run out and the qdisc holds packets.
- Configuration changes (MTU, MAC address, flags, multicast lists) take
  effect at once and are reported to the dataplane as events; RTNL is
  never held while userspace runs.
- Checksum and segmentation offloads (TSO4/TSO6/USO) and packets over
  several frames are negotiated per queue at attach; per-packet
  metadata has the semantics of struct virtio_net_hdr and goes through
  its helpers.
- ethtool reports per-queue counters and ring sizes.

KUnit tests cover the descriptor checks.
"
series_msg_spec="netlink: specs: rt_link: add the kni link attributes

Describe IFLA_KNI_* so that YNL can create, change and dump kni
devices, with the same ranges the driver's policy enforces.
"
series_msg_libkni="tools: lib: add libkni and the kni-fwd sample

A dataplane should not have to know the ring layout to use kni. libkni
wraps it: create and attach over rtnetlink and /dev/kni, burst and
in-place send and receive, offload metadata, events, and statistics.
kni-fwd forwards between a kni device and another device through an
AF_PACKET socket, applying kni's control events to it. The bench
directory holds the benchmark's dataplane side.
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
negotiated per queue at attach. Patch 1 is the ABI, patch 2 the
driver with its KUnit tests, then the netlink spec, libkni, the
selftests and the documentation; each patch that adds files adds them
to the MAINTAINERS entry, which the first one creates.

Tested with the selftests and KUnit on a debug kernel (KASAN, lockdep,
kmemleak) under QEMU, and with DPDK 22.11's testpmd over librte_kni
rebuilt on libkni.

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

# series_commit PARENT NAME: the commit of patch NAME on PARENT. A patch
# that adds files also adds them to kni's MAINTAINERS entry.
series_commit()
{
	local parent=$1 name=$2 idx tree msg blob
	local -n m="series_msg_$name"

	idx=$(mktemp)
	rm -f "$idx"
	msg="$m
Signed-off-by: $series_name <$series_email>"
	tree=$(export GIT_INDEX_FILE=$idx &&
	       ksrc read-tree "$parent" &&
	       series_files "$name" | (cd "$KNI_SRC" && git add -f --pathspec-from-file=-) &&
	       if [ -n "$(ksrc diff --cached --name-only --diff-filter=A "$parent")" ]; then
		       blob=$(series_maintainers | ksrc hash-object -w --stdin) &&
		       ksrc update-index --cacheinfo "100644,$blob,MAINTAINERS"
	       fi &&
	       ksrc write-tree) || kni_die "cannot build the tree of patch $name"
	rm -f "$idx"
	GIT_AUTHOR_NAME=$series_name GIT_AUTHOR_EMAIL=$series_email \
		GIT_COMMITTER_NAME=$series_name GIT_COMMITTER_EMAIL=$series_email \
		GIT_AUTHOR_DATE="@$series_date +0000" \
		GIT_COMMITTER_DATE="@$series_date +0000" \
		ksrc commit-tree --no-gpg-sign "$tree" -p "$parent" <<< "$msg"
}

# series_write DIR
series_write()
{
	local dir=$1 c=kni-base n idx

	series_name=$(git -C "$KNI_REPO" log -1 --format=%an -- drivers/net/kni)
	series_email=$(git -C "$KNI_REPO" log -1 --format=%ae -- drivers/net/kni)
	[ -n "$series_email" ] || kni_die "drivers/net/kni has no commit in $KNI_REPO"
	# The base's own date (its top Makefile's, from the tarball): the
	# same files on every machine and every run.
	series_date=$(stat -c %Y "$KNI_SRC/Makefile")
	for n in "${series_names[@]}"; do
		c=$(series_commit "$c" "$n")
	done
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
		if ! git -C "$tmp/src" diff --quiet HEAD~ -- drivers include; then
			echo "linux-series: building after ${p##*/}" >&2
			mkdir -p "$tmp/build"
			cp "$module_config" "$tmp/build/.config"
			if ! make -s -C "$tmp/src" O="$tmp/build" olddefconfig >/dev/null ||
			   ! make -s -C "$tmp/src" O="$tmp/build" -j"$KNI_JOBS" \
				modules_prepare headers > "$tmp/build.log" 2>&1 ||
			   { [ -d "$tmp/src/drivers/net/kni" ] &&
			     ! make -C "$tmp/src" O="$tmp/build" -j"$KNI_JOBS" \
				W=1 drivers/net/kni/ >> "$tmp/build.log" 2>&1; }; then
				tail -n 30 "$tmp/build.log" >&2
				kni_die "the kernel does not build after ${p##*/}"
			fi
		fi
	done
}

# CONFIG_KNI=m, as static-checks.sh builds it (build-kernel.sh takes the
# lock itself).
module_config=$("$KNI_REPO/tree/build-kernel.sh" module | tail -n 1)/.config
# series_checkpatch DIR: checkpatch --strict finds nothing in any patch.
series_checkpatch()
{
	local spell=/usr/lib/python3/dist-packages/codespell_lib/data/dictionary.txt
	local p out

	for p in "$1"/[0-9]*-*.patch; do
		[ "${p##*/}" != 0000-cover-letter.patch ] || continue
		out=$(cd "$KNI_SRC" && PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH \
			scripts/checkpatch.pl --strict -q --show-types --codespell \
			--codespellfile "$spell" "$p" 2>&1) && [ -z "$out" ] ||
			{ echo "$out" >&2; kni_die "checkpatch --strict: ${p##*/}"; }
	done
}

kni_lock
[ -n "$(ksrc rev-parse -q --verify kni-base 2>/dev/null)" ] ||
	kni_die "no assembled tree: run tree/assemble.sh"
series_cover_all
tmp=$(mktemp -d)
# shellcheck disable=SC2064 # expand now
trap "git -C '$KNI_SRC' worktree remove --force '$tmp/src' 2>/dev/null; rm -rf '$tmp'" EXIT
series_write "$tmp/series"
if [ "$check" = 1 ]; then
	diff -ru "$series_dir" "$tmp/series" >&2 ||
		kni_die "patches/linux is stale: run make patches"
	series_checkpatch "$series_dir"
	series_apply "$series_dir" "$tmp"
	echo "patches/linux: current, checkpatch-clean, applies to Linux $KNI_BASE_VERSION, builds after each patch"
	exit 0
fi
series_checkpatch "$tmp/series"
series_apply "$tmp/series" "$tmp"
mkdir -p "$series_dir"
rm -f "$series_dir"/*.patch
cp "$tmp/series"/*.patch "$series_dir/"
echo "$series_dir"
