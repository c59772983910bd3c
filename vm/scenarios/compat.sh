#!/bin/bash
# vm/scenarios/compat.sh - runs inside the VM (vm/run -V VARIANT
# vm/scenarios/compat.sh VARIANT, VARIANT base or notags). Compatibility:
# a consumer sees an empty tag set, and everything else works, when tags
# are not sent.
#
#   base    the patched kernel; tlstagd with [global] session-tags = no
#           and a client certificate that earns three tags: the session
#           completes (status 0, echo over kTLS) with tags=-. Then
#           session-tags = yes (SIGHUP) and the same client gets its tags:
#           the key, not the setup, made the difference.
#   notags  the unpatched Debian 6.12 kernel (scripts/vm-kernel.sh
#           VARIANT=notags): tlstagd with its usual configuration starts,
#           says the kernel does not support session tags, and a client's
#           handshake completes (status 0, echo over kTLS, tags=-).
#
# Uses tagtest.ko built for the variant (make -C vm/module VARIANT=...)
# and a certtool PKI in /tmp, as tags.sh does. Exit status 0 when every
# check passed.
set -u
top=${VM_TOP:-/work/main}
out=${VM_OUT:-/tmp}
variant=${1:-base}
fails=0
ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
dbg=/sys/kernel/debug/tagtest
port=4433
agent=$top/agent/build/tlstagd
ko=$top/build/vm/module/$variant/tagtest.ko
alice_tags="engineering,example-staff,nfs-clients"

# base and debug are both the patched kernel; notags is the unpatched one
case "$variant" in
base|debug) patched=yes ;;
notags) patched=no ;;
*) echo "compat: unknown variant '$variant' (base, debug or notags)"; exit 2 ;;
esac
echo "kernel: $(uname -srv) ($variant); module $ko"
if [ -s "$out/expect-version" ]; then
	want=$(cat "$out/expect-version")
	[ "$(uname -v)" = "$want" ] && ok "kernel build '$want'" ||
		fail "kernel build '$(uname -v)', expected '$want'"
fi
# The series adds lib/tagset (tagset_copy et al.): present in the patched
# kernel only.
if grep -qw tagset_copy /proc/kallsyms; then has_tagset=1; else has_tagset=0; fi
if [ "$variant" = notags ]; then
	[ "$has_tagset" = 0 ] && ok "kernel has no tagset code (unpatched)" ||
		fail "notags kernel has tagset_copy: not the unpatched base"
else
	[ "$has_tagset" = 1 ] && ok "kernel has the tagset code (patched)" ||
		fail "base kernel lacks tagset_copy"
fi

# 1. Test PKI (certtool): CA, server, alice (earns three tags).
pki=/tmp/pki
mkdir -p "$pki"
cd "$pki" || exit 1
key() { certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
	--outfile "$1" 2>/dev/null; }
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
cat >alice.tmpl <<'T'
cn = "alice"
unit = "eng"
organization = "Example"
uri = "spiffe://example.org/ns/nfs/sa/alice"
serial = 13
expiration_days = 30
tls_www_client
signing_key
T
pki_ok=1
key ca.key && certtool --generate-self-signed --load-privkey ca.key \
	--template ca.tmpl --outfile ca.pem 2>/dev/null || pki_ok=0
for n in server alice; do
	key "$n.key" && certtool --generate-certificate --load-privkey "$n.key" \
		--load-ca-certificate ca.pem --load-ca-privkey ca.key \
		--template "$n.tmpl" --outfile "$n.pem" 2>/dev/null || pki_ok=0
done
[ "$pki_ok" = 1 ] && ok "test PKI generated (certtool)" ||
	{ fail "certtool could not generate the test PKI"; exit 1; }
cd /tmp || exit 1

# 2. Policy (as tags.sh) and configuration.
d=/tmp/tlstagd
mkdir -p "$d/tags.d"
cat >"$d/tags.d/test.yml" <<'EOF'
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
tags:
  example-staff:
    filter: [test-ca, example-org, client-auth]
  engineering:
    filter: [test-ca, eng-unit]
  nfs-clients:
    filter: [test-ca, nfs-workload]
