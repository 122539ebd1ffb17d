#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Boot a kni test kernel under QEMU (TCG) with the host root read-only over
# virtio-9p, run one shell command in the guest as root from the current
# directory, stream its output and exit with its status.
#
# usage: run-vm.sh -k BZIMAGE [-m MODULE] [-t SECONDS] [-r RESULTS_DIR]
#                  [-p DIR]... CMD
#   -k  kernel image
#   -m  a kernel module (kni.ko) the guest loads before CMD; CMD finds its
#       path in $KNI_MODULE
#   -t  limit for the whole VM run (default 600); on expiry QEMU is killed
#   -r  results directory shared writable with the guest as $KNI_RESULTS
#       (default: a fresh temporary directory, removed afterwards)
#   -p  directory prepended to PATH in the guest (repeatable)
#
# KNI_KSRC, when set, reaches the guest: the kernel source tree, for tests
# that use its tools (tools/net/ynl).
#
# The run fails (non-zero, with the tail of the guest's kernel log) when the
# command fails, when the VM does not finish (timeout, panic), and when the
# kernel reported a splat: a WARN, BUG, Oops, KASAN, lockdep, RCU or hung-task
# report or a kmemleak leak - even if the command itself succeeded.
set -uo pipefail

here=$(cd "$(dirname "$0")" && pwd)
kernel=
limit=600
results=
guest_path=
module=
while getopts k:m:t:r:p: opt; do
	case "$opt" in
	k) kernel=$OPTARG ;;
	m) module=$(cd "$(dirname "$OPTARG")" && pwd)/${OPTARG##*/} ;;
	t) limit=$OPTARG ;;
	r) results=$OPTARG ;;
	p) guest_path=$(cd "$OPTARG" && pwd)${guest_path:+:$guest_path} ;;
	*) exit 2 ;;
	esac
done
shift $((OPTIND - 1))
[ -n "$kernel" ] && [ -f "$kernel" ] && [ $# -gt 0 ] || {
	echo "usage: ${0##*/} -k BZIMAGE [-t SECONDS] [-r DIR] [-p DIR]... CMD" >&2
	exit 2
}

# One VM at a time on the machine: each uses every host CPU under TCG, and
# two would make each other's timing-dependent tests meaningless.
lock=${KNI_VM_LOCK:-${KNI_CACHE:-${XDG_CACHE_HOME:-$HOME/.cache}/kni}/vm.lock}
mkdir -p "$(dirname "$lock")"
exec 8>"$lock"
flock 8

keep=1
if [ -z "$results" ]; then
	results=$(mktemp -d "${TMPDIR:-/tmp}/kni-vm.XXXXXX")
	keep=0
fi
mkdir -p "$results"
results=$(cd "$results" && pwd)
printf '%s\n' "$*" > "$results/cmd"
{
	printf 'export KNI_VM_CWD=%q\n' "$PWD"
	[ -z "$guest_path" ] || printf 'export PATH=%q:"$PATH"\n' "$guest_path"
	printf 'export CI=%q\n' "${CI:-}"
	[ -z "$module" ] || printf 'export KNI_MODULE=%q\n' "$module"
	[ -z "${KNI_KSRC:-}" ] || printf 'export KNI_KSRC=%q\n' "$KNI_KSRC"
} > "$results/env"

# A warning stops the guest at once, except on a KCSAN kernel: KCSAN
# reports through the same check, and a race between two functions of the
# base kernel (the 9p transport the guest runs on has some) would stop a
# run that kcsan_filter() below is meant to set it aside in. A warning
# there still fails the run, from the log.
panic_on_warn=1
[ "${KNI_KCSAN:-0}" != 1 ] || panic_on_warn=0
cmdline=(
	console=ttyS0 loglevel=5 printk.time=1
	root=kniroot rootfstype=9p ro
	rootflags=trans=virtio,version=9p2000.L,msize=262144,cache=loose
	init="$here/init.sh"
	panic=-1 oops=panic panic_on_warn=$panic_on_warn softlockup_panic=1
	hung_task_panic=1 kmemleak=on pci=noacpi
)

boot()
{
	rm -f "$results"/{status,finished,dmesg.txt,kmemleak.txt,console.log}
	timeout --foreground -k 10 "$limit" \
		qemu-system-x86_64 -accel tcg -cpu max -smp 2 -m 2G \
		-nodefaults -display none -no-reboot \
		-kernel "$kernel" -append "${cmdline[*]}" \
		-fsdev local,id=root,path=/,security_model=none,readonly=on,multidevs=remap \
		-device virtio-9p-pci,fsdev=root,mount_tag=kniroot \
		-fsdev local,id=res,path="$results",security_model=none,multidevs=remap \
		-device virtio-9p-pci,fsdev=res,mount_tag=kniresults \
		-serial file:"$results/console.log" \
		-chardev stdio,id=out,signal=off -serial chardev:out \
		< /dev/null
}

