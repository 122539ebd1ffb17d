#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make bench, guest side: measures the ways a userspace dataplane exchanges
# packets with the kernel stack, in one boot of the release kernel, and
# writes the raw figures to $KNI_RESULTS/bench.raw for tree/bench.sh's
# report. Runs as root in the VM.
#
# usage: bench.sh KNI_BENCH [DPDK_DIR]
#
# tap-fwd is taken from beside KNI_BENCH, kni-fwd from $BENCH_KNI_FWD
# (default: beside KNI_BENCH too).
#
# Environment: BENCH_SECONDS (window of one measurement, default 3),
# BENCH_ROUNDS (interleaved rounds, default 3), BENCH_SIZES (frame sizes,
# default "64 1500"), BENCH_ONLY (an extended regular expression: run only
# the methods it matches, e.g. while working on one; it sees TEST:METHOD,
# rtt:METHOD:MODE, idle:METHOD and tcp:METHOD:DIR:STREAMS), BENCH_IDLE_SECONDS
# (default 10), BENCH_PINGS (pings per latency figure, default 1000),
# BENCH_TCP_SECONDS (iperf3's window, default 5), BENCH_TCP_STREAMS
# (default "1 4"), BENCH_KNI_FWD (kni-fwd),
# BENCH_DPDK (the DPDK artefacts directory; DPDK_DIR sets it) and
# BENCH_DPDK_ERROR (why there is none).
#
# A frame's size counts its Ethernet header and not its FCS: a 64 B frame
# is 64 bytes as the stack sees it.
#
# Tests:
#   to_stack    the dataplane sends, the stack receives; every method's
#               frames are dropped by a tc ingress "matchall action drop"
#               on the device where the stack receives them, and the rate
#               is what that action counted over the window
#   from_stack  pktgen transmits on a device as fast as it can, the
#               dataplane drains it; the rate is what the dataplane
#               received over the window
#   latency     ping RTT to an address a userspace responder answers
#   idle        CPU time of the whole guest with the method set up and no
#               traffic, in % of one vCPU
#   tcp         iperf3 TCP throughput between the stack (10.96.0.2) and a
#               peer netns (10.96.0.1) behind a veth pair whose end bport0
#               a forwarding dataplane drives, from the stack to the peer
#               ("to") and back ("from"), over 1 and 4 streams
#               (BENCH_TCP_STREAMS) for BENCH_TCP_SECONDS (default 5) after
#               1 s left out, with how busy each CPU was; both iperf3 ends
#               run on CPU 0, the forwarder on the last CPU. Methods: the
#               two ends on a veth pair with no forwarder (ceiling),
#               kni-fwd with offloads (kni-offload) and without (kni),
#               tap-fwd with IFF_VNET_HDR and offloads (tap-vnet) and
#               without (tap). Without offloads the peer checksums and
#               segments itself.
#
# Interface for more methods (tools/testing/selftests/net/kni/qemu/
# bench-dpdk.sh is sourced, when it exists, after the helpers below are
# defined and before the rounds start):
#
#   m_<test>_<method> SIZE SECONDS
#       measures METHOD ('-' in its name written '_' here) in TEST
#       (to_stack or from_stack) with frames of SIZE bytes over SECONDS,
#       and prints exactly one line on stdout: "pps <number>" or
#       "error <reason>". Anything else goes to stderr (kept in
#       $KNI_RESULTS/logs/). It must leave no device, process or pktgen
#       device behind.
#   bench_methods_add TEST METHOD...
#       registers methods so that they run in every round and appear in the
#       table (in the order given, after the built-in ones).
#   ingress_drop_add DEV
#       adds a clsact qdisc and an ingress matchall filter with action drop
#       to DEV.
#   ingress_drop_count DEV
#       prints the number of packets DEV's ingress drop counted so far.
#   measure_to_stack DEV SECONDS CMD...
#       runs CMD in the background; waits (at most 20 s) for DEV to exist
#       (CMD may create it), adds the ingress drop to DEV if it has none and
#       sets DEV up; waits for the first dropped frame (at most 20 s), lets
#       the rate settle for 1 s, counts the drops over SECONDS, stops CMD
#       (SIGTERM, then SIGKILL after 5 s) and prints "pps N", or
#       "error <reason>" (no device, no frame, CMD exited early or
#       printed a line "error ...").
#   pktgen_start DEV SIZE
#       starts pktgen on DEV (thread kpktgend_0, so CPU 0): frames of SIZE
#       bytes, count 0 (until stopped), delay 0, clone_skb 0 (a new skb per
#       frame: veth and tun refuse shared skbs, and every method pays the
#       same allocation), xmit_mode start_xmit (the driver's
#       ndo_start_xmit, no qdisc). Returns once pktgen runs.
#   pktgen_stop
#       stops pktgen and removes its devices from every thread.
#   idle_measure SECONDS
#       prints "pct N": CPU time of the whole guest over SECONDS in % of
#       one vCPU (from /proc/stat).
#   idle_<method> SECONDS
#       prints one line, "pct <number>" or "error <reason>": the idle
#       cost with METHOD set up (found by name; bench_idle_add METHOD...
#       fixes the order).
#   tcp_<method> DIR STREAMS SECONDS
#       prints one line, "mbps <number> cpu <% of CPU 0> <% of CPU 1>..."
#       or "error <reason>": the tcp test
#       of METHOD (found by name; bench_tcp_add METHOD... fixes the order).
#       tcp_peer OFFLOADS (on|off) sets up the peer and bport0, tcp_iperf
#       DIR STREAMS SECONDS measures once the local end has 10.96.0.2.
#   bench_rtt_add METHOD:MODE...
#       registers rtt_<method>_<mode> functions (no arguments) that print
#       "rtt <p50 us> <p99 us>" or "error <reason>"; ping_rtt ADDR prints
#       that line for pings to ADDR.
#
# BENCH_DPDK is the directory tree/dpdk.sh built; when it is empty,
# BENCH_DPDK_ERROR says why, and DPDK methods print "error <that reason>".
#
# Raw results, one line each:
#   round R TEST SIZE METHOD pps N | error REASON
#   rtt R METHOD MODE p50 p99 | rtt R METHOD MODE error REASON
#   idle METHOD pct | idle METHOD error REASON
#   tcp R METHOD DIR STREAMS mbps N cpu P0 P1... |
#       tcp R METHOD DIR STREAMS error REASON
set -uo pipefail

