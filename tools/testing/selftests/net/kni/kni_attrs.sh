#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# IFLA_KNI_* attributes: defaults, every attribute set at creation and shown
# by "ip -d link show" (plain and JSON), rejection of invalid values with
# the expected extack message and no device left behind, and what
# changelink may and may not change.

source ../lib.sh
source kni_lib.sh

cleanup()
{
	cleanup_all_ns
}
trap cleanup EXIT

NL="python3 ./kni_nl.py"

test_defaults()
{
	RET=0

	$KNI_STOCK_IP -n "$NS" link add kni0 type kni
	check_err $? "$KNI_STOCK_IP link add kni0 type kni failed"

	expect_out "queues 1 ring_size 1024 frame_size 2048 carrier off loopback none" \
		ip -n "$NS" -d link show kni0
	expect_out "maxmtu 1774" ip -n "$NS" -d link show kni0
	ip -n "$NS" link set kni0 up
	expect_out "NO-CARRIER" ip -n "$NS" link show kni0
	# No owner or group unless one is given.
	out=$(ip -n "$NS" -d link show kni0)
	! grep -qE "loopback [a-z_]+ (owner|group) " <<< "$out"
	check_err $? "an owner or group is shown without being set: $out"

	ip -n "$NS" link del kni0
	log_test "defaults with the stock ip"
}

test_all_attributes()
{
	local q

	RET=0
	ip -n "$NS" link add kni0 type kni queues 4 ring_size 512 \
		frame_size 4096 carrier on loopback fifo owner 1000 group 1001
	check_err $? "creating kni0 with every attribute failed"

	expect_out "queues 4 ring_size 512 frame_size 4096 carrier on loopback fifo owner 1000 group 1001" \
		ip -n "$NS" -d link show kni0
	expect_out "True" kni_json "$NS" kni0 \
		"d['linkinfo']['info_kind'] == 'kni' and d['linkinfo']['info_data'] == {'queues': 4, 'ring_size': 512, 'frame_size': 4096, 'carrier': True, 'loopback': 'fifo', 'owner': 1000, 'group': 1001}"
	# frame_size 4096 leaves room for an MTU of 4096 - 256 - 18.
	expect_out "True" kni_json "$NS" kni0 "d['max_mtu'] == 3822"
	ip -n "$NS" link set kni0 up
	expect_out "LOWER_UP" ip -n "$NS" link show kni0
	# The queue count is the device's real queue count.
	q=$(ip netns exec "$NS" ls /sys/class/net/kni0/queues | tr '\n' ' ')
	[ "$q" = "rx-0 rx-1 rx-2 rx-3 tx-0 tx-1 tx-2 tx-3 " ]
	check_err $? "sysfs queues are '$q'"

	ip -n "$NS" link del kni0
	log_test "every attribute at creation, plain and JSON"

	RET=0
	ip -n "$NS" link add kni0 type kni loopback fifo_skb owner root group root
	check_err $?
	expect_out "loopback fifo_skb owner 0 group 0" ip -n "$NS" -d link show kni0
	ip -n "$NS" link del kni0
	log_test "loopback fifo_skb, owner and group by name"
}

# reject TEXT ARGS...: creating kni0 with ARGS fails with TEXT and leaves
# no device behind.
reject()
{
	local text=$1

	shift
	expect_fail "$text" ip -n "$NS" link add kni0 type kni "$@"
	[ "$(kni_count "$NS")" -eq 0 ]
	check_err $? "a device was left behind by '$*'"
}

# reject_nl TEXT ATTR=VALUE...: the same with raw attributes.
reject_nl()
{
	local text=$1 out

	shift
	out=$(ip netns exec "$NS" $NL kni0 "$@" 2>&1)
	grep -qF -- "$text" <<< "$out"
	check_err $? "kni_nl.py kni0 $* said '$out', expected '$text'"
	[ "$(kni_count "$NS")" -eq 0 ]
	check_err $? "a device was left behind by '$*'"
}

test_invalid()
{
	RET=0
	reject "integer out of range" queues 0
	reject "integer out of range" queues 65
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
	[ "$(kni_count "$NS")" -eq 0 ]
	check_err $? "a device was left behind by a rejected MTU"
	reject "must be one of \"none\", \"fifo\", \"fifo_skb\", not \"bogus\"" loopback bogus
	for mac in 01:00:5e:00:00:01 00:00:00:00:00:00; do
		expect_fail "Invalid unicast link address" \
			ip -n "$NS" link add kni0 address "$mac" type kni
		[ "$(kni_count "$NS")" -eq 0 ]
		check_err $? "a device was left behind by address $mac"
	done
	log_test "invalid values rejected with an extack message (ip)"

	RET=0
	reject_nl "error ERANGE: integer out of range" loopback=3
	reject_nl "error ERANGE: integer out of range" carrier=2
	reject_nl "error ERANGE: integer out of range" queues=4294967295
	reject_nl "error ERANGE: Attribute failed policy validation" \
		ring_size=1024:2
	reject_nl "error EINVAL: kni frame_size must be a power of two" \
		frame_size=6144
	reject_nl "error EINVAL: kni ring_size must be a power of two" \
		ring_size=96
	log_test "invalid values rejected with an extack message (raw netlink)"
}

