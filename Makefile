# SPDX-License-Identifier: GPL-2.0
#
# kni developer commands. The two that matter are "make demo" and
# "make check"; see README.md. Kernel trees and builds are cached outside
# the clone ($(KNI_CACHE), default ~/.cache/kni).

SHELL := /bin/bash
QEMU := tools/testing/selftests/net/kni/qemu

# Kernel flavour for "make vm": debug (the one make check uses) or release.
KERNEL ?= debug
CMD ?= ip -d link show
# Limit for one VM run, in seconds.
VM_TIMEOUT ?= 4500

.PHONY: help deps tree kernel kernel-debug static check check-kcsan vm demo bench \
	patches submission

help:
	@echo "make demo    build and boot the kni kernel, run kni-fwd between kni0 and a veth"
	@echo "make check   static checks, then the selftests in a VM (debug kernel)"
	@echo "make check-kcsan   the selftests on a KCSAN kernel (data races in kni fail)"
	@echo "make patches  regenerate patches/linux, the series for netdev"
	@echo "make submission  patches/linux and patches/iproute2 as emails in build/submission (not sent)"
	@echo "make vm CMD='...' [KERNEL=debug|release]   run CMD in the test VM"
	@echo "make bench [BENCH_SECONDS=3 BENCH_ROUNDS=3]   kni against its peers, build/bench.json"

deps:
	@./tree/deps.sh

tree: deps
	@./tree/assemble.sh

kernel: tree
	@./tree/build-kernel.sh release >/dev/null

kernel-debug: tree
	@./tree/build-kernel.sh debug >/dev/null

static: tree
	@./tree/static-checks.sh

check: tree
	@VM_TIMEOUT=$(VM_TIMEOUT) ./tree/check.sh

# patches/linux, the kernel side as a series for netdev (make check fails
# when it is stale).
patches: tree
	@./tree/linux-series.sh

# build/submission: the series as emails, written by b4 and not sent
# (make check checks the same, tree/submission.sh --check).
submission: deps
	@./tree/submission.sh

# Not part of make check: a kernel of its own, and as long a VM run again.
check-kcsan: tree
	@VM_TIMEOUT=$(VM_TIMEOUT) ./tree/check.sh kcsan

# CMD reaches the guest's shell verbatim: no make expansion, quotes kept.
vm: tree
	@set -e; ipdir=$$(./tree/iproute2.sh | tail -n 1); \
	out=$$(./tree/build-kernel.sh $(KERNEL) | tail -n 1); \
	mod=(); [ ! -f $$out/drivers/net/kni/kni.ko ] || \
		mod=(-m $$out/drivers/net/kni/kni.ko); \
	$(QEMU)/run-vm.sh -t $(VM_TIMEOUT) -k $$out/arch/x86/boot/bzImage \
		"$${mod[@]}" -p $$ipdir '$(subst ','\'',$(value CMD))'

# libkni and kni-fwd are built on the host, against the kernel's uapi
# headers, into build/ (ignored by git); the guest sees them read-only.
demo: kernel
	@set -e; ipdir=$$(./tree/iproute2.sh | tail -n 1); \
	out=$$(./tree/build-kernel.sh release headers | tail -n 1); \
	$(MAKE) -s -C tools/lib/kni O=$(CURDIR)/build/libkni \
		KHDR_INCLUDES="-isystem $$out/usr/include" all; \
	$(QEMU)/run-vm.sh -t $(VM_TIMEOUT) -k $$out/arch/x86/boot/bzImage \
		-p $$ipdir $(CURDIR)/$(QEMU)/demo.sh $(CURDIR)/build/libkni/kni-fwd

# Not part of make check, no thresholds: one boot of the release kernel
# measuring kni against the other ways to the stack (tree/bench.sh says
# what the BENCH_* variables do; unset ones take its defaults).
bench: tree
	@BENCH_SECONDS='$(BENCH_SECONDS)' BENCH_ROUNDS='$(BENCH_ROUNDS)' \
		BENCH_SIZES='$(BENCH_SIZES)' BENCH_ONLY='$(BENCH_ONLY)' \
		BENCH_IDLE_SECONDS='$(BENCH_IDLE_SECONDS)' \
		BENCH_PINGS='$(BENCH_PINGS)' BENCH_DPDK='$(BENCH_DPDK)' \
		BENCH_TCP_SECONDS='$(BENCH_TCP_SECONDS)' \
		BENCH_TCP_STREAMS='$(BENCH_TCP_STREAMS)' \
		./tree/bench.sh