KB=${1:?usage: bench.sh KNI_BENCH [DPDK_DIR]}
[ $# -lt 2 ] || BENCH_DPDK=$2
export BENCH_DPDK=${BENCH_DPDK:-}
export BENCH_DPDK_ERROR=${BENCH_DPDK_ERROR:-}
if [ -z "$BENCH_DPDK" ] && [ -z "$BENCH_DPDK_ERROR" ]; then
	BENCH_DPDK_ERROR="no DPDK build given"
fi
SECONDS_PER=${BENCH_SECONDS:-3}
ROUNDS=${BENCH_ROUNDS:-3}
SIZES=${BENCH_SIZES:-64 1500}
ONLY=${BENCH_ONLY:-}
IDLE_SECONDS=${BENCH_IDLE_SECONDS:-10}
TCP_SECONDS=${BENCH_TCP_SECONDS:-5}
TCP_STREAMS=${BENCH_TCP_STREAMS:-1 4}
PINGS=${BENCH_PINGS:-1000}
RESULTS=${KNI_RESULTS:-/tmp}
RAW=$RESULTS/bench.raw
LOGS=$RESULTS/logs
WORK=$(mktemp -d)
PG=/proc/net/pktgen
NCPUS=$(nproc)
LAST_CPU=$((NCPUS - 1))
# Background processes of the method running now.
BG_PIDS=()
PKTGEN_PID=

here=$(cd "$(dirname "$0")" && pwd)
mkdir -p "$LOGS"

TO_STACK_METHODS=(ceiling kni-b1 kni-b8 kni-b32 kni-b64 kni-busy-b32
	kni-defer-b32 kni-threaded-b32 kni-nogro-b64 kni-busy-threaded-b32
	kni-nogro-busy-threaded-b32 kni-2q tap tap-napi af_packet af_xdp)
FROM_STACK_METHODS=(ceiling ceiling-busy kni-b1 kni-b32 kni-b64 kni-busy-b32
	kni-2q tap tap-napi af_packet af_xdp)
RTT_METHODS=(ceiling:kernel kni:interrupt kni:busy tap:interrupt tap:busy)
IDLE_METHODS=(none kni tap)
TCP_METHODS=(ceiling kni-offload kni tap-vnet tap)
TAP_FWD=$(dirname "$KB")/tap-fwd
KNI_FWD=${BENCH_KNI_FWD:-$(dirname "$KB")/kni-fwd}

log()
{
	echo "bench: $*" >&2
}

bench_methods_add()
{
	local test=$1 m

	shift
	for m in "$@"; do
		case "$test" in
		to_stack) TO_STACK_METHODS+=("$m") ;;
		from_stack) FROM_STACK_METHODS+=("$m") ;;
		*) log "bench_methods_add: unknown test '$test'"; return 1 ;;
		esac
	done
}

bench_idle_add()
{
	IDLE_METHODS+=("$@")
}

bench_rtt_add()
{
	RTT_METHODS+=("$@")
}

bench_tcp_add()
{
	TCP_METHODS+=("$@")
}

now()
{
	echo "$EPOCHREALTIME"
}

# nap SECONDS: sleep without starting a process (sleep(1) is slow to
# start under TCG): a read that times out on a FIFO nobody writes.
nap()
{
	read -r -t "$1" -u "$NAP_FD"
}

# wait_for SECONDS CMD...: run CMD every 10 ms until it succeeds.
wait_for()
{
	local t=${EPOCHREALTIME/./} end

	end=$((t + $1 * 1000000))
	shift
	until "$@"; do
		t=${EPOCHREALTIME/./}
		[ "$t" -lt "$end" ] || return 1
		nap 0.01
	done
	return 0
}

dev_exists()
{
	[ -e "/sys/class/net/$1" ]
}

dev_gone()
{
	[ ! -e "/sys/class/net/$1" ]
}

# bg LOG CMD...: start CMD in the background, remember it.
bg()
{
	local out=$1

	shift
	"$@" > "$out" 2>&1 &
	BG_PIDS+=($!)
	LAST_PID=$!
}

