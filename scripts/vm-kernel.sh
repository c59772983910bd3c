#!/bin/bash
# Build the VM rig's x86_64 kernel (bzImage) from build/linux.
#   VARIANT=base  (default) vm/config/base.config            -> build/vm/kernel
#   VARIANT=debug base.config + debug.config + kunit.config  -> build/vm/kernel-debug
#   VARIANT=notags the debug fragments, from the unpatched tree -> build/notags/vm/kernel
#     (build/notags/linux: a detached worktree of build/linux at tag
#     "base", created when missing; fragment options whose symbol does
#     not exist there, e.g. CONFIG_TAGSET, are dropped first)
# The notags kernel has the debug kernel's configuration and its layout
# (source at ../../linux from the object directory), so that ccache
# serves it every object whose preprocessed source the series leaves
# alone: the unpatched kernel costs the preprocessor, not a second full
# build. scripts/bisect-check.sh uses the same layout to start from the
# debug kernel's objects.
# tinyconfig, then the fragments merged with merge_config.sh -m, then
# olddefconfig; fails, naming them, if any requested option did not make it
# into the final .config. Prints the time taken.
# --if-stale: do nothing when the bzImage was built from build/linux's
# current HEAD with the current fragments (make vm-smoke uses it).
set -euo pipefail
if_stale=0
[ "${1:-}" = --if-stale ] && if_stale=1

top=$(cd "$(dirname "$0")/.." && pwd)
tree=$top/build/linux
variant=${VARIANT:-base}
case "$variant" in
base)	out=$top/build/vm/kernel
	frags=("$top/vm/config/base.config") ;;
debug)	out=$top/build/vm/kernel-debug
	frags=("$top/vm/config/base.config" "$top/vm/config/debug.config"
	       "$top/vm/config/kunit.config") ;;
notags)	out=$top/build/notags/vm/kernel
	tree=$top/build/notags/linux
	frags=("$top/vm/config/base.config" "$top/vm/config/debug.config"
	       "$top/vm/config/kunit.config") ;;
*)	echo "vm-kernel: unknown VARIANT '$variant' (base, debug or notags)" >&2; exit 2 ;;
esac
jobs=${JOBS:-$(nproc)}
export PATH=/usr/bin:/bin:$PATH
# ccache's default cache directory; paths hashed relative to the clone.
export CCACHE_BASEDIR=$top CCACHE_NOHASHDIR=1

