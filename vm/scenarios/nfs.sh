#!/bin/bash
# vm/scenarios/nfs.sh - runs inside the VM (vm/run vm/scenarios/nfs.sh
# VARIANT [check|demo]). A real NFSv4.2 server and client over mutual TLS,
# on one machine: tmpfs exports (a pseudo-root and two exports with
# allow_tags), the project's nfs-utils (build/nfs-utils/src: exportfs,
# rpc.mountd, rpc.nfsd, mount.nfs), and tlstagd serving both the
# client's and the server's handshakes. mount.nfs -o vers=4.2,xprtsec=mtls
# against 127.0.0.1 as several client certificates in turn (tlstagd's
# client certificate is switched with SIGHUP, and each mount is checked
# to make a new TLS session). On the patched kernel the export is
# granted exactly to the clients whose certificates earned one of its
# tags; on the unpatched one (notags) exportfs and mountd refuse to
# export the tagged entries at all. Prints "TABLE|subject|tags|export|result"
# rows for the demo. Exit status 0 when every check passed.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${VM_TOP:?run scenarios with vm/run}/vm/scenarios/lib.sh" || exit 1
# shellcheck source=nfs-lib.sh
. "$VM_TOP/vm/scenarios/nfs-lib.sh" || exit 1
variant=${1:-$(kernel_variant)}
tracing=/sys/kernel/tracing
echo "kernel: $(uname -srv) ($variant)"
nfs_binaries
check_kernel_release
patched=1
[ "$variant" = notags ] && patched=0

# 1. Test PKI: the server (valid for 127.0.0.1), clients earning
#    engineering+example-staff+nfs-clients (alice), example-staff (bob),
#    nothing (nobody), and one from an untrusted CA (mallory).
nfs_pki

# 2. tlstagd, presenting alice's certificate for the NFS client first.
nfs_agent alice

# 3. Tracing: the kernel's own record of each tag denial.
mounted $tracing || mount -t tracefs tracefs $tracing 2>/dev/null
denied_ev=$tracing/events/nfsd/nfsd_export_tags_denied
if [ "$patched" = 1 ]; then
	if [ -w "$denied_ev/enable" ]; then
		echo 1 >"$denied_ev/enable"
		echo >$tracing/trace
		ok "tracepoint nfsd:nfsd_export_tags_denied enabled"
	else
		fail "no tracepoint nfsd:nfsd_export_tags_denied"
	fi
fi

# 4. The server: tmpfs exports, nfsd filesystem, mountd (NFSv4 only: no
#    rpcbind), nfsd with a short grace period.
nfs_tmpfs staff eng
echo "for example-staff only" >"$srv/staff/secret"
echo "for engineering only" >"$srv/eng/secret"
cat >"$run/exports" <<EOF
$srv        *(ro,fsid=0,no_subtree_check,no_root_squash,xprtsec=mtls)
$srv/staff  *(rw,fsid=1,no_subtree_check,no_root_squash,xprtsec=mtls,allow_tags=example-staff)
$srv/eng    *(rw,fsid=2,no_subtree_check,no_root_squash,xprtsec=mtls,allow_tags=engineering)
EOF
nfs_server
if [ "$patched" = 1 ]; then
	[ "$xst" = 0 ] && [ -z "$xout" ] && ok "exportfs -ra: three exports, no complaint" ||
		fail "exportfs -ra: status $xst: $xout"
	[ "$(grep -c 'allow_tags=' <<<"$etab")" = 2 ] &&
		ok "etab holds both allow_tags exports" || fail "etab: $etab"
else
	n=$(grep -c "does not enforce allow_tags" <<<"$xout")
	[ "$xst" != 0 ] && [ "$n" = 2 ] && [ "$(grep -c . <<<"$xout")" = 2 ] &&
		ok "exportfs -ra refuses both allow_tags exports, one line each (status $xst)" ||
		fail "exportfs -ra on the unpatched kernel: status $xst: $xout"
	sed 's/^/  exportfs| /' <<<"$xout"
	grep -q "^$srv	" <<<"$etab" && ! grep -q 'staff\|eng' <<<"$etab" &&
		ok "etab holds only the untagged pseudo-root" || fail "etab: $etab"
