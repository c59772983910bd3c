// SPDX-License-Identifier: GPL-2.0-only
/*
 * Allocation-failure tests: the library is built with failalloc.h, and
 * every load and evaluation below is repeated with its 1st, 2nd, ... Nth
 * allocation failing until one runs without a failure. Each failed run
 * must return -ENOMEM with no policy and empty outputs; LeakSanitizer
 * checks at exit that no failure path leaked.
 *
 * Usage: test_oom CERTDIR WORKDIR. Output as test_tagpolicy's, ending
 * "unit: N passed, M failed".
 */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "tagpolicy.h"

extern unsigned long tp_fa_fail_at, tp_fa_calls;
extern int tp_fa_failed;

static int n_passed, n_failed, case_failures;
static const char *certdir, *workdir;

#define CHECK(cond) do { if (!(cond)) { case_failures++; \
	printf("  %s:%d: check failed: %s (fail_at %lu)\n", __FILE__, __LINE__, \
	       #cond, tp_fa_fail_at); } } while (0)

static void run(const char *name, void (*fn)(void))
{
	case_failures = 0;
	fn();
	printf("%s - %s\n", case_failures ? "FAIL" : "ok", name);
	if (case_failures)
		n_failed++;
	else
		n_passed++;
}

static void arm(unsigned long n)
{
	tp_fa_calls = 0;
	tp_fa_failed = 0;
	tp_fa_fail_at = n;
}

static const char policy_ok[] =
	"filters:\n"
	"  a: {type: x509.cert.signatureAlgorithm, pattern: \"*SHA256\"}\n"
	"  b: {type: x509.tbs.version, pattern: \"3\"}\n"
	"  c: {type: x509.tbs.serialNumber, pattern: \"8A*\"}\n"
	"  d: {type: x509.tbs.issuer, pattern: \"*Example\"}\n"
	"  e: {type: x509.tbs.subject, pattern: \"CN=alice,*\"}\n"
	"  f: {type: x509.tbs.validity.notBefore, pattern: \"2024-01-01 00:00:00\"}\n"
	"  g: {type: x509.tbs.validity.notAfter, pattern: \"2034-01-01 00:00:00\"}\n"
	"  h: {type: x509.extension.keyUsage, purpose: [digitalSignature, keyEncipherment]}\n"
	"  i: {type: x509.extension.extendedKeyUsage, purpose: [clientAuth, \"1.2.3.4\"]}\n"
	"  j: {type: x509.derived.fingerprint, pattern: \"*?*\"}\n"
	"  k: {type: x509.derived.selfSigned, pattern: \"false\"}\n"
	"  l: {type: x509.extension.subjectAltName.dns, pattern: \"*.example.com\"}\n"
	"  m: {type: x509.extension.subjectAltName.ip, pattern: \"2001:db8::1\"}\n"
	"  n: {type: x509.extension.subjectAltName.uri, pattern: \"spiffe://*\"}\n"
	"  o: {type: x509.extension.subjectAltName.email, pattern: \"*@*\"}\n"
	"tags:\n"
	"  t1: {filter: [a, b, c, d, e, f, g]}\n"
	"  t2: {filter: [h, not i, j, k]}\n"
	"  t3: {filter: [l, m, n, o]}\n"
	"  t4: {filter: [not a]}\n"
	"---\n"
	"tags:\n"
	"  t0: {filter: [e, l]}\n";

static const char policy_bad[] =
	"filters:\n"
	"  a: {type: nope, pattern: x}\n"
	"  b: {type: x509.tbs.subject, pattern: \"*?*?*?*?*?*?*?*?*?\"}\n"
	"  c: {type: x509.extension.extendedKeyUsage, purpose: [serverAuth, bad]}\n"
	"  c: {type: x509.tbs.version, pattern: \"3\"}\n"
	"tags:\n"
	"  t: {filter: [a, missing]}\n"
	"  \"bad name\": {filter: [a]}\n"
	"other: 1\n";

#define MAX_RUNS 100000UL

static void test_oom_load_valid(void)
{
	unsigned long n;

	for (n = 1; n < MAX_RUNS; n++) {
		struct tp_policy *p = (struct tp_policy *)1;
		struct tp_diag d;
		int r;

		arm(n);
		r = tp_policy_load_buffer("t.yml", policy_ok, sizeof(policy_ok) - 1,
					  &p, &d);
		tp_fa_fail_at = 0;
		if (!tp_fa_failed) {
			CHECK(r == 0 && p && tp_diag_count(&d, TP_ERROR) == 0);
			CHECK(tp_policy_tag_count(p) == 5);
			tp_policy_free(p);
			tp_diag_free(&d);
			break;
		}
		CHECK(r == -ENOMEM && p == NULL);
		tp_diag_free(&d);
	}
	CHECK(n > 10 && n < MAX_RUNS);
	printf("  %lu allocation failure points\n", n - 1);
}

static void test_oom_load_invalid(void)
{
	unsigned long n;
	size_t want = 0;

	{
		struct tp_policy *p;
		struct tp_diag d;

		arm(0);
		CHECK(tp_policy_load_buffer("t.yml", policy_bad, sizeof(policy_bad) - 1,
					    &p, &d) == -EINVAL);
		want = d.count;
		/* And one note: tlshd does not know extendedKeyUsage. */
		CHECK(tp_diag_count(&d, TP_ERROR) == 7 && want == 8);
		tp_diag_free(&d);
	}
	for (n = 1; n < MAX_RUNS; n++) {
		struct tp_policy *p = (struct tp_policy *)1;
		struct tp_diag d;
		int r;

		arm(n);
		r = tp_policy_load_buffer("t.yml", policy_bad, sizeof(policy_bad) - 1,
					  &p, &d);
		tp_fa_fail_at = 0;
		CHECK(p == NULL);
		if (!tp_fa_failed) {
			CHECK(r == -EINVAL && d.count == want);
			tp_diag_free(&d);
			break;
		}
		CHECK(r == -ENOMEM);
		tp_diag_free(&d);
	}
	CHECK(n > 10 && n < MAX_RUNS);
	printf("  %lu allocation failure points\n", n - 1);
}

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		exit(2);
}

