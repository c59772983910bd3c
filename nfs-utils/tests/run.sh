#!/bin/bash
# Host tests of the project's nfs-utils patches (nfs-utils/README.md):
# test_exports (option parsing, etab round trip, the probe's three
# answers against a fake kernel) and the ASan/UBSan exportfs binary on
# this host, which has no nfsd: in a private mount namespace with a tmpfs
# over the programs' runtime directory, so nothing of the host's is read
# or written. Ends with "N passed, N failed". Run as root.
set -uo pipefail

top=$(cd "$(dirname "$0")/../.." && pwd)
if [ "${1:-}" != --inside ]; then
	"$top/scripts/nfs-utils.sh" asan || { echo "0 passed, 1 failed"; exit 1; }
	make -s -C "$top/nfs-utils/tests" || { echo "0 passed, 1 failed"; exit 1; }
	mkdir -p /run/tls-session-tags
	exec unshare -m "$0" --inside
fi

passed=0 failed=0
ok()   { echo "ok   $*"; passed=$((passed + 1)); }
fail() { echo "FAIL $*"; failed=$((failed + 1)); }

# 1. The C tests: their own "N passed, N failed" adds to ours.
out=$("$top/build/nfs-utils/tests/test_exports" 2>&1)
rc=$?
printf '%s\n' "$out" | sed 's/^/  test_exports| /'
p=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\1/p' <<<"$out")
f=$(sed -n 's/^\([0-9]*\) passed, \([0-9]*\) failed$/\2/p' <<<"$out")
passed=$((passed + ${p:-0}))
failed=$((failed + ${f:-0}))
[ "$rc" = 0 ] || [ "${f:-0}" != 0 ] || fail "test_exports exited with status $rc (ASan/UBSan/LSan report above?)"

# 2. exportfs itself. The runtime directory the build was configured
#    with, on a tmpfs of this namespace only.
run=/run/tls-session-tags/nfs
mount -t tmpfs -o mode=755 nfs-test /run/tls-session-tags || { fail "tmpfs on /run/tls-session-tags"; exit 1; }
mkdir -p $run/state
e=$top/build/nfs-utils/asan/utils/exportfs/exportfs
srv=$(mktemp -d)
mkdir -p "$srv/open" "$srv/staff"
export ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=halt_on_error=1

# exportfs -ra with EXPORTS: status in $st, messages in $msg, etab in $etab
exportfs_ra() {
	printf '%s\n' "$1" >$run/exports
	msg=$("$e" -ra 2>&1)
	st=$?
	etab=$(cat $run/state/etab 2>/dev/null)
}

# Without nfsd (this host): a tagged entry is not exported, and says why.
exportfs_ra "$srv/open *(rw,fsid=1,xprtsec=mtls)
$srv/staff *(rw,fsid=2,xprtsec=mtls,allow_tags=example-staff:engineering)"
if [ "$st" != 0 ] && grep -q "not exporting \*:$srv/staff (allow_tags=example-staff:engineering): cannot write /proc/net/rpc/auth.unix.ip/channel" <<<"$msg" &&
   [ "$(grep -c . <<<"$msg")" = 1 ]; then
	ok "no nfsd: the tagged export is refused in one line, exit status $st"
else
	fail "no nfsd: status $st, messages: $msg"
fi
if grep -q "^$srv/open	" <<<"$etab" && ! grep -q staff <<<"$etab"; then
	ok "no nfsd: the etab holds the untagged export only"
else
	fail "no nfsd: etab is: $etab"
fi
if ! grep -q 'AddressSanitizer\|runtime error\|LeakSanitizer' <<<"$msg"; then
	ok "exportfs ran clean under ASan/UBSan/LSan"
else
	fail "sanitizer report: $msg"
fi

# An etab that already holds a tagged entry (written when the kernel
# enforced tags, say): exportfs -v shows it; -ra on this kernel drops it.
printf '%s\t*(rw,fsid=2,xprtsec=mtls,allow_tags=example-staff)\n' "$srv/staff" >$run/state/etab
v=$("$e" -v 2>&1 | tr -d '\n\t')	# long paths wrap onto a second line
if grep -q "^$srv/staff *<world>(.*xprtsec=mtls,allow_tags=example-staff)" <<<"$v"; then
	ok "exportfs -v shows allow_tags after xprtsec"
else
	fail "exportfs -v: $v"
fi
exportfs_ra "$srv/staff *(rw,fsid=2,xprtsec=mtls,allow_tags=example-staff)"
if [ "$st" != 0 ] && ! grep -q staff <<<"$etab"; then
	ok "a tagged etab entry is not carried over to a kernel that cannot enforce it"
else
	fail "stale tagged entry: status $st, etab: $etab"
fi

# Bad input: an error naming file and line, non-zero status, no export.
bad() {	# LABEL OPTIONS EXPECTED-MESSAGE
	exportfs_ra "$srv/open *(rw,fsid=1,xprtsec=mtls)
$srv/staff *($2)"
	if [ "$st" != 0 ] && grep -qF "$run/exports:2:" <<<"$msg" && grep -qF "$3" <<<"$msg" &&
	   ! grep -q staff <<<"$etab"; then
		ok "exportfs refuses $1 (file:line, status $st, not exported)"
	else
		fail "exportfs with $1: status $st, messages: $msg; etab: $etab"
	fi
}
bad "allow_tags without xprtsec" "rw,fsid=2,allow_tags=a" "requires xprtsec=mtls"
bad "allow_tags with xprtsec=tls" "rw,fsid=2,xprtsec=tls,allow_tags=a" "requires xprtsec=mtls"
bad "allow_tags with xprtsec=mtls:none" "rw,fsid=2,xprtsec=mtls:none,allow_tags=a" "requires xprtsec=mtls"
bad "an empty allow_tags" "rw,fsid=2,xprtsec=mtls,allow_tags=" "empty tag name"
bad "a duplicate tag" "rw,fsid=2,xprtsec=mtls,allow_tags=a:a" "listed twice"
bad "a bad character" "rw,fsid=2,xprtsec=mtls,allow_tags=a*" "character other than"
bad "65 tags" "rw,fsid=2,xprtsec=mtls,allow_tags=$(seq -s: -f 't%g' 1 65)" "more than 64 tags"
bad "a 256-byte tag" "rw,fsid=2,xprtsec=mtls,allow_tags=$(printf 'x%.0s' $(seq 1 256))" "longer than 255"

# exportfs -o: the same checks on the command line.
printf '' >$run/exports
msg=$("$e" -o rw,fsid=2,xprtsec=tls,allow_tags=a "*:$srv/staff" 2>&1)
st=$?
if [ "$st" != 0 ] && grep -q "requires xprtsec=mtls" <<<"$msg" && ! grep -q staff $run/state/etab; then
	ok "exportfs -o refuses allow_tags with xprtsec=tls"
else
	fail "exportfs -o: status $st, $msg"
fi

rm -rf "$srv"
echo "nfs-utils: $passed passed, $failed failed"
[ "$failed" = 0 ]
