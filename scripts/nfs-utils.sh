#!/bin/bash
# The project's nfs-utils (nfs-utils/README.md): Debian's source package,
# pinned in nfs-utils/source.conf, with the patches in nfs-utils/patches
# applied as git commits, built in build/nfs-utils/src. Nothing is
# installed: the binaries run from there.
#
#   nfs-utils.sh tree     fetch (once), unpack, apply the series
#   nfs-utils.sh build    tree, then configure (once) and make
#   nfs-utils.sh asan     build, and the same again with ASan + UBSan in
#                         build/nfs-utils/asan (for nfs-utils/tests)
#   nfs-utils.sh export   write build/nfs-utils/src's commits back to
#                         nfs-utils/patches (format-patch files + series)
#
# The tree is remade only with FORCE=1 when its commits differ from the
# series (work in it is not thrown away silently).
set -euo pipefail

top=$(cd "$(dirname "$0")/.." && pwd)
nu=$top/build/nfs-utils
src=$nu/src
dl=$nu/dl
# shellcheck source=../nfs-utils/source.conf
. "$top/nfs-utils/source.conf"
upver=${version#*:}	# 2.8.3-1
upver=${upver%-*}	# 2.8.3
dsc=${pkg}_${version#*:}.dsc
orig=${pkg}_$upver.orig.tar.xz
deb=${pkg}_${version#*:}.debian.tar.xz
# Runtime paths of the built programs: the host's /etc and /var/lib/nfs
# are never read or written.
rundir=/run/tls-session-tags/nfs

# Only what an NFSv4 server and client with TLS need: no GSS, no pNFS
# block layout, no LDAP, no nfsdcld (the VM runs nfsd without client
# tracking), no junctions.
conf=(--disable-gss --disable-nfsv41 --disable-nfsdcld --disable-nfsdctl
	--disable-junction --disable-ldap --without-tcp-wrappers
	--disable-nfsrahead --disable-shared
	--with-statedir=$rundir/state --with-nfsconfig=$rundir/nfs.conf
	--with-mountfile=$rundir/nfsmount.conf)
cppflags="-D_PATH_EXPORTS=\\\"$rundir/exports\\\" -D_PATH_EXPORTS_D=\\\"$rundir/exports.d\\\""

say() { echo "nfs-utils: $*"; }

verify() {	# FILE SHA256
	[ -f "$dl/$1" ] && [ "$(sha256sum "$dl/$1" | cut -d' ' -f1)" = "$2" ]
}

fetch() {
	if verify "$dsc" "$sha256_dsc" && verify "$orig" "$sha256_orig" &&
	   verify "$deb" "$sha256_debian"; then
		return 0
	fi
	say "fetching Debian source package $pkg $version (apt-get source)"
	local apt=$nu/apt
	rm -rf "$apt" "$dl.tmp"
	mkdir -p "$apt/lists/partial" "$apt/cache/archives/partial" "$dl.tmp"
	# apt reads .sources files from a directory (Dir::Etc::SourceParts)
	mkdir -p "$apt/sources"
	cp "$top/nfs-utils/debian-src.sources" "$apt/sources/"
	local opts=(-o Dir::Etc::SourceList=/dev/null
		-o Dir::Etc::SourceParts="$apt/sources"
		-o Dir::State::Lists="$apt/lists" -o Dir::Cache="$apt/cache"
		-o APT::Sandbox::User=root -o Debug::NoLocking=1)
	if ! apt-get "${opts[@]}" update -qq >"$apt/update.log" 2>&1; then
		cat "$apt/update.log" >&2
		say "apt-get update of nfs-utils/debian-src.sources failed" >&2
		exit 1
	fi
	if ! (cd "$dl.tmp" && apt-get "${opts[@]}" source --download-only \
		"$pkg=$version") >"$apt/source.log" 2>&1; then
		cat "$apt/source.log" >&2
		say "cannot fetch $pkg $version; if Debian replaced it, update nfs-utils/source.conf (version and checksums)" >&2
		exit 1
	fi
	rm -rf "$dl"
	mv "$dl.tmp" "$dl"
	verify "$dsc" "$sha256_dsc" || { say "$dsc: checksum differs from nfs-utils/source.conf" >&2; exit 1; }
	verify "$orig" "$sha256_orig" || { say "$orig: checksum differs from nfs-utils/source.conf" >&2; exit 1; }
	verify "$deb" "$sha256_debian" || { say "$deb: checksum differs from nfs-utils/source.conf" >&2; exit 1; }
}

series_files() {
	local p
	while read -r p; do
		case "$p" in ''|'#'*) continue ;; esac
		echo "$top/nfs-utils/patches/$p"
	done <"$top/nfs-utils/patches/series"
}

tree() {
	if [ -d "$src/.git" ]; then
		local have want got
		have=$(git -C "$src" log -1 --format=%b base | sed -n 's/^Debian-Package-Version: //p')
		want=$(series_files | xargs -r cat | git patch-id --stable | cut -d' ' -f1)
		got=$(git -C "$src" log --reverse -p --format='commit %H' base..HEAD | git patch-id --stable | cut -d' ' -f1)
		if [ "$have" = "$version" ] && [ "$want" = "$got" ]; then
			return 0
		fi
		if [ "${FORCE:-}" != 1 ]; then
			say "build/nfs-utils/src differs from nfs-utils/patches (or from $version)."
			say "Export work you want to keep (make nfs-utils-export), then: make nfs-utils FORCE=1"
			exit 1
		fi
		say "remaking build/nfs-utils/src"
		rm -rf "$src"
	fi
	fetch
	rm -rf "$src.tmp"
	# dpkg-source checks the .dsc's checksums and applies Debian's own
	# patches (debian/patches); ours go on top as commits.
	(cd "$dl" && dpkg-source -q -x "$dsc" "$src.tmp") >"$nu/unpack.log" 2>&1 ||
		{ cat "$nu/unpack.log" >&2; say "dpkg-source -x $dsc failed" >&2; exit 1; }
	cd "$src.tmp"
	git init -q -b main
	git config user.name "tls-session-tags"
	git config user.email "tls-session-tags@localhost"
	git add -A -f .
	git commit -q -m "nfs-utils $version: Debian's source package, its patches applied" \
		-m "Debian-Package-Version: $version"
	git tag base
	cd "$top"
	mv "$src.tmp" "$src"
	local patches=()
	mapfile -t patches < <(series_files)
	[ ${#patches[@]} -eq 0 ] || git -C "$src" am -q "${patches[@]}"
	say "build/nfs-utils/src ready: $pkg $version + ${#patches[@]} patches"
}

build() {
	tree
	cd "$src"
	if [ ! -f Makefile ] || [ "$(cat .configured 2>/dev/null)" != "$top" ]; then
		say "configuring (log: build/nfs-utils/configure.log)"
		./configure "${conf[@]}" CPPFLAGS="$cppflags" \
			>"$nu/configure.log" 2>&1 ||
			{ tail -20 "$nu/configure.log"; say "configure failed"; exit 1; }
		# configure rewrites a few tracked files (systemd units with
		# the state directory): keep them out of git's way
		git ls-files -m | xargs -r git update-index --skip-worktree
		echo "$top" >.configured
	fi
	# make is incremental (an up-to-date tree takes under a second)
	make -j"$(nproc)" >"$nu/make.log" 2>&1 ||
		{ grep -E 'error|Error' "$nu/make.log" | head -20; say "make failed"; exit 1; }
	say "built: exportfs, rpc.mountd, rpc.nfsd, mount.nfs in build/nfs-utils/src/utils"
}

# The same tree built again with ASan and UBSan, for the host tests
# (nfs-utils/tests): build/nfs-utils/asan, a copy of src's files.
build_asan() {
	build
	local asan=$nu/asan
	if [ ! -f "$asan/.configured" ] || [ "$(cat "$asan/.configured")" != "$(git -C "$src" rev-parse HEAD)" ]; then
		say "configuring the ASan/UBSan build (log: build/nfs-utils/configure-asan.log)"
		rm -rf "$asan"
		mkdir -p "$asan"
		git -C "$src" archive HEAD | tar -C "$asan" -x
		(cd "$asan" && ./configure "${conf[@]}" \
			CFLAGS="-g -O1 -fno-omit-frame-pointer -fsanitize=address,undefined -fno-sanitize-recover=undefined" \
			LDFLAGS="-fsanitize=address,undefined" \
			CPPFLAGS="$cppflags") >"$nu/configure-asan.log" 2>&1 ||
			{ tail -20 "$nu/configure-asan.log"; say "configure (ASan) failed"; exit 1; }
		git -C "$src" rev-parse HEAD >"$asan/.configured"
	fi
	make -C "$asan" -j"$(nproc)" >"$nu/make-asan.log" 2>&1 ||
		{ grep -E 'error|Error' "$nu/make-asan.log" | head -20; say "make (ASan) failed"; exit 1; }
}

export_series() {
	[ -d "$src/.git" ] || { say "no build/nfs-utils/src"; exit 1; }
	rm -f "$top"/nfs-utils/patches/[0-9][0-9][0-9][0-9]-*.patch
	git -C "$src" format-patch -q --no-signature --zero-commit -N \
		-o "$top/nfs-utils/patches" base..HEAD
	(cd "$top/nfs-utils/patches" && ls [0-9][0-9][0-9][0-9]-*.patch 2>/dev/null) \
		>"$top/nfs-utils/patches/series" || true
	say "exported $(wc -l <"$top/nfs-utils/patches/series") patches to nfs-utils/patches"
}

case "${1:-build}" in
tree)	"$top/scripts/deps.sh" nfs-utils; tree ;;
build)	"$top/scripts/deps.sh" nfs-utils; build ;;
asan)	"$top/scripts/deps.sh" nfs-utils; build_asan ;;
export)	export_series ;;
*)	echo "usage: nfs-utils.sh tree|build|export" >&2; exit 2 ;;
esac
