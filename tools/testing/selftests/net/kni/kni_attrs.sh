#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# IFLA_KNI_* attributes: defaults, every attribute set at creation and shown
# by "ip -d link show" (plain and JSON), rejection of invalid values with
# the expected extack message and no device left behind, and what
# changelink may and may not change. Also the standard attributes kni
# takes its queue pairs (IFLA_NUM_TX_QUEUES, IFLA_NUM_RX_QUEUES) and its
# carrier (IFLA_CARRIER) from.

source ../lib.sh
source kni_lib.sh

cleanup()
{
	cleanup_all_ns
}
trap cleanup EXIT

NL=(python3 ./kni_nl.py)

test_defaults()
{
	RET=0

	$KNI_STOCK_IP -n "$NS" link add kni0 type kni
	check_err $? "$KNI_STOCK_IP link add kni0 type kni failed"

	expect_out "ring_size 1024 frame_size 2048 loopback none" \
		ip -n "$NS" -d link show kni0
	expect_out "maxmtu 1774" ip -n "$NS" -d link show kni0
	# One queue pair, and only one allocated.
	expect_out "numtxqueues 1 numrxqueues 1 " ip -n "$NS" -d link show kni0
	check_queues "$NS" kni0 1
	# No owner or group unless one is given.
	check_info_data "$NS" kni0 \
		"{'ring_size': 1024, 'frame_size': 2048, 'loopback': 'none'}"
	$KNI_STOCK_IP -n "$NS" link set kni0 up
	check_err $? "$KNI_STOCK_IP link set kni0 up failed"
	expect_out "NO-CARRIER" "$KNI_STOCK_IP" -n "$NS" link show kni0
	check_carrier "$NS" kni0 0

	$KNI_STOCK_IP -n "$NS" link del kni0
	check_err $? "$KNI_STOCK_IP link del kni0 failed"
	log_test "defaults with the stock ip"
}

test_all_attributes()
{
	RET=0
	ip -n "$NS" link add kni0 numtxqueues 4 numrxqueues 4 carrier on \
		type kni ring_size 512 frame_size 4096 loopback fifo \
		owner 1000 group 1001
	check_err $? "creating kni0 with every attribute failed"

	expect_out "ring_size 512 frame_size 4096 loopback fifo owner 1000 group 1001" \
		ip -n "$NS" -d link show kni0
	expect_out "numtxqueues 4 numrxqueues 4 " ip -n "$NS" -d link show kni0
	expect_out "True" kni_json "$NS" kni0 "d['linkinfo']['info_kind'] == 'kni'"
	check_info_data "$NS" kni0 \
		"{'ring_size': 512, 'frame_size': 4096, 'loopback': 'fifo', 'owner': 1000, 'group': 1001}"
	# frame_size 4096 leaves room for an MTU of 4096 - 256 - 18.
	expect_out "True" kni_json "$NS" kni0 "d['max_mtu'] == 3822"
	# The queue pairs are the device's real queues.
	check_queues "$NS" kni0 4
	ip -n "$NS" link set kni0 up
	check_err $? "ip link set kni0 up failed"
	expect_out "LOWER_UP" ip -n "$NS" link show kni0
	check_carrier "$NS" kni0 1

	ip -n "$NS" link del kni0
	check_err $? "ip link del kni0 failed"
	log_test "every attribute at creation, plain and JSON"

	RET=0
	ip -n "$NS" link add kni0 type kni loopback fifo_skb owner root group root
	check_err $? "creating kni0 with owner and group root failed"
	expect_out "loopback fifo_skb owner 0 group 0" ip -n "$NS" -d link show kni0
	check_info_data "$NS" kni0 \
		"{'ring_size': 1024, 'frame_size': 2048, 'loopback': 'fifo_skb',
		  'owner': 0, 'group': 0}"
	ip -n "$NS" link del kni0
	check_err $? "ip link del kni0 failed"
	log_test "loopback fifo_skb, owner and group by name"
}