EOF
write_conf() {	# [session-tags value; none: the key is absent]
	{
		echo "[global]"
		echo "log-level = info"
		echo "log-target = stderr"
		echo "tags-dir = $d/tags.d"
		[ -n "${1:-}" ] && echo "session-tags = $1"
		printf '\n[trust]\nca-file = %s/ca.pem\n' "$pki"
		printf '\n[server]\ncertificate = %s/server.pem\n' "$pki"
		printf 'private-key = %s/server.key\nclient-certificate = require\n' "$pki"
	} >"$d/tlstagd.conf"
}
if [ "$patched" = yes ]; then
	write_conf no
else
	write_conf
fi
echo "--- $d/tlstagd.conf"
cat "$d/tlstagd.conf"
[ -x "$agent" ] || { fail "no $agent (make -C agent)"; exit 1; }
if "$agent" --check-config -c "$d/tlstagd.conf" >"$d/check.out" 2>&1; then
	ok "tlstagd --check-config"
	sed 's/^/  check-config| /' "$d/check.out"
else
	fail "tlstagd --check-config: $(cat "$d/check.out")"
fi
if [ "$patched" = yes ]; then
	grep -q "session-tags: *no" "$d/check.out" &&
		ok "--check-config reports session-tags no" ||
		fail "--check-config does not report session-tags no"
fi
# The policy still gives alice three tags: what would be sent.
e=$("$agent" --explain "$pki/alice.pem" -c "$d/tlstagd.conf" 2>&1 |
	sed -n 's/^tags earned ([0-9]*):\{0,1\} *//p' | tr ' ' '\n' |
	sed '/^$/d' | sort | paste -sd, -)
[ "$e" = "$alice_tags" ] && ok "tlstagd --explain alice: $e (the policy matches)" ||
	fail "tlstagd --explain alice: '$e', expected $alice_tags"

# 3. The module.
if insmod "$ko" port=$port timeout_ms=20000; then
	ok "insmod tagtest.ko"
else
	fail "insmod $ko"
	exit 1
fi
[ -r $dbg/sessions ] && ok "debugfs $dbg present" || fail "no $dbg/sessions"
dmesg | grep -a 'tagtest: listening' | tail -n 1 | sed 's/^/  dmesg| /'

# 4. The agent and its startup line.
"$agent" --foreground -c "$d/tlstagd.conf" 2>"$d/log" &
apid=$!
for _ in $(seq 1 100); do
	grep -q "listening for handshake requests" "$d/log" && break
	kill -0 "$apid" 2>/dev/null || break
	sleep 0.2
done
grep -q "listening for handshake requests" "$d/log" && ok "tlstagd started" ||
	fail "tlstagd did not start listening"
line=$(grep -m1 "kernel: handshake family" "$d/log")
echo "  startup| ${line:-(none)}"
if [ "$patched" = yes ]; then
	case "$line" in
	*"session tags yes (DONE attribute 4"*"disabled by configuration"*)
		ok "startup line: kernel supports tags, disabled by configuration" ;;
	*)	fail "startup line does not say tags are disabled by configuration: ${line:-none}" ;;
	esac
else
	case "$line" in
	*"session tags no (DONE policy lacks attribute 4)"*)
		ok "startup line: the kernel does not support session tags" ;;
	*)	fail "startup line does not say the kernel lacks session tags: ${line:-none}" ;;
	esac
fi

