# shellcheck shell=bash
# vm/scenarios/nfs-lib.sh - NFS helpers for nfs.sh and nfs-bench.sh,
# sourced after lib.sh inside the VM: the project's nfs-utils
# (build/nfs-utils/src), a test PKI whose server certificate is valid for
# 127.0.0.1, tlstagd serving both ends with a client certificate it
# switches on SIGHUP, and an NFSv4-only server on tmpfs exports.
# shellcheck disable=SC2034	# variables used by the scenarios
nu=$top/build/nfs-utils/src/utils
exportfs=$nu/exportfs/exportfs
run=/run/tls-session-tags/nfs	# the runtime paths nfs-utils is built with
srv=/tmp/srv
mnt=/tmp/mnt
mount_opts="vers=4.2,soft,timeo=50,retrans=2"

# nfs_binaries: the four programs exist (exit 1 if not).
nfs_binaries() {
	local b
	for b in "$exportfs" "$nu/mountd/mountd" "$nu/nfsd/nfsd" "$nu/mount/mount.nfs"; do
		[ -x "$b" ] || { fail "no $b (make nfs-utils)"; exit 1; }
	done
}
# nfs_pki: CA, server (127.0.0.1), alice (engineering, example-staff,
# nfs-clients), bob (example-staff), nobody (none), mallory (Rogue CA).
nfs_pki() {
	pki_begin
	printf 'ip_address = "127.0.0.1"\ndns_name = "localhost"\n' >>server.tmpl
	rogue_ca_tmpl
	client_tmpl nobody 11 'organization = "Other"'
	client_tmpl bob 12 'organization = "Example"'
	alice_tmpl 15
	mv alice.tmpl mallory.tmpl
	alice_tmpl 13
	pki_cert ca
	pki_cert rogue-ca
	local n issuer
	for n in server nobody bob alice mallory; do
		issuer=ca
		[ "$n" = mallory ] && issuer=rogue-ca
		pki_cert "$n" "$issuer"
	done
	pki_end
}
# nfs_conf CLIENT-CERT: tlstagd's configuration. Client certificates are
# optional (an anonymous-TLS client must reach NFSD's xprtsec check) but
# verified against the test CA when presented; CLIENT-CERT is what the
# kernel's NFS client presents.
nfs_conf() {
	{
		printf '[global]\nlog-level = info\nlog-target = stderr\ntags-dir = %s/tags.d\n' "$d"
		printf '\n[trust]\nca-file = %s/ca.pem\n' "$pki"
		printf '\n[server]\ncertificate = %s/server.pem\nprivate-key = %s/server.key\n' "$pki" "$pki"
		printf 'client-certificate = request\nclient-ca = %s/ca.pem\n' "$pki"
		printf '\n[client]\ncertificate = %s/%s.pem\nprivate-key = %s/%s.key\n' "$pki" "$1" "$pki" "$1"
	} >"$d/tlstagd.conf"
	current=$1
}
# nfs_agent CLIENT-CERT: policy, configuration, tlstagd running (exit 1 if not).
nfs_agent() {
	write_policy plain
	nfs_conf "$1"
	agent_check_config quiet
	agent_start
	agent_listening && ok "tlstagd listening" ||
		{ fail "tlstagd did not start"; cat "$d/log"; exit 1; }
	reloads=0
}
# use_cert CERT: switch tlstagd's client certificate (SIGHUP, wait for the reload).
use_cert() {
	[ "$current" = "$1" ] && return
	nfs_conf "$1"
	kill -HUP "$apid"
	wait_for 30 reloaded_since "$reloads"
	count_of "$d/log" "configuration reloaded"
	reloads=$count
}
# nfs_tmpfs NAME...: a tmpfs at $srv, and one at $srv/NAME for each NAME.
nfs_tmpfs() {
	mkdir -p "$srv" "$run/state" "$mnt"
	mount -t tmpfs -o mode=755 nfs-root "$srv"
	local n
	for n in "$@"; do
		mkdir -p "$srv/$n"
		mount -t tmpfs -o mode=777 "nfs-$n" "$srv/$n"
	done
}
# nfs_server: exportfs -ra ($xout, $xst, $etab), rpc.mountd ($mdpid,
# NFSv4 only, no rpcbind), rpc.nfsd (4 threads, grace period ended).
nfs_server() {
	mounted /proc/fs/nfsd || mount -t nfsd nfsd /proc/fs/nfsd
	xout=$("$exportfs" -ra 2>&1)
	xst=$?
	etab=$(cat "$run/state/etab" 2>/dev/null)
	"$nu/mountd/mountd" -F -N 2 -N 3 -u 2>"$d/mountd.log" &
	mdpid=$!
	if "$nu/nfsd/nfsd" -N 3 -U -L 10 -G 10 4 2>"$d/nfsd.log"; then
		ok "rpc.nfsd started ($(</proc/fs/nfsd/threads) threads, versions $(</proc/fs/nfsd/versions))"
	else
		fail "rpc.nfsd: $(<"$d/nfsd.log")"
	fi
	# No client was here before: end the grace period now.
	echo Y >/proc/fs/nfsd/v4_end_grace 2>/dev/null
	kill -0 "$mdpid" 2>/dev/null && ok "rpc.mountd running" ||
		fail "rpc.mountd: $(<"$d/mountd.log")"
}
# mount_as CERT EXPORT [OPTS [DIR]]: mount 127.0.0.1:EXPORT on DIR ($mnt)
# as CERT's client ("-": keep the current one); $mst the status, $merr
# what mount.nfs printed, $new_tls the kTLS sockets set up meanwhile (2
# for a new session: client and server).
mount_as() {
	[ "$1" != - ] && use_cert "$1"
	local tx0
	tx0=$(tls_stat TlsTxSw)
	mkdir -p "${4:-$mnt}"
	merr=$(timeout 90 "$nu/mount/mount.nfs" "127.0.0.1:$2" "${4:-$mnt}" \
		-o "$mount_opts${3:+,$3}" 2>&1)
	mst=$?
	new_tls=$(( $(tls_stat TlsTxSw) - tx0 ))
}
# umount_all: unmount $mnt (and DIR... given), wait for the connection to close.
umount_all() {
	local m
	for m in "$mnt" "$@"; do
		mounted "$m" && umount "$m"
	done
	# The client's transport goes with its last mount; let the server
	# see the close so the next mount really makes a new connection.
	wait_for 30 nfs_closed
}
# nfs_closed: no established TCP connection to or from port 2049.
nfs_closed() {
	[ -z "$(ss -Htn state established '( sport = :2049 or dport = :2049 )' 2>/dev/null)" ]
}
# nfs_stop NAME...: nfsd, mountd and tlstagd stopped (checked), the tmpfs unmounted.
nfs_stop() {
	umount_all
	if "$nu/nfsd/nfsd" 0 2>>"$d/nfsd.log" && [ "$(</proc/fs/nfsd/threads)" = 0 ]; then
		ok "nfsd stopped (0 threads)"
	else
		fail "nfsd still has $(</proc/fs/nfsd/threads) threads"
	fi
	"$exportfs" -ua 2>/dev/null
	kill -TERM "$mdpid" 2>/dev/null
	wait "$mdpid"
	local st=$?
	{ [ "$st" = 0 ] || [ "$st" = 143 ]; } && ok "rpc.mountd stopped" ||
		fail "rpc.mountd exit status $st"
	sed 's/^/  mountd| /' "$d/mountd.log" | tail -n 5
	agent_finish 6
	local n
	for n in "$@"; do umount "$srv/$n" 2>/dev/null; done
	umount "$srv" 2>/dev/null
	umount /proc/fs/nfsd 2>/dev/null
}
