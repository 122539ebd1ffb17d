#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the kni shell selftests; sourced after ../lib.sh.
# shellcheck disable=SC2154 # ksft_* are lib.sh's

# check_err ERR MSG: any non-zero ERR fails the test (whatever the number:
# ip exits 2 when the kernel refuses, which is no expected failure); the
# first MSG is the one reported.
check_err()
{
	local err=$1
	local msg=$2

	if ((err)); then
		ret_set_ksft_status "$ksft_fail" "$msg"
	fi
}

# check_fail ERR MSG: the test fails when something that must fail did not.
check_fail()
{
	local err=$1
	local msg=$2

	if ((err == 0)); then
		ret_set_ksft_status "$ksft_fail" "$msg"
	fi
}

# require_kni NS: skip the whole test when kni devices cannot be created.
require_kni()
{
	if ! ip -n "$1" link add kni_probe type kni 2>/dev/null; then
		echo "SKIP: cannot create a kni device (CONFIG_KNI)"
		exit "$ksft_skip"
	fi
	ip -n "$1" link del kni_probe
}

# The distribution's ip, to check that kni works without the kni-aware
# iproute2; the plain "ip" when the harness did not name one.
KNI_STOCK_IP=${KNI_STOCK_IP:-ip}

# expect_fail TEXT CMD...: CMD must fail and its output contain TEXT (the
# extack message).
expect_fail()
{
	local text=$1 out rc

	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		check_err 1 "'$*' succeeded"
	elif ! grep -qF -- "$text" <<< "$out"; then
		check_err 1 "'$*' said '$out', expected '$text'"
	fi
}

# expect_out TEXT CMD...: CMD must succeed and its output contain TEXT.
expect_out()
{
	local text=$1 out rc

	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then
		check_err $rc "'$*' failed: $out"
	elif ! grep -qF -- "$text" <<< "$out"; then
		check_err 1 "'$*' printed '$out', expected '$text'"
	fi
}

# kni_count NS: number of kni devices in NS.
kni_count()
{
	ip -n "$1" -o link show type kni | wc -l
}

# kni_json NS DEV EXPR: evaluate a Python expression over the device's
# "ip -j -d link show" object (d) and print the result.
kni_json()
{
	ip -n "$1" -j -d link show "$2" |
		python3 -c "import json, sys; d = json.load(sys.stdin)[0]; print($3)"
}
