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
