#!/bin/bash
# vm/scenarios/lib.sh - shared helpers for the scenarios, sourced (not run)
# inside the VM: . "${VM_TOP:?run scenarios with vm/run}/vm/scenarios/lib.sh". Sets the
# variables below; a scenario may override them after sourcing. Every check
# prints one line, "ok   ..." or "FAIL ...", and failures count in $fails.
# shellcheck disable=SC2034	# variables used by the scenarios that source this
top=$VM_TOP
out=${VM_OUT:-/tmp}
fails=0
dbg=/sys/kernel/debug/tagtest	# tagtest.ko's debugfs directory
port=4433			# tagtest.ko's kTLS echo port
pki=/tmp/pki			# the certtool test PKI
d=/tmp/tlstagd			# tlstagd's configuration, policy and log
agent=$top/agent/build/tlstagd

# ok MESSAGE: print a passed check.
ok()   { echo "ok   $*"; }
# fail MESSAGE: print a failed check and count it in $fails.
fail() { echo "FAIL $*"; fails=$((fails + 1)); }

# In the debug kernel under TCG every exec costs about half a second of
# the guest's only CPU, so the waits and counts below start no process:
# a poll that ran sleep(1) and grep(1) took the CPU from what it waited for.
# nap SECS: sleep without starting a process (read times out on a FIFO
# that nobody writes).
nap() {
	if [ -z "${nap_fd:-}" ]; then
		local f
		f=$(mktemp -u /tmp/nap.XXXXXX) && mkfifo "$f" && exec {nap_fd}<>"$f"
		rm -f "$f"
	fi
	read -r -t "$1" -u "$nap_fd" _ || :
}
# wait_for SECS CMD [ARG...]: run CMD every 0.1 s until it succeeds or SECS
# seconds (wall clock) have passed; status 0 if it succeeded.
wait_for() {
	local end=$((${EPOCHREALTIME/./} + $1 * 1000000))
	shift
	while :; do
		"$@" && return 0
		[ "${EPOCHREALTIME/./}" -lt "$end" ] || return 1
		nap 0.1
	done
}
# file_has FILE STRING: a line of FILE contains STRING.
file_has() { local c; [ -r "$1" ] && c=$(<"$1") && [[ $c == *"$2"* ]]; }
# count_of FILE STRING: how many lines of FILE contain STRING, in $count
# (an empty STRING counts the non-empty lines, as grep -c . does).
count_of() {
	local l
	count=0
	[ -r "$1" ] || return 0
	while IFS= read -r l || [ -n "$l" ]; do
		if [ -n "$2" ]; then [[ $l == *"$2"* ]] || continue
		else [ -n "$l" ] || continue; fi
		count=$((count + 1))
	done <"$1"
}
# mounted DIR: DIR is a mount point (mountinfo; paths without spaces).
mounted() {
	local a b c e m r
	while read -r a b c e m r; do [ "$m" = "$1" ] && return 0; done </proc/self/mountinfo
	return 1
}
# alive PID: the process is still running; gone PID: it is not.
alive() { kill -0 "$1" 2>/dev/null; }
gone() { ! kill -0 "$1" 2>/dev/null; }

# check_kernel_release: the running kernel's release is the one vm/run built (if it said).
check_kernel_release() {
	local want
	[ -s "$out/expect-release" ] || return 0
	want=$(<"$out/expect-release")
	if [ "$(uname -r)" = "$want" ]; then ok "kernel release $want"
	else fail "kernel release $(uname -r), expected $want"; fi
}
# check_kernel_build: the running kernel's build (uname -v) is the one vm/run built (if it said).
check_kernel_build() {
	local want
	[ -s "$out/expect-version" ] || return 0
	want=$(<"$out/expect-version")
	if [ "$(uname -v)" = "$want" ]; then ok "kernel build '$want'"
	else fail "kernel build '$(uname -v)', expected '$want'"; fi
}
# kernel_variant: print base, debug or notags (they share a release string;
# only the unpatched notags kernel lacks the tagset library, only base
# lacks kmemleak).
kernel_variant() {
	if ! grep -q ' tagset_copy$' /proc/kallsyms; then echo notags
	elif [ -e /sys/kernel/debug/kmemleak ]; then echo debug
	else echo base; fi
}
# find_module VARIANT: print the tagtest.ko built for the running kernel (vermagic), or nothing.
find_module() {
	local m vm
	for m in "$top/build/vm/module/$1/tagtest.ko" "$top/vm/module/tagtest.ko"; do
		[ -f "$m" ] || continue
		vm=$(modinfo -F vermagic "$m" 2>/dev/null)
		if [ "${vm%% *}" = "$(uname -r)" ]; then echo "$m"; return; fi
	done
}

