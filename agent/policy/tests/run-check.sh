#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs the unit tests and a short run of each fuzz target, counting every
# unit test case and every fuzz run as one case. The last line printed is
# "N passed, M failed"; the exit status is non-zero when anything failed.
#
# Usage: tests/run-check.sh BUILDDIR   (FUZZ_SECONDS, NICE from make)
set -u
B=$1
here=$(cd "$(dirname "$0")/.." && pwd)
secs=${FUZZ_SECONDS:-15}
nice=${NICE:-nice -n 10}
pass=0
fail=0
tmp=$(mktemp -d "${TMPDIR:-/tmp}/tagpolicy-check.XXXXXX")
trap 'rm -rf "$tmp"' EXIT INT TERM

export ASAN_OPTIONS="detect_leaks=1:abort_on_error=0:strict_string_checks=1:detect_stack_use_after_return=1"
export UBSAN_OPTIONS="print_stacktrace=1:halt_on_error=1"

# Certificates for the tests, made now with certtool.
if "$here/tests/gen-certs.sh" "$tmp/certs" > "$tmp/gen.log" 2>&1 &&
   [ -s "$tmp/certs/alice.der" ] && [ -s "$tmp/certs/v1.der" ]; then
	echo "ok - generate test certificates with certtool"
	pass=$((pass + 1))
else
	echo "FAIL - generate test certificates with certtool"
	cat "$tmp/gen.log"
	fail=$((fail + 1))
fi

# Unit tests (ASan + UBSan + LeakSanitizer), then the allocation-failure
# tests. Each prints "unit: N passed, M failed" as its last line.
unit_run() {
	name=$1
	mkdir -p "$tmp/work-$name"
	TP_EXAMPLES_DIR="$here/examples/tags.d" \
		$nice "$B/$name" "$tmp/certs" "$tmp/work-$name" \
		> "$tmp/$(basename "$name").out" 2>&1
	rc=$?
	out="$tmp/$(basename "$name").out"
	cat "$out"
	line=$(grep '^unit: [0-9]* passed, [0-9]* failed$' "$out" | tail -n 1)
	if [ -n "$line" ]; then
		up=$(echo "$line" | sed 's/^unit: \([0-9]*\) passed.*/\1/')
		uf=$(echo "$line" | sed 's/.* \([0-9]*\) failed$/\1/')
		pass=$((pass + up))
		fail=$((fail + uf))
		# A sanitizer report at exit (e.g. a leak) fails the run as a whole.
		if [ "$rc" -ne 0 ] && [ "$uf" -eq 0 ]; then
			echo "FAIL - $name exited with status $rc"
			fail=$((fail + 1))
		fi
	else
		echo "FAIL - $name did not finish (status $rc)"
		fail=$((fail + 1))
	fi
}

unit_run test/test_tagpolicy
unit_run oom/test_oom

# Short fuzz runs, each one case. Corpora are copied to scratch so the
# committed seeds stay small.
fuzz_run() {
	name=$1
	shift
	mkdir -p "$tmp/corpus-$name"
	for s in "$@"; do
		cp "$s" "$tmp/corpus-$name/" 2>/dev/null
	done
	$nice "$B/fuzz/$name" -max_total_time="$secs" -timeout=10 \
		-rss_limit_mb=2048 -print_final_stats=1 -artifact_prefix="$B/fuzz/$name-" \
		"$tmp/corpus-$name" > "$tmp/$name.log" 2>&1
	frc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$tmp/$name.log" | tail -n 1)
	if [ "$frc" -eq 0 ] && [ -n "$execs" ]; then
		echo "ok - $name: $execs executions in ${secs}s, no crash"
		pass=$((pass + 1))
	else
		echo "FAIL - $name (status $frc)"
		tail -n 40 "$tmp/$name.log"
		echo "(reproducer, if any: $B/fuzz/$name-crash-*)"
		fail=$((fail + 1))
	fi
}

fuzz_run fuzz_load "$here"/fuzz/seeds/load/*.yml "$here"/examples/tags.d/*.yml
fuzz_run fuzz_eval "$tmp"/certs/*.der

echo "$pass passed, $fail failed"
[ "$fail" -eq 0 ]
