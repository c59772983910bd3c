#!/bin/bash
# vm/scenarios/kunit.sh - runs inside the VM, booted with kunit.enable=1
# (scripts/kunit.sh). The series' KUnit suites are built into the debug
# kernel and ran during boot, before this script; their KTAP output is on
# the console, which scripts/kunit.sh parses with kunit.py. Here: every
# suite the series adds has a result in debugfs, copied to the output
# directory as KTAP-SUITE.txt. Exit status 0 when every check passed.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${VM_TOP:?run scenarios with vm/run}/vm/scenarios/lib.sh" || exit 1

echo "kernel: $(uname -srv)"
check_kernel_release
check_kernel_build

k=/sys/kernel/debug/kunit
if [ ! -d "$k" ]; then
	fail "no $k: KUnit is not built in, or debugfs is missing"
	exit 1
fi
# The suites of the series (lib/tagset_kunit.c, net/handshake/handshake-test.c,
# fs/nfsd/export_kunit.c); a suite's last line is its own result.
for s in "tagset" "Handshake API tests" "Handshake session tags" "nfsd-export-tags"; do
	r="$k/$s/results"
	if [ ! -r "$r" ]; then
		fail "suite '$s': no results in debugfs (was kunit.enable=1 given?)"
		continue
	fi
	cp "$r" "$out/KTAP-${s// /_}.txt"
	last=$(grep -E '^ *(not )?ok [0-9]+ ' "$r" | tail -n 1 | sed -E 's/^ +//')
	case "$last" in
	"ok "*)		ok "suite '$s': $last" ;;
	"not ok "*)	fail "suite '$s': $last" ;;
	*)		fail "suite '$s': no result line" ;;
	esac
done
exit $((fails > 0))
