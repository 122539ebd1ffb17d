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

step "ip link add kni0 type kni"
ip link add kni0 type kni

step "ip link set kni0 up"
ip link set kni0 up

step "ip -d link show kni0"
ip -d link show kni0

step "ip -s link show kni0"
ip -s link show kni0

step "ip link del kni0"
ip link del kni0
! ip link show kni0 2>/dev/null

echo
echo "demo: all steps succeeded"
