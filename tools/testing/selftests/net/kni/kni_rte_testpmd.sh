#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# A DPDK 22.11 application on kni, unchanged: the distribution's
# dpdk-testpmd loads librte_kni (the rte_kni API on kni) and DPDK's own
# net_kni PMD built against it, and forwards (io mode) between net_kni0 and
# net_af_packet0 on port0, one end of a veth pair whose other end
# (10.0.0.1) lives in the namespace "peer". kni0 (10.0.0.2) reaches the
# peer through testpmd: ping, TCP transfers checked with sha256 both ways,
# kni0's MTU, down and up changed while testpmd runs, and testpmd's exit,
# which must leave no kni0 behind.
#
# The libraries are taken from the directory $RTE_KNI names, else from the
# one rte_kni.dir beside this script names (the build writes it). Exit 0
# when all steps succeeded, 1 on a failure, 4 (skip) when something needed
# is missing. EAL starts slowly under emulation: the waits are long, and
# only a broken run reaches them.
# shellcheck disable=SC2016 # wait_for evaluates its argument itself
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
# shellcheck source=tools/testing/selftests/net/kni/kni_steps.sh
. "$here/kni_steps.sh"
tmp=
pmd_pid=

# testpmd is given two minutes to stop: the PMD's request thread sleeps
# half a second at a time and EAL's cleanup is slow under emulation.

fail()
{
	echo "FAIL: $*"
	[ -z "$tmp" ] || [ ! -f "$tmp/testpmd.log" ] || tail -n 30 "$tmp/testpmd.log"
	exit 1
}

# shellcheck disable=SC2317 # run by the EXIT trap
cleanup()
{
	[ -z "$pmd_pid" ] || stop "$pmd_pid" INT 120
	ip link del kni0 2>/dev/null
	ip link del port0 2>/dev/null
	ip netns del peer 2>/dev/null
	[ -z "$tmp" ] || rm -rf "$tmp"
}

need_testpmd
need_topology

trap cleanup EXIT
tmp=$(mktemp -d)

step "netns peer with veth1 10.0.0.1/24; its other end port0 up in this netns," \
	"no address, its ingress dropped"
make_peer
# testpmd forwards frames as they are: the peer must send complete
# checksums and frames no larger than the MTU.
ip netns exec peer ethtool -K veth1 tx off tso off gso off >/dev/null 2>&1 ||
	fail "offloads off on veth1"
ip link set port0 up || fail "port0 up"

step "dpdk-testpmd -d librte_kni.so -d librte_net_kni.so --vdev=net_kni0" \
	"--vdev=net_af_packet0,iface=port0 -- --forward-mode=io"
# No hugepages: kni needs no physical addresses. The default pool would
# not fit in 256 MiB.
"$testpmd" --no-huge -m 256 --no-pci \
	-d "$rte_kni/librte_kni.so" -d "$rte_kni/librte_net_kni.so" \
	--vdev=net_kni0 --vdev=net_af_packet0,iface=port0 -- \
	--forward-mode=io --total-num-mbufs=8192 --stats-period 60 \
	> "$tmp/testpmd.log" 2>&1 &
pmd_pid=$!
wait_for 300 'ip link show kni0 >/dev/null 2>&1 || ! kill -0 $pmd_pid 2>/dev/null' ||
	fail "no kni0 after five minutes"
ip link show kni0 >/dev/null 2>&1 || fail "testpmd exited without creating kni0"
ip -d link show kni0 || fail "ip link show kni0"
sysctl -qw net.ipv6.conf.kni0.disable_ipv6=1
ip addr add 10.0.0.2/24 dev kni0 || fail "address on kni0"
ip link set kni0 up || fail "kni0 up"
wait_for 60 '[ "$(cat /sys/class/net/kni0/carrier 2>/dev/null)" = 1 ]' ||
	fail "kni0 has no carrier"
# Forwarding starts once every port is up.
wait_for 300 'grep -qs "packet forwarding - ports=2" "$tmp/testpmd.log"' ||
	fail "testpmd did not start forwarding"

step "ping 10.0.0.1 through kni0 and testpmd"
ping -c 3 -i 0.5 -W 10 10.0.0.1 > "$tmp/ping" 2>&1
rc=$?
cat "$tmp/ping"
[ $rc -eq 0 ] || fail "ping"
! grep -q DUP "$tmp/ping" || fail "duplicate replies: the stack took port0's packets too"

head -c 2M /dev/urandom > "$tmp/data"
want="$(stat -c %s "$tmp/data") $(sha256sum < "$tmp/data" | cut -d' ' -f1)"


step "TCP: 2 MiB from kni0 to the peer, sha256 compared"
transfer "" peer 10.0.0.1 5201

step "TCP: 2 MiB from the peer to kni0, sha256 compared"
transfer peer "" 10.0.0.2 5202

step "ip link set kni0 mtu 1400, down, up while testpmd runs"
ip link set kni0 mtu 1400 || fail "kni0 mtu 1400"
[ "$(cat /sys/class/net/kni0/mtu)" = 1400 ] || fail "kni0 kept its MTU"
ip link set kni0 down || fail "kni0 down"
ip link set kni0 up || fail "kni0 up"
kill -0 "$pmd_pid" || fail "testpmd died"
wait_for 60 '[ "$(cat /sys/class/net/kni0/carrier 2>/dev/null)" = 1 ]' ||
	fail "kni0 has no carrier after coming up again"
ping -c 3 -i 0.5 -W 10 10.0.0.1 || fail "ping after the changes"
ping -c 2 -W 10 -M "do" -s 1372 10.0.0.1 || fail "ping of 1400 bytes"

step "stop testpmd with SIGINT: it releases kni0"
stop "$pmd_pid" INT 120
rc=$?
pmd_pid=
tail -n 40 "$tmp/testpmd.log"
[ $rc -eq 0 ] || fail "testpmd exited with status $rc"
ip link show kni0 >/dev/null 2>&1 && fail "kni0 outlived testpmd"

echo
echo "kni_rte_testpmd: all steps succeeded"
exit 0
