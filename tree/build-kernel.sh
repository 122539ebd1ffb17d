#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Configure and build a kernel flavour in the assembled tree.
#
# usage: build-kernel.sh FLAVOUR [MAKE ARGS...]
#   release  tinyconfig + qemu/x86_64.config + the selftest config + qemu/release.config
#   debug    x86_64.config + the selftest config + qemu/debug.config (KASAN, ...)
#   kcsan    x86_64.config + the selftest config + qemu/kcsan.config (KCSAN)
#   module   release with CONFIG_KNI=m; only prepares the tree (build checks)
#
# The build directory is keyed by the flavour's configuration, so editing a
# driver file rebuilds incrementally while a configuration change gets a
# directory of its own. Prints the build directory on the last line; kni
# is built in, except in the debug and kcsan flavours, where the build
# directory holds drivers/net/kni/kni.ko.
set -euo pipefail

# shellcheck source=tree/env.sh
. "$(dirname "$0")/env.sh"

flavour=${1:?usage: build-kernel.sh release|debug|kcsan|module [MAKE ARGS...]}
shift

st=$KNI_REPO/tools/testing/selftests/net/kni
fragments=("$st/qemu/x86_64.config" "$st/config")
case "$flavour" in
release) fragments+=("$st/qemu/release.config") ;;
debug) fragments+=("$st/qemu/debug.config") ;;
kcsan) fragments+=("$st/qemu/kcsan.config") ;;
module) ;;
*) kni_die "unknown flavour '$flavour'" ;;
esac

kni_lock

work=$KNI_CACHE/build
mkdir -p "$work"
frag_all=$(mktemp)
trap 'rm -f "$frag_all"' EXIT
# Later fragments override earlier ones; keep one line per option.
{ cat "${fragments[@]}"; [ "$flavour" != module ] || echo 'CONFIG_KNI=m'; } |
	grep '^CONFIG_' | tac | awk -F= '!seen[$1]++' | tac > "$frag_all"

cfg_hash=$( (echo "$KNI_BASE_VERSION $flavour"; cat "$frag_all") |
	sha256sum | cut -c1-12)
out=$work/$flavour-$cfg_hash

# Drop stale builds of this flavour (older configurations).
for old in "$work/$flavour"-*; do
	[ -d "$old" ] && [ "$old" != "$out" ] && rm -rf "$old"
done

kmake()
{
	make -s -C "$KNI_SRC" O="$out" -j"$KNI_JOBS" "$@"
}

if [ ! -f "$out/.config" ] || [ "$(cat "$out/.kni-config" 2>/dev/null)" != "$cfg_hash" ]; then
	echo "build-kernel: configuring $flavour in $out" >&2
	mkdir -p "$out"
	kmake tinyconfig >/dev/null
	KCONFIG_CONFIG=$out/.config "$KNI_SRC/scripts/kconfig/merge_config.sh" \
		-m -O "$out" "$out/.config" "$frag_all" >/dev/null
	kmake olddefconfig >/dev/null
	# Every option the fragments ask for must have survived olddefconfig:
	# a silently dropped dependency is a broken test kernel.
	bad=0
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=n)
			opt=${line%%=*}
			if grep -q "^$opt=" "$out/.config"; then
				echo "build-kernel: $opt should be off" >&2
				bad=1
			fi ;;
		CONFIG_*=*)
			if ! grep -qxF "$line" "$out/.config"; then
				echo "build-kernel: $line not honoured: $(grep "^${line%%=*}=" "$out/.config" || echo unset)" >&2
				bad=1
			fi ;;
		esac
	done < "$frag_all"
	[ $bad -eq 0 ] || kni_die "configuration of $flavour is incomplete"
	echo "$cfg_hash" > "$out/.kni-config"
	rm -f "$out/.kni-built"
fi

# The source hash: what the assembled tree adds to or changes in the base,
# apart from selftests and documentation, which do not go into the kernel.
src_hash=$(cd "$KNI_SRC" && {
	git diff kni-base -- . ':!tools' ':!Documentation'
	grep -vE '^(#|$|tools/|Documentation/)' "$KNI_REPO/tree/overlay" |
		while read -r p; do
			[ ! -e "$p" ] || find "$p" -type f -print0
		done | LC_ALL=C sort -z | xargs -0r sha256sum
	} | sha256sum | cut -c1-12)

if [ $# -gt 0 ]; then
	kmake "$@" >&2
elif [ "$flavour" = module ]; then
	kmake modules_prepare >&2
elif [ "$(cat "$out/.kni-built" 2>/dev/null)" != "$src_hash" ] ||
     [ ! -f "$out/arch/x86/boot/bzImage" ]; then
	echo "build-kernel: building $flavour kernel" >&2
	kmake bzImage modules >&2
	echo "$src_hash" > "$out/.kni-built"
fi
echo "$out"
