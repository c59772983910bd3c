#!/bin/bash
# vm/scenarios/agent-bench.sh - runs inside the VM (make bench, through
# scripts/bench-agent.sh: vm/run --icount ... [ROUNDS [COUNT]], default 6
# rounds of 8 clients x 8 handshakes). Handshakes per second with 8
# concurrent clients (build/vm/tools/tlspeer rate, mutual TLS 1.3, P-256):
#   agent  the kernel consumer tagtest.ko hands each connection to the
#          handshake layer; tlstagd serves it as it serves NFS (upcall,
#          a sandboxed child, the key holder signing, the policy, kTLS on
#          the socket, DONE with tags);
#   limit  the same handshakes against a GnuTLS-only server in userspace
#          (tlspeer serve: a thread per connection, same certificate and
#          client-certificate check), with no agent and no kernel upcall.
# The modes alternate round by round; the figure is the ratio of their
# rates (agent / limit) per round, its median and range. Figures, not
# tests: the exit status only says whether the setup worked.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${VM_TOP:?run scenarios with vm/run}/vm/scenarios/lib.sh" || exit 1
rounds=${1:-6}
count=${2:-8}
clients=8
limit_port=5555
peer=$top/build/vm/tools/tlspeer
variant=$(kernel_variant)
ko=$top/build/vm/module/$variant/tagtest.ko
icount=$(cat "$out/icount" 2>/dev/null)
echo "kernel: $(uname -srv); $(nproc) CPU; $(awk '/MemTotal/ { print int($2 / 1024) " MiB" }' /proc/meminfo)"
[ -n "$icount" ] &&
	echo "clock: qemu -icount $icount: guest time counts executed guest instructions" ||
	echo "note: no instruction counting: guest time follows the host's TCG speed and load"

pki_begin
alice_tmpl 13
pki_cert ca
pki_cert server ca
pki_cert alice ca
pki_end
write_policy plain
write_conf -
agent_check_config quiet
tagtest_load "$ko"
agent_start
agent_listening || { fail "tlstagd did not start"; exit 1; }
"$peer" serve --cert "$pki/server.pem" --key "$pki/server.key" \
	--ca "$pki/ca.pem" $limit_port >/tmp/serve.out 2>&1 &
spid=$!
sleep 1

# rate PORT: tlspeer rate's handshakes per second against PORT, or nothing.
rate() {
	"$peer" rate --ca "$pki/ca.pem" --cert "$pki/alice.pem" \
		--key "$pki/alice.key" --name server.test \
		--parallel $clients --count "$count" 127.0.0.1 "$1" >/tmp/rate.out 2>&1
	local st=$?
	cat /tmp/rate.out >>/tmp/rates.log
	[ $st = 0 ] && sed -n 's/.*: \([0-9.]*\)\/s$/\1/p' /tmp/rate.out
}
rate $port >/dev/null && rate $limit_port >/dev/null ||
	{ fail "warm-up: $(</tmp/rate.out)"; exit 1; }
echo x >$dbg/reset
ratios=() ra=() rl=()
for r in $(seq 1 "$rounds"); do
	a=$(rate $port) || a=
	l=$(rate $limit_port) || l=
	if [ -z "$a" ] || [ -z "$l" ]; then
		fail "round $r: a run failed: $(</tmp/rate.out)"
		continue
	fi
	ra+=("$a") rl+=("$l")
	ratios+=("$(awk -v a="$a" -v l="$l" 'BEGIN { printf "%.3f", a / l }')")
	echo "round $r: agent $a/s, GnuTLS-only $l/s, ratio ${ratios[-1]}"
done
kill "$spid" 2>/dev/null
wait "$spid" 2>/dev/null
bad=$(awk '$2 != "status=0"' $dbg/sessions | wc -l)
[ "$bad" = 0 ] && ok "every agent handshake completed with status 0 ($(nsessions))" ||
	fail "$bad agent handshake(s) failed"
agent_finish 5
rmmod tagtest

med() { printf '%s\n' "$@" | sort -g | awk '{ v[NR] = $1 } END {
	printf "%.3f", NR % 2 ? v[(NR + 1) / 2] : (v[NR / 2] + v[NR / 2 + 1]) / 2 }'; }
if [ ${#ratios[@]} -gt 0 ]; then
	echo "Handshakes with $clients concurrent clients ($rounds rounds of $((clients * count)))"
	echo "  agent (tagtest.ko + tlstagd):   median $(med "${ra[@]}")/s"
	echo "  GnuTLS-only server (the limit): median $(med "${rl[@]}")/s"
	echo "  ratio agent / limit: median $(med "${ratios[@]}"), range $(printf '%s\n' "${ratios[@]}" | sort -g | head -n 1)..$(printf '%s\n' "${ratios[@]}" | sort -g | tail -n 1)"
	echo "(end of figures)"
fi
[ "$fails" = 0 ]
