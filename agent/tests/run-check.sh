#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Runs every test of the agent and of its policy engine and ends with ONE
# line "N passed, N failed" (the sum). Sub-suites' own summary lines are
# shown prefixed so that only the last line has that form.
# Environment (from the Makefile): B, TESTS, FUZZERS, FUZZ_SECONDS, MAKE.
set -u
B=${B:-build}
MAKE=${MAKE:-make}
FUZZ_SECONDS=${FUZZ_SECONDS:-10}
top=$(pwd)
certs=$top/$B/test/certs
data=$top/tests/data
log=$top/$B/test/logs
mkdir -p "$log"
passed=0
failed=0

export ASAN_OPTIONS=${ASAN_OPTIONS:-detect_leaks=1:abort_on_error=1}
export UBSAN_OPTIONS=${UBSAN_OPTIONS:-print_stacktrace=1:halt_on_error=1}

# add LINE: adds the counts of a "N passed, N failed" line.
add() {
	p=$(echo "$1" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\1/p')
	f=$(echo "$1" | sed -n 's/^\([0-9][0-9]*\) passed, \([0-9][0-9]*\) failed$/\2/p')
	if [ -z "$p" ]; then
		return 1
	fi
	passed=$((passed + p))
	failed=$((failed + f))
}

# suite NAME CMD...: runs a suite, shows its output prefixed, adds its counts.
suite() {
	name=$1
	shift
	"$@" >"$log/$name.out" 2>&1
	rc=$?
	sed "s/^/[$name] /" "$log/$name.out"
	last=$(grep -E '^[0-9]+ passed, [0-9]+ failed$' "$log/$name.out" | tail -n 1)
	if ! add "$last"; then
		echo "[$name] no summary line (exit $rc): counted as 1 failure"
		failed=$((failed + 1))
	elif [ $rc -ne 0 ] && [ "$(echo "$last" | sed 's/.* \([0-9]*\) failed/\1/')" = 0 ]; then
		echo "[$name] exited $rc despite 0 failures: counted as 1 failure"
		failed=$((failed + 1))
	fi
}

ok() { passed=$((passed + 1)); echo "[cli] ok   $1"; }
ko() { failed=$((failed + 1)); echo "[cli] FAIL $1"; }

echo "== policy engine (make -C policy check)"
suite policy $MAKE -s -C policy check

echo "== test PKI"
sh tests/gen-certs.sh "$certs" || { echo "certtool failed"; failed=$((failed + 1)); }

echo "== agent unit tests (ASan+UBSan+LSan)"
for t in $TESTS; do
	case $t in
	test_config|test_handshake|test_daemon) suite "$t" "$B/test/$t" "$certs" "$data" ;;
	test_nlcodec) TT_SEED_DIR=$top/$B/fuzz/seeds suite "$t" "$B/test/$t" ;;
	test_report) TT_SEED_DIR=$top/$B/fuzz/seeds suite "$t" "$B/test/$t" ;;
	test_sandbox) suite "$t" "$B/test/$t" "$certs/server.key" ;;
	test_keyholder) TT_SEED_DIR=$top/$B/fuzz/seeds suite "$t" "$B/test/$t" "$certs" ;;
	*) suite "$t" "$B/test/$t" ;;
	esac
done

echo "== command line (release build)"
bin=$B/tlstagd
cfg=$log/cli.conf
cat >"$cfg" <<T
[global]
tags-dir = $data/tags.d
[trust]
ca-file = $certs/ca.pem
[server]
certificate = $certs/server.pem
private-key = $certs/server.key
T
if "$bin" --check-config --config "$cfg" >"$log/cli1.out" 2>&1 &&
   grep -q "3 tag(s), 4 filter(s)" "$log/cli1.out"; then
	ok "--check-config on a good file exits 0 with a summary"
else
	ko "--check-config on a good file"; cat "$log/cli1.out"
fi
printf '[global]\nmax-in-flight = none\n' >"$log/bad.conf"
"$bin" --check-config -c "$log/bad.conf" >"$log/cli2.out" 2>&1
rc=$?
if [ $rc -eq 1 ] && grep -q "bad.conf:2: \[global\] max-in-flight" "$log/cli2.out"; then
	ok "--check-config on a bad file prints file:line: reason, exits 1"
else
	ko "--check-config on a bad file (exit $rc)"; cat "$log/cli2.out"
fi
# What tlshd tolerates loads with a warning; where tlshd would decide
# differently, --check-config says so (in a zone that is not UTC, the
# local-time reading of thresholds too).
mkdir -p "$log/tlshd.d"
cat >"$log/tlshd.d/t.yml" <<'T'
filters:
  v3:
    type: x509.tbs.version
    pattern: "3"
    purpose: [digitalSignature]
  recent:
    type: x509.tbs.validity.notBefore
    pattern: "2024-1-1 0:00:00Z"
tags:
  everyone:
    filter: []
  recent-v3:
    filter: [v3, recent]
