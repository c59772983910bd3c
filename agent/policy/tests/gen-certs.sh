#!/bin/sh
# SPDX-License-Identifier: GPL-2.0-only
#
# Generates the unit tests' certificates into directory $1 with certtool:
#   ca      ECDSA test CA, CN=Test CA,O=Example
#   alice   leaf from ca: RSA key, serial 8a1b2c3d, SANs of every kind
#           (DNS, IPv4, IPv6, spiffe:// URI, email), keyUsage
#           digitalSignature+keyEncipherment, EKU serverAuth+clientAuth,
#           valid 2024-01-01 00:00:00 .. 2034-01-01 00:00:00 UTC
#   bob     leaf from ca: ECDSA key, serial 05, DNS+URI SANs only, other
#           key usages and EKUs (incl. a private OID), valid 2020..2021
#   selfie  self-signed RSA certificate, no SAN, no EKU
#   v1      self-signed Ed25519 version 1 certificate (no extensions)
# For each: NAME.der, plus NAME.sha1 and NAME.sha256 (lowercase hex of the
# DER's digests, computed with coreutils, independently of GnuTLS).
# (certtool leaves the email SAN out when tls_www_server is set, so alice
# gets serverAuth through key_purpose_oid instead.)
set -eu
out=$1
mkdir -p "$out"
cd "$out"
# certtool reads template dates in local time: pin it to UTC.
TZ=UTC
export TZ

key() { certtool --generate-privkey --key-type="$2" $3 --outfile "$1.key" >/dev/null 2>&1; }

key ca ecdsa ""
cat > ca.tmpl <<T
cn = "Test CA"
organization = "Example"
serial = 1
ca
cert_signing_key
crl_signing_key
activation_date = "2024-01-01 00:00:00"
expiration_date = "2034-01-01 00:00:00"
T
certtool --generate-self-signed --load-privkey ca.key --template ca.tmpl \
	--outfile ca.pem >/dev/null 2>&1

key alice rsa "--bits=2048"
cat > alice.tmpl <<T
cn = "alice"
unit = "eng"
organization = "Example"
serial = 0x8a1b2c3d
dns_name = "alice.example.com"
dns_name = "www.example.com"
ip_address = "192.0.2.10"
ip_address = "2001:0db8:0000::0001"
uri = "spiffe://example.org/ns/default/sa/alice"
email = "alice@example.com"
signing_key
encryption_key
tls_www_client
key_purpose_oid = "1.3.6.1.5.5.7.3.1"
activation_date = "2024-01-01 00:00:00"
expiration_date = "2034-01-01 00:00:00"
T
certtool --generate-certificate --load-privkey alice.key \
	--load-ca-privkey ca.key --load-ca-certificate ca.pem \
	--template alice.tmpl --outfile alice.pem >/dev/null 2>&1

key bob ecdsa ""
cat > bob.tmpl <<T
cn = "bob"
organization = "Other"
serial = 5
dns_name = "bob.other.net"
uri = "https://other.net/bob"
signing_key
non_repudiation
key_agreement
data_encipherment
code_signing_key
email_protection_key
time_stamping_key
ocsp_signing_key
key_purpose_oid = "1.3.6.1.4.1.99999.1"
activation_date = "2020-06-01 12:00:00"
expiration_date = "2021-06-01 12:00:00"
T
certtool --generate-certificate --load-privkey bob.key \
	--load-ca-privkey ca.key --load-ca-certificate ca.pem \
	--template bob.tmpl --outfile bob.pem >/dev/null 2>&1

key selfie rsa "--bits=2048"
cat > selfie.tmpl <<T
cn = "selfie"
organization = "Example"
serial = 0x00ff
ca
cert_signing_key
crl_signing_key
signing_key
activation_date = "2025-03-04 05:06:07"
expiration_date = "2026-03-04 05:06:07"
T
certtool --generate-self-signed --load-privkey selfie.key \
	--template selfie.tmpl --outfile selfie.pem >/dev/null 2>&1

key v1 ed25519 ""
cat > v1.tmpl <<T
cn = "v1"
organization = "Old"
serial = 7
activation_date = "2024-01-01 00:00:00"
expiration_date = "2034-01-01 00:00:00"
T
certtool --generate-self-signed --v1 --load-privkey v1.key \
	--template v1.tmpl --outfile v1.pem >/dev/null 2>&1

for n in ca alice bob selfie v1; do
	certtool --certificate-info --infile "$n.pem" --outder \
		--outfile "$n.der" >/dev/null 2>&1
	sha1sum < "$n.der" | cut -d' ' -f1 > "$n.sha1"
	sha256sum < "$n.der" | cut -d' ' -f1 > "$n.sha256"
done
