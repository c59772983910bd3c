#!/bin/bash
# vm/scenarios/nfs-bench.sh - runs inside the VM (make bench). What the
# allow_tags check costs NFS over kTLS: one client (alice, who earns
# example-staff) mounts two tmpfs exports of one server over the same
# mutual-TLS session, /tagged (allow_tags=example-staff) and /plain (the
# same options without allow_tags), and runs the same work on each in
# alternating rounds: sequential write and read of a file, and small-file
# create+stat. Prints the medians and, per kind, the median over rounds
# of the paired ratio (time without tags / time with them), so 1.00
# means no cost and the target is >= 0.99. Figures, not tests: the exit status only says
# whether the setup worked.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${VM_TOP:?run scenarios with vm/run}/vm/scenarios/lib.sh" || exit 1
# shellcheck source=nfs-lib.sh
. "$VM_TOP/vm/scenarios/nfs-lib.sh" || exit 1
rounds=${1:-15}
mib=${2:-8}
files=${3:-100}
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
median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# Per round, tagged and plain ran back to back: the ratio of the pair
# cancels the drift of a shared, emulated machine; report the median
# pair ratio and the middle half of them (quartiles).
ratios() {	# KIND: "median q1 q3" of plain/tagged time ratios
	paste -d' ' <(tr ' ' '\n' <<<"${t[plain-$1]}" | sed '/^$/d') \
		    <(tr ' ' '\n' <<<"${t[tagged-$1]}" | sed '/^$/d') |
		awk '{ printf "%.4f\n", $1 / $2 }' | sort -g |
		awk '{ v[NR] = $1 } END { printf "%s %s %s", v[int((NR + 1) / 2)], v[int((NR + 3) / 4)], v[int((3 * NR + 3) / 4)] }'
}
printf '%-28s %12s %12s %8s %15s\n' "NFS over kTLS (median)" "allow_tags" "no tags" "ratio" "middle half"
for k in write read; do
	tg=$(median <<<"${t[tagged-$k]}") pl=$(median <<<"${t[plain-$k]}")
	read -r rm r1 r3 <<<"$(ratios "$k")"
	awk -v k="$k" -v tg="$tg" -v pl="$pl" -v mib="$mib" -v rm="$rm" -v r1="$r1" -v r3="$r3" 'BEGIN {
		printf "%-28s %7.1f MB/s %7.1f MB/s %8.3f %7.3f-%.3f\n", "sequential " k " (" mib " MiB)",
			mib * 1048576 * 1000 / tg, mib * 1048576 * 1000 / pl, rm, r1, r3 }'
done
tg=$(median <<<"${t[tagged-small]}") pl=$(median <<<"${t[plain-small]}")
read -r rm r1 r3 <<<"$(ratios small)"
awk -v tg="$tg" -v pl="$pl" -v n="$files" -v rm="$rm" -v r1="$r1" -v r3="$r3" 'BEGIN {
	printf "%-28s %7.0f us/op %7.0f us/op %8.3f %7.3f-%.3f\n", "create+stat (" n " files)",
		tg / n / 1000, pl / n / 1000, rm, r1, r3 }'
echo "ratio: median over rounds of (time without tags / time with allow_tags);"
echo "1.000 = no cost, target >= 0.99; throughput columns are medians"
for n in tagged plain; do umount "/tmp/m-$n"; done
nfs_stop tagged plain >/dev/null
echo "nfs-bench: $fails failed"
[ "$fails" = 0 ]
