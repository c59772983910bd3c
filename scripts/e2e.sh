#!/bin/bash
# End-to-end scenarios in the VM (vm/README.md). The patched kernel runs
# as the debug variant (KASAN, lockdep, DEBUG_ATOMIC_SLEEP, kmemleak); the
# compatibility scenario also runs on the unpatched Debian kernel (notags).
# Builds what is missing or stale, runs each scenario with vm/run (which
# fails a scenario on any kernel report or timeout), and ends with
# "N passed, N failed", one case per scenario run.
# Usage: e2e.sh [SCENARIO...]
#   (smoke agent tags ciphers nvme hostile stress compat nfs compat-notags
#    nfs-notags)
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1
mkdir -p build/logs

scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] ||
	scenarios=(smoke agent tags ciphers nvme hostile stress compat nfs compat-notags nfs-notags)

scripts/deps.sh kernel agent vm nfs-utils || exit 1
[ -d build/linux/.git ] || scripts/kernel-tree.sh || exit 1

variants=(debug)
for s in "${scenarios[@]}"; do
	case "$s" in
	*-notags) [[ " ${variants[*]} " == *" notags "* ]] || variants+=(notags) ;;
	esac
done
echo "e2e: building the agent, tools, kernels (${variants[*]}) and test modules"
start=$(date +%s)
{
	make -s -C agent all build/test/test_handshake build/test/test_live_netlink &&
	make -s -C vm/tools && scripts/nfs-utils.sh build &&
	for v in "${variants[@]}"; do
		VARIANT=$v scripts/vm-kernel.sh --if-stale &&
		make -s -C vm/module VARIANT="$v" || exit 1
	done
} > build/logs/e2e-build.log 2>&1 || {
	tail -30 build/logs/e2e-build.log
	echo "0 passed, 1 failed"
	exit 1
}
echo "e2e: built in $(( $(date +%s) - start ))s"

passed=0 failed=0
for s in "${scenarios[@]}"; do
	case "$s" in
	compat-notags)	variant=notags script=compat args=(notags) ;;
	nfs-notags)	variant=notags script=nfs args=(notags) ;;
	tags|ciphers|compat|nfs) variant=debug script=$s args=(debug) ;;
	*)		variant=debug script=$s args=() ;;
	esac
	log=build/logs/e2e-$s.log
	if vm/run --variant "$variant" -t 900 "vm/scenarios/$script.sh" "${args[@]}" \
		> "$log" 2>&1; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
		grep -E '^(FAIL|not ok)' "$log" | head -10
	fi
	echo "$(tail -n 1 "$log") [$(grep -cE '^ok ' "$log") checks ok]"
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
