#!/bin/bash
# Run the series' KUnit suites and fail on any failed or crashed case, and
# on any KASAN, UBSAN, lockdep, kmemleak or BUG report, or on a WARN outside
# the caller-bug paths that the tagset suite takes on purpose. Ends with
# "N passed, N failed".
#
#   kunit.sh         in the VM rig's debug kernel (what `make check` runs):
#                    the suites are built into build/vm/kernel-debug
#                    (vm/config/debug.config: KASAN, UBSAN, lockdep,
#                    kmemleak, FORTIFY_SOURCE) and run at boot under qemu
#                    with kunit.enable=1; the e2e scenarios boot the same
#                    kernel without it. No kernel is built only for KUnit.
#   kunit.sh --uml   with tools/testing/kunit/kunit.py under UML and
#                    kernel/kunitconfig (a second, separate kernel build)
#
# Either way kunit.py parses the KTAP output.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tree=$top/build/linux
export PATH=/usr/bin:/bin:$PATH
# ccache's own cache directory, shared by every clone on the machine;
# paths under the clone are hashed relative to it so clones share hits.
export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1
mkdir -p "$top/build/logs"
# kunit.py's own output (make check keeps this script's in kunit.log)
log=$top/build/logs/kunit-ktap.log
mode=vm
[ "${1:-}" = --uml ] && mode=uml

# The tagset suite calls tagset's functions with what only a buggy caller
# passes, and each of those WARNs once: expected. UML's default KUnit
# configuration also enables PCI over virtio without a device id, which
# WARNs once at boot (virt-pci.c).
expected_warns='lib/tagset\.c:[0-9]+ |arch/um/drivers/virt-pci\.c:[0-9]+ '

"$top/scripts/deps.sh" kernel kunit || exit 1
[ -d "$tree/.git" ] || "$top/scripts/kernel-tree.sh" || exit 1

if [ "$mode" = uml ]; then
	bdir=$top/build/kunit
	raw=$bdir/test.log
	cc=gcc
	command -v ccache >/dev/null && cc="ccache gcc"
	echo "kunit: building UML with kernel/kunitconfig"
	(cd "$tree" && python3 tools/testing/kunit/kunit.py run \
		--kunitconfig "$top/kernel/kunitconfig" --build_dir "$bdir" \
		--jobs "$(nproc)" --make_options "CC=$cc" --timeout 600) \
		> "$log" 2>&1
	rc=$?
	vmerr=
else
	"$top/scripts/deps.sh" vm || exit 1
	echo "kunit: the debug kernel (build/vm/kernel-debug) with the suites built in"
	VARIANT=debug "$top/scripts/vm-kernel.sh" --if-stale || exit 1
	run=$top/build/vm/runs/kunit
	raw=$run/console.log
	rm -f "$raw"
	"$top/vm/run" --variant debug -t 900 -o "$run" -a kunit.enable=1 \
		--expect-warn "$expected_warns" "$top/vm/scenarios/kunit.sh" \
		> "$top/build/logs/kunit-vm.log" 2>&1
	vmrc=$?
	vmerr=
	[ "$vmrc" = 0 ] || vmerr="vm/run exited with status $vmrc"
	(cd "$tree" && python3 tools/testing/kunit/kunit.py parse "$raw") > "$log" 2>&1
	rc=$?
fi

sed -nE 's/^\[..:..:..\] //; /^(=+ |\[(PASSED|FAILED|CRASHED|SKIPPED)\]|    # .*(fail|FAIL))/p' \
	"$log"
summary=$(grep -E 'Testing complete\. Ran [0-9]+ tests' "$log" | tail -n 1)
echo "kunit: ${summary#*] }"

total=$(sed -nE 's/.*Ran ([0-9]+) tests.*/\1/p' <<<"$summary")
passed=$(sed -nE 's/.*passed: ([0-9]+).*/\1/p' <<<"$summary")
total=${total:-0}
passed=${passed:-0}
failed=$((total - passed))
skipped=$(sed -nE 's/.*skipped: ([0-9]+).*/\1/p' <<<"$summary")
failed=$((failed - ${skipped:-0}))

# vm/run already fails the run on a kernel report (other than the expected
# WARNs) and on a failed check in the guest; UML's log is checked here.
if [ -n "$vmerr" ]; then
	echo "kunit: the VM run failed, $vmerr (build/logs/kunit-vm.log):"
	grep -E '^(FAIL|---|vm: FAIL)' "$top/build/logs/kunit-vm.log" | head -20
	sed -n '/^--- kernel log splats/,$p' "$top/build/logs/kunit-vm.log" | sed -n '2,21p'
	failed=$((failed + 1))
fi
if [ "$mode" = uml ]; then
	bad=$(grep -E 'BUG: KASAN|UBSAN:|BUG:|possible (circular|recursive) locking|inconsistent lock state|suspicious RCU usage|sleeping function called from invalid context|Kernel panic' "$raw" 2>/dev/null || true)
	warns=$(grep -E 'WARNING: CPU: .* at ' "$raw" 2>/dev/null |
		grep -vE " at ([^ ]*/)?($expected_warns)" || true)
	if [ -n "$bad$warns" ]; then
		echo "kunit: unexpected kernel reports (see $raw):"
		printf '%s\n%s\n' "$bad" "$warns" | sed '/^$/d' | head -20
		failed=$((failed + 1))
	fi
fi
if [ "$rc" != 0 ] && [ "$failed" = 0 ]; then
	echo "kunit: kunit.py failed (exit $rc) without a failed case:"
	tail -20 "$log"
	failed=1
fi
if [ "$total" = 0 ]; then
	echo "kunit: no test ran"
	failed=$((failed + 1))
fi
echo "$passed passed, $failed failed"
[ "$failed" = 0 ]
