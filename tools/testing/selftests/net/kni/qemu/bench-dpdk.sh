# SPDX-License-Identifier: GPL-2.0
# shellcheck shell=bash
#
# The DPDK methods of the benchmark: what a DPDK application would use
# instead of kni to reach the kernel stack, driven by dpdk-testpmd.
#
#   dpdk-kni           DPDK's original KNI: rte_kni.ko (one kernel thread,
#                      carrier on) and the net_kni PMD
#   virtio-user        the virtio_user PMD with the vhost-net backend; the
#                      kernel's end is the tap device vhost-net serves
#   testpmd-tap        the net_tap PMD (a tap device, read() and write())
#   testpmd-af_packet  the net_af_packet PMD on one end of a veth pair
#   kni-testpmd        kni itself: Debian's own dpdk-testpmd over net_kni0,
#                      DPDK's net_kni PMD on kni's rte_kni library
#
# Sourced by bench.sh, which provides bench_methods_add, ingress_drop_add,
# ingress_drop_count, pktgen_start and pktgen_stop. $BENCH_DPDK is the
# directory tree/dpdk.sh prints (dpdk-testpmd, rte_kni.ko); when it is
# empty, $BENCH_DPDK_ERROR says why and every method but kni-testpmd
# reports that error. $BENCH_DPDK_LIB is the directory "tree/dpdk.sh lib"
# prints (librte_kni.so, librte_net_kni.so), for kni-testpmd; when it is
# empty, $BENCH_DPDK_LIB_ERROR says why.
#
# m_<test>_<method> SIZE SECONDS prints one line: "pps N" or "error REASON".
#   to_stack    testpmd's txonly engine sends SIZE-byte frames into the
#               kernel; pps is the rate of the frames a matchall drop on
#               the kernel device's ingress counts. The devices appear only
#               once testpmd runs, so the drop is added then.
#   from_stack  pktgen sends SIZE-byte frames out of the kernel device and
#               testpmd's rxonly engine drains them; pps is what testpmd
#               received over the window (its port statistics, cleared at
#               the start of the window and read at its end): what a
#               dataplane gets, not what the kernel tried to send.
# idle_dpdk_kni SECONDS prints "pct N": the CPU the whole guest spent, in
# percent of one vCPU, while a KNI device exists and nobody uses it.
# tcp_virtio_user DIR STREAMS SECONDS prints "mbps N": bench.sh's tcp test
# with testpmd's io engine forwarding between virtio_user0 (the kernel's
# end vhost_dpdk0) and net_af_packet1 on bport0. No offloads pass end to
# end: net_af_packet has none, so the peer checksums and segments itself,
# and virtio_user, asked for no LRO, lets the kernel hand it none either.
#
# testpmd runs interactively with its commands on a FIFO, on lcores 0-1
# (one forwarding core), without PCI, in memory (no hugepage files), with
# IOVA as physical addresses (rte_kni requires it). The testpmd of
# tree/dpdk.sh has its PMDs linked in, DPDK's original net_kni among them,
# so kni-testpmd runs Debian's dpdk-testpmd (the same DPDK version) with
# the two libraries loaded with -d, under the same options.

BENCH_DPDK=${BENCH_DPDK:-}
BENCH_DPDK_ERROR=${BENCH_DPDK_ERROR:-}
if [ -z "$BENCH_DPDK" ] && [ -z "$BENCH_DPDK_ERROR" ]; then
	BENCH_DPDK_ERROR="tree/dpdk.sh did not run"
fi

dpdk_work=/tmp/bench-dpdk
dpdk_huge=$dpdk_work/huge
dpdk_pages=128		# 2 MiB pages: 256 MiB of the guest's 2 GiB
dpdk_pid=
dpdk_fd=
dpdk_log=
dpdk_err=
dpdk_out=
dpdk_sent=
# The testpmd binary and the EAL options of the method being measured.
dpdk_testpmd=
dpdk_eal=()
BENCH_DPDK_LIB=${BENCH_DPDK_LIB:-}
BENCH_DPDK_LIB_ERROR=${BENCH_DPDK_LIB_ERROR:-"tree/dpdk.sh lib did not run"}

# Bounds for what takes long under TCG: EAL start, KNI creation, exit.
dpdk_start_limit=180
dpdk_cmd_limit=60

# dpdk_fail REASON...: remember why the method failed (the first reason).
# It returns 0, so that a caller under set -e lives to clean up: the
# failing function returns 1 itself.
dpdk_fail()
{
	[ -n "$dpdk_err" ] || dpdk_err=$(printf '%s' "$*" | tr '\n\t' '  ' | cut -c1-300)
	return 0
}

