#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The static checks netdev runs, on kni's kernel-side files in the assembled
# tree: checkpatch --strict (with codespell), sparse (C=2) and W=1 on a
# CONFIG_KNI=m build, coccicheck, and kernel-doc. Any finding fails.
set -uo pipefail

# shellcheck source=tree/env.sh
. "$(dirname "$0")/env.sh"

cd "$KNI_SRC" || exit 1
failed=0
passed=0

report()
{
	local name=$1 out=$2

	if [ -n "$out" ]; then
		echo "not ok - $name"
		sed 's/^/  | /' <<< "$out"
		failed=$((failed + 1))
	else
		echo "ok - $name"
		passed=$((passed + 1))
	fi
}

mapfile -t kfiles < <(git ls-files -o -m --exclude-standard -- drivers/net/kni \
	include/uapi/linux/kni.h tools/lib/kni; \
	find drivers/net/kni include/uapi/linux/kni.h tools/lib/kni \
	-type f \( -name '*.[ch]' -o -name Kconfig -o -name Makefile \) \
	2>/dev/null | grep -v '^tools/lib/kni/.*Makefile$')
mapfile -t kfiles < <(printf '%s\n' "${kfiles[@]}" | sort -u | grep .)
mapfile -t cfiles < <(printf '%s\n' "${kfiles[@]}" | grep '\.[ch]$')

spell=/usr/lib/python3/dist-packages/codespell_lib/data/dictionary.txt
out=$(scripts/checkpatch.pl --strict --terse --show-types --codespell \
	--codespellfile "$spell" -f "${kfiles[@]}" 2>&1 |
	grep -E ': (ERROR|WARNING|CHECK):')
report "checkpatch --strict (${#kfiles[@]} files)" "$out"

out=$(scripts/kernel-doc -Wall -none "${cfiles[@]}" 2>&1)
report "kernel-doc -Wall -none" "$out"

# A CONFIG_KNI=m tree, prepared once; then the module's objects alone,
# always recompiled so that every W=1 warning shows, with sparse on every
# file (C=2). modpost is left out: a prepared tree has no vmlinux symbols.
mod=$("$KNI_REPO/tree/build-kernel.sh" module | tail -n 1) || exit 1
rm -rf "$mod/drivers/net/kni"
out=$(make -s -C "$KNI_SRC" O="$mod" -j"$KNI_JOBS" W=1 C=2 \
	drivers/net/kni/ 2>&1 | grep -vE '^make(\[[0-9]+\])?: (Entering|Leaving)')
report "build CONFIG_KNI=m with W=1 and sparse (C=2)" "$out"

out=$(make -s -C "$KNI_SRC" coccicheck MODE=report M="$KNI_SRC/drivers/net/kni" \
	J="$KNI_JOBS" 2>&1 | grep -E '^[^ ]*drivers/net/kni/')
report "coccicheck MODE=report" "$out"

echo "static: $passed passed, $failed failed"
[ $failed -eq 0 ]
