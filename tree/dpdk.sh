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
#
# lib builds the rte_kni API on kni instead (see build_lib()); its
# KERNEL_BUILD_DIR (default: the release build) only provides the uapi
# headers, in usr/include ("make headers"). Prints the directory of
# librte_kni.so and librte_net_kni.so on the last line.
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
#   librte_net_kni.so  DPDK's net_kni PMD, its source unchanged, built
#                      against it (and finding it next to itself)
#   include/           rte_kni.h and rte_kni_common.h, for applications
# Debian ships neither librte_kni nor its headers nor the PMD API headers
# the driver includes: those come from the source package. The output is
# keyed by everything that goes into it.
lib_headers=(lib/kni/rte_kni.h lib/kni/rte_kni_common.h
	     lib/ethdev/ethdev_driver.h lib/ethdev/ethdev_vdev.h
	     lib/eal/include/dev_driver.h lib/eal/include/bus_driver.h
	     drivers/bus/vdev/bus_vdev_driver.h)
lib_dpdk=(-lrte_ethdev -lrte_mbuf -lrte_mempool -lrte_eal)

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
		for f in "${lib_headers[@]}"; do
			cp "$DPDK_SRC/$f" "$tmp/include/"
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
			-Wl,--version-script="$DPDK_SRC/lib/kni/version.map" \
			"$tmp/rte_kni.o" "$tmp/libkni/libkni.a" -lmnl "${lib_dpdk[@]}" \
			-o "$tmp/librte_kni.so.23"
		cc "${cflags[@]}" -DRTE_LOG_DEFAULT_LOGTYPE=pmd.net.kni \
			-c "$DPDK_SRC/drivers/net/kni/rte_eth_kni.c" -o "$tmp/rte_eth_kni.o"
		# shellcheck disable=SC2016 # $ORIGIN is the dynamic linker's
		cc -shared -Wl,-soname,librte_net_kni.so.23 -Wl,--no-undefined \
			-Wl,-rpath,'$ORIGIN' "$tmp/rte_eth_kni.o" \
			-L"$tmp" -l:librte_kni.so.23 -lrte_bus_vdev -lrte_kvargs -lrte_net -lbsd \
			"${lib_dpdk[@]}" -o "$tmp/librte_net_kni.so.23"
		ln -s librte_kni.so.23 "$tmp/librte_kni.so"
		ln -s librte_net_kni.so.23 "$tmp/librte_net_kni.so"
		rm -rf "$tmp/libkni" "$tmp"/*.o
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

if [ "${1:-}" = lib ]; then
	kbuild=${2:-}
	if [ -z "$kbuild" ]; then
		kbuild=$("$KNI_REPO/tree/build-kernel.sh" release headers | tail -n 1) ||
			kni_die "no release kernel build"
	fi
	mkdir -p "$KNI_CACHE/build"
	# The source tree is only read once it is prepared: no need to wait
	# for a benchmark build holding dpdk.lock.
	if [ ! -f "$DPDK_SRC/.kni-prepared" ]; then
		exec 8>"$KNI_CACHE/dpdk.lock"
		flock 8
		fetch
		exec 8>&-
	fi
	exec 8>"$KNI_CACHE/dpdk-lib.lock"
	flock 8
	build_lib "$(cd "$kbuild" && pwd)/usr/include"
	exit 0
fi

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
