#!/bin/bash
# The main job: build what is missing, boot the patched kernel under qemu
# with the agent, a test consumer (vm/module/tagtest.ko) and gnutls-cli
# clients of a test CA, and show which tags the kernel delivered for each
# client certificate and what a consumer that allows one tag decides.
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"
export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1 VARIANT=base
mkdir -p build/logs

scripts/deps.sh kernel agent vm || exit 1
[ -d build/linux/.git ] || scripts/kernel-tree.sh || exit 1
echo "demo: building what is missing (kernel tree, agent, VM kernel, test module)..."
{ make -s -C agent && scripts/vm-kernel.sh --if-stale &&
  make -s -C vm/module VARIANT=base; } > build/logs/demo-build.log 2>&1 || {
	tail -30 build/logs/demo-build.log
	echo "demo: build failed (build/logs/demo-build.log)"
	exit 1
}
echo "demo: booting the patched kernel under qemu and running vm/scenarios/tags.sh..."
vm/run --variant base vm/scenarios/tags.sh base > build/logs/demo.log 2>&1
rc=$?

echo
echo "tlstagd assigned tags to each client certificate by its tags.d policy;"
echo "the kernel validated them and handed them to the consumer's callback:"
echo
sed -n '/^allow_tags = /,/^$/p' build/logs/demo.log
grep -E '^  tlstagd\| tlstagd: kernel:' build/logs/demo.log | sed 's/^  tlstagd| //'
tail -n 1 build/logs/demo.log
if [ "$rc" != 0 ]; then
	echo "demo: the scenario failed; full output in build/logs/demo.log:"
	grep -E '^(FAIL|not ok)' build/logs/demo.log | head
	exit 1
fi
