#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers shared by the kni shell selftests; sourced after ../lib.sh.
# shellcheck disable=SC2154 # ksft_* are lib.sh's

# The budget, in seconds, of every wait on a condition: a debug kernel
# under emulation is slow, and a correct run never comes near it.
KNI_WAIT=${KNI_WAIT:-300}

# check_err ERR MSG: any non-zero ERR fails the test (whatever the number:
# ip exits 2 when the kernel refuses, which is no expected failure); the
# first MSG is the one reported.
check_err()
{
	local err=$1
	local msg=$2

	if ((err)); then
		ret_set_ksft_status "$ksft_fail" "$msg"
	fi
}

# check_fail ERR MSG: the test fails when something that must fail did not.
check_fail()
{
	local err=$1
	local msg=$2

	if ((err == 0)); then
		ret_set_ksft_status "$ksft_fail" "$msg"
	fi
}

# require_kni NS: skip the whole test when the kernel has no kni; any other
# failure to create and delete a device fails it.
require_kni()
{
	local out

	if out=$(ip -n "$1" link add kni_probe type kni 2>&1); then
		out=$(ip -n "$1" link del kni_probe 2>&1) && return 0
		echo "FAIL: cannot delete a kni device: $out"
		exit "$ksft_fail"
	fi
	if grep -qF "Unknown device type" <<< "$out"; then
		echo "SKIP: cannot create a kni device (CONFIG_KNI)"
		exit "$ksft_skip"
	fi
	echo "FAIL: cannot create a kni device: $out"
	exit "$ksft_fail"
}

# The distribution's ip, to check that kni works without the kni-aware
# iproute2; the plain "ip" when the harness did not name one.
KNI_STOCK_IP=${KNI_STOCK_IP:-ip}

# expect_fail TEXT CMD...: CMD must fail and its output contain TEXT (the
# extack message, or what the tool makes of the error).
expect_fail()
{
	local text=$1 out rc

	shift
	if [ -z "$text" ]; then
		check_err 1 "no message to expect from '$*'"
		return
	fi
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -eq 0 ]; then
		check_err 1 "'$*' succeeded"
	elif ! grep -qF -- "$text" <<< "$out"; then
		check_err 1 "'$*' said '$out', expected '$text'"
	fi
}

# expect_out TEXT CMD...: CMD must succeed and its output contain TEXT.
expect_out()
{
	local text=$1 out rc

	shift
	out=$("$@" 2>&1)
	rc=$?
	if [ $rc -ne 0 ]; then
		check_err $rc "'$*' failed: $out"
	elif ! grep -qF -- "$text" <<< "$out"; then
		check_err 1 "'$*' printed '$out', expected '$text'"
	fi
}

# kni_count [NS]: print the number of kni devices in NS (by default the
# caller's namespace); fails, printing nothing, when they cannot be listed.
kni_count()
{
	local netns=() out

	[ -z "${1:-}" ] || netns=(-n "$1")
	out=$(ip "${netns[@]}" -o link show type kni) || return
	if [ -z "$out" ]; then
		echo 0
	else
		wc -l <<< "$out"
	fi
}

# check_kni_count NS N MSG: NS must hold exactly N kni devices.
check_kni_count()
{
	local n

	n=$(kni_count "$1")
	[ "$n" = "$2" ]
	check_err $? "$3: ${n:-an unreadable number of} kni devices in $1, expected $2"
}

# json_eval JSON EXPR: evaluate a Python expression over d, the first
# object of JSON (as "ip -j" prints it), and print the result.
json_eval()
{
	python3 -c "import json, sys; d = json.load(sys.stdin)[0]; print($2)" \
		<<< "$1"
}

# kni_json NS DEV EXPR: json_eval over the device's "ip -j -d link show".
kni_json()
{
	local out

	out=$(ip -n "$1" -j -d link show "$2") || return
	json_eval "$out" "$3"
}