# stop_pid PID: SIGTERM, SIGKILL after 5 s, reap.
stop_pid()
{
	local pid=$1

	kill -TERM "$pid" 2>/dev/null
	wait_for 5 eval "! kill -0 $pid 2>/dev/null" || kill -KILL "$pid" 2>/dev/null
	wait "$pid" 2>/dev/null
}

# Everything a method may leave behind.
cleanup()
{
	local pid d

	pktgen_stop
	for pid in "${BG_PIDS[@]}"; do
		stop_pid "$pid"
	done
	BG_PIDS=()
	for d in kni0 veth0 pgdummy0 tap0; do
		ip link del "$d" 2>/dev/null
	done
	ip netns del bpeer 2>/dev/null
	for d in kni0 veth0 veth1 pgdummy0 tap0 bport0; do
		wait_for 10 dev_gone "$d" || log "$d is still there"
	done
	find "$WORK" -maxdepth 1 -type f -delete
}

ingress_drop_add()
{
	local dev=$1

	tc qdisc add dev "$dev" clsact 2>/dev/null ||
		[[ $(tc qdisc show dev "$dev") == *clsact* ]] || return 1
	tc filter add dev "$dev" ingress pref 1 matchall action drop
}

ingress_drop_has()
{
	# Not "| grep -q": with pipefail, tc's SIGPIPE would fail the test.
	[[ $(tc filter show dev "$1" ingress 2>/dev/null) == *matchall* ]]
}

ingress_drop_count()
{
	tc -s filter show dev "$1" ingress 2>/dev/null |
		awk '/Sent [0-9]+ bytes [0-9]+ pkt/ {
			for (i = 1; i <= NF; i++)
				if ($i == "pkt") { n += $(i - 1); break }
		} END { print n + 0 }'
}

dev_tx_packets()
{
	cat "/sys/class/net/$1/statistics/tx_packets"
}

# count_window SECONDS COUNTER DEV: wait for the first frame, settle 1 s,
# print the rate COUNTER DEV grew at over SECONDS.
count_window()
{
	local secs=$1 counter=$2 dev=$3 c0 c1 t0 t1

	if ! wait_for 20 eval "[ \$($counter $dev) -gt 0 ]"; then
		echo "error no frame counted on $dev within 20 s"
		return 1
	fi
	sleep 1
	t0=$(now)
	c0=$($counter "$dev")
	sleep "$secs"
	c1=$($counter "$dev")
	t1=$(now)
	awk -v c0="$c0" -v c1="$c1" -v t0="$t0" -v t1="$t1" \
		'BEGIN { printf "pps %.1f\n", (c1 - c0) / (t1 - t0) }'
	log "$dev: $((c1 - c0)) frames counted in the window, $c1 in all"
}

measure_to_stack()
{
	local dev=$1 secs=$2 out res pid sent dropped

	shift 2
	out=$WORK/to_stack.$BASHPID.out
	bg "$out" "$@"
	pid=$LAST_PID
	if ! wait_for 20 dev_exists "$dev"; then
		stop_pid "$pid"
		echo "error $dev did not appear: $(tail -n 1 "$out")"
		return
	fi
	ingress_drop_has "$dev" || ingress_drop_add "$dev" ||
		{ stop_pid "$pid"; echo "error cannot add the ingress drop"; return; }
	ip link set "$dev" up
	res=$(count_window "$secs" ingress_drop_count "$dev")
	if ! kill -0 "$pid" 2>/dev/null; then
		wait "$pid"
		res="error the sender exited early: $(tail -n 1 "$out")"
	fi
	stop_pid "$pid"
	cat "$out" >&2
	if grep -q '^error ' "$out"; then
		res=$(grep -m 1 '^error ' "$out")
	fi
	# Sanity: the drop cannot count frames the sender did not send.
	sent=$(awk '$1 == "sent" { print $2 }' "$out")
	dropped=$(ingress_drop_count "$dev")
	if [ -n "$sent" ] && [ "$dropped" -gt "$sent" ]; then
		res="error $dev dropped $dropped frames but the sender sent $sent"
	fi
	echo "$res"
}

# pgset FILE CMD: one pktgen command, checked.
pgset()
{
	echo "$2" > "$1" 2>/dev/null
	if [ "${1##*/}" != pgctrl ] && ! grep -q 'Result: OK' "$1"; then
		log "pktgen: '$2' on ${1##*/}: $(grep Result: "$1")"
		return 1
	fi
}

# pktgen_add DEV SIZE THREAD [QUEUE [MODE]]
pktgen_add()
{
	local dev=$1 size=$2 thread=$3 queue=${4:-} mode=${5:-start_xmit}
	local name=$dev f

	[ -z "$queue" ] || name=$dev@$queue
	pgset "$PG/kpktgend_$thread" "add_device $name" || return 1
	f=$PG/$name
	pgset "$f" "count 0" &&
	pgset "$f" "delay 0" &&
	pgset "$f" "clone_skb 0" &&
	pgset "$f" "pkt_size $size" &&
	pgset "$f" "dst_mac 02:00:00:00:00:02" &&
	pgset "$f" "src_min 10.98.0.1" &&
	pgset "$f" "src_max 10.98.0.1" &&
	pgset "$f" "dst 10.98.0.2" &&
	pgset "$f" "xmit_mode $mode" || return 1
	if [ -n "$queue" ]; then
		pgset "$f" "queue_map_min $queue" &&
		pgset "$f" "queue_map_max $queue" || return 1
	fi
}

