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
VM_TIMEOUT ?= 1800

.PHONY: help deps tree kernel kernel-debug static check vm demo

help:
	@echo "make demo    build and boot the kni kernel, create kni0 and show it"
	@echo "make check   static checks, then the selftests in a VM (debug kernel)"
	@echo "make vm CMD='...' [KERNEL=debug|release]   run CMD in the test VM"

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

# CMD reaches the guest's shell verbatim: no make expansion, quotes kept.
vm: tree
	@set -e; ipdir=$$(./tree/iproute2.sh | tail -n 1); \
	out=$$(./tree/build-kernel.sh $(KERNEL) | tail -n 1); \
	$(QEMU)/run-vm.sh -t $(VM_TIMEOUT) -k $$out/arch/x86/boot/bzImage \
		-p $$ipdir '$(subst ','\'',$(value CMD))'

demo: kernel
	@set -e; ipdir=$$(./tree/iproute2.sh | tail -n 1); \
	out=$$(./tree/build-kernel.sh release | tail -n 1); \
	$(QEMU)/run-vm.sh -t $(VM_TIMEOUT) -k $$out/arch/x86/boot/bzImage \
		-p $$ipdir $(CURDIR)/$(QEMU)/demo.sh
