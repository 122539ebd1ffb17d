#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# Helpers of the kni tests that run as one labelled sequence of steps and
# stand alone (kni_demo.sh, which "make demo" also runs, and
# kni_rte_testpmd.sh); sourced. Each script defines its own fail().

ksft_skip=4

step()
{
	echo
	echo "=== $*"
}

skip()
{
	echo "SKIP: $*"
	exit "$ksft_skip"
}

# wait_for SECONDS COND: evaluate COND until it holds, for up to SECONDS.
wait_for()
{
	local i

	for ((i = 0; i < $1 * 10; i++)); do
		eval "$2" && return 0
		sleep 0.1
	done
	return 1
}

# stop PID SIGNAL [SECONDS]: signal PID and wait for it, for up to SECONDS
# (default 10), then kill it: a step that failed must not leave the test
# hanging. Returns the process's exit status.
stop()
{
	local i

	kill "-$2" "$1" 2>/dev/null
	for ((i = 0; i < ${3:-10} * 10; i++)); do
		kill -0 "$1" 2>/dev/null || break
		sleep 0.1
	done
	kill -KILL "$1" 2>/dev/null
	wait "$1" 2>/dev/null
}
