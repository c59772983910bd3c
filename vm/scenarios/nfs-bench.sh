#!/bin/bash
# vm/scenarios/nfs-bench.sh - runs inside the VM (make bench, through
# scripts/bench-nfs.sh: vm/run --icount --smp 1 ... [ROUNDS [MIB [FILES]]],
# default 31 rounds, 8 MiB, 100 files; bench/README.md).
# What the allow_tags check costs NFS over kTLS: one client (alice, who
# earns example-staff) mounts two tmpfs exports of one server over the
# same mutual-TLS session, /tagged (allow_tags=example-staff) and /plain
# (the same options without allow_tags), and runs the same work on each in
# alternating rounds (nfs-bench-work.py, one process: sequential write and
# read of a file, small-file create+stat, each measurement started from
# settled caches). Prints the medians and, per kind, the paired ratio
# (time without tags / time with them) of each round: its median over the
# rounds, quartiles and the median's 95% confidence interval; 1.000 means
# no cost and the target is >= 0.99. Then a direct figure: how many times
# NFSD ran the export's xprtsec check (with allow_tags: the tag check) in
# one more, traced round per export, and how much work there is per
# check. Under vm/run --icount the guest's clock counts guest instructions
# and the figures say so. Figures, not tests: the exit status only says
# whether the setup worked. The raw measurements go to VM_OUT/times.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${VM_TOP:?run scenarios with vm/run}/vm/scenarios/lib.sh" || exit 1
# shellcheck source=nfs-lib.sh
. "$VM_TOP/vm/scenarios/nfs-lib.sh" || exit 1
rounds=${1:-31}
mib=${2:-8}
files=${3:-100}
work=$top/vm/scenarios/nfs-bench-work.py
# The clock's unit. vm/run --icount writes the -icount option to $out:
# with shift=N the guest's clocks advance 2^N ns per executed instruction.
icount=$(cat "$out/icount" 2>/dev/null)
shift_n=
[[ $icount =~ (^|,)shift=([0-9]+)(,|$) ]] && shift_n=${BASH_REMATCH[2]}
clk=$(cat /sys/devices/system/clocksource/clocksource0/current_clocksource 2>/dev/null)
echo "kernel: $(uname -srv); $(nproc) CPU; clocksource ${clk:-?}; $rounds rounds, $mib MiB files, $files small files"
if [ -n "$shift_n" ]; then
	echo "clock: qemu -icount $icount: guest time = executed guest instructions x $((1 << shift_n)) ns"
else
	echo "note: no instruction counting (vm/run --icount): guest time follows the host's TCG speed and load"
fi
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

# The timed rounds: "ROUND MOUNT KIND NS" lines.
sync
echo 3 >/proc/sys/vm/drop_caches
python3 "$work" time "$rounds" "$mib" "$files" /tmp/m-tagged /tmp/m-plain >/tmp/times ||
	{ fail "nfs-bench-work.py time"; exit 1; }
cp /tmp/times "$out/times"	# the raw figures, kept with the run
declare -A t
while read -r _ name kind ns; do
	t[$name-$kind]+="$ns "
done </tmp/times
[ "$(wc -l </tmp/times)" = $((rounds * 6)) ] ||
	{ fail "nfs-bench-work.py printed $(wc -l </tmp/times) lines, not $((rounds * 6))"; exit 1; }

median() { tr ' ' '\n' | sed '/^$/d' | sort -g | awk '{ v[NR] = $1 } END { print v[int((NR + 1) / 2)] }'; }
# Per round, tagged and plain ran back to back: the ratio of the pair
# cancels what drifts during the run; report the median pair ratio, the
# middle half of them (quartiles: how much one round's ratio varies) and
# a 95% confidence interval of the median (how well the median is known:
# the order statistics k and n+1-k, k the largest with P(Binomial(n,
# 1/2) < k) <= 2.5%; none below 6 rounds).
ratios() {	# KIND: "median q1 q3 lo hi" of plain/tagged time ratios
	paste -d' ' <(tr ' ' '\n' <<<"${t[plain-$1]}" | sed '/^$/d') \
		    <(tr ' ' '\n' <<<"${t[tagged-$1]}" | sed '/^$/d') |
		awk '{ printf "%.4f\n", $1 / $2 }' | sort -g |
		awk '{ v[NR] = $1 } END {
			n = NR; k = 0; p = 0; c = 1
			for (i = 0; i < n; i++) {	# p = P(X <= i), c = C(n, i)
				p += c / 2 ^ n
				if (p > 0.025)
					break
				k = i + 1
				c = c * (n - i) / (i + 1)
			}
			lo = k ? v[k] : "-"; hi = k ? v[n + 1 - k] : "-"
			printf "%s %s %s %s %s", v[int((n + 1) / 2)], v[int((n + 3) / 4)], v[int((3 * n + 3) / 4)], lo, hi }'
}
# Units: guest instructions under icount (time / 2^shift), else ns.
if [ -n "$shift_n" ]; then
	div=$((1 << shift_n)) bw=MB/Gi op=Ki/op
