#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kni with a dataplane: kni-fwd forwards between port0, one end of a veth
# pair whose other end (10.0.0.1) lives in the namespace "peer", and kni0
# (10.0.0.2), so the kernel reaches the peer through the dataplane. Ping,
# TCP transfers checked with sha256 both ways, a throughput figure, kni0's
# changes applied to port0, port0's link mirrored to kni0's carrier, and
# exception mode, in which only ARP, ICMP and traffic for kni0 get through.
#
# Also the guest side of "make demo" (qemu/demo.sh runs it). kni-fwd is
# taken from $KNI_FWD, else from beside this script. Every step is
# labelled; exit 0 when all succeeded, 1 on a failure, 4 (skip) when
# something needed is missing.
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

step "kernel $(uname -r) on $(nproc) CPUs"

step "netns peer with veth1 10.0.0.1/24; its other end port0 up in this netns," \
	"no address, mtu 1450, its ingress dropped"
# port0 belongs to the dataplane, like a NIC a DPDK application drives
# (kni-fwd gives it kni0's address).
make_peer
# kni-fwd without -o takes no offloads: the peer sends MTU-sized frames.
ip netns exec peer ethtool -K veth1 tso off gso off >/dev/null 2>&1
# kni-fwd gives port0 kni0's MTU (1500) when it starts.
ip link set port0 mtu 1450 up || fail "port0 up"

step "ip link add kni0 numtxqueues 1 numrxqueues 1 type kni; 10.0.0.2/24; up"
ip link add kni0 numtxqueues 1 numrxqueues 1 type kni || fail "ip link add kni0"
ip addr add 10.0.0.2/24 dev kni0 || fail "address on kni0"
ip link set kni0 up || fail "kni0 up"

step "kni-fwd -p port0 -k kni0: the dataplane between port0 and kni0"
"$fwd" -p port0 -k kni0 > "$tmp/fwd.log" 2>&1 &
fwd_pid=$!
# kni-fwd mirrors port0's link to kni0's carrier once it runs.
for _ in $(seq 100); do
	[ "$(cat /sys/class/net/kni0/carrier 2>/dev/null)" = 1 ] && break
	kill -0 "$fwd_pid" 2>/dev/null || break
	sleep 0.1
done
cat "$tmp/fwd.log"
[ "$(cat /sys/class/net/kni0/carrier 2>/dev/null)" = 1 ] ||
	fail "kni0 has no carrier: kni-fwd did not start"
echo "port0 mtu $(cat /sys/class/net/port0/mtu), address $(cat /sys/class/net/port0/address)"
[ "$(cat /sys/class/net/port0/mtu)" = 1500 ] ||
	fail "kni-fwd did not give port0 kni0's MTU"
[ "$(cat /sys/class/net/port0/address)" = "$(cat /sys/class/net/kni0/address)" ] ||
	fail "kni-fwd did not give port0 kni0's address"

step "ip -d link show kni0"
ip -d link show kni0 || fail "ip link show"

step "ping 10.0.0.1 through kni0 and kni-fwd"
ping -c 3 -i 0.2 -W 2 10.0.0.1 > "$tmp/ping" 2>&1
rc=$?
cat "$tmp/ping"
[ $rc -eq 0 ] || fail "ping"
! grep -q DUP "$tmp/ping" || fail "duplicate replies: the stack took port0's packets too"

step "VLAN 10 on both sides: kni-fwd puts back the tag AF_PACKET took off"
ip -n peer link add link veth1 name veth1.10 type vlan id 10 &&
	ip -n peer addr add 10.0.10.1/24 dev veth1.10 &&
	ip -n peer link set veth1.10 up || fail "veth1.10 in peer"
ip link add link kni0 name kni0.10 type vlan id 10 &&
	ip addr add 10.0.10.2/24 dev kni0.10 &&
	ip link set kni0.10 up || fail "kni0.10"
ping -c 3 -i 0.2 -W 2 10.0.10.1 || fail "ping over VLAN 10"
# Untagged, the replies would reach kni0 itself, not kni0.10.
vrx=$(cat /sys/class/net/kni0.10/statistics/rx_packets)
echo "kni0.10 received $vrx packets"
[ "$vrx" -ge 3 ] || fail "the tagged replies did not reach kni0.10"
ip link del kni0.10

head -c 4M /dev/urandom > "$tmp/data"
want="$(stat -c %s "$tmp/data") $(sha256sum < "$tmp/data" | cut -d' ' -f1)"