# The line testpmd or EAL gave as the reason it stopped.
dpdk_log_reason()
{
	local line

	line=$(grep -iE 'error|fail|cannot|unable|invalid|panic|not supported' \
		"$dpdk_log" 2>/dev/null |
		grep -vE '[RT]X-errors|Unregistering|Error - exiting' | tail -n 3)
	[ -n "$line" ] || line=$(grep -v '^[[:space:]]*$' "$dpdk_log" 2>/dev/null | tail -n 2)
	printf '%s' "$line" | tr '\n' ' '
}

dpdk_available()
{
	if [ -z "$BENCH_DPDK" ]; then
		dpdk_fail "$BENCH_DPDK_ERROR"
		return 1
	elif [ ! -x "$BENCH_DPDK/dpdk-testpmd" ]; then
		dpdk_fail "no dpdk-testpmd in $BENCH_DPDK"
		return 1
	fi
}

# kni-testpmd needs the libraries and Debian's testpmd (package dpdk-dev).
dpdk_lib_available()
{
	if [ -z "$BENCH_DPDK_LIB" ]; then
		dpdk_fail "$BENCH_DPDK_LIB_ERROR"
		return 1
	elif [ ! -f "$BENCH_DPDK_LIB/librte_net_kni.so" ]; then
		dpdk_fail "no librte_net_kni.so in $BENCH_DPDK_LIB"
		return 1
	elif ! command -v dpdk-testpmd > /dev/null; then
		dpdk_fail "no dpdk-testpmd (Debian's dpdk-dev)"
		return 1
	fi
}

dpdk_hugepages()
{
	local have

	mkdir -p "$dpdk_huge" || { dpdk_fail "cannot create $dpdk_huge"; return 1; }
	if ! grep -q " $dpdk_huge hugetlbfs " /proc/mounts; then
		mount -t hugetlbfs -o pagesize=2M nodev "$dpdk_huge" 2>/dev/null ||
			{ dpdk_fail "cannot mount hugetlbfs (CONFIG_HUGETLBFS?)"; return 1; }
	fi
	echo "$dpdk_pages" 2>/dev/null > /proc/sys/vm/nr_hugepages || true
	have=$(cat /proc/sys/vm/nr_hugepages 2>/dev/null || echo 0)
	[ "$have" -ge "$dpdk_pages" ] ||
		{ dpdk_fail "only $have of $dpdk_pages hugepages reserved"; return 1; }
}

dpdk_hugepages_release()
{
	umount "$dpdk_huge" 2>/dev/null || true
	echo 0 2>/dev/null > /proc/sys/vm/nr_hugepages || true
}

# dpdk_start NAME VDEV FWD_MODE [TESTPMD ARGS...]: start testpmd
# interactively with one port on VDEV and wait for its prompt.
dpdk_start()
{
	local name=$1 vdev=$2 mode=$3 i rc=0

	shift 3
	dpdk_log=$dpdk_work/$name.log
	rm -f "$dpdk_work/cmd" "$dpdk_log"
	mkfifo "$dpdk_work/cmd" || { dpdk_fail "mkfifo failed"; return 1; }
	# Line-buffered: a command's output is in the log when its prompt is.
	stdbuf -oL "$dpdk_testpmd" -l 0-1 --no-pci --in-memory "${dpdk_eal[@]}" \
		--huge-dir="$dpdk_huge" -m $((dpdk_pages * 2)) --iova-mode=pa \
		--vdev="$vdev" -- -i --nb-cores=1 --rxq=1 --txq=1 \
		--total-num-mbufs=16384 --disable-link-check --no-lsc-interrupt \
		--forward-mode="$mode" "$@" \
		< "$dpdk_work/cmd" > "$dpdk_log" 2>&1 &
	dpdk_pid=$!
	# Opening the write end waits for testpmd to open the read end; held
	# open until dpdk_stop, and closing it is testpmd's end of input.
	exec {dpdk_fd}> "$dpdk_work/cmd"
	for ((i = 0; i < dpdk_start_limit * 10; i++)); do
		grep -q 'testpmd> ' "$dpdk_log" 2>/dev/null && return 0
		kill -0 "$dpdk_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$dpdk_pid" 2>/dev/null; then
		dpdk_fail "testpmd not ready after ${dpdk_start_limit}s: $(dpdk_log_reason)"
	else
		wait "$dpdk_pid" || rc=$?
		dpdk_fail "testpmd exited ($rc): $(dpdk_log_reason)"
	fi
	dpdk_stop
	return 1
}

