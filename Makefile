# tls-session-tags: top-level entry points. See README.md.
#
#   make demo           the main job (see README)
#   make check          every test suite; ends with "N passed, N failed"
#   make bench          benchmarks (figures, not tests)
#
# Kernel workflow: kernel-tree, kernel-export, kunit, kunit-uml, checkpatch,
# bisect.

.PHONY: all demo check bench kernel-tree kernel-export kunit kunit-uml checkpatch bisect \
	agent agent-check deps clean vm-kernel vm-smoke \
	e2e-tags e2e-hostile e2e-stress

all: check

demo:
	@scripts/demo.sh

check:
	@scripts/check.sh

kernel-tree:
	@scripts/kernel-tree.sh

kernel-export:
	@scripts/kernel-export.sh

# The series' KUnit suites in the VM rig's debug kernel (what make check
# runs), or under UML with kernel/kunitconfig.
kunit:
	@scripts/kunit.sh

kunit-uml:
	@scripts/kunit.sh --uml

checkpatch:
	@scripts/checkpatch.sh

bisect:
	@scripts/bisect-check.sh

agent:
	@scripts/deps.sh agent
	@$(MAKE) -C agent

agent-check:
	@scripts/check.sh agent

bench:
	@scripts/deps.sh kernel bench agent
	@test -d build/linux/.git || scripts/kernel-tree.sh
	@$(MAKE) -s -C bench/tagset run
	@if [ -f agent/Makefile ]; then $(MAKE) -s -C agent bench; fi
	@scripts/bench-agent.sh
	@scripts/bench-nfs.sh

# The VM rig (vm/README.md): an x86_64 kernel under qemu (TCG).
# VARIANT=debug builds/boots the KASAN + lockdep + kmemleak kernel.
vm-kernel:
	@scripts/vm-kernel.sh

vm-smoke:
	@scripts/deps.sh agent vm
	@$(MAKE) -s -C agent
	@scripts/vm-kernel.sh --if-stale
	@vm/run --variant $(or $(VARIANT),base) vm/scenarios/smoke.sh

# End to end: tlstagd's tags reach a kernel consumer (vm/module/tagtest.ko,
# a kTLS echo server) for gnutls-cli clients; vm/scenarios/tags.sh.
e2e-tags:
	@scripts/deps.sh agent vm
	@$(MAKE) -s -C agent
	@scripts/vm-kernel.sh --if-stale
	@$(MAKE) -s -C vm/module VARIANT=$(or $(VARIANT),base)
	@vm/run --variant $(or $(VARIANT),base) vm/scenarios/tags.sh $(or $(VARIANT),base)

# kTLS carries data with every TLS 1.3 cipher, and a KeyUpdate ends the
# session cleanly: build/vm/tools/tlspeer against tagtest.ko.
.PHONY: e2e-ciphers
e2e-ciphers:
	@scripts/deps.sh agent vm
	@$(MAKE) -s -C agent
	@$(MAKE) -s -C vm/tools
	@scripts/vm-kernel.sh --if-stale
	@$(MAKE) -s -C vm/module VARIANT=$(or $(VARIANT),base)
	@vm/run --variant $(or $(VARIANT),base) -t 600 vm/scenarios/ciphers.sh $(or $(VARIANT),base)

# NVMe/TCP with TLS 1.3 end to end: nvmet and the NVMe/TCP host in one
# guest, their PSK handshakes served by tlstagd; vm/scenarios/nvme.sh.
.PHONY: e2e-nvme
e2e-nvme:
	@scripts/deps.sh agent vm
	@$(MAKE) -s -C agent
	@$(MAKE) -s -C vm/tools
	@scripts/vm-kernel.sh --if-stale
	@vm/run --variant $(or $(VARIANT),base) -t 600 vm/scenarios/nvme.sh

# Hostile-agent scenarios (vm/README.md): build/vm/tools/hsdone against
# vm/module's tagtest.ko. Not part of `make check`.
e2e-hostile e2e-stress:
	@scripts/deps.sh vm
	@$(MAKE) -s -C vm/tools
	@scripts/vm-kernel.sh --if-stale
	@$(MAKE) -s -C vm/module VARIANT=$(or $(VARIANT),base)
	@vm/run --variant $(or $(VARIANT),base) -t 600 vm/scenarios/$(@:e2e-%=%).sh

deps:
	@scripts/deps.sh kernel kunit checkpatch bench agent nfs-utils

# nfs-utils/README.md: Debian's nfs-utils source package with the
# project's patches, built in build/nfs-utils/src.
.PHONY: nfs-utils nfs-utils-export nfs-utils-check e2e-nfs
# A real NFSv4.2 mount over mutual TLS, granted by tags
# (vm/scenarios/nfs.sh): on the debug kernel, then on the unpatched one.
e2e-nfs:
	@scripts/e2e.sh nfs nfs-notags

nfs-utils:
	@scripts/nfs-utils.sh build

nfs-utils-export:
	@scripts/nfs-utils.sh export

nfs-utils-check:
	@scripts/check.sh nfs-utils

clean:
	rm -rf build/kunit build/bench build/logs
	@if [ -f agent/Makefile ]; then $(MAKE) -C agent clean; fi

# Compatibility (vm/README.md): vm/scenarios/compat.sh on the patched kernel
# (tlstagd with session-tags = no) and on the unpatched Debian 6.12 kernel
# (VARIANT=notags, built from a worktree of build/linux at tag base).
# Builds what is stale. Not part of `make check`.
.PHONY: e2e-compat
e2e-compat:
	@scripts/deps.sh agent vm
	@$(MAKE) -s -C agent
	@scripts/vm-kernel.sh --if-stale
	@VARIANT=notags scripts/vm-kernel.sh --if-stale
	@$(MAKE) -s -C vm/module VARIANT=base
	@$(MAKE) -s -C vm/module VARIANT=notags
	@rc=0; \
	vm/run --variant base vm/scenarios/compat.sh base || rc=1; \
	vm/run --variant notags vm/scenarios/compat.sh notags || rc=1; \
	exit $$rc
