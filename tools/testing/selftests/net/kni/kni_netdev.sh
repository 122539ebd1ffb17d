#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# The netdev netlink family on kni devices, through the kernel's YNL tool
# (tools/net/ynl/cli.py): each queue of a running device is listed with the
# NAPI instance that serves it, and the per-queue statistics (qstats) add
# up to the device's and split their drops as ethtool -S does.
#
# The harness names the kernel source in KNI_KSRC; without it, or without
# python3-yaml, the test fails rather than skips.

source ../lib.sh
source kni_lib.sh

YNL=${KNI_KSRC:-}/tools/net/ynl/cli.py
SPEC=${KNI_KSRC:-}/Documentation/netlink/specs/netdev.yaml

cleanup()
{
	[ -z "${hold:-}" ] || kill "$hold" 2>/dev/null
	cleanup_all_ns
}
trap cleanup EXIT

# ynl OP JSON: dump OP of the netdev family in NS, as JSON.
ynl()
{
	ip netns exec "$NS" python3 "$YNL" --spec "$SPEC" --no-schema \
		--output-json --dump "$1" --json "$2"
}

# queues IFINDEX: the device's queues, one "type id napi-id" per line
# ("-" for no NAPI).
queues()
{
	ynl queue-get "{\"ifindex\": $1}" | python3 -c '
import json, sys
for q in sorted(json.load(sys.stdin), key=lambda q: (q["type"], q["id"])):
    print(q["type"], q["id"], q.get("napi-id", "-"))'
}

