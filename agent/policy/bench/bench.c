// SPDX-License-Identifier: GPL-2.0-only
/*
 * Benchmark: evaluation cost per certificate with 1, 100 and 1000 filters.
 *
 *   engine    tp_evaluate_der(): one DER import, each field derived once,
 *             each filter decided once.
 *   baseline  tp_baseline_evaluate_der(): what tlshd does, a fresh
 *             gnutls_x509_crt_import() and a fresh derivation of the field
 *             for every filter of every tag.
 *
 * Two policy shapes: one tag per filter, and tags of five filters each.
 * Filters cycle through every filter type; one in three is written in a
 * form that can hold for the test certificate (about one in five does). Both evaluators run the same policy in
 * the same process; their results are compared.
 *
 * Usage: bench CERT.der
 */
#define _GNU_SOURCE
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include "tagpolicy.h"
#include "tp_internal.h"

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

static void emit(FILE *f, size_t i)
{
	bool hold = i % 3 == 0;

	fprintf(f, "  f%zu:\n", i);
	switch ((i + 4) % 15) {
	case 0:
		fprintf(f, "    type: x509.cert.signatureAlgorithm\n    pattern: \"%s\"\n",
			hold ? "ECDSA-SHA256" : "RSA-PSS-*");
		break;
	case 1:
		fprintf(f, "    type: x509.tbs.version\n    pattern: \"%s\"\n",
			hold ? "3" : "1");
		break;
	case 2:
		fprintf(f, "    type: x509.tbs.serialNumber\n    pattern: \"%s%zx\"\n",
			hold ? "8a1b*" : "", i);
		break;
	case 3:
		fprintf(f, "    type: x509.tbs.issuer\n    pattern: \"CN=%s%zu,O=Example\"\n",
			hold ? "Test CA*" : "CA ", i);
		break;
	case 4:
		fprintf(f, "    type: x509.tbs.subject\n    pattern: \"CN=%s%zu,*O=Example\"\n",
			hold ? "alice*" : "user", i);
		break;
	case 5:
		fprintf(f, "    type: x509.tbs.validity.notBefore\n    pattern: \"%d-01-01 00:00:00\"\n",
			hold ? 2023 : 2025);
		break;
	case 6:
		fprintf(f, "    type: x509.tbs.validity.notAfter\n    pattern: \"%d-01-01 00:00:00\"\n",
			hold ? 2035 : 2030);
		break;
	case 7:
		fprintf(f, "    type: x509.extension.keyUsage\n    purpose: [%s]\n",
			hold ? "digitalSignature" : "keyCertSign");
		break;
	case 8:
		fprintf(f, "    type: x509.extension.extendedKeyUsage\n    purpose: [%s]\n",
			hold ? "clientAuth" : "codeSigning");
		break;
	case 9:
		fprintf(f, "    type: x509.derived.fingerprint\n    pattern: \"%04zx*\"\n", i);
		break;
	case 10:
		fprintf(f, "    type: x509.derived.selfSigned\n    pattern: \"%s\"\n",
			hold ? "false" : "true");
		break;
	case 11:
		fprintf(f, "    type: x509.extension.subjectAltName.dns\n    pattern: \"%s%zu.example.com\"\n",
			hold ? "*" : "host", i);
		break;
	case 12:
		fprintf(f, "    type: x509.extension.subjectAltName.ip\n    pattern: \"%s.%zu\"\n",
			hold ? "192.0.2*" : "10.0.0", i % 256);
		break;
	case 13:
		fprintf(f, "    type: x509.extension.subjectAltName.uri\n    pattern: \"spiffe://example.org/ns/%s%zu/*\"\n",
			hold ? "*" : "n", i);
		break;
	case 14:
		fprintf(f, "    type: x509.extension.subjectAltName.email\n    pattern: \"%s%zu@example.com\"\n",
			hold ? "*" : "user", i);
		break;
	}
}

