#!/bin/bash
# SPDX-License-Identifier: GPL-2.0
#
# make demo, guest side: what a newcomer sees kni do. Each step is labelled
# and the demo exits non-zero at the first step that fails.
set -euo pipefail

step()
{
	echo
	echo "=== $*"
}

step "kernel $(uname -r) on $(nproc) CPUs"

step "ip link add kni0 type kni queues 2 ring_size 1024 frame_size 2048 carrier on"
ip link add kni0 type kni queues 2 ring_size 1024 frame_size 2048 carrier on

step "ip link set kni0 up"
ip link set kni0 up

step "ip -d link show kni0"
ip -d link show kni0

step "ethtool -i kni0; ethtool -l kni0; ethtool -g kni0"
ethtool -i kni0
ethtool -l kni0
ethtool -g kni0

step "ping through kni0 with no dataplane attached: the packets are dropped and counted"
ip addr add 10.0.0.2/24 dev kni0
! ping -c 2 -i 0.2 -W 1 10.0.0.1
ethtool -S kni0
ip -s link show kni0

step "ip link del kni0"
ip link del kni0
! ip link show kni0 2>/dev/null

echo
echo "demo: all steps succeeded"
