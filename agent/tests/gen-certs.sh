#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
# Generates a throw-away PKI for the tests into $1 with certtool (gnutls-bin):
#   ca.pem            test CA ("CN=Test CA,O=Example")
#   server.pem/.key   server.test, localhost, 127.0.0.1 (TLS server)
#   alice.pem/.key    "CN=alice,OU=eng,O=Example" (TLS client, trusted)
#   bob.pem/.key      "CN=bob,O=Other" (TLS client, trusted)
#   rogue-ca.pem      an unrelated CA
#   mallory.pem/.key  "CN=alice,OU=eng,O=Example" issued by rogue-ca (untrusted)
#   ed.pem/.key       "CN=ed,O=Example", an Ed25519 key (TLS client, trusted)
set -eu
dir=$1
mkdir -p "$dir"
cd "$dir"
[ -s mallory.pem ] && [ -s ca.pem ] && [ -s ed.pem ] && exit 0

key() { certtool --generate-privkey --key-type=ecdsa --curve=secp256r1 \
	--outfile "$1" 2>/dev/null; }

cat > ca.tmpl <<T
cn = "Test CA"
organization = "Example"
serial = 1
expiration_days = 30
ca
cert_signing_key
crl_signing_key
T
cat > rogue-ca.tmpl <<T
cn = "Rogue CA"
organization = "Elsewhere"
serial = 2
expiration_days = 30
ca
cert_signing_key
T
cat > server.tmpl <<T
cn = "server.test"
organization = "Example"
serial = 10
expiration_days = 30
dns_name = "server.test"
dns_name = "localhost"
ip_address = "127.0.0.1"
tls_www_server
signing_key
T
cat > alice.tmpl <<T
cn = "alice"
unit = "eng"
organization = "Example"
serial = 11
expiration_days = 30
uri = "spiffe://example.org/ns/nfs/sa/alice"
tls_www_client
signing_key
T
cat > bob.tmpl <<T
cn = "bob"
organization = "Other"
serial = 12
expiration_days = 30
tls_www_client
signing_key
T
cp alice.tmpl mallory.tmpl
cat > ed.tmpl <<T
cn = "ed"
organization = "Example"
serial = 14
expiration_days = 30
tls_www_client
signing_key
T

key ca.key
certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl \
	--outfile ca.pem 2>/dev/null
key rogue-ca.key
certtool --generate-self-signed --load-privkey rogue-ca.key \
	--template rogue-ca.tmpl --outfile rogue-ca.pem 2>/dev/null
for n in server alice bob; do
	key $n.key
	certtool --generate-certificate --load-privkey $n.key \
		--load-ca-certificate ca.pem --load-ca-privkey ca.key \
		--template $n.tmpl --outfile $n.pem 2>/dev/null
done
key mallory.key
certtool --generate-certificate --load-privkey mallory.key \
	--load-ca-certificate rogue-ca.pem --load-ca-privkey rogue-ca.key \
	--template mallory.tmpl --outfile mallory.pem 2>/dev/null
certtool --generate-privkey --key-type=ed25519 --outfile ed.key 2>/dev/null
certtool --generate-certificate --load-privkey ed.key \
	--load-ca-certificate ca.pem --load-ca-privkey ca.key \
	--template ed.tmpl --outfile ed.pem 2>/dev/null
echo "test PKI in $dir"
