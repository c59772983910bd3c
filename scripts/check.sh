#!/bin/bash
# Run every test suite, each with its output in build/logs/SUITE.log, and
# end with one line "N passed, N failed" totalling them. Exits non-zero
# when anything failed. Usage: check.sh [SUITE...]; default: all of them.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
mkdir -p build/logs

all_suites=(checkpatch kunit bisect agent nfs-utils e2e)
suites=("$@")
[ ${#suites[@]} -gt 0 ] || suites=("${all_suites[@]}")

run_suite() {
	case "$1" in
	checkpatch)	scripts/checkpatch.sh ;;
	kunit)		scripts/kunit.sh ;;
	bisect)		scripts/bisect-check.sh ;;
	agent)		scripts/deps.sh agent && make -C agent check ;;
	nfs-utils)	nfs-utils/tests/run.sh ;;
	e2e)		scripts/e2e.sh ;;
	*)		echo "check: unknown suite '$1'"; return 2 ;;
	esac
}

total_p=0 total_f=0 report=()
for s in "${suites[@]}"; do
	echo "=== $s"
	start=$(date +%s)
	run_suite "$s" 2>&1 | tee "build/logs/$s.log"
	rc=${PIPESTATUS[0]}
	secs=$(( $(date +%s) - start ))
	line=$(grep -E '^([A-Za-z-]+: )?[0-9]+ passed, [0-9]+ failed' "build/logs/$s.log" | tail -n 1)
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