# dpdk_cmd COMMAND: send a command and wait until testpmd prompts again;
# dpdk_sent is when it was sent (testpmd's main lcore waits on its input
# and runs a command at once).
dpdk_cmd()
{
	local before i

	before=$(grep -o 'testpmd> ' "$dpdk_log" | wc -l)
	echo "$1" >&"$dpdk_fd" || { dpdk_fail "testpmd went away before '$1'"; return 1; }
	dpdk_sent=$(dpdk_now)
	for ((i = 0; i < dpdk_cmd_limit * 50; i++)); do
		[ "$(grep -o 'testpmd> ' "$dpdk_log" | wc -l)" -gt "$before" ] && return 0
		kill -0 "$dpdk_pid" 2>/dev/null ||
			{ dpdk_fail "testpmd exited on '$1': $(dpdk_log_reason)"; return 1; }
		sleep 0.02
	done
	dpdk_fail "testpmd did not complete '$1' in ${dpdk_cmd_limit}s"
	return 1
}

# Quit testpmd (end of input), killing it if it does not go.
dpdk_stop()
{
	local i

	[ -n "$dpdk_pid" ] || return 0
	[ -z "$dpdk_fd" ] || exec {dpdk_fd}>&-
	dpdk_fd=
	for ((i = 0; i < dpdk_cmd_limit * 10; i++)); do
		kill -0 "$dpdk_pid" 2>/dev/null || break
		sleep 0.1
	done
	if kill -0 "$dpdk_pid" 2>/dev/null; then
		kill -TERM "$dpdk_pid" 2>/dev/null || true
		sleep 2
		kill -KILL "$dpdk_pid" 2>/dev/null || true
	fi
	wait "$dpdk_pid" 2>/dev/null || true
	dpdk_pid=
	rm -f "$dpdk_work/cmd"
}

# dpdk_wait_dev DEV: the kernel device the PMD creates.
dpdk_wait_dev()
{
	local i

	for ((i = 0; i < dpdk_cmd_limit * 10; i++)); do
		[ -e "/sys/class/net/$1" ] && return 0
		sleep 0.1
	done
	dpdk_fail "no device $1 after ${dpdk_cmd_limit}s: $(dpdk_log_reason)"
	return 1
}

dpdk_now()
{
	date +%s.%N
}

# The last "RX-packets: N" testpmd printed.
dpdk_rx_packets()
{
	grep -o 'RX-packets: *[0-9]*' "$dpdk_log" | tail -n 1 | grep -o '[0-9]*$'
}

# dpdk_to_stack DEV SECONDS: testpmd (started, txonly) sends into DEV.
dpdk_to_stack()
{
	local dev=$1 secs=$2 a b t0 t1

	ip link set "$dev" up || { dpdk_fail "cannot set $dev up"; return 1; }
	ingress_drop_add "$dev" || { dpdk_fail "cannot add the ingress drop on $dev"; return 1; }
	dpdk_cmd start || return 1
	sleep 1
	a=$(ingress_drop_count "$dev")
	t0=$(dpdk_now)
	sleep "$secs"
	b=$(ingress_drop_count "$dev")
	t1=$(dpdk_now)
	dpdk_cmd stop || return 1
	{ [ -n "$a" ] && [ -n "$b" ]; } || { dpdk_fail "no drop count on $dev"; return 1; }
	[ "$b" -gt "$a" ] ||
		{ dpdk_fail "no frame reached $dev's stack: $(dpdk_log_reason)"; return 1; }
	dpdk_out=$(awk -v n=$((b - a)) -v t0="$t0" -v t1="$t1" \
		'BEGIN { printf "pps %d\n", n / (t1 - t0) }')
}

