#!/bin/bash
# End-to-end scenarios in the VM (vm/README.md) on the debug kernel
# (KASAN, lockdep, DEBUG_ATOMIC_SLEEP, kmemleak): builds what is missing
# or stale, runs each scenario with vm/run (which fails a scenario on any
# kernel report or timeout), and ends with "N passed, N failed", one case
# per scenario. Usage: e2e.sh [SCENARIO...]; default: all of them.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
variant=${VARIANT:-debug}
export VARIANT=$variant CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=(smoke tags hostile stress)

scripts/deps.sh kernel agent vm || exit 1
[ -d build/linux/.git ] || scripts/kernel-tree.sh || exit 1
echo "e2e: building (agent, tools, $variant kernel if stale, test module)"
start=$(date +%s)
{ make -s -C agent && make -s -C vm/tools &&
  scripts/vm-kernel.sh --if-stale &&
  make -s -C vm/module VARIANT="$variant"; } > build/logs/e2e-build.log 2>&1 || {
	tail -30 build/logs/e2e-build.log
	echo "0 passed, 1 failed"
	exit 1
}
echo "e2e: built in $(( $(date +%s) - start ))s"

passed=0 failed=0
for s in "${scenarios[@]}"; do
	args=()
	[ "$s" = tags ] && args=("$variant")
	if vm/run --variant "$variant" -t 900 "vm/scenarios/$s.sh" "${args[@]}" \
		> "build/logs/e2e-$s.log" 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		grep -E '^(FAIL|not ok)' "build/logs/e2e-$s.log" | head -10
	fi
	checks=$(grep -cE '^ok ' "build/logs/e2e-$s.log")
	echo "$(tail -n 1 "build/logs/e2e-$s.log") [$checks checks ok]"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
