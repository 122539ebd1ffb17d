#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kni devices and network namespaces: creation in another namespace,
# independent names per namespace, the refusal to move a device, and
# deleting a namespace with devices inside.

source ../lib.sh
source kni_lib.sh

UPID=
OUT=$(mktemp)

cleanup()
{
	[ -z "$UPID" ] || kill "$UPID"
	rm -f "$OUT"
	cleanup_all_ns
}
trap cleanup EXIT

test_create_in_netns()
{
	RET=0

	ip -n "$NS1" link add kni0 type kni
	check_err $? "ip -n NS link add failed"
	ip link add kni0 netns "$NS2" numtxqueues 2 numrxqueues 2 type kni
	check_err $? "ip link add ... netns NS failed"
	expect_fail "Device \"kni0\" does not exist." ip link show kni0

	# The same name in two namespaces, each device on its own.
	expect_out "numtxqueues 1 numrxqueues 1 " ip -n "$NS1" -d link show kni0
	expect_out "numtxqueues 2 numrxqueues 2 " ip -n "$NS2" -d link show kni0
	check_kni_count "$NS1" 1 "with a device in each namespace"
	check_kni_count "$NS2" 1 "with a device in each namespace"

	ip -n "$NS1" link del kni0
	check_err $? "deleting kni0 in the first namespace failed"
	expect_out "numtxqueues 2 numrxqueues 2 " ip -n "$NS2" -d link show kni0
	ip -n "$NS2" link del kni0
	check_err $? "deleting kni0 in the second namespace failed"
	log_test "create in a namespace; names per namespace"
}

test_immutable()
{
	RET=0

	ip -n "$NS1" link add kni0 type kni
	check_err $? "creating kni0 failed"
	expect_fail "The interface netns is immutable" \
		ip -n "$NS1" link set kni0 netns "$NS2"
	ip -n "$NS1" link show kni0 &>/dev/null
	check_err $? "kni0 left its namespace"
	check_kni_count "$NS2" 0 "after the refused move"
	ip -n "$NS1" link del kni0
	check_err $? "deleting kni0 failed"
	log_test "moving a device to another namespace is refused"
}

# netns_creatable UPID: whether the user namespace of UPID may create a
# network namespace now.
netns_creatable()
{
	nsenter -t "$1" -U unshare -n true 2> /dev/null
}

# Once a network namespace is deleted, the kernel tears its devices down in
# the background: nothing in the namespace can be looked at any more, and
# a device that outlived it could not be named. What can be observed is
# the namespace's end: it counts against the user.max_net_namespaces of
# the user namespace that owns it until cleanup_net() has run every exit
# method - unregistered every device, waited for the last reference to
# each - and freed it. With that limit at 1, the owner can create another
# network namespace again only then.
test_netns_delete()
{
	local ns holder i q n=50 before out

	RET=0
	before=$(kni_count "") || check_err 1 "cannot list the devices here"
	if ! userns_start UPID; then
		log_test_skip "deleting a namespace with $n devices inside" \
			"no user namespaces"
		return
	fi
	nsenter -t "$UPID" -U sh -c "echo 1 > /proc/sys/user/max_net_namespaces"
	check_err $? "cannot limit the user namespace to one network namespace"
	netns_in_userns ns "$UPID"
	check_err $? "cannot create a network namespace in the user namespace"
	# The limit holds: else the wait below would prove nothing.
	expect_fail "No space left on device" \
		nsenter -t "$UPID" -U unshare -n true

	for ((i = 0; i < n; i++)); do
		q=$((i % 4 + 1))
		echo "link add kni$i numtxqueues $q numrxqueues $q carrier on type kni"
	done | ip -n "$ns" -batch -
	check_err $? "creating $n devices failed"
	ip -n "$ns" link set kni0 up
	check_err $? "ip link set kni0 up failed"
	check_kni_count "$ns" $n "after creating them"

	# A dataplane attached to a queue of a device, from outside: it holds
	# the device, not the namespace, and learns the device went.
	./kni_hold -q 3 -n "/run/netns/$ns" kni3 > "$OUT" 2>&1 &
	holder=$!
	wait_attached "$holder" "$OUT"
	check_err $? "kni_hold did not attach: $(cat "$OUT")"

	ip netns del "$ns"
	check_err $? "deleting the namespace failed"
	remove_ns_list "$ns"
	wait_for netns_creatable "$UPID"
	check_err $? "the namespace was not freed"
	# The kernel may not move kni devices to the initial namespace.
	out=$(kni_count "")
	[ "$out" = "$before" ]
	check_err $? "$out kni devices here after the namespace went, $before before"

	# It exits once its file reports the hangup.
	wait_exited "$holder"
	check_err $? "the attached file did not see its device go"
	kill "$holder" 2> /dev/null
	wait "$holder"
	check_err $? "kni_hold failed: $(cat "$OUT")"
	grep -q gone "$OUT"
	check_err $? "kni_hold did not see its device go: $(cat "$OUT")"
	kill "$UPID"
	wait "$UPID" 2> /dev/null
	UPID=
	log_test "deleting a namespace with $n devices inside"
}

setup_ns NS1 NS2 || exit "$ksft_skip"
require_kni "$NS1"
test_create_in_netns
test_immutable
test_netns_delete
exit "$EXIT_STATUS"
