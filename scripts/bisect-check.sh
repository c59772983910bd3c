#!/bin/bash
# Prove that the series bisects: build every commit above the base under
# UML with the KUnit configuration (which compiles every handshake
# consumer). Builds are incremental from one commit to the next, in a
# separate worktree so that build/linux is left alone. Ends with
# "N passed, N failed" (one case per commit).
#
# The walk goes from the top of the series down. The top is what the
# KUnit suite has just built with the same configuration, so the first
# build is served whole by ccache; each later step recompiles only what
# one patch touched. Walking up instead, the first commit's configuration
# lacks the series' symbols, its autoconf.h differs from every cached
# object's, and on a cold cache that first step is a full kernel build.
set -uo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tree=$top/build/linux
# Laid out like build/linux and build/kunit (source at ../linux from the
# object directory) so that ccache, with its base directory at the top,
# serves the unchanged files from the KUnit build.
wt=$top/build/bisect/linux
bdir=$top/build/bisect/obj
export PATH=/usr/bin:/bin:$PATH
export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1

"$top/scripts/deps.sh" kernel kunit || exit 1
[ -d "$tree/.git" ] || "$top/scripts/kernel-tree.sh" || exit 1

if [ ! -e "$wt/.git" ]; then
	# Anything else there (an older layout's build output) is rebuilt
	rm -rf "$top/build/bisect" "$top/build/linux-bisect"
	git -C "$tree" worktree prune
	mkdir -p "$(dirname "$wt")"
	git -C "$tree" worktree add -q --detach "$wt" base || exit 1
fi
cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
mkdir -p "$bdir"

# One configuration for every commit: the KUnit one of the top of the
# series, as kunit.py makes it for UML (olddefconfig drops what an older
# commit does not define). Each commit's own arch_uml.config would differ
# below the patch that turns UBSAN's alignment check off: that changes
# every object's flags, and meant two full kernel builds on a cold cache.
{ git -C "$tree" show HEAD:tools/testing/kunit/configs/arch_uml.config &&
  cat "$top/kernel/kunitconfig"; } > "$bdir/config.series" || exit 1

passed=0 failed=0
for c in $(git -C "$tree" rev-list base..HEAD); do
	subj=$(git -C "$tree" log -1 --format=%s "$c")
	git -C "$wt" checkout -q --detach "$c" || exit 1
	cp "$bdir/config.series" "$bdir/.config"
	if make -s -C "$wt" ARCH=um O="$bdir" olddefconfig >/dev/null 2>&1 &&
	   make -s -C "$wt" ARCH=um O="$bdir" CC="$cc" -j"$(nproc)" \
		> "$bdir/build.log" 2>&1; then
		echo "ok   $subj"
		passed=$((passed + 1))
	else
		echo "FAIL $subj"
		grep -E 'error|Error' "$bdir/build.log" | head -10 | sed 's/^/  /'
		failed=$((failed + 1))
	fi
done
echo "$passed passed, $failed failed"
[ "$failed" = 0 ] && [ "$passed" -gt 0 ]