# pktgen_run: start the threads' devices, return once they run.
pktgen_run()
{
	(echo start > "$PG/pgctrl") 2>/dev/null &
	PKTGEN_PID=$!
	wait_for 10 eval "grep -q '^Running: [^ ]' $PG/kpktgend_*"
}

pktgen_start()
{
	pktgen_add "$1" "$2" 0 && pktgen_run
}

pktgen_stop()
{
	local t

	[ -e "$PG/pgctrl" ] || return 0
	echo stop > "$PG/pgctrl" 2>/dev/null
	if [ -n "$PKTGEN_PID" ]; then
		wait "$PKTGEN_PID" 2>/dev/null
		PKTGEN_PID=
	fi
	for t in "$PG"/kpktgend_*; do
		echo rem_device_all > "$t" 2>/dev/null
	done
	# rem_device_all only marks the devices: wait until they are gone.
	wait_for 10 eval "! grep -q '^Stopped: [^ ]\\|^Running: [^ ]' $PG/kpktgend_*" ||
		log "pktgen devices still listed"
}

# measure_from_stack SECONDS PKTGEN_SETUP CMD...: run the receiver CMD
# (kni-bench ... -r READY), start pktgen with PKTGEN_SETUP once it is
# ready, print the receiver's result.
measure_from_stack()
{
	local secs=$1 setup=$2 out pid ready res

	shift 2
	out=$WORK/from_stack.out
	ready=$WORK/ready
	rm -f "$ready"
	bg "$out" "$@" -t "$secs" -r "$ready"
	pid=$LAST_PID
	if ! wait_for 20 eval "[ -e $ready ] || ! kill -0 $pid 2>/dev/null" ||
	   [ ! -e "$ready" ]; then
		stop_pid "$pid"
		cat "$out" >&2
		res=$(grep -m 1 '^error ' "$out")
		echo "${res:-error the receiver did not start}"
		return
	fi
	if ! eval "$setup" || ! pktgen_run; then
		stop_pid "$pid"
		echo "error pktgen did not start"
		return
	fi
	wait "$pid"
	pktgen_stop
	cat "$out" >&2
	res=$(grep -m 1 -E '^(pps|error) ' "$out")
	echo "${res:-error the receiver printed no result}"
}

kni_add()
{
	local queues=${1:-1}

	ip link add kni0 numtxqueues "$queues" numrxqueues "$queues" \
		carrier on type kni && ip link set kni0 up
}

veth_add()
{
	ip link add veth0 type veth peer name veth1 &&
		ip link set veth0 up && ip link set veth1 up
}

# to_stack

m_to_stack_ceiling()
{
	ip link add pgdummy0 type dummy && ip link set pgdummy0 up &&
		ingress_drop_add pgdummy0 || { echo "error pgdummy0 setup"; return; }
	if ! pktgen_add pgdummy0 "$1" 0 "" netif_receive || ! pktgen_run; then
		echo "error pktgen netif_receive on pgdummy0 did not start"
		return
	fi
	count_window "$2" ingress_drop_count pgdummy0
	pktgen_stop
}

# napi_bind DEV CPU: bind the NAPI threads of DEV to CPU.
napi_bind()
{
	local pids pid

	pids=$(ps -e -o pid=,comm= |
		awk -v p="napi/$1-" 'index($2, p) == 1 { print $1 }')
	[ -n "$pids" ] || return 1
	for pid in $pids; do
		taskset -p -c "$2" "$pid" > /dev/null || return 1
	done
}

to_stack_kni()
{
	local size=$1 secs=$2 queues=$3

	shift 3
	kni_add "$queues" && ingress_drop_add kni0 ||
		{ echo "error kni0 setup"; return; }
	# NAPI deferral: after a poll that found work, the core's timer polls
	# again 50 us later, up to 100 times, instead of waiting for a kick.
	if [ -n "${KNI_DEFER:-}" ] &&
	   ! { echo 100 > /sys/class/net/kni0/napi_defer_hard_irqs &&
	       echo 50000 > /sys/class/net/kni0/gro_flush_timeout; }; then
		echo "error cannot set kni0's NAPI deferral"
		return
	fi
	# Threaded NAPI: a kick wakes kni0's NAPI thread, which the scheduler
	# places, or which KNI_NAPI_CPU binds to a CPU.
	if [ -n "${KNI_THREADED:-}" ] &&
	   ! echo 1 > /sys/class/net/kni0/threaded; then
		echo "error cannot make kni0's NAPI threaded"
		return
	fi
	if [ -n "${KNI_NAPI_CPU:-}" ] && ! napi_bind kni0 "$KNI_NAPI_CPU"; then
		echo "error cannot bind kni0's NAPI thread to CPU $KNI_NAPI_CPU"
		return
	fi
	# GRO off: the stack takes the frames as they come, as it does from
	# TAP without IFF_NAPI. Frames GRO cannot merge then cost less.
	if [ -n "${KNI_NOGRO:-}" ] && ! ethtool -K kni0 gro off; then
		echo "error cannot turn kni0's GRO off"
		return
	fi
	measure_to_stack kni0 "$secs" "$KB" kni-tx -i kni0 -s "$size" "$@"
}

