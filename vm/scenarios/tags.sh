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
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${VM_TOP:?run scenarios with vm/run}/vm/scenarios/lib.sh" || exit 1
variant=${1:-}
# The tag an NFSD export would list in allow_tags, for the decision column
allowed_tag=example-staff

# The module built for the running kernel variant (the debug kernel has
# kmemleak; the base one does not).
[ -n "$variant" ] || variant=$(kernel_variant)
ko=$top/build/vm/module/$variant/tagtest.ko
echo "kernel: $(uname -srv) ($variant); module $ko"

# 1. Test PKI: CA, server, clients earning 0, 1, 3 tags, one that "not"
#    excludes from a tag, one issued by an untrusted CA.
pki_begin
rogue_ca_tmpl
client_tmpl nobody 11 'organization = "Other"'
client_tmpl bob 12 'organization = "Example"'
client_tmpl carol 14 'unit = "eng"' 'organization = "Example"' \
	'uri = "spiffe://example.org/contractors/carol"'
# mallory: alice's very subject and SAN, from a CA that is not trusted
alice_tmpl 15
mv alice.tmpl mallory.tmpl
alice_tmpl 13
pki_cert ca
pki_cert rogue-ca
for n in server nobody bob alice carol mallory; do
	issuer=ca
	[ "$n" = mallory ] && issuer=rogue-ca
	pki_cert "$n" "$issuer"
done
pki_end

# 2. Policy and agent configuration.
write_policy contractors
write_conf -
agent_check_config quiet

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
	e=$(explain_tags "$c")
	case "$e" in ""|"(none)") e=- ;; esac
	[ "$e" = "${want[$c]}" ] && ok "tlstagd --explain $c: $e" ||
		fail "tlstagd --explain $c: '$e', policy should give '${want[$c]}'"
done

# 3. The module.
tagtest_load "$ko"
echo x >$dbg/reset

# 4. The agent.
agent_start
case "$line" in
*"session tags yes (DONE attribute 4"*) ok "tlstagd: session tags supported" ;;
*) fail "tlstagd does not report session tags: ${line:-no startup line}" ;;
esac
agent_listening ||
	fail "tlstagd did not start listening"

# 5. The clients, one after the other: session ids follow this order.
subject() { certtool -i --infile "$pki/$1.pem" 2>/dev/null |
	sed -n 's/^[[:space:]]*Subject: //p' | head -n 1
	[ "$1" = mallory ] && echo " (Rogue CA)"; }
rx0=$(tls_stat TlsRxSw) tx0=$(tls_stat TlsTxSw)
n=0
for c in "${clients[@]}"; do
	n=$((n + 1))
	client_echo "$c" "$c" "hello from $c over kTLS $RANDOM"
	if [ "$c" = mallory ]; then
		[ "$got" = 0 ] && ok "$c: no echo (gnutls-cli status $cst)" ||
			fail "$c: untrusted client got an echo"
	else
		check_echo "$c" "$c"
	fi
	# Wait for the kernel to have the session's completion recorded.
	wait_sessions "$n"
done
nap 0.5

# Four sessions had both directions of kTLS installed (software crypto).
rx=$(( $(tls_stat TlsRxSw) - rx0 )) tx=$(( $(tls_stat TlsTxSw) - tx0 ))
[ "$rx" = 4 ] && [ "$tx" = 4 ] && ok "kTLS installed on 4 server sockets (TlsRxSw +$rx, TlsTxSw +$tx)" ||
	fail "kTLS counters: TlsRxSw +$rx, TlsTxSw +$tx, expected +4 each"

# 6. What the kernel delivered.
echo "--- $dbg/sessions"
cat $dbg/sessions
echo "--- pending: $(<$dbg/pending)"
check_no_pending
[ "$(nsessions)" = "${#clients[@]}" ] && ok "${#clients[@]} sessions completed" ||
	fail "$(nsessions) sessions completed, expected ${#clients[@]}"

rows=()
id=0
for c in "${clients[@]}"; do
	id=$((id + 1))
	session_fields "$id"
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
		check_peer "session $id ($c)"
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