static struct tp_policy *make_policy(size_t nfilters, size_t per_tag)
{
	char *buf = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&buf, &size);
	struct tp_policy *p = NULL;
	struct tp_diag d;

	fprintf(f, "filters:\n");
	for (size_t i = 0; i < nfilters; i++)
		emit(f, i);
	fprintf(f, "tags:\n");
	for (size_t i = 0; i < nfilters; i += per_tag) {
		fprintf(f, "  tag%zu:\n    filter:\n", i);
		for (size_t j = i; j < i + per_tag && j < nfilters; j++)
			fprintf(f, "      - f%zu\n", j);
	}
	fclose(f);
	if (tp_policy_load_buffer("bench.yml", buf, size, &p, &d) != 0) {
		tp_diag_print(&d, stderr);
		exit(1);
	}
	tp_diag_free(&d);
	free(buf);
	return p;
}

typedef int (*eval_fn)(const struct tp_policy *, const unsigned char *,
		       size_t, struct tp_tags *);

static int engine(const struct tp_policy *p, const unsigned char *der,
		  size_t len, struct tp_tags *t)
{
	return tp_evaluate_der(p, der, len, t, NULL);
}

/* Runs @fn for at least @secs seconds; returns ns per evaluation. */
static double measure(eval_fn fn, const struct tp_policy *p,
		      const unsigned char *der, size_t len, double secs,
		      size_t *ntags)
{
	size_t iters = 0, batch = 1;
	double t0 = now(), el;

	do {
		for (size_t k = 0; k < batch; k++) {
			struct tp_tags t;

			if (fn(p, der, len, &t) != 0) {
				fprintf(stderr, "evaluation failed\n");
				exit(1);
			}
			*ntags = t.count;
			tp_tags_free(&t);
		}
		iters += batch;
		if (batch < 1024)
			batch *= 2;
		el = now() - t0;
	} while (el < secs || iters < 3);
	return el * 1e9 / (double)iters;
}

static bool same_result(const struct tp_policy *p, const unsigned char *der,
			size_t len)
{
	struct tp_tags a, b;
	bool same;

	if (engine(p, der, len, &a) || tp_baseline_evaluate_der(p, der, len, &b))
		return false;
	same = a.count == b.count;
	for (size_t i = 0; same && i < a.count; i++)
		same = strcmp(a.names[i], b.names[i]) == 0;
	tp_tags_free(&a);
	tp_tags_free(&b);
	return same;
}

int main(int argc, char **argv)
{
	static const size_t sizes[] = { 1, 100, 1000 };
	static const size_t shapes[] = { 1, 5 };
	unsigned char *der;
	long n;
	FILE *f;
	double secs = getenv("BENCH_SECONDS") ? atof(getenv("BENCH_SECONDS")) : 0.5;
	int bad = 0;

	if (argc != 2) {
		fprintf(stderr, "usage: %s CERT.der\n", argv[0]);
		return 2;
	}
	f = fopen(argv[1], "rb");
	if (!f) {
		perror(argv[1]);
		return 2;
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	der = malloc((size_t)n);
	if (!der || fread(der, 1, (size_t)n, f) != (size_t)n)
		return 2;
	fclose(f);

	printf("certificate: %s (%ld bytes DER)\n", argv[1], n);
	printf("%-8s %-12s %6s %8s %16s %18s %8s\n", "filters", "shape", "tags",
	       "earned", "engine ns/eval", "baseline ns/eval", "ratio");
	for (size_t s = 0; s < sizeof(shapes) / sizeof(shapes[0]); s++) {
		for (size_t z = 0; z < sizeof(sizes) / sizeof(sizes[0]); z++) {
			struct tp_policy *p = make_policy(sizes[z], shapes[s]);
			size_t earned = 0, earned2 = 0;
			double e, b;

			if (!same_result(p, der, (size_t)n)) {
				printf("RESULTS DIFFER for %zu filters\n", sizes[z]);
				bad = 1;
			}
			e = measure(engine, p, der, (size_t)n, secs, &earned);
			b = measure(tp_baseline_evaluate_der, p, der, (size_t)n,
				    secs, &earned2);
			printf("%-8zu %-12s %6zu %8zu %16.0f %18.0f %7.1fx\n",
			       sizes[z], shapes[s] == 1 ? "1 per tag" : "5 per tag",
			       tp_policy_tag_count(p), earned, e, b, b / e);
			tp_policy_free(p);
		}
	}
	free(der);
	return bad;
}
