#!/bin/bash
# vm/scenarios/tags.sh - runs inside the VM (vm/run vm/scenarios/tags.sh
# [base|debug]). End to end: session tags from tlstagd's policy reach a
# kernel consumer. Loads the test module tagtest.ko (vm/module: a kTLS echo
# server on 127.0.0.1:4433 that hands each connection to the handshake
# layer and records status, peer id and tags in debugfs), generates a test
# PKI with certtool, runs tlstagd with a tags.d policy, connects with
# gnutls-cli as several clients, checks the echo and the exact tag set
# the kernel delivered for each, and prints who an allow_tags-style check
# would let in. Exit status 0 when every check passed.
set -u
top=${VM_TOP:-/work/main}
out=${VM_OUT:-/tmp}
variant=${1:-}
fails=0
ok()   { echo "ok   $*"; }
fail() { echo "FAIL $*"; fails=$((fails + 1)); }
dbg=/sys/kernel/debug/tagtest
port=4433
# The tag an NFSD export would list in allow_tags, for the decision column
allowed_tag=example-staff

# The module built for the running kernel variant (the debug kernel has
# kmemleak; the base one does not).
if [ -z "$variant" ]; then
	variant=base
	[ -e /sys/kernel/debug/kmemleak ] && variant=debug
fi
ko=$top/build/vm/module/$variant/tagtest.ko
echo "kernel: $(uname -srv) ($variant); module $ko"

# 1. Test PKI: CA, server, clients earning 0, 1, 3 tags, one that "not"
#    excludes from a tag, one issued by an untrusted CA.
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
cat >rogue-ca.tmpl <<'T'
cn = "Rogue CA"
organization = "Elsewhere"
serial = 2
expiration_days = 30
ca
cert_signing_key
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
client_tmpl() {	# name serial [extra template lines...]
	local n=$1 s=$2
	shift 2
	{
		printf 'cn = "%s"\nserial = %s\nexpiration_days = 30\n' "$n" "$s"
		printf '%s\n' "$@"
		printf 'tls_www_client\nsigning_key\n'
	} >"$n.tmpl"
}
client_tmpl nobody 11 'organization = "Other"'
client_tmpl bob 12 'organization = "Example"'
client_tmpl carol 14 'unit = "eng"' 'organization = "Example"' \
	'uri = "spiffe://example.org/contractors/carol"'
# mallory: alice's very subject and SAN, from a CA that is not trusted
client_tmpl alice 15 'unit = "eng"' 'organization = "Example"' \
	'uri = "spiffe://example.org/ns/nfs/sa/alice"'
mv alice.tmpl mallory.tmpl
client_tmpl alice 13 'unit = "eng"' 'organization = "Example"' \
	'uri = "spiffe://example.org/ns/nfs/sa/alice"'
pki_ok=1
key ca.key && certtool --generate-self-signed --load-privkey ca.key \
	--template ca.tmpl --outfile ca.pem 2>/dev/null || pki_ok=0
key rogue-ca.key && certtool --generate-self-signed --load-privkey rogue-ca.key \
	--template rogue-ca.tmpl --outfile rogue-ca.pem 2>/dev/null || pki_ok=0
for n in server nobody bob alice carol mallory; do
	issuer=ca
	[ "$n" = mallory ] && issuer=rogue-ca
	key "$n.key" && certtool --generate-certificate --load-privkey "$n.key" \
		--load-ca-certificate "$issuer.pem" --load-ca-privkey "$issuer.key" \
		--template "$n.tmpl" --outfile "$n.pem" 2>/dev/null || pki_ok=0
done
[ "$pki_ok" = 1 ] && ok "test PKI generated (certtool)" ||
	{ fail "certtool could not generate the test PKI"; exit 1; }
cd /tmp || exit 1

# 2. Policy and agent configuration.
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
  contractor:
    type: x509.extension.subjectAltName.uri
    pattern: "spiffe://example.org/contractors/*"
tags:
  example-staff:
    filter: [test-ca, example-org, client-auth, not contractor]
  engineering:
    filter: [test-ca, eng-unit]
  nfs-clients:
    filter: [test-ca, nfs-workload]
EOF
cat >"$d/tlstagd.conf" <<EOF
[global]
log-level = info
log-target = stderr
tags-dir = $d/tags.d

[trust]
ca-file = $pki/ca.pem

[server]
certificate = $pki/server.pem
private-key = $pki/server.key
client-certificate = require
EOF
agent=$top/agent/build/tlstagd
[ -x "$agent" ] || { fail "no $agent (make -C agent)"; exit 1; }
if "$agent" --check-config -c "$d/tlstagd.conf" >"$d/check.out" 2>&1; then
	ok "tlstagd --check-config"
else
	fail "tlstagd --check-config: $(cat "$d/check.out")"