m_to_stack_kni_b1() { to_stack_kni "$1" "$2" 1 -b 1 -c "$LAST_CPU"; }
m_to_stack_kni_b8() { to_stack_kni "$1" "$2" 1 -b 8 -c "$LAST_CPU"; }
m_to_stack_kni_b32() { to_stack_kni "$1" "$2" 1 -b 32 -c "$LAST_CPU"; }
m_to_stack_kni_b64() { to_stack_kni "$1" "$2" 1 -b 64 -c "$LAST_CPU"; }
m_to_stack_kni_busy_b32() { to_stack_kni "$1" "$2" 1 -b 32 -B -c "$LAST_CPU"; }
m_to_stack_kni_defer_b32() { KNI_DEFER=1 to_stack_kni "$1" "$2" 1 -b 32 -c "$LAST_CPU"; }
m_to_stack_kni_threaded_b32() { KNI_THREADED=1 to_stack_kni "$1" "$2" 1 -b 32 -c "$LAST_CPU"; }
m_to_stack_kni_nogro_b64() { KNI_NOGRO=1 to_stack_kni "$1" "$2" 1 -b 64 -c "$LAST_CPU"; }
# The dataplane polls on the last CPU, NAPI runs on CPU 0.
m_to_stack_kni_busy_threaded_b32()
{
	KNI_THREADED=1 KNI_NAPI_CPU=0 to_stack_kni "$1" "$2" 1 -b 32 -B -c "$LAST_CPU"
}
m_to_stack_kni_nogro_busy_threaded_b32()
{
	KNI_NOGRO=1 KNI_THREADED=1 KNI_NAPI_CPU=0 \
		to_stack_kni "$1" "$2" 1 -b 32 -B -c "$LAST_CPU"
}
m_to_stack_kni_2q() { to_stack_kni "$1" "$2" 2 -b 32 -q 2 -c 0,1; }

m_to_stack_tap()
{
	measure_to_stack tap0 "$2" "$KB" tap-tx -i tap0 -s "$1" -c "$LAST_CPU"
}

m_to_stack_tap_napi()
{
	measure_to_stack tap0 "$2" "$KB" tap-tx -i tap0 -s "$1" -n -c "$LAST_CPU"
}

m_to_stack_af_packet()
{
	veth_add && ingress_drop_add veth1 || { echo "error veth setup"; return; }
	measure_to_stack veth1 "$2" "$KB" packet-tx -i veth0 -s "$1" -c "$LAST_CPU"
}

m_to_stack_af_xdp()
{
	veth_add && ingress_drop_add veth1 || { echo "error veth setup"; return; }
	measure_to_stack veth1 "$2" "$KB" xdp-tx -i veth0 -s "$1" -c "$LAST_CPU"
}

# from_stack: pktgen runs on CPU 0, single-threaded receivers on the last.

m_from_stack_ceiling()
{
	ip link add pgdummy0 type dummy && ip link set pgdummy0 up ||
		{ echo "error pgdummy0 setup"; return; }
	pktgen_start pgdummy0 "$1" || { echo "error pktgen on pgdummy0 did not start"; return; }
	count_window "$2" dev_tx_packets pgdummy0
	pktgen_stop
}

# The ceiling while a loop spins on the vCPU every receiver runs on, as a
# polling receiver does: what a busy second vCPU costs pktgen's vCPU
# under emulation, apart from anything the receiver does.
m_from_stack_ceiling_busy()
{
	bg /dev/null taskset -c "$LAST_CPU" bash -c 'while :; do :; done'
	m_from_stack_ceiling "$@"
}

from_stack_kni()
{
	local size=$1 secs=$2

	shift 2
	kni_add 1 || { echo "error kni0 setup"; return; }
	measure_from_stack "$secs" "pktgen_add kni0 $size 0" \
		"$KB" kni-rx -i kni0 -c "$LAST_CPU" "$@"
	# Whether the receiver kept up: how often the queue ran out of room.
	echo "kni0 tx queue 0 stopped" \
		"$(python3 "$here/../kni_qstat.py" kni0 tx 0 stop) times" >&2
}

m_from_stack_kni_b1() { from_stack_kni "$1" "$2" -b 1; }
m_from_stack_kni_b32() { from_stack_kni "$1" "$2" -b 32; }
m_from_stack_kni_b64() { from_stack_kni "$1" "$2" -b 64; }
m_from_stack_kni_busy_b32() { from_stack_kni "$1" "$2" -b 32 -B; }

# Two queues: pktgen bypasses the core's queue selection and transmits on
# the queue its queue_map names, one pktgen thread per queue and CPU.
m_from_stack_kni_2q()
{
	kni_add 2 || { echo "error kni0 setup"; return; }
	measure_from_stack "$2" \
		"pktgen_add kni0 $1 0 0 && pktgen_add kni0 $1 1 1" \
		"$KB" kni-rx -i kni0 -q 2 -b 32 -c 0,1
}

m_from_stack_tap()
{
	measure_from_stack "$2" "pktgen_add tap0 $1 0" \
		"$KB" tap-rx -i tap0 -c "$LAST_CPU"
}

m_from_stack_tap_napi()
{
	measure_from_stack "$2" "pktgen_add tap0 $1 0" \
		"$KB" tap-rx -i tap0 -n -c "$LAST_CPU"
}

