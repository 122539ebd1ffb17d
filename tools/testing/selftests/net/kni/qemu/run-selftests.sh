#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Run the installed kni kselftests in a VM and judge the results on the
# host: every test named in kselftests (beside this script, not the build's
# own list) must report "ok", the build must install no test that list does
# not name, every KUnit suite named in kunit-suites must pass, and the guest
# kernel must stay free of splats (run-vm.sh). Skips count as failures
# unless KNI_ALLOW_SKIP=1, and so do the skips inside a test that passed (a
# harness test's "# SKIP", a shell check's "[SKIP]"): the VM is built to
# run every test. A shell check that reports "[XFAIL]" fails: kni's tests
# expect no failure.
#
# usage: run-selftests.sh -k BZIMAGE -i KSELFTEST_INSTALL_DIR [-m MODULE]
#                         [-t SECONDS] [-p DIR]...
#   -m  kni.ko, when kni is a module (loaded before the tests)
#   -p  prepend DIR to the guest's PATH (e.g. a patched iproute2's ip)
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kernel=
install=
limit=1800
path_opts=()
module_opts=()
while getopts k:i:m:t:p: opt; do
	case "$opt" in
	k) kernel=$OPTARG ;;
	m) module_opts=(-m "$OPTARG") ;;
	i) install=$(cd "$OPTARG" && pwd) ;;
	t) limit=$OPTARG ;;
	p) path_opts+=(-p "$OPTARG") ;;
	*) exit 2 ;;
	esac
done
[ -n "$kernel" ] && [ -n "$install" ] || {
	echo "usage: ${0##*/} -k BZIMAGE -i KSELFTEST_INSTALL_DIR [-t SECONDS]" >&2
	exit 2
}

results=$(mktemp -d "${TMPDIR:-/tmp}/kni-selftests.XXXXXX")
trap 'rm -rf "$results"' EXIT

"$here/run-vm.sh" -k "$kernel" "${module_opts[@]}" -t "$limit" -r "$results" \
	"${path_opts[@]}" \
	"$here/guest-selftests.sh" "$install" "$here/kselftests"
vm_rc=$?

# stream_files EXT: the guest's kselftest.STREAM.EXT files, "alone" first.
stream_files()
{
	local f alone=$results/kselftest.alone.$1

	[ ! -f "$alone" ] || echo "$alone"
	for f in "$results"/kselftest.*."$1"; do
		[ -f "$f" ] && [ "$f" != "$alone" ] && echo "$f"
	done
}

# All streams' TAP output, also when the VM did not finish.
mapfile -t taps < <(stream_files tap)
cat "${taps[@]}" /dev/null > "$results/kselftest.tap"

passed=0
failed=0
skipped=0
report=()

# kselftests: one TAP line per entry of the expected list (its first
# column; the second is the stream the guest runs it in).
mapfile -t expected < <(grep -vE '^(#|$)' "$here/kselftests" | awk '{ print $1 }')
if [ ${#expected[@]} -eq 0 ]; then
	failed=$((failed + 1))
	report+=("MISSING  the list of expected tests ($here/kselftests)")
fi
for entry in "${expected[@]}"; do
	collection=${entry%%:*}
	test=${entry#*:}
	line=$(grep -E "^(not )?ok [0-9]+ selftests: $collection: $test( |$)" \
		"$results/kselftest.tap" 2>/dev/null | tail -n 1)
	case "$line" in
	"") failed=$((failed + 1)); report+=("MISSING  $collection:$test") ;;
	"not ok"*) failed=$((failed + 1)); report+=("FAIL     $collection:$test") ;;
	*"# SKIP"*) skipped=$((skipped + 1)); report+=("SKIP     $collection:$test") ;;
	*) passed=$((passed + 1)) ;;
	esac
done
while read -r entry; do
	[ -n "$entry" ] || continue
	printf '%s\n' "${expected[@]}" | grep -qxF -- "$entry" && continue
	failed=$((failed + 1))
	report+=("UNLISTED $entry (installed, not in qemu/kselftests)")
done < "$install/kselftest-list.txt"

# Inside the tests: a skipped harness test or shell check is a skip, an
# expected failure a failure, whatever the test's exit status said.
while read -r line; do
	case "$line" in
	*XFAIL*) failed=$((failed + 1)); report+=("XFAIL    $line") ;;
	*) skipped=$((skipped + 1)); report+=("SKIP     $line") ;;
	esac
