#!/bin/bash
# Prove that the series bisects: build every commit above the base with
# the VM rig's debug configuration (vm/config/{base,debug,kunit}.config:
# every handshake consumer, NFS and NFSD, NVMe/TCP host and target, and
# the series' KUnit suites, with KASAN, UBSAN and lockdep). Builds are
# incremental from one commit to the next, in a separate worktree so that
# build/linux is left alone. Ends with "N passed, N failed" (one case per
# commit). Each commit builds vmlinux: every object compiled and linked;
# bzImage would only add compressing it.
#
# The walk goes from the top of the series down. The debug VM kernel
# (VARIANT=debug, built first if missing) is the top commit with the same
# configuration, laid out the same way (source at ../../linux from the
# object directory): ccache serves the whole first step, and each later
# step recompiles only what one patch touched. Going down, bisect can
# start as soon as the debug kernel is built (make check runs it beside
# the unpatched kernel's build, which compiles the base's files once for
# both). Each line gives the step's wall time.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tree=$top/build/linux
wt=$top/build/bisect/linux
bdir=$top/build/bisect/vm/kernel
export PATH=/usr/bin:/bin:$PATH
export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1

"$top/scripts/deps.sh" kernel vm || exit 1
[ -d "$tree/.git" ] || "$top/scripts/kernel-tree.sh" || exit 1
VARIANT=debug "$top/scripts/vm-kernel.sh" --if-stale || exit 1

if [ ! -e "$wt/.git" ]; then
	# Anything else there (an older layout's build output) is rebuilt
	rm -rf "$top/build/bisect" "$top/build/linux-bisect"
	git -C "$tree" worktree prune
	mkdir -p "$(dirname "$wt")"
	git -C "$tree" worktree add -q --detach "$wt" base || exit 1
fi
# An older layout's UML objects
rm -rf "$top/build/bisect/obj"
cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
mkdir -p "$bdir"

# One configuration for every commit: the top's, made as scripts/vm-kernel.sh
# makes it (olddefconfig then drops what an older commit does not define).
git -C "$wt" checkout -q --detach "$(git -C "$tree" rev-parse HEAD)" || exit 1
{
	make -s -C "$wt" ARCH=x86_64 O="$bdir" tinyconfig &&
	"$wt/scripts/kconfig/merge_config.sh" -m -O "$bdir" "$bdir/.config" \
		"$top/vm/config/base.config" "$top/vm/config/debug.config" \
		"$top/vm/config/kunit.config" &&
	make -s -C "$wt" ARCH=x86_64 O="$bdir" olddefconfig
} >"$bdir/config.log" 2>&1 || { tail -20 "$bdir/config.log"; echo "bisect: configuration failed"; exit 1; }
cp "$bdir/.config" "$bdir/config.series"

passed=0 failed=0
for c in $(git -C "$tree" rev-list base..HEAD); do
	subj=$(git -C "$tree" log -1 --format=%s "$c")
	t0=$(date +%s)
	git -C "$wt" checkout -q --detach "$c" || exit 1
	cp "$bdir/config.series" "$bdir/.config"
	if make -s -C "$wt" ARCH=x86_64 O="$bdir" olddefconfig >/dev/null 2>&1 &&
	   nice -n 19 make -s -C "$wt" ARCH=x86_64 O="$bdir" CC="$cc" \
		-j"$(nproc)" vmlinux > "$bdir/build.log" 2>&1; then
		echo "ok   $subj ($(($(date +%s) - t0)) s)"
		passed=$((passed + 1))
	else
		echo "FAIL $subj"
		grep -E 'error|Error' "$bdir/build.log" | head -10 | sed 's/^/  /'
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
