#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Offloads end to end: the topology of kni_demo.sh (the peer namespace
# behind a veth pair whose end port0 kni-fwd drives, kni0 on the other
# side), with kni-fwd -o passing checksums to complete and unsegmented
# packets both ways, and the peer's veth segmenting nothing itself. At MTU
# 1500 and 9000: 16 MiB over TCP and over UDP (segmented by the kernel,
# UDP_SEGMENT) each way, sha256 compared, and kni0's counters showing that
# packets longer than the MTU went through it both ways. Then iperf3 TCP
# figures, 1 and 4 streams each way, with and without offloads (printed,
# never compared with a threshold).
#
# kni-fwd is taken from $KNI_FWD, else from beside this script. Exit 0
# when all succeeded, 1 on a failure, 4 (skip) when something needed is
# missing.
# shellcheck disable=SC2016 # wait_for evaluates its argument itself
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/testing/selftests/net/kni/kni_steps.sh
. "$here/kni_steps.sh"
fwd=${KNI_FWD:-$here/kni-fwd}
tmp=
fwd_pid=
iperf_pid=

fail()
{
	echo "FAIL: $*"
	[ -z "$tmp" ] || [ ! -f "$tmp/fwd.log" ] || cat "$tmp/fwd.log"
	exit 1
}

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup()
{
	[ -z "$fwd_pid" ] || stop "$fwd_pid" INT
	[ -z "$iperf_pid" ] || stop "$iperf_pid" TERM
	ip link del kni0 2>/dev/null
	ip link del port0 2>/dev/null
	ip netns del peer 2>/dev/null
	[ -z "$tmp" ] || rm -rf "$tmp"
}

[ "$(id -u)" -eq 0 ] || skip "needs root"
[ -x "$fwd" ] || skip "no kni-fwd at $fwd"
python=$(command -v python3) || skip "no python3"
command -v iperf3 >/dev/null || skip "no iperf3"
need_topology

trap cleanup EXIT
tmp=$(mktemp -d)

# start_fwd [ARGS]: kni-fwd between port0 and kni0, up once kni0 has its
# carrier.
start_fwd()
{
	"$fwd" -p port0 -k kni0 "$@" > "$tmp/fwd.log" 2>&1 &
	fwd_pid=$!
	wait_for 10 '[ "$(cat /sys/class/net/kni0/carrier)" = 1 ]' ||
		fail "kni-fwd $* did not start"
}

# stat_of rx|tx COUNTER: a counter of kni0's queue 0.
stat_of()
{
	qstat kni0 "$1" 0 "$2"
}

# transfer KIND FROM TO: 16 MiB from the FROM side (kni or peer) to the
# TO side over KIND (tcp or udp), sha256 compared.
transfer()
{
	local kind=$1 src=$2 addr port=$((5300 + RANDOM % 100)) sink send
	local out="$tmp/sink.$kind.$src"

	if [ "$src" = kni ]; then
		addr=10.0.0.1
		sink=(ip netns exec peer)
		send=()
	else
		addr=10.0.0.2
		sink=()
		send=(ip netns exec peer)
	fi
	if [ "$kind" = tcp ]; then
		"${sink[@]}" "$python" "$here/kni_tcp.py" sink "$addr" "$port" \
			> "$out" &
		local pid=$!
		"${send[@]}" "$python" "$here/kni_tcp.py" send "$addr" "$port" \
			"$tmp/data" || fail "TCP from $src"
	else
		"${sink[@]}" "$python" "$here/kni_tcp.py" udp-sink "$addr" \
			"$port" > "$out" &
		local pid=$!
		sleep 0.5
		"${send[@]}" "$python" "$here/kni_tcp.py" udp-send "$addr" \
			"$port" "$tmp/data" "$seg" || fail "UDP from $src"
	fi
	wait "$pid" || fail "the $kind receiver"
	echo "$kind from $src: sent $want, received $(cat "$out")"
	[ "$(cat "$out")" = "$want" ] || fail "$kind from $src: other bytes arrived"
}

step "netns peer with veth1 10.0.0.1/24, port0 for kni-fwd, kni0 10.0.0.2/24 with 16 KiB frames"
make_peer
sysctl -qw net.core.rmem_max=16777216
ip link set port0 up || fail "port0 up"
ip link add kni0 type kni frame_size 16384 || fail "ip link add kni0"
ip addr add 10.0.0.2/24 dev kni0 || fail "address on kni0"
ip link set kni0 up || fail "kni0 up"
head -c 16M /dev/urandom > "$tmp/data"
want="$(stat -c %s "$tmp/data") $(sha256sum < "$tmp/data" | cut -d' ' -f1)"

step "kni-fwd -o: offloads between port0 and kni0"
start_fwd -o
feat="tx-checksumming|scatter-gather|tcp-segmentation-offload"
ethtool -k kni0 | grep -E "^($feat|	tx-tcp6-segmentation|tx-udp-segmentation):"
for f in tx-checksumming tcp-segmentation-offload tx-udp-segmentation; do
	ethtool -k kni0 | grep -q "^$f: on" || fail "kni0 does not offer $f"