static void test_oom_load_dir(void)
{
	char dir[4096], path[4200];
	unsigned long n;

	snprintf(dir, sizeof(dir), "%s/oomdir", workdir);
	if (mkdir(dir, 0755) < 0)
		exit(2);
	snprintf(path, sizeof(path), "%s/a.yml", dir);
	write_file(path, policy_ok);
	snprintf(path, sizeof(path), "%s/b.yaml", dir);
	write_file(path, "tags:\n  extra: {filter: [a, not b]}\n");
	snprintf(path, sizeof(path), "%s/c.yml", dir);
	write_file(path, "tags:\n  broken: {filter: [zz]}\n");

	for (n = 1; n < MAX_RUNS; n++) {
		struct tp_policy *p = (struct tp_policy *)1;
		struct tp_diag d;
		int r;

		arm(n);
		r = tp_policy_load_dir(dir, &p, &d);
		tp_fa_fail_at = 0;
		CHECK(p == NULL);
		if (!tp_fa_failed) {
			CHECK(r == -EINVAL && tp_diag_count(&d, TP_ERROR) == 1);
			tp_diag_free(&d);
			break;
		}
		CHECK(r == -ENOMEM);
		tp_diag_free(&d);
	}
	CHECK(n > 10 && n < MAX_RUNS);
	printf("  %lu allocation failure points\n", n - 1);
}

static unsigned char *read_cert(const char *name, size_t *len)
{
	char path[4096];
	unsigned char *b;
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s.der", certdir, name);
	f = fopen(path, "rb");
	if (!f)
		exit(2);
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b = malloc((size_t)n);
	if (!b || fread(b, 1, (size_t)n, f) != (size_t)n)
		exit(2);
	fclose(f);
	*len = (size_t)n;
	return b;
}

static void evaluate_loop(bool explain)
{
	struct tp_policy *p;
	struct tp_diag d;
	struct tp_tags ref;
	size_t len;
	unsigned char *der = read_cert("alice", &len);
	unsigned long n;

	arm(0);
	CHECK(tp_policy_load_buffer("t.yml", policy_ok, sizeof(policy_ok) - 1,
				    &p, &d) == 0);
	tp_diag_free(&d);
	CHECK(tp_evaluate_der(p, der, len, &ref, NULL) == 0);
	CHECK(ref.count == 4);	/* t0, t1, t2, t3 */

	for (n = 1; n < MAX_RUNS; n++) {
		struct tp_tags t;
		struct tp_explain ex;
		int r;

		arm(n);
		r = tp_evaluate_der(p, der, len, &t, explain ? &ex : NULL);
		tp_fa_fail_at = 0;
		if (!tp_fa_failed) {
			CHECK(r == 0 && t.count == ref.count);
			for (size_t i = 0; i < t.count && i < ref.count; i++)
				CHECK(strcmp(t.names[i], ref.names[i]) == 0);
			if (explain) {
				CHECK(ex.count == 5);
				tp_explain_free(&ex);
			}
			tp_tags_free(&t);
			break;
		}
		CHECK(r == -ENOMEM && t.count == 0 && t.names == NULL);
		if (explain)
			CHECK(ex.count == 0 && ex.tags == NULL);
	}
	CHECK(n > 5 && n < MAX_RUNS);
	printf("  %lu allocation failure points\n", n - 1);
	tp_tags_free(&ref);
	tp_policy_free(p);
	free(der);
}

static void test_oom_evaluate(void)
{
	evaluate_loop(false);
}

static void test_oom_evaluate_explain(void)
{
	evaluate_loop(true);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s CERTDIR WORKDIR\n", argv[0]);
		return 2;
	}
	certdir = argv[1];
	workdir = argv[2];
	run("test_oom_load_valid", test_oom_load_valid);
	run("test_oom_load_invalid", test_oom_load_invalid);
	run("test_oom_load_dir", test_oom_load_dir);
	run("test_oom_evaluate", test_oom_evaluate);
	run("test_oom_evaluate_explain", test_oom_evaluate_explain);
	printf("unit: %d passed, %d failed\n", n_passed, n_failed);
	return n_failed ? 1 : 0;
}
