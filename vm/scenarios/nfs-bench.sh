#!/bin/bash
# vm/scenarios/nfs-bench.sh - runs inside the VM (make bench). What the
# allow_tags check costs NFS over kTLS: one client (alice, who earns
# example-staff) mounts two tmpfs exports of one server over the same
# mutual-TLS session, /tagged (allow_tags=example-staff) and /plain (the
# same options without allow_tags), and runs the same work on each in
# alternating rounds: sequential write and read of a file, and small-file
# create+stat. Prints the medians and the ratios tagged/plain (for
# throughput; plain/tagged for latency), so 1.00 means no cost and the
# target is >= 0.99. Figures, not tests: the exit status only says
# whether the setup worked.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${VM_TOP:?run scenarios with vm/run}/vm/scenarios/lib.sh" || exit 1
# shellcheck source=nfs-lib.sh
. "$VM_TOP/vm/scenarios/nfs-lib.sh" || exit 1
rounds=${1:-7}
mib=${2:-32}
files=${3:-200}
echo "kernel: $(uname -srv); $rounds rounds, $mib MiB files, $files small files"
nfs_binaries
nfs_pki >/dev/null
nfs_agent alice >/dev/null
nfs_tmpfs tagged plain
cat >"$run/exports" <<E
$srv         *(rw,fsid=0,no_subtree_check,no_root_squash,xprtsec=mtls)
$srv/tagged  *(rw,fsid=1,no_subtree_check,no_root_squash,xprtsec=mtls,allow_tags=example-staff)
$srv/plain   *(rw,fsid=2,no_subtree_check,no_root_squash,xprtsec=mtls)
E
nfs_server >/dev/null
mount_as - /tagged xprtsec=mtls /tmp/m-tagged
[ "$mst" = 0 ] || { fail "mount /tagged: $merr"; exit 1; }
mount_as - /plain xprtsec=mtls /tmp/m-plain
[ "$mst" = 0 ] || { fail "mount /plain: $merr"; exit 1; }
[ "$new_tls" = 0 ] && echo "both mounts share one TLS session" ||
	echo "note: the second mount made its own TLS session"

now() { date +%s%N; }
declare -A t
one_round() {	# NAME: write, read, small-file times (ns) appended to t[NAME-*]
	local m=/tmp/m-$1 a b
	rm -rf "$m/f" "$m/small"
	sync
	a=$(now)
	dd if=/dev/zero of="$m/f" bs=1M count="$mib" conv=fsync status=none
	b=$(now)
	t[$1-write]+="$((b - a)) "
	echo 3 >/proc/sys/vm/drop_caches
	a=$(now)
	dd if="$m/f" of=/dev/null bs=1M status=none
	b=$(now)
	t[$1-read]+="$((b - a)) "
	mkdir "$m/small"
	a=$(now)
	for i in $(seq 1 "$files"); do
		: >"$m/small/$i"
	done
	echo 3 >/proc/sys/vm/drop_caches
	stat "$m"/small/* >/dev/null
	b=$(now)
	t[$1-small]+="$((b - a)) "
}
one_round tagged	# warm-up, not counted
one_round plain
unset t
declare -A t
for r in $(seq 1 "$rounds"); do
	if [ $((r % 2)) = 1 ]; then one_round tagged; one_round plain
	else one_round plain; one_round tagged; fi
done
median() { tr ' ' '\n' | sed '/^$/d' | sort -n | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
printf '%-28s %12s %12s %8s\n' "NFS over kTLS (median)" "allow_tags" "no tags" "ratio"
for k in write read; do
	tg=$(median <<<"${t[tagged-$k]}") pl=$(median <<<"${t[plain-$k]}")
	awk -v k="$k" -v tg="$tg" -v pl="$pl" -v mib="$mib" 'BEGIN {
		printf "%-28s %9.1f MB/s %7.1f MB/s %8.3f\n", "sequential " k " (" mib " MiB)",
			mib * 1048576 * 1000 / tg, mib * 1048576 * 1000 / pl, pl / tg }'
done
tg=$(median <<<"${t[tagged-small]}") pl=$(median <<<"${t[plain-small]}")
awk -v tg="$tg" -v pl="$pl" -v n="$files" 'BEGIN {
	printf "%-28s %9.0f us/op %7.0f us/op %8.3f\n", "create+stat (" n " files)",
		tg / n / 1000, pl / n / 1000, pl / tg }'
echo "ratio: allow_tags relative to no tags (1.000 = no cost; target >= 0.99)"
for n in tagged plain; do umount "/tmp/m-$n"; done
nfs_stop tagged plain >/dev/null
echo "nfs-bench: $fails failed"
[ "$fails" = 0 ]
