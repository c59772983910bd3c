#!/bin/bash
# Run every test suite, each with its output in build/logs/SUITE.log, and
# end with one line "N passed, N failed" totalling them. Exits non-zero
# when anything failed. Usage: check.sh [SUITE...]; default: all of them.
#
# The suites overlap, so that neither core idles while a suite waits:
#   host lane:    checkpatch, agent, nfs-utils (userspace builds and tests)
#   kernel lane:  the debug kernel; then bisect (which walks down from
#                 the debug kernel's objects) from start to end, beside
#                 kunit (a VM) and the unpatched kernel's build, then,
#                 once the host lane is done (e2e rebuilds what the agent
#                 and nfs-utils suites build), beside e2e (two VMs at a
#                 time)
# Every kernel build runs at nice 19, so the host lane's tests and the
# VMs (whose timeouts are wall-clock) come first. Each suite's output is
# printed when it ends; the summary is in the order of all_suites.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top" || exit 1
logs=build/logs
mkdir -p "$logs"

all_suites=(checkpatch kunit bisect agent nfs-utils e2e)
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=("${all_suites[@]}")
for s in "${suites[@]}"; do
	[[ " ${all_suites[*]} " == *" $s "* ]] || { echo "check: unknown suite '$s'"; exit 2; }
done
want() { [[ " ${suites[*]} " == *" $1 "* ]]; }

run_suite() {
	case "$1" in
	checkpatch)	scripts/checkpatch.sh ;;
	kunit)		scripts/kunit.sh ;;
	bisect)		scripts/bisect-check.sh ;;
	agent)		scripts/deps.sh agent && make -C agent check ;;
	nfs-utils)	nfs-utils/tests/run.sh ;;
	e2e)		scripts/e2e.sh ;;
	esac
}

# run SUITE: run it into its log, record its status and time, then print
# its output (under a lock, so that two suites' outputs do not mix).
run() {
	local s=$1 start rc
	want "$s" || return 0
	echo "check: $s started at $(date +%T)"
	start=$(date +%s)
	run_suite "$s" >"$logs/$s.log" 2>&1 </dev/null
	rc=$?
	echo "$rc $(( $(date +%s) - start ))" >"$logs/$s.status"
	{
		flock 9
		echo "=== $s"
		cat "$logs/$s.log"
	} 9>"$logs/.print.lock"
	return 0
}

start_all=$(date +%s)
rm -f "$logs"/*.status
# What both lanes need, once: the packages and the kernel tree.
parts=()
want checkpatch && parts+=(kernel checkpatch)
want agent && parts+=(agent)
want nfs-utils && parts+=(nfs-utils)
{ want kunit || want bisect || want e2e; } && parts+=(kernel kunit vm agent nfs-utils)
if [ ${#parts[@]} -gt 0 ]; then
	scripts/deps.sh "${parts[@]}" || { echo "check: installing packages failed"; echo "0 passed, 1 failed"; exit 1; }
fi
if want checkpatch || want kunit || want bisect || want e2e; then
	[ -d build/linux/.git ] || scripts/kernel-tree.sh ||
		{ echo "check: preparing build/linux failed"; echo "0 passed, 1 failed"; exit 1; }
fi

# Each lane in its own process group, so that an interrupt stops all of
# it (background jobs of a script ignore SIGINT themselves).
set -m
( set +m; run checkpatch; run agent; run nfs-utils ) &
host_lane=$!
(
	set +m
	# The kernels first: the debug one (kunit and e2e boot it, bisect
	# starts from its objects), then the unpatched one (e2e boots it),
	# built while the KUnit VM runs. Their logs: build/logs/vm-kernel-*.log; a
	# failed build is reported by the suite that needs the kernel.
	if want kunit || want e2e || want bisect; then
		VARIANT=debug scripts/vm-kernel.sh --if-stale >/dev/null 2>&1
	fi
	# bisect builds at nice 19 beside the VMs, which come first.
	bisect=
	if want bisect; then
		( run bisect ) &
		bisect=$!
	fi
	notags=
	if want e2e; then
		VARIANT=notags scripts/vm-kernel.sh --if-stale >/dev/null 2>&1 &
		notags=$!
	fi
	run kunit
	[ -z "$notags" ] || wait "$notags"
	# The host lane is this subshell's sibling, which wait(1) cannot
	# wait for: poll until it is gone.
	while kill -0 "$host_lane" 2>/dev/null; do
		sleep 5
	done
	run e2e
	[ -z "$bisect" ] || wait "$bisect"
) &
kernel_lane=$!
set +m
trap 'kill -TERM -- "-$host_lane" "-$kernel_lane" 2>/dev/null; exit 130' INT TERM
wait "$host_lane" "$kernel_lane"
trap - INT TERM

total_p=0 total_f=0 report=()
for s in "${all_suites[@]}"; do
	want "$s" || continue
	read -r rc secs 2>/dev/null <"$logs/$s.status" || { rc=1 secs=0; }
	line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "$logs/$s.log" | tail -n 1)
	p=$(sed -nE 's/^([A-Za-z-]+: )?([0-9]+) passed.*/\2/p' <<<"$line")
	f=$(sed -nE 's/.* ([0-9]+) failed.*/\1/p' <<<"$line")
	p=${p:-0}
	f=${f:-0}
	if [ "$rc" != 0 ] && [ "$f" = 0 ]; then
		# The suite broke before it could count: that is a failure
		f=1
	fi
	total_p=$((total_p + p))
	total_f=$((total_f + f))
	report+=("$(printf '%-12s %4d passed %4d failed %5ds' "$s" "$p" "$f" "$secs")")
done

echo "=== summary"
printf '%s\n' "${report[@]}"
echo "wall time: $(( $(date +%s) - start_all ))s (the suites overlap)"
# The base moves whenever Debian updates linux-source-6.12: name the
# release this run built on, and the one the series was exported from.
tree=build/linux
if [ -d "$tree/.git" ]; then
	base=$(git -C "$tree" rev-list --max-parents=0 HEAD)
	pkgver=$(git -C "$tree" log -1 --format=%b "$base" | sed -n 's/^Debian-Package-Version: //p')
	echo "base: Debian linux-source-6.12 $pkgver (Linux $(make -s -C "$tree" kernelversion))"
fi
sed -n 's/.*Tested on \(.*\)\.$/series last tested on: \1/p' kernel/0000-cover-letter.patch
echo "$total_p passed, $total_f failed"
[ "$total_f" = 0 ]
