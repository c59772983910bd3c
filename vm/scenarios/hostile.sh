#!/bin/bash
# vm/scenarios/hostile.sh - runs inside the VM (vm/run vm/scenarios/hostile.sh).
# A hostile or broken handshake agent against the DONE handler with session
# tags (design: session-tags.md §2, §4). build/vm/tools/hsdone plays the
# agent: it ACCEPTs the request that vm/module's tagtest.ko submits for a
# TCP connection to 127.0.0.1:4433 and sends DONE messages crafted on its
# command line; the scenario checks each DONE's netlink errno and the
# completion tagtest recorded (debugfs tagtest/sessions). Part 1 needs no
# module. One line per case (ok/FAIL); exit status 0 when all passed.
set -u
# shellcheck source-path=SCRIPTDIR source=lib.sh
. "${VM_TOP:?run scenarios with vm/run}/vm/scenarios/lib.sh" || exit 1
H=$top/build/vm/tools/hsdone
T=/sys/kernel/debug/tagtest

# field LINE NAME: the value of NAME in an hsdone result line
# ("accept=0 fd=5 ... done1=-22 ..."), in $fv (empty if absent).
field() {
	fv=
	[[ " $1" =~ \ $2=([^ ]*) ]] && fv=${BASH_REMATCH[1]}
	return 0
}
# expect CASE LINE NAME=VALUE... : every field has the value.
expect() {
	local name=$1 line=$2 kv k v got bad=
	shift 2
	for kv in "$@"; do
		k=${kv%%=*} v=${kv#*=}
		field "$line" "$k"
		[ "$fv" = "$v" ] || bad+=" $k=${fv:-<none>} (want $v)"
	done
	if [ -z "$bad" ]; then ok "$name: $*"; else fail "$name:$bad [hsdone: $line]"; fi
}

if [ ! -x "$H" ]; then
	fail "no $H (make -C vm/tools)"
	echo "hostile: $fails failure(s)"
	exit 1
fi
unpriv=(setpriv --reuid=65534 --regid=65534 --clear-groups --inh-caps=-all)

# ---- Part 1: no request needed --------------------------------------
echo "-- part 1: DONE without a handshake request"
l=$("$H" -A done fd=9999 2>&1)
expect "DONE with an unknown sockfd (9999)" "$l" done1=-9
l=$("$H" -A done fd=self 2>&1)
expect "DONE for a socket that is not a handshake socket" "$l" done1=-16
l=$("$H" -A done fd=0 2>&1)
expect "DONE for an fd that is not a socket" "$l" done1=-88
l=$("$H" -A done fd=none 2>&1)
expect "DONE without a sockfd" "$l" done1=-22
l=$("$H" -A done fd=self status=4096 2>&1)
expect "DONE with status > MAX_ERRNO" "$l" done1=-34
l=$("$H" -A done fd=self tag= 2>&1)
expect "DONE with a zero-length tag (policy)" "$l" done1=-34
l=$("$H" -A done fd=self 'tag=\{256}x' 2>&1)
expect "DONE with a 256-byte tag (policy)" "$l" done1=-34
l=$("$H" -A done fd=self 'tag=\{256}x\0' 2>&1)
expect "DONE with a 256-byte tag + NUL (policy)" "$l" done1=-34
l=$("$H" -A done fd=self 'tag=\{255}x\0' 2>&1)
expect "DONE with a 255-byte tag + NUL passes the policy (EBUSY: no request)" "$l" done1=-16
l=$("$H" -A done fd=9999 unpriv 2>&1)
expect "DONE from uid 65534 without capabilities" "$l" done1=-1
l=$("${unpriv[@]}" "$H" -W done 2>&1)
expect "ACCEPT from uid 65534 without capabilities (setpriv)" "$l" accept=-1
l=$("${unpriv[@]}" "$H" -A done fd=9999 2>&1)
expect "DONE from uid 65534 without capabilities (setpriv)" "$l" done1=-1
l=$("$H" -W done 2>&1)
expect "ACCEPT with nothing pending" "$l" accept=-11

# ---- Part 2: against tagtest.ko ---------------------------------------
echo "-- part 2: DONE for requests of tagtest.ko"
# The module must be built against the running kernel: the variants
# share a release string (kernel_variant tells them apart).
variant=$(kernel_variant)
mod=$(find_module "$variant")
if [ -z "$mod" ]; then
	fail "tagtest.ko for $(uname -r) ($variant) not found (build/vm/module/$variant/tagtest.ko, vm/module/tagtest.ko; make -C vm/module VARIANT=$variant): part 2 not run"
	echo "hostile: $fails failure(s)"
	exit 1
fi
if ! insmod "$mod" port=$port timeout_ms=20000; then
	fail "insmod $mod: part 2 not run"
	echo "hostile: $fails failure(s)"
	exit 1
fi
ok "insmod ${mod#"$top"/}"
wait_for 30 test -r $T/pending

requests=0	# connections made to the module
# hs CASE HSDONE-ARGS...: a request for one new connection, answered by
# hsdone; sets $l (hsdone's line) and $rec (the session line recorded
# for it, waiting up to 5 s).
hs() {
	local name=$1 before x i=0
	shift
	count_of $T/sessions ""
	before=$count
	requests=$((requests + 1))
	l=$("$H" -w 10 -C 127.0.0.1:$port "$@" 2>"$out/hsdone.err")
	[ -s "$out/hsdone.err" ] && sed "s/^/  $name: /" "$out/hsdone.err"
	rec=
	wait_for 30 has_sessions $((before + 1))
	# The first line after the $before non-empty ones; more is a failure.
	while IFS= read -r x; do
		[ -n "$x" ] || continue
		i=$((i + 1))
		[ "$i" -gt "$before" ] || continue
		if [ -z "$rec" ]; then rec=$x
		else fail "$name: more than one session recorded: $rec|$x"; break; fi
	done <$T/sessions
}
# session CASE STATUS TAGS: the recorded line.
session() {
	local st='' tg=''
	[[ $rec =~ \ status=([^ ]*) ]] && st=${BASH_REMATCH[1]}
	[[ $rec =~ \ tags=([^ ]*)$ ]] && tg=${BASH_REMATCH[1]}
	if [ "$st" = "$2" ] && [ "$tg" = "$3" ]; then
		ok "$1: session status=$2 tags=${3:0:60}"
	else
		fail "$1: session '${rec:-<none>}', want status=$2 tags=$3"
	fi
}
# Files the run= steps write (between two DONEs, inside hsdone).
snap() { echo "run=cat $T/pending >/tmp/p.$1; grep -c . $T/sessions >/tmp/s.$1"; }
snapcheck() {	# CASE TAG: request still pending, nothing recorded
	local p='' s=''
	[ -r /tmp/p."$2" ] && p=$(</tmp/p."$2")
	[ -r /tmp/s."$2" ] && s=$(</tmp/s."$2")
	if [ "$p" = 1 ] && [ "$s" = "$3" ]; then
		ok "$1: request left pending (pending=1, no session)"
	else
		fail "$1: pending=${p:-?} sessions=${s:-?} after the refused DONE (want 1, $3)"
	fi
}

# Unprivileged DONE: refused, request still pending; then a real DONE.
n=$(nsessions)
hs unpriv done unpriv status=0 tag=u "$(snap u)" done status=0 tag=u
expect "unprivileged DONE (uid 65534, no caps)" "$l" accept=0 done1=-1 done2=0
snapcheck "unprivileged DONE" u "$n"
session "unprivileged DONE, then a privileged one" 0 u

hs nul-inside done 'tag=a\0b'
expect "tag with an embedded NUL (a\\0b)" "$l" done1=-22
session "tag with an embedded NUL" -5 -

hs nul-only done 'tag=\0'
expect "tag that is only a NUL" "$l" done1=-22
session "tag that is only a NUL" -5 -

hs nul-first done tag=ok 'tag=\0x' tag=ok2
expect "good tags around a tag starting with NUL" "$l" done1=-22
session "good tags around a tag starting with NUL" -5 -

n=$(nsessions)
hs erange done tag= "$(snap e1)" done 'tag=\{256}y' "$(snap e2)" done status=0 tag=fixed
expect "zero-length tag, then 256-byte tag, then a correct DONE" "$l" done1=-34 done2=-34 done3=0
snapcheck "zero-length tag" e1 "$n"
snapcheck "256-byte tag" e2 "$n"
session "correct DONE after two refused by the policy" 0 fixed

printf -v long 'z%.0s' {1..255}
hs maxlen done 'tag=\{255}z\0'
expect "255-byte tag with a final NUL" "$l" done1=0
session "255-byte tag with a final NUL" 0 "$long"

hs many done gen=65
expect "65 tags" "$l" done1=0 maxtags=64
printf -v want 't%03d,' {0..63}
session "65 tags: the first 64 kept" 0 "${want%,}"
if dmesg | grep -q "agent sent 65 session tags; keeping the first 64"; then
	ok "65 tags: kernel warned ($(dmesg | grep -m1 'keeping the first 64' | sed 's/^\[[^]]*\] //'))"
else
	fail "65 tags: no 'keeping the first 64' warning in the kernel log"
fi
hs many-again done gen=70:u
expect "70 tags (second overrun)" "$l" done1=0
printf -v want 'u%03d,' {0..63}
session "70 tags: the first 64 kept" 0 "${want%,}"
w=$(dmesg | grep -c "session tags; keeping the first")
[ "$w" = 1 ] && ok "the overrun warning is printed once" ||
	fail "the overrun warning is printed $w times"

hs dups done tag=b tag=a tag=b
expect "duplicate tags b,a,b" "$l" done1=0
session "duplicate tags b,a,b" 0 a,b

hs final-nul done 'tag=a\0' tag=a
expect "tag 'a' with and without a final NUL" "$l" done1=0
session "tag 'a' with and without a final NUL" 0 a

hs fail-status done status=13 tag=ignored
expect "failure status with tags" "$l" done1=0
session "failure status with tags: tags ignored" -13 -

hs fail-badtag done status=13 'tag=a\0b'
expect "failure status with a malformed tag (tags not read)" "$l" done1=0
session "failure status with a malformed tag" -13 -

hs nostatus done nostatus tag=x
expect "DONE without a status attribute" "$l" done1=0
session "DONE without a status attribute: -EIO" -5 -

n=$(nsessions)
hs badfd done fd=9999 tag=x "$(snap b1)" done fd=self tag=x "$(snap b2)" done tag=good
expect "DONE with an unknown sockfd, then one for a non-handshake socket, then the right one" "$l" done1=-9 done2=-16 done3=0
snapcheck "unknown sockfd" b1 "$n"
snapcheck "non-handshake socket" b2 "$n"
session "the right DONE after two for other sockets" 0 good

hs twice done tag=first done tag=second
expect "second DONE for a completed request" "$l" done1=0 done2=-16
session "second DONE does not change the session" 0 first

hs twice-bad done 'tag=a\0b' done tag=second
expect "DONE after a DONE refused for a bad tag" "$l" done1=-22 done2=-16
session "the bad-tag DONE completed the request" -5 -

hs race done tag=r race=2
expect "two racing DONEs (two processes)" "$l" done1=-16,0
session "two racing DONEs: one completion" 0 r

hs race8 done tag=r8 race=8
expect "eight racing DONEs" "$l" done1=-16,-16,-16,-16,-16,-16,-16,0
session "eight racing DONEs: one completion" 0 r8


# Every request completed exactly once.
none_pending() { [ "$(<$T/pending)" = 0 ]; }
wait_for 30 none_pending
p=$(<$T/pending)
n=$(nsessions)
dup=$(cut -d' ' -f1 $T/sessions | sort | uniq -d | tr '\n' ' ')
[ "$p" = 0 ] && ok "pending returned to 0" || fail "pending is $p, want 0"
[ "$n" -ge "$requests" ] && [ -z "$dup" ] &&
	ok "$n sessions for $requests judged requests, ids unique" ||
	fail "$n sessions for $requests judged requests, duplicate ids: ${dup:-none}"
cp $T/sessions "$out/sessions.txt"
echo "-- tagtest sessions"
cut -c1-100 $T/sessions | sed 's/^/  /'

# An agent that ACCEPTs and then dies without a DONE: the request stays
# (accepted, not completed) until the consumer cancels it; tagtest does at
# rmmod.
hs closed-first close done tag=x done fd=none
expect "DONE after the agent closed its fd" "$l" done1=-9 done2=-22
p=$(<$T/pending)
[ "$p" = 1 ] && ok "abandoned request still pending" || fail "pending is $p after an abandoned request, want 1"

if rmmod tagtest; then ok "rmmod tagtest"; else fail "rmmod tagtest"; fi
if dmesg | grep -q "tagtest: session [0-9]*: handshake cancelled"; then
	ok "abandoned request cancelled at rmmod"
else
	fail "no 'handshake cancelled' for the abandoned request at rmmod"
fi
echo "hostile: $fails failure(s)"
[ "$fails" = 0 ]