done
ping -c 2 -i 0.2 -W 2 10.0.0.1 || fail "ping"

for mtu in 1500 9000; do
	seg=$((mtu - 28))
	step "MTU $mtu: 16 MiB each way over TCP and UDP (segments of $seg)"
	ip link set kni0 mtu "$mtu" || fail "kni0 mtu $mtu"
	ip -n peer link set veth1 mtu "$mtu" || fail "veth1 mtu $mtu"
	wait_for 10 '[ "$(cat /sys/class/net/port0/mtu)" = "$mtu" ]' ||
		fail "kni-fwd did not give port0 MTU $mtu"
	tx0=$(stat_of tx packets) && txb0=$(stat_of tx bytes) &&
		rx0=$(stat_of rx packets) && rxb0=$(stat_of rx bytes) ||
		fail "reading kni0's queue statistics"
	for kind in tcp udp; do
		transfer "$kind" kni
		transfer "$kind" peer
	done
	tx=$(stat_of tx packets) && txb=$(stat_of tx bytes) &&
		rx=$(stat_of rx packets) && rxb=$(stat_of rx bytes) ||
		fail "reading kni0's queue statistics"
	tx=$((tx - tx0)) txb=$((txb - txb0)) rx=$((rx - rx0)) rxb=$((rxb - rxb0))
	echo "kni0 sent $tx packets of $((txb / tx)) bytes on average," \
		"received $rx of $((rxb / rx))"
	[ $((txb / tx)) -gt $((mtu + 14)) ] ||
		fail "the stack segmented what it sent to kni-fwd"
	[ $((rxb / rx)) -gt $((mtu + 14)) ] ||
		fail "kni-fwd passed the peer's packets segmented"
done
if ! ip link set kni0 mtu 1500 || ! ip -n peer link set veth1 mtu 1500; then
	fail "MTU back to 1500"
fi

# iperf_run STREAMS [-R]: TCP for 3 s from kni0 to the peer (with -R from
# the peer to kni0) over STREAMS streams; prints Mbit/s.
iperf_run()
{
	ip netns exec peer iperf3 -s -1 -B 10.0.0.1 > "$tmp/iperf-server.log" 2>&1 &
	iperf_pid=$!
	wait_for 10 'ip netns exec peer ss -Hltn "sport = :5201" | grep -q .' ||
		fail "the iperf3 server does not listen"
	timeout 60 iperf3 -c 10.0.0.1 -t 3 -P "$1" ${2:+"$2"} \
		--connect-timeout 10000 -J > "$tmp/iperf.json" 2>&1 ||
		fail "iperf3: $(head -c 300 "$tmp/iperf.json")"
	stop "$iperf_pid" TERM
	iperf_pid=
	"$python" -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("%.0f" % (r["end"]["sum_received"]["bits_per_second"] / 1e6))
' "$tmp/iperf.json"
}

# iperf_all NAME: the four figures into $tmp/NAME.
iperf_all()
{
	local p dir mbits

	for p in 1 4; do
		for dir in "" -R; do
			mbits=$(iperf_run "$p" ${dir:+"$dir"}) ||
				fail "iperf3 -P $p $dir $1 offloads"
			echo "$p ${dir:-to} $mbits" >> "$tmp/$1"
		done
	done
}

step "iperf3: TCP over 1 and 4 streams, from kni0 to the peer and back, with and without offloads"
iperf_all with
stop "$fwd_pid" INT || fail "kni-fwd -o exited with an error: $(cat "$tmp/fwd.log")"
fwd_pid=
cat "$tmp/fwd.log"
grep -qE "port errors 0$" "$tmp/fwd.log" || fail "kni-fwd -o had port errors"
wait_for 10 '[ "$(cat /sys/class/net/kni0/carrier)" = 0 ]'
# Without offloads kni-fwd takes frames of the MTU only.
ip netns exec peer ethtool -K veth1 tso off gso off >/dev/null 2>&1 ||
	fail "segmentation off on veth1"
start_fwd
iperf_all without
stop "$fwd_pid" INT
fwd_pid=
"$python" -c '
import sys
w = [l.split() for l in open(sys.argv[1])]
o = [l.split() for l in open(sys.argv[2])]
for a, b in zip(w, o):
    d = "kni0 -> peer" if a[1] == "to" else "peer -> kni0"
    r = float(a[2]) / float(b[2]) if float(b[2]) else 0
    print("%s, %s stream(s): with offloads %s Mbit/s, without %s Mbit/s, "
          "ratio %.2f" % (d, a[0], a[2], b[2], r))
' "$tmp/with" "$tmp/without" || fail "the iperf3 figures"

echo
echo "offload: all steps succeeded"
exit 0
