#!/bin/bash
# vm/scenarios/ciphers.sh - runs inside the VM (vm/run vm/scenarios/ciphers.sh
# [base|debug]). kTLS carries data with every TLS 1.3 cipher the agent and
# the kernel share: for each, a client (build/vm/tools/tlspeer) forces the
# cipher, tlstagd serves the test module's (tagtest.ko) handshake and puts
# the keys on its socket, and data goes both ways through the kernel's
# TLS: the module echoes it and records which cipher kTLS held. Then the
# client sends a KeyUpdate; 6.12's kTLS cannot take new keys, so the
# module sees a handshake record (type 22) and ends the session, and the
# client sees the end with no stray data, and no record fails to decrypt.
# Exit status 0 when every check passed.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${VM_TOP:?run scenarios with vm/run}/vm/scenarios/lib.sh" || exit 1
variant=${1:-}
[ -n "$variant" ] || variant=$(kernel_variant)
ko=$top/build/vm/module/$variant/tagtest.ko
peer=$top/build/vm/tools/tlspeer
echo "kernel: $(uname -srv) ($variant); module $ko"
[ -x "$peer" ] || { fail "no $peer (make -C vm/tools)"; exit 1; }

pki_begin
alice_tmpl 13
pki_cert ca
for n in server alice; do
	pki_cert "$n" ca
done
pki_end
write_policy plain
write_conf -
agent_check_config quiet
tagtest_load "$ko"
echo x >$dbg/reset
agent_start
agent_listening || fail "tlstagd did not start listening"

# GnuTLS's name, the kernel's name (tagtest's echoes file).
ciphers=(AES-128-GCM:aes-gcm-128 AES-256-GCM:aes-gcm-256
	CHACHA20-POLY1305:chacha20-poly1305 AES-128-CCM:aes-ccm-128)
bytes=262144
n=0
dec0=$(tls_stat TlsDecryptError)
for c in "${ciphers[@]}"; do
	g=${c%%:*} k=${c#*:}
	n=$((n + 1))
	rx0=$(tls_stat TlsRxSw) tx0=$(tls_stat TlsTxSw)
	timeout 120 "$peer" echo --ca "$pki/ca.pem" --cert "$pki/alice.pem" \
		--key "$pki/alice.key" --name server.test --bytes $bytes \
		--priority "NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:+$g" \
		--key-update 127.0.0.1 $port >"/tmp/cipher-$n.out" 2>&1
	pst=$?
	sed "s/^/  tlspeer $g| /" "/tmp/cipher-$n.out"
	grep -qx "cipher: $g" "/tmp/cipher-$n.out" &&
		grep -qx "echo: $bytes bytes both ways, identical" "/tmp/cipher-$n.out" &&
		ok "$g: the client negotiated it; $bytes bytes came back identical" ||
		fail "$g: negotiation or echo failed (tlspeer status $pst)"
	grep -qx "key-update: the peer ended the session, no data after it (close_notify)" "/tmp/cipher-$n.out" &&
		[ "$pst" = 0 ] &&
		ok "$g: a KeyUpdate from the client ends the session cleanly" ||
		fail "$g: KeyUpdate: $(grep '^key-update' "/tmp/cipher-$n.out")"
	# The module writes its line when the echo loop ends.
	wait_for 60 echo_line "$n"
	[ "$l" = "$n tx=$k rx=$k bytes=$bytes end=record:22" ] &&
		ok "$g: kTLS held $k both ways, echoed $bytes bytes, ended at the KeyUpdate record (22)" ||
		fail "$g: the kernel recorded '${l:-nothing}', expected '$n tx=$k rx=$k bytes=$bytes end=record:22'"
	rx=$(( $(tls_stat TlsRxSw) - rx0 )) tx=$(( $(tls_stat TlsTxSw) - tx0 ))
	[ "$rx" = 1 ] && [ "$tx" = 1 ] && ok "$g: kTLS installed (TlsRxSw +1, TlsTxSw +1)" ||
		fail "$g: TlsRxSw +$rx, TlsTxSw +$tx, expected +1 each"
done
dec=$(( $(tls_stat TlsDecryptError) - dec0 ))
[ "$dec" = 0 ] && ok "no record failed to decrypt (TlsDecryptError +0)" ||
	fail "TlsDecryptError +$dec"
wait_sessions $n
awk '{ print $2 }' $dbg/sessions | sort | uniq -c | grep -qx " *$n status=0" &&
	ok "$n handshakes completed with status 0" ||
	fail "sessions: $(tr '\n' ';' <$dbg/sessions)"
echo "--- $dbg/echoes"
cat $dbg/echoes

agent_finish 20
rmmod tagtest && ok "rmmod tagtest" || fail "rmmod tagtest"
echo "ciphers: $fails failure(s)"
[ "$fails" = 0 ]