fi

# What the policy should give each client: expected tags (sorted, "-" for
# none) and, for the trusted ones, what tlstagd --explain says.
declare -A want=(
	[nobody]=-
	[bob]="example-staff"
	[alice]="engineering,example-staff,nfs-clients"
	[carol]="engineering"
	[mallory]=-
)
clients=(nobody bob alice carol mallory)
for c in nobody bob alice carol; do
	e=$("$agent" --explain "$pki/$c.pem" -c "$d/tlstagd.conf" 2>&1 |
		sed -n 's/^tags earned ([0-9]*):\{0,1\} *//p')
	e=$(tr ' ' '\n' <<<"$e" | sed '/^$/d' | sort | paste -sd, -)
	case "$e" in ""|"(none)") e=- ;; esac
	[ "$e" = "${want[$c]}" ] && ok "tlstagd --explain $c: $e" ||
		fail "tlstagd --explain $c: '$e', policy should give '${want[$c]}'"
done

# 3. The module.
if insmod "$ko" port=$port timeout_ms=20000; then
	ok "insmod tagtest.ko"
else
	fail "insmod $ko"
	exit 1
fi
[ -r $dbg/sessions ] && ok "debugfs $dbg present" || fail "no $dbg/sessions"
echo x >$dbg/reset

# 4. The agent.
"$agent" --foreground -c "$d/tlstagd.conf" 2>"$d/log" &
apid=$!
for _ in $(seq 1 100); do
	grep -q "listening for handshake requests" "$d/log" && break
	kill -0 "$apid" 2>/dev/null || break
	sleep 0.2
done
line=$(grep -m1 "kernel: handshake family" "$d/log")
case "$line" in
*"session tags yes (DONE attribute 4"*) ok "tlstagd: session tags supported" ;;
*) fail "tlstagd does not report session tags: ${line:-no startup line}" ;;
esac
grep -q "listening for handshake requests" "$d/log" ||
	fail "tlstagd did not start listening"

# 5. The clients, one after the other: session ids follow this order.
subject() { certtool -i --infile "$pki/$1.pem" 2>/dev/null |
	sed -n 's/^[[:space:]]*Subject: //p' | head -n 1
	[ "$1" = mallory ] && echo " (Rogue CA)"; }
tls_stat() { awk -v k="$1" '$1 == k { print $2 }' /proc/net/tls_stat; }
rx0=$(tls_stat TlsRxSw) tx0=$(tls_stat TlsTxSw)
nsessions() { wc -l <$dbg/sessions; }
n=0
for c in "${clients[@]}"; do
	n=$((n + 1))
	msg="hello from $c over kTLS $RANDOM"
	fifo=/tmp/cli-$c.in
	rm -f "$fifo"
	mkfifo "$fifo"
	timeout 40 gnutls-cli --x509cafile "$pki/ca.pem" \
		--x509certfile "$pki/$c.pem" --x509keyfile "$pki/$c.key" \
		--sni-hostname server.test --verify-hostname server.test \
		--priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3' \
		-p $port 127.0.0.1 <"$fifo" >"/tmp/cli-$c.out" 2>"/tmp/cli-$c.err" &
	cpid=$!
	exec 3>"$fifo"
	echo "$msg" >&3
	got=0
	for _ in $(seq 1 150); do
		grep -qxF "$msg" "/tmp/cli-$c.out" 2>/dev/null && { got=1; break; }
		kill -0 "$cpid" 2>/dev/null || break
		sleep 0.2
	done
	exec 3>&-
	wait "$cpid"
	cst=$?
	if [ "$c" = mallory ]; then
		[ "$got" = 0 ] && ok "$c: no echo (gnutls-cli status $cst)" ||
			fail "$c: untrusted client got an echo"
	elif [ "$got" = 1 ]; then
		ok "$c: echo came back over kTLS"
	else
		fail "$c: no echo (gnutls-cli status $cst)"
		sed 's/^/  gnutls-cli| /' "/tmp/cli-$c.err" | tail -n 5
	fi
	# Wait for the kernel to have the session's completion recorded.
	for _ in $(seq 1 125); do
		[ "$(nsessions)" -ge "$n" ] && break
		sleep 0.2
	done
done
sleep 0.5

# Four sessions had both directions of kTLS installed (software crypto).
rx=$(( $(tls_stat TlsRxSw) - rx0 )) tx=$(( $(tls_stat TlsTxSw) - tx0 ))
[ "$rx" = 4 ] && [ "$tx" = 4 ] && ok "kTLS installed on 4 server sockets (TlsRxSw +$rx, TlsTxSw +$tx)" ||
	fail "kTLS counters: TlsRxSw +$rx, TlsTxSw +$tx, expected +4 each"

