#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make check: the static checks, the Linux series, the DPDK companion's
# series and the submission emails, then the selftests in the VM on the
# debug kernel. All always run; the last line adds their counts up.
#
# usage: check.sh [debug|kcsan]
#   kcsan  ("make check-kcsan") only the selftests, on the KCSAN kernel; a
#          data race report naming kni fails the run
set -uo pipefail

# shellcheck source=tree/env.sh
. "$(dirname "$0")/env.sh"

qemu=$KNI_REPO/tools/testing/selftests/net/kni/qemu
log=$(mktemp)
trap 'rm -f "$log" "$log".*' EXIT

flavour=${1:-debug}
case "$flavour" in
debug) ;;
kcsan) export KNI_KCSAN=1 ;;
*) kni_die "unknown flavour '$flavour'" ;;
esac

static_rc=0
# What failed, named again at the end, where a log that keeps only its
# last lines still shows it.
failures=()
if [ "$flavour" = debug ]; then
	echo "== static checks"
	"$KNI_REPO/tree/static-checks.sh" | tee "$log.static"
	static_rc=${PIPESTATUS[0]}
	tail -n 1 "$log.static" >> "$log"
	[ "$static_rc" -eq 0 ] ||
		failures+=("static checks: $(sed -n 's/^not ok - //p' "$log.static" |
			paste -sd ';' -)")
fi

# step TITLE NAME CMD...: one check whose CMD prints its summary last;
# ok with that summary, or not ok - NAME with what CMD said on stderr.
step()
{
	local title=$1 name=$2 msg

	shift 2
	echo "== $title"
	if msg=$("$@" 2> "$log.step" | tail -n 1) && [ -n "$msg" ]; then
		echo "ok - $msg"
		echo "1 passed, 0 failed" >> "$log"
	else
		sed 's/^/  | /' "$log.step"
		echo "not ok - $name"
		echo "0 passed, 1 failed" >> "$log"
		failures+=("$name")
		static_rc=1
	fi
}

# dpdk_series: the DPDK companion's series against the debug kernel's
# headers.
dpdk_series()
{
	local out

	out=$("$KNI_REPO/tree/build-kernel.sh" debug headers | tail -n 1) &&
		"$KNI_REPO/tree/dpdk.sh" patches --check "$out"
}

if [ "$flavour" = debug ]; then
	# patches/linux is what tree/linux-series.sh writes, applies to the
	# base and builds after each patch.
	step "the Linux series" patches/linux \
		"$KNI_REPO/tree/linux-series.sh" --check
	# patches/dpdk is what tree/dpdk.sh writes, applies to DPDK's source
	# and builds there.
	step "the DPDK series" patches/dpdk dpdk_series
	# The series as emails (tree/submission.sh): b4 writes them offline
	# from patches/linux and patches/iproute2, addressed, with the
	# patches' own diffs, and sends nothing.
	step "the submission emails" "the submission emails" \
		"$KNI_REPO/tree/submission.sh" --check
fi

# The tests find the kernel's own tools (YNL) in the assembled tree.
export KNI_KSRC=$KNI_SRC

echo "== selftests in the VM ($flavour kernel)"
vm_rc=1
# The rte_kni tests build against librte_kni, which is built against the
# kernel's uapi headers.
if ipdir=$("$KNI_REPO/tree/iproute2.sh" | tail -n 1) &&
   out=$("$KNI_REPO/tree/build-kernel.sh" "$flavour" | tail -n 1) &&
   "$KNI_REPO/tree/build-kernel.sh" "$flavour" headers > "$log.install" 2>&1 &&
   rte=$("$KNI_REPO/tree/dpdk.sh" lib "$out" 2>> "$log.install" | tail -n 1) &&
   "$KNI_REPO/tree/build-kernel.sh" "$flavour" kselftest-install \
	TARGETS=net/kni RTE_KNI="$rte" >> "$log.install" 2>&1 ||
   { cat "$log.install"; false; }; then
	"$qemu/run-selftests.sh" -t "${VM_TIMEOUT:-4500}" \
		-k "$out/arch/x86/boot/bzImage" -m "$out/drivers/net/kni/kni.ko" \
		-p "$ipdir" \
		-i "$out/kselftest/kselftest_install" | tee "$log.vm"
	vm_rc=${PIPESTATUS[0]}
	tail -n 1 "$log.vm" >> "$log"
	[ "$vm_rc" -eq 0 ] ||
		failures+=("selftests in the VM ($flavour kernel): what failed is listed above")
else
	echo "not ok - building iproute2, the $flavour kernel or the selftests failed"
	echo "0 passed, 1 failed" >> "$log"
	failures+=("building iproute2, the $flavour kernel or the selftests")
fi

sum()
{
	grep -oE "[0-9]+ $1" "$log" | awk '{ n += $1 } END { print n + 0 }'
}
p=$(sum passed)
f=$(sum failed)
s=$(sum skipped)
if [ "$static_rc" -ne 0 ] || [ "$vm_rc" -ne 0 ]; then
	[ "$f" -gt 0 ] || f=1
fi
for what in "${failures[@]}"; do
	echo "not ok: $what"
done
echo "$p passed, $f failed, $s skipped"
[ "$static_rc" -eq 0 ] && [ "$vm_rc" -eq 0 ]