# Queue pairs and the carrier are the standard numtxqueues, numrxqueues
# and carrier: the stock ip sets them too.
test_queues_carrier()
{
	local q

	RET=0
	$KNI_STOCK_IP -n "$NS" link add kni0 numtxqueues 4 numrxqueues 4 \
		carrier on type kni
	check_err $? "$KNI_STOCK_IP link add kni0 numtxqueues 4 numrxqueues 4 carrier on failed"
	expect_out "numtxqueues 4 numrxqueues 4 " \
		"$KNI_STOCK_IP" -n "$NS" -d link show kni0
	check_queues "$NS" kni0 4
	$KNI_STOCK_IP -n "$NS" link set kni0 up
	check_err $? "$KNI_STOCK_IP link set kni0 up failed"
	expect_out "LOWER_UP" "$KNI_STOCK_IP" -n "$NS" link show kni0
	check_carrier "$NS" kni0 1
	$KNI_STOCK_IP -n "$NS" link set kni0 carrier off
	check_err $? "$KNI_STOCK_IP link set kni0 carrier off failed"
	expect_out "NO-CARRIER" "$KNI_STOCK_IP" -n "$NS" link show kni0
	check_carrier "$NS" kni0 0
	$KNI_STOCK_IP -n "$NS" link set kni0 carrier on
	check_err $? "$KNI_STOCK_IP link set kni0 carrier on failed"
	check_carrier "$NS" kni0 1
	$KNI_STOCK_IP -n "$NS" link del kni0
	check_err $? "$KNI_STOCK_IP link del kni0 failed"

	# The most there may be; one of each given alone is the default.
	ip -n "$NS" link add kni0 numtxqueues 64 numrxqueues 64 type kni
	check_err $? "creating kni0 with 64 queue pairs failed"
	check_queues "$NS" kni0 64
	ip -n "$NS" link del kni0
	check_err $? "ip link del kni0 failed"
	for q in numtxqueues numrxqueues; do
		ip -n "$NS" link add kni0 "$q" 1 type kni
		check_err $? "creating kni0 with $q 1 alone failed"
		check_queues "$NS" kni0 1
		ip -n "$NS" link del kni0
		check_err $? "ip link del kni0 failed"
	done
	log_test "numtxqueues, numrxqueues and carrier, also with the stock ip"

	RET=0
	reject_link "kni needs as many rx queues as tx queues" \
		numtxqueues 4 numrxqueues 2
	reject_link "kni needs as many rx queues as tx queues" \
		numtxqueues 2 numrxqueues 4
	reject_link "kni needs as many rx queues as tx queues" numtxqueues 4
	reject_link "kni needs as many rx queues as tx queues" numrxqueues 4
	reject_link "kni supports at most 64 queues" \
		numtxqueues 65 numrxqueues 65
	reject_link "kni supports at most 64 queues" \
		numtxqueues 4096 numrxqueues 4096
	reject_link "Invalid number of transmit queues" \
		numtxqueues 0 numrxqueues 0
	log_test "unequal or too many queues rejected with an extack message"
}

# reject TEXT ARGS...: creating kni0 with ARGS fails with TEXT and leaves
# no device behind.
reject()
{
	local text=$1

	shift
	expect_fail "$text" ip -n "$NS" link add kni0 type kni "$@"
	check_kni_count "$NS" 0 "after '$*'"
}

# reject_link TEXT ARGS...: the same for ARGS of ip link itself, before
# "type kni".
reject_link()
{
	local text=$1

	shift
	expect_fail "$text" ip -n "$NS" link add kni0 "$@" type kni
	check_kni_count "$NS" 0 "after '$*'"
}

# reject_nl TEXT ATTR=VALUE...: the same with raw attributes; TEXT is all
# kni_nl.py prints.
reject_nl()
{
	local text=$1 out

	shift
	out=$(ip netns exec "$NS" "${NL[@]}" kni0 "$@" 2>&1)
	[ "$out" = "$text" ]
	check_err $? "kni_nl.py kni0 $* said '$out', expected '$text'"
	check_kni_count "$NS" 0 "after kni_nl.py kni0 $*"
}

test_invalid()
{
	RET=0
	reject "integer out of range" ring_size 0
	reject "integer out of range" ring_size 32
	reject "integer out of range" ring_size 65536
	reject "kni ring_size must be a power of two" ring_size 1000
	reject "integer out of range" frame_size 0
	reject "integer out of range" frame_size 1024
	reject "integer out of range" frame_size 131072
	reject "kni frame_size must be a power of two" frame_size 3000
	expect_fail "MTU 9000 does not fit in a kni frame of 2048 bytes (max 1774)" \
		ip -n "$NS" link add kni0 mtu 9000 type kni
	expect_fail "MTU 4000 does not fit in a kni frame of 4096 bytes (max 3822)" \
		ip -n "$NS" link add kni0 mtu 4000 type kni frame_size 4096
	check_kni_count "$NS" 0 "after a rejected MTU"
	reject "must be one of \"none\", \"fifo\", \"fifo_skb\", not \"bogus\"" loopback bogus
	for mac in 01:00:5e:00:00:01 00:00:00:00:00:00; do
		expect_fail "Invalid unicast link address" \
			ip -n "$NS" link add kni0 address "$mac" type kni
		check_kni_count "$NS" 0 "after address $mac"
	done
	log_test "invalid values rejected with an extack message (ip)"

	RET=0
	reject_nl "error ERANGE: integer out of range" loopback=3
	reject_nl "error EINVAL: invalid attribute length" ring_size=1024:2
	reject_nl "error EINVAL: invalid attribute length" ring_size=1024:8
	reject_nl "error EINVAL: kni frame_size must be a power of two" \
		frame_size=6144
	reject_nl "error EINVAL: kni ring_size must be a power of two" \
		ring_size=96
	log_test "invalid values rejected with an extack message (raw netlink)"
}