# 6. What the kernel delivered.
echo "--- $dbg/sessions"
cat $dbg/sessions
echo "--- pending: $(cat $dbg/pending)"
[ "$(cat $dbg/pending)" = 0 ] && ok "no handshake pending" ||
	fail "$(cat $dbg/pending) handshake(s) still pending"
[ "$(nsessions)" = "${#clients[@]}" ] && ok "${#clients[@]} sessions completed" ||
	fail "$(nsessions) sessions completed, expected ${#clients[@]}"

rows=()
id=0
for c in "${clients[@]}"; do
	id=$((id + 1))
	l=$(grep -m1 "^$id " $dbg/sessions)
	st=$(sed -n 's/.* status=\([-0-9]*\) .*/\1/p' <<<"$l")
	peer=$(sed -n 's/.* peerid=\([0-9]*\) .*/\1/p' <<<"$l")
	tags=$(sed -n 's/.* tags=\(.*\)$/\1/p' <<<"$l")
	if [ -z "$l" ]; then
		fail "session $id ($c): no completion recorded"
		st="?" tags="?"
	elif [ "$c" = mallory ]; then
		[ "$st" != 0 ] && [ "$tags" = - ] &&
			ok "session $id ($c, untrusted CA): status $st, no tags" ||
			fail "session $id ($c, untrusted CA): '$l', expected a failure without tags"
	else
		[ "$st" = 0 ] && [ "$tags" = "${want[$c]}" ] &&
			ok "session $id ($c): status 0, tags $tags" ||
			fail "session $id ($c): '$l', expected status=0 tags=${want[$c]}"
		[ "${peer:-0}" != 0 ] && ok "session $id ($c): peer identity key $peer" ||
			fail "session $id ($c): no peer identity (peerid=${peer:-none})"
	fi
	if [ "$st" != 0 ]; then
		decision="denied (handshake failed, status $st)"
	elif [[ ",$tags," == *",$allowed_tag,"* ]]; then
		decision="granted: tag $allowed_tag"
	else
		decision="denied"
	fi
	rows+=("$(subject "$c" | paste -sd '' -)|${tags}|${decision}")
done

echo
echo "allow_tags = $allowed_tag"
{
	echo "CLIENT CERTIFICATE SUBJECT|KERNEL TAGS|DECISION"
	printf '%s\n' "${rows[@]}"
} | column -t -s '|' 2>/dev/null || printf '%s\n' "${rows[@]}"
echo

# 7. Unload with work in flight: one echo session open (its worker blocked
#    in recvmsg) and one handshake pending (tlstagd stopped with SIGSTOP,
#    so the request stays queued); rmmod must cancel and close both.
echo x >$dbg/reset
fifo=/tmp/cli-open.in
rm -f "$fifo"
mkfifo "$fifo"
timeout 60 gnutls-cli --x509cafile "$pki/ca.pem" \
	--x509certfile "$pki/bob.pem" --x509keyfile "$pki/bob.key" \
	--sni-hostname server.test --verify-hostname server.test \
	--priority 'NORMAL:-VERS-ALL:+VERS-TLS1.3' \
	-p $port 127.0.0.1 <"$fifo" >/tmp/cli-open.out 2>/tmp/cli-open.err &
opid=$!
exec 3>"$fifo"
echo "still here" >&3
for _ in $(seq 1 150); do
	grep -qxF "still here" /tmp/cli-open.out 2>/dev/null && break
	sleep 0.2
done
grep -qxF "still here" /tmp/cli-open.out && ok "open echo session" ||
	fail "no echo on the session kept open"
kill -STOP "$apid"
exec 4<>/dev/tcp/127.0.0.1/$port
for _ in $(seq 1 50); do
	[ "$(cat $dbg/pending)" = 1 ] && break
	sleep 0.2
done
[ "$(cat $dbg/pending)" = 1 ] && ok "one handshake pending (agent stopped)" ||
	fail "pending is $(cat $dbg/pending), expected 1"
t0=$(date +%s.%N)
if rmmod tagtest; then
	ok "rmmod tagtest with an echo session open and a handshake pending ($(awk -v a="$t0" -v b="$(date +%s.%N)" 'BEGIN { printf "%.2f", b - a }') s)"
else
	fail "rmmod tagtest (busy)"
fi
[ -e $dbg ] && fail "$dbg still present after rmmod"
exec 4<&- 3>&-
kill -CONT "$apid"
wait "$opid" 2>/dev/null

# 8. Stop the agent.
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
sed 's/^/  tlstagd| /' "$d/log" | tail -n 40
cp "$d/log" "$out/tlstagd.log" 2>/dev/null
dmesg | grep -a 'tagtest' | sed 's/^/  dmesg| /'

echo "tags: $fails failure(s)"
[ "$fails" = 0 ]
