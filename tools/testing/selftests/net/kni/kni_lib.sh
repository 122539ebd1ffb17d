#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the kni shell selftests; sourced after ../lib.sh.

# check_err ERR MSG: record the first failure of a test.
check_err()
{
	local err=$1
	local msg=$2

	if [[ $RET -eq 0 && $err -ne 0 ]]; then
		RET=$err
		retmsg=$msg
	fi
}

# check_fail ERR MSG: record a failure when something that must fail did not.
check_fail()
{
	local err=$1
	local msg=$2

	if [[ $RET -eq 0 && $err -eq 0 ]]; then
		RET=1
		retmsg=$msg
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