test_changelink()
{
	local out

	RET=0
	ip -n "$NS" link add kni0 numtxqueues 2 numrxqueues 2 type kni \
		ring_size 256
	check_err $? "creating kni0 failed"

	# The queue pairs are fixed: the core ignores numtxqueues and
	# numrxqueues on an existing device, with or without kni attributes.
	ip -n "$NS" link set kni0 numtxqueues 4 numrxqueues 4
	check_err $? "ip link set kni0 numtxqueues 4 numrxqueues 4 failed"
	ip -n "$NS" link set kni0 numtxqueues 4 numrxqueues 4 type kni \
		loopback none
	check_err $? "ip link set kni0 numtxqueues 4 numrxqueues 4 type kni failed"
	check_queues "$NS" kni0 2
	expect_fail "kni ring_size is fixed when the device is created (it is 256)" \
		ip -n "$NS" link set kni0 type kni ring_size 512
	expect_fail "kni frame_size is fixed when the device is created (it is 2048)" \
		ip -n "$NS" link set kni0 type kni frame_size 4096
	out=$(ip netns exec "$NS" "${NL[@]}" --change kni0 loopback=7)
	[ "$out" = "error ERANGE: integer out of range" ]
	check_err $? "changelink with loopback 7 said '$out'"
	# A rejected change changes nothing, not even what was valid in it:
	# the carrier, applied after the kni attributes, stays off.
	expect_fail "kni ring_size is fixed when the device is created (it is 256)" \
		ip -n "$NS" link set kni0 carrier on type kni loopback fifo \
		owner 5 group 6 ring_size 64
	check_info_data "$NS" kni0 \
		"{'ring_size': 256, 'frame_size': 2048, 'loopback': 'none'}"
	ip -n "$NS" link set kni0 up
	check_err $? "ip link set kni0 up failed"
	expect_out "NO-CARRIER" ip -n "$NS" link show kni0
	check_carrier "$NS" kni0 0

	# Restating the fixed values is not a change.
	ip -n "$NS" link set kni0 type kni ring_size 256 frame_size 2048
	check_err $? "restating the fixed attributes failed"

	ip -n "$NS" link set kni0 carrier on type kni loopback fifo owner 7 group 8
	check_err $? "changing carrier, loopback, owner and group failed"
	expect_out "loopback fifo owner 7 group 8" \
		ip -n "$NS" -d link show kni0
	check_info_data "$NS" kni0 \
		"{'ring_size': 256, 'frame_size': 2048, 'loopback': 'fifo', 'owner': 7, 'group': 8}"
	expect_out "LOWER_UP" ip -n "$NS" link show kni0
	check_carrier "$NS" kni0 1

	# Each alone; what is not given stays.
	ip -n "$NS" link set kni0 type kni group 9
	check_err $? "changing the group alone failed"
	check_info_data "$NS" kni0 \
		"{'ring_size': 256, 'frame_size': 2048, 'loopback': 'fifo', 'owner': 7, 'group': 9}"
	check_carrier "$NS" kni0 1

	ip -n "$NS" link set kni0 carrier off type kni loopback none owner none \
		group none
	check_err $? "changing back to no owner and no group failed"
	check_info_data "$NS" kni0 \
		"{'ring_size': 256, 'frame_size': 2048, 'loopback': 'none'}"
	expect_out "NO-CARRIER" ip -n "$NS" link show kni0
	check_carrier "$NS" kni0 0
	check_queues "$NS" kni0 2

	ip -n "$NS" link del kni0
	check_err $? "ip link del kni0 failed"
	log_test "changelink changes what may change, rejects the rest"
}

