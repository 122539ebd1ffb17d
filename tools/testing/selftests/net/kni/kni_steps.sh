#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers of the kni tests that run as one labelled sequence of steps and
# stand alone (kni_demo.sh, which "make demo" also runs,
# kni_rte_testpmd.sh and kni_rte_offload.sh); sourced. Each script defines
# its own fail().

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

# qstat DEV rx|tx QUEUE COUNTER: a counter of one queue of DEV from the
# netdev family's queue statistics (see kni_qstat.py).
qstat()
{
	python3 "$here/kni_qstat.py" "$@"
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

# need_testpmd: skip unless this runs as root with dpdk-testpmd, python3
# and the rte_kni libraries, which come from the directory $RTE_KNI names,
# else from the one rte_kni.dir beside the script names (the build writes
# it). Sets testpmd, python and rte_kni.
# shellcheck disable=SC2034 # set for the script
need_testpmd()
{
	[ "$(id -u)" -eq 0 ] || skip "needs root"
	testpmd=$(command -v dpdk-testpmd) ||
		skip "no dpdk-testpmd (Debian's dpdk-dev)"
	rte_kni=${RTE_KNI:-$(cat "$here/rte_kni.dir" 2>/dev/null)}
	if [ -z "$rte_kni" ] || [ ! -f "$rte_kni/librte_kni.so" ] ||
	   [ ! -f "$rte_kni/librte_net_kni.so" ]; then
		skip "no librte_kni.so and librte_net_kni.so (RTE_KNI=${rte_kni:-unset})"
	fi
	python=$(command -v python3) || skip "no python3"
}

# transfer FROM_NS TO_NS ADDR PORT: send the file $tmp/data from FROM_NS
# to a receiver on ADDR:PORT in TO_NS ("" is this namespace) with
# kni_tcp.py, and compare what arrived with $want ("BYTES SHA256").
# shellcheck disable=SC2154 # tmp and want are the script's
transfer()
{
	local from=() to=() sink_pid

	[ -z "$1" ] || from=(ip netns exec "$1")
	[ -z "$2" ] || to=(ip netns exec "$2")
	"${to[@]}" "$python" "$here/kni_tcp.py" sink "$3" "$4" > "$tmp/sink" &
	sink_pid=$!
	if ! "${from[@]}" "$python" "$here/kni_tcp.py" send "$3" "$4" "$tmp/data"; then
		kill "$sink_pid" 2>/dev/null
		fail "sending to $3"
	fi
	wait "$sink_pid" || fail "the receiver on $3"
	echo "sent:     $want"
	echo "received: $(cat "$tmp/sink")"
	[ "$(cat "$tmp/sink")" = "$want" ] || fail "$3 received other bytes"
}