step "TCP: 4 MiB from kni0 to the peer, sha256 compared"
ip netns exec peer "$python" "$here/kni_tcp.py" sink 10.0.0.1 5201 > "$tmp/sink1" &
sink_pid=$!
"$python" "$here/kni_tcp.py" send 10.0.0.1 5201 "$tmp/data" || fail "sending to the peer"
wait "$sink_pid" || fail "the peer's receiver"
echo "sent:     $want"
echo "received: $(cat "$tmp/sink1")"
[ "$(cat "$tmp/sink1")" = "$want" ] || fail "the peer received other bytes"

step "TCP: 4 MiB from the peer to kni0, sha256 compared"
"$python" "$here/kni_tcp.py" sink 10.0.0.2 5202 > "$tmp/sink2" &
sink_pid=$!
ip netns exec peer "$python" "$here/kni_tcp.py" send 10.0.0.2 5202 "$tmp/data" ||
	fail "sending from the peer"
wait "$sink_pid" || fail "the receiver on kni0"
echo "sent:     $want"
echo "received: $(cat "$tmp/sink2")"
[ "$(cat "$tmp/sink2")" = "$want" ] || fail "kni0 received other bytes"

step "ethtool -S kni0"
ethtool -S kni0 || fail "ethtool -S"

step "throughput: iperf3 -t 3 from kni0 to the peer"
ip netns exec peer iperf3 -s -B 10.0.0.1 > "$tmp/iperf-server.log" 2>&1 &
iperf_pid=$!
# Start the client once the server listens; a slow kernel may take a while.
wait_for 10 'ip netns exec peer ss -Hltn "sport = :5201" | grep -q .' ||
	fail "the iperf3 server does not listen: $(cat "$tmp/iperf-server.log")"
timeout 60 iperf3 -c 10.0.0.1 -t 3 --connect-timeout 10000 -J \
	> "$tmp/iperf.json" 2>&1
stop "$iperf_pid" TERM
iperf_pid=
"$python" -c '
import json, sys
r = json.load(open(sys.argv[1]))
print("throughput: %.0f Mbit/s through kni0 and kni-fwd" %
      (r["end"]["sum_received"]["bits_per_second"] / 1e6))
' "$tmp/iperf.json" || fail "iperf3: $(head -c 500 "$tmp/iperf.json")"

step "backpressure: port0 stalls (tbf at 1 kbit/s);" \
	"kni-fwd takes from kni0 only what port0 has room for"
tc qdisc add dev port0 root tbf rate 1kbit burst 4kb limit 2mb ||
	fail "tbf on port0"
stops=$(qstat kni0 tx 0 stop) || fail "reading kni0's queue statistics"
drops=$(cat /sys/class/net/kni0/statistics/tx_dropped)
# Datagrams of 1000 bytes until the socket is full: port0's ring fills,
# then kni0's, kni0's queue stops and its qdisc holds what the socket
# sent since; nothing is dropped on the way.
"$python" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
s.setblocking(False)
n = 0
try:
    while n < 20000:
        s.sendto(b"x" * 1000, ("10.0.0.1", 9))
        n += 1
except BlockingIOError:
    pass
print("sent %d datagrams, then the socket was full" % n)
' || fail "sending UDP to the peer"
now=$(qstat kni0 tx 0 stop) || fail "reading kni0's queue statistics"
stops=$((now - stops))
drops=$(( $(cat /sys/class/net/kni0/statistics/tx_dropped) - drops ))
echo "kni0's queue stopped $stops times, dropped $drops packets"
[ "$stops" -gt 0 ] || fail "kni0's queue never stopped: kni-fwd took more than port0 sent"
[ "$drops" -eq 0 ] || fail "kni0 dropped $drops packets"
# Removing tbf drops what it held; kni0's queue drains to port0 again.
tc qdisc del dev port0 root || fail "removing tbf from port0"
ping -c 2 -i 0.2 -W 2 10.0.0.1 || fail "ping after port0 stalled"

step "ip link set kni0 mtu 1400 promisc on: kni-fwd applies kni0's changes to port0"
ip link set kni0 mtu 1400 promisc on || fail "changing kni0"
wait_for 10 '[ "$(cat /sys/class/net/port0/mtu)" = 1400 ]' ||
	fail "port0 did not follow kni0's MTU"
wait_for 10 'ip link show port0 | grep -q "[<,]PROMISC[,>]"' ||
	fail "port0 did not follow kni0 into promiscuous mode"
