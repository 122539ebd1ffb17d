#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kni device lifetime with the stock iproute2: create, bring up, show and
# delete in a fresh netns, and many devices created then deleted.

source ../lib.sh
source kni_lib.sh

cleanup()
{
	cleanup_all_ns
}
trap cleanup EXIT

test_create_up_delete()
{
	RET=0

	ip -n "$NS" link add kni0 type kni
	check_err $? "ip link add kni0 type kni failed"

	ip -n "$NS" -d link show kni0 | grep -q "^ *kni "
	check_err $? "ip -d link show does not report kind kni"

	ip -n "$NS" link show kni0 | grep -q "link/ether"
	check_err $? "kni0 is not an Ethernet device"

	ip -n "$NS" link set kni0 up
	check_err $? "ip link set kni0 up failed"

	ip -n "$NS" link show kni0 | grep -q "[<,]UP[,>]"
	check_err $? "kni0 is not administratively up"

	ip -n "$NS" link del kni0
	check_err $? "ip link del kni0 failed"

	ip -n "$NS" link show kni0 &>/dev/null
	check_fail $? "kni0 still exists after delete"

	log_test "create, up, show, delete"
}

test_many()
{
	local n=100 i cnt

	RET=0
	for ((i = 0; i < n; i++)); do
		echo "link add kni$i type kni"
	done | ip -n "$NS" -batch -
	check_err $? "creating $n devices failed"

	cnt=$(ip -n "$NS" -o link show type kni | wc -l)
	[ "$cnt" -eq "$n" ]
	check_err $? "expected $n kni devices, found $cnt"

	for ((i = 0; i < n; i++)); do
		echo "link del kni$i"
	done | ip -n "$NS" -batch -
	check_err $? "deleting $n devices failed"

	cnt=$(ip -n "$NS" -o link show type kni | wc -l)
	[ "$cnt" -eq 0 ]
	check_err $? "$cnt kni devices left after delete"

	log_test "create $n devices, then delete them"
}

setup_ns NS || exit "$ksft_skip"
require_kni "$NS"
test_create_up_delete
test_many
exit "$EXIT_STATUS"