# The receiving veth end drops at ingress, after the taps (AF_PACKET) and
# XDP have seen the frames, so that the stack does not process them.
m_from_stack_af_packet()
{
	veth_add && ingress_drop_add veth1 || { echo "error veth setup"; return; }
	measure_from_stack "$2" "pktgen_add veth0 $1 0" \
		"$KB" packet-rx -i veth1 -c "$LAST_CPU"
}

m_from_stack_af_xdp()
{
	veth_add && ingress_drop_add veth1 || { echo "error veth setup"; return; }
	measure_from_stack "$2" "pktgen_add veth0 $1 0" \
		"$KB" xdp-rx -i veth1 -c "$LAST_CPU"
}

# latency

# ping_rtt ADDR: "rtt P50 P99" in microseconds, nearest rank, from the
# time of every reply.
ping_rtt()
{
	local addr=$1 out=$WORK/ping.out sorted=$WORK/ping.sorted n

	ping -c 3 -W 2 "$addr" > /dev/null 2>&1
	ping -n -c "$PINGS" -i 0.002 -W 1 "$addr" > "$out" 2>&1
	grep -o ' time=[0-9.]*' "$out" | cut -d= -f2 | sort -n > "$sorted"
	n=$(wc -l < "$sorted")
	if [ "$n" -lt $((PINGS / 2)) ]; then
		echo "error $n of $PINGS pings answered"
		return
	fi
	awk -v n="$n" '
		function rank(p,  r) { r = int(n * p + 0.999999); return r < 1 ? 1 : r }
		NR == rank(0.50) { p50 = $1 * 1000 }
		NR == rank(0.99) { p99 = $1 * 1000 }
		END { printf "rtt %.1f %.1f\n", p50, p99 }' "$sorted"
	log "$n of $PINGS pings answered"
	# The tail, for the log: where p99 comes from.
	awk -v n="$n" '
		NR == int(n * 0.9 + 0.999999) { p90 = $1 * 1000 }
		$1 >= 1 { slow++ }
		{ max = $1 * 1000 }
		END { printf "p90 %.1f us, max %.1f us, %d of %d at 1 ms or more\n",
			p90, max, slow, n }' "$sorted" | sed 's/^/bench: /' >&2
	# shellcheck disable=SC2016 # awk's $i, not the shell's
	log "the slowest replies (ms@icmp_seq): $(awk '/ time=/ {
		for (i = 1; i <= NF; i++) {
			if ($i ~ /^icmp_seq=/) seq = substr($i, 10)
			if ($i ~ /^time=/) t = substr($i, 6)
		}
		print t "@" seq }' "$out" | sort -rn | head -n 12 | paste -sd ' ' -)"
}

# rtt_echo DEV ADDR_STACK ADDR_RESPONDER CMD...
rtt_echo()
{
	local dev=$1 mine=$2 theirs=$3 out=$WORK/echo.out ready=$WORK/ready pid

	shift 3
	rm -f "$ready"
	bg "$out" "$@" -a "$theirs" -r "$ready" -c "$LAST_CPU"
	pid=$LAST_PID
	if ! wait_for 20 eval "[ -e $ready ] || ! kill -0 $pid 2>/dev/null" ||
	   [ ! -e "$ready" ]; then
		stop_pid "$pid"
		echo "error the responder did not start: $(tail -n 1 "$out")"
		return
	fi
	ip addr add "$mine/24" dev "$dev" && ip link set "$dev" up ||
		{ echo "error $dev setup"; return; }
	ping_rtt "$theirs"
	stop_pid "$pid"
	cat "$out" >&2
}

# The stack answers 127.0.0.1 itself: ping's own cost, part of every
# method's round trip.
rtt_ceiling_kernel()
{
	ping_rtt 127.0.0.1
}

rtt_kni_interrupt()
{
	kni_add 1 || { echo "error kni0 setup"; return; }
	rtt_echo kni0 10.97.0.1 10.97.0.2 "$KB" kni-echo -i kni0
}

rtt_kni_busy()
{
	kni_add 1 || { echo "error kni0 setup"; return; }
	rtt_echo kni0 10.97.0.1 10.97.0.2 "$KB" kni-echo -i kni0 -B
}

rtt_tap_interrupt()
{
	rtt_echo tap0 10.97.1.1 10.97.1.2 "$KB" tap-echo -i tap0
}

rtt_tap_busy()
{
	rtt_echo tap0 10.97.1.1 10.97.1.2 "$KB" tap-echo -i tap0 -B
}

# idle

idle_measure()
{
	local a b

	a=$(head -n 1 /proc/stat)
	sleep "$1"
	b=$(head -n 1 /proc/stat)
	awk -v a="$a" -v b="$b" -v ncpus="$NCPUS" 'BEGIN {
		split(a, x); split(b, y)
		# user nice system idle iowait irq softirq steal
		for (i = 2; i <= 9; i++) {
			d = y[i] - x[i]
			all += d
			if (i != 5 && i != 6)
				busy += d
		}
		printf "pct %.2f\n", all ? 100 * busy / (all / ncpus) : 0
	}'
}

idle_none()
{
	idle_measure "$1"
}

