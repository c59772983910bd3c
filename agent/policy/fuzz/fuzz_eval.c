// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: evaluation of arbitrary DER against a fixed policy
 * that uses every filter type, with and without explanation. Checks that
 * the result is sorted and unique and that explanation and result agree,
 * that tp_evaluate_crt() agrees with tp_evaluate_der(), and that the
 * evaluator's own DN formatting gives GnuTLS's string whenever it is used.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tagpolicy.h"
#include "tp_internal.h"

static const char policy_yaml[] =
	"filters:\n"
	"  alg: {type: x509.cert.signatureAlgorithm, pattern: \"*SHA256\"}\n"
	"  ver: {type: x509.tbs.version, pattern: \"3\"}\n"
	"  serial: {type: x509.tbs.serialNumber, pattern: \"0?*\"}\n"
	"  issuer: {type: x509.tbs.issuer, pattern: \"*CN=*\"}\n"
	"  subject: {type: x509.tbs.subject, pattern: \"CN=*,O=Example\"}\n"
	"  nb: {type: x509.tbs.validity.notBefore, pattern: \"2020-01-01 00:00:00\"}\n"
	"  na: {type: x509.tbs.validity.notAfter, pattern: \"2030-01-01 00:00:00\"}\n"
	"  ku: {type: x509.extension.keyUsage, purpose: [digitalSignature, keyEncipherment]}\n"
	"  eku: {type: x509.extension.extendedKeyUsage, purpose: [clientAuth, \"1.2.3.4\"]}\n"
	"  fp: {type: x509.derived.fingerprint, pattern: \"*0*1*\"}\n"
	"  fp1: {type: x509.derived.fingerprint, pattern: \"0123456789abcdef0123456789abcdef01234567\"}\n"
	"  self: {type: x509.derived.selfSigned}\n"
	"  dns: {type: x509.extension.subjectAltName.dns, pattern: \"*.example.*\"}\n"
	"  ip: {type: x509.extension.subjectAltName.ip, pattern: \"*:*\"}\n"
	"  uri: {type: x509.extension.subjectAltName.uri, pattern: \"spiffe://*\"}\n"
	"  email: {type: x509.extension.subjectAltName.email, pattern: \"*@*\"}\n"
	"tags:\n"
	"  a: {filter: [alg, ver, serial, issuer]}\n"
	"  b: {filter: [subject, not nb, na]}\n"
	"  c: {filter: [not ku, eku, fp]}\n"
	"  d: {filter: [self, not dns, ip, fp1]}\n"
	"  e: {filter: [uri, email]}\n"
	"  f: {filter: [not alg]}\n"
	"  g: {filter: [not uri, not email, not ip, not dns, not self]}\n";

static struct tp_policy *policy;

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	struct tp_diag d;

	(void)argc;
	(void)argv;
	if (tp_policy_load_buffer("fuzz-policy.yml", policy_yaml,
				  sizeof(policy_yaml) - 1, &policy, &d) != 0) {
		tp_diag_print(&d, stderr);
		abort();
	}
	tp_diag_free(&d);
	return 0;
}

/* tp_evaluate_crt() on the imported certificate gives the same tags. */
static void check_crt(const uint8_t *data, size_t size,
		      const struct tp_tags *want)
{
	gnutls_datum_t d = { (unsigned char *)data, (unsigned int)size };
	gnutls_x509_crt_t crt;
	struct tp_tags t;

	if (gnutls_x509_crt_init(&crt) < 0)
		return;
	if (gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) < 0)
		__builtin_trap();	/* tp_evaluate_der() accepted it */
	if (tp_evaluate_crt(policy, crt, &t, NULL) != 0 || t.count != want->count)
		__builtin_trap();
	for (size_t i = 0; i < t.count; i++)
		if (strcmp(t.names[i], want->names[i]) != 0)
			__builtin_trap();
	tp_tags_free(&t);
	gnutls_x509_crt_deinit(crt);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_tags t1, t2;
	struct tp_explain ex;
	int r1 = tp_evaluate_der(policy, data, size, &t1, NULL);
	int r2 = tp_evaluate_der(policy, data, size, &t2, &ex);
	size_t assigned = 0;

	if (r1 != r2 || (r1 && (t1.count || t2.count || ex.count)))
		__builtin_trap();
	if (r1 == 0) {
		if (t1.count != t2.count || ex.count != tp_policy_tag_count(policy))
			__builtin_trap();
		for (size_t i = 0; i < t1.count; i++) {
			if (strcmp(t1.names[i], t2.names[i]) != 0)
				__builtin_trap();
			if (i && strcmp(t1.names[i - 1], t1.names[i]) >= 0)
				__builtin_trap();
		}
		for (size_t i = 0; i < ex.count; i++) {
			bool all = true;

			for (size_t j = 0; j < ex.tags[i].nfilters; j++)
				all = all && ex.tags[i].filters[j].held;
			if (all != ex.tags[i].assigned)
				__builtin_trap();
			assigned += ex.tags[i].assigned;
		}
		if (assigned != t1.count)
			__builtin_trap();
		check_crt(data, size, &t1);
	}
	tp_tags_free(&t1);
	tp_tags_free(&t2);
	tp_explain_free(&ex);
	return 0;
}
