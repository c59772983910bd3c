#!/bin/bash
# Prepare build/linux: Debian's linux-source-6.12 unpacked, committed as a
# base commit, and the series in kernel/ applied on top with git am.
# Idempotent: an existing tree whose base matches the installed package is
# left alone, except that patches missing from it are reported.
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
tree=$top/build/linux
pkg=linux-source-6.12
tarball=/usr/src/linux-source-6.12.tar.xz

"$top/scripts/deps.sh" kernel

pkgver=$(dpkg-query -W -f='${Version}' "$pkg")
if [ -d "$tree/.git" ]; then
	base=$(git -C "$tree" rev-list --max-parents=0 HEAD)
	have=$(git -C "$tree" log -1 --format=%b "$base" | sed -n 's/^Debian-Package-Version: //p')
	# Does the tree hold exactly the series in kernel/? (patch-ids)
	want=$(cd "$top/kernel" && grep -v '^#' series | xargs cat | git patch-id --stable | cut -d' ' -f1)
	got=$(git -C "$tree" log --reverse -p --format='commit %H' base..HEAD | git patch-id --stable | cut -d' ' -f1)
	if [ "$have" = "$pkgver" ] && [ "$want" = "$got" ]; then
		echo "build/linux is current (base: $pkg $have, $(grep -vc '^#' "$top/kernel/series") patches)"
		echo "kernel release: $(make -s -C "$tree" kernelversion)"
		exit 0
	fi
	if [ "${FORCE:-}" != 1 ]; then
		if [ "$have" != "$pkgver" ]; then
			echo "build/linux was made from $pkg $have; $pkgver is installed."
		else
			echo "build/linux's commits differ from the series in kernel/."
		fi
		echo "Export work you want to keep (make kernel-export), then remake it: make kernel-tree FORCE=1"
		exit 1
	fi
	echo "remaking build/linux"
	git -C "$tree" worktree list --porcelain | sed -n 's/^worktree //p' | tail -n +2 |
		while read -r w; do rm -rf "$w"; done
	rm -rf "$tree"
fi

rm -rf "$tree.tmp"
mkdir -p "$tree.tmp"
echo "unpacking $tarball"
tar -C "$tree.tmp" --strip-components=1 -xf "$tarball"
cd "$tree.tmp"
git init -q -b main
git config user.name "tls-session-tags"
git config user.email "tls-session-tags@localhost"
git config core.abbrev 12
# Debian's .gitignore ignores every top-level path (its packaging repo
# holds only debian/); drop that block so new files show up in git.
sed -i '/^# Debian packaging: ignore everything/,/^!\/debian\/$/d' .gitignore
sed -i '${/^#$/d}' .gitignore
git add -A -f .
release=$(make -s kernelversion)
git commit -q -m "Linux $release as shipped in Debian's $pkg" \
	-m "The Debian packaging block of .gitignore, which ignores every top-level
path, is removed so that new files are seen by git." \
	-m "Debian-Package-Version: $pkgver"
git tag base
cd "$top"
mv "$tree.tmp" "$tree"

if [ -s "$top/kernel/series" ]; then
	patches=()
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		patches+=("$top/kernel/$p")
	done < "$top/kernel/series"
	git -C "$tree" am -q --keep-cr "${patches[@]}"
fi
echo "build/linux ready: Linux $release ($pkg $pkgver), $(git -C "$tree" rev-list --count base..HEAD) patches applied"