# pki_begin: make and enter $pki, write ca.tmpl (Test CA) and server.tmpl (server.test).
pki_begin() {
	pki_ok=1
	mkdir -p "$pki"
	cd "$pki" || exit 1
	cat >ca.tmpl <<'T'
cn = "Test CA"
organization = "Example"
serial = 1
expiration_days = 30
ca
cert_signing_key
crl_signing_key
T
	cat >server.tmpl <<'T'
cn = "server.test"
organization = "Example"
serial = 10
expiration_days = 30
dns_name = "server.test"
tls_www_server
signing_key
T
}
# rogue_ca_tmpl: write rogue-ca.tmpl (Rogue CA, a CA nobody trusts).
rogue_ca_tmpl() {
	cat >rogue-ca.tmpl <<'T'
cn = "Rogue CA"
organization = "Elsewhere"
serial = 2
expiration_days = 30
ca
cert_signing_key
T
}
# client_tmpl NAME SERIAL [LINE...]: write NAME.tmpl, a TLS client certificate with extra template lines.
client_tmpl() {
	local n=$1 s=$2
	shift 2
	{
		printf 'cn = "%s"\nserial = %s\nexpiration_days = 30\n' "$n" "$s"
		printf '%s\n' "$@"
		printf 'tls_www_client\nsigning_key\n'
	} >"$n.tmpl"
}
# alice_tmpl SERIAL: write alice.tmpl (OU=eng, O=Example, an nfs SPIFFE URI: three tags from Test CA).
alice_tmpl() {
	client_tmpl alice "$1" 'unit = "eng"' 'organization = "Example"' \
		'uri = "spiffe://example.org/ns/nfs/sa/alice"'
}
# pki_key FILE: generate an ECDSA P-256 private key.
pki_key() { certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
	--outfile "$1" 2>/dev/null; }
# pki_cert NAME [ISSUER]: NAME.key and NAME.pem from NAME.tmpl, signed by ISSUER (none: self-signed); clears pki_ok on failure.
pki_cert() {
	if [ -z "${2:-}" ]; then
		pki_key "$1.key" && certtool --generate-self-signed --load-privkey "$1.key" \
			--template "$1.tmpl" --outfile "$1.pem" 2>/dev/null || pki_ok=0
	else
		pki_key "$1.key" && certtool --generate-certificate --load-privkey "$1.key" \
			--load-ca-certificate "$2.pem" --load-ca-privkey "$2.key" \
			--template "$1.tmpl" --outfile "$1.pem" 2>/dev/null || pki_ok=0
	fi
}
# pki_end: check that every pki_cert succeeded (exit 1 if not), back to /tmp.
pki_end() {
	if [ "$pki_ok" = 1 ]; then ok "test PKI generated (certtool)"
	else fail "certtool could not generate the test PKI"; exit 1; fi
	cd /tmp || exit 1
}