T
sed "s|^tags-dir = .*|tags-dir = $log/tlshd.d|" "$cfg" >"$log/tlshd.conf"
TZ=Europe/Berlin "$bin" --check-config -c "$log/tlshd.conf" >"$log/cli5.out" 2>&1
rc=$?
if [ $rc -eq 0 ] && grep -q "1 tag(s), 2 filter(s)" "$log/cli5.out" &&
   grep -q "t.yml:5: warning: filter 'v3': type x509.tbs.version takes pattern:, its purpose: is ignored" "$log/cli5.out" &&
   grep -q "t.yml:11: warning: tag 'everyone' has an empty filter list: no certificate earns it" "$log/cli5.out" &&
   grep -q "^where tlshd would decide differently" "$log/cli5.out" &&
   grep -q "t.yml:8: tlshd's code compares notBefore the other way round" "$log/cli5.out" &&
   grep -q "t.yml:8: tlshd reads the time of filter 'recent' in this machine's time zone (UTC+01:00)" "$log/cli5.out" &&
   "$bin" --explain "$certs/alice.pem" -c "$log/tlshd.conf" >"$log/cli6.out" 2>&1 &&
   grep -q "tags earned (1): recent-v3" "$log/cli6.out" &&
   grep -q "t.yml:11: tag 'everyone' has an empty filter list" "$log/cli6.out"; then
	ok "tlshd-tolerated policy loads with warnings; --check-config names where tlshd differs"
else
	ko "tlshd-tolerated policy (exit $rc)"; cat "$log/cli5.out" "$log/cli6.out"
fi
if "$bin" --explain "$certs/alice.pem" -c "$cfg" >"$log/cli3.out" 2>&1 &&
   grep -q "tags earned (2): alice example-members" "$log/cli3.out" &&
   grep -q "FAILED self-signed" "$log/cli3.out"; then
	ok "--explain lists earned tags and failed filters"
else
	ko "--explain"; cat "$log/cli3.out"
fi
"$bin" --foreground -c "$cfg" >"$log/cli4.out" 2>&1 &
pid=$!
sleep 2
if kill -0 $pid 2>/dev/null; then
	# The kernel has the family: the daemon is running; stop it cleanly.
	kill -TERM $pid
	wait $pid
	rc=$?
	if [ $rc -eq 0 ] && grep -q "session tags" "$log/cli4.out"; then
		ok "daemon started (kernel has the handshake family) and stopped on SIGTERM"
	else
		ko "daemon start/stop (exit $rc)"; cat "$log/cli4.out"
	fi
else
	wait $pid
	rc=$?
	if [ $rc -ne 0 ] && grep -q 'no "handshake" generic netlink family' "$log/cli4.out"; then
		ok "no handshake family: clear message, exit $rc"
	else
		ko "daemon without handshake family (exit $rc)"; cat "$log/cli4.out"
	fi
fi
# In tlshd's place: a link named tlshd, tlshd's options (-s, -v, -c), a
# tlshd configuration file; it does not detach, and -s logs to stderr.
ln -sf "$top/$bin" "$log/tlshd"
printf '[debug]\nloglevel=1\n[authenticate.server]\nx509.truststore=%s\nx509.certificate=%s\nx509.private_key=%s\n' \
	"$certs/ca.pem" "$certs/server.pem" "$certs/server.key" >"$log/tlshd-config"
timeout 10 "$log/tlshd" -s -c "$log/tlshd-config" >"$log/cli7.out" 2>&1 &
pid=$!
sleep 2
if kill -0 $pid 2>/dev/null; then
	kill -TERM $pid
	wait $pid
	rc=$?
	want="session tags"
else
	wait $pid
	rc=$?
	want='no "handshake" generic netlink family'
fi
if [ $rc -ne 124 ] && grep -q "$want" "$log/cli7.out" &&
   "$log/tlshd" -v 2>&1 | grep -q tlstagd &&
   "$bin" --check-config -c "$log/tlshd-config" | grep -q "OK (tlshd's format"; then
	ok "run as tlshd: tlshd's options and configuration, logs to stderr with -s"
else
	ko "run as tlshd (exit $rc)"; cat "$log/cli7.out"
fi
if "$bin" --help | grep -q -- "--explain" && "$bin" --version | grep -q tlstagd; then
	ok "--help and --version"
else
	ko "--help/--version"
fi

echo "== libFuzzer targets (${FUZZ_SECONDS}s each)"
for fz in $FUZZERS; do
	name=${fz#fuzz_}
	corpus=$B/fuzz/corpus/$name
	mkdir -p "$corpus"
	case $name in
	accept) seeds="$B/fuzz/seeds/accept" ;;
	ctrl) seeds="$B/fuzz/seeds/ctrl $B/fuzz/seeds/done" ;;
	config) seeds="tests/fuzz/seeds/config" ;;
	report) seeds="$B/fuzz/seeds/report" ;;
	keysign) seeds="$B/fuzz/seeds/keysign" ;;
	*) seeds="" ;;
	esac
	nice -n 10 "$B/fuzz/$fz" -max_total_time="$FUZZ_SECONDS" \
		-print_final_stats=1 -artifact_prefix="$B/fuzz/" \
		"$corpus" $seeds >"$log/$fz.out" 2>&1
	rc=$?
	execs=$(sed -n 's/^stat::number_of_executed_units: *//p' "$log/$fz.out")
	if [ $rc -eq 0 ]; then
		passed=$((passed + 1))
		echo "[fuzz] ok   $fz: ${execs:-?} executions, no crash"
	else
		failed=$((failed + 1))
		echo "[fuzz] FAIL $fz (exit $rc)"
		tail -n 30 "$log/$fz.out"
	fi
done

echo "$passed passed, $failed failed"
[ $failed -eq 0 ]