test_queues()
{
	local ifindex out napis expect

	RET=0
	ip -n "$NS" link add kni0 numtxqueues 3 numrxqueues 3 type kni
	check_err $? "creating kni0 failed"
	ifindex=$(ip netns exec "$NS" cat /sys/class/net/kni0/ifindex)

	# Down: the netdev family lists the queues of running devices only.
	out=$(queues "$ifindex")
	check_err $? "queue-get failed: $out"
	[ -z "$out" ]
	check_err $? "queues of a down device: $out"

	ip -n "$NS" link set kni0 up
	check_err $? "ip link set kni0 up failed"
	out=$(queues "$ifindex")
	check_err $? "queue-get failed: $out"
	# Each queue pair has a NAPI of its own, the same for rx and tx.
	python3 - "$out" <<-'EOF'
		import sys
		rows = [l.split() for l in sys.argv[1].splitlines()]
		napi = {}
		for typ, qid, nid in rows:
		    assert nid != "-", f"queue {typ} {qid} has no NAPI"
		    napi.setdefault(qid, set()).add(nid)
		assert sorted(napi) == ["0", "1", "2"], rows
		assert all(len(n) == 1 for n in napi.values()), napi
		assert len({n.pop() for n in napi.values()}) == 3, rows
	EOF
	check_err $? "queues of a running device: $out"

	napis=$(ynl napi-get "{\"ifindex\": $ifindex}" | python3 -c '
import json, sys
print(" ".join(sorted(str(n["id"]) for n in json.load(sys.stdin))))')
	check_err $? "napi-get failed"
	expect=$(awk '{ print $3 }' <<< "$out" | sort -u | tr '\n' ' ')
	[ "$napis " = "$expect" ]
	check_err $? "napi-get lists '$napis', the queues use '$expect'"

	ip -n "$NS" link del kni0
	check_err $? "deleting kni0 failed"
	log_test "netdev queue-get and napi-get"
}

# ethtool_stat NAME: kni0's ethtool -S counter NAME in NS.
ethtool_stat()
{
	ip netns exec "$NS" ethtool -S kni0 | awk -v n="$1:" '$1 == n { print $2 }'
}

# rx0_above N: kni0's queue 0 passed more than N packets to the stack.
rx0_above()
{
	local n

	n=$(ip netns exec "$NS" python3 ./kni_qstat.py kni0 rx 0 packets) &&
		[ "$n" -gt "$1" ]
}

# neigh_failed ADDR: the stack in NS gave the neighbour ADDR up.
neigh_failed()
{
	[ -n "$(ip -n "$NS" neigh show "$1" nud failed)" ]
}

test_qstats()
{
	local ifindex out expect log sums link

	RET=0
	ip -n "$NS" link add kni0 numtxqueues 2 numrxqueues 2 type kni
	check_err $? "creating kni0 failed"
	ifindex=$(ip netns exec "$NS" cat /sys/class/net/kni0/ifindex)
	ip netns exec "$NS" sysctl -qw net.ipv6.conf.kni0.disable_ipv6=1
	ip -n "$NS" addr add 10.0.0.2/24 dev kni0
	ip -n "$NS" link set kni0 up
	check_err $? "setting kni0 up failed"

	# Traffic both ways on queue 0: ARP requests to the stack, replies
	# back. Then nothing is attached, and packets sent are queue drops,
	# until the stack gives the neighbour up.
	log=$(mktemp)
	ip netns exec "$NS" ./kni_hold -t kni0 > "$log" 2>&1 &
	hold=$!
	wait_attached "$hold" "$log"
	check_err $? "kni_hold did not attach: $(cat "$log")"
	wait_for rx0_above 20
	check_err $? "no traffic on queue 0"
	kill "$hold"
	wait_exited "$hold"
	hold=
	ip netns exec "$NS" ping -c 3 -i 0.2 -W 1 -I kni0 10.0.0.9 &>/dev/null
	wait_for neigh_failed 10.0.0.9
	check_err $? "the stack never gave 10.0.0.9 up"

	out=$(ynl qstats-get "{\"ifindex\": $ifindex, \"scope\": \"queue\"}" |
		python3 -c '
import json, sys
for s in sorted(json.load(sys.stdin), key=lambda s: (s["queue-type"], s["queue-id"])):
    t, q = s["queue-type"], s["queue-id"]
    f = ["packets", "bytes", "hw-drops"] + (["stop"] if t == "tx" else [])
    print(t, q, *(s[f"{t}-{k}"] for k in f))')
	check_err $? "qstats-get failed: $out"

	# ethtool -S splits each queue's hw-drops into drops and invalid.
	expect=$(for q in 0 1; do
		printf 'rx %s %s\n' "$q" \
			$(($(ethtool_stat "rx${q}_drops") + $(ethtool_stat "rx${q}_invalid")))
		printf 'tx %s %s\n' "$q" \
			$(($(ethtool_stat "tx${q}_drops") + $(ethtool_stat "tx${q}_invalid")))
	done)
	[ "$(awk '{ print $1, $2, $5 }' <<< "$out")" = "$(sort <<< "$expect")" ]
	check_err $? "qstats per queue:
$out
drops and invalid of ethtool -S:
$expect"

	# The queues add up to the device's statistics.
	sums=$(awk '{ p[$1] += $3; b[$1] += $4 }
		    END { print p["rx"] + 0, b["rx"] + 0, p["tx"] + 0, b["tx"] + 0 }' <<< "$out")
	link=$(ip -n "$NS" -j -s link show kni0 | python3 -c "import json, sys
s = json.load(sys.stdin)[0]['stats64']
print(s['rx']['packets'], s['rx']['bytes'], s['tx']['packets'], s['tx']['bytes'])")
	[ "$sums" = "$link" ]
	check_err $? "qstats add up to '$sums', ip -s link says '$link'"

	# The dataplane's packets reached the stack on queue 0; the stack's
	# answers and pings left on whichever queue it picked, passed to the
	# dataplane while it was attached to queue 0 and dropped otherwise.
	awk '$1 == "rx" && $2 == 0 && $3 > 0 { r = 1 }
	     $1 == "tx" { t += $3 + $5 }
	     END { exit !(r && t > 0) }' <<< "$out"
	check_err $? "qstats show no traffic: $out"

	ip -n "$NS" link del kni0
	check_err $? "deleting kni0 failed"
	rm -f "$log"
	log_test "netdev qstats-get per queue"
}

setup_ns NS || exit "$ksft_skip"
require_kni "$NS"
if [ ! -f "$YNL" ] || ! python3 -c 'import yaml' 2>/dev/null; then
	echo "FAIL: no YNL cli.py under KNI_KSRC='${KNI_KSRC:-}', or no python3-yaml"
	exit "$ksft_fail"
fi
test_queues
test_qstats
exit "$EXIT_STATUS"
