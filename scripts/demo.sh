#!/bin/bash
# The main job. Until the VM rig exists (see README), the demo builds the
# patched kernel under UML and runs its KUnit suites with a table per
# suite, then shows the agent assigning tags to client certificates of a
# test CA (tlstagd --explain).
set -uo pipefail
top=$(cd "$(dirname "$0")/.." && pwd)
cd "$top"

scripts/kunit.sh > build/demo-kunit.out 2>&1
rc=$?
log=build/logs/kunit.log

echo
echo "Session tags, kernel side: KUnit under UML (KASAN, UBSAN, lockdep)"
echo
printf '%-34s %7s %7s\n' "suite" "passed" "failed"
printf '%-34s %7s %7s\n' "-----" "------" "------"
python3 - "$log" <<'PY'
import re, sys
suite = None
counts = {}
order = []
for line in open(sys.argv[1], errors="replace"):
    line = re.sub(r'^\[..:..:..\] ', '', line.rstrip())
    m = re.match(r'^=+ (.+?) \(\d+ subtests?\) =+$', line)
    if m:
        suite = m.group(1)
        if suite not in counts:
            counts[suite] = [0, 0]
            order.append(suite)
        continue
    m = re.match(r'^\[(PASSED|FAILED|CRASHED)\] (.+)$', line)
    if m and suite and m.group(2) != suite:
        counts[suite][0 if m.group(1) == "PASSED" else 1] += 1
for s in order:
    print(f"{s:34s} {counts[s][0]:7d} {counts[s][1]:7d}")
PY
echo
tail -n 1 build/demo-kunit.out
if [ "$rc" != 0 ]; then
	echo "demo: KUnit failed; details in build/logs/kunit.log"
	exit 1
fi
echo
echo "The tags library against an rbtree (make bench for the full table):"
make -s -C bench/tagset run 2>/dev/null | tail -n +2

# The agent's half: a test CA, client certificates and a tags.d policy;
# tlstagd --explain shows which tags each certificate would earn.
scripts/deps.sh agent >/dev/null || exit 1
make -s -C agent >/dev/null || { echo "demo: building the agent failed"; exit 1; }
d=build/demo
rm -rf "$d" && mkdir -p "$d/tags.d"
cert() {	# NAME TEMPLATE-LINES...
	local n=$1
	shift
	printf '%s\n' "$@" "expiration_days = 30" > "$d/$n.tmpl"
	certtool --generate-privkey --key-type=ecdsa --outfile "$d/$n.key" 2>/dev/null &&
	certtool --generate-certificate --load-privkey "$d/$n.key" \
		--load-ca-certificate "$d/ca.pem" --load-ca-privkey "$d/ca.key" \
		--template "$d/$n.tmpl" --outfile "$d/$n.pem" 2>/dev/null
}
certtool --generate-privkey --key-type=ecdsa --outfile "$d/ca.key" 2>/dev/null
printf '%s\n' 'cn = "Demo CA"' 'organization = "Example"' ca cert_signing_key \
	'expiration_days = 30' > "$d/ca.tmpl"
certtool --generate-self-signed --load-privkey "$d/ca.key" --template "$d/ca.tmpl" \
	--outfile "$d/ca.pem" 2>/dev/null
cert alice 'cn = "alice"' 'unit = "eng"' 'organization = "Example"' tls_www_client signing_key
cert backup1 'cn = "backup1"' 'organization = "Example"' \
	'uri = "spiffe://example.net/backup"' tls_www_client signing_key
cert builder 'cn = "builder"' 'unit = "eng"' 'organization = "Example"' \
	'uri = "spiffe://example.net/backup"' tls_www_client signing_key
cert guest 'cn = "guest"' 'organization = "Elsewhere"' tls_www_client signing_key
cat > "$d/tags.d/demo.yml" <<'YML'
filters:
  example-org:
    type: x509.tbs.subject
    pattern: "*O=Example"
  eng-unit:
    type: x509.tbs.subject
    pattern: "CN=*,OU=eng,O=Example"
  backup-id:
    type: x509.extension.subjectAltName.uri
    pattern: "spiffe://example.net/backup"
  client-auth:
    type: x509.extension.extendedKeyUsage
    purpose: [ clientAuth ]
tags:
  staff:
    filter: [ example-org, client-auth ]
  engineering:
    filter: [ eng-unit, client-auth ]
  backup:
    filter: [ backup-id, "not eng-unit" ]
YML
printf '[global]\ntags-dir = tags.d\n[trust]\nca-file = ca.pem\n' > "$d/tlstagd.conf"

echo
echo "Session tags, agent side: tlstagd --explain against $d/tags.d/demo.yml"
echo
printf '%-32s %s\n' "client certificate subject" "tags earned"
printf '%-32s %s\n' "--------------------------" "-----------"
for n in alice backup1 builder guest; do
	out=$(agent/build/tlstagd --explain "$d/$n.pem" -c "$d/tlstagd.conf") || {
		echo "demo: tlstagd --explain $n failed"; exit 1; }
	subject=$(sed -n 's/^subject: *//p' <<<"$out")
	tags=$(sed -n 's/^tags earned ([0-9]*): *//p' <<<"$out")
	printf '%-32s %s\n' "$subject" "${tags:-(none)}"
done
echo
echo "Why builder is not tagged backup (tlstagd --explain):"
agent/build/tlstagd --explain "$d/builder.pem" -c "$d/tlstagd.conf" |
	sed -n '/^tag backup:/,/^$/p'
