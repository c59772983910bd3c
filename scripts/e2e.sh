#!/bin/bash
# End-to-end scenarios in the VM (vm/README.md). The patched kernel runs
# as the debug variant (KASAN, UBSAN, lockdep, DEBUG_ATOMIC_SLEEP,
# kmemleak); compatibility and NFS also run on the unpatched Debian kernel
# (notags). Builds what is missing or stale, runs each scenario with vm/run
# (which fails a scenario on any kernel report or timeout), and ends with
# "N passed, N failed", one case per scenario run.
#
# The guests have one CPU each, so two VMs run side by side (E2E_JOBS,
# default 2; 1 runs them one after the other); the longest scenarios are
# started first. Each scenario's line is printed when it ends.
# Usage: e2e.sh [SCENARIO...]
#   (smoke agent tags ciphers nvme hostile stress compat nfs compat-notags
#    nfs-notags)
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1
logs=build/logs
mkdir -p "$logs"
jobs=${E2E_JOBS:-2}
case "$jobs" in ''|*[!0-9]*|0) echo "e2e: bad E2E_JOBS '$jobs'"; exit 2 ;; esac

# Longest first (debug-kernel wall times), so that the lanes end together.
all=(hostile nfs tags nvme compat stress ciphers agent smoke nfs-notags compat-notags)
scenarios=("$@")
[ ${#scenarios[@]} -gt 0 ] || scenarios=("${all[@]}")
for s in "${scenarios[@]}"; do
	[[ " ${all[*]} " == *" $s "* ]] || { echo "e2e: unknown scenario '$s'"; exit 2; }
done

scripts/deps.sh kernel agent vm nfs-utils || exit 1
[ -d build/linux/.git ] || scripts/kernel-tree.sh || exit 1

variants=(debug)
for s in "${scenarios[@]}"; do
	case "$s" in
	*-notags) [[ " ${variants[*]} " == *" notags "* ]] || variants+=(notags) ;;
	esac
done
echo "e2e: building the agent, tools, nfs-utils, kernels (${variants[*]}) and test modules"
start=$(date +%s)
build_all() {
	local v
	make -s -C agent all build/test/test_handshake build/test/test_live_netlink &&
	make -s -C vm/tools && scripts/nfs-utils.sh build || return 1
	for v in "${variants[@]}"; do
		VARIANT=$v scripts/vm-kernel.sh --if-stale &&
		make -s -C vm/module VARIANT="$v" || return 1
	done
}
build_all >"$logs/e2e-build.log" 2>&1 || {
	tail -30 "$logs/e2e-build.log"
	echo "0 passed, 1 failed"
	exit 1
}
echo "e2e: built in $(( $(date +%s) - start ))s; $jobs at a time"

# This run's queue (one scenario per line; a lane takes the first under
# a lock) and results, apart from any other run's.
work=$(mktemp -d "$logs/.e2e.XXXXXX") || exit 1
queue=$work/queue
printf '%s\n' "${scenarios[@]}" >"$queue"

# run_one SCENARIO: run it into build/logs/e2e-SCENARIO.log, print its
# line, and record pass or fail.
run_one() {
	local s=$1 variant script args=() log res
	case "$s" in
	compat-notags)	variant=notags script=compat args=(notags) ;;
	nfs-notags)	variant=notags script=nfs args=(notags) ;;
	tags|ciphers|compat|nfs) variant=debug script=$s args=(debug) ;;
	*)		variant=debug script=$s args=() ;;
	esac
	log=$logs/e2e-$s.log
	if vm/run --variant "$variant" -t 900 -o "build/vm/runs/e2e-$s" \
		"vm/scenarios/$script.sh" "${args[@]}" >"$log" 2>&1; then
		res=pass
	else
		res=fail
	fi
	echo "$res" >"$work/$s.result"
	{
		flock 9
		[ "$res" = pass ] || grep -E '^(FAIL|not ok)' "$log" | head -10
		echo "$(tail -n 1 "$log") [$(grep -cE '^ok ' "$log") checks ok]"
	} 9>"$work/print.lock"
}

# pop: print the queue's first scenario and remove it.
pop() {
	flock 9
	head -n 1 "$queue"
	sed -i 1d "$queue"
} 9>"$queue.lock"

lane() {
	local s
	while s=$(pop) && [ -n "$s" ]; do
		run_one "$s"
	done
}

# Each lane in its own process group, so that an interrupt stops all of it.
set -m
pids=()
for _ in $(seq "$jobs"); do
	( set +m; lane ) &
	pids+=($!)
done
set +m
stop() {
	local p
	for p in "${pids[@]}"; do
		kill -TERM -- "-$p" 2>/dev/null
	done
	rm -rf "$work"
	exit 130
}
trap stop INT TERM
wait "${pids[@]}"
trap - INT TERM

passed=0 failed=0
for s in "${scenarios[@]}"; do
	if [ "$(cat "$work/$s.result" 2>/dev/null)" = pass ]; then
		passed=$((passed + 1))
	else
		failed=$((failed + 1))
	fi
done
rm -rf "$work"
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