fi
xv=$("$exportfs" -v 2>&1 | tr -d '\n\t')
if [ "$patched" = 1 ]; then
	grep -q "$srv/staff *<world>(.*xprtsec=mtls,allow_tags=example-staff)" <<<"$xv" &&
	grep -q "$srv/eng *<world>(.*xprtsec=mtls,allow_tags=engineering)" <<<"$xv" &&
		ok "exportfs -v shows allow_tags on both" || fail "exportfs -v: $xv"
fi

# 5. Mounts, as each client certificate in turn, of each export.
subject() { certtool -i --infile "$pki/$1.pem" 2>/dev/null |
	sed -n 's/^[[:space:]]*Subject: //p' | head -n 1; }
row() { echo "TABLE|$(subject "$1")${2:+ ($2)}|$3|$4|$5"; }

# What each client should get from each export on the patched kernel.
declare -A tags_of=([alice]="engineering,example-staff,nfs-clients" [bob]="example-staff" [nobody]=-)
declare -A grant=([alice:/staff]=1 [alice:/eng]=1 [bob:/staff]=1 [bob:/eng]=0
		  [nobody:/staff]=0 [nobody:/eng]=0)
payload=/tmp/payload
dd if=/dev/urandom of=$payload bs=64k count=16 status=none
want_sum=$(sha256sum <$payload | cut -d' ' -f1)

for c in alice bob nobody; do
	for e in / /staff /eng; do
		mount_as "$c" "$e" xprtsec=mtls
		# Refused or not, the mount made its own TLS session with
		# this client certificate.
		if [ "$new_tls" -ge 2 ]; then
			ok "$c $e: a new TLS session (kTLS on $new_tls sockets)"
		else
			fail "$c $e: no new TLS session for this mount (kTLS on $new_tls sockets)"
		fi
		if [ "$patched" = 0 ] && [ "$e" != / ]; then
			# Not exported: the path is only the pseudo-root's
			# (read-only, empty) directory under the mount point.
			if [ "$mst" != 0 ]; then
				ok "$c $e: refused (mount.nfs status $mst: ${merr##*: })"
				result="refused: ${merr##*mount.nfs: }"
			elif [ ! -e "$mnt/secret" ] && ! : 2>/dev/null >"$mnt/from-$c"; then
				ok "$c $e: not exported: only the pseudo-root's empty read-only directory"
				result="not exported (the pseudo-root's empty directory)"
			else
				fail "$c $e: the tagged file system is reachable or writable"
				result="REACHABLE (wrong)"
			fi
			row "$c" "" "${tags_of[$c]}" "$e" "$result"
			umount_all
			continue
		fi
		if [ "$e" = / ]; then
			want=1
		else
			want=${grant[$c:$e]}
		fi
		if [ "$want" = 1 ]; then
			if [ "$mst" = 0 ]; then
				ok "$c $e: mounted"
				result=granted
			else
				fail "$c $e: mount failed ($mst): $merr"
				result="FAILED: $merr"
			fi
		else
			if [ "$mst" != 0 ]; then
				ok "$c $e: refused (mount.nfs status $mst: ${merr##*: })"
				result="refused: ${merr##*mount.nfs: }"
			else
				fail "$c $e: mounted, but should have been refused"
				result="GRANTED (wrong)"
			fi
		fi
		if [ "$mst" = 0 ]; then
			grep -q " $mnt nfs4 .*xprtsec=mtls" /proc/mounts &&
				ok "$c $e: /proc/mounts shows xprtsec=mtls" ||
				fail "$c $e: /proc/mounts: $(grep " $mnt " /proc/mounts)"
		fi
		if [ "$mst" = 0 ] && [ "$e" != / ]; then
			f=$mnt/from-$c
			cp $payload "$f" && sync && echo 3 >/proc/sys/vm/drop_caches
			got_sum=$(sha256sum <"$f" 2>/dev/null | cut -d' ' -f1)
			srv_sum=$(sha256sum <"$srv$e/from-$c" 2>/dev/null | cut -d' ' -f1)
			[ "$got_sum" = "$want_sum" ] && [ "$srv_sum" = "$want_sum" ] &&
				ok "$c $e: 1 MiB written and read back, same SHA-256 on client and server" ||
				fail "$c $e: checksums differ: wrote $want_sum, read $got_sum, server has $srv_sum"
		fi
		if [ "$mst" = 0 ] && [ "$e" = / ]; then
			# Through the pseudo-root, the tagged exports are as closed
			ls "$mnt/staff/secret" >/dev/null 2>&1 && lsst=0 || lsst=1
			if [ "$patched" = 1 ] && [ "${grant[$c:/staff]}" = 1 ]; then
				[ "$lsst" = 0 ] && ok "$c /: staff reachable below the pseudo-root" ||
					fail "$c /: staff not reachable below the pseudo-root"
			else
				[ "$lsst" != 0 ] && ok "$c /: staff's files not reachable below the pseudo-root" ||
					fail "$c /: staff's secret is visible below the pseudo-root"
			fi
		fi
		row "$c" "" "${tags_of[$c]}" "$e" "$result"
		umount_all
	done
