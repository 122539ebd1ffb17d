#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# PID 1 of the kni test VM. The root file system is the host's, read-only
# over virtio-9p; a second 9p share (tag kniresults) is writable and carries
# the command to run in (cmd) and everything that comes back out (status,
# dmesg, kmemleak report). The command's output goes to the second serial
# port, which the host streams. The VM always ends with a reset that QEMU
# (-no-reboot) turns into an exit, also when something below fails.

export PATH=/usr/local/sbin:/usr/local/bin:/usr/sbin:/usr/bin:/sbin:/bin
export HOME=/tmp LANG=C.UTF-8 TERM=dumb

bye()
{
	sync
	echo b > /proc/sysrq-trigger
	sleep 10
	exit 1
}
trap bye EXIT

mark()
{
	[ -w /dev/kmsg ] && echo "kni-init: $*" > /dev/kmsg
}

mount -t proc -o nosuid,nodev,noexec proc /proc
mount -t sysfs -o nosuid,nodev,noexec sysfs /sys
mount -t devtmpfs -o nosuid devtmpfs /dev
# devtmpfs lacks the links udev would add; the kselftest runner writes its
# per-test output to /dev/stdout.
ln -sf /proc/self/fd /dev/fd
ln -sf /proc/self/fd/0 /dev/stdin
ln -sf /proc/self/fd/1 /dev/stdout
ln -sf /proc/self/fd/2 /dev/stderr
mkdir -p /dev/pts /dev/shm
mount -t devpts -o nosuid,noexec devpts /dev/pts
mount -t tmpfs -o mode=1777 tmpfs /dev/shm
# /tmp becomes a writable tmpfs, but the host's /tmp may hold the clone,
# the build cache or the tools under test: its directories stay visible
# (read-only, like the rest of the host) through bind mounts.
mkdir -p /dev/.host-tmp
mount --bind /tmp /dev/.host-tmp
mount -t tmpfs -o mode=1777 tmpfs /tmp
for d in /dev/.host-tmp/*/; do
	[ -d "$d" ] || continue
	d=${d%/}
	mkdir -p "/tmp/${d##*/}" && mount --bind "$d" "/tmp/${d##*/}"
done
mount -t tmpfs -o mode=1777 tmpfs /run
mount -t tmpfs -o mode=1777 tmpfs /var/tmp
mount -t debugfs -o nosuid,nodev,noexec debugfs /sys/kernel/debug
mark "file systems mounted"

results=/run/kni-results
mkdir -p "$results"
mount -t 9p -o trans=virtio,version=9p2000.L,msize=262144 kniresults "$results" || bye
export KNI_RESULTS=$results

hostname kni-vm
ip link set lo up

out=/dev/ttyS1
[ -e "$out" ] || out=/dev/console

# shellcheck disable=SC1091
. "$results/env"
cd "${KNI_VM_CWD:-/tmp}" || cd /tmp
if [ -n "${KNI_MODULE:-}" ] && ! insmod "$KNI_MODULE" > "$out" 2>&1; then
	echo "kni-vm: insmod $KNI_MODULE failed" > "$out"
	echo 1 > "$results/status"
else
	mark "running the command"
	bash "$results/cmd" > "$out" 2>&1 < /dev/null
	echo $? > "$results/status"
fi
mark "command finished"

# Leaks: kmemleak reports objects unreferenced for a while; scan twice.
if [ -w /sys/kernel/debug/kmemleak ]; then
	echo scan > /sys/kernel/debug/kmemleak
	sleep 6
	echo scan > /sys/kernel/debug/kmemleak
	cat /sys/kernel/debug/kmemleak > "$results/kmemleak.txt"
fi
dmesg > "$results/dmesg.txt"
echo done > "$results/finished"
bye
