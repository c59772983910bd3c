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
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${VM_TOP:?run scenarios with vm/run}/vm/scenarios/lib.sh" || exit 1
variant=${1:-base}
ko=$top/build/vm/module/$variant/tagtest.ko
alice_tags="engineering,example-staff,nfs-clients"

# base and debug are both the patched kernel; notags is the unpatched one
case "$variant" in
base|debug) patched=yes ;;
notags) patched=no ;;
*) echo "compat: unknown variant '$variant' (base, debug or notags)"; exit 2 ;;
esac
echo "kernel: $(uname -srv) ($variant); module $ko"
check_kernel_build
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
pki_begin
alice_tmpl 13
pki_cert ca
for n in server alice; do
	pki_cert "$n" ca
done
pki_end

# 2. Policy (as tags.sh) and configuration.
write_policy plain
if [ "$patched" = yes ]; then
	write_conf no
else
	write_conf -
fi
echo "--- $d/tlstagd.conf"
cat "$d/tlstagd.conf"
agent_check_config show
if [ "$patched" = yes ]; then
	grep -q "session-tags: *no" "$d/check.out" &&
		ok "--check-config reports session-tags no" ||
		fail "--check-config does not report session-tags no"
fi
# The policy still gives alice three tags: what would be sent.
e=$(explain_tags alice)
[ "$e" = "$alice_tags" ] && ok "tlstagd --explain alice: $e (the policy matches)" ||
	fail "tlstagd --explain alice: '$e', expected $alice_tags"

# 3. The module.
tagtest_load "$ko"
dmesg | grep -a 'tagtest: listening' | tail -n 1 | sed 's/^/  dmesg| /'

# 4. The agent and its startup line.
agent_start
agent_listening && ok "tlstagd started" ||
	fail "tlstagd did not start listening"
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
n=0
session() {	# label expected-tags
	local label=$1 want=$2 cpid got cst l st peer tags rx0 tx0 rx tx
	n=$((n + 1))
	rx0=$(tls_stat TlsRxSw) tx0=$(tls_stat TlsTxSw)
	client_echo alice "$n" "hello from alice ($label) over kTLS $RANDOM"
	check_echo "$label" "$n"
	wait_sessions "$n"
	nap 0.3
	rx=$(( $(tls_stat TlsRxSw) - rx0 )) tx=$(( $(tls_stat TlsTxSw) - tx0 ))
	[ "$rx" = 1 ] && [ "$tx" = 1 ] &&
		ok "$label: kTLS installed on the server socket (TlsRxSw +1, TlsTxSw +1)" ||
		fail "$label: kTLS counters TlsRxSw +$rx, TlsTxSw +$tx, expected +1 each"
	session_fields "$n"
	echo "  sessions| ${l:-(none)}"
	if [ -z "$l" ]; then
		fail "$label: no completion recorded"
	else
		[ "$st" = 0 ] && [ "$tags" = "$want" ] &&
			ok "$label: session $n status 0, tags $tags" ||
			fail "$label: '$l', expected status=0 tags=$want"
		check_peer "$label"
	fi
}

if [ "$patched" = yes ]; then
	session "session-tags = no" -
	grep -q "tags not sent (disabled by configuration)" "$d/log" &&
		ok "tlstagd: tags not sent (disabled by configuration)" ||
		fail "tlstagd did not log 'tags not sent (disabled by configuration)'"
	# Control: the same client, session-tags = yes after a reload.
	write_conf yes
	count_of "$d/log" "configuration reloaded"
	nrel=$count
	kill -HUP "$apid"
	wait_for 30 reloaded_since "$nrel"
	reloaded_since "$nrel" &&
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
check_no_pending

# 6. Unload, stop the agent.
rmmod tagtest && ok "rmmod tagtest" || fail "rmmod tagtest"
agent_finish 20

echo "compat ($variant): $fails failure(s)"
[ "$fails" = 0 ]
