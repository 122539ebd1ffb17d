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
	local ns=$1 i

	shift
	ip netns exec "$ns" ./kni_hold "$@" > "$OUT" 2>&1 &
	HOLDER=$!
	for ((i = 0; i < 100; i++)); do
		grep -q attached "$OUT" && return 0
		kill -0 "$HOLDER" 2>/dev/null || break
		sleep 0.1
	done
	cat "$OUT"
	return 1
}

release()
{
	kill "$HOLDER"
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
	grep -q "in use" <<< "$out"
	check_err $? "rmmod kni said '$out', expected 'in use'"
	[ -d /sys/module/kni ]
	check_err $? "kni is gone"
}

test_held_by_file()
{
	RET=0
	ip -n "$NS1" link add kni0 type kni carrier on
	ip -n "$NS1" link set kni0 up
	hold "$NS1" kni0
	check_err $? "kni_hold did not attach"

	unload_refused
	ip -n "$NS1" link show kni0 > /dev/null
	check_err $? "kni0 is gone after the refused unload"

	release
	rmmod kni
	check_err $? "rmmod kni failed once the file was closed"
	[ ! -d /sys/module/kni ]
	check_err $? "kni is still loaded"
	ip -n "$NS1" link show kni0 &> /dev/null
	check_fail $? "kni0 outlived the module"
	insmod "$KNI_MODULE"
	check_err $? "insmod $KNI_MODULE failed"
	log_test "an attached file keeps kni loaded"
}

test_held_by_mapping()
{
	RET=0
	ip -n "$NS1" link add kni0 type kni
	hold "$NS1" -c kni0
	check_err $? "kni_hold did not attach"

	unload_refused
	release
	rmmod kni
	check_err $? "rmmod kni failed once the mapping was gone"
	insmod "$KNI_MODULE"
	check_err $? "insmod $KNI_MODULE failed"
	log_test "a mapping alone keeps kni loaded"
}

test_held_under_traffic()
{
	local i

	RET=0
	ip -n "$NS1" link add kni0 type kni ring_size 64
	ip -n "$NS1" link set kni0 up
	ip -n "$NS1" addr add 10.0.0.2/24 dev kni0
	hold "$NS1" -t kni0
	check_err $? "kni_hold did not attach"

	for ((i = 0; i < 5; i++)); do
		unload_refused
		sleep 0.2
	done
	# Packets went both ways meanwhile.
	[ "$(ip netns exec "$NS1" cat /sys/class/net/kni0/statistics/tx_packets)" -gt 0 ]
	check_err $? "no traffic reached the dataplane"

	# The device goes; the dataplane sees it and lets go.
	ip -n "$NS1" link del kni0
	wait "$HOLDER"
	check_err $? "kni_hold failed: $(cat "$OUT")"
	HOLDER=
	grep -q "received [1-9]" "$OUT"
	check_err $? "kni_hold received nothing: $(cat "$OUT")"
	rmmod kni
	check_err $? "rmmod kni failed after the dataplane let go"
	insmod "$KNI_MODULE"
	check_err $? "insmod $KNI_MODULE failed"
	log_test "unload refused under traffic, allowed after"
}

test_unload_with_devices()
{
	local ns i

	RET=0
	for ns in "$NS1" "$NS2"; do
		for ((i = 0; i < 3; i++)); do
			ip -n "$ns" link add "kni$i" type kni queues 2
			ip -n "$ns" link set "kni$i" up
		done
		ip -n "$ns" addr add 10.0.0.2/24 dev kni0
		# Traffic the stack sends into the void (no dataplane).
		ip netns exec "$ns" ping -q -c 50 -i 0.01 -W 1 10.0.0.1 \
			> /dev/null 2>&1 &
	done
	rmmod kni
	check_err $? "rmmod kni failed with devices but no dataplane"
	wait
	for ns in "$NS1" "$NS2"; do
		[ "$(kni_count "$ns")" -eq 0 ]
		check_err $? "kni devices left in $ns"
	done
	insmod "$KNI_MODULE"
	check_err $? "insmod $KNI_MODULE failed"
	ip -n "$NS1" link add kni0 type kni
	check_err $? "no kni device after loading kni again"
	ip -n "$NS1" link del kni0
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