# write_policy contractors|plain: write $d/tags.d/test.yml; with contractors, example-staff excludes spiffe://example.org/contractors/*.
write_policy() {
	mkdir -p "$d/tags.d"
	{
		cat <<'EOF'
filters:
  test-ca:
    type: x509.tbs.issuer
    pattern: "CN=Test CA*"
  example-org:
    type: x509.tbs.subject
    pattern: "*O=Example"
  eng-unit:
    type: x509.tbs.subject
    pattern: "*OU=eng*"
  client-auth:
    type: x509.extension.extendedKeyUsage
    purpose: [clientAuth]
  nfs-workload:
    type: x509.extension.subjectAltName.uri
    pattern: "spiffe://example.org/ns/nfs/*"
EOF
		if [ "$1" = contractors ]; then
			cat <<'EOF'
  contractor:
    type: x509.extension.subjectAltName.uri
    pattern: "spiffe://example.org/contractors/*"
tags:
  example-staff:
    filter: [test-ca, example-org, client-auth, not contractor]
EOF
		else
			cat <<'EOF'
tags:
  example-staff:
    filter: [test-ca, example-org, client-auth]
EOF
		fi
		cat <<'EOF'
  engineering:
    filter: [test-ca, eng-unit]
  nfs-clients:
    filter: [test-ca, nfs-workload]
EOF
	} >"$d/tags.d/test.yml"
}
# write_conf SESSION-TAGS: write $d/tlstagd.conf (policy, trust Test CA, server cert, client cert required); SESSION-TAGS "-": no session-tags key.
write_conf() {
	{
		echo "[global]"
		echo "log-level = info"
		echo "log-target = stderr"
		echo "tags-dir = $d/tags.d"
		[ "$1" != - ] && echo "session-tags = $1"
		printf '\n[trust]\nca-file = %s/ca.pem\n' "$pki"
		printf '\n[server]\ncertificate = %s/server.pem\n' "$pki"
		printf 'private-key = %s/server.key\nclient-certificate = require\n' "$pki"
	} >"$d/tlstagd.conf"
}
# agent_check_config show|quiet: tlstagd exists (exit 1 if not) and accepts $d/tlstagd.conf; with show, print its report.
agent_check_config() {
	[ -x "$agent" ] || { fail "no $agent (make -C agent)"; exit 1; }
	if "$agent" --check-config -c "$d/tlstagd.conf" >"$d/check.out" 2>&1; then
		ok "tlstagd --check-config"
		[ "$1" = show ] && sed 's/^/  check-config| /' "$d/check.out"
	else
		fail "tlstagd --check-config: $(<"$d/check.out")"
	fi
	return 0
}
# explain_tags NAME: print the tags tlstagd --explain gives $pki/NAME.pem, sorted, comma-separated.
explain_tags() {
	"$agent" --explain "$pki/$1.pem" -c "$d/tlstagd.conf" 2>&1 |
		sed -n 's/^tags earned ([0-9]*):\{0,1\} *//p' | tr ' ' '\n' |
		sed '/^$/d' | sort | paste -sd, -
}
# agent_start: run tlstagd in the background ($apid, log $d/log), wait for it to listen; its startup line in $line.
agent_start() {
	"$agent" --foreground -c "$d/tlstagd.conf" 2>"$d/log" &
	apid=$!
	wait_for 60 agent_up
	line=$(grep -m1 "kernel: handshake family" "$d/log")
}
# agent_up: tlstagd listens, or it has exited.
agent_up() { agent_listening || ! alive "$apid"; }
# agent_listening: tlstagd has logged that it listens for handshake requests.
agent_listening() { file_has "$d/log" "listening for handshake requests"; }
# reloaded_since N: tlstagd has logged more than N configuration reloads.
reloaded_since() { count_of "$d/log" "configuration reloaded"; [ "$count" -gt "$1" ]; }
# agent_stop: SIGTERM tlstagd, SIGKILL it (a failure) if still running after 10 s; its exit status in $ast.
agent_stop() {
	kill -TERM "$apid" 2>/dev/null
	wait_for 10 gone "$apid"
	if alive "$apid"; then
		kill -KILL "$apid"
		fail "tlstagd still running 10 s after SIGTERM"
	fi
	wait "$apid"
	ast=$?
}
# agent_finish LINES: agent_stop, check exit status 0, print the log's last LINES lines, save it to $out.
agent_finish() {
	agent_stop
	if [ "$ast" = 0 ]; then ok "tlstagd stopped (status 0)"
	else fail "tlstagd exit status $ast"; fi
	sed 's/^/  tlstagd| /' "$d/log" | tail -n "$1"
	cp "$d/log" "$out/tlstagd.log" 2>/dev/null
}