done

# 6. Other doors to a tagged export: anonymous TLS, plaintext, a
#    certificate from an untrusted CA.
for how in "xprtsec=tls:anonymous TLS" "xprtsec=none:plain TCP"; do
	o=${how%%:*} label=${how#*:}
	mount_as alice /staff "$o"
	if [ "$mst" != 0 ]; then
		ok "alice /staff over $label: refused (status $mst: ${merr##*: })"
		row alice "$label" "-" /staff "refused: ${merr##*mount.nfs: }"
	else
		fail "alice /staff over $label: mounted"
		row alice "$label" "-" /staff "GRANTED (wrong)"
	fi
	umount_all
done
hs_fail0=$(grep -c 'handshake (.*) failed\|handshake (.*failed:' "$d/log")
mount_as mallory /staff xprtsec=mtls
hs_fail=$(( $(grep -c 'handshake (.*) failed\|handshake (.*failed:' "$d/log") - hs_fail0 ))
if [ "$mst" != 0 ] && ! mounted "$mnt"; then
	ok "mallory (Rogue CA): no mount (status $mst), tlstagd logged $hs_fail failed handshake(s)"
	row mallory "Rogue CA" "-" /staff "refused: TLS handshake failed"
else
	fail "mallory (Rogue CA): mounted"
	row mallory "Rogue CA" "-" /staff "GRANTED (wrong)"
fi
[ "$hs_fail" -ge 1 ] && ok "tlstagd refused mallory's certificate" ||
	fail "tlstagd logged no failed handshake for mallory"
umount_all

# 6b. A second AUTH_TLS probe inside a TLS session (build/vm/tools/rpctls:
#     the probe, a handshake with alice's certificate, then the probe
#     again). The kernel's client never sends it; another client may, to
#     start a second handshake on a transport already marked as mutually
#     authenticated and tagged. The patched server refuses it (AUTH_ERROR,
#     AUTH_BADCRED) and keeps the session; 6.12 answers STARTTLS again.
rpctls=$top/build/vm/tools/rpctls
count_of "$d/log" 'server handshake (x509)'
hs0=$count
timeout 60 "$rpctls" --ca "$pki/ca.pem" --cert "$pki/alice.pem" --key "$pki/alice.key" \
	127.0.0.1 2049 >/tmp/rpctls.out 2>&1
rst=$?
sed 's/^/  rpctls| /' /tmp/rpctls.out
# handshakes_since N: tlstagd logged a server handshake after the first N
# (how many in $hs).
handshakes_since() { count_of "$d/log" 'server handshake (x509)'; hs=$((count - $1)); [ "$hs" -ge 1 ]; }
wait_for 10 handshakes_since "$hs0"	# the agent logs after it has answered
if [ "$rst" = 0 ] && grep -qx 'probe: STARTTLS' /tmp/rpctls.out &&
   grep -q '^tls: ok ' /tmp/rpctls.out; then
	ok "AUTH_TLS probe, then TLS with alice's certificate ($hs server handshake)"
else
	fail "AUTH_TLS probe and handshake (status $rst)"
fi
if [ "$patched" = 1 ]; then
	# auth_stat 1: AUTH_BADCRED
	grep -qx 'probe2: denied auth_error 1' /tmp/rpctls.out &&
		grep -qx 'null: accepted' /tmp/rpctls.out && [ "$hs" = 1 ] &&
		ok "a second AUTH_TLS probe in the session: AUTH_BADCRED, no second handshake, the session still serves" ||
		fail "second AUTH_TLS probe: $(tr '\n' ';' </tmp/rpctls.out) ($hs server handshakes)"
else
	grep -qx 'probe2: STARTTLS' /tmp/rpctls.out &&
		ok "6.12 answers a second AUTH_TLS probe with STARTTLS again (what the series refuses)" ||
		fail "second AUTH_TLS probe on 6.12: $(tr '\n' ';' </tmp/rpctls.out)"
fi
umount_all

# 7. The kernel's view: what it enforces, and its record of denials.
kexp=$(cat /proc/fs/nfsd/exports 2>/dev/null)
echo "--- /proc/fs/nfsd/exports"
echo "$kexp"
if [ "$patched" = 1 ]; then
	grep -q "^$srv/staff.*xprtsec=mtls,allow_tags=example-staff" <<<"$kexp" &&
		ok "the kernel shows staff's allow_tags" || fail "kernel export list lacks staff's allow_tags"
	tr=$(grep nfsd_export_tags_denied $tracing/trace)
	echo "--- trace (nfsd_export_tags_denied), first lines"
	head -n 4 <<<"$tr"
	grep "nfsd_export_tags_denied" <<<"$tr" | grep -q "127.0.0.1" &&
	grep -q "path=$srv/eng" <<<"$tr" && grep -q "path=$srv/staff" <<<"$tr" &&
		ok "the tracepoint names the client and both exports" ||
		fail "tracepoint lines: ${tr:-none}"
	echo "TRACE|$(grep -m1 "path=$srv/eng" <<<"$tr" | sed 's/^ *//')"
else
	! grep -q 'allow_tags\|staff\|/eng' <<<"$kexp" &&
		ok "the kernel exports nothing tagged" || fail "kernel exports: $kexp"
	# An etab with tagged entries written elsewhere: mountd refuses
	# to hand them to this kernel.
	# mountd rereads the etab when its inode changes: replace it.
	{ cat "$run/state/etab"
	  printf '%s\t*(rw,fsid=1,no_subtree_check,no_root_squash,sec=sys,xprtsec=mtls,allow_tags=example-staff)\n' "$srv/staff"
	} >"$run/state/etab.new" && mv "$run/state/etab.new" "$run/state/etab"
	"$exportfs" -f
	mount_as alice /staff xprtsec=mtls
	if [ "$mst" != 0 ] || [ ! -e "$mnt/secret" ]; then
		ok "a tagged etab entry is not exported by mountd either (staff's files not reachable)"
	else
		fail "mountd exported a tagged etab entry on a kernel that ignores tags"
	fi
	grep -q "not exporting $srv/staff.*does not enforce allow_tags" "$d/mountd.log" &&
		ok "mountd says why: $(grep -m1 'not exporting' "$d/mountd.log" | sed 's/^.*not exporting/not exporting/')" ||
		fail "mountd did not say why: $(tail -n 3 "$d/mountd.log")"
	umount_all
fi

# 8. Clean shutdown.
nfs_stop staff eng
echo "nfs scenario ($variant): $fails failed"
[ "$fails" = 0 ]
