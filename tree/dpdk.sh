#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# What the benchmark needs to measure DPDK's own ways of reaching the
# kernel stack next to kni: DPDK's original KNI (the rte_kni.ko module, its
# library and the net_kni PMD) and virtio-user with the vhost-net backend,
# driven by dpdk-testpmd. Everything is built from Debian's dpdk source
# package at one exact version: Debian ships neither rte_kni.ko nor
# librte_kni and the net_kni PMD.
#
# usage: dpdk.sh [KERNEL_BUILD_DIR]
#        dpdk.sh lib [KERNEL_BUILD_DIR]
#        dpdk.sh patches [--check] [KERNEL_BUILD_DIR]
#
# lib builds the rte_kni API on kni instead (see build_lib()); its
# KERNEL_BUILD_DIR (default: the release build) only provides the uapi
# headers, in usr/include ("make headers"). Prints the directory of
# librte_kni.so and librte_net_kni.so on the last line.
#
# patches writes the library of lib as a series for DPDK to patches/dpdk/
# (see series_write()) once DPDK with the series applied builds it and the
# net_kni PMD; --check instead fails when patches/dpdk/ is not what it
# would write, does not apply or does not build. KERNEL_BUILD_DIR only
# provides the uapi headers, as for lib.
#
# KERNEL_BUILD_DIR is the build of the kernel the benchmark boots (default:
# the release build, from tree/build-kernel.sh release); rte_kni.ko is built
# against it. Prints the artefact directory on the last line:
#   dpdk-testpmd  testpmd with net_kni, net_virtio (virtio_user), net_tap and
#                 net_af_packet linked in (static DPDK libraries)
#   rte_kni.ko    DPDK's KNI module for KERNEL_BUILD_DIR
#   version       the DPDK version and the kernel release the module is for
#
# The kernel has a /dev/kni of its own (kni), so the DPDK build names its
# KNI control device /dev/rte_kni: that is the only change to DPDK's source.
#
# The source tree, the DPDK build (keyed by its meson options) and the
# artefacts (keyed by the DPDK version and the kernel build's configuration
# and source hash) live in the kni cache; a second run with nothing changed
# only checks that they are there.
set -euo pipefail

# shellcheck source=tree/env.sh
. "$(dirname "$0")/env.sh"

DPDK_DEB=22.11.11-0+deb12u1
DPDK_VERSION=${DPDK_DEB%-*}
DPDK_SRC=$KNI_CACHE/src/dpdk-$DPDK_VERSION
# Build tools and the libraries DPDK's build looks for; nothing else of
# DPDK's build dependencies is needed for the drivers built here.
DPDK_BUILD_DEPS=(build-essential dpkg-dev libnuma-dev meson ninja-build
		 pkg-config python3-pyelftools)

log()
{
	echo "dpdk: $*" >&2
}

need_root()
{
	[ "$(id -u)" -eq 0 ] || kni_die "need root to $*"
}

