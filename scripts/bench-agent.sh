#!/bin/bash
# make bench's handshake-rate part: vm/scenarios/agent-bench.sh on the base
# kernel: 8 concurrent clients, handshakes per second served by tlstagd for
# a kernel consumer against a GnuTLS-only server (the limit), one VM run,
# alternating rounds, the ratio. Instruction counting (vm/run --icount) as
# in bench-nfs.sh; 4 GiB so that the kernel queues 8 requests at once
# (net/handshake allows one pending request per 100 MiB, at least 3).
# Usage: bench-agent.sh [ROUNDS [COUNT]]
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1 VARIANT=base
mkdir -p build/logs
scripts/deps.sh kernel agent vm || exit 1
[ -d build/linux/.git ] || scripts/kernel-tree.sh || exit 1
{ make -s -C agent && make -s -C vm/tools && scripts/vm-kernel.sh --if-stale &&
  make -s -C vm/module VARIANT=base; } >build/logs/bench-agent-build.log 2>&1 ||
	{ tail -20 build/logs/bench-agent-build.log; echo "bench-agent: build failed"; exit 1; }
echo "== handshakes/s, 8 concurrent clients: tlstagd for a kernel consumer vs a GnuTLS-only server (VM, base kernel, icount)"
VM_MEM=4G vm/run --variant base --icount -t 3600 vm/scenarios/agent-bench.sh "$@" \
	>build/logs/bench-agent.log 2>&1
rc=$?
sed -n '/^Handshakes with/,/^(end of figures)/{/^(end of figures)/!p;d}
	/^kernel: /p;/^clock: /p;/^note:/p;/^round /p' build/logs/bench-agent.log
[ "$rc" = 0 ] || { tail -5 build/logs/bench-agent.log; exit 1; }
tail -n 1 build/logs/bench-agent.log
