#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Guest side of run-selftests.sh: run the installed kselftests in the
# streams LIST gives them, and keep in the results share each stream's
# TAP output (kselftest.STREAM.tap) and in kselftest.STREAM.times each
# result line (a test's, or a check's inside it) after the second, since
# the stream started, at which it came, so that the host can say how long
# each took.
#
# A line of LIST is "collection:test STREAM". The tests of stream "alone"
# run first, one after the other, with nothing beside them; then every
# other stream runs side by side with the rest, each its tests in the
# order LIST gives. Most tests keep to network namespaces of their own and
# run single-threaded: two streams keep both vCPUs busy.
#
# usage: guest-selftests.sh KSELFTEST_INSTALL_DIR LIST
set -o pipefail

echo "kni-vm: $(uname -r), $(nproc) CPUs"
# The tests use the ip first on PATH (the harness puts a kni-aware build
# there) and check that the distribution's ip still creates kni devices.
[ -x /usr/bin/ip ] && export KNI_STOCK_IP=/usr/bin/ip
cd "$1" || exit 1

declare -A tests
streams=()
while read -r entry stream rest; do
	case "$entry" in
	""|"#"*) continue ;;
	esac
	if [ -z "$stream" ] || [ -n "$rest" ]; then
		line="$entry${stream:+ $stream}${rest:+ $rest}"
		echo "kni-vm: '$line' in $2 is not 'collection:test STREAM'"
		exit 1
	fi
	[ -n "${tests[$stream]+set}" ] || streams+=("$stream")
	tests[$stream]+=" -t $entry"
done < "$2" || exit 1

# run STREAM: run STREAM's tests, and print their output with the stream's
# name before each line.
run()
{
	local start=$SECONDS line
	local tap=$KNI_RESULTS/kselftest.$1.tap times=$KNI_RESULTS/kselftest.$1.times

	# shellcheck disable=SC2086 # the -t options split on purpose
	./run_kselftest.sh ${tests[$1]} 2>&1 | tee "$tap" |
	while IFS= read -r line; do
		printf '[%s] %s\n' "$1" "$line"
		case "$line" in
		"ok "*|"not ok "*|"# ok "*|"# not ok "*|"# TEST: "*)
			echo "$((SECONDS - start)) $line" >> "$times"
			;;
		esac
	done
}

rc=0
if [ -n "${tests[alone]+set}" ]; then
	run alone || rc=1
fi
pids=()
for stream in "${streams[@]}"; do
	[ "$stream" = alone ] && continue
	run "$stream" &
	pids+=($!)
done
for pid in "${pids[@]}"; do
	wait "$pid" || rc=1
done
exit $rc
