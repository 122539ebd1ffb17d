#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Many kni devices in one network namespace: N devices of 4 queues each,
# half of them held by a dataplane, are created, then removed by deleting
# the namespace. The time from "ip netns del" until the namespace is freed
# (every device unregistered and released) is measured, and the same for N
# veth pairs, as a yardstick; the test prints both and their ratio. It never
# fails on timing: only when a device or an attach did not happen, a device
# has the wrong number of queues, the teardown does not finish, or a
# dataplane did not see its device go.
#
# N is KNI_SCALE_N, 1000 by default. A debug kernel (kmemleak, lockdep or
# KASAN) is much slower: under emulation (QEMU TCG) N=1000 takes it about
# four minutes, so there the default is 200, about a minute. The test
# prints the N it used.

source ../lib.sh
source kni_lib.sh

# debug_kernel: whether the kernel is built with heavy debugging.
debug_kernel()
{
	[ -e /sys/kernel/debug/kmemleak ] || [ -e /proc/lockdep ] ||
		grep -qm1 ' kasan_report$' /proc/kallsyms 2> /dev/null
}

if [ -n "${KNI_SCALE_N:-}" ]; then
	N=$KNI_SCALE_N
	N_WHY="KNI_SCALE_N"
elif debug_kernel; then
	N=200
	N_WHY="default on a debug kernel"
else
	N=1000
	N_WHY="default"
fi
if ! [[ "$N" =~ ^[1-9][0-9]*$ ]]; then
	echo "FAIL: KNI_SCALE_N must be a positive number, not '$N'"
	exit "$ksft_fail"
fi
# The budget of a teardown and of the waits on the dataplanes: the common
# one plus a second a device, far more than a debug kernel under emulation
# needs (it removes some 25 devices a second, starts some 10 dataplanes).
BUDGET=$((KNI_WAIT + N))

UPID=
DIR=$(mktemp -d)
# HOLDERS[i]: the pid of the kni_hold attached to kni<i> (even i).
declare -a HOLDERS

cleanup()
{
	local pid

	for pid in "${HOLDERS[@]}"; do
		kill "$pid" 2> /dev/null
	done
	[ -z "$UPID" ] || kill "$UPID"
	cleanup_all_ns
	rm -rf "$DIR"
}
trap cleanup EXIT

# netns_creatable: whether the user namespace of UPID may create a network
# namespace now.
netns_creatable()
{
	nsenter -t "$UPID" -U unshare -n true 2> /dev/null
}

# The user namespace owning the network namespaces under test may own one
# network namespace at a time: it counts against user.max_net_namespaces
# until cleanup_net() has unregistered every device in it, waited for the
# last reference to each and freed it. Deleting it and retrying to create
# another there, from that user namespace, times the whole teardown.
#
# teardown NS VAR: delete NS and set VAR to the milliseconds until it was
# freed; fails when it was not within BUDGET seconds.
teardown()
{
	local out

	out=$(python3 - "$1" "$UPID" "$BUDGET" 2>&1 <<-'EOF'
	import ctypes, errno, os, subprocess, sys, time

	CLONE_NEWNET = 0x40000000
	CLONE_NEWUSER = 0x10000000
	ns, upid, budget = sys.argv[1], sys.argv[2], float(sys.argv[3])
	libc = ctypes.CDLL(None, use_errno=True)
	userns = os.open(f"/proc/{upid}/ns/user", os.O_RDONLY)
	start = time.monotonic()
	subprocess.run(["ip", "netns", "del", ns], check=True)
	if libc.setns(userns, CLONE_NEWUSER):
	    sys.exit(f"setns: {os.strerror(ctypes.get_errno())}")
	while libc.unshare(CLONE_NEWNET):
	    err = ctypes.get_errno()
	    if err != errno.ENOSPC:
	        sys.exit(f"unshare: {os.strerror(err)}")
	    if time.monotonic() - start > budget:
	        sys.exit(f"not freed within {budget:.0f} s")
	    time.sleep(0.01)
	print(round((time.monotonic() - start) * 1000))
	EOF
	)
	if ! [[ "$out" =~ ^[0-9]+$ ]]; then
		check_err 1 "deleting the namespace: $out"
		return 1
	fi
	eval "$2=$out"
}

