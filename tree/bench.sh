#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench: build the release kernel, kni-bench and (when tree/dpdk.sh
# can) DPDK, boot the kernel once and measure, in the VM, how fast a
# userspace dataplane exchanges packets with the stack through kni and
# through its peers (tools/testing/selftests/net/kni/qemu/bench.sh); then
# print the table and write build/bench.json
# (tools/lib/kni/bench/report.py).
#
# usage: bench.sh
#
# Environment: BENCH_SECONDS (window of one measurement, default 3),
# BENCH_ROUNDS (interleaved rounds, default 3), BENCH_SIZES (default
# "64 1500"), BENCH_ONLY (a regular expression on TEST:METHOD, e.g.
# 'to_stack:kni' or 'rtt:', to measure a subset), BENCH_IDLE_SECONDS
# (default 10), BENCH_PINGS (default 1000), BENCH_DPDK (0 leaves the DPDK
# methods out, and they report why; a directory is used as tree/dpdk.sh's
# artefacts instead of running it), BENCH_KERNEL (a release build
# directory with its headers installed, used instead of building one),
# VM_TIMEOUT (default: from the number of measurements).
#
# The raw figures and every measurement's log stay in build/bench/.
set -euo pipefail

# shellcheck source=tree/env.sh
. "$(dirname "$0")/env.sh"

cd "$KNI_REPO"
qemu=tools/testing/selftests/net/kni/qemu
results=$KNI_REPO/build/bench
secs=${BENCH_SECONDS:-3}
rounds=${BENCH_ROUNDS:-3}
sizes=${BENCH_SIZES:-64 1500}
idle=${BENCH_IDLE_SECONDS:-10}
pings=${BENCH_PINGS:-1000}

out=${BENCH_KERNEL:-}
[ -n "$out" ] || out=$(./tree/build-kernel.sh release headers | tail -n 1)
ipdir=$(./tree/iproute2.sh | tail -n 1)
make -s -C tools/lib/kni/bench O="$KNI_REPO/build/bench-bin" \
	KHDR_INCLUDES="-isystem $out/usr/include"

# DPDK is optional: without it the DPDK methods report why.
dpdk=
dpdk_error=
if [ "${BENCH_DPDK:-1}" = 0 ]; then
	dpdk_error="left out (BENCH_DPDK=0)"
elif [ -d "${BENCH_DPDK:-}" ]; then
	dpdk=$(cd "$BENCH_DPDK" && pwd)
elif [ ! -x tree/dpdk.sh ]; then
	dpdk_error="tree/dpdk.sh is missing"
else
	err=$(mktemp)
	if dpdk=$(./tree/dpdk.sh "$out" 2> "$err" | tail -n 1) &&
	   [ -d "$dpdk" ]; then
		:
	else
		dpdk=
		dpdk_error="tree/dpdk.sh failed: $(grep -v '^[[:space:]]*$' "$err" |
			tail -n 1)"
	fi
	rm -f "$err"
fi

# kni-testpmd: DPDK's net_kni PMD on kni's rte_kni library, for Debian's
# own testpmd; against the release kernel's uapi headers.
dpdk_lib=
dpdk_lib_error=
if [ "${BENCH_DPDK:-1}" = 0 ]; then
	dpdk_lib_error="left out (BENCH_DPDK=0)"
else
	err=$(mktemp)
	if dpdk_lib=$(./tree/dpdk.sh lib "$out" 2> "$err" | tail -n 1) &&
	   [ -d "$dpdk_lib" ]; then
		:
	else
		dpdk_lib=
		dpdk_lib_error="tree/dpdk.sh lib failed: $(grep -v '^[[:space:]]*$' "$err" |
			tail -n 1)"
	fi
	rm -f "$err"
fi

# Each measurement takes its window plus about 3 s of setup, warm-up and
# teardown; DPDK's start under TCG takes up to a minute or two more.
n=$(wc -w <<< "$sizes")
limit=${VM_TIMEOUT:-$((600 + rounds * n * 40 * (secs + 5) + 4 * idle))}

rm -rf "$results"
mkdir -p "$results"
cmd=$(printf '%q ' env BENCH_SECONDS="$secs" BENCH_ROUNDS="$rounds" \
	BENCH_SIZES="$sizes" BENCH_ONLY="${BENCH_ONLY:-}" \
	BENCH_IDLE_SECONDS="$idle" BENCH_PINGS="$pings" \
	BENCH_DPDK="$dpdk" BENCH_DPDK_ERROR="$dpdk_error" \
	BENCH_DPDK_LIB="$dpdk_lib" BENCH_DPDK_LIB_ERROR="$dpdk_lib_error" \
	"$KNI_REPO/$qemu/bench.sh" "$KNI_REPO/build/bench-bin/kni-bench")
echo "bench: booting $out (limit ${limit}s)" >&2
"$qemu/run-vm.sh" -t "$limit" -r "$results" -k "$out/arch/x86/boot/bzImage" \
	-p "$ipdir" "$cmd"
python3 tools/lib/kni/bench/report.py "$results/bench.raw" \
	"$KNI_REPO/build/bench.json"
echo "bench: wrote build/bench.json; raw figures and logs in build/bench/" >&2
