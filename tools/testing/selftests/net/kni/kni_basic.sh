#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kni device lifetime with the stock iproute2: create, bring up, show and
# delete in a fresh netns, and many devices created then deleted.

source ../lib.sh
source kni_lib.sh

IP=$KNI_STOCK_IP

cleanup()
{
	cleanup_all_ns
}
trap cleanup EXIT

test_create_up_delete()
{
	RET=0

	$IP -n "$NS" link add kni0 type kni
	check_err $? "ip link add kni0 type kni failed"

	$IP -n "$NS" -d link show kni0 | grep -q "^ *kni "
	check_err $? "ip -d link show does not report kind kni"

	$IP -n "$NS" link show kni0 | grep -q "link/ether"
	check_err $? "kni0 is not an Ethernet device"

	$IP -n "$NS" link set kni0 up
	check_err $? "ip link set kni0 up failed"

	$IP -n "$NS" link show kni0 | grep -q "[<,]UP[,>]"
	check_err $? "kni0 is not administratively up"

	$IP -n "$NS" link del kni0
	check_err $? "ip link del kni0 failed"

	expect_fail "Device \"kni0\" does not exist." "$IP" -n "$NS" link show kni0
	check_kni_count "$NS" 0 "after the delete"

	log_test "create, up, show, delete"
}

test_many()
{
	local n=100 i

	RET=0
	for ((i = 0; i < n; i++)); do
		echo "link add kni$i type kni"
	done | $IP -n "$NS" -batch -
	check_err $? "creating $n devices failed"
	check_kni_count "$NS" $n "after creating $n"

	for ((i = 0; i < n; i++)); do
		echo "link del kni$i"
	done | $IP -n "$NS" -batch -
	check_err $? "deleting $n devices failed"
	check_kni_count "$NS" 0 "after deleting them"

	log_test "create $n devices, then delete them"
}

setup_ns NS || exit "$ksft_skip"
require_kni "$NS"
test_create_up_delete
test_many
exit "$EXIT_STATUS"
