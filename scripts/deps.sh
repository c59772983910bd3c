#!/bin/bash
# Install the Debian packages a part of the project needs, when missing.
# Usage: deps.sh PART...   (kernel, kunit, checkpatch, bench, agent, vm,
#                           nfs-utils)
set -euo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)

want=()
for part in "$@"; do
	case "$part" in
	kernel)	want+=(linux-source-6.12 git xz-utils make gcc flex bison bc
		       libelf-dev libssl-dev python3 perl) ;;
	kunit)	want+=(ccache) ;;
	checkpatch) want+=(python3-ply python3-git) ;;
	bench)	want+=(gcc make) ;;
	nfs-utils) want+=(dpkg-dev xz-utils git gcc make pkg-config libtirpc-dev
		       libblkid-dev libmount-dev libkeyutils-dev libevent-dev
		       libsqlite3-dev libcap-dev debian-archive-keyring) ;;
	vm)	want+=(qemu-system-x86 ccache coreutils util-linux kmod libmnl-dev
		       keyutils nvme-cli iproute2
		       pkg-config) ;;
	agent)	for f in "$top/agent/DEPENDS" "$top/agent/policy/DEPENDS"; do
			[ -f "$f" ] || continue
			while read -r p; do
				case "$p" in ''|'#'*) continue ;; esac
				want+=("$p")
			done < "$f"
		done ;;
	*)	echo "deps.sh: unknown part '$part'" >&2; exit 2 ;;
	esac
done

missing=()
for p in "${want[@]}"; do
	st=$(dpkg-query -W -f='${db:Status-Status}' "$p" 2>/dev/null || true)
	[ "$st" = installed ] || missing+=("$p")
done
[ ${#missing[@]} -eq 0 ] && exit 0

if [ "$(id -u)" != 0 ]; then
	echo "deps.sh: missing packages (run as root to install): ${missing[*]}" >&2
	exit 1
fi
echo "installing: ${missing[*]}"
export DEBIAN_FRONTEND=noninteractive
log=$(mktemp)
# One install at a time, also across clones running side by side (apt
# and dpkg refuse to wait for each other's locks).
exec 9>/var/lock/tls-session-tags-deps.lock
flock 9
if ! { apt-get update -qq && apt-get install -y -qq --no-install-recommends \
	-o DPkg::Lock::Timeout=600 "${missing[@]}"; } >"$log" 2>&1; then
	cat "$log" >&2
	rm -f "$log"
	echo "deps.sh: installing ${missing[*]} failed" >&2
	exit 1
fi
rm -f "$log"
