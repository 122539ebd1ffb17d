#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The offloads of DPDK's net_kni PMD on kni, end to end, with the
# distribution's dpdk-testpmd unchanged: it forwards in csum mode between
# net_kni0 and net_kni1 with TCP LRO, rx checksums and TCP TSO on, so the
# stack's unsegmented TCP packets cross the application whole, their
# checksums left to complete.
#
#   left: veth0 10.0.0.1
#    mid: veth1 - kni0 <-> testpmd <-> kni1 - veth2
#  right: veth3 10.0.0.2
#
# mid is a wire: tc redirects what comes in on veth1 out of kni0, and
# what comes in on kni1 out of veth2, and back the same way, so every
# packet between left and right crosses testpmd. veth1 and veth2 neither
# segment nor checksum: what a kni device received unsegmented, mid
# segments and checksums in software from the pseudo-header sum the
# packet came with, and a TSO packet whose sum was wrong reaches left or
# right with bad checksums, so that TCP never completes. 8 MiB go each
# way, sha256 compared, and each kni device must have carried packets
# larger than its MTU each way (counted by a packet socket on it).
#
# The libraries are taken from the directory $RTE_KNI names, else from the
# one rte_kni.dir beside this script names. Exit 0 when all steps
# succeeded, 1 on a failure, 4 (skip) when something needed is missing.
# shellcheck disable=SC2016 # wait_for evaluates its argument itself
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/testing/selftests/net/kni/kni_steps.sh
. "$here/kni_steps.sh"
tmp=
pmd_pid=
watched=()
mtu=1500
# The TCP segment size: the MTU less the IPv4 and TCP headers, timestamps
# included.
mss=$((mtu - 52))

fail()
{
	echo "FAIL: $*"
	# What a failed transfer leaves to read: where packets stopped.
	local tcp='^Tcp(InSegs|OutSegs|RetransSegs|InCsumErrors|ExtTCPTimeouts) '

	for ns in left right; do
		echo "$ns: $(ip netns exec $ns nstat -asz 2>/dev/null |
			awk -v re="$tcp" '$0 ~ re { printf "%s %s ", $1, $2 }')"
	done
	for dev in kni0 kni1; do
		ip -n mid -s link show "$dev" 2>/dev/null
		ip netns exec mid ethtool -S "$dev" 2>/dev/null | grep -v ': 0$'
	done
	[ -z "$tmp" ] || [ ! -f "$tmp/testpmd.log" ] || tail -n 40 "$tmp/testpmd.log"
	exit 1
}

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup()
{
	local pid

	for pid in "${watched[@]}"; do
		kill "$pid" 2>/dev/null
	done
	[ -z "$pmd_pid" ] || stop "$pmd_pid" INT 120
	for ns in left mid right; do
		ip netns del "$ns" 2>/dev/null
	done
	[ -z "$tmp" ] || rm -rf "$tmp"
}

need_testpmd
command -v ethtool >/dev/null || skip "no ethtool"
for ns in left mid right; do
	ip netns list | grep -qw $ns && skip "netns $ns exists already"
done

trap cleanup EXIT
tmp=$(mktemp -d)

step "netns left, mid and right; veth pairs from left and right to mid," \
	"whose ends there segment and checksum in software"
for ns in left mid right; do
	ip netns add $ns || fail "ip netns add $ns"
	ip -n $ns link set lo up || fail "lo up in $ns"
done
ip -n mid link add kni9 type kni 2>/dev/null ||
	skip "cannot create a kni device (CONFIG_KNI)"
ip -n mid link del kni9
ip -n left link add veth0 type veth peer name veth1 netns mid || fail "veth0"
ip -n right link add veth3 type veth peer name veth2 netns mid || fail "veth3"
ip -n left addr add 10.0.0.1/24 dev veth0 || fail "address on veth0"
ip -n right addr add 10.0.0.2/24 dev veth3 || fail "address on veth3"
for dev in left:veth0 mid:veth1 mid:veth2 right:veth3; do
	ip netns exec "${dev%:*}" sysctl -qw "net.ipv6.conf.${dev#*:}.disable_ipv6=1"
	ip -n "${dev%:*}" link set "${dev#*:}" up || fail "${dev#*:} up"
done
for dev in veth1 veth2; do
	ip netns exec mid ethtool -K $dev tx off tso off gso off >/dev/null 2>&1 ||
		fail "offloads off on $dev"
done

step "in mid: dpdk-testpmd --vdev=net_kni0 --vdev=net_kni1 --" \
	"--forward-mode=csum --enable-lro --enable-rx-cksum" \
	"--tx-offloads=0x802e; tso set $mss"
