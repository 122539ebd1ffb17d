#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# kni devices in a network namespace owned by a user namespace other than
# the initial one. Its root creates and changes devices; owner and group
# are ids of the caller's user namespace, set and shown as such, and
# refused when they have no mapping there or in the user namespace that
# owns the device's network namespace. A queue may be attached by a
# process with CAP_NET_ADMIN in the user namespace that owns the device's
# network namespace, by the owner and by a member of the group; not by a
# process without the capability that is neither, nor by one that has
# every capability, but in another user namespace.

source ../lib.sh
source kni_lib.sh

# Ids 0-65535 of the user namespace are 100000-165535 outside it.
MAP="0 100000 65536"
UPID=
# The users of the namespace may have no way to the test's directory, nor
# to the ip first on PATH (a kni-aware build under /root, say): they run
# copies, from a directory anyone can enter.
BIN=$(mktemp -d)

cleanup()
{
	[ -z "$UPID" ] || kill "$UPID"
	cleanup_all_ns
	rm -rf "$BIN"
}
trap cleanup EXIT

# in_userns CMD...: run CMD as root of the user namespace, in its network
# namespace.
in_userns()
{
	nsenter -t "$UPID" -U --net="/run/netns/$NSU" --wd="$BIN" -- "$@"
}

# as_user UID GID GROUPS CMD...: run CMD in the namespaces as UID, GID and
# the supplementary GROUPS (a comma-separated list, or ""), ids of the user
# namespace, with no capability.
as_user()
{
	local uid=$1 gid=$2 groups=--clear-groups

	[ -z "$3" ] || groups=--groups=$3
	shift 3
	in_userns setpriv --reuid="$uid" --regid="$gid" "$groups" -- "$@"
}

# in_foreign_userns CMD...: run CMD in the device's network namespace as
# root, with every capability, of a new user namespace (a sibling of the
# one that owns the network namespace).
in_foreign_userns()
{
	nsenter --net="/run/netns/$NSU" --wd="$BIN" -- unshare -U -r -- "$@"
}

# check_info_in_userns DEV DICT: check_info_json for DEV as the root of the
# user namespace sees it.
check_info_in_userns()
{
	local out

	out=$(in_userns ip -j -d link show "$1" 2>&1)
	check_info_json "$out" "$1" "$2"
}

test_create()
{
	RET=0

	in_userns ip link add kni0 numtxqueues 2 numrxqueues 2 type kni \
		owner 1000 group 1001
	check_err $? "the root of the user namespace cannot create kni0"
	check_info_in_userns kni0 \
		"{'ring_size': 1024, 'frame_size': 2048, 'loopback': 'none',
		  'owner': 1000, 'group': 1001}"
	# The same ids, seen from the initial user namespace.
	check_info_data "$NSU" kni0 \
		"{'ring_size': 1024, 'frame_size': 2048, 'loopback': 'none',
		  'owner': 101000, 'group': 101001}"
	check_queues "$NSU" kni0 2
	in_userns ip link set kni0 up
	check_err $? "the root of the user namespace cannot set kni0 up"
	check_carrier "$NSU" kni0 0

	in_userns ip link set kni0 carrier on type kni owner 2000 group none
	check_err $? "the root of the user namespace cannot change kni0"
	check_info_in_userns kni0 \
		"{'ring_size': 1024, 'frame_size': 2048, 'loopback': 'none', 'owner': 2000}"
	check_info_data "$NSU" kni0 \
		"{'ring_size': 1024, 'frame_size': 2048, 'loopback': 'none', 'owner': 102000}"
	check_carrier "$NSU" kni0 1

	# And the other way round.
	ip -n "$NSU" link set kni0 type kni owner 101001 group 101002
	check_err $? "changing kni0 from the initial user namespace failed"
	check_info_in_userns kni0 \
		"{'ring_size': 1024, 'frame_size': 2048, 'loopback': 'none',
		  'owner': 1001, 'group': 1002}"

	in_userns ip link del kni0
	check_err $? "the root of the user namespace cannot delete kni0"
	check_kni_count "$NSU" 0 "after the delete"
	log_test "created and changed by the root of a user namespace, ids as its own"
}