# ms MS: MS milliseconds in seconds.
ms()
{
	printf '%d.%03d' $(($1 / 1000)) $(($1 % 1000))
}

# new_netns VAR: a network namespace owned by the user namespace, in VAR,
# once the previous one is gone.
new_netns()
{
	wait_for netns_creatable && netns_in_userns "$1" "$UPID"
}

# batch NS: run the "ip -batch" commands on stdin in NS; its time in ms
# is left in T.
batch()
{
	local start=${EPOCHREALTIME/./} rc

	ip -n "$1" -batch -
	rc=$?
	T=$(((${EPOCHREALTIME/./} - start) / 1000))
	return $rc
}

# Where the waits on the dataplanes go on: they change state in one
# direction only (starting, attached or exited, gone), so the kni_hold
# before CURSOR need no second look.
CURSOR=0

# holders_wait COND: wait until COND holds, for at most BUDGET seconds
# (not wait_for: COND moves CURSOR, which a subshell would not keep).
holders_wait()
{
	local end=$((SECONDS + BUDGET))

	CURSOR=0
	until "$1"; do
		((SECONDS < end)) || return 1
		sleep 0.1
	done
}

# holders_attached: every kni_hold has either attached or exited.
holders_attached()
{
	local line

	for ((; CURSOR < N; CURSOR += 2)); do
		line=
		read -r line < "$DIR/hold$CURSOR"
		[ "$line" = attached ] && continue
		alive "${HOLDERS[CURSOR]}" && return 1
	done
	return 0
}

# holders_exited: every kni_hold has exited.
holders_exited()
{
	for ((; CURSOR < N; CURSOR += 2)); do
		alive "${HOLDERS[CURSOR]}" && return 1
	done
	return 0
}

