#!/bin/bash
# make bench's NFS part: vm/scenarios/nfs-bench.sh on the base kernel
# (NFS over kTLS to an allow_tags export against the same export without
# it, one VM run, ratios). Builds what is missing. Usage:
# bench-nfs.sh [ROUNDS [MIB [FILES]]]
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1 VARIANT=base
mkdir -p build/logs
scripts/deps.sh kernel agent vm nfs-utils || exit 1
[ -d build/linux/.git ] || scripts/kernel-tree.sh || exit 1
{ make -s -C agent && scripts/nfs-utils.sh build && scripts/vm-kernel.sh --if-stale; } \
	>build/logs/bench-nfs-build.log 2>&1 ||
	{ tail -20 build/logs/bench-nfs-build.log; echo "bench-nfs: build failed"; exit 1; }
echo "== NFS over kTLS: allow_tags export vs the same export without it (VM, base kernel)"
vm/run --variant base -t 1800 vm/scenarios/nfs-bench.sh "$@" >build/logs/bench-nfs.log 2>&1
rc=$?
sed -n '/^kernel: /p;/^both mounts/p;/^note:/p;/^NFS over kTLS/,/^1.000 = no cost/p' build/logs/bench-nfs.log
[ "$rc" = 0 ] || { tail -5 build/logs/bench-nfs.log; exit 1; }