# check_random_mac NS DEV: DEV has a random, locally administered unicast
# address, which is left in MAC.
check_random_mac()
{
	local t

	MAC=$(ip netns exec "$1" cat "/sys/class/net/$2/address")
	t=$(ip netns exec "$1" cat "/sys/class/net/$2/addr_assign_type")
	[ "$t" = 1 ]
	check_err $? "$2's address $MAC is not marked random ($t)"
	# Bit 1 of the first octet set (local), bit 0 clear (unicast).
	[[ $MAC =~ ^[0-9a-f][26ae]: ]]
	check_err $? "$2's address '$MAC' is not a locally administered unicast one"
}

test_mtu_mac()
{
	local a0 a1

	RET=0
	ip -n "$NS" link add kni0 type kni
	check_err $? "creating kni0 failed"

	ip -n "$NS" link set kni0 mtu 1774
	check_err $? "MTU 1774 (the maximum for frame_size 2048) refused"
	expect_out "mtu 1774" ip -n "$NS" link show kni0
	expect_fail "Error: mtu greater than device maximum." \
		ip -n "$NS" link set kni0 mtu 1775
	expect_fail "Error: mtu less than device minimum." \
		ip -n "$NS" link set kni0 mtu 67
	expect_out "mtu 1774" ip -n "$NS" link show kni0
	ip -n "$NS" link set kni0 mtu 68
	check_err $? "MTU 68 refused"
	expect_out "mtu 68" ip -n "$NS" link show kni0

	ip -n "$NS" link set kni0 address 02:11:22:33:44:55
	check_err $? "setting the MAC address failed"
	expect_out "link/ether 02:11:22:33:44:55" ip -n "$NS" link show kni0
	ip -n "$NS" link set kni0 up
	check_err $? "ip link set kni0 up failed"
	ip -n "$NS" link set kni0 address 02:11:22:33:44:66
	check_err $? "setting the MAC address while up failed"
	expect_out "link/ether 02:11:22:33:44:66" ip -n "$NS" link show kni0
	expect_fail "RTNETLINK answers: Cannot assign requested address" \
		ip -n "$NS" link set kni0 address 01:00:5e:00:00:01
	expect_out "link/ether 02:11:22:33:44:66" ip -n "$NS" link show kni0

	ip -n "$NS" link del kni0
	check_err $? "ip link del kni0 failed"

	# Given at creation.
	ip -n "$NS" link add kni0 address 02:aa:bb:cc:dd:ee mtu 3000 type kni \
		frame_size 4096
	check_err $? "creating with address and mtu failed"
	expect_out "mtu 3000" ip -n "$NS" link show kni0
	expect_out "link/ether 02:aa:bb:cc:dd:ee" ip -n "$NS" link show kni0
	ip -n "$NS" link del kni0
	check_err $? "ip link del kni0 failed"

	# Random addresses differ and are locally administered unicast.
	ip -n "$NS" link add kni0 type kni
	check_err $? "creating kni0 failed"
	ip -n "$NS" link add kni1 type kni
	check_err $? "creating kni1 failed"
	check_random_mac "$NS" kni0
	a0=$MAC
	check_random_mac "$NS" kni1
	a1=$MAC
	[ -n "$a0" ] && [ "$a0" != "$a1" ]
	check_err $? "two devices got the same address '$a0'"
	ip -n "$NS" link del kni0
	check_err $? "ip link del kni0 failed"
	ip -n "$NS" link del kni1
	check_err $? "ip link del kni1 failed"
	log_test "MTU bounds and MAC address changes"
}

# Create, bring up and delete a device of 8 queue pairs and large rings
# CYCLES times, through one ip batch: the time goes to the kernel, not to
# starting ip.
CYCLES=50

test_cycles()
{
	local i out

	RET=0
	out=$(for ((i = 0; i < CYCLES; i++)); do
		echo "link add kni0 numtxqueues 8 numrxqueues 8 carrier on" \
			"type kni ring_size 4096 frame_size 8192 owner 1000"
		echo "link set kni0 up"
		echo "link del kni0"
	done | ip -n "$NS" -batch - 2>&1)
	check_err $? "the create/up/delete cycles failed (line N is cycle (N + 2) / 3): $out"
	check_kni_count "$NS" 0 "after the cycles"
	log_test "$CYCLES create/up/delete cycles"
}

setup_ns NS || exit "$ksft_skip"
require_kni "$NS"
test_defaults
test_all_attributes
test_queues_carrier
test_invalid
test_changelink
test_mtu_mac
test_cycles
exit "$EXIT_STATUS"