# dpdk_from_stack DEV SIZE SECONDS: pktgen on DEV, testpmd (started,
# rxonly) receives.
dpdk_from_stack()
{
	local dev=$1 size=$2 secs=$3 b t0 t1 rc=0

	ip link set "$dev" up || { dpdk_fail "cannot set $dev up"; return 1; }
	dpdk_cmd start || return 1
	pktgen_start "$dev" "$size" ||
		{ pktgen_stop || true; dpdk_fail "pktgen_start on $dev failed"; return 1; }
	sleep 1
	dpdk_cmd 'clear port stats all' || rc=1
	t0=$dpdk_sent
	sleep "$secs"
	dpdk_cmd 'show port stats all' || rc=1
	t1=$dpdk_sent
	pktgen_stop || true
	[ $rc -eq 0 ] || return 1
	b=$(dpdk_rx_packets)
	dpdk_cmd stop || return 1
	{ [ -n "$b" ] && [ "$b" -gt 0 ]; } ||
		{ dpdk_fail "testpmd received nothing from $dev" \
			"(tx_packets $(cat "/sys/class/net/$dev/statistics/tx_packets")," \
			"tx_dropped $(cat "/sys/class/net/$dev/statistics/tx_dropped"))"
		  return 1; }
	dpdk_out=$(awk -v n="$b" -v t0="$t0" -v t1="$t1" \
		'BEGIN { printf "pps %d\n", n / (t1 - t0) }')
}

# dpdk_measure TEST METHOD SIZE SECONDS: sets dpdk_out or dpdk_err.
dpdk_measure()
{
	local test=$1 method=$2 size=$3 secs=$4 dev vdev mode

	case "$test" in
	to_stack) mode=(txonly --txpkts="$size") ;;
	from_stack) mode=(rxonly) ;;
	esac
	dpdk_testpmd=$BENCH_DPDK/dpdk-testpmd
	dpdk_eal=()
	if [ "$method" = kni-testpmd ]; then
		dpdk_lib_available || return 1
	else
		dpdk_available || return 1
	fi
	dpdk_hugepages || return 1
	case "$method" in
	kni-testpmd)
		dev=kni0
		vdev=net_kni0
		dpdk_testpmd=$(command -v dpdk-testpmd)
		dpdk_eal=(-d "$BENCH_DPDK_LIB/librte_kni.so"
			  -d "$BENCH_DPDK_LIB/librte_net_kni.so") ;;
	dpdk-kni)
		dev=kni_rte0
		vdev=net_$dev
		dpdk_kni_load || return 1 ;;
	virtio-user)
		dev=vhost_dpdk0
		vdev=virtio_user0,path=/dev/vhost-net,queues=1,queue_size=1024,iface=$dev ;;
	testpmd-tap)
		dev=tap_dpdk0
		vdev=net_tap0,iface=$dev ;;
	testpmd-af_packet)
		# testpmd's end is afp_dpdk1, the kernel's is afp_dpdk0.
		dev=afp_dpdk0
		vdev=net_af_packet0,iface=afp_dpdk1,qpairs=1
		{ ip link add afp_dpdk0 type veth peer name afp_dpdk1 &&
			ip link set afp_dpdk1 up; } ||
			{ dpdk_fail "cannot create the veth pair"; return 1; } ;;
	esac
	dpdk_start "$method" "$vdev" "${mode[@]}" && dpdk_wait_dev "$dev" || return 1
	case "$test" in
	to_stack) dpdk_to_stack "$dev" "$secs" ;;
	from_stack) dpdk_from_stack "$dev" "$size" "$secs" ;;
	esac
}

# dpdk_run TEST METHOD SIZE SECONDS: one measurement, with its setup and
# teardown; prints the result line.
dpdk_run()
{
	local test=$1 method=$2

	dpdk_err=
	dpdk_out=
	mkdir -p "$dpdk_work"
	dpdk_measure "$@" 2>>"$dpdk_work/stderr" || true
	dpdk_stop
	ip link del afp_dpdk0 2>/dev/null || true
	[ "$method" != dpdk-kni ] || dpdk_kni_unload
	dpdk_hugepages_release
	if [ -n "$dpdk_out" ]; then
		echo "$dpdk_out"
	else
		echo "error ${dpdk_err:-$method $test failed}"
	fi
}

dpdk_kni_load()
{
	local err

	[ -f "$BENCH_DPDK/rte_kni.ko" ] || { dpdk_fail "no rte_kni.ko in $BENCH_DPDK"; return 1; }
	grep -q '^rte_kni ' /proc/modules && return 0
	err=$(insmod "$BENCH_DPDK/rte_kni.ko" kthread_mode=single carrier=on 2>&1) ||
		{ dpdk_fail "insmod rte_kni.ko: $err"; return 1; }
}

dpdk_kni_unload()
{
	local i

	for ((i = 0; i < 100; i++)); do
		grep -q '^rte_kni ' /proc/modules || return 0
		rmmod rte_kni 2>/dev/null && return 0
		sleep 0.1
	done
	return 0
}

# Busy and total jiffies of all CPUs, from /proc/stat.
dpdk_cpu_ticks()
{
	awk '$1 == "cpu" { t = 0; for (i = 2; i <= 9; i++) t += $i
		print t - $5 - $6, t }' /proc/stat
}

