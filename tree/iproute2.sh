#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The iproute2 side of kni: "ip link" support for kni devices, built on
# Debian's iproute2 source package at one exact version.
#
# usage: iproute2.sh           assemble and build; prints the directory of
#                              the built ip binary on the last line
#        iproute2.sh patches   assemble and write the companion as a patch
#                              series to patches/iproute2/
#        iproute2.sh source    only fetch the pristine source (tag kni-base
#                              of the tree); prints the tree's directory
#
# The tree lives in the cache next to the kernel tree. It is a git repository
# whose first commit, tagged kni-base, is the pristine source; over it go the
# files this repository owns (iproute2/, mirroring paths in the tree) and the
# edits to existing iproute2 files, recomputed from the pristine file. Only
# files whose content changed are rewritten, so make rebuilds only what was
# edited.
set -euo pipefail

# shellcheck source=tree/env.sh
. "$(dirname "$0")/env.sh"

IPROUTE2_DEB=6.1.0-3
IPROUTE2_VERSION=${IPROUTE2_DEB%-*}
IPROUTE2_SRC=$KNI_CACHE/src/iproute2-$IPROUTE2_VERSION

overlay=$KNI_REPO/iproute2
# Existing files the integration edits change (see integrate()).
edited=(ip/Makefile include/uapi/linux/if_link.h)

log()
{
	echo "iproute2: $*" >&2
}

need_root()
{
	[ "$(id -u)" -eq 0 ] || kni_die "need root to $*"
}

# apt-get source needs dpkg-dev and a deb-src entry (tree/env.sh).
source_deps()
{
	if ! dpkg-query -W -f='${Status}' dpkg-dev 2>/dev/null | grep -q 'ok installed'; then
		need_root "install dpkg-dev"
		log "installing dpkg-dev"
		DEBIAN_FRONTEND=noninteractive apt-get install -y -qq \
			--no-install-recommends dpkg-dev >/dev/null
	fi
	kni_deb_src iproute2 "$IPROUTE2_DEB"
}

# The pristine tree, fetched and committed once.
fetch()
{
	local tmp unpacked version

	git -C "$IPROUTE2_SRC" rev-parse -q --verify kni-base >/dev/null 2>&1 &&
		return 0

	source_deps
	log "fetching iproute2 $IPROUTE2_DEB"
	mkdir -p "$KNI_CACHE/src"
	tmp=$(mktemp -d "$KNI_CACHE/src/iproute2.XXXXXX")
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	(cd "$tmp" && apt-get source -qq "iproute2=$IPROUTE2_DEB") >&2
	unpacked=$tmp/iproute2-$IPROUTE2_VERSION
	[ -d "$unpacked" ] || kni_die "apt-get source did not unpack $unpacked"
	version=$(sed -n 's/^static const char version\[\] = "\(.*\)";$/\1/p' \
		"$unpacked/include/version.h")
	[ "$version" = "$IPROUTE2_VERSION" ] ||
		kni_die "source is iproute2 $version, expected $IPROUTE2_VERSION"

	git -C "$unpacked" init -q -b kni
	git -C "$unpacked" add -A -f
	git -C "$unpacked" -c user.name=kni -c user.email=kni@localhost \
		commit -q -m "iproute2 $IPROUTE2_VERSION (Debian $IPROUTE2_DEB)"
	git -C "$unpacked" tag kni-base
	rm -rf "$IPROUTE2_SRC"
	mv "$unpacked" "$IPROUTE2_SRC"
	rm -rf "$tmp"
	trap - EXIT
}

# Files of the overlay, relative to it, sorted.
overlay_files()
{
	(cd "$overlay" && find . -type f | sed 's|^\./||' | LC_ALL=C sort)
}

