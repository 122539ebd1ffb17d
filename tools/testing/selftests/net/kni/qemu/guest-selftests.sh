#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of run-selftests.sh: run the installed kselftests and keep
# their TAP output in the results share, and in kselftest.times each
# result line (a test's, or a check's inside it) after the second, since
# the start, at which it came, so that the host can say how long each
# took.
#
# usage: guest-selftests.sh KSELFTEST_INSTALL_DIR
set -o pipefail

echo "kni-vm: $(uname -r), $(nproc) CPUs"
# The tests use the ip first on PATH (the harness puts a kni-aware build
# there) and check that the distribution's ip still creates kni devices.
[ -x /usr/bin/ip ] && export KNI_STOCK_IP=/usr/bin/ip
cd "$1" || exit 1
start=$SECONDS
./run_kselftest.sh 2>&1 | tee "$KNI_RESULTS/kselftest.tap" |
while IFS= read -r line; do
	printf '%s\n' "$line"
	case "$line" in
	"ok "*|"not ok "*|"# ok "*|"# not ok "*|"# TEST: "*)
		echo "$((SECONDS - start)) $line" >> "$KNI_RESULTS/kselftest.times"
		;;
	esac
done