# The ports must be stopped for "tso set"; testpmd runs the file once
# they have started. csum mode rewrites the Ethernet addresses: a packet
# out of port 1 goes to veth3's, out of port 0 to veth0's.
printf 'port stop all\ntso set %s 0\ntso set %s 1\nport start all\n' \
	"$mss" "$mss" > "$tmp/cmds"
ip netns exec mid "$testpmd" --no-huge -m 256 --no-pci \
	-d "$rte_kni/librte_kni.so" -d "$rte_kni/librte_net_kni.so" \
	--vdev=net_kni0 --vdev=net_kni1 -- \
	--forward-mode=csum --enable-lro --enable-rx-cksum --tx-offloads=0x802e \
	--eth-peer="0,$(ip netns exec left cat /sys/class/net/veth0/address)" \
	--eth-peer="1,$(ip netns exec right cat /sys/class/net/veth3/address)" \
	--cmdline-file="$tmp/cmds" --total-num-mbufs=16384 --stats-period 60 \
	> "$tmp/testpmd.log" 2>&1 &
pmd_pid=$!
wait_for 300 'grep -qs "packet forwarding - ports=2" "$tmp/testpmd.log" ||
	! kill -0 $pmd_pid 2>/dev/null' || fail "testpmd did not start forwarding"
kill -0 "$pmd_pid" 2>/dev/null || fail "testpmd exited"
grep -q "TSO segment size for non-tunneled packets is $mss" "$tmp/testpmd.log" ||
	fail "testpmd did not take tso set"

step "kni0 and kni1 up in mid, MTU $mtu, each offering the stack TSO;" \
	"veth1 to kni0 and kni1 to veth2, and back"
for dev in kni0 kni1; do
	ip netns exec mid sysctl -qw "net.ipv6.conf.$dev.disable_ipv6=1"
	ip -n mid link set $dev mtu $mtu up || fail "$dev up"
	wait_for 60 "[ \"\$(ip netns exec mid cat /sys/class/net/$dev/carrier)\" = 1 ]" ||
		fail "$dev has no carrier"
	ip netns exec mid ethtool -k $dev | grep -x 'tcp-segmentation-offload: on' ||
		fail "$dev does not offer TSO"
done
for wire in veth1:kni0 kni0:veth1 veth2:kni1 kni1:veth2; do
	{ tc -n mid qdisc add dev "${wire%:*}" clsact &&
	  tc -n mid filter add dev "${wire%:*}" ingress matchall \
		action mirred egress redirect dev "${wire#*:}"; } ||
		fail "redirecting ${wire%:*} to ${wire#*:}"
done
ip netns exec left ping -c 3 -i 0.5 -W 10 10.0.0.2 || fail "no ping from left to right"

head -c 8M /dev/urandom > "$tmp/data"
want="$(stat -c %s "$tmp/data") $(sha256sum < "$tmp/data" | cut -d' ' -f1)"


# watch DEV...: count, in the background, the packets longer than a
# frame of the MTU that each DEV (in mid) receives and sends.
watch()
{
	local dev

	for dev in "$@"; do
		ip netns exec mid "$python" "$here/kni_tcp.py" big "$dev" \
			$((mtu + 14)) > "$tmp/big.$dev" &
		watched+=($!)
		wait_for 60 "grep -q ready '$tmp/big.$dev'" ||
			fail "cannot watch $dev"
	done
}

# unwatch: stop counting.
unwatch()
{
	local pid

	for pid in "${watched[@]}"; do
		kill -TERM "$pid" 2>/dev/null
		wait "$pid" || fail "counting the packets of a device"
	done
	watched=()
}

# larger DEV DIR: DEV must have carried a packet longer than a frame of
# the MTU in direction DIR (rx or tx) while it was watched.
larger()
{
	local n

	n=$(sed -n "s/.*$2 \([0-9]*\).*/\1/p" "$tmp/big.$1")
	echo "$1: $(tail -n 1 "$tmp/big.$1") packets longer than $((mtu + 14)) bytes"
	[ "${n:-0}" -gt 0 ] || fail "$1 carried no packet larger than its MTU on $2"
}

step "TCP: 8 MiB from left to right, sha256 compared; kni0 sent and kni1" \
	"received unsegmented packets"
watch kni0 kni1
transfer left right 10.0.0.2 5201
unwatch
larger kni0 tx
larger kni1 rx

step "TCP: 8 MiB from right to left, sha256 compared; kni1 sent and kni0" \
	"received unsegmented packets"
watch kni0 kni1
transfer right left 10.0.0.1 5202
unwatch
larger kni1 tx
larger kni0 rx

step "stop testpmd with SIGINT"
stop "$pmd_pid" INT 120
rc=$?
pmd_pid=
tail -n 40 "$tmp/testpmd.log"
[ $rc -eq 0 ] || fail "testpmd exited with status $rc"

echo
echo "kni_rte_offload: all steps succeeded"
exit 0