# Copy what differs (rsync --checksum keeps the mtimes of unchanged files)
# and undo files the repository dropped since the last run.
apply_overlay()
{
	local list=$IPROUTE2_SRC/.git/kni-overlay path

	[ -d "$overlay" ] || kni_die "$overlay missing"
	rsync -rcp "$overlay/" "$IPROUTE2_SRC/"
	if [ -f "$list" ]; then
		overlay_files | LC_ALL=C comm -13 - "$list" | while read -r path; do
			log "dropping $path"
			if git -C "$IPROUTE2_SRC" cat-file -e "kni-base:$path" 2>/dev/null; then
				git -C "$IPROUTE2_SRC" show "kni-base:$path" > "$IPROUTE2_SRC/$path"
			else
				rm -f "$IPROUTE2_SRC/$path"
			fi
		done
	fi
	overlay_files > "$list"
}

# update FILE: stdin is the new content of FILE in the tree; write it only
# when it differs.
update()
{
	local file=$1 tmp

	tmp=$(mktemp "$IPROUTE2_SRC/$file.XXXXXX")
	cat > "$tmp"
	if cmp -s "$tmp" "$IPROUTE2_SRC/$file"; then
		rm -f "$tmp"
	else
		chmod --reference="$IPROUTE2_SRC/$file" "$tmp"
		mv "$tmp" "$IPROUTE2_SRC/$file"
		log "edited $file"
	fi
}

pristine()
{
	git -C "$IPROUTE2_SRC" show "kni-base:$1"
}

