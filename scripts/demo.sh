#!/bin/bash
# The main job. Until the VM rig exists (see README), the demo builds the
# patched kernel under UML and runs its KUnit suites, then shows what each
# suite covered in a table.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

scripts/kunit.sh > build/demo-kunit.out 2>&1
rc=$?
log=build/logs/kunit.log

echo
echo "Session tags, kernel side: KUnit under UML (KASAN, UBSAN, lockdep)"
echo
printf '%-34s %7s %7s\n' "suite" "passed" "failed"
printf '%-34s %7s %7s\n' "-----" "------" "------"
python3 - "$log" <<'PY'
import re, sys
suite = None
counts = {}
order = []
for line in open(sys.argv[1], errors="replace"):
    line = re.sub(r'^\[..:..:..\] ', '', line.rstrip())
    m = re.match(r'^=+ (.+?) \(\d+ subtests?\) =+$', line)
    if m:
        suite = m.group(1)
        if suite not in counts:
            counts[suite] = [0, 0]
            order.append(suite)
        continue
    m = re.match(r'^\[(PASSED|FAILED|CRASHED)\] (.+)$', line)
    if m and suite and m.group(2) != suite:
        counts[suite][0 if m.group(1) == "PASSED" else 1] += 1
for s in order:
    print(f"{s:34s} {counts[s][0]:7d} {counts[s][1]:7d}")
PY
echo
tail -n 1 build/demo-kunit.out
if [ "$rc" != 0 ]; then
	echo "demo: KUnit failed; details in build/logs/kunit.log"
	exit 1
fi
echo
echo "The tags library against an rbtree (make bench for the full table):"
make -s -C bench/tagset run 2>/dev/null | tail -n +2