# Under TCG the base kernel now and then takes a stray interrupt in the
# first milliseconds of boot, before the interrupt's descriptor is set up,
# and the debug kernel reports it (a KASAN wild access in handle_edge_irq).
# A kernel that died before init mounted anything never ran a line of kni
# (built in, its functions or module would be named in the report): boot
# again, at most twice, and say so. Any report after that point, or one
# naming kni, fails the run.
for try in 1 2 3; do
	boot
	qemu_rc=$?
	[ $try -lt 3 ] && [ ! -f "$results/finished" ] &&
		[ $qemu_rc -ne 124 ] && [ $qemu_rc -ne 137 ] &&
		! grep -q 'kni-init: file systems mounted' "$results/console.log" &&
		! grep -qE 'kni_|\[kni\]' "$results/console.log" || break
	echo "run-vm: the guest kernel died in early boot, before init ran; booting again:" >&2
	grep -m 3 -E 'BUG:|panic|RIP:' "$results/console.log" | sed 's/^/  | /' >&2
done

fail=
if [ $qemu_rc -eq 124 ] || [ $qemu_rc -eq 137 ]; then
	fail="the VM did not finish within ${limit}s"
elif [ ! -f "$results/finished" ]; then
	fail="the VM stopped before the command finished (panic or crash)"
fi

# On a KCSAN kernel (KNI_KCSAN=1) a data race report fails the run when it
# names kni: a function of the driver, or the module. Races the base kernel
# reports between its own functions are printed and set aside: they are
# not kni's to fix, and KCSAN finds some in every run.
kcsan_filter()
{
	if [ "${KNI_KCSAN:-0}" != 1 ]; then
		cat
		return
	fi
	awk -v aside="$results/kcsan-aside.txt" '
		function flush() {
			if (block == "")
				return
			if (block ~ /KCSAN/ && block !~ /(kni_[a-z0-9_]+\+0x|\[kni\])/)
				printf "%s", block >> aside
			else
				printf "%s", block
			block = ""
		}
		/==============================/ {
			if (inblock) { block = block $0 "\n"; inblock = 0; flush(); next }
			flush(); inblock = 1; block = $0 "\n"; next
		}
		inblock { block = block $0 "\n"; next }
		{ print }
		END { flush() }'
}

# Kernel reports that fail a run whatever the command said.
splat='Kernel panic|BUG:|WARNING:|Oops|general protection fault|KASAN|UBSAN|'
splat+='circular locking|recursive locking|inconsistent lock state|'
splat+='suspicious RCU usage|RCU stall|blocked for more than|soft lockup|'
splat+='hard LOCKUP|unreferenced object|refcount_t:|list_(add|del) corruption|'
splat+='Call Trace:|unregister_netdevice: waiting for'
rm -f "$results/kcsan-aside.txt"
found=$(cat "$results/console.log" "$results/dmesg.txt" "$results/kmemleak.txt" \
	2>/dev/null | kcsan_filter | grep -E "$splat" | tr -d '\r' | awk '!seen[$0]++' | head -n 5)
if [ -s "$results/kcsan-aside.txt" ]; then
	echo "run-vm: KCSAN reports that do not name kni (set aside):" >&2
	grep -E 'BUG: KCSAN' "$results/kcsan-aside.txt" | sed 's/^.*BUG: /  | /' |
		sort | uniq -c >&2
fi
[ -z "$found" ] || fail="${fail:+$fail; }the guest kernel reported:
$found"

# splat_context: the first report in the guest's kernel log, from a few
# lines before it, where it is most often far from the log's end.
splat_context()
{
	local f n

	for f in "$results/dmesg.txt" "$results/console.log"; do
		[ -f "$f" ] || continue
		n=$(kcsan_filter < "$f" | grep -n -E -m 1 "$splat" | cut -d: -f1)
		[ -n "$n" ] || continue
		echo "run-vm: the first report, in ${f##*/} from line $((n > 5 ? n - 5 : 1)):"
		kcsan_filter < "$f" | tail -n +$((n > 5 ? n - 5 : 1)) | head -n 60
		return
	done
}

status=$(cat "$results/status" 2>/dev/null || echo 1)
if [ -n "$fail" ]; then
	echo "run-vm: FAIL: $fail" >&2
	echo "run-vm: last lines of the guest kernel log:" >&2
	if [ -s "$results/dmesg.txt" ]; then
		tail -n 40 "$results/dmesg.txt"
	else
		tail -n 40 "$results/console.log"
	fi | sed 's/^/  | /' >&2
	[ -z "$found" ] || splat_context | sed '2,$s/^/  | /' >&2
	[ -s "$results/kmemleak.txt" ] && head -n 40 "$results/kmemleak.txt" | sed 's/^/  | /' >&2
	[ "$status" -ne 0 ] || status=1
fi
# Why the run failed, for a caller that reports it last (run-selftests.sh).
rm -f "$results/vm-failure"
[ -z "$fail" ] || printf '%s\n' "$fail" > "$results/vm-failure"
[ -n "$fail" ] || [ "$status" -eq 0 ] ||
	echo "the command in the guest exited with status $status" > "$results/vm-failure"
[ "$status" -eq 0 ] || echo "run-vm: exit status $status" >&2
[ $keep -eq 1 ] || rm -rf "$results"
exit "$status"
