#!/bin/bash
# vm/scenarios/agent.sh - runs inside the VM (vm/run vm/scenarios/agent.sh).
# The agent's own test programs whose checks need what only the patched
# kernel has: kTLS (the "tls" ULP) and the handshake generic netlink family
# with session tags. On a host without them those checks are skipped; here
# TT_KERNEL_FEATURES makes a skip a failure. The programs are the ASan/UBSan
# builds of `make -C agent check`, run from the tree.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${VM_TOP:?run scenarios with vm/run}/vm/scenarios/lib.sh" || exit 1

echo "kernel: $(uname -srv)"
check_kernel_release
check_kernel_build
[ -e /proc/net/tls_stat ] || modprobe tls 2>/dev/null

tests=$top/agent/build/test
certs=/tmp/agent-pki
export TT_KERNEL_FEATURES=1
# LeakSanitizer's report of a child that exits through _exit is noise.
export ASAN_OPTIONS=detect_leaks=1:abort_on_error=0
if ! sh "$top/agent/tests/gen-certs.sh" "$certs" >/dev/null; then
	fail "test PKI (certtool)"
fi

# run NAME ARGS...: one test program; its "N passed, N failed" line decides.
run() {
	local name=$1 last
	shift
	if [ ! -x "$tests/$name" ]; then
		fail "$name: not built (make -C agent $tests/$name)"
		return
	fi
	"$tests/$name" "$@" >"$out/$name.log" 2>&1
	local rc=$?
	last=$(tail -n 1 "$out/$name.log")
	grep -E '^(FAIL|  kTLS|  this kernel|  Ed25519)' "$out/$name.log" | head -20
	if [ $rc -eq 0 ] && [[ "$last" =~ ^[0-9]+\ passed,\ 0\ failed$ ]]; then
		ok "$name: $last"
	else
		fail "$name: exit $rc: $last"
		tail -n 30 "$out/$name.log"
	fi
}

run test_live_netlink
# With TT_KERNEL_FEATURES, a handshake that both sides completed without
# kTLS fails its check (a side whose peer gave up may still lack it).
run test_handshake "$certs" "$top/agent/tests/data"

echo "agent: $fails failure(s)"
[ "$fails" -eq 0 ]
