#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Unloading kni. While a dataplane holds a queue - through its file, or
# only through its mapping - the module cannot go, traffic or not; once the
# dataplane let go, it goes and takes every kni device of every netns with
# it. Needs kni built as a module, at the path in KNI_MODULE (the VM
# harness sets it); the module is loaded again at the end.

source ../lib.sh
source kni_lib.sh

HOLDER=
OUT=$(mktemp)

cleanup()
{
	[ -z "$HOLDER" ] || kill "$HOLDER" 2>/dev/null
	wait 2>/dev/null
	[ -d /sys/module/kni ] || insmod "$KNI_MODULE"
	rm -f "$OUT"
	cleanup_all_ns
}
trap cleanup EXIT

# hold NS ARGS...: start kni_hold in NS and wait until it holds its queue.
hold()
{
	local ns=$1

	shift
	ip netns exec "$ns" ./kni_hold "$@" > "$OUT" 2>&1 &
	HOLDER=$!
	wait_attached "$HOLDER" "$OUT"
}

release()
{
	kill "$HOLDER" 2> /dev/null
	wait "$HOLDER"
	check_err $? "kni_hold failed: $(cat "$OUT")"
	HOLDER=
}

# unload_refused: rmmod must fail, and leave kni and its devices be.
unload_refused()
{
	local out

	out=$(rmmod kni 2>&1)
	check_fail $? "rmmod kni succeeded while a queue was held"
	grep -qF "Module kni is in use" <<< "$out"
	check_err $? "rmmod kni said '$out', expected 'Module kni is in use'"
	[ -d /sys/module/kni ]
	check_err $? "kni is gone"
}

# reload: load kni again after a successful unload.
reload()
{
	insmod "$KNI_MODULE"
	check_err $? "insmod $KNI_MODULE failed"
}

test_held_by_file()
{
	RET=0
	ip -n "$NS1" link add kni0 carrier on type kni
	check_err $? "creating kni0 failed"
	ip -n "$NS1" link set kni0 up
	check_err $? "ip link set kni0 up failed"
	hold "$NS1" kni0
	check_err $? "kni_hold did not attach: $(cat "$OUT")"

	unload_refused
	ip -n "$NS1" link show kni0 > /dev/null
	check_err $? "kni0 is gone after the refused unload"

	release
	rmmod kni
	check_err $? "rmmod kni failed once the file was closed"
	[ ! -d /sys/module/kni ]
	check_err $? "kni is still loaded"
	expect_fail "Device \"kni0\" does not exist." ip -n "$NS1" link show kni0
	reload
	log_test "an attached file keeps kni loaded"
}

test_held_by_mapping()
{
	RET=0
	ip -n "$NS1" link add kni0 type kni
	check_err $? "creating kni0 failed"
	hold "$NS1" -c kni0
	check_err $? "kni_hold did not attach: $(cat "$OUT")"

	unload_refused
	release
	rmmod kni
	check_err $? "rmmod kni failed once the mapping was gone"
	reload
	log_test "a mapping alone keeps kni loaded"
}

# tx_packets NS: the packets kni0 in NS passed to its dataplane.
tx_packets()
{
	ip netns exec "$1" cat /sys/class/net/kni0/statistics/tx_packets
}

test_held_under_traffic()
{
	local i

	RET=0
	ip -n "$NS1" link add kni0 type kni ring_size 64
	check_err $? "creating kni0 failed"
	ip -n "$NS1" link set kni0 up
	check_err $? "ip link set kni0 up failed"
	ip -n "$NS1" addr add 10.0.0.2/24 dev kni0
	check_err $? "adding an address to kni0 failed"
	hold "$NS1" -t kni0
	check_err $? "kni_hold did not attach: $(cat "$OUT")"

	# Each attempt with packets on their way both ways: the stack's
	# replies reach the dataplane in between.
	for ((i = 0; i < 5; i++)); do
		slowwait_for_counter "$KNI_WAIT" 1 tx_packets "$NS1" > /dev/null
		check_err $? "no traffic reached the dataplane before attempt $i"
		unload_refused
	done

	# The device goes; the dataplane sees it and lets go.
	ip -n "$NS1" link del kni0
	check_err $? "deleting kni0 failed"
	wait_exited "$HOLDER"
	check_err $? "kni_hold did not see kni0 go"
	release
	grep -q "received [1-9]" "$OUT"
	check_err $? "kni_hold received nothing: $(cat "$OUT")"
	grep -q gone "$OUT"
	check_err $? "kni_hold did not see its device go: $(cat "$OUT")"
	rmmod kni
	check_err $? "rmmod kni failed after the dataplane let go"
	reload
	log_test "unload refused under traffic, allowed after"
}

test_unload_with_devices()
{
	local ns i

	RET=0
	for ns in "$NS1" "$NS2"; do
		for ((i = 0; i < 3; i++)); do
			ip -n "$ns" link add "kni$i" numtxqueues 2 numrxqueues 2 type kni &&
				ip -n "$ns" link set "kni$i" up
			check_err $? "creating kni$i in $ns failed"
		done
		ip -n "$ns" addr add 10.0.0.2/24 dev kni0
		check_err $? "adding an address to kni0 in $ns failed"
		check_kni_count "$ns" 3 "before the unload"
		# Traffic the stack sends into the void (no dataplane).
		ip netns exec "$ns" ping -q -c 50 -i 0.01 -W 1 10.0.0.1 \
			> /dev/null 2>&1 &
	done
	rmmod kni
	check_err $? "rmmod kni failed with devices but no dataplane"
	wait
	for ns in "$NS1" "$NS2"; do
		check_kni_count "$ns" 0 "after the unload"
	done
	reload
	ip -n "$NS1" link add kni0 type kni
	check_err $? "no kni device after loading kni again"
	ip -n "$NS1" link del kni0
	check_err $? "deleting kni0 failed"
	log_test "unload deletes the devices of every netns"
}

if [ -z "${KNI_MODULE:-}" ] || [ ! -f /sys/module/kni/refcnt ]; then
	echo "SKIP: kni is not a module here (KNI_MODULE unset)"
	exit "$ksft_skip"
fi
setup_ns NS1 NS2 || exit "$ksft_skip"
test_held_by_file
test_held_by_mapping
test_held_under_traffic
test_unload_with_devices
exit "$EXIT_STATUS"
