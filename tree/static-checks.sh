#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The static checks netdev runs, on kni's kernel-side files in the assembled
# tree: checkpatch --strict (with codespell), sparse (C=2) and W=1 on a
# CONFIG_KNI=m build, coccicheck, kernel-doc, and the documentation build
# (make htmldocs) of Documentation/networking/kni.rst.
#
# usage: static-checks.sh [htmldocs [TREE]]
#   htmldocs  only the documentation check, on TREE (default: the
#             assembled tree), for instance a copy of it being edited
#
# Every check fails closed: a finding fails it, and so does a tool that
# is missing, exits with an error, prints anything it was not asked for
# (a Python traceback from a helper script, a note that codespell is off)
# or does less work than it should (a semantic patch that did not run, an
# object that was not built).
set -uo pipefail

# shellcheck source=tree/env.sh
. "$(dirname "$0")/env.sh"

# The distribution's interpreters and tools, not ones a user put first on
# PATH (checkpatch's spdxcheck.py needs Debian's python3-ply and
# python3-git; coccinelle's OCaml scripts need Debian's OCaml).
export PATH=/usr/sbin:/usr/bin:/sbin:/bin:$PATH

failed=0
passed=0

# report NAME RC OUTPUT [WHY]: the check passed when RC is 0 and it left
# no OUTPUT; WHY says what else went wrong, if anything.
report()
{
	local name=$1 rc=$2 out=$3 why=${4:-}

	if [ "$rc" -eq 0 ] && [ -z "$out" ] && [ -z "$why" ]; then
		echo "ok - $name"
		passed=$((passed + 1))
		return
	fi
	echo "not ok - $name"
	[ "$rc" -eq 0 ] || echo "  | exit status $rc"
	[ -z "$why" ] || echo "  | $why"
	[ -z "$out" ] || sed 's/^/  | /' <<< "$out"
	failed=$((failed + 1))
}

# need TOOL...: the tools a check runs must be there.
need()
{
	local t missing=()

	for t in "$@"; do
		command -v "$t" > /dev/null || missing+=("$t")
	done
	[ ${#missing[@]} -eq 0 ] || echo "missing tools: ${missing[*]}"
}

# htmldocs TREE: Documentation/networking of TREE built by the kernel's
# own "make htmldocs SPHINXDIRS=networking", with the distribution's
# sphinx. A warning or an error that names kni fails the check; those of
# upstream files do not (a networking-only build has a few, such as
# labels defined in other directories). The build starts from an empty
# directory, since sphinx reports only on the files it reads, and TREE is
# only read: the pages htmldocs generates from the netlink specs, which it
# would write into TREE, go to the build directory, out of sphinx's sight
# (networking's index warns that they are missing).
htmldocs()
{
	local name="htmldocs SPHINXDIRS=networking (kni.rst)"
	local tree build out rc why bad

	why=$(need sphinx-build)
	# As make -C resolves it, for the paths sphinx prints.
	if ! tree=$(realpath -e "$1") || ! build=$(mktemp -d); then
		report "$name" 1 "" "no tree $1, or no temporary directory"
		return
	fi
	mkdir "$build/netlink_spec"
	out=$(PYTHONDONTWRITEBYTECODE=1 make -C "$tree" O="$build/out" \
		-j"$KNI_JOBS" SPHINXDIRS=networking \
		YNL_RST_DIR="$build/netlink_spec" \
		YNL_INDEX="$build/netlink_spec/index.rst" htmldocs 2>&1)
	rc=$?
	[ -s "$build/out/Documentation/output/networking/kni.html" ] ||
		why="${why:+$why; }kni.html was not built"
	rm -rf "$build"
	# Paths relative to the tree: only kni's own files say "kni" then.
	out=${out//"$build"/}
	out=${out//"$tree"\//}
	out=${out//"$tree"/}
	bad=$(grep -wE 'kni|Traceback|Exception occurred' <<< "$out")
	[ $rc -eq 0 ] || bad="$bad
$(tail -n 20 <<< "$out")"
	report "$name" $rc "$bad" "$why"
}

if [ "${1:-}" = htmldocs ]; then
	htmldocs "${2:-$KNI_SRC}"
	echo "static: $passed passed, $failed failed"
	[ $failed -eq 0 ]
	exit
fi

cd "$KNI_SRC" || exit 1

mapfile -t kfiles < <(find drivers/net/kni include/uapi/linux/kni.h tools/lib/kni \
	-type f \( -name '*.[ch]' -o -name Kconfig -o -name Makefile \) \
	2>/dev/null | grep -v '^tools/lib/kni/.*Makefile$' | LC_ALL=C sort)
mapfile -t cfiles < <(printf '%s\n' "${kfiles[@]}" | grep '\.[ch]$')
mapfile -t drvobjs < <(find drivers/net/kni -name '*.c' -printf '%f\n' |
	sed 's/\.c$/.o/' | LC_ALL=C sort)
if [ ${#cfiles[@]} -lt 10 ] || [ ${#drvobjs[@]} -lt 5 ]; then
	report "kni's files in $KNI_SRC" 1 "$(printf '%s\n' "${kfiles[@]}")" \
		"too few files found: is the tree assembled?"
fi

# checkpatch: -q prints nothing for a clean file, so any output fails.
spell=/usr/lib/python3/dist-packages/codespell_lib/data/dictionary.txt
why=$(need perl python3 codespell)
[ -f "$spell" ] || why="${why:+$why; }codespell dictionary $spell missing"
python3 -c 'import ply, git' 2>/dev/null ||
	why="${why:+$why; }python3 lacks ply or git (spdxcheck.py)"
out=$(scripts/checkpatch.pl --strict -q --show-types --codespell \
	--codespellfile "$spell" -f "${kfiles[@]}" 2>&1)
report "checkpatch --strict (${#kfiles[@]} files)" $? "$out" "$why"

out=$(scripts/kernel-doc -Wall -Werror -none "${cfiles[@]}" 2>&1)
report "kernel-doc -Wall -none (${#cfiles[@]} files)" $? "$out" "$(need perl)"

# A CONFIG_KNI=m tree, prepared once; then the module's objects alone,
# always recompiled so that every W=1 warning shows, with sparse on every
# file (C=2). modpost is left out: a prepared tree has no vmlinux symbols.
if mod=$("$KNI_REPO/tree/build-kernel.sh" module | tail -n 1); then
	rm -rf "$mod/drivers/net/kni"
	out=$(make -s -C "$KNI_SRC" O="$mod" -j"$KNI_JOBS" W=1 C=2 \
		drivers/net/kni/ 2>&1)
	rc=$?
	out=$(grep -vE '^make(\[[0-9]+\])?: (Entering|Leaving)' <<< "$out")
	why=$(need sparse)
	for o in "${drvobjs[@]}"; do
		[ -f "$mod/drivers/net/kni/$o" ] ||
			why="${why:+$why; }drivers/net/kni/$o was not built"
	done
	report "build CONFIG_KNI=m with W=1 and sparse (C=2)" $rc "$out" "$why"
else
	report "build CONFIG_KNI=m with W=1 and sparse (C=2)" 1 "" \
		"preparing the CONFIG_KNI=m tree failed"
fi

# coccicheck: every semantic patch runs and finds nothing.
ncocci=$(find scripts/coccinelle -name '*.cocci' | wc -l)
why=$(need spatch ocamlfind ocamlopt)
out=$(kni_coccicheck "$KNI_SRC")
report "coccicheck MODE=report ($ncocci semantic patches)" $? "$out" "$why"

htmldocs "$KNI_SRC"

echo "static: $passed passed, $failed failed"
[ $failed -eq 0 ]