test_changelink()
{
	RET=0
	ip -n "$NS" link add kni0 type kni queues 2 ring_size 256
	check_err $?

	expect_fail "kni queues is fixed when the device is created (it is 2)" \
		ip -n "$NS" link set kni0 type kni queues 4
	expect_fail "kni ring_size is fixed when the device is created (it is 256)" \
		ip -n "$NS" link set kni0 type kni ring_size 512
	expect_fail "kni frame_size is fixed when the device is created (it is 2048)" \
		ip -n "$NS" link set kni0 type kni frame_size 4096
	out=$(ip netns exec "$NS" $NL --change kni0 loopback=7)
	[ "$out" = "error ERANGE: integer out of range" ]
	check_err $? "changelink with loopback 7 said '$out'"
	# A rejected change changes nothing, not even what was valid in it.
	expect_fail "kni ring_size is fixed" \
		ip -n "$NS" link set kni0 type kni carrier on owner 5 ring_size 64
	expect_out "queues 2 ring_size 256 frame_size 2048 carrier off loopback none" \
		ip -n "$NS" -d link show kni0
	ip -n "$NS" link set kni0 up
	expect_out "NO-CARRIER" ip -n "$NS" link show kni0

	# Restating the fixed values is not a change.
	ip -n "$NS" link set kni0 type kni queues 2 ring_size 256 frame_size 2048
	check_err $? "restating the fixed attributes failed"

	ip -n "$NS" link set kni0 type kni carrier on loopback fifo owner 7 group 8
	check_err $? "changing carrier, loopback, owner and group failed"
	expect_out "carrier on loopback fifo owner 7 group 8" \
		ip -n "$NS" -d link show kni0
	expect_out "LOWER_UP" ip -n "$NS" link show kni0

	ip -n "$NS" link set kni0 type kni carrier off loopback none owner none group none
	check_err $?
	expect_out "carrier off loopback none" ip -n "$NS" -d link show kni0
	out=$(ip -n "$NS" -d link show kni0)
	! grep -qE "loopback [a-z_]+ (owner|group) " <<< "$out"
	check_err $? "owner or group still shown after 'none': $out"
	expect_out "NO-CARRIER" ip -n "$NS" link show kni0

	ip -n "$NS" link del kni0
	log_test "changelink changes what may change, rejects the rest"
}

test_mtu_mac()
{
	RET=0
	ip -n "$NS" link add kni0 type kni
	check_err $?

	ip -n "$NS" link set kni0 mtu 1774
	check_err $? "MTU 1774 (the maximum for frame_size 2048) refused"
	expect_out "mtu 1774" ip -n "$NS" link show kni0
	expect_fail "" ip -n "$NS" link set kni0 mtu 1775
	expect_fail "" ip -n "$NS" link set kni0 mtu 67
	ip -n "$NS" link set kni0 mtu 68
	check_err $? "MTU 68 refused"
	expect_out "mtu 68" ip -n "$NS" link show kni0

	ip -n "$NS" link set kni0 address 02:11:22:33:44:55
	check_err $? "setting the MAC address failed"
	expect_out "link/ether 02:11:22:33:44:55" ip -n "$NS" link show kni0
	ip -n "$NS" link set kni0 up
	ip -n "$NS" link set kni0 address 02:11:22:33:44:66
	check_err $? "setting the MAC address while up failed"
	expect_out "link/ether 02:11:22:33:44:66" ip -n "$NS" link show kni0
	expect_fail "" ip -n "$NS" link set kni0 address 01:00:5e:00:00:01
	expect_out "link/ether 02:11:22:33:44:66" ip -n "$NS" link show kni0

	ip -n "$NS" link del kni0

	# Given at creation.
	ip -n "$NS" link add kni0 address 02:aa:bb:cc:dd:ee mtu 3000 type kni \
		frame_size 4096
	check_err $? "creating with address and mtu failed"
	expect_out "mtu 3000" ip -n "$NS" link show kni0
	expect_out "link/ether 02:aa:bb:cc:dd:ee" ip -n "$NS" link show kni0
	ip -n "$NS" link del kni0

	# Random addresses differ and are locally administered unicast.
	ip -n "$NS" link add kni0 type kni
	ip -n "$NS" link add kni1 type kni
	a0=$(ip netns exec "$NS" cat /sys/class/net/kni0/address)
	a1=$(ip netns exec "$NS" cat /sys/class/net/kni1/address)
	[ "$a0" != "$a1" ]
	check_err $? "two devices got the same address $a0"
	[ "$(ip netns exec "$NS" cat /sys/class/net/kni0/addr_assign_type)" = 1 ]
	check_err $? "the address is not marked random"
	ip -n "$NS" link del kni0
	ip -n "$NS" link del kni1
	log_test "MTU bounds and MAC address changes"
}

test_cycles()
{
	local i

	RET=0
	for ((i = 0; i < 100; i++)); do
		ip -n "$NS" link add kni0 type kni queues 8 ring_size 4096 \
			frame_size 8192 carrier on owner 1000 || break
		ip -n "$NS" link set kni0 up || break
		ip -n "$NS" link del kni0 || break
	done
	[ $i -eq 100 ]
	check_err $? "cycle $i of 100 failed"
	[ "$(kni_count "$NS")" -eq 0 ]
	check_err $? "devices left after the cycles"
	log_test "100 create/up/delete cycles"
}

setup_ns NS || exit "$ksft_skip"
require_kni "$NS"
test_defaults
test_all_attributes
test_invalid
test_changelink
test_mtu_mac
test_cycles
exit "$EXIT_STATUS"