# The edits kni makes to existing iproute2 files; each fails when its
# anchor is gone (the base moved).
integrate()
{
	local new

	# Link iplink_kni.o into ip, next to the other link types.
	new=$(pristine ip/Makefile | awk '
		!done && / iplink_virt_wifi\.o/ {
			sub(/ iplink_virt_wifi\.o/, "& iplink_kni.o")
			done = 1
		}
		{ print }
		END { if (!done) exit 3 }') ||
		kni_die "anchor iplink_virt_wifi.o not found in ip/Makefile"
	printf '%s\n' "$new" | update ip/Makefile

	# The kni attributes, shared with the kernel side of the integration.
	new=$(pristine include/uapi/linux/if_link.h | awk \
		-v anchor='/* VXLAN section */' -v file="$KNI_REPO/tree/uapi/if_link-kni.h" '
		!done && $0 == anchor {
			while ((getline line < file) > 0)
				print line
			print ""
			done = 1
		}
		{ print }
		END { if (!done) exit 3 }') ||
		kni_die "anchor '/* VXLAN section */' not found in include/uapi/linux/if_link.h"
	printf '%s\n' "$new" | update include/uapi/linux/if_link.h
}

# iproute2's make does not track headers: drop the objects of the overlay's
# C files when a header kni writes is newer, so they are rebuilt.
drop_stale_objects()
{
	local c o h headers

	headers=$( (printf '%s\n' "${edited[@]}"; overlay_files) | grep '\.h$' || true)
	overlay_files | { grep '\.c$' || true; } | while read -r c; do
		o=$IPROUTE2_SRC/${c%.c}.o
		[ -f "$o" ] || continue
		for h in $headers; do
			if [ "$IPROUTE2_SRC/$h" -nt "$o" ]; then
				rm -f "$o"
				break
			fi
		done
	done
}

build()
{
	drop_stale_objects
	if [ ! -f "$IPROUTE2_SRC/config.mk" ]; then
		log "configuring"
		(cd "$IPROUTE2_SRC" && ./configure) >&2
	fi
	make -C "$IPROUTE2_SRC" -j"$KNI_JOBS" SUBDIRS="lib ip" >&2
	[ -x "$IPROUTE2_SRC/ip/ip" ] || kni_die "no ip binary after the build"
	echo "$IPROUTE2_SRC/ip"
}

# The companion as one commit on branch kni-patches of the tree, exported
# with git format-patch. Author, dates and hashes are fixed (the date is the
# base's Debian changelog entry), so an unchanged source regenerates the
# same files.
patches()
{
	local out=$KNI_REPO/patches/iproute2 name email date tmp tree commit
	local files

	name=$(git -C "$KNI_REPO" config user.name) ||
		kni_die "git config user.name is not set in $KNI_REPO"
	email=$(git -C "$KNI_REPO" config user.email) ||
		kni_die "git config user.email is not set in $KNI_REPO"
	date=$(dpkg-parsechangelog -l "$IPROUTE2_SRC/debian/changelog" -S Timestamp)

	mapfile -t files < <(overlay_files)
	files+=("${edited[@]}")

	tmp=$(mktemp -d)
	# shellcheck disable=SC2064 # expand now: tmp is local
	trap "rm -rf '$tmp'" EXIT
	tree=$(export GIT_INDEX_FILE=$tmp/index &&
		git -C "$IPROUTE2_SRC" read-tree kni-base &&
		git -C "$IPROUTE2_SRC" add -f -- "${files[@]}" &&
		git -C "$IPROUTE2_SRC" write-tree)
	commit=$(GIT_AUTHOR_NAME=$name GIT_AUTHOR_EMAIL=$email \
		GIT_COMMITTER_NAME=$name GIT_COMMITTER_EMAIL=$email \
		GIT_AUTHOR_DATE="@$date +0000" GIT_COMMITTER_DATE="@$date +0000" \
		git -C "$IPROUTE2_SRC" commit-tree --no-gpg-sign "$tree" -p kni-base <<EOF
ip: add support for kni devices

kni is a virtual Ethernet device whose other end is a userspace
dataplane: the kernel allocates rings in memory it shares with a
packet processing program, which hands frames to the network stack
and takes frames from it through them. The device is created and
configured over rtnetlink, with link kind "kni" and the IFLA_KNI_*
attributes nested in IFLA_INFO_DATA.

Teach ip link to create kni devices and to show their configuration,
so that no separate tool is needed to set one up:

  ip link add kni0 numtxqueues 4 numrxqueues 4 carrier off type kni \\
	ring_size 1024 frame_size 2048 loopback none \\
	owner dataplane group dataplane

The number of queue pairs and the initial carrier are ip's generic
numtxqueues/numrxqueues and carrier options (a kni device has as many rx
as tx queues). ring_size and frame_size set the geometry of the rings;
loopback makes it hand the frames userspace posts back to
the tx ring instead of the network stack, so that a dataplane can be
tested on its own; owner and group take a user and a group (by name or
number) allowed to attach to the device, "none" for neither. ip -d link
show prints each attribute the kernel reports, in JSON too.

The IFLA_KNI_* definitions are added to the uapi copy of if_link.h as
the kernel side defines them.

Signed-off-by: $name <$email>
EOF
	)
	git -C "$IPROUTE2_SRC" update-ref refs/heads/kni-patches "$commit"

	mkdir -p "$out"
	rm -f "$out"/*.patch
	# Nobody's own git configuration (format.*, diff.*) shapes the files.
	GIT_CONFIG_GLOBAL=/dev/null GIT_CONFIG_NOSYSTEM=1 \
		git -C "$IPROUTE2_SRC" -c core.abbrev=12 format-patch --zero-commit \
		--no-signature --subject-prefix="PATCH iproute2-next" \
		-o "$out" kni-base..kni-patches
	rm -rf "$tmp"
	trap - EXIT
}

cmd=${1:-build}
case "$cmd" in
build|patches|source) ;;
*) kni_die "usage: iproute2.sh [patches|source]" ;;
esac

# The iproute2 tree shares nothing with the kernel tree or its builds: it
# has a lock of its own, so that a kernel build does not hold it up.
mkdir -p "$KNI_CACHE"
exec 8>"$KNI_CACHE/iproute2.lock"
flock 8

fetch
if [ "$cmd" = source ]; then
	echo "$IPROUTE2_SRC"
	exit 0
fi
apply_overlay
integrate
"$cmd"
