#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# ethtool on kni devices: driver information, channels, rings, link, the
# rx checksum offload a dataplane's KNI_DESC_F_CSUM_VALID depends on, and
# per-queue counters that follow the traffic (with nothing attached, every
# packet the stack sends is counted as a drop of its queue).

source ../lib.sh
source kni_lib.sh

cleanup()
{
	cleanup_all_ns
}
trap cleanup EXIT

test_info()
{
	RET=0
	ip -n "$NS" link add kni0 numtxqueues 3 numrxqueues 3 type kni \
		ring_size 2048 frame_size 4096
	check_err $? "creating kni0 failed"

	expect_out "driver: kni" ip netns exec "$NS" ethtool -i kni0
	expect_out "version: $(uname -r)" ip netns exec "$NS" ethtool -i kni0
	out=$(ip netns exec "$NS" ethtool -l kni0)
	check_err $? "ethtool -l failed"
	grep -i -A4 "maximums" <<< "$out" | grep -qE "^Combined:[[:space:]]+3$"
	check_err $? "maximum combined channels: $out"
	grep -i -A4 "current" <<< "$out" | grep -qE "^Combined:[[:space:]]+3$"
	check_err $? "current combined channels: $out"
	expect_fail "netlink error: Operation not supported" \
		ip netns exec "$NS" ethtool -L kni0 combined 2

	out=$(ip netns exec "$NS" ethtool -g kni0)
	check_err $? "ethtool -g failed"
	grep -i -A5 "maximums" <<< "$out" | grep -qE "^RX:[[:space:]]+32768$"
	check_err $? "maximum ring size: $out"
	grep -i -A6 "current" <<< "$out" | grep -qE "^RX:[[:space:]]+2048$"
	check_err $? "current RX ring size: $out"
	grep -i -A6 "current" <<< "$out" | grep -qE "^TX:[[:space:]]+2048$"
	check_err $? "current TX ring size: $out"
	grep -qE "^RX Buf Len:[[:space:]]+4096$" <<< "$out"
	check_err $? "RX buffer length: $out"
	expect_fail "netlink error: Operation not supported" \
		ip netns exec "$NS" ethtool -G kni0 rx 512

	expect_out "Link detected: no" ip netns exec "$NS" ethtool kni0
	ip -n "$NS" link set kni0 carrier on
	check_err $? "turning the carrier on failed"
	ip -n "$NS" link set kni0 up
	check_err $? "ip link set kni0 up failed"
	expect_out "Link detected: yes" ip netns exec "$NS" ethtool kni0
	ip -n "$NS" link del kni0
	check_err $? "deleting kni0 failed"
	log_test "ethtool -i, -l, -g and link"
}

# feature NS DEV NAME: DEV's feature NAME in NS ("on" or "off", with
# ethtool's "[fixed]" when it cannot change).
feature()
{
	ip netns exec "$1" ethtool -k "$2" | sed -n "s/^$3: //p"
}

rx_csum()
{
	feature "$1" kni0 rx-checksumming
}

test_features()
{
	local out

	RET=0
	ip -n "$NS" link add kni0 type kni
	check_err $? "creating kni0 failed"

	# On by default: the stack trusts the checksums a dataplane verified.
	out=$(rx_csum "$NS")
	[ "$out" = on ]
	check_err $? "rx-checksumming is '$out' on a new device, expected on"
	ip netns exec "$NS" ethtool -K kni0 rx off
	check_err $? "ethtool -K kni0 rx off failed"
	out=$(rx_csum "$NS")
	[ "$out" = off ]
	check_err $? "rx-checksumming is '$out' after ethtool -K rx off"
	ip -n "$NS" link set kni0 up
	check_err $? "ip link set kni0 up failed"
	ip netns exec "$NS" ethtool -K kni0 rx on
	check_err $? "ethtool -K kni0 rx on failed"
	out=$(rx_csum "$NS")
	[ "$out" = on ]
	check_err $? "rx-checksumming is '$out' after ethtool -K rx on"

	# Packets in high memory need no bounce: kni maps what it copies.
	# A VLAN on kni0 inherits that.
	out=$(feature "$NS" kni0 highdma)
	[ "$out" = "on [fixed]" ]
	check_err $? "highdma is '$out' on kni0, expected 'on [fixed]'"
	ip -n "$NS" link add link kni0 name kni0.5 type vlan id 5
	check_err $? "adding a VLAN on kni0 failed"
	out=$(feature "$NS" kni0.5 highdma)
	[ "${out%% *}" = on ]
	check_err $? "highdma is '$out' on a VLAN over kni0, expected on"

	ip -n "$NS" link del kni0
	check_err $? "deleting kni0 failed"
	log_test "ethtool -k and -K: rx checksumming, highdma"
}

# tx_drops NS: the sum of the per-queue tx drops of kni0 in NS.
tx_drops()
{
	ip netns exec "$1" ethtool -S kni0 |
		awk '/^ +tx[0-9]+_drops: / { n += $2 } END { print n + 0 }'
}

# neigh_failed NS ADDR: the neighbour ADDR in NS is in state FAILED.
neigh_failed()
{
	[ -n "$(ip -n "$1" neigh show "$2" nud failed)" ]
}

test_stats()
{
	local out n before after d

	RET=0
	ip -n "$NS" link add kni0 numtxqueues 2 numrxqueues 2 carrier on type kni
	check_err $? "creating kni0 failed"

	out=$(ip netns exec "$NS" ethtool -S kni0)
	check_err $? "ethtool -S failed"
	# Per queue, the split of qstats' hw-drops; what qstats report alone
	# (packets, bytes, stops) is not repeated.
	n=$(grep -cE "^ +(rx|tx)[01]_(drops|invalid): 0$" <<< "$out")
	[ "$n" -eq 8 ] && [ "$(grep -c "^ " <<< "$out")" -eq 8 ]
	check_err $? "expected 8 per-queue counters, all 0, and no others: $out"

	ip netns exec "$NS" sysctl -qw net.ipv6.conf.kni0.disable_ipv6=1
	check_err $? "disabling IPv6 on kni0 failed"
	ip -n "$NS" link set kni0 up
	check_err $? "ip link set kni0 up failed"
	ip -n "$NS" addr add 192.0.2.1/24 dev kni0
	check_err $? "adding an address to kni0 failed"

	# Frames sent with nothing attached are dropped, per queue: the pings
	# have the stack send ARP requests, until it gives the neighbour up
	# and sends nothing more.
	before=$(tx_drops "$NS")
	ip netns exec "$NS" ping -c 5 -i 0.2 -W 1 192.0.2.2 &>/dev/null
	wait_for neigh_failed "$NS" 192.0.2.2
	check_err $? "the stack never gave 192.0.2.2 up"
	after=$(tx_drops "$NS")
	[ $((after - before)) -ge 1 ]
	check_err $? "tx drops went from $before to $after"
	# ndo_get_stats64 adds the queues up.
	d=$(ip -n "$NS" -j -s link show kni0 | python3 -c "import json, sys
print(json.load(sys.stdin)[0]['stats64']['tx']['dropped'])")
	[ "$d" = "$after" ]
	check_err $? "ip -s reports $d tx drops, ethtool -S $after"
	ip -n "$NS" link del kni0
	check_err $? "deleting kni0 failed"
	log_test "ethtool -S per-queue counters and ip -s"
}

setup_ns NS || exit "$ksft_skip"
require_kni "$NS"
test_info
test_features
test_stats
exit "$EXIT_STATUS"