# Only the benchmark needs these, so they are installed here rather than
# listed in tree/packages (which every check installs).
build_deps()
{
	local want=() pkg

	for pkg in "${DPDK_BUILD_DEPS[@]}"; do
		dpkg-query -W -f='${Status}' "$pkg" 2>/dev/null | grep -q 'ok installed' ||
			want+=("$pkg")
	done
	[ ${#want[@]} -eq 0 ] && return 0
	need_root "install ${want[*]}"
	log "installing ${want[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null 2>&1 || {
		apt-get update -qq >&2
		apt-get install -y -qq --no-install-recommends "${want[@]}" >/dev/null
	}
}

# apt-get source needs a deb-src entry (tree/env.sh).
source_deps()
{
	kni_deb_src dpdk "$DPDK_DEB"
}

# The source tree, fetched once; the control device is renamed in the one
# header that the library and the module share.
fetch()
{
	local tmp unpacked version hdr

	[ -f "$DPDK_SRC/.kni-prepared" ] && return 0

	source_deps
	log "fetching dpdk $DPDK_DEB"
	mkdir -p "$KNI_CACHE/src"
	tmp=$(mktemp -d "$KNI_CACHE/src/dpdk.XXXXXX")
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	(cd "$tmp" && apt-get source -qq "dpdk=$DPDK_DEB") >&2
	unpacked=$tmp/dpdk-$DPDK_VERSION
	[ -d "$unpacked" ] || kni_die "apt-get source did not unpack $unpacked"
	version=$(cat "$unpacked/VERSION")
	[ "$version" = "$DPDK_VERSION" ] ||
		kni_die "source is dpdk $version, expected $DPDK_VERSION"

	hdr=$unpacked/lib/kni/rte_kni_common.h
	sed -i 's|^#define KNI_DEVICE "kni"$|#define KNI_DEVICE "rte_kni"|' "$hdr"
	grep -qx '#define KNI_DEVICE "rte_kni"' "$hdr" ||
		kni_die "KNI_DEVICE not found in $hdr"
	echo "$DPDK_DEB" > "$unpacked/.kni-prepared"

	rm -rf "$DPDK_SRC"
	mv "$unpacked" "$DPDK_SRC"
	rm -rf "$tmp"
	trap - EXIT
}

# The PMDs testpmd must have (meson quietly leaves out a driver whose
# dependencies are missing), and the library behind net_kni.
dpdk_needed=(drivers/librte_net_af_packet.a drivers/librte_net_kni.a
	     drivers/librte_net_tap.a drivers/librte_net_virtio.a lib/librte_kni.a)

# Only what the benchmark runs: testpmd and the four PMDs, linked
# statically so that testpmd needs no driver path, for any x86-64 CPU
# (the guest's emulated one is not the build machine's).
# shellcheck disable=SC2054 # the commas are meson's
meson_opts=(
	--buildtype=release
	-Ddefault_library=static
	-Dplatform=generic
	-Denable_apps=test-pmd
	-Denable_drivers=bus/pci,bus/vdev,mempool/ring,net/af_packet,net/kni,net/tap,net/virtio
	-Ddisable_libs=bitratestats,cfgfile,flow_classify,gpudev,gro,jobstats,latencystats,metrics,node,pdump,pipeline,port,power,table,vhost
	-Dtests=false
	-Dexamples=
	-Denable_docs=false
	-Denable_kmods=false
)

build_dpdk()
{
	local hash f

	hash=$( (echo "$DPDK_DEB"; printf '%s\n' "${meson_opts[@]}") | sha256sum | cut -c1-12)
	DPDK_BUILD=$KNI_CACHE/build/dpdk-$DPDK_VERSION-$hash
	if [ ! -f "$DPDK_BUILD/build.ninja" ]; then
		log "configuring in $DPDK_BUILD"
		rm -rf "$DPDK_BUILD"
		mkdir -p "$KNI_CACHE/build"
		meson setup "${meson_opts[@]}" "$DPDK_BUILD" "$DPDK_SRC" >"$DPDK_BUILD.log" 2>&1 || {
			tail -n 20 "$DPDK_BUILD.log" >&2
			rm -rf "$DPDK_BUILD"
			kni_die "meson setup failed (log: $DPDK_BUILD.log)"
		}
	fi
	if [ ! -x "$DPDK_BUILD/app/dpdk-testpmd" ] || [ ! -f "$DPDK_BUILD/.kni-built" ]; then
		log "building dpdk (testpmd and its drivers)"
		# Under the kernel build lock: never two heavy builds at once.
		flock "$KNI_CACHE/lock" ninja -C "$DPDK_BUILD" -j"$KNI_JOBS" \
			>>"$DPDK_BUILD.log" 2>&1 || {
			tail -n 30 "$DPDK_BUILD.log" >&2
			kni_die "the dpdk build failed (log: $DPDK_BUILD.log)"
		}
		for f in "${dpdk_needed[@]}"; do
			[ -f "$DPDK_BUILD/$f" ] || {
				grep -i 'disabling' "$DPDK_BUILD.log" >&2 || true
				kni_die "the dpdk build has no $f"
			}
		done
		touch "$DPDK_BUILD/.kni-built"
	fi
	# Stale builds (other options).
	for old in "$KNI_CACHE/build/dpdk-$DPDK_VERSION"-*; do
		[ -d "$old" ] && [ -f "$old/build.ninja" ] && [ "$old" != "$DPDK_BUILD" ] &&
			rm -rf "$old" "$old.log"
	done
	return 0
}

# rte_kni.ko, from a copy of DPDK's kernel/linux/kni with a plain Kbuild of
# our own: DPDK's uses a src= override that 6.12's kbuild rejects.
build_kmod()
{
	local kbuild=$1 out=$2 kmod tx_queue=

	kmod=$out/kmod
	rm -rf "$kmod"
	mkdir -p "$kmod"
	cp "$DPDK_SRC"/kernel/linux/kni/*.[ch] "$kmod/"
	# What DPDK's meson.build works out: ndo_tx_timeout takes a txqueue.
	grep -q 'ndo_tx_timeout.*txqueue' "$KNI_SRC/include/linux/netdevice.h" &&
		tx_queue=-DHAVE_ARG_TX_QUEUE
	cat > "$kmod/Kbuild" <<EOF
# Generated by tree/dpdk.sh
ccflags-y := $tx_queue -include $DPDK_SRC/config/rte_config.h \\
	-I$DPDK_SRC/lib/eal/include -I$DPDK_SRC/lib/kni -I$DPDK_BUILD -I\$(src)
obj-m := rte_kni.o
rte_kni-y := kni_misc.o kni_net.o
EOF
	log "building rte_kni.ko against $kbuild"
	flock "$KNI_CACHE/lock" make -s -C "$kbuild" M="$kmod" -j"$KNI_JOBS" modules >&2 ||
		kni_die "rte_kni.ko failed to build against $kbuild"
	cp "$kmod/rte_kni.ko" "$out/rte_kni.ko"
}

# The rte_kni API of DPDK 22.11 on kni, for Debian's own DPDK (libdpdk-dev)
# and its dpdk-testpmd:
#   librte_kni.so      dpdk/lib/kni/rte_kni.c on libkni (linked in), with
#                      the symbol versions of DPDK 22.11's librte_kni
#   librte_net_kni.so  DPDK's net_kni PMD, with the offloads of
#                      dpdk/edits/net-kni-offloads.diff, built against it
#                      (and finding it next to itself)
#   include/           rte_kni.h (with dpdk/edits/kni-offloads.diff) and
#                      rte_kni_common.h, for applications
# Debian ships neither librte_kni nor its headers nor the PMD API headers
# the driver includes: those come from the source package. The output is
# keyed by everything that goes into it.
lib_headers=(lib/kni/rte_kni.h lib/kni/rte_kni_common.h
	     lib/ethdev/ethdev_driver.h lib/ethdev/ethdev_vdev.h
	     lib/eal/include/dev_driver.h lib/eal/include/bus_driver.h
	     drivers/bus/vdev/bus_vdev_driver.h)
lib_dpdk=(-lrte_ethdev -lrte_mbuf -lrte_mempool -lrte_eal)
# DPDK's files the companion changes, and how: in the order of the series.
lib_edited=(lib/kni/version.map drivers/net/kni/rte_eth_kni.c)
lib_edits=(edits/kni-offloads.diff edits/net-kni-offloads.diff)

build_lib()
{
	local khdr=$1 key out tmp f cflags

	pkg-config --exists libdpdk ||
		kni_die "no libdpdk for pkg-config: install libdpdk-dev (tree/packages)"
	[ "$(pkg-config --modversion libdpdk)" = "$DPDK_VERSION" ] ||
		kni_die "libdpdk is $(pkg-config --modversion libdpdk), the source $DPDK_VERSION"
	[ -f "$khdr/linux/kni.h" ] ||
		kni_die "no linux/kni.h in $khdr (make headers in the kernel build)"

	key=$( (cd "$KNI_REPO" && echo "$DPDK_DEB" && pkg-config --cflags --libs libdpdk &&
		cat tree/dpdk.sh &&
		{ find dpdk -type f -print0; find tools/lib/kni -maxdepth 1 -type f -print0; } |
		LC_ALL=C sort -z | xargs -0 sha256sum &&
		cat "$khdr/linux/kni.h" "$khdr/linux/if_link.h" &&
		cd "$DPDK_SRC" && sha256sum "${lib_headers[@]}" lib/kni/version.map \
			drivers/net/kni/rte_eth_kni.c) | sha256sum | cut -c1-12)
	out=$KNI_CACHE/build/dpdk-lib-$key
	if [ ! -f "$out/.kni-done" ]; then
		log "building librte_kni and net_kni in $out"
		rm -rf "$out"
		tmp=$(mktemp -d "$KNI_CACHE/build/dpdk-lib.XXXXXX")
		# shellcheck disable=SC2064 # expand now: tmp is local
		trap "rm -rf '$tmp'" EXIT
		mkdir -p "$tmp/include"
		for f in "${lib_headers[@]}" "${lib_edited[@]}"; do
			mkdir -p "$tmp/src/${f%/*}"
			cp "$DPDK_SRC/$f" "$tmp/src/$f"
		done
		for f in "${lib_edits[@]}"; do
			(cd "$tmp/src" && git apply --include='lib/*' \
				--include='drivers/*' "$KNI_REPO/dpdk/$f") ||
				kni_die "dpdk/$f does not apply to dpdk $DPDK_VERSION"
		done
		for f in "${lib_headers[@]}"; do
			cp "$tmp/src/$f" "$tmp/include/"
		done
		make -s -C "$KNI_REPO/tools/lib/kni" OUTPUT="$tmp/libkni/" \
			KHDR_INCLUDES="-isystem $khdr" static >&2
		# shellcheck disable=SC2207 # pkg-config's words
		cflags=(-O2 -g -fPIC -Wall $(pkg-config --cflags libdpdk)
			-DALLOW_EXPERIMENTAL_API -DALLOW_INTERNAL_API
			-I"$tmp/include" -isystem "$khdr")
		cc "${cflags[@]}" -Wextra -I"$KNI_REPO/tools/lib/kni" \
			-c "$KNI_REPO/dpdk/lib/kni/rte_kni.c" -o "$tmp/rte_kni.o"
		cc -shared -Wl,-soname,librte_kni.so.23 -Wl,--no-undefined \
			-Wl,--version-script="$tmp/src/lib/kni/version.map" \
			"$tmp/rte_kni.o" "$tmp/libkni/libkni.a" -lmnl "${lib_dpdk[@]}" \
			-o "$tmp/librte_kni.so.23"
		cc "${cflags[@]}" -DRTE_LOG_DEFAULT_LOGTYPE=pmd.net.kni \
			-c "$tmp/src/drivers/net/kni/rte_eth_kni.c" -o "$tmp/rte_eth_kni.o"
		# shellcheck disable=SC2016 # $ORIGIN is the dynamic linker's
		cc -shared -Wl,-soname,librte_net_kni.so.23 -Wl,--no-undefined \
			-Wl,-rpath,'$ORIGIN' "$tmp/rte_eth_kni.o" \
			-L"$tmp" -l:librte_kni.so.23 -lrte_bus_vdev -lrte_kvargs -lrte_net -lbsd \
			"${lib_dpdk[@]}" -o "$tmp/librte_net_kni.so.23"
		ln -s librte_kni.so.23 "$tmp/librte_kni.so"
		ln -s librte_net_kni.so.23 "$tmp/librte_net_kni.so"
		rm -rf "$tmp/libkni" "$tmp/src" "$tmp"/*.o
		mv "$tmp/include" "$tmp/include.all"
		mkdir "$tmp/include"
		mv "$tmp"/include.all/rte_kni*.h "$tmp/include/"
		rm -rf "$tmp/include.all"
		echo "$DPDK_DEB" > "$tmp/.kni-done"
		chmod 755 "$tmp"
		mv "$tmp" "$out"
		trap - EXIT
	fi
	for f in "$KNI_CACHE/build/dpdk-lib-"*; do
		[ "$f" != "$out" ] && [ -f "$f/.kni-done" ] && rm -rf "$f"
	done
	echo "$out"
}

# The companion as a series for DPDK, on a git repository of the pristine
# source (debian/ left out, the control device's name as DPDK has it)
# kept next to the source tree. Its files are those of dpdk/, at their
# paths in DPDK, and the edits and removals below. Author and dates are
# fixed (the author of the last change to dpdk/, the date of the source's
# Debian changelog entry), so an unchanged companion regenerates the same
# files.
DPDK_GIT=$KNI_CACHE/src/dpdk-$DPDK_VERSION.git
series_dir=$KNI_REPO/patches/dpdk

git_dpdk()
{
	git --git-dir="$DPDK_GIT" "$@"
}

series_base()
{
	local idx blob date tree

	git_dpdk rev-parse -q --verify kni-base >/dev/null 2>&1 && return 0
	log "committing the pristine source to $DPDK_GIT"
	rm -rf "$DPDK_GIT"
	git init -q --bare "$DPDK_GIT"
	idx=$(mktemp)
	rm -f "$idx"
	blob=$(sed 's|^#define KNI_DEVICE "rte_kni"$|#define KNI_DEVICE "kni"|' \
		"$DPDK_SRC/lib/kni/rte_kni_common.h" | git_dpdk hash-object -w --stdin)
	tree=$(cd "$DPDK_SRC" && export GIT_INDEX_FILE=$idx GIT_WORK_TREE=$DPDK_SRC &&
	       git_dpdk add -A -f -- . ':!debian' ':!.pc' ':!.kni-prepared' &&
	       git_dpdk update-index --cacheinfo "100644,$blob,lib/kni/rte_kni_common.h" &&
	       git_dpdk write-tree) || kni_die "cannot commit the dpdk source"
	rm -f "$idx"
	date=$(dpkg-parsechangelog -l "$DPDK_SRC/debian/changelog" -S Timestamp)
	blob=$(GIT_AUTHOR_NAME=kni GIT_AUTHOR_EMAIL=kni@localhost \
		GIT_COMMITTER_NAME=kni GIT_COMMITTER_EMAIL=kni@localhost \
		GIT_AUTHOR_DATE="@$date +0000" GIT_COMMITTER_DATE="@$date +0000" \
		git_dpdk commit-tree --no-gpg-sign "$tree" -m "dpdk $DPDK_VERSION") ||
		kni_die "cannot commit the dpdk source"
	git_dpdk tag kni-base "$blob"
}

# series_commit PARENT MESSAGE OP...: a commit on PARENT whose tree has each
# OP applied: add:PATH (the file dpdk/PATH of this repository), rm:PATH (a
# file or directory), sed:PATH:SCRIPT (the file so far through sed,
# which must change it) or apply:DIFF (the diff dpdk/DIFF, which must
# apply). Prints the commit.
series_commit()
{
	local parent=$1 msg=$2 op path blob idx tree
	shift 2

	idx=$(mktemp)
	rm -f "$idx"
	local GIT_INDEX_FILE=$idx
	export GIT_INDEX_FILE
	git_dpdk read-tree "$parent"
	for op in "$@"; do
		path=${op#*:}
		case "$op" in
		add:*)
			blob=$(git_dpdk hash-object -w "$KNI_REPO/dpdk/$path")
			git_dpdk update-index --add --cacheinfo "100644,$blob,$path"
			;;
		rm:*)
			git_dpdk ls-files --error-unmatch -- "$path" >/dev/null 2>&1 ||
				kni_die "series: $path is not in dpdk $DPDK_VERSION"
			git_dpdk rm -q -r --cached -- "$path"
			;;
		apply:*)
			git_dpdk apply --cached "$KNI_REPO/dpdk/$path" ||
				kni_die "series: dpdk/$path does not apply"
			;;
		sed:*)
			local script=${path#*:}
			path=${path%%:*}
			blob=$(git_dpdk show ":$path" | sed "$script" |
				git_dpdk hash-object -w --stdin)
			[ "$blob" != "$(git_dpdk rev-parse ":$path")" ] ||
				kni_die "series: '$script' does not change $path"
			git_dpdk update-index --cacheinfo "100644,$blob,$path"
			;;
		esac
	done
	tree=$(git_dpdk write-tree)
	rm -f "$idx"
	GIT_AUTHOR_NAME=$series_name GIT_AUTHOR_EMAIL=$series_email \
		GIT_COMMITTER_NAME=$series_name GIT_COMMITTER_EMAIL=$series_email \
		GIT_AUTHOR_DATE="@$series_date +0000" \
		GIT_COMMITTER_DATE="@$series_date +0000" \
		git_dpdk commit-tree --no-gpg-sign "$tree" -p "$parent" <<< "$msg"
}

series_msg_lib="kni: implement the library on the kernel's kni device

librte_kni needs rte_kni.ko, a kernel module that was never merged: it
follows addresses the application writes into its FIFOs, turns IOVAs
into kernel addresses, polls with kernel threads that burn a CPU even
when no packet moves, and holds RTNL while it waits for the application
to answer a request. The kni network driver of Linux (drivers/net/kni)
does the same job without any of that: the kernel allocates the memory
it shares with the application, NAPI runs only when there is work, and
a configuration change takes effect at once and is reported as an event.

Implement the functions of rte_kni.h on it, through the kernel's libkni
(tools/lib/kni), so that applications and the net_kni PMD build and run
without change:

- rte_kni_alloc() creates the device over rtnetlink and attaches to its
  first queue; the frame size follows mbuf_size and the pool's data
  room, max_mtu bounds the MTU while the application is attached, and
  the fields that only placed kernel threads are accepted and ignored;
- the burst functions copy between mbufs (chains too) and the frames of
  the shared memory, never block, and make a system call only when the
  kernel asked to be woken; an empty mempool loses no packet;
- rte_kni_handle_request() turns the device's events into the
  rte_kni_ops callbacks, once per change and in order;
- rte_kni_update_link() sets the carrier.

Two functions are new, experimental: rte_kni_offload_capa() and
rte_kni_offload_set() give the kernel's checksum and TCP segmentation
offloads in ethdev's terms. The library turns an mbuf's offload
requests into the struct virtio_net_hdr the kernel reads in front of a
packet, and the kernel's header into the flags of a received mbuf; a
packet larger than a frame spans a chain of frames. An application that
sets no offload sees no change, and a request the kernel did not take
on (an IPv4 header checksum, or an L4 checksum without offloads) is
carried out in software.

The library needs libkni and libmnl (pkg-config) and the kernel's uapi
headers with linux/kni.h. rte_kni_fifo.h goes: nothing uses it any more.

Signed-off-by: "
series_msg_pmd="net/kni: offer the kernel's offloads

The kni device takes checksum and TCP segmentation offloads in both
directions: the stack hands the application unsegmented TCP packets with
their checksums left to complete, and takes such packets from it.
Report what librte_kni maps (rte_kni_offload_capa()) in dev_info, and
apply the port's configured offloads at each start with
rte_kni_offload_set(). TCP TSO needs TCP LRO: the kernel segments TCP in
both directions or in neither.

Signed-off-by: "
series_msg_kmod="kernel/linux: remove the kni module

librte_kni no longer talks to rte_kni.ko: the kernel's own kni driver
takes its place. Remove the module and its build.

Signed-off-by: "
series_msg_doc="doc: describe KNI on the kernel's kni device

The KNI guide and the net_kni PMD's page describe rte_kni.ko: its module
parameters, kernel threads, FIFOs of mbuf addresses and IOVA modes.
Describe the library as it is now, where each module parameter went and
how the PMD's loopback test is run with the kernel driver.

Signed-off-by: "
series_cover="kni: librte_kni on the kernel's kni device

DPDK's KNI gave applications a fast way into the kernel's network stack
at the price of an out-of-tree module that trusted addresses from user
space, polled with kernel threads and blocked RTNL on the application.
Linux's kni network driver keeps the fast path and drops those costs.

This series moves librte_kni onto it. rte_kni.h only gains two
functions, and the applications that use it need no change: the net_kni
PMD built against this library runs in Debian's stock dpdk-testpmd with
--vdev=net_kni0, without hugepages.

Patch 1 is the library, with two new experimental functions for the
kernel's checksum and TCP segmentation offloads; patch 2 offers them in
the net_kni PMD; patch 3 removes rte_kni.ko, patch 4 the documentation.
The series applies to DPDK $DPDK_VERSION."

series_ops_lib=(add:lib/kni/rte_kni.c add:lib/kni/meson.build rm:lib/kni/rte_kni_fifo.h
		apply:edits/kni-offloads.diff)
series_ops_pmd=(apply:edits/net-kni-offloads.diff)
series_ops_kmod=(rm:kernel/linux/kni "sed:kernel/linux/meson.build:s/^subdirs = \['kni'\]\$/subdirs = []/")
series_ops_doc=(add:doc/guides/prog_guide/kernel_nic_interface.rst
	"sed:doc/guides/nics/kni.rst:s/^Using this PMD requires KNI kernel module be inserted\.\$/Using this PMD requires the kernel's kni driver (CONFIG_KNI), which provides \`\`\/dev\/kni\`\`./"
	"sed:doc/guides/nics/kni.rst:s/^If KNI kernel module (rte_kni\.ko) not inserted, following error log printed::\$/If the kni driver is not loaded (no \`\`\/dev\/kni\`\`), this error is logged::/"
	"sed:doc/guides/nics/kni.rst:s/^        \"KNI: KNI subsystem has not been initialized\. Invoke rte_kni_init() first\"\$/        KNI: rte_kni_init(): cannot use \/dev\/kni: No such file or directory (is the kni module loaded?)/"
	"sed:doc/guides/nics/kni.rst:s/^It is possible to test PMD quickly using KNI kernel module loopback feature:\$/It is possible to test the PMD quickly with the loopback mode of the kni driver:/"
	"sed:doc/guides/nics/kni.rst:s/^\* Insert KNI kernel module with loopback support:\$/* Once testpmd below created them, put both interfaces in loopback mode:/"
	"sed:doc/guides/nics/kni.rst:s/^        insmod <build_dir>\/kernel\/linux\/kni\/rte_kni\.ko lo_mode=lo_mode_fifo_skb\$/        ip link set kni0 type kni loopback fifo_skb; ip link set kni1 type kni loopback fifo_skb/")

# Writes the series to DIR.
series_write()
{
	local dir=$1 c

	series_name=$(git -C "$KNI_REPO" log -1 --format=%an -- dpdk)
	series_email=$(git -C "$KNI_REPO" log -1 --format=%ae -- dpdk)
	[ -n "$series_email" ] || kni_die "dpdk/ has no commit in $KNI_REPO"
	series_date=$(dpkg-parsechangelog -l "$DPDK_SRC/debian/changelog" -S Timestamp)
	local sob="$series_name <$series_email>"

	c=$(series_commit kni-base "$series_msg_lib$sob" "${series_ops_lib[@]}")
	c=$(series_commit "$c" "$series_msg_pmd$sob" "${series_ops_pmd[@]}")
	c=$(series_commit "$c" "$series_msg_kmod$sob" "${series_ops_kmod[@]}")
	c=$(series_commit "$c" "$series_msg_doc$sob" "${series_ops_doc[@]}")
	git_dpdk update-ref refs/heads/kni-patches "$c"
	mkdir -p "$dir"
	rm -f "$dir"/*.patch
	# Nobody's own git configuration (format.*, diff.*) shapes the files.
	GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 \
		git_dpdk -c core.abbrev=12 -c "branch.kni-patches.description=$series_cover" \
		-c "user.name=$series_name" -c "user.email=$series_email" \
		format-patch --zero-commit --no-signature --cover-letter \
		--cover-from-description=subject --to=dev@dpdk.org \
		-o "$dir" kni-base..kni-patches >/dev/null
	# The cover letter's date is the time of the run: fix it.
	sed -i "s/^Date: .*/Date: $(date -u -R -d "@$series_date")/" \
		"$dir/0000-cover-letter.patch"
}

# series_apply DIR WORKTREE: WORKTREE is the base with DIR's patches applied.
series_apply()
{
	local p patches=()

	for p in "$1"/[0-9]*-*.patch; do
		[ "${p##*/}" = 0000-cover-letter.patch ] || patches+=("$p")
	done
	git_dpdk worktree prune
	git_dpdk worktree add -q --detach "$2" kni-base &&
		GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 \
		git -C "$2" -c user.name=kni -c user.email=kni@localhost \
		am -q "${patches[@]}"
}

# The patched DPDK must build librte_kni and the net_kni PMD against
# libkni, installed from tools/lib/kni into a staging prefix.
# shellcheck disable=SC2054 # the commas are meson's
series_meson_opts=(
	--buildtype=debugoptimized
	-Dplatform=generic
	-Denable_apps=
	-Denable_drivers=bus/vdev,mempool/ring,net/kni
	-Ddisable_libs=bitratestats,cfgfile,flow_classify,gpudev,gro,gso,jobstats,latencystats,metrics,node,pdump,pipeline,port,power,table,vhost
	-Dtests=false
	-Dexamples=
	-Denable_docs=false
	-Denable_kmods=false
)

series_build()
{
	local tmp=$1 khdr=$2

	build_deps
	make -s -C "$KNI_REPO/tools/lib/kni" OUTPUT="$tmp/libkni/" \
		KHDR_INCLUDES="-isystem $khdr" prefix="$tmp/stage" install >&2 ||
		kni_die "libkni does not install"
	log "building the patched dpdk (librte_kni and net_kni)"
	if ! PKG_CONFIG_PATH=$tmp/stage/lib/pkgconfig meson setup \
		"${series_meson_opts[@]}" -Dc_args="-isystem $khdr" \
		"$tmp/build" "$tmp/src" >"$tmp/build.log" 2>&1 ||
	   ! flock "$KNI_CACHE/lock" ninja -C "$tmp/build" -j"$KNI_JOBS" \
		lib/librte_kni.so.23.0 drivers/librte_net_kni.so.23.0 >>"$tmp/build.log" 2>&1; then
		tail -n 30 "$tmp/build.log" >&2
		kni_die "DPDK with the series applied does not build"
	fi
}

patches()
{
	local check=$1 khdr=$2 tmp

	exec 8>"$KNI_CACHE/dpdk-lib.lock"
	flock 8
	series_base
	tmp=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "git_dpdk worktree remove --force '$tmp/src' 2>/dev/null; rm -rf '$tmp'" EXIT
	series_write "$tmp/series"
	if [ "$check" = 1 ]; then
		diff -ru "$series_dir" "$tmp/series" >&2 ||
			kni_die "patches/dpdk is stale: run tree/dpdk.sh patches"
		series_apply "$series_dir" "$tmp/src" ||
			kni_die "patches/dpdk does not apply to dpdk $DPDK_VERSION"
		series_build "$tmp" "$khdr"
		echo "patches/dpdk: current, applies to dpdk $DPDK_VERSION and builds"
		return 0
	fi
	series_apply "$tmp/series" "$tmp/src" ||
		kni_die "the series does not apply to dpdk $DPDK_VERSION"
	series_build "$tmp" "$khdr"
	mkdir -p "$series_dir"
	rm -f "$series_dir"/*.patch
	cp "$tmp/series"/*.patch "$series_dir/"
	echo "$series_dir"
}

# uapi_headers [KERNEL_BUILD_DIR]: the usr/include of the build (default:
# the release build's, "make headers" only).
uapi_headers()
{
	local kbuild=${1:-}

	if [ -z "$kbuild" ]; then
		kbuild=$("$KNI_REPO/tree/build-kernel.sh" release headers | tail -n 1) ||
			kni_die "no release kernel build"
	fi
	kbuild=$(cd "$kbuild" 2>/dev/null && pwd) ||
		kni_die "no kernel build directory ${1:-}"
	echo "$kbuild/usr/include"
}

# The source tree, fetched once. Once it is prepared it is only read: no
# need to wait for a benchmark build holding dpdk.lock.
fetch_prepared()
{
	mkdir -p "$KNI_CACHE/build"
	[ -f "$DPDK_SRC/.kni-prepared" ] && return 0
	exec 8>"$KNI_CACHE/dpdk.lock"
	flock 8
	fetch
	exec 8>&-
}

case "${1:-}" in
patches)
	check=0
	if [ "${2:-}" = --check ]; then
		check=1
		shift
	fi
	khdr=$(uapi_headers "${2:-}")
	fetch_prepared
	patches $check "$khdr"
	exit 0
	;;
lib)
	khdr=$(uapi_headers "${2:-}")
	fetch_prepared
	exec 8>"$KNI_CACHE/dpdk-lib.lock"
	flock 8
	build_lib "$khdr"
	exit 0
	;;
esac

kbuild=${1:-}
if [ -z "$kbuild" ]; then
	kbuild=$("$KNI_REPO/tree/build-kernel.sh" release | tail -n 1) ||
		kni_die "no release kernel build"
fi
kbuild=$(cd "$kbuild" && pwd) || kni_die "no kernel build directory $kbuild"
{ [ -f "$kbuild/.config" ] && [ -f "$kbuild/Module.symvers" ]; } ||
	kni_die "$kbuild is not a kernel build with modules"
grep -q '^CONFIG_MODULES=y' "$kbuild/.config" ||
	kni_die "the kernel in $kbuild has no module support"
for opt in CONFIG_HUGETLBFS CONFIG_VHOST_NET CONFIG_TUN; do
	grep -q "^$opt=[ym]" "$kbuild/.config" ||
		log "warning: $opt is not set in $kbuild: some methods will fail"
done

# DPDK's tree and builds share nothing with the kernel tree: a lock of their
# own (the heavy steps take the kernel build lock as well).
mkdir -p "$KNI_CACHE"
exec 8>"$KNI_CACHE/dpdk.lock"
flock 8

build_deps
fetch
build_dpdk

krel=$(cat "$kbuild/include/config/kernel.release")
kkey=$( (echo "$DPDK_DEB"; cat "$kbuild/include/config/kernel.release" \
	"$kbuild/.config"; cat "$kbuild/.kni-built" 2>/dev/null || true) |
	sha256sum | cut -c1-12)
out=$KNI_CACHE/build/dpdk-art-$kkey
if [ ! -f "$out/.kni-done" ] || [ ! -f "$out/.kni-kbuild" ] ||
   [ "$(cat "$out/.kni-done")" != "$DPDK_BUILD" ] ||
   [ "$DPDK_BUILD/app/dpdk-testpmd" -nt "$out/dpdk-testpmd" ]; then
	rm -rf "$out"
	mkdir -p "$out"
	build_kmod "$kbuild" "$out"
	cp "$DPDK_BUILD/app/dpdk-testpmd" "$out/dpdk-testpmd"
	printf 'dpdk %s (Debian %s)\nkernel %s (%s)\n' "$DPDK_VERSION" "$DPDK_DEB" \
		"$krel" "$kbuild" > "$out/version"
	echo "$kbuild" > "$out/.kni-kbuild"
	echo "$DPDK_BUILD" > "$out/.kni-done"
fi
# Artefacts of kernel builds that are gone (build-kernel.sh drops the build
# of an older configuration).
for old in "$KNI_CACHE/build/dpdk-art-"*; do
	[ "$old" != "$out" ] && [ -f "$old/.kni-kbuild" ] &&
		[ ! -d "$(cat "$old/.kni-kbuild")" ] && rm -rf "$old"
done
echo "$out"