# agent_children: the pids of tlstagd's ($apid) handshake children, one per line.
agent_children() {
	awk -v p="$apid" '{ f = FILENAME; c = $0; sub(/^[^(]*\(/, "", c); sub(/\).*$/, "", c)
		sub(/^.*\) /, ""); split($0, a, " ")
		if (a[2] == p && c != "tlstagd-keys") { sub(/^\/proc\//, "", f); sub(/\/stat$/, "", f); print f } }' \
		/proc/[0-9]*/stat 2>/dev/null
}
# key_holder: the pid of tlstagd's key holder (the process that alone holds its private keys).
key_holder() {
	awk -v p="$apid" '{ f = FILENAME; c = $0; sub(/^[^(]*\(/, "", c); sub(/\).*$/, "", c)
		sub(/^.*\) /, ""); split($0, a, " ")
		if (a[2] == p && c == "tlstagd-keys") { sub(/^\/proc\//, "", f); sub(/\/stat$/, "", f); print f } }' \
		/proc/[0-9]*/stat 2>/dev/null
}
# proc_status PID FIELD: the value of FIELD in /proc/PID/status.
proc_status() {
	local k v
	while read -r k v; do
		[ "$k" = "$2:" ] && { echo "$v"; return; }
	done 2>/dev/null <"/proc/$1/status"
}
# netlink_fds PID: how many of PID's descriptors are netlink sockets.
netlink_fds() {
	local inodes n=0 l
	inodes=" $(awk 'NR > 1 { printf "%s ", $NF }' /proc/net/netlink) "
	for l in /proc/"$1"/fd/*; do
		l=$(readlink "$l" 2>/dev/null) || continue
		case "$l" in
		socket:\[*\]) l=${l#socket:[}; l=${l%]}
			[[ "$inodes" == *" $l "* ]] && n=$((n + 1)) ;;
		esac
	done
	echo "$n"
}

# tagtest_load KO: insmod KO on $port (exit 1 if it fails), check its debugfs.
tagtest_load() {
	if insmod "$1" port=$port timeout_ms=20000; then
		ok "insmod tagtest.ko"
	else
		fail "insmod $1"
		exit 1
	fi
	if [ -r $dbg/sessions ]; then ok "debugfs $dbg present"
	else fail "no $dbg/sessions"; fi
}
# nsessions: how many completions tagtest recorded.
nsessions() { count_of $dbg/sessions ""; echo "$count"; }
# has_sessions N: tagtest has recorded at least N completions.
has_sessions() { count_of $dbg/sessions ""; [ "$count" -ge "$1" ]; }
# wait_sessions N: wait up to 60 s for tagtest to have recorded N completions.
wait_sessions() { wait_for 60 has_sessions "$1"; }
# session_fields ID: tagtest's line for session ID in $l, its status, peer id and tags in $st, $peer, $tags.
session_fields() {
	l=$(grep -m1 "^$1 " $dbg/sessions)
	st=$(sed -n 's/.* status=\([-0-9]*\) .*/\1/p' <<<"$l")
	peer=$(sed -n 's/.* peerid=\([0-9]*\) .*/\1/p' <<<"$l")
	tags=$(sed -n 's/.* tags=\(.*\)$/\1/p' <<<"$l")
}
# check_peer LABEL: the session of the last session_fields has a peer identity.
check_peer() {
	if [ "${peer:-0}" != 0 ]; then ok "$1: peer identity key $peer"
	else fail "$1: no peer identity (peerid=${peer:-none})"; fi
}
# check_no_pending: tagtest has no handshake pending.
check_no_pending() {
	if [ "$(<$dbg/pending)" = 0 ]; then ok "no handshake pending"
	else fail "$(<$dbg/pending) handshake(s) still pending"; fi
}
# tls_stat NAME: a counter of /proc/net/tls_stat.
tls_stat() {
	local k v
	while read -r k v; do
		[ "$k" = "$1" ] && { echo "$v"; return; }
	done </proc/net/tls_stat
}
# echo_line ID: tagtest's line for echo session ID (debugfs echoes) in $l.
echo_line() {
	l=
	[ -r $dbg/echoes ] || return 1
	while IFS= read -r l; do [[ $l == "$1 "* ]] && return 0; done <$dbg/echoes
	l=
	return 1
}

# client_start SECS CERT ID: gnutls-cli (TLS 1.3, $pki/CERT.pem) to the echo port for at most SECS in the background ($cpid), fd 3 its stdin, output /tmp/cli-ID.out and .err.
client_start() {
	local fifo=/tmp/cli-$3.in
	rm -f "$fifo"
	mkfifo "$fifo"
	timeout "$1" gnutls-cli --x509cafile "$pki/ca.pem" \
		--x509certfile "$pki/$2.pem" --x509keyfile "$pki/$2.key" \
		--sni-hostname server.test --verify-hostname server.test \
		--priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3' \
		-p $port 127.0.0.1 <"$fifo" >"/tmp/cli-$3.out" 2>"/tmp/cli-$3.err" &
	cpid=$!
	exec 3>"$fifo"
}
# client_echo CERT ID MSG: send MSG with client_start 40 CERT ID, wait up to 30 s for the echo ($got 1 or 0), close; gnutls-cli's status in $cst.
client_echo() {
	client_start 40 "$1" "$2"
	echo "$3" >&3
	got=0
	wait_for 30 echoed_or_exited "/tmp/cli-$2.out" "$3"
	echoed "/tmp/cli-$2.out" "$3" && got=1
	exec 3>&-
	wait "$cpid"
	cst=$?
}
# echoed FILE MSG: a line of FILE is MSG.
echoed() {
	local l
	[ -r "$1" ] || return 1
	while IFS= read -r l || [ -n "$l" ]; do [ "$l" = "$2" ] && return 0; done <"$1"
	return 1
}
# echoed_or_exited FILE MSG: echoed, or the client ($cpid) has exited.
echoed_or_exited() { echoed "$1" "$2" || ! alive "$cpid"; }
# check_echo LABEL ID: the last client_echo got its echo; if not, show the end of /tmp/cli-ID.err.
check_echo() {
	if [ "$got" = 1 ]; then
		ok "$1: echo came back over kTLS"
	else
		fail "$1: no echo (gnutls-cli status $cst)"
		sed 's/^/  gnutls-cli| /' "/tmp/cli-$2.err" | tail -n 5
	fi
}