ip link show port0
ip link set kni0 mtu 1500 promisc off || fail "changing kni0 back"
wait_for 10 '[ "$(cat /sys/class/net/port0/mtu)" = 1500 ]' ||
	fail "port0 did not follow kni0's MTU back"

step "ip link set port0 down, then up: kni-fwd mirrors port0's link to kni0's carrier"
ip link set port0 down || fail "port0 down"
wait_for 10 '[ "$(cat /sys/class/net/kni0/carrier)" = 0 ]' ||
	fail "kni0 kept its carrier with port0 down"
echo "port0 down: kni0 carrier $(cat /sys/class/net/kni0/carrier)"
ip link set port0 up || fail "port0 up"
wait_for 10 '[ "$(cat /sys/class/net/kni0/carrier)" = 1 ]' ||
	fail "kni0 has no carrier with port0 up again"
echo "port0 up: kni0 carrier $(cat /sys/class/net/kni0/carrier)"
ping -c 2 -i 0.2 -W 2 10.0.0.1 || fail "ping after the link came back"

step "stop kni-fwd with SIGINT"
stop "$fwd_pid" INT
rc=$?
fwd_pid=
cat "$tmp/fwd.log"
[ $rc -eq 0 ] || fail "kni-fwd exited with status $rc"
# Everything kni-fwd took from kni0 went out of port0 (backpressure, not
# drops), and it found port0 full at least once.
grep -qE "from kni0 ([0-9]+), to port0 \1, port full [1-9][0-9]*, port errors 0$" \
	"$tmp/fwd.log" || fail "kni-fwd dropped packets from kni0, or port0 was never full"
# The peer's TCP segments left the checksum to veth (CHECKSUM_PARTIAL):
# kni-fwd completed them, and kni0's stack found none wrong.
grep -qE "partial checksums completed [1-9]" "$tmp/fwd.log" ||
	fail "kni-fwd completed no partial checksum"
csumerr=$(awk '/^Tcp:/ { if (!h) { for (i = 1; i <= NF; i++) c[$i] = i; h = 1 }
	else print $c["InCsumErrors"] }' /proc/net/snmp)
echo "TCP checksum errors on this side: $csumerr"
[ "$csumerr" = 0 ] || fail "kni0's stack saw $csumerr TCP checksum errors"
for _ in $(seq 100); do
	[ "$(cat /sys/class/net/kni0/carrier 2>/dev/null)" = 0 ] && break
	sleep 0.1
done
echo "kni0 carrier after kni-fwd left: $(cat /sys/class/net/kni0/carrier)"
[ "$(cat /sys/class/net/kni0/carrier)" = 0 ] || fail "kni0 kept its carrier"

step "kni-fwd -v -x 10.0.0.2: only exception traffic (ARP, ICMP, IPv4 for 10.0.0.2) reaches kni0"
"$fwd" -v -p port0 -k kni0 -x 10.0.0.2 > "$tmp/fwd.log" 2>&1 &
fwd_pid=$!
wait_for 10 '[ "$(cat /sys/class/net/kni0/carrier)" = 1 ]' ||
	fail "kni-fwd -x did not start: $(cat "$tmp/fwd.log")"
ping -c 2 -i 0.2 -W 2 10.0.0.1 || fail "ping in exception mode"
# UDP for another host behind port0: the dataplane keeps it from kni0.
ip -n peer neigh replace 10.0.0.9 lladdr "$(cat /sys/class/net/kni0/address)" \
	dev veth1 || fail "neighbour entry in peer"
ip netns exec peer "$python" -c '
import socket
s = socket.socket(socket.AF_INET, socket.SOCK_DGRAM)
for _ in range(20):
    s.sendto(b"x" * 100, ("10.0.0.9", 9))
' || fail "sending UDP from the peer"
# Long enough for -v to print its per-second counters.
sleep 2
stop "$fwd_pid" INT
rc=$?
fwd_pid=
cat "$tmp/fwd.log"
[ $rc -eq 0 ] || fail "kni-fwd -x exited with status $rc"
filtered=$(grep -oE "filtered [0-9]+" "$tmp/fwd.log" | tail -n 1 | cut -d' ' -f2)
echo "kni-fwd kept $filtered frames from kni0"
[ "${filtered:-0}" -ge 20 ] || fail "the UDP frames were not filtered"
grep -q "port->kni [0-9]*/s" "$tmp/fwd.log" || fail "kni-fwd -v printed no counters"

echo
echo "demo: all steps succeeded"
exit 0
