# SPDX-License-Identifier: GPL-2.0
# Common variables for the tree tooling; sourced, never run.
# shellcheck shell=bash

KNI_REPO=$(cd "$(dirname "${BASH_SOURCE[0]}")/.." && pwd)
# shellcheck source=tree/base
. "$KNI_REPO/tree/base"

# Kernel trees and builds are large and slow to make: they live outside the
# clone, shared by every clone on the machine, keyed by base version (source)
# and by configuration (builds).
KNI_CACHE=${KNI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kni}
KNI_SRC=$KNI_CACHE/src/linux-$KNI_BASE_VERSION
KNI_JOBS=${KNI_JOBS:-$(nproc)}
export KNI_REPO KNI_CACHE KNI_SRC KNI_JOBS

kni_die()
{
	echo "${0##*/}: $*" >&2
	exit 1
}

# Serialise everything that writes the shared tree or a build directory.
kni_lock()
{
	mkdir -p "$KNI_CACHE"
	exec 9>"$KNI_CACHE/lock"
	flock 9
}

kni_have_deb_src()
{
	local f

	for f in /etc/apt/sources.list /etc/apt/sources.list.d/*.list; do
		[ -f "$f" ] && grep -Eq '^[[:space:]]*deb-src[[:space:]]' "$f" &&
			return 0
	done
	for f in /etc/apt/sources.list.d/*.sources; do
		[ -f "$f" ] && grep -Eiq '^Types:.*[[:space:]]deb-src([[:space:]]|$)' "$f" &&
			return 0
	done
	return 1
}

# kni_deb_src PACKAGE VERSION: make "apt-get source PACKAGE=VERSION" work.
# apt needs a deb-src entry: derived from the system's own deb822 source
# list, so it names the same mirror.
kni_deb_src()
{
	local pkg=$1 version=$2
	local from=/etc/apt/sources.list.d/debian.sources
	local to=/etc/apt/sources.list.d/kni-deb-src.sources

	if ! kni_have_deb_src; then
		[ "$(id -u)" -eq 0 ] || kni_die "need root to add a deb-src entry to apt"
		[ -f "$from" ] || kni_die "no deb-src entry and no $from to derive one from"
		echo "${0##*/}: adding $to" >&2
		sed 's/^Types: deb$/Types: deb-src/' "$from" > "$to.tmp"
		grep -q '^Types: deb-src$' "$to.tmp" ||
			{ rm -f "$to.tmp"; kni_die "no 'Types: deb' entry in $from"; }
		mv "$to.tmp" "$to"
		apt-get update -qq >&2
	fi
	# (grep -q would quit early and fail the pipe: apt-cache prints a lot.)
	if ! apt-cache showsrc "$pkg" 2>/dev/null |
	     grep -Fx "Version: $version" >/dev/null; then
		[ "$(id -u)" -eq 0 ] || kni_die "need root to update apt's source lists"
		apt-get update -qq >&2
		apt-cache showsrc "$pkg" 2>/dev/null |
			grep -Fx "Version: $version" >/dev/null ||
			kni_die "source package $pkg $version not available"
	fi
}

# kni_coccicheck SRC [MAKE_ARG...]: coccicheck MODE=report on SRC's
# drivers/net/kni. Prints what is wrong (findings as FILE:LINE lines,
# spatch's errors, or semantic patches that did not run; spatch's own
# chatter about the semantic patches is not ours) and fails then; prints
# nothing on success. spatch picks the files of a directory with "git grep"
# when it finds a git tree, which leaves out what git ignores, and the
# base tree's .gitignore ignores everything it did not ship, kni's files
# too: spatch would report "0 files match", and nothing, for every
# semantic patch. --no-scanner makes it read every file; a "files match"
# line would say it picked some again, and fails.
kni_coccicheck()
{
	local src=$1 out rc ran n bad

	shift
	n=$(find "$src/scripts/coccinelle" -name '*.cocci' | wc -l)
	out=$(make -C "$src" "$@" coccicheck MODE=report SPFLAGS=--no-scanner \
		M="$src/drivers/net/kni" J="$KNI_JOBS" 2>&1)
	rc=$?
	ran=$(grep -c '^[^ ]*spatch .*--cocci-file .*--no-scanner' <<< "$out")
	bad=$(grep -E '^[^ ]*drivers/net/kni/|files match|coccicheck failed|^(fatal )?error|Error [0-9]' <<< "$out")
	[ $rc -eq 0 ] || bad="$bad
$(tail -n 20 <<< "$out")"
	[ "$ran" -eq "$n" ] && [ "$n" -gt 0 ] ||
		bad="$bad
$ran of $n semantic patches ran"
	[ -z "$bad" ] && return 0
	sed '/^$/d' <<< "$bad"
	return 1
}
