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
# (default 10), BENCH_PINGS (default 1000), BENCH_TCP_SECONDS (iperf3's
# window in the tcp test, default 5), BENCH_TCP_STREAMS (default "1 4"),
# BENCH_DPDK (0 leaves the DPDK
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
tcp_secs=${BENCH_TCP_SECONDS:-5}
tcp_streams=${BENCH_TCP_STREAMS:-1 4}

out=${BENCH_KERNEL:-}
# "headers" alone would only install the headers of whatever kernel the
# cache holds, however old: build the kernel first.
if [ -z "$out" ]; then
	./tree/build-kernel.sh release > /dev/null
	out=$(./tree/build-kernel.sh release headers | tail -n 1)
fi
ipdir=$(./tree/iproute2.sh | tail -n 1)
make -s -C tools/lib/kni/bench O="$KNI_REPO/build/bench-bin" \
	KHDR_INCLUDES="-isystem $out/usr/include"
make -s -C tools/lib/kni O="$KNI_REPO/build/bench-bin/libkni" \
	KHDR_INCLUDES="-isystem $out/usr/include" all

# dpdk_dir NAME CMD...: run CMD (a tree/dpdk.sh command, NAME for
# messages); print the directory its last line names, or "error REASON"
# with the last line it wrote to stderr.
dpdk_dir()
{
	local name=$1 err dir

	shift
	err=$(mktemp)
	if dir=$("$@" 2> "$err" | tail -n 1) && [ -d "$dir" ]; then
		echo "$dir"
	else
		echo "error $name failed: $(grep -v '^[[:space:]]*$' "$err" | tail -n 1)"
	fi
	rm -f "$err"
}

# DPDK is optional: without it the DPDK methods report why. dpdk holds the
# artefacts of tree/dpdk.sh, dpdk_lib those of "tree/dpdk.sh lib" (for
# kni-testpmd: DPDK's net_kni PMD on kni's rte_kni library).
dpdk=
dpdk_lib=
if [ "${BENCH_DPDK:-1}" = 0 ]; then
	dpdk="error left out (BENCH_DPDK=0)"
	dpdk_lib=$dpdk
elif [ -d "${BENCH_DPDK:-}" ]; then
	dpdk=$(cd "$BENCH_DPDK" && pwd)
fi
[ -n "$dpdk" ] || dpdk=$(dpdk_dir tree/dpdk.sh ./tree/dpdk.sh "$out")
[ -n "$dpdk_lib" ] || dpdk_lib=$(dpdk_dir "tree/dpdk.sh lib" ./tree/dpdk.sh lib "$out")
dpdk_error=
dpdk_lib_error=
if [ "${dpdk#error }" != "$dpdk" ]; then
	dpdk_error=${dpdk#error }
	dpdk=
fi
if [ "${dpdk_lib#error }" != "$dpdk_lib" ]; then
	dpdk_lib_error=${dpdk_lib#error }
	dpdk_lib=
fi

# Each measurement takes its window plus about 3 s of setup, warm-up and
# teardown; DPDK's start under TCG takes up to a minute or two more.
# The tcp test: 6 methods, both ways, each stream count, iperf3's window
# plus 1 s left out and about 10 s of setup.
n=$(wc -w <<< "$sizes")
ntcp=$((6 * 2 * $(wc -w <<< "$tcp_streams")))
limit=${VM_TIMEOUT:-$((600 + rounds * n * 40 * (secs + 5) + 4 * idle +
	rounds * ntcp * (tcp_secs + 11)))}

rm -rf "$results"
mkdir -p "$results"
cmd=$(printf '%q ' env BENCH_SECONDS="$secs" BENCH_ROUNDS="$rounds" \
	BENCH_SIZES="$sizes" BENCH_ONLY="${BENCH_ONLY:-}" \
	BENCH_IDLE_SECONDS="$idle" BENCH_PINGS="$pings" \
	BENCH_TCP_SECONDS="$tcp_secs" BENCH_TCP_STREAMS="$tcp_streams" \
	BENCH_KNI_FWD="$KNI_REPO/build/bench-bin/libkni/kni-fwd" \
	BENCH_DPDK="$dpdk" BENCH_DPDK_ERROR="$dpdk_error" \
	BENCH_DPDK_LIB="$dpdk_lib" BENCH_DPDK_LIB_ERROR="$dpdk_lib_error" \
	"$KNI_REPO/$qemu/bench.sh" "$KNI_REPO/build/bench-bin/kni-bench")
echo "bench: booting $out (limit ${limit}s)" >&2
"$qemu/run-vm.sh" -t "$limit" -r "$results" -k "$out/arch/x86/boot/bzImage" \
	-p "$ipdir" "$cmd"
python3 tools/lib/kni/bench/report.py "$results/bench.raw" \
	"$KNI_REPO/build/bench.json"
echo "bench: wrote build/bench.json; raw figures and logs in build/bench/" >&2