# some LIST...: the first few words of LIST, and how many there are.
some()
{
	local more=""

	(($# > 5)) && more=" ..."
	echo "${*:1:5}$more ($# in all)"
}

KNI_MS=
test_kni()
{
	local ns i out bad=() start q why t

	RET=0
	if ! new_netns ns; then
		check_err 1 "cannot create a network namespace in the user namespace"
		log_test "$N kni devices"
		return
	fi
	require_kni "$ns"

	# Rings of 64: the regions of the attached queues fit the memory of
	# a small machine.
	batch "$ns" < <(for ((i = 0; i < N; i++)); do
		echo "link add kni$i numtxqueues 4 numrxqueues 4 type kni ring_size 64"
	done)
	check_err $? "creating $N kni devices failed"
	echo "created $N kni devices of 4 queues in $(ms "$T") s"
	ip -n "$ns" link add kni_def type kni
	check_err $? "creating a kni device with the defaults failed"

	out=$(ip -n "$ns" -o -d link show type kni)
	check_err $? "cannot list the kni devices"
	i=$(grep -cE '^[0-9]+: kni[0-9]+:' <<< "$out")
	[ "$i" = "$N" ]
	check_err $? "$i kni devices, expected $N"
	i=$(grep -E '^[0-9]+: kni[0-9]+:' <<< "$out" |
		grep -c ' numtxqueues 4 numrxqueues 4 ')
	[ "$i" = "$N" ]
	check_err $? "$i kni devices of $N show numtxqueues 4 numrxqueues 4"
	q=$(grep -oE 'numtxqueues [0-9]+ numrxqueues [0-9]+' <<< "$out" | tail -n 1)
	grep -E '^[0-9]+: kni_def:' <<< "$out" |
		grep -q ' numtxqueues 1 numrxqueues 1 '
	check_err $? "a default kni device does not show numtxqueues 1 numrxqueues 1: $q"

	# Dataplanes on every other device, on each of the 4 queues in turn,
	# attached from outside the namespace: they hold their device, not
	# the namespace.
	start=${EPOCHREALTIME/./}
	for ((i = 0; i < N; i += 2)); do
		./kni_hold -q $((i / 2 % 4)) -n "/run/netns/$ns" "kni$i" \
			> "$DIR/hold$i" 2>&1 &
		HOLDERS[i]=$!
	done
	holders_wait holders_attached
	check_err $? "the dataplanes neither attached nor exited"
	# shellcheck disable=SC2207 # the names are words
	bad=($(cd "$DIR" && grep -Lx attached hold*))
	why=$(cat "$DIR/${bad[0]}" 2> /dev/null)
	check_err ${#bad[@]} "attach failed on $(some "${bad[@]//hold/kni}"): $why"
	t=$(ms $(((${EPOCHREALTIME/./} - start) / 1000)))
	echo "attached $(((N + 1) / 2)) dataplanes in $t s"

	# The dataplanes are part of it: a device is gone once they let go.
	if teardown "$ns" KNI_MS; then
		echo "kni: $N devices, $(((N + 1) / 2)) attached, torn down in $(ms "$KNI_MS") s"
		remove_ns_list "$ns"
	else
		KNI_MS=
	fi

	# Each sees its device go and exits.
	holders_wait holders_exited
	check_err $? "dataplanes still run after their device went"
	bad=()
	for ((i = 0; i < N; i += 2)); do
		if alive "${HOLDERS[i]}"; then
			bad+=("kni$i")
			continue
		fi
		wait "${HOLDERS[i]}" || bad+=("kni$i")
	done
	why=$(cat "$DIR/hold${bad[0]#kni}" 2> /dev/null)
	check_err ${#bad[@]} "the dataplane of $(some "${bad[@]}") failed or still runs: $why"
	# shellcheck disable=SC2207
	bad=($(cd "$DIR" && grep -Lx gone hold*))
	why=$(cat "$DIR/${bad[0]}" 2> /dev/null)
	check_err ${#bad[@]} \
		"the dataplanes of $(some "${bad[@]//hold/kni}") did not see their device go: $why"
	HOLDERS=()
	log_test "$N kni devices of 4 queues, half attached: create, delete the namespace"
}

VETH_MS=
test_veth()
{
	local ns i

	RET=0
	if ! new_netns ns; then
		check_err 1 "cannot create a network namespace in the user namespace"
		log_test "$N veth pairs"
		return
	fi

	batch "$ns" < <(for ((i = 0; i < N; i++)); do
		echo "link add veth$i type veth peer name vpeer$i"
	done)
	check_err $? "creating $N veth pairs failed"
	echo "created $N veth pairs in $(ms "$T") s"
	i=$(ip -n "$ns" -o link show type veth | wc -l)
	[ "$i" = $((2 * N)) ]
	check_err $? "$i veth devices, expected $((2 * N))"

	if teardown "$ns" VETH_MS; then
		echo "veth: $N pairs torn down in $(ms "$VETH_MS") s"
		remove_ns_list "$ns"
	else
		VETH_MS=
	fi
	log_test "$N veth pairs: create, delete the namespace"
}

echo "N=$N ($N_WHY)"
if ! userns_start UPID; then
	echo "SKIP: no user namespaces"
	exit "$ksft_skip"
fi
if ! nsenter -t "$UPID" -U sh -c "echo 1 > /proc/sys/user/max_net_namespaces"; then
	echo "FAIL: cannot limit the user namespace to one network namespace"
	exit "$ksft_fail"
fi

test_kni
test_veth
if [ -n "$KNI_MS" ] && [ -n "$VETH_MS" ]; then
	i=$((KNI_MS * 100 / (VETH_MS ? VETH_MS : 1)))
	printf 'teardown of %d devices: kni %s s, veth %s s, kni/veth %d.%02d\n' \
		"$N" "$(ms "$KNI_MS")" "$(ms "$VETH_MS")" $((i / 100)) $((i % 100))
fi
exit "$EXIT_STATUS"