test_unmapped()
{
	local out

	RET=0
	expect_fail "kni owner uid is not mapped in the caller's user namespace" \
		in_userns ip link add kni0 type kni owner 65536
	expect_fail "kni group gid is not mapped in the caller's user namespace" \
		in_userns ip link add kni0 type kni owner 1000 group 65536
	check_kni_count "$NSU" 0 "after the refused creations"

	out=$(in_userns python3 kni_nl.py kni0 owner=100000 2>&1)
	[ "$out" = "error EINVAL: kni owner uid is not mapped in the caller's user namespace" ]
	check_err $? "kni_nl.py kni0 owner=100000 said '$out'"
	out=$(in_userns python3 kni_nl.py kni0 group=4294967294 2>&1)
	[ "$out" = "error EINVAL: kni group gid is not mapped in the caller's user namespace" ]
	check_err $? "kni_nl.py kni0 group=4294967294 said '$out'"
	check_kni_count "$NSU" 0 "after the refused raw creations"

	# -1 is nobody, not an id.
	out=$(in_userns python3 kni_nl.py kni0 owner=4294967295 group=4294967295 2>&1)
	[ "$out" = ok ]
	check_err $? "kni_nl.py kni0 owner=-1 group=-1 said '$out'"
	check_info_in_userns kni0 \
		"{'ring_size': 1024, 'frame_size': 2048, 'loopback': 'none'}"
	in_userns ip link set kni0 up
	check_err $? "ip link set kni0 up failed"

	# A change refused for its group changes nothing, not even what was
	# valid in it.
	expect_fail "kni group gid is not mapped in the caller's user namespace" \
		in_userns ip link set kni0 carrier on type kni loopback fifo \
		owner 1000 group 65536
	check_info_in_userns kni0 \
		"{'ring_size': 1024, 'frame_size': 2048, 'loopback': 'none'}"
	check_carrier "$NSU" kni0 0

	in_userns ip link del kni0
	check_err $? "deleting kni0 failed"
	log_test "owner and group unmapped in the caller's user namespace refused"

	# Mapped in the caller's (initial) user namespace but not in the one
	# that owns the device's network namespace: its root would see 65534.
	RET=0
	expect_fail "kni owner uid is not mapped in the device's user namespace" \
		ip -n "$NSU" link add kni0 type kni owner 5
	expect_fail "kni group gid is not mapped in the device's user namespace" \
		ip -n "$NSU" link add kni0 type kni group 165536
	check_kni_count "$NSU" 0 "after the refused creations"
	ip -n "$NSU" link add kni0 type kni owner 100005 group 165535
	check_err $? "creating kni0 with ids mapped in both namespaces failed"
	check_info_in_userns kni0 \
		"{'ring_size': 1024, 'frame_size': 2048, 'loopback': 'none',
		  'owner': 5, 'group': 65535}"
	expect_fail "kni owner uid is not mapped in the device's user namespace" \
		ip -n "$NSU" link set kni0 type kni owner 99999 group 100000
	check_info_in_userns kni0 \
		"{'ring_size': 1024, 'frame_size': 2048, 'loopback': 'none',
		  'owner': 5, 'group': 65535}"
	in_userns ip link del kni0
	check_err $? "deleting kni0 failed"
	log_test "owner and group unmapped in the device's user namespace refused"
}

# may_attach CMD...: CMD (a kni_hold -x) must attach.
may_attach()
{
	expect_out "attached" "$@"
}

# may_not_attach CMD...: CMD (a kni_hold -x) must be refused with EPERM.
may_not_attach()
{
	expect_fail "kni_hold: attach kni0 queue 0: Operation not permitted" "$@"
}

test_attach()
{
	local out

	RET=0
	in_userns ip link add kni0 type kni owner 1000 group 1001
	check_err $? "creating kni0 failed"

	# The users below have no capability: else they would prove nothing.
	out=$(as_user 1002 1002 "" grep ^CapEff /proc/self/status)
	[[ $out =~ ^CapEff:[[:space:]]+0+$ ]]
	check_err $? "an unprivileged user of the namespace has '$out'"

	may_attach in_userns kni_hold -x kni0
	may_attach in_userns setpriv --reuid=1002 --regid=1002 --clear-groups \
		--inh-caps=+net_admin --ambient-caps=+net_admin kni_hold -x kni0
	# Root of the namespace without CAP_NET_ADMIN is nobody special.
	may_not_attach in_userns setpriv --bounding-set=-net_admin \
		kni_hold -x kni0
	log_test "CAP_NET_ADMIN in the owning user namespace may attach"

	RET=0
	may_attach as_user 1000 1000 "" kni_hold -x kni0
	may_attach as_user 1002 1001 "" kni_hold -x kni0
	may_attach as_user 1002 1002 1003,1001 kni_hold -x kni0
	may_not_attach as_user 1002 1002 1003 kni_hold -x kni0
	may_not_attach as_user 1001 1000 "" kni_hold -x kni0
	log_test "the owner and the group may attach, other users not"

	RET=0
	out=$(in_foreign_userns grep ^CapEff /proc/self/status)
	[[ $out =~ ^CapEff:[[:space:]]+0*1f+$ ]]
	check_err $? "root of the other user namespace has '$out'"
	may_not_attach in_foreign_userns kni_hold -x kni0
	# Nor when the device has no owner and no group.
	in_userns ip link set kni0 type kni owner none group none
	check_err $? "taking kni0's owner and group away failed"
	may_not_attach in_foreign_userns kni_hold -x kni0
	may_attach in_userns kni_hold -x kni0
	in_userns ip link del kni0
	check_err $? "deleting kni0 failed"
	log_test "CAP_NET_ADMIN in another user namespace may not attach"
}

if ! cp ./kni_hold ./kni_nl.py "$(command -v ip)" "$BIN" ||
   ! chmod 755 "$BIN"; then
	echo "FAIL: cannot copy kni_hold, kni_nl.py and ip to $BIN"
	exit "$ksft_fail"
fi
export PATH=$BIN:$PATH
if ! userns_start UPID "$MAP"; then
	echo "SKIP: cannot create a user namespace (CONFIG_USER_NS)"
	exit "$ksft_skip"
fi
if ! netns_in_userns NSU "$UPID"; then
	echo "FAIL: cannot create a network namespace in the user namespace"
	exit "$ksft_fail"
fi
require_kni "$NSU"
test_create
test_unmapped
test_attach
exit "$EXIT_STATUS"