# check_info_json JSON DEV DICT: the kni attributes of DEV in its "ip -j -d
# link show" JSON must be exactly DICT (a Python literal): no attribute
# more, none less, none other.
check_info_json()
{
	local out

	out=$(python3 -c '
import ast, json, sys
d = json.loads(sys.argv[1])[0]["linkinfo"]["info_data"]
print(d)
sys.exit(d != ast.literal_eval(sys.argv[2]))' "$1" "$3" 2>&1)
	check_err $? "$2's kni attributes are '$out', expected '$3'"
}

# check_info_data NS DEV DICT: check_info_json for DEV in NS.
check_info_data()
{
	local out

	out=$(ip -n "$1" -j -d link show "$2" 2>&1)
	check_info_json "$out" "$2" "$3"
}

# check_queues NS DEV N: DEV in NS has N transmit and N receive queues, as
# rtnetlink reports them and as sysfs lists them.
check_queues()
{
	local out

	out=$(kni_json "$1" "$2" "(d['num_tx_queues'], d['num_rx_queues'])" 2>&1)
	[ "$out" = "($3, $3)" ]
	check_err $? "$2's (numtxqueues, numrxqueues) are '$out', expected ($3, $3)"
	# shellcheck disable=SC2016 # expanded by the inner shell
	out=$(ip netns exec "$1" bash -c 'shopt -s nullglob
		rx=(/sys/class/net/$1/queues/rx-*)
		tx=(/sys/class/net/$1/queues/tx-*)
		echo "${#rx[@]} ${#tx[@]}"' - "$2" 2>&1)
	[ "$out" = "$3 $3" ]
	check_err $? "$2 has '$out' rx and tx queues in sysfs, expected $3 of each"
}

# check_carrier NS DEV 0|1: DEV in NS, which must be up, has no carrier (0)
# or has one (1).
check_carrier()
{
	local c

	c=$(ip netns exec "$1" cat "/sys/class/net/$2/carrier" 2>&1)
	[ "$c" = "$3" ]
	check_err $? "$2's carrier is '$c', expected $3"
}

# wait_for CMD...: run CMD until it succeeds, for at most KNI_WAIT seconds;
# CMD's status.
wait_for()
{
	slowwait "$KNI_WAIT" "$@" > /dev/null
}

# alive PID: process PID has not exited.
alive()
{
	kill -0 "$1" 2> /dev/null
}

# wait_attached PID OUT: wait until kni_hold PID says in OUT that it holds
# its queue; fail when it exited instead.
wait_attached()
{
	wait_for eval "grep -q attached '$2' || ! alive $1"
	grep -q attached "$2"
}

# wait_exited PID: wait until process PID exits; fail if it does not.
wait_exited()
{
	wait_for eval "! alive $1"
}

# proc_is PID COMM: process PID runs COMM: it started, and is past exec.
proc_is()
{
	[ "$(cat "/proc/$1/comm" 2>/dev/null)" = "$2" ]
}

# wait_exec PID COMM: wait until process PID runs COMM; fail when it
# exited instead.
wait_exec()
{
	wait_for eval "proc_is $1 $2 || ! alive $1"
	proc_is "$1" "$2"
}

# userns_start VAR [MAP]: start a process in a new user namespace, with
# the pid in VAR (the caller ends it), and map ids into the namespace: MAP
# is a uid_map and gid_map line, "0 0 1" (root to root) by default. Run
# commands in the namespace, as its root, with "nsenter -t PID -U".
userns_start()
{
	local pid map=${2:-0 0 1}

	unshare -U sleep infinity &
	pid=$!
	wait_exec "$pid" sleep || return 1
	if ! echo "$map" > "/proc/$pid/uid_map" ||
	   ! echo "$map" > "/proc/$pid/gid_map"; then
		kill "$pid"
		return 1
	fi
	eval "$1=$pid"
}

# netns_in_userns VAR UPID: create a network namespace owned by the user
# namespace of UPID, name it like setup_ns does (in VAR, and in NS_LIST for
# cleanup_all_ns); nothing but its name holds it.
netns_in_userns()
{
	local name pid

	name=${1,,}-$(mktemp -u XXXXXX)
	nsenter -t "$2" -U unshare -n sleep infinity &
	pid=$!
	if ! wait_exec "$pid" sleep ||
	   ! ip netns attach "$name" "$pid"; then
		kill "$pid"
		wait "$pid"
		return 1
	fi
	kill "$pid"
	wait "$pid"
	NS_LIST+=("$name")
	eval "$1=$name"
}
