#!/bin/bash
# make bench's NFS part: vm/scenarios/nfs-bench.sh on the base kernel
# (NFS over kTLS to an allow_tags export against the same export without
# it, one VM run, ratios). The VM runs with instruction counting (vm/run
# --icount, one vCPU): the guest's clock counts executed guest
# instructions, so the figures do not depend on the host's speed or load
# (bench/README.md). Builds what is missing. Usage:
# bench-nfs.sh [ROUNDS [MIB [FILES]]]   (default 31 rounds, 8 MiB, 100 files)
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1 VARIANT=base
mkdir -p build/logs
scripts/deps.sh kernel agent vm nfs-utils || exit 1
[ -d build/linux/.git ] || scripts/kernel-tree.sh || exit 1
{ make -s -C agent && scripts/nfs-utils.sh build && scripts/vm-kernel.sh --if-stale; } \
	>build/logs/bench-nfs-build.log 2>&1 ||
	{ tail -20 build/logs/bench-nfs-build.log; echo "bench-nfs: build failed"; exit 1; }
echo "== NFS over kTLS: allow_tags export vs the same export without it (VM, base kernel, icount)"
vm/run --variant base --icount --smp 1 -t 3600 vm/scenarios/nfs-bench.sh "$@" \
	>build/logs/bench-nfs.log 2>&1
rc=$?
sed -n '/^NFS over kTLS/,/^(end of figures)/{/^(end of figures)/!p;d}
	/^kernel: /p;/^clock: /p;/^both mounts/p;/^note:/p' build/logs/bench-nfs.log
[ "$rc" = 0 ] || { tail -5 build/logs/bench-nfs.log; exit 1; }
# The verdict line: where the run's files are, and its wall time.
tail -n 1 build/logs/bench-nfs.log