# with_idle_cmd SECONDS CMD...: CMD ready (-r), then the idle measurement.
with_idle_cmd()
{
	local secs=$1 ready=$WORK/ready pid

	shift
	rm -f "$ready"
	bg "$WORK/idle.out" "$@" -r "$ready"
	pid=$LAST_PID
	if ! wait_for 20 eval "[ -e $ready ] || ! kill -0 $pid 2>/dev/null" ||
	   [ ! -e "$ready" ]; then
		stop_pid "$pid"
		echo "error did not start: $(tail -n 1 "$WORK/idle.out")"
		return
	fi
	sleep 1
	idle_measure "$secs"
	stop_pid "$pid"
}

idle_kni()
{
	kni_add 1 || { echo "error kni0 setup"; return; }
	with_idle_cmd "$1" "$KB" kni-idle -i kni0
}

idle_tap()
{
	with_idle_cmd "$1" "$KB" tap-idle -i tap0
}

# tcp

# tcp_peer OFFLOADS [direct]: the netns bpeer with bveth1 10.96.0.1/24,
# whose other end bport0 stays in this netns for the forwarder, up, its
# frames dropped at ingress after the forwarder's AF_PACKET socket saw
# them (with "direct", no forwarder: bport0 gets 10.96.0.2). With OFFLOADS
# off the peer checksums and segments itself, so that every packet on
# bport0 is complete and fits the MTU.
tcp_peer()
{
	ip netns add bpeer &&
		ip link add bport0 type veth peer name bveth1 netns bpeer &&
		ip -n bpeer addr add 10.96.0.1/24 dev bveth1 &&
		ip -n bpeer link set lo up && ip -n bpeer link set bveth1 up &&
		ip link set bport0 up || return 1
	if [ "${2:-}" = direct ]; then
		ip addr add 10.96.0.2/24 dev bport0 || return 1
	else
		ingress_drop_add bport0 || return 1
	fi
	[ "$1" = on ] ||
		ip netns exec bpeer ethtool -K bveth1 tx off tso off gso off > /dev/null
}

iperf_listening()
{
	[[ $(ip netns exec bpeer ss -Hltn 'sport = :5201') ]]
}

# cpu_ticks: "busy total" jiffies of each CPU, one line per CPU.
cpu_ticks()
{
	awk '$1 ~ /^cpu[0-9]/ { t = 0; for (i = 2; i <= 9; i++) t += $i
		print t - $5 - $6, t }' /proc/stat
}

# tcp_iperf DIR STREAMS SECONDS: iperf3 from the stack to the peer (DIR
# to) or back (from); prints "mbps N cpu P0 P1...", what the receiver got
# and how busy each CPU was, in %, over iperf3's run.
tcp_iperf()
{
	local dir=$1 streams=$2 secs=$3 out=$WORK/iperf.json rev=() c0 c1

	[ "$dir" = to ] || rev=(-R)
	bg "$WORK/iperf-server.log" ip netns exec bpeer taskset -c 0 \
		iperf3 -s -1 -B 10.96.0.1
	wait_for 10 iperf_listening ||
		{ echo "error the iperf3 server does not listen"; return; }
	if ! ping -c 1 -W 10 10.96.0.1 > /dev/null 2>&1; then
		echo "error no ping reply from the peer"
		return
	fi
	c0=$(cpu_ticks)
	if ! timeout $((secs + 60)) taskset -c 0 iperf3 -c 10.96.0.1 \
	     -t "$secs" -O 1 -P "$streams" "${rev[@]}" --connect-timeout 10000 \
	     -J > "$out" 2>&1; then
		echo "error iperf3: $(head -c 200 "$out" | tr '\n\t' '  ')"
		return
	fi
	c1=$(cpu_ticks)
	python3 -c '
import json, sys
r = json.load(open(sys.argv[1]))
a = [l.split() for l in sys.argv[2].splitlines()]
b = [l.split() for l in sys.argv[3].splitlines()]
cpu = ["%.0f" % (100.0 * (int(y[0]) - int(x[0])) /
                 max(int(y[1]) - int(x[1]), 1)) for x, y in zip(a, b)]
print("mbps %.1f cpu %s" % (r["end"]["sum_received"]["bits_per_second"] / 1e6,
                            " ".join(cpu)))
' "$out" "$c0" "$c1" || echo "error no iperf3 result"
}

# tcp_fwd DIR STREAMS SECONDS DEV OFFLOADS CMD...: the peer, the forwarder
# CMD between bport0 and DEV on the last CPU, DEV 10.96.0.2/24, tcp_iperf.
tcp_fwd()
{
	local dir=$1 streams=$2 secs=$3 dev=$4 offloads=$5 out=$WORK/fwd.out pid

	shift 5
	tcp_peer "$offloads" || { echo "error peer setup"; return; }
	bg "$out" taskset -c "$LAST_CPU" "$@"
	pid=$LAST_PID
	if ! wait_for 20 eval "grep -q forwarding $out || ! kill -0 $pid 2>/dev/null" ||
	   ! grep -q forwarding "$out"; then
		stop_pid "$pid"
		echo "error the forwarder did not start: $(tail -n 1 "$out")"
		return
	fi
	ip addr add 10.96.0.2/24 dev "$dev" && ip link set "$dev" up ||
		{ echo "error $dev setup"; return; }
	tcp_iperf "$dir" "$streams" "$secs"
	stop_pid "$pid"
	cat "$out" >&2
}