# 5. One client session: echo over kTLS, then the recorded completion.
tls_stat() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/tls_stat; }
n=0
session() {	# label expected-tags
	local label=$1 want=$2 msg fifo cpid got cst l st peer tags rx0 tx0 rx tx
	n=$((n + 1))
	rx0=$(tls_stat TlsRxSw) tx0=$(tls_stat TlsTxSw)
	msg="hello from alice ($label) over kTLS $RANDOM"
	fifo=/tmp/cli-$n.in
	rm -f "$fifo"
	mkfifo "$fifo"
	timeout 40 gnutls-cli --x509cafile "$pki/ca.pem" \
		--x509certfile "$pki/alice.pem" --x509keyfile "$pki/alice.key" \
		--sni-hostname server.test --verify-hostname server.test \
		--priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3' \
		-p $port 127.0.0.1 <"$fifo" >"/tmp/cli-$n.out" 2>"/tmp/cli-$n.err" &
	cpid=$!
	exec 3>"$fifo"
	echo "$msg" >&3
	got=0
	for _ in $(seq 1 150); do
		grep -qxF "$msg" "/tmp/cli-$n.out" 2>/dev/null && { got=1; break; }
		kill -0 "$cpid" 2>/dev/null || break
		sleep 0.2
	done
	exec 3>&-
	wait "$cpid"
	cst=$?
	if [ "$got" = 1 ]; then
		ok "$label: echo came back over kTLS"
	else
		fail "$label: no echo (gnutls-cli status $cst)"
		sed 's/^/  gnutls-cli| /' "/tmp/cli-$n.err" | tail -n 5
	fi
	for _ in $(seq 1 125); do
		[ "$(wc -l <$dbg/sessions)" -ge "$n" ] && break
		sleep 0.2
	done
	sleep 0.3
	rx=$(( $(tls_stat TlsRxSw) - rx0 )) tx=$(( $(tls_stat TlsTxSw) - tx0 ))
	[ "$rx" = 1 ] && [ "$tx" = 1 ] &&
		ok "$label: kTLS installed on the server socket (TlsRxSw +1, TlsTxSw +1)" ||
		fail "$label: kTLS counters TlsRxSw +$rx, TlsTxSw +$tx, expected +1 each"
	l=$(grep -m1 "^$n " $dbg/sessions)
	echo "  sessions| ${l:-(none)}"
	st=$(sed -n 's/.* status=\([-0-9]*\) .*/\1/p' <<<"$l")
	peer=$(sed -n 's/.* peerid=\([0-9]*\) .*/\1/p' <<<"$l")
	tags=$(sed -n 's/.* tags=\(.*\)$/\1/p' <<<"$l")
	if [ -z "$l" ]; then
		fail "$label: no completion recorded"
	else
		[ "$st" = 0 ] && [ "$tags" = "$want" ] &&
			ok "$label: session $n status 0, tags $tags" ||
			fail "$label: '$l', expected status=0 tags=$want"
		[ "${peer:-0}" != 0 ] && ok "$label: peer identity key $peer" ||
			fail "$label: no peer identity (peerid=${peer:-none})"
	fi
}

if [ "$patched" = yes ]; then
	session "session-tags = no" -
	grep -q "tags not sent (disabled by configuration)" "$d/log" &&
		ok "tlstagd: tags not sent (disabled by configuration)" ||
		fail "tlstagd did not log 'tags not sent (disabled by configuration)'"
	# Control: the same client, session-tags = yes after a reload.
	write_conf yes
	nrel=$(grep -c "configuration reloaded" "$d/log")
	kill -HUP "$apid"
	for _ in $(seq 1 50); do
		[ "$(grep -c "configuration reloaded" "$d/log")" -gt "$nrel" ] && break
		sleep 0.2
	done
	[ "$(grep -c "configuration reloaded" "$d/log")" -gt "$nrel" ] &&
		ok "tlstagd reloaded with session-tags = yes" ||
		fail "tlstagd did not reload"
	session "session-tags = yes (control)" "$alice_tags"
else
	session "unpatched kernel" -
	grep -q "tags not sent (kernel lacks tag support)" "$d/log" &&
		ok "tlstagd: tags not sent (kernel lacks tag support)" ||
		fail "tlstagd did not log 'tags not sent (kernel lacks tag support)'"
fi
echo "--- $dbg/sessions"
cat $dbg/sessions
[ "$(cat $dbg/pending)" = 0 ] && ok "no handshake pending" ||
	fail "$(cat $dbg/pending) handshake(s) still pending"

# 6. Unload, stop the agent.
rmmod tagtest && ok "rmmod tagtest" || fail "rmmod tagtest"
kill -TERM "$apid" 2>/dev/null
for _ in $(seq 1 50); do
	kill -0 "$apid" 2>/dev/null || break
	sleep 0.2
done
if kill -0 "$apid" 2>/dev/null; then
	kill -KILL "$apid"
	fail "tlstagd still running 10 s after SIGTERM"
fi
wait "$apid"
ast=$?
[ "$ast" = 0 ] && ok "tlstagd stopped (status 0)" || fail "tlstagd exit status $ast"
sed 's/^/  tlstagd| /' "$d/log" | tail -n 20
cp "$d/log" "$out/tlstagd.log" 2>/dev/null

echo "compat ($variant): $fails failure(s)"
[ "$fails" = 0 ]