else
	div=1 bw=MB/s op=us/op
fi
label() {	# KIND: the row's label
	case $1 in
	write|read) echo "sequential $1 ($mib MiB)" ;;
	small) echo "create+stat ($files files)" ;;
	esac
}
declare -A med
printf '%-28s %13s %13s %7s %13s %13s\n' "NFS over kTLS, $rounds rounds" "allow_tags" "no tags" "ratio" "middle half" "95% CI"
for k in write read small; do
	tg=$(median <<<"${t[tagged-$k]}") pl=$(median <<<"${t[plain-$k]}")
	med[$k]=$tg
	read -r rm r1 r3 rlo rhi <<<"$(ratios "$k")"
	# write/read: MB (10^6 bytes) per 10^9 instructions (or per second);
	# small: 10^3 instructions (or microseconds) per file.
	awk -v l="$(label "$k")" -v k="$k" -v tg="$tg" -v pl="$pl" -v div="$div" \
	    -v bytes=$((mib * 1048576)) -v n="$files" -v bw="$bw" -v op="$op" \
	    -v rm="$rm" -v r1="$r1" -v r3="$r3" -v rlo="$rlo" -v rhi="$rhi" 'BEGIN {
		ci = rlo == "-" ? sprintf("%13s", "-") : sprintf("%7.3f-%.3f", rlo, rhi)
		if (k == "small")
			printf "%-28s %7.1f %-5s %7.1f %-5s %7.3f %7.3f-%.3f %s\n", l,
				tg / div / n / 1000, op, pl / div / n / 1000, op, rm, r1, r3, ci
		else
			printf "%-28s %7.1f %-5s %7.1f %-5s %7.3f %7.3f-%.3f %s\n", l,
				bytes * 1000 / (tg / div), bw, bytes * 1000 / (pl / div), bw, rm, r1, r3, ci
	}'
done
echo "ratio: per round, time without tags / time with allow_tags; the median over"
echo "rounds, the middle half of the rounds (quartiles), and the 95% confidence"
echo "interval of the median. 1.000 = no cost, target >= 0.99"
if [ -n "$shift_n" ]; then
	echo "units: guest virtual time (qemu -icount shift=$shift_n), counted in guest"
	echo "instructions, all CPUs, kernel and user, plus idle time up to the next"
	echo "guest timer; Gi = 10^9 of them, Ki = 10^3; MB = 10^6 bytes. Medians."
else
	echo "units: guest clock, which under TCG without --icount follows host time. Medians."
fi

# The direct figure: how often NFSD decides the export's xprtsec policy
# (on /tagged, each decision runs the tag check, tagset_intersection()):
# one more round per export with nfsd's tracepoints on.
if python3 "$work" count "$mib" "$files" tagged=/tmp/m-tagged plain=/tmp/m-plain \
	>/tmp/counts 2>/tmp/counts.err; then
	declare -A c
	notes=
	while read -r name kind n err lost; do
		c[$name-$kind]=$n
		[ "$err" = 0 ] || notes+=" $name $kind: $err fh_verify failures;"
		[ "$lost" = 0 ] || notes+=" $name $kind: $lost trace events lost;"
	done </tmp/counts
	unit=instr
	[ -n "$shift_n" ] || unit=ns
	printf '%-28s %13s %13s %13s %13s\n' "NFSD tag checks, one round" "allow_tags" "no tags" "$unit/check" "1% of that"
	for k in write read small; do
		awk -v l="$(label "$k")" -v n="${c[tagged-$k]}" -v p="${c[plain-$k]}" \
		    -v tg="${med[$k]}" -v div="$div" 'BEGIN {
			if (n > 0)
				printf "%-28s %13d %13d %13.0f %13.0f\n", l, n, p, tg / div / n, tg / div / n / 100
			else
				printf "%-28s %13d %13d %13s %13s\n", l, n, p, "-", "-"
		}'
	done
	echo "checks: xprtsec policy decisions in one more round per export (nfsd"
	echo "tracepoints: fh_verify, and the compound's check after PUTFH-like ops);"
	echo "with allow_tags each one runs tagset_intersection(), without it only the"
	echo "emptiness test. $unit/check: the median allow_tags time above over those"
	echo "checks. A check must cost more than '1% of that' to slow the work by 1%."
	[ -z "$notes" ] || echo "note:${notes%;}"
else
	echo "note: no tag-check count: $(tail -n 1 /tmp/counts.err)"
fi
echo "(end of figures)"
for n in tagged plain; do umount "/tmp/m-$n"; done
nfs_stop tagged plain >/dev/null
echo "nfs-bench: $fails failed"
[ "$fails" = 0 ]
