#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kni devices and network namespaces: creation in another namespace,
# independent names per namespace, the refusal to move a device, and
# deleting a namespace with devices inside.

source ../lib.sh
source kni_lib.sh

cleanup()
{
	cleanup_all_ns
}
trap cleanup EXIT

test_create_in_netns()
{
	RET=0

	ip -n "$NS1" link add kni0 type kni
	check_err $? "ip -n NS link add failed"
	ip link add kni0 netns "$NS2" type kni queues 2
	check_err $? "ip link add ... netns NS failed"
	expect_fail "Device \"kni0\" does not exist." ip link show kni0

	# The same name in two namespaces, each device on its own.
	expect_out "queues 1 " ip -n "$NS1" -d link show kni0
	expect_out "queues 2 " ip -n "$NS2" -d link show kni0
	check_kni_count "$NS1" 1 "with a device in each namespace"
	check_kni_count "$NS2" 1 "with a device in each namespace"

	ip -n "$NS1" link del kni0
	check_err $? "deleting kni0 in the first namespace failed"
	expect_out "queues 2 " ip -n "$NS2" -d link show kni0
	ip -n "$NS2" link del kni0
	check_err $? "deleting kni0 in the second namespace failed"
	log_test "create in a namespace; names per namespace"
}

test_immutable()
{
	RET=0

	ip -n "$NS1" link add kni0 type kni
	check_err $? "creating kni0 failed"
	expect_fail "The interface netns is immutable" \
		ip -n "$NS1" link set kni0 netns "$NS2"
	ip -n "$NS1" link show kni0 &>/dev/null
	check_err $? "kni0 left its namespace"
	check_kni_count "$NS2" 0 "after the refused move"
	ip -n "$NS1" link del kni0
	check_err $? "deleting kni0 failed"
	log_test "moving a device to another namespace is refused"
}

test_netns_delete()
{
	local ns i n=50

	RET=0
	setup_ns ns || { check_err 1 "cannot create a namespace"; return; }
	for ((i = 0; i < n; i++)); do
		echo "link add kni$i type kni queues $((i % 4 + 1)) carrier on"
	done | ip -n "$ns" -batch -
	check_err $? "creating $n devices failed"
	ip -n "$ns" link set kni0 up
	[ "$(kni_count "$ns")" -eq $n ]
	check_err $? "expected $n devices"

	# Deleting the namespace deletes the devices; the kernel must neither
	# leak them (kmemleak at the end of the run) nor wait for references
	# ("waiting for kniN to become free" fails the run).
	ip netns del "$ns"
	check_err $? "deleting the namespace failed"
	remove_ns_list "$ns"
	busywait 20000 bash -c "! ip netns list | grep -qw $ns"
	check_err $? "the namespace did not go away"
	log_test "deleting a namespace with $n devices inside"
}

setup_ns NS1 NS2 || exit "$ksft_skip"
require_kni "$NS1"
test_create_in_netns
test_immutable
test_netns_delete
exit "$EXIT_STATUS"