"$top/scripts/deps.sh" kernel vm
# One build of a variant at a time (make check's lanes may both ask)
mkdir -p "$(dirname "$out")"
exec 8>"$out.lock"
flock 8
notags_dropped=()
if [ "$variant" = notags ]; then
	[ -d "$top/build/linux/.git" ] || "$top/scripts/kernel-tree.sh"
	# The older layout (build/linux-notags, build/vm/kernel-notags)
	if [ -e "$top/build/linux-notags/.git" ] || [ -d "$top/build/vm/kernel-notags" ]; then
		echo "vm-kernel: removing the older notags layout (build/linux-notags, build/vm/kernel-notags)"
		git -C "$top/build/linux" worktree remove --force "$top/build/linux-notags" 2>/dev/null || true
		rm -rf "$top/build/linux-notags" "$top/build/vm/kernel-notags" "$top/build/vm/kernel-notags.lock"
		git -C "$top/build/linux" worktree prune
	fi
	if [ ! -e "$tree/.git" ]; then
		echo "vm-kernel: worktree ${tree#"$top"/} at tag base"
		mkdir -p "$(dirname "$tree")"
		git -C "$top/build/linux" worktree add -q --detach "$tree" base || {
			echo "vm-kernel: cannot add the worktree (a stale registration? git -C build/linux worktree prune)" >&2
			exit 1
		}
	fi
	# The unpatched kernel lacks the series' symbols: keep only the
	# fragment lines whose symbol some Kconfig file defines.
	mkdir -p "$out"
	syms=$(grep -rhoE --include='Kconfig*' '^[[:space:]]*(menu)?config[[:space:]]+[A-Za-z0-9_]+' "$tree" |
		awk '{ print "CONFIG_" $2 }' | sort -u)
	filtered=() notags_dropped=()
	for f in "${frags[@]}"; do
		nf=$out/$(basename "$f" .config).notags.config
		while IFS= read -r line; do
			sym=
			case "$line" in
			CONFIG_*=*)	sym=${line%%=*} ;;
			"# CONFIG_"*" is not set") sym=${line#\# }; sym=${sym%% *} ;;
			esac
			if [ -n "$sym" ] && ! grep -qxF -- "$sym" <<<"$syms"; then
				notags_dropped+=("$line")
				continue
			fi
			printf '%s\n' "$line"
		done <"$f" >"$nf"
		filtered+=("$nf")
	done
	frags=("${filtered[@]}")
else
	[ -d "$tree/.git" ] || "$top/scripts/kernel-tree.sh"
fi

stamp() {
	git -C "$tree" rev-parse HEAD
	git -C "$tree" --no-optional-locks status --porcelain --untracked-files=no | sha256sum
	cat "${frags[@]}" | sha256sum
}
if [ "$if_stale" = 1 ] && [ -f "$out/arch/x86/boot/bzImage" ] &&
   [ "$(stamp)" = "$(cat "$out/.vm-stamp" 2>/dev/null)" ]; then
	exit 0
fi
rm -f "$out/.vm-stamp"

cc=gcc
command -v ccache >/dev/null && cc="ccache gcc"
mkdir -p "$out" "$top/build/logs"
log=$top/build/logs/vm-kernel-$variant.log
start=$(date +%s)
kmake() {
	nice -n 19 make -C "$tree" O="$out" ARCH=x86_64 CC="$cc" "$@"
}

echo "vm-kernel: $variant kernel in ${out#"$top"/} (log ${log#"$top"/})"
for line in "${notags_dropped[@]}"; do
	echo "vm-kernel: notags: dropped $line (no such symbol in the base tree)"
done
{
	kmake tinyconfig
	"$tree/scripts/kconfig/merge_config.sh" -m -O "$out" "$out/.config" \
		"${frags[@]}"
	kmake olddefconfig
} >"$log" 2>&1 || { tail -n 30 "$log" >&2; echo "vm-kernel: configuration failed" >&2; exit 1; }

# Every option a fragment asks for must be in the final .config as asked.
dropped=()
for f in "${frags[@]}"; do
	while IFS= read -r line; do
		case "$line" in
		CONFIG_*=*)
			grep -qxF -- "$line" "$out/.config" ||
				dropped+=("$line (have: $(grep -E "^(# )?${line%%=*}[= ]" "$out/.config" || echo unset))") ;;
		"# CONFIG_"*" is not set")
			sym=${line#\# }; sym=${sym%% *}
			if grep -qE "^$sym=" "$out/.config"; then
				dropped+=("$line (have: $(grep -E "^$sym=" "$out/.config"))")
			fi ;;
		esac
	done < "$f"
done
if [ ${#dropped[@]} -gt 0 ]; then
	echo "vm-kernel: options requested but not in the final .config:" >&2
	printf '  %s\n' "${dropped[@]}" >&2
	exit 1
fi

if ! kmake -j"$jobs" bzImage >>"$log" 2>&1; then
	grep -E 'error|Error' "$log" | head -n 20 >&2
	echo "vm-kernel: build failed, see ${log#"$top"/}" >&2
	exit 1
fi
ln -sf arch/x86/boot/bzImage "$out/bzImage"
stamp >"$out/.vm-stamp"
end=$(date +%s)
echo "vm-kernel: $(make -s -C "$tree" O="$out" kernelrelease 2>/dev/null) -> ${out#"$top"/}/bzImage ($(du -k "$out/arch/x86/boot/bzImage" | cut -f1) KiB) in $((end - start)) s"