# 6b. A live handshake child as an administrator sees it: a client that
#     connects and stays silent keeps one child waiting for its hello,
#     after ACCEPT, so it is sandboxed: no capability, no_new_privs, a
#     seccomp filter, and none of the parent's netlink sockets.
echo x >$dbg/reset
exec 5<>/dev/tcp/127.0.0.1/$port
child=
# sandboxed_child: tlstagd has a handshake child ($child) under its seccomp filter.
sandboxed_child() {
	child=$(agent_children | head -n 1)
	[ -n "$child" ] && [ "$(proc_status "$child" Seccomp)" = 2 ]
}
wait_for 30 sandboxed_child
if [ -z "$child" ]; then
	fail "no handshake child for a silent client"
else
	bad=
	for f in CapInh CapPrm CapEff CapBnd CapAmb; do
		v=$(proc_status "$child" $f)
		[ "$v" = 0000000000000000 ] || bad+=" $f=$v"
	done
	[ "$(proc_status "$child" NoNewPrivs)" = 1 ] || bad+=" NoNewPrivs=$(proc_status "$child" NoNewPrivs)"
	[ "$(proc_status "$child" Seccomp)" = 2 ] || bad+=" Seccomp=$(proc_status "$child" Seccomp)"
	[ -z "$bad" ] && ok "handshake child $child: no capabilities, no_new_privs, seccomp filter" ||
		fail "handshake child $child:$bad"
	pn=$(netlink_fds "$apid") cn=$(netlink_fds "$child")
	[ "$pn" -ge 1 ] && [ "$cn" = 0 ] &&
		ok "netlink sockets: tlstagd $pn, its handshake child none" ||
		fail "netlink sockets: tlstagd $pn, handshake child $cn (expected >= 1 and 0)"
fi
# ... and the key holder, the one process with the private keys: it signs
# for the children, with no netlink socket and no capability but reading
# files (CAP_DAC_READ_SEARCH, bit 2).
kp=$(key_holder)
if [ -z "$kp" ]; then
	fail "no key holder (tlstagd-keys) under tlstagd $apid"
else
	kb=
	[ "$(netlink_fds "$kp")" = 0 ] || kb+=" netlink=$(netlink_fds "$kp")"
	for f in CapEff CapPrm CapBnd; do
		v=$(proc_status "$kp" $f)
		[ "$v" = 0000000000000004 ] || [ "$v" = 0000000000000000 ] || kb+=" $f=$v"
	done
	[ "$(proc_status "$kp" NoNewPrivs)" = 1 ] || kb+=" NoNewPrivs=$(proc_status "$kp" NoNewPrivs)"
	[ -z "$kb" ] && ok "key holder $kp: no netlink socket, capabilities at most CAP_DAC_READ_SEARCH, no_new_privs" ||
		fail "key holder $kp:$kb"
fi
exec 5<&-
wait_sessions 1
# (ids go on counting across a reset: take the one session recorded)
l=$(tail -n 1 $dbg/sessions)
st=$(sed -n 's/.* status=\([-0-9]*\) .*/\1/p' <<<"$l")
tags=$(sed -n 's/.* tags=\(.*\)$/\1/p' <<<"$l")
[ -n "$l" ] && [ "$st" != 0 ] && [ "$tags" = - ] &&
	ok "the silent client's handshake failed without tags (status $st)" ||
	fail "silent client's session: '${l:-none}'"
kill -0 "$apid" 2>/dev/null && ok "tlstagd still serving" || fail "tlstagd died"

# 7. Unload with work in flight: one echo session open (its worker blocked
#    in recvmsg) and one handshake pending (tlstagd stopped with SIGSTOP,
#    so the request stays queued); rmmod must cancel and close both.
echo x >$dbg/reset
client_start 60 bob open
opid=$cpid
echo "still here" >&3
wait_for 30 echoed /tmp/cli-open.out "still here"
echoed /tmp/cli-open.out "still here" && ok "open echo session" ||
	fail "no echo on the session kept open"
kill -STOP "$apid"
exec 4<>/dev/tcp/127.0.0.1/$port
one_pending() { [ "$(<$dbg/pending)" = 1 ]; }
wait_for 30 one_pending
[ "$(<$dbg/pending)" = 1 ] && ok "one handshake pending (agent stopped)" ||
	fail "pending is $(<$dbg/pending), expected 1"
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
agent_finish 40
dmesg | grep -a 'tagtest' | sed 's/^/  dmesg| /'

echo "tags: $fails failure(s)"
[ "$fails" = 0 ]