done < <(grep -E '^# +(ok [0-9]+ .*# SKIP|TEST: .*\[(SKIP|XFAIL)\]$)' \
	"$results/kselftest.tap" 2>/dev/null | sed 's/^# *//')

# KUnit: top-level KTAP result lines of the boot-time run, in dmesg.
ktap=$(sed -E 's/^\[ *[0-9]+\.[0-9]+\] ?//' "$results/dmesg.txt" 2>/dev/null |
	grep -E '^(not )?ok [0-9]+ [a-z0-9_]+')
mapfile -t suites < <(grep -vE '^(#|$)' "$here/kunit-suites")
if [ ${#suites[@]} -eq 0 ]; then
	failed=$((failed + 1))
	report+=("MISSING  the list of expected KUnit suites ($here/kunit-suites)")
fi
for suite in "${suites[@]}"; do
	line=$(grep -E "^(not )?ok [0-9]+ $suite( |$)" <<< "$ktap" | tail -n 1)
	case "$line" in
	"") failed=$((failed + 1)); report+=("MISSING  kunit:$suite") ;;
	"not ok"*) failed=$((failed + 1)); report+=("FAIL     kunit:$suite") ;;
	*"# SKIP"*) skipped=$((skipped + 1)); report+=("SKIP     kunit:$suite") ;;
	*) passed=$((passed + 1)) ;;
	esac
done
# A KUnit case skipped inside a suite that passed.
while read -r line; do
	skipped=$((skipped + 1))
	report+=("SKIP     kunit: $line")
done < <(sed -E 's/^\[ *[0-9]+\.[0-9]+\] ?//' "$results/dmesg.txt" 2>/dev/null |
	grep -E '^ +ok [0-9]+ .*# SKIP' | sed 's/^ *//')

# How long each test took, and the checks inside the tests that took
# longest (each from the result line before it in its stream); if the VM
# did not finish, a stream stopped in the test after the last one listed.
mapfile -t times < <(stream_files times)
if [ ${#times[@]} -gt 0 ]; then
	# shellcheck disable=SC2016 # awk's $1, not the shell's
	delta='{ t = $1; $1 = ""; printf "%d%s\n", t - prev, $0; prev = t }'
	echo "Seconds each test took in the guest, by stream" \
		"(alone ran first, the others side by side):"
	for f in "${times[@]}"; do
		stream=${f%.times}
		stream=${stream##*/kselftest.}
		awk "$delta" "$f" > "$f.durations"
		grep -E '^[0-9]+ (not )?ok ' "$f" | awk "$delta" |
			sed -E "s/^([0-9]+) /  [$stream] \1 /"
		echo "  [$stream] $(tail -n 1 "$f" | cut -d' ' -f1) seconds in all"
	done
	echo "The slowest checks inside them:"
	cat "${times[@]/%/.durations}" | grep -E '^[0-9]+ # ' |
		sort -rn | head -n 8 | sed -E 's/^([0-9]+) # /  \1 /'
fi
if [ -n "$ktap" ]; then
	echo "KUnit results from the guest kernel log:"
	sed 's/^/  /' <<< "$ktap"
fi
for r in "${report[@]}"; do
	echo "$r"
done
if [ $vm_rc -ne 0 ] && [ $failed -eq 0 ]; then
	# The tests said ok but the VM run failed (splat, crash, timeout).
	failed=1
fi
if [ $failed -ne 0 ] || [ $skipped -ne 0 ]; then
	echo "TAP output of the run:"
	sed 's/^/  | /' "$results/kselftest.tap" 2>/dev/null
	echo "Tail of the guest kernel log:"
	tail -n 30 "$results/dmesg.txt" 2>/dev/null | sed 's/^/  | /'
	# Last, where a log that keeps only its end still shows it: what
	# failed, and why the VM run did when every test said ok.
	echo "What failed or was skipped:"
	for r in "${report[@]}"; do
		echo "  $r"
	done
	if [ -s "$results/vm-failure" ]; then
		sed '1s/^/  VM run: /; 2,$s/^/    /' "$results/vm-failure" | head -n 8
	elif [ $vm_rc -ne 0 ]; then
		echo "  VM run: run-vm.sh exited with status $vm_rc"
	fi
fi
echo "$passed passed, $failed failed, $skipped skipped"
[ $failed -eq 0 ] || exit 1
[ $skipped -eq 0 ] || [ "${KNI_ALLOW_SKIP:-0}" = 1 ] || exit 1
exit 0