# kni0's frames hold 16 KiB with offloads: a 64 KiB packet takes 5.
tcp_kni_offload()
{
	ip link add kni0 type kni frame_size 16384 || { echo "error kni0 setup"; return; }
	tcp_fwd "$@" kni0 on "$KNI_FWD" -p bport0 -k kni0 -o
}

tcp_kni()
{
	ip link add kni0 type kni || { echo "error kni0 setup"; return; }
	tcp_fwd "$@" kni0 off "$KNI_FWD" -p bport0 -k kni0
}

# The ceiling: the stack and the peer on the two ends of the veth pair,
# with their offloads, and no dataplane between them.
tcp_ceiling()
{
	tcp_peer on direct || { echo "error peer setup"; return; }
	tcp_iperf "$@"
}

tcp_tap_vnet() { tcp_fwd "$@" tap0 on "$TAP_FWD" -p bport0 -t tap0 -o; }
tcp_tap() { tcp_fwd "$@" tap0 off "$TAP_FWD" -p bport0 -t tap0; }

# Running

selected()
{
	[ -z "$ONLY" ] || [[ $1 =~ $ONLY ]]
}

# run_one NAME FN ARGS...: one measurement, its stderr kept in the logs;
# prints the function's result line.
run_one()
{
	local name=$1 fn=$2 res

	shift 2
	if ! declare -F "$fn" > /dev/null; then
		echo "error no function $fn"
		return
	fi
	log "$name"
	"$fn" "$@" > "$WORK/result" 2> "$LOGS/$name.log"
	res=$(grep -E '^(pps|pct|rtt|mbps|error) ' "$WORK/result" | tail -n 1)
	cleanup 2>> "$LOGS/$name.log"
	[ -n "$res" ] || res="error $fn printed no result"
	log "  $res"
	echo "$res"
}

run_round()
{
	local round=$1 size test m res list mm mode dir streams

	for size in $SIZES; do
		for test in to_stack from_stack; do
			if [ "$test" = to_stack ]; then
				list=("${TO_STACK_METHODS[@]}")
			else
				list=("${FROM_STACK_METHODS[@]}")
			fi
			for m in "${list[@]}"; do
				selected "$test:$m" || continue
				res=$(run_one "r$round-$test-$size-$m" \
					"m_${test}_${m//-/_}" "$size" "$SECONDS_PER")
				echo "round $round $test $size $m $res" >> "$RAW"
			done
		done
	done
	for mm in "${RTT_METHODS[@]}"; do
		m=${mm%%:*}
		mode=${mm#*:}
		selected "rtt:$m:$mode" || continue
		res=$(run_one "r$round-rtt-$m-$mode" "rtt_${m//-/_}_$mode")
		case "$res" in
		rtt\ *) res=${res#rtt } ;;
		esac
		echo "rtt $round $m $mode $res" >> "$RAW"
	done
	for m in "${TCP_METHODS[@]}"; do
		for dir in to from; do
			for streams in $TCP_STREAMS; do
				selected "tcp:$m:$dir:$streams" || continue
				res=$(run_one "r$round-tcp-$m-$dir-$streams" \
					"tcp_${m//-/_}" "$dir" "$streams" "$TCP_SECONDS")
				echo "tcp $round $m $dir $streams $res" >> "$RAW"
			done
		done
	done
}

trap 'cleanup; rm -rf "$WORK"' EXIT
mkfifo "$WORK/nap"
exec {NAP_FD}<> "$WORK/nap"

# Nothing but the measured traffic: no IPv6 router solicitations or
# neighbour discovery on the devices a dataplane drains.
sysctl -qw net.ipv6.conf.all.disable_ipv6=1 net.ipv6.conf.default.disable_ipv6=1
[ -e "$PG/pgctrl" ] || modprobe pktgen 2>/dev/null

dpdk=$here/bench-dpdk.sh
if [ -f "$dpdk" ]; then
	# shellcheck source=/dev/null
	. "$dpdk"
fi

{
	echo "kernel $(uname -r)"
	echo "cpus $NCPUS"
	echo "seconds $SECONDS_PER"
	echo "rounds $ROUNDS"
} > "$RAW"
log "$ROUNDS rounds of ${SECONDS_PER} s windows, sizes $SIZES, $NCPUS CPUs"
log "to_stack: ${TO_STACK_METHODS[*]}"
log "from_stack: ${FROM_STACK_METHODS[*]}"
log "tcp: ${TCP_METHODS[*]}"
[ -z "$BENCH_DPDK_ERROR" ] || log "DPDK: $BENCH_DPDK_ERROR"

for ((r = 1; r <= ROUNDS; r++)); do
	log "round $r of $ROUNDS"
	run_round "$r"
done
# idle_<method> functions the sourced file defines join the list.
while read -r f; do
	m=${f#idle_}
	m=${m//_/-}
	[[ " ${IDLE_METHODS[*]} " == *" $m "* ]] || IDLE_METHODS+=("$m")
done < <(declare -F | awk '$3 ~ /^idle_/ && $3 != "idle_measure" { print $3 }')
for m in "${IDLE_METHODS[@]}"; do
	selected "idle:$m" || continue
	res=$(run_one "idle-$m" "idle_${m//-/_}" "$IDLE_SECONDS")
	case "$res" in
	pct\ *) res=${res#pct } ;;
	esac
	echo "idle $m $res" >> "$RAW"
done
log "done"
