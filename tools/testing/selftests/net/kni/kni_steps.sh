#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers of the kni tests that run as one labelled sequence of steps and
# stand alone (kni_demo.sh, which "make demo" also runs, and
# kni_rte_testpmd.sh); sourced. Each script defines its own fail().

ksft_skip=4

step()
{
	echo
	echo "=== $*"
}

skip()
{
	echo "SKIP: $*"
	exit "$ksft_skip"
}

# need_topology: skip unless kni0 and the netns peer can be made here.
need_topology()
{
	ip link show kni0 >/dev/null 2>&1 && skip "kni0 exists already"
	ip netns list | grep -qw peer && skip "netns peer exists already"
	if ! ip link add kni0 type kni 2>/dev/null; then
		skip "cannot create a kni device (CONFIG_KNI)"
	fi
	ip link del kni0
}

# make_peer: the netns peer with veth1 at 10.0.0.1/24, and the other end of
# the pair, port0, in this netns for a dataplane: no IPv6, and its ingress
# dropped, so that this netns's stack does not answer on it as well (for
# kni0's address). Packet sockets see a frame before ingress filters do.
# port0 is left down. Calls the script's fail() on an error.
make_peer()
{
	ip netns add peer || fail "ip netns add peer"
	ip link add port0 type veth peer name veth1 netns peer || fail "veth"
	ip -n peer addr add 10.0.0.1/24 dev veth1 || fail "address on veth1"
	ip -n peer link set lo up || fail "lo up in peer"
	ip -n peer link set veth1 up || fail "veth1 up"
	sysctl -qw net.ipv6.conf.port0.disable_ipv6=1
	if ! tc qdisc add dev port0 clsact ||
	   ! tc filter add dev port0 ingress matchall action drop; then
		fail "dropping port0's packets at ingress"
	fi
}

# wait_for SECONDS COND: evaluate COND until it holds, for up to SECONDS.
wait_for()
{
	local i

	for ((i = 0; i < $1 * 10; i++)); do
		eval "$2" && return 0
		sleep 0.1
	done
	return 1
}

# stop PID SIGNAL [SECONDS]: signal PID and wait for it, for up to SECONDS
# (default 10), then kill it: a step that failed must not leave the test
# hanging. Returns the process's exit status.
stop()
{
	local i

	kill "-$2" "$1" 2>/dev/null
	for ((i = 0; i < ${3:-10} * 10; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
