#!/bin/bash
# Write build/linux's commits above the base back to kernel/: one
# git-format-patch file per commit, the series file, and the cover letter
# (made from kernel/cover-letter.txt with the series' shortlog and diffstat).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tree=$top/build/linux
out=$top/kernel

if [ ! -d "$tree/.git" ]; then
	echo "kernel-export: no build/linux; run 'make kernel-tree' first" >&2
	exit 1
fi
if [ -n "$(git -C "$tree" status --porcelain --untracked-files=no)" ]; then
	echo "kernel-export: build/linux has uncommitted changes; commit them first" >&2
	git -C "$tree" status --short --untracked-files=no >&2
	exit 1
fi
n=$(git -C "$tree" rev-list --count base..HEAD)
if [ "$n" = 0 ]; then
	echo "kernel-export: no commits above the base" >&2
	exit 1
fi

tmp=$(mktemp -d)
trap 'rm -rf "$tmp"' EXIT

# The cover letter states the release the series was built and tested
# on: the one build/linux's base commit was made from, never a literal.
base=$(git -C "$tree" rev-list --max-parents=0 HEAD)
pkgver=$(git -C "$tree" log -1 --format=%b "$base" | sed -n 's/^Debian-Package-Version: //p')
release=$(git -C "$tree" log -1 --format=%s "$base" | sed -n 's/^Linux \([^ ]*\) .*/\1/p')
if [ -z "$pkgver" ] || [ -z "$release" ]; then
	echo "kernel-export: build/linux's base commit does not name its Debian release" >&2
	exit 1
fi
tested="Debian's linux-source-6.12 $pkgver (Linux $release)"
branch=$(git -C "$tree" symbolic-ref --short HEAD)
git -C "$tree" config "branch.$branch.description" \
	"$(sed "s/@TESTED_ON@/$tested/" "$out/cover-letter.txt")"
git -C "$tree" format-patch -q --zero-commit --no-signature \
	--cover-letter --cover-from-description=subject \
	-o "$tmp" base..HEAD

rm -f "$out"/*.patch
cp "$tmp"/*.patch "$out"/
(
	echo "# Apply in this order with 'git am' (see scripts/kernel-tree.sh)"
	cd "$out" && ls [0-9][0-9][0-9][0-9]-*.patch | grep -v '^0000-'
) > "$out/series"
echo "kernel-export: $n patches written to kernel/ (tested on $tested)"
