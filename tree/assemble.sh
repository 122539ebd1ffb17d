#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Assemble the kernel tree kni builds in: the pristine base from Debian's
# linux-source package, the integration edits to existing kernel files
# (tree/integrate.sh) and the files this repository owns (tree/overlay).
#
# The tree is a git repository whose first commit, tagged kni-base, is the
# pristine base; patches/ is generated from it. Only files whose content
# changed are rewritten, so kbuild recompiles only what was edited.
set -euo pipefail

# shellcheck source=tree/env.sh
. "$(dirname "$0")/env.sh"

kni_lock

tarball=/usr/src/$KNI_BASE_PKG.tar.xz
[ -f "$tarball" ] || kni_die "$tarball missing: run tree/deps.sh"

if ! git -C "$KNI_SRC" rev-parse -q --verify kni-base >/dev/null 2>&1; then
	echo "assemble: extracting $KNI_BASE_PKG $KNI_BASE_DEB"
	tmp=$KNI_SRC.tmp
	rm -rf "$tmp" "$KNI_SRC"
	mkdir -p "$tmp"
	tar -xJf "$tarball" -C "$tmp" --strip-components=1
	version=$(make -s -C "$tmp" kernelversion)
	[ "$version" = "$KNI_BASE_VERSION" ] ||
		kni_die "tarball is $version, tree/base says $KNI_BASE_VERSION"
	# Debian's tarball ignores everything at the top level (its packaging
	# .gitignore), so the base is added with -f.
	git -C "$tmp" init -q -b kni
	git -C "$tmp" add -A -f
	git -C "$tmp" -c user.name=kni -c user.email=kni@localhost \
		commit -q -m "Linux $KNI_BASE_VERSION ($KNI_BASE_PKG $KNI_BASE_DEB)"
	git -C "$tmp" tag kni-base
	mv "$tmp" "$KNI_SRC"
fi

# Integration edits, recomputed from the pristine file every time.
"$KNI_REPO/tree/integrate.sh" "$KNI_SRC"

# Overlay: copy what differs (rsync --checksum keeps mtimes of unchanged
# files), mirror directories, and remove paths the repository dropped.
# Python's byte-code caches, written by running a test or a tool from the
# repository, are never part of the tree.
while read -r path; do
	case "$path" in ''|'#'*) continue ;; esac
	if [ -d "$KNI_REPO/$path" ]; then
		mkdir -p "$KNI_SRC/$path"
		rsync -rcp --delete --delete-excluded --exclude=__pycache__/ \
			--filter=":- .gitignore" "$KNI_REPO/$path/" "$KNI_SRC/$path/"
	elif [ -f "$KNI_REPO/$path" ]; then
		mkdir -p "$(dirname "$KNI_SRC/$path")"
		cmp -s "$KNI_REPO/$path" "$KNI_SRC/$path" ||
			cp "$KNI_REPO/$path" "$KNI_SRC/$path"
	elif ! git -C "$KNI_SRC" cat-file -e "kni-base:$path" 2>/dev/null; then
		rm -rf "${KNI_SRC:?}/$path"
	fi
done < "$KNI_REPO/tree/overlay"
