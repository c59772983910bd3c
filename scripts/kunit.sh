#!/bin/bash
# Build the series under UML with kernel/kunitconfig and run the KUnit
# suites. Fails on any failed or crashed case, and on any KASAN, UBSAN,
# lockdep or BUG report, or on a WARN outside the caller-bug paths that
# the tagset suite takes on purpose. Ends with "N passed, N failed".
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tree=$top/build/linux
bdir=$top/build/kunit
export PATH=/usr/bin:/bin:$PATH
# ccache's own cache directory, shared by every clone on the machine;
# paths under the clone are hashed relative to it so clones share hits.
export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1
mkdir -p "$top/build/logs"
log=$top/build/logs/kunit.log

"$top/scripts/deps.sh" kernel kunit || exit 1
[ -d "$tree/.git" ] || "$top/scripts/kernel-tree.sh" || exit 1

cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
echo "kunit: building UML with kernel/kunitconfig"
(cd "$tree" && python3 tools/testing/kunit/kunit.py run \
	--kunitconfig "$top/kernel/kunitconfig" --build_dir "$bdir" \
	--jobs "$(nproc)" --make_options "CC=$cc" --timeout 600) \
	> "$log" 2>&1
rc=$?

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

# Reports that need not fail a case by themselves. Two WARNs are
# expected: the tagset suite takes the caller-bug paths of lib/tagset.c
# on purpose, and UML's default KUnit configuration enables PCI over
# virtio without a device id, which WARNs once at boot (virt-pci.c).
raw=$bdir/test.log
bad=$(grep -E 'BUG: KASAN|UBSAN:|BUG:|possible (circular|recursive) locking|inconsistent lock state|suspicious RCU usage|sleeping function called from invalid context|Kernel panic' "$raw" 2>/dev/null || true)
warns=$(grep -E 'WARNING: CPU: .* at ' "$raw" 2>/dev/null |
	grep -vE ' at ([^ ]*/)?(lib/tagset\.c:[0-9]+ |arch/um/drivers/virt-pci\.c:[0-9]+ )' || true)
if [ -n "$bad$warns" ]; then
	echo "kunit: unexpected kernel reports (see $raw):"
	printf '%s\n%s\n' "$bad" "$warns" | sed '/^$/d' | head -20
	failed=$((failed + 1))
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