dpdk_idle_measure()
{
	local secs=$1 b0 t0 b1 t1 ncpu

	ncpu=$(grep -c '^cpu[0-9]' /proc/stat)
	dpdk_testpmd=$BENCH_DPDK/dpdk-testpmd
	dpdk_eal=()
	dpdk_available && dpdk_hugepages && dpdk_kni_load || return 1
	# Ports started, forwarding not: only the kernel's side runs.
	dpdk_start idle net_kni_rte0 rxonly && dpdk_wait_dev kni_rte0 || return 1
	ip link set kni_rte0 up || { dpdk_fail "cannot set kni_rte0 up"; return 1; }
	sleep 1
	read -r b0 t0 < <(dpdk_cpu_ticks)
	sleep "$secs"
	read -r b1 t1 < <(dpdk_cpu_ticks)
	dpdk_out=$(awk -v b=$((b1 - b0)) -v t=$((t1 - t0)) -v n="$ncpu" \
		'BEGIN { printf "pct %.1f\n", t ? 100 * b * n / t : 0 }')
}

idle_dpdk_kni()
{
	dpdk_err=
	dpdk_out=
	mkdir -p "$dpdk_work"
	dpdk_idle_measure "$1" 2>>"$dpdk_work/stderr" || true
	dpdk_stop
	dpdk_kni_unload
	dpdk_hugepages_release
	if [ -n "$dpdk_out" ]; then
		echo "$dpdk_out"
	else
		echo "error ${dpdk_err:-idle measurement failed}"
	fi
}

dpdk_tcp()
{
	local dev=vhost_dpdk0

	dpdk_testpmd=$BENCH_DPDK/dpdk-testpmd
	dpdk_eal=("--vdev=net_af_packet1,iface=bport0,qpairs=1")
	dpdk_available && dpdk_hugepages || return 1
	tcp_peer off || { dpdk_fail "peer setup"; return 1; }
	dpdk_start virtio-user-tcp \
		"virtio_user0,path=/dev/vhost-net,queues=1,queue_size=1024,iface=$dev" \
		io && dpdk_wait_dev "$dev" || return 1
	{ ip addr add 10.96.0.2/24 dev "$dev" && ip link set "$dev" up; } ||
		{ dpdk_fail "$dev setup"; return 1; }
	dpdk_cmd start || return 1
	dpdk_out=$(tcp_iperf "$@")
	case "$dpdk_out" in
	mbps\ *) ;;
	*) dpdk_fail "${dpdk_out#error }"; dpdk_out= ;;
	esac
	dpdk_cmd stop
}

tcp_virtio_user()
{
	dpdk_err=
	dpdk_out=
	mkdir -p "$dpdk_work"
	dpdk_tcp "$@" 2>>"$dpdk_work/stderr" || true
	dpdk_stop
	dpdk_hugepages_release
	if [ -n "$dpdk_out" ]; then
		echo "$dpdk_out"
	else
		echo "error ${dpdk_err:-virtio-user tcp failed}"
	fi
}

m_to_stack_dpdk_kni() { dpdk_run to_stack dpdk-kni "$1" "$2"; }
m_from_stack_dpdk_kni() { dpdk_run from_stack dpdk-kni "$1" "$2"; }
m_to_stack_virtio_user() { dpdk_run to_stack virtio-user "$1" "$2"; }
m_from_stack_virtio_user() { dpdk_run from_stack virtio-user "$1" "$2"; }
m_to_stack_testpmd_tap() { dpdk_run to_stack testpmd-tap "$1" "$2"; }
m_from_stack_testpmd_tap() { dpdk_run from_stack testpmd-tap "$1" "$2"; }
m_to_stack_testpmd_af_packet() { dpdk_run to_stack testpmd-af_packet "$1" "$2"; }
m_from_stack_testpmd_af_packet() { dpdk_run from_stack testpmd-af_packet "$1" "$2"; }

m_to_stack_kni_testpmd() { dpdk_run to_stack kni-testpmd "$1" "$2"; }
m_from_stack_kni_testpmd() { dpdk_run from_stack kni-testpmd "$1" "$2"; }

bench_methods_add to_stack kni-testpmd dpdk-kni virtio-user testpmd-tap \
	testpmd-af_packet
bench_methods_add from_stack kni-testpmd dpdk-kni virtio-user testpmd-tap \
	testpmd-af_packet
bench_tcp_add virtio-user
