// SPDX-License-Identifier: GPL-2.0-only
/*
 * Unit tests of the tagpolicy engine.
 *
 * Usage: test_tagpolicy CERTDIR WORKDIR
 *   CERTDIR holds the certificates made by gen-certs.sh;
 *   WORKDIR is an empty scratch directory for policy files.
 * Prints "ok - NAME" or "FAIL - NAME" per case and ends with
 * "unit: N passed, M failed". Exits 1 when anything failed.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "tagpolicy.h"
#include "tp_internal.h"
#include "tp_debug.h"

/* ---- the harness ------------------------------------------------------- */

static int n_passed, n_failed, case_failures;
static const char *certdir, *workdir;

#define CHECK(cond) check((cond), __FILE__, __LINE__, "%s", #cond)
#define CHECKF(cond, ...) check((cond), __FILE__, __LINE__, __VA_ARGS__)

static bool check(bool ok, const char *file, int line, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static bool check(bool ok, const char *file, int line, const char *fmt, ...)
{
	va_list ap;

	if (ok)
		return true;
	case_failures++;
	fprintf(stdout, "  %s:%d: check failed: ", file, line);
	va_start(ap, fmt);
	vfprintf(stdout, fmt, ap);
	va_end(ap);
	fputc('\n', stdout);
	return false;
}

static void run(const char *name, void (*fn)(void))
{
	case_failures = 0;
	fn();
	if (case_failures) {
		n_failed++;
		printf("FAIL - %s\n", name);
	} else {
		n_passed++;
		printf("ok - %s\n", name);
	}
	fflush(stdout);
}

#define RUN(fn) run(#fn, fn)

/* ---- helpers ----------------------------------------------------------- */

struct blob {
	unsigned char *data;
	size_t len;
};

static struct blob cert(const char *name)
{
	struct blob b = { NULL, 0 };
	char path[4096];
	FILE *f;
	long n;

	snprintf(path, sizeof(path), "%s/%s.der", certdir, name);
	f = fopen(path, "rb");
	if (!f) {
		fprintf(stderr, "cannot open %s: %s\n", path, strerror(errno));
		exit(2);
	}
	fseek(f, 0, SEEK_END);
	n = ftell(f);
	rewind(f);
	b.data = malloc((size_t)n);
	if (!b.data || fread(b.data, 1, (size_t)n, f) != (size_t)n)
		exit(2);
	b.len = (size_t)n;
	fclose(f);
	return b;
}

/* The hex digest written by gen-certs.sh, e.g. sum("alice", "sha256"). */
static char *sum(const char *name, const char *alg)
{
	static char buf[8][80];
	static int slot;
	char path[4096], *s = buf[slot++ % 8];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.%s", certdir, name, alg);
	f = fopen(path, "r");
	if (!f || !fgets(s, 80, f))
		exit(2);
	fclose(f);
	s[strcspn(s, "\n")] = '\0';
	return s;
}

/* Joins tag names with ',' into a static buffer ("" for none). */
static const char *joined(const struct tp_tags *t)
{
	static char out[8192];

	out[0] = '\0';
	for (size_t i = 0; i < t->count; i++) {
		if (i)
			strcat(out, ",");
		strncat(out, t->names[i], sizeof(out) - strlen(out) - 2);
	}
	return out;
}

static struct tp_policy *load(const char *yaml)
{
	struct tp_policy *p = NULL;
	struct tp_diag d;
	int r = tp_policy_load_buffer("t.yml", yaml, strlen(yaml), &p, &d);

	if (!CHECKF(r == 0 && p, "load failed (%d) for:\n%s", r, yaml))
		tp_diag_print(&d, stdout);
	tp_diag_free(&d);
	return p;
}

/*
 * Evaluates certificate @name against @policy and checks that the tags
 * earned, joined with ',', are @want.
 */
static void expect_tags_p(const struct tp_policy *p, const char *name,
			  const char *want, int line)
{
	struct blob b = cert(name);
	struct tp_tags t;
	int r = tp_evaluate_der(p, b.data, b.len, &t, NULL);

	check(r == 0, __FILE__, line, "evaluate %s returned %d", name, r);
	check(strcmp(joined(&t), want) == 0, __FILE__, line,
	      "cert %s: got tags '%s', want '%s'", name, joined(&t), want);
	tp_tags_free(&t);
	free(b.data);
}

#define expect_tags(p, name, want) expect_tags_p(p, name, want, __LINE__)

/*
 * One filter, two tags: "pos" = [f], "neg" = ["not f"]. The filter must
 * hold for @hold (tags "pos") and fail for @fail (tags "neg"), which
 * proves holding, failing and negation both ways.
 */
static void filter_case_l(const char *body, const char *hold,
			  const char *fail, int line)
{
	char *yaml;
	struct tp_policy *p;

	if (asprintf(&yaml,
		     "filters:\n"
		     "  f:\n"
		     "%s\n"
		     "tags:\n"
		     "  pos:\n"
		     "    filter: [f]\n"
		     "  neg:\n"
		     "    filter: [\"not f\"]\n", body) < 0)
		exit(2);
	p = load(yaml);
	if (p) {
		if (hold)
			expect_tags_p(p, hold, "pos", line);
		if (fail)
			expect_tags_p(p, fail, "neg", line);
	}
	tp_policy_free(p);
	free(yaml);
}

#define filter_case(body, hold, fail) filter_case_l(body, hold, fail, __LINE__)

/* Loads @yaml expecting failure with an error at @line containing @msg. */
static void expect_error_l(const char *yaml, unsigned int line,
			   const char *msg, int at)
{
	struct tp_policy *p = (struct tp_policy *)1;
	struct tp_diag d;
	int r = tp_policy_load_buffer("t.yml", yaml, strlen(yaml), &p, &d);
	bool found = false;

	check(r == -EINVAL, __FILE__, at, "load returned %d, want -EINVAL", r);
	check(p == NULL, __FILE__, at, "a failed load returned a policy");
	for (size_t i = 0; i < d.count; i++)
		if (d.errors[i].line == line && d.errors[i].kind == TP_ERROR &&
		    strcmp(d.errors[i].file, "t.yml") == 0 &&
		    strstr(d.errors[i].msg, msg))
			found = true;
	if (!check(found, __FILE__, at, "no error at t.yml:%u containing '%s'; got:",
		   line, msg))
		tp_diag_print(&d, stdout);
	tp_diag_free(&d);
	tp_policy_free(p);
}

/*
 * Loads @yaml expecting success with a diagnostic of @kind at @line
 * containing @msg (@msg NULL: no diagnostic of @kind at all). Returns
 * the policy.
 */
static struct tp_policy *expect_loads_l(const char *yaml, enum tp_kind kind,
					unsigned int line, const char *msg,
					int at)
{
	struct tp_policy *p = NULL;
	struct tp_diag d;
	int r = tp_policy_load_buffer("t.yml", yaml, strlen(yaml), &p, &d);
	bool found = false;

	check(r == 0 && p, __FILE__, at, "load returned %d, want 0", r);
	check(tp_diag_count(&d, TP_ERROR) == 0, __FILE__, at,
	      "a successful load reported errors");
	for (size_t i = 0; i < d.count; i++)
		if (d.errors[i].kind == kind &&
		    (!msg || (d.errors[i].line == line &&
			      strstr(d.errors[i].msg, msg))))
			found = true;
	if (!check(found == (msg != NULL), __FILE__, at,
		   msg ? "no diagnostic %d at t.yml:%u containing '%s'; got:" :
			 "unexpected diagnostic %d; got:", kind, line, msg))
		tp_diag_print(&d, stdout);
	tp_diag_free(&d);
	return p;
}

#define expect_loads(yaml, kind, line, msg) \
	expect_loads_l(yaml, kind, line, msg, __LINE__)

#define expect_error(yaml, line, msg) expect_error_l(yaml, line, msg, __LINE__)

static void write_file(const char *dir, const char *name, const char *text)
{
	char path[4096];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", dir, name);
	f = fopen(path, "w");
	if (!f || fputs(text, f) < 0 || fclose(f) != 0)
		exit(2);
}

static char *make_dir(const char *name)
{
	char *path;

	if (asprintf(&path, "%s/%s", workdir, name) < 0 || mkdir(path, 0755) < 0)
		exit(2);
	return path;
}

/* ---- pattern matcher, names, times ------------------------------------- */

static void test_pattern_basics(void)
{
	static const struct {
		const char *pat, *text;
		bool want;
	} t[] = {
		{ "", "", true }, { "", "a", false }, { "a", "", false },
		{ "abc", "abc", true }, { "abc", "abd", false },
		{ "abc", "ab", false }, { "ab", "abc", false },
		{ "*", "", true }, { "*", "anything", true }, { "**", "", true },
		{ "?", "", false }, { "?", "a", true }, { "??", "a", false },
		{ "a?c", "abc", true }, { "a?c", "ac", false },
		{ "a*b", "ab", true }, { "a*b", "axxb", true },
		{ "a*b", "axxbc", false }, { "*b", "bbb", true },
		{ "a*a*a", "aaaa", true }, { "a*a*a", "aa", false },
		{ "a*?", "a", false }, { "a*?", "ab", true },
		{ "*?*", "", false }, { "*?*", "x", true },
		{ "*a", "bbbba", true }, { "*a", "bbbb", false },
		{ "*.example.com", "www.example.com", true },
		{ "*.example.com", "example.com", false },
		{ "CN=*,O=Example", "CN=alice,O=Example", true },
		{ "CN=*,O=Example", "CN=alice,O=Example,C=US", false },
		{ "*ab*ab*", "xabyyab", true }, { "*ab*ab*", "xabyya", false },
		{ "*aab", "aaab", true }, { "a*", "a", true },
		/*
		 * '?' is one character: a whole UTF-8 sequence (é is 2 bytes,
		 * € 3, 𝄞 4), or one byte that starts none.
		 */
		{ "?", "\xc3\xa9", true }, { "??", "\xc3\xa9", false },
		{ "caf?", "caf\xc3\xa9", true }, { "caf??", "caf\xc3\xa9", false },
		{ "?", "\xe2\x82\xac", true }, { "?", "\xf0\x9d\x84\x9e", true },
		{ "*??", "\xc3\xa9", false }, { "*??", "x\xc3\xa9", true },
		{ "*?\xa9", "\xc3\xa9", false }, { "*\xa9", "\xc3\xa9", false },
		{ "?", "\xff", true }, { "??", "\xc3\x28", true },
		{ "?", "\xc3", true }, { "?x", "\xe2\x82x", false },
		/* '*' and '?' in the text are ordinary bytes. */
		{ "a\\*", "a\\*", true }, { "x", "*", false },
	};

	for (size_t i = 0; i < sizeof(t) / sizeof(t[0]); i++)
		CHECKF(tp_pattern_match(t[i].pat, t[i].text) == t[i].want,
		       "'%s' vs '%s' want %d", t[i].pat, t[i].text, t[i].want);
}

static void test_pattern_wildcard_count(void)
{
	CHECK(tp_pattern_wildcards("") == 0);
	CHECK(tp_pattern_wildcards("abc") == 0);
	CHECK(tp_pattern_wildcards("*?*") == 3);
	CHECK(tp_pattern_wildcards("CN=*,O=??") == 3);
}

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

/* The matcher must stay polynomial on inputs built to make backtracking blow up. */
static void test_pattern_pathological(void)
{
	size_t n = 200000;
	char *text = malloc(n + 1);
	const char *pat = "*a*a*a*a*a*a*a*a*a*a*a*a*a*a*a*b";
	double t0;

	memset(text, 'a', n);
	text[n] = '\0';
	t0 = now();
	CHECK(!tp_pattern_match(pat, text));
	CHECK(!tp_pattern_match("*?*?*?*?*?*?*?*?b", text));
	text[n - 1] = 'b';
	CHECK(tp_pattern_match(pat, text));
	CHECKF(now() - t0 < 5.0, "took %.2f s", now() - t0);
	free(text);
}

static void test_names(void)
{
	char long_name[TP_NAME_MAX + 2];

	CHECK(tp_name_valid("a"));
	CHECK(tp_name_valid("A-z_09"));
	CHECK(!tp_name_valid(""));
	CHECK(!tp_name_valid("a b"));
	CHECK(!tp_name_valid("a.b"));
	CHECK(!tp_name_valid("caf\xc3\xa9"));
	memset(long_name, 'x', TP_NAME_MAX);
	long_name[TP_NAME_MAX] = '\0';
	CHECK(tp_name_valid(long_name));
	long_name[TP_NAME_MAX] = 'x';
	long_name[TP_NAME_MAX + 1] = '\0';
	CHECK(!tp_name_valid(long_name));
}

static void test_printable(void)
{
	char *s = tp_printable("CN=a\x1b[2Jb\x7f,O=\tx");

	CHECKF(s && strcmp(s, "CN=a\\x1b[2Jb\\x7f,O=\\x09x") == 0, "got '%s'", s);
	free(s);
	s = tp_printable("");
	CHECK(s && s[0] == '\0');
	free(s);
}

static void test_times(void)
{
	time_t t = 0;

	CHECK(tp_parse_time("1970-01-01 00:00:00", &t) && t == 0);
	CHECK(tp_parse_time("2024-01-01 00:00:00", &t) && t == 1704067200);
	CHECK(tp_parse_time("2024-02-29 23:59:59", &t) && t == 1709251199);
	CHECK(!tp_parse_time("2023-02-29 00:00:00", &t));
	CHECK(!tp_parse_time("2024-04-31 00:00:00", &t));
	CHECK(!tp_parse_time("2024-13-01 00:00:00", &t));
	CHECK(!tp_parse_time("2024-01-01 24:00:00", &t));
	CHECK(!tp_parse_time("2024-01-01T00:00:00", &t));
	CHECK(!tp_parse_time("2024-01-01", &t));
	CHECK(!tp_parse_time("", &t));
}

/*
 * What tlshd's strptime(3) also reads, where the meaning is plain: one
 * or two digits, blanks around and between, a suffix saying UTC, second
 * 60. Not: a zone other than UTC, trailing text (tlshd ignores both,
 * which moves the threshold without saying so), no blank before the
 * time, other year widths, dates that do not exist.
 */
static void test_times_lenient(void)
{
	static const char *const same[] = {
		"2024-1-1 0:0:0", "2024-01-01 00:00:00Z", "2024-01-01 00:00:00 UTC",
		" 2024-01-01\t 00:00:00 GMT ", "2024-01-01 00:00:00+00:00",
		"2024-01-01 00:00:00 +0000", "2024-01-01 00:00:00 +00",
		"2023-12-31 23:59:60",
	};
	static const char *const refused[] = {
		"2024-01-01 00:00:00+02:00", "2024-01-01 00:00:00 CET",
		"2024-01-01 00:00:00 junk", "2024-01-01 00:00:00Z junk",
		"2024-01-0100:00:00", "24-01-01 00:00:00", "02024-01-01 00:00:00",
		"2024-001-01 00:00:00", "2024-01-01 000:00:00",
		"2024-01-01 00:00:61", "2024-02-30 0:0:0", "2024-01-01 00:00",
		"2024-01-01 00:00:00ZZ",
	};
	time_t t;

	for (size_t i = 0; i < sizeof(same) / sizeof(same[0]); i++) {
		t = 0;
		CHECKF(tp_parse_time(same[i], &t) && t == 1704067200,
		       "'%s' gave %lld", same[i], (long long)t);
	}
	for (size_t i = 0; i < sizeof(refused) / sizeof(refused[0]); i++)
		CHECKF(!tp_parse_time(refused[i], &t), "'%s' was accepted",
		       refused[i]);
	CHECK(tp_parse_time("2024-3-5 7:8:9", &t) && t == 1709622489);
}

/*
 * Where tlshd's loader tolerates what this one used to refuse, the
 * policy loads with a warning; where tlshd decides differently, a
 * TP_TLSHD note says so (tlstagd --check-config prints them).
 */
static void test_tlshd_semantics(void)
{
	struct tp_policy *p;

	/* An argument the type does not take is ignored, as in tlshd. */
	p = expect_loads("filters:\n"
			 "  f: {type: x509.tbs.subject, pattern: \"CN=alice*\", purpose: [b]}\n"
			 "tags:\n  t: {filter: [f]}\n",
			 TP_WARNING, 2, "its purpose: is ignored");
	if (p) {
		expect_tags(p, "alice", "t");
		expect_tags(p, "bob", "");
	}
	tp_policy_free(p);
	p = expect_loads("filters:\n"
			 "  f:\n"
			 "    type: x509.extension.keyUsage\n"
			 "    pattern: nothing\n"
			 "    purpose: [digitalSignature]\n"
			 "tags:\n  t: {filter: [f]}\n",
			 TP_WARNING, 4, "its pattern: is ignored");
	if (p)
		expect_tags(p, "alice", "t");
	tp_policy_free(p);
	p = expect_loads("filters:\n  s: {type: x509.derived.selfSigned, purpose: [x]}\n",
			 TP_WARNING, 2, "its purpose: is ignored");
	tp_policy_free(p);

	/*
	 * An empty filter list loads, but the tag fails closed: tlshd would
	 * give it to every certificate. It is not even defined.
	 */
	static const char *const empty[] = {
		"tags:\n  t: {filter: []}\n  u: {filter: [f]}\n",
		"tags:\n  t:\n    filter:\n  u: {filter: [f]}\n",
		"tags:\n  t: {filter: ~}\n  u: {filter: [f]}\n",
	};
	for (size_t i = 0; i < sizeof(empty) / sizeof(empty[0]); i++) {
		char *y;

		if (asprintf(&y, "filters:\n  f: {type: x509.tbs.version, pattern: \"3\"}\n%s",
			     empty[i]) < 0)
			exit(2);
		p = expect_loads(y, TP_WARNING, i == 1 ? 5 : 4,
				 "tag 't' has an empty filter list: no certificate earns it");
		if (p) {
			CHECK(!tp_policy_has_tag(p, "t"));
			CHECK(tp_policy_has_tag(p, "u"));
			CHECK(tp_policy_tag_count(p) == 1);
			expect_tags(p, "alice", "u");
			expect_tags(p, "selfie", "u");
		}
		tp_policy_free(p);
		free(y);
	}
	/* An empty list does not hide a duplicate name, either way round. */
	expect_error("filters:\n  f: {type: x509.tbs.version, pattern: \"3\"}\n"
		     "tags:\n  t: {filter: [f]}\n---\ntags:\n  t: {filter: []}\n",
		     7, "duplicate tag name 't'");
	expect_error("filters:\n  f: {type: x509.tbs.version, pattern: \"3\"}\n"
		     "tags:\n  t: {filter: []}\n---\ntags:\n  t: {filter: [f]}\n",
		     7, "duplicate tag name 't'");

	/* Validity: tlshd's code runs the other way; tlshd uses local time. */
	setenv("TZ", "UTC", 1);
	tzset();
	p = expect_loads("filters:\n  nb: {type: x509.tbs.validity.notBefore, pattern: \"2020-01-01 00:00:00\"}\n",
			 TP_TLSHD, 2, "there filter 'nb' holds for certificates issued at or before the threshold");
	tp_policy_free(p);
	p = expect_loads("filters:\n  na: {type: x509.tbs.validity.notAfter, pattern: \"2020-01-01 00:00:00\"}\n",
			 TP_TLSHD, 2, "expiring at or after the threshold");
	tp_policy_free(p);
	{
		/* In UTC, local time is UTC: no note about it. */
		static const char y[] =
			"filters:\n  na: {type: x509.tbs.validity.notAfter, pattern: \"2020-01-01 00:00:00\"}\n";
		struct tp_diag d;

		p = NULL;
		CHECK(tp_policy_load_buffer("t.yml", y, strlen(y), &p, &d) == 0);
		CHECK(tp_diag_count(&d, TP_TLSHD) == 1);
		for (size_t i = 0; i < d.count; i++)
			CHECK(!strstr(d.errors[i].msg, "time zone"));
		tp_diag_free(&d);
		tp_policy_free(p);
	}
	setenv("TZ", "America/New_York", 1);
	tzset();
	p = expect_loads("filters:\n  na: {type: x509.tbs.validity.notAfter, pattern: \"2020-01-01 00:00:00\"}\n",
			 TP_TLSHD, 2, "tlshd reads the time of filter 'na' in this machine's time zone (UTC-05:00)");
	tp_policy_free(p);
	setenv("TZ", "UTC", 1);
	tzset();

	/* selfSigned's pattern is this library's: tlshd ignores it. */
	p = expect_loads("filters:\n  s: {type: x509.derived.selfSigned, pattern: \"false\"}\n",
			 TP_TLSHD, 2, "tlshd ignores the pattern of x509.derived.selfSigned");
	tp_policy_free(p);
	p = expect_loads("filters:\n  s: {type: x509.derived.selfSigned, pattern: \"true\"}\n",
			 TP_TLSHD, 0, NULL);
	tp_policy_free(p);

	/* Upper-case hex never matches in tlshd. */
	p = expect_loads("filters:\n  s: {type: x509.tbs.serialNumber, pattern: \"0A*\"}\n",
			 TP_TLSHD, 2, "upper-case letters");
	tp_policy_free(p);
	p = expect_loads("filters:\n  s: {type: x509.derived.fingerprint, pattern: \"0a*\"}\n",
			 TP_TLSHD, 0, NULL);
	tp_policy_free(p);

	/* Types tlshd lacks end its reading of the file. */
	p = expect_loads("filters:\n  d: {type: x509.extension.subjectAltName.dns, pattern: \"*\"}\n",
			 TP_TLSHD, 2, "tlshd does not know type x509.extension.subjectAltName.dns");
	tp_policy_free(p);
	p = expect_loads("filters:\n  e: {type: x509.extension.extendedKeyUsage, purpose: [clientAuth]}\n",
			 TP_TLSHD, 2, "tlshd does not know type x509.extension.extendedKeyUsage");
	tp_policy_free(p);

	/* A policy tlshd reads the same way gets no note at all. */
	p = expect_loads("filters:\n"
			 "  i: {type: x509.tbs.issuer, pattern: \"CN=Test CA*\"}\n"
			 "  k: {type: x509.extension.keyUsage, purpose: [digitalSignature]}\n"
			 "  s: {type: x509.derived.selfSigned}\n"
			 "  n: {type: x509.tbs.serialNumber, pattern: \"0a*\"}\n"
			 "tags:\n  t: {filter: [i, k, not s]}\n",
			 TP_TLSHD, 0, NULL);
	tp_policy_free(p);
}

/* UTC, not local time: a different TZ must not move thresholds. */
static void test_times_ignore_tz(void)
{
	time_t t = 0;

	setenv("TZ", "America/New_York", 1);
	tzset();
	CHECK(tp_parse_time("2024-01-01 00:00:00", &t) && t == 1704067200);
	setenv("TZ", "UTC", 1);
	tzset();
}

/* ---- every filter type: holds, fails, negated both ways ----------------- */

static void test_filter_signature_algorithm(void)
{
	filter_case("    type: x509.cert.signatureAlgorithm\n"
		    "    pattern: ECDSA-SHA256", "alice", "selfie");
	filter_case("    type: x509.cert.signatureAlgorithm\n"
		    "    pattern: RSA-SHA*", "selfie", "bob");
	filter_case("    type: x509.cert.signatureAlgorithm\n"
		    "    pattern: EdDSA-Ed25519", "v1", "alice");
}

static void test_filter_version(void)
{
	filter_case("    type: x509.tbs.version\n    pattern: \"3\"", "alice", "v1");
	filter_case("    type: x509.tbs.version\n    pattern: 1", "v1", "bob");
}

static void test_filter_serial(void)
{
	/* DER pads 0x8a... with a zero octet; the filter sees "8a1b2c3d". */
	filter_case("    type: x509.tbs.serialNumber\n    pattern: 8a1b2c3d",
		    "alice", "bob");
	filter_case("    type: x509.tbs.serialNumber\n    pattern: \"05\"",
		    "bob", "alice");
	/* Hex is compared in lowercase whatever case the pattern uses. */
	filter_case("    type: x509.tbs.serialNumber\n    pattern: 8A1B*",
		    "alice", "selfie");
	filter_case("    type: x509.tbs.serialNumber\n    pattern: ff",
		    "selfie", "alice");
	/*
	 * The form with DER's padding octet (what tlshd matches against)
	 * matches too, for the padded serial only.
	 */
	filter_case("    type: x509.tbs.serialNumber\n    pattern: 008a1b2c3d",
		    "alice", "bob");
	filter_case("    type: x509.tbs.serialNumber\n    pattern: 008a*",
		    "alice", "selfie");
	filter_case("    type: x509.tbs.serialNumber\n    pattern: \"0005\"",
		    NULL, "bob");
}

static void test_filter_issuer(void)
{
	filter_case("    type: x509.tbs.issuer\n    pattern: \"CN=Test CA,O=Example\"",
		    "alice", "selfie");
	filter_case("    type: x509.tbs.issuer\n    pattern: \"CN=selfie,*\"",
		    "selfie", "bob");
}

static void test_filter_subject(void)
{
	filter_case("    type: x509.tbs.subject\n"
		    "    pattern: \"CN=alice,OU=eng,O=Example\"", "alice", "bob");
	filter_case("    type: x509.tbs.subject\n    pattern: \"CN=*,O=Other\"",
		    "bob", "alice");
	filter_case("    type: x509.tbs.subject\n    pattern: \"CN=?????,*\"",
		    "alice", "v1");
}

/* The load-time fast paths of the matcher agree with the general one. */
static void test_pattern_compiled(void)
{
	static const char *const pats[] = {
		"", "a", "abc", "*", "**", "a*", "*a", "ab*ba", "a*b*c",
		"CN=*,O=Example", "*O=Example", "CN=Test CA,O=Ex*", "?", "a?c",
		"*?", "x*x", "aa*aa", "*\xa9", "*\xc3\xa9", "caf\xc3\xa9*",
	};
	static const char *const texts[] = {
		"", "a", "aa", "ab", "abc", "aba", "abba", "abxba", "aaa",
		"aaaa", "aabaa", "x", "xx", "xax", "CN=alice,O=Example",
		"CN=Test CA,O=Example", "O=Example", "CN=Test CA,O=Ex",
		"\xc3\xa9", "caf\xc3\xa9", "caf\xc3\xa9s",
	};
	size_t fast = 0;

	for (size_t i = 0; i < sizeof(pats) / sizeof(pats[0]); i++) {
		struct tp_cpattern cp;

		tp_pattern_compile(pats[i], &cp);
		fast += cp.kind != TP_P_GENERAL;
		CHECK(cp.len == strlen(pats[i]));
		CHECK(cp.wildcards == tp_pattern_wildcards(pats[i]));
		for (size_t j = 0; j < sizeof(texts) / sizeof(texts[0]); j++)
			CHECKF(tp_cpattern_match(pats[i], &cp, texts[j],
						 strlen(texts[j])) ==
			       tp_pattern_match(pats[i], texts[j]),
			       "'%s' vs '%s'", pats[i], texts[j]);
	}
	CHECK(fast == 14);
}

/* tp_evaluate_crt on an imported certificate gives tp_evaluate_der's results. */
static void test_evaluate_crt(void)
{
	static const char *const names[] = { "alice", "bob", "selfie", "v1", "ca" };
	struct tp_policy *p = load(
		"filters:\n"
		"  sub: {type: x509.tbs.subject, pattern: \"CN=*,O=Example\"}\n"
		"  iss: {type: x509.tbs.issuer, pattern: \"CN=Test CA,O=Example\"}\n"
		"  self: {type: x509.derived.selfSigned}\n"
		"  ser: {type: x509.tbs.serialNumber, pattern: \"8a1b*\"}\n"
		"  dns: {type: x509.extension.subjectAltName.dns, pattern: \"*.example.com\"}\n"
		"tags:\n"
		"  a: {filter: [sub]}\n  b: {filter: [iss, not self]}\n"
		"  c: {filter: [ser, dns]}\n  d: {filter: [self]}\n");

	if (!p)
		return;
	for (size_t i = 0; i < sizeof(names) / sizeof(names[0]); i++) {
		struct blob b = cert(names[i]);
		gnutls_datum_t d = { b.data, (unsigned int)b.len };
		gnutls_x509_crt_t crt;
		struct tp_tags t1, t2;
		struct tp_explain e1, e2;
		char want[512];

		CHECK(gnutls_x509_crt_init(&crt) == 0);
		CHECK(gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_DER) == 0);
		CHECK(tp_evaluate_der(p, b.data, b.len, &t1, &e1) == 0);
		snprintf(want, sizeof(want), "%s", joined(&t1));
		CHECK(tp_evaluate_crt(p, crt, &t2, &e2) == 0);
		CHECKF(strcmp(want, joined(&t2)) == 0, "%s: '%s' vs '%s'",
		       names[i], want, joined(&t2));
		CHECK(e1.count == e2.count);
		for (size_t k = 0; k < e1.count && k < e2.count; k++)
			for (size_t f = 0; f < e1.tags[k].nfilters; f++)
				CHECK(strcmp(e1.tags[k].filters[f].detail,
					     e2.tags[k].filters[f].detail) == 0);
		tp_tags_free(&t1);
		tp_tags_free(&t2);
		tp_explain_free(&e1);
		tp_explain_free(&e2);
		/* The certificate is still the caller's, and still usable. */
		CHECK(tp_evaluate_crt(p, crt, &t2, NULL) == 0);
		CHECK(strcmp(want, joined(&t2)) == 0);
		tp_tags_free(&t2);
		gnutls_x509_crt_deinit(crt);
		free(b.data);
	}
	CHECK(tp_evaluate_crt(p, NULL, &(struct tp_tags){ 0 }, NULL) == -EINVAL);
	tp_policy_free(p);
}

static void test_filter_not_before(void)
{
	/* alice: 2024-01-01 00:00:00; bob: 2020-06-01 12:00:00 */
	filter_case("    type: x509.tbs.validity.notBefore\n"
		    "    pattern: \"2024-01-01 00:00:00\"", "alice", "bob");
	/* One second later the threshold is past alice's activation. */
	filter_case("    type: x509.tbs.validity.notBefore\n"
		    "    pattern: \"2024-01-01 00:00:01\"", "selfie", "alice");
	filter_case("    type: x509.tbs.validity.notBefore\n"
		    "    pattern: \"2020-06-01 12:00:00\"", "bob", NULL);
	filter_case("    type: x509.tbs.validity.notBefore\n"
		    "    pattern: \"2020-06-01 12:00:01\"", NULL, "bob");
}

static void test_filter_not_after(void)
{
	/* alice: 2034-01-01 00:00:00; bob: 2021-06-01 12:00:00 */
	filter_case("    type: x509.tbs.validity.notAfter\n"
		    "    pattern: \"2034-01-01 00:00:00\"", "alice", NULL);
	filter_case("    type: x509.tbs.validity.notAfter\n"
		    "    pattern: \"2033-12-31 23:59:59\"", "bob", "alice");
	filter_case("    type: x509.tbs.validity.notAfter\n"
		    "    pattern: \"2021-06-01 11:59:59\"", NULL, "bob");
}

static void test_filter_key_usage(void)
{
	filter_case("    type: x509.extension.keyUsage\n"
		    "    purpose: [digitalSignature, keyEncipherment]",
		    "alice", "bob");
	filter_case("    type: x509.extension.keyUsage\n"
		    "    purpose:\n      - keyAgreement\n      - nonRepudiation\n"
		    "      - dataEncipherment\n      - digitalSignature",
		    "bob", "alice");
	filter_case("    type: x509.extension.keyUsage\n"
		    "    purpose: [keyCertSign, cRLSign]", "selfie", "alice");
	filter_case("    type: x509.extension.keyUsage\n"
		    "    purpose: [encipherOnly]", NULL, "alice");
	filter_case("    type: x509.extension.keyUsage\n"
		    "    purpose: [decipherOnly]", NULL, "bob");
	/* No keyUsage extension at all: nothing holds. */
	filter_case("    type: x509.extension.keyUsage\n"
		    "    purpose: [digitalSignature]", "selfie", "v1");
}

static void test_filter_extended_key_usage(void)
{
	filter_case("    type: x509.extension.extendedKeyUsage\n"
		    "    purpose: [serverAuth, clientAuth]", "alice", "bob");
	filter_case("    type: x509.extension.extendedKeyUsage\n"
		    "    purpose: [codeSigning, emailProtection, timeStamping, OCSPSigning]",
		    "bob", "alice");
	filter_case("    type: x509.extension.extendedKeyUsage\n"
		    "    purpose: [\"1.3.6.1.4.1.99999.1\"]", "bob", "alice");
	filter_case("    type: x509.extension.extendedKeyUsage\n"
		    "    purpose: [\"1.3.6.1.5.5.7.3.2\"]", "alice", "selfie");
	/* All listed must be present. */
	filter_case("    type: x509.extension.extendedKeyUsage\n"
		    "    purpose: [clientAuth, codeSigning]", NULL, "alice");
	filter_case("    type: x509.extension.extendedKeyUsage\n"
		    "    purpose: [clientAuth]", NULL, "v1");
}

static void test_filter_fingerprint(void)
{
	char body[512], up[80];

	snprintf(body, sizeof(body), "    type: x509.derived.fingerprint\n"
		 "    pattern: %s", sum("alice", "sha256"));
	filter_case(body, "alice", "bob");
	snprintf(body, sizeof(body), "    type: x509.derived.fingerprint\n"
		 "    pattern: %s", sum("bob", "sha1"));
	filter_case(body, "bob", "alice");
	/* With wildcards either digest may match. */
	snprintf(body, sizeof(body), "    type: x509.derived.fingerprint\n"
		 "    pattern: \"%.10s*\"", sum("selfie", "sha256"));
	filter_case(body, "selfie", NULL);
	snprintf(body, sizeof(body), "    type: x509.derived.fingerprint\n"
		 "    pattern: \"%.10s*\"", sum("selfie", "sha1"));
	filter_case(body, "selfie", NULL);
	/* Uppercase hex is accepted. */
	snprintf(up, sizeof(up), "%s", sum("v1", "sha256"));
	for (char *c = up; *c; c++)
		if (*c >= 'a' && *c <= 'f')
			*c = (char)(*c - 'a' + 'A');
	snprintf(body, sizeof(body), "    type: x509.derived.fingerprint\n"
		 "    pattern: %s", up);
	filter_case(body, "v1", "alice");
	/* Colon-separated is not the format. */
	filter_case("    type: x509.derived.fingerprint\n    pattern: \"ab:cd\"",
		    NULL, "alice");
}

static void test_filter_self_signed(void)
{
	filter_case("    type: x509.derived.selfSigned", "selfie", "alice");
	filter_case("    type: x509.derived.selfSigned\n    pattern: \"true\"",
		    "v1", "bob");
	filter_case("    type: x509.derived.selfSigned\n    pattern: \"false\"",
		    "alice", "selfie");
	filter_case("    type: x509.derived.selfSigned", "ca", NULL);
}

static void test_filter_san_dns(void)
{
	filter_case("    type: x509.extension.subjectAltName.dns\n"
		    "    pattern: \"*.example.com\"", "alice", "bob");
	/* Any SAN may match, not just the first. */
	filter_case("    type: x509.extension.subjectAltName.dns\n"
		    "    pattern: www.example.com", "alice", "selfie");
	filter_case("    type: x509.extension.subjectAltName.dns\n"
		    "    pattern: bob.other.net", "bob", "alice");
}

static void test_filter_san_ip(void)
{
	filter_case("    type: x509.extension.subjectAltName.ip\n"
		    "    pattern: 192.0.2.10", "alice", "bob");
	/* IPv6 in canonical inet_ntop form. */
	filter_case("    type: x509.extension.subjectAltName.ip\n"
		    "    pattern: \"2001:db8::1\"", "alice", "v1");
	filter_case("    type: x509.extension.subjectAltName.ip\n"
		    "    pattern: \"2001:0db8:0000::0001\"", NULL, "alice");
	filter_case("    type: x509.extension.subjectAltName.ip\n"
		    "    pattern: \"192.0.2.*\"", "alice", "selfie");
}

static void test_filter_san_uri(void)
{
	filter_case("    type: x509.extension.subjectAltName.uri\n"
		    "    pattern: \"spiffe://example.org/ns/*/sa/alice\"",
		    "alice", "bob");
	filter_case("    type: x509.extension.subjectAltName.uri\n"
		    "    pattern: \"https://*\"", "bob", "alice");
}

static void test_filter_san_email(void)
{
	filter_case("    type: x509.extension.subjectAltName.email\n"
		    "    pattern: \"*@example.com\"", "alice", "bob");
	filter_case("    type: x509.extension.subjectAltName.email\n"
		    "    pattern: \"bob@*\"", NULL, "alice");
}

/* ---- evaluation behaviour ---------------------------------------------- */

static void test_tags_sorted_unique(void)
{
	struct tp_policy *p = load(
		"filters:\n"
		"  any: {type: x509.tbs.subject, pattern: \"*\"}\n"
		"tags:\n"
		"  zeta: {filter: [any]}\n"
		"  alpha: {filter: [any, any]}\n"
		"  Mid: {filter: [any]}\n"
		"  beta: {filter: [any]}\n"
		"  _x: {filter: [\"not any\"]}\n");

	if (!p)
		return;
	CHECK(tp_policy_tag_count(p) == 5);
	CHECK(tp_policy_filter_count(p) == 1);
	expect_tags(p, "alice", "Mid,alpha,beta,zeta");
	tp_policy_free(p);
}

static void test_all_filters_must_hold(void)
{
	struct tp_policy *p = load(
		"filters:\n"
		"  example: {type: x509.tbs.subject, pattern: \"*,O=Example\"}\n"
		"  client: {type: x509.extension.extendedKeyUsage, purpose: [clientAuth]}\n"
		"  spiffe: {type: x509.extension.subjectAltName.uri, pattern: \"spiffe://*\"}\n"
		"  self: {type: x509.derived.selfSigned}\n"
		"tags:\n"
		"  workload: {filter: [example, client, spiffe, not self]}\n"
		"  selfish: {filter: [example, self]}\n"
		"  nothing: {filter: [example, client, self]}\n");

	if (!p)
		return;
	expect_tags(p, "alice", "workload");
	expect_tags(p, "selfie", "selfish");
	expect_tags(p, "bob", "");
	tp_policy_free(p);
}

static void test_negation_spacing(void)
{
	struct tp_policy *p = load(
		"filters:\n"
		"  not: {type: x509.tbs.version, pattern: \"3\"}\n"
		"tags:\n"
		"  a: {filter: [\"not   not\"]}\n"
		"  b: {filter: [not]}\n"
		"  c: {filter: [\"not\tnot\"]}\n");

	if (!p)
		return;
	expect_tags(p, "alice", "b");
	expect_tags(p, "v1", "a,c");
	tp_policy_free(p);
}

/* Every field is derived at most once, however many filters use it. */
static void test_derived_once(void)
{
	struct tp_policy *p = load(
		"filters:\n"
		"  s1: {type: x509.tbs.subject, pattern: \"CN=*\"}\n"
		"  s2: {type: x509.tbs.subject, pattern: \"*O=Example\"}\n"
		"  s3: {type: x509.tbs.subject, pattern: \"nomatch\"}\n"
		"  i1: {type: x509.tbs.issuer, pattern: \"*\"}\n"
		"  ss: {type: x509.derived.selfSigned}\n"
		"  f1: {type: x509.derived.fingerprint, pattern: \"*\"}\n"
		"  f2: {type: x509.derived.fingerprint, pattern: \"?*\"}\n"
		"  f3: {type: x509.derived.fingerprint, pattern: \"0123456789012345678901234567890123456789\"}\n"
		"  d1: {type: x509.extension.subjectAltName.dns, pattern: \"x\"}\n"
		"  d2: {type: x509.extension.subjectAltName.ip, pattern: \"x\"}\n"
		"  d3: {type: x509.extension.subjectAltName.uri, pattern: \"x\"}\n"
		"  d4: {type: x509.extension.subjectAltName.email, pattern: \"x\"}\n"
		"  k1: {type: x509.extension.keyUsage, purpose: [cRLSign]}\n"
		"  k2: {type: x509.extension.keyUsage, purpose: [digitalSignature]}\n"
		"  e1: {type: x509.extension.extendedKeyUsage, purpose: [serverAuth]}\n"
		"  e2: {type: x509.extension.extendedKeyUsage, purpose: [codeSigning]}\n"
		"  t1: {type: x509.tbs.validity.notBefore, pattern: \"2000-01-01 00:00:00\"}\n"
		"  t2: {type: x509.tbs.validity.notBefore, pattern: \"2001-01-01 00:00:00\"}\n"
		"  t3: {type: x509.tbs.validity.notAfter, pattern: \"2100-01-01 00:00:00\"}\n"
		"  t4: {type: x509.tbs.validity.notAfter, pattern: \"2101-01-01 00:00:00\"}\n"
		"  v1: {type: x509.tbs.version, pattern: \"3\"}\n"
		"  v2: {type: x509.tbs.version, pattern: \"?\"}\n"
		"  n1: {type: x509.tbs.serialNumber, pattern: \"*\"}\n"
		"  n2: {type: x509.tbs.serialNumber, pattern: \"8*\"}\n"
		"  a1: {type: x509.cert.signatureAlgorithm, pattern: \"*\"}\n"
		"  a2: {type: x509.cert.signatureAlgorithm, pattern: \"E*\"}\n"
		"tags:\n"
		"  x1: {filter: [s1, s2, s3, i1, ss, f1, f2, f3, d1, d2, d3, d4]}\n"
		"  x2: {filter: [not s3, s1, s2, i1, ss, f1, f2, not d1, k1, k2]}\n"
		"  x3: {filter: [e1, e2, t1, t2, t3, t4, v1, v2, n1, n2, a1, a2]}\n"
		"  x4: {filter: [not e2, t1, t3, v1, n2, a2, s2, not ss, not d4]}\n"
		"  x5: {filter: [s1, s2, i1, f1, k2, e1, t2, t4, v2, n1, a1]}\n");
	struct tp_explain ex;
	struct tp_tags t;
	struct blob b = cert("alice");

	if (!p)
		goto out;
	memset(tp_derive_count, 0, sizeof(tp_derive_count));
	CHECK(tp_evaluate_der(p, b.data, b.len, &t, &ex) == 0);
	for (int i = 0; i < TP_D__COUNT; i++)
		CHECKF(tp_derive_count[i] == 1, "field %d derived %u times",
		       i, tp_derive_count[i]);
	CHECKF(strcmp(joined(&t), "x4,x5") == 0, "got '%s'", joined(&t));
	tp_tags_free(&t);
	tp_explain_free(&ex);
	/* Without explanation too, and a second evaluation starts afresh. */
	memset(tp_derive_count, 0, sizeof(tp_derive_count));
	CHECK(tp_evaluate_der(p, b.data, b.len, &t, NULL) == 0);
	for (int i = 0; i < TP_D__COUNT; i++)
		CHECKF(tp_derive_count[i] <= 1, "field %d derived %u times",
		       i, tp_derive_count[i]);
	CHECK(tp_derive_count[TP_D_SUBJECT] == 1);
	tp_tags_free(&t);
out:
	tp_policy_free(p);
	free(b.data);
}

static void test_explain(void)
{
	struct tp_policy *p = load(
		"filters:\n"
		"  alice: {type: x509.tbs.subject, pattern: \"CN=alice,*\"}\n"
		"  self: {type: x509.derived.selfSigned}\n"
		"  ku: {type: x509.extension.keyUsage, purpose: [keyCertSign]}\n"
		"  nb: {type: x509.tbs.validity.notBefore, pattern: \"2023-01-01 00:00:00\"}\n"
		"tags:\n"
		"  good: {filter: [alice, not self, nb]}\n"
		"  bad: {filter: [ku, alice, self]}\n");
	struct tp_explain ex;
	struct tp_tags t;
	struct blob b = cert("alice");

	if (!p)
		goto out;
	CHECK(tp_evaluate_der(p, b.data, b.len, &t, &ex) == 0);
	CHECK(strcmp(joined(&t), "good") == 0);
	CHECK(ex.count == 2);
	if (ex.count == 2) {
		struct tp_explain_tag *bad = &ex.tags[0], *good = &ex.tags[1];

		CHECK(strcmp(bad->tag, "bad") == 0 && !bad->assigned);
		/* Every filter is explained, even after the first failure. */
		CHECK(bad->nfilters == 3);
		if (bad->nfilters == 3) {
			CHECK(strcmp(bad->filters[0].filter, "ku") == 0);
			CHECK(!bad->filters[0].held);
			CHECKF(strstr(bad->filters[0].detail, "lacks keyCertSign") != NULL,
			       "detail '%s'", bad->filters[0].detail);
			CHECK(bad->filters[1].held);
			CHECK(!bad->filters[2].held && !bad->filters[2].negated);
		}
		CHECK(strcmp(good->tag, "good") == 0 && good->assigned);
		CHECK(good->nfilters == 3);
		if (good->nfilters == 3) {
			CHECK(good->filters[0].held);
			CHECKF(strstr(good->filters[0].detail,
				      "subject 'CN=alice,OU=eng,O=Example' matches 'CN=alice,*'"),
			       "detail '%s'", good->filters[0].detail);
			CHECK(strcmp(good->filters[1].filter, "self") == 0);
			CHECK(good->filters[1].negated && good->filters[1].held);
			CHECKF(strstr(good->filters[1].detail, "differs"),
			       "detail '%s'", good->filters[1].detail);
			CHECKF(strstr(good->filters[2].detail,
				      "notBefore 2024-01-01 00:00:00 >= 2023-01-01 00:00:00"),
			       "detail '%s'", good->filters[2].detail);
		}
	}
	tp_tags_free(&t);
	tp_explain_free(&ex);
out:
	tp_policy_free(p);
	free(b.data);
}

/* The benchmark's uncached baseline agrees with the engine. */
static void test_baseline_agrees(void)
{
	static const char *const certs[] = { "ca", "alice", "bob", "selfie", "v1" };
	struct tp_policy *p = load(
		"filters:\n"
		"  a: {type: x509.cert.signatureAlgorithm, pattern: \"*SHA256\"}\n"
		"  b: {type: x509.tbs.version, pattern: \"3\"}\n"
		"  c: {type: x509.tbs.serialNumber, pattern: \"0?\"}\n"
		"  d: {type: x509.tbs.issuer, pattern: \"*Example\"}\n"
		"  e: {type: x509.tbs.subject, pattern: \"CN=?????,*\"}\n"
		"  f: {type: x509.tbs.validity.notBefore, pattern: \"2024-01-01 00:00:00\"}\n"
		"  g: {type: x509.tbs.validity.notAfter, pattern: \"2030-01-01 00:00:00\"}\n"
		"  h: {type: x509.extension.keyUsage, purpose: [digitalSignature]}\n"
		"  i: {type: x509.extension.extendedKeyUsage, purpose: [clientAuth]}\n"
		"  j: {type: x509.derived.fingerprint, pattern: \"*a*\"}\n"
		"  k: {type: x509.derived.selfSigned}\n"
		"  l: {type: x509.extension.subjectAltName.dns, pattern: \"*.*\"}\n"
		"  m: {type: x509.extension.subjectAltName.ip, pattern: \"*\"}\n"
		"  n: {type: x509.extension.subjectAltName.uri, pattern: \"*\"}\n"
		"  o: {type: x509.extension.subjectAltName.email, pattern: \"*\"}\n"
		"tags:\n"
		"  ta: {filter: [a]}\n  tb: {filter: [b]}\n  tc: {filter: [c]}\n"
		"  td: {filter: [d]}\n  te: {filter: [e]}\n  tf: {filter: [f]}\n"
		"  tg: {filter: [g]}\n  th: {filter: [h]}\n  ti: {filter: [i]}\n"
		"  tj: {filter: [j]}\n  tk: {filter: [k]}\n  tl: {filter: [l]}\n"
		"  tm: {filter: [m]}\n  tn: {filter: [n]}\n  to: {filter: [o]}\n"
		"  x1: {filter: [a, not k, l]}\n  x2: {filter: [not b, not m]}\n");

	if (!p)
		return;
	for (size_t i = 0; i < sizeof(certs) / sizeof(certs[0]); i++) {
		struct blob b = cert(certs[i]);
		struct tp_tags t1, t2;
		char first[8192];

		CHECK(tp_evaluate_der(p, b.data, b.len, &t1, NULL) == 0);
		CHECK(tp_baseline_evaluate_der(p, b.data, b.len, &t2) == 0);
		snprintf(first, sizeof(first), "%s", joined(&t1));
		CHECKF(strcmp(first, joined(&t2)) == 0, "%s: engine '%s', baseline '%s'",
		       certs[i], first, joined(&t2));
		tp_tags_free(&t1);
		tp_tags_free(&t2);
		free(b.data);
	}
	tp_policy_free(p);
}

/* One policy, evaluated by several threads at once. */
struct thread_arg {
	const struct tp_policy *p;
	struct blob alice, bob;
	int bad;
};

static void *evaluator(void *v)
{
	struct thread_arg *a = v;

	for (int i = 0; i < 200; i++) {
		bool odd = i & 1;
		struct blob *b = odd ? &a->bob : &a->alice;
		struct tp_tags t;
		struct tp_explain ex;

		if (tp_evaluate_der(a->p, b->data, b->len, &t, (i % 3) ? NULL : &ex) ||
		    t.count != 1 ||
		    strcmp(t.names[0], odd ? "other" : "example") != 0)
			__atomic_add_fetch(&a->bad, 1, __ATOMIC_RELAXED);
		tp_tags_free(&t);
		if (!(i % 3))
			tp_explain_free(&ex);
	}
	return NULL;
}

static void test_threads_share_policy(void)
{
	struct tp_policy *p = load(
		"filters:\n"
		"  ex: {type: x509.tbs.subject, pattern: \"*,O=Example\"}\n"
		"  dns: {type: x509.extension.subjectAltName.dns, pattern: \"*.example.com\"}\n"
		"tags:\n"
		"  example: {filter: [ex, dns]}\n"
		"  other: {filter: [not ex, not dns]}\n");
	struct thread_arg a = { .p = p, .alice = cert("alice"), .bob = cert("bob") };
	pthread_t th[4];

	if (p) {
		for (int i = 0; i < 4; i++)
			CHECK(pthread_create(&th[i], NULL, evaluator, &a) == 0);
		for (int i = 0; i < 4; i++)
			pthread_join(th[i], NULL);
		CHECKF(a.bad == 0, "%d wrong evaluations", a.bad);
	}
	tp_policy_free(p);
	free(a.alice.data);
	free(a.bob.data);
}

static void test_bad_der(void)
{
	struct tp_policy *p = load(
		"filters:\n  a: {type: x509.tbs.version, pattern: \"*\"}\n"
		"tags:\n  t: {filter: [\"not a\"]}\n");
	struct blob b = cert("alice");
	struct tp_tags t;
	struct tp_explain ex;
	unsigned char junk[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

	if (!p)
		goto out;
	CHECK(tp_evaluate_der(p, junk, sizeof(junk), &t, &ex) == -EINVAL);
	CHECK(t.count == 0 && t.names == NULL && ex.count == 0 && ex.tags == NULL);
	CHECK(tp_evaluate_der(p, b.data, b.len / 2, &t, NULL) == -EINVAL);
	CHECK(t.count == 0);
	CHECK(tp_evaluate_der(p, b.data, 0, &t, NULL) == -EINVAL);
	CHECK(tp_evaluate_der(p, NULL, 10, &t, NULL) == -EINVAL);
	CHECK(tp_evaluate_der(NULL, b.data, b.len, &t, NULL) == -EINVAL);
	/* PEM is not DER. */
	CHECK(tp_evaluate_der(p, (const unsigned char *)"-----BEGIN CERTIFICATE-----\n",
			      28, &t, NULL) == -EINVAL);
out:
	tp_policy_free(p);
	free(b.data);
}

static void test_empty_policy(void)
{
	struct tp_policy *p = load("");

	if (p) {
		CHECK(tp_policy_tag_count(p) == 0);
		expect_tags(p, "alice", "");
	}
	tp_policy_free(p);
	/* Empty documents, empty sections and several documents. */
	p = load("---\n...\n---\nfilters:\ntags:\n---\n"
		 "filters:\n  a: {type: x509.tbs.version, pattern: \"3\"}\n"
		 "---\ntags:\n  t: {filter: [a]}\n");
	if (p) {
		CHECK(tp_policy_tag_count(p) == 1);
		expect_tags(p, "alice", "t");
	}
	tp_policy_free(p);
}

/* ---- directories --------------------------------------------------------- */

static void test_dir_cross_file(void)
{
	char *dir = make_dir("multi");
	struct tp_policy *p = NULL;
	struct tp_diag d;
	int r;

	write_file(dir, "10-filters.yml",
		   "filters:\n"
		   "  example-org:\n"
		   "    type: x509.tbs.subject\n"
		   "    pattern: \"*,O=Example\"\n"
		   "  spiffe:\n"
		   "    type: x509.extension.subjectAltName.uri\n"
		   "    pattern: \"spiffe://example.org/*\"\n");
	/* Tags here use filters from the other file, and one of their own. */
	write_file(dir, "20-tags.yaml",
		   "filters:\n"
		   "  expired:\n"
		   "    type: x509.tbs.validity.notAfter\n"
		   "    pattern: \"2022-01-01 00:00:00\"\n"
		   "tags:\n"
		   "  example-workload:\n"
		   "    filter: [example-org, spiffe, not expired]\n"
		   "  stale:\n"
		   "    filter: [expired]\n");
	/* Not policy files: ignored. */
	write_file(dir, "README", "this: [is not yaml\n");
	write_file(dir, "30-off.yml.disabled", "junk: [\n");
	{
		char sub[4096];

		snprintf(sub, sizeof(sub), "%s/40-subdir.yml", dir);
		mkdir(sub, 0755);
	}
	r = tp_policy_load_dir(dir, &p, &d);
	CHECKF(r == 0 && p, "load_dir returned %d", r);
	tp_diag_print(&d, stdout);
	CHECK(tp_diag_count(&d, TP_ERROR) == 0 &&
	      tp_diag_count(&d, TP_WARNING) == 0);
	if (p) {
		CHECK(tp_policy_filter_count(p) == 3);
		CHECK(tp_policy_tag_count(p) == 2);
		expect_tags(p, "alice", "example-workload");
		expect_tags(p, "bob", "stale");
		expect_tags(p, "selfie", "");
	}
	tp_policy_free(p);
	tp_diag_free(&d);
	free(dir);
}

static bool has_error(const struct tp_diag *d, const char *file_suffix,
		      unsigned int line, const char *msg)
{
	for (size_t i = 0; i < d->count; i++) {
		const char *f = d->errors[i].file;
		size_t fl = strlen(f), sl = strlen(file_suffix);

		if (fl >= sl && strcmp(f + fl - sl, file_suffix) == 0 &&
		    d->errors[i].line == line && strstr(d->errors[i].msg, msg))
			return true;
	}
	return false;
}

static void test_dir_duplicates_across_files(void)
{
	char *dir = make_dir("dups");
	struct tp_policy *p = (struct tp_policy *)1;
	struct tp_diag d;
	int r;

	write_file(dir, "a.yml",
		   "filters:\n"
		   "  f1: {type: x509.tbs.version, pattern: \"3\"}\n"
		   "tags:\n"
		   "  t1: {filter: [f1]}\n");
	write_file(dir, "b.yml",
		   "tags:\n"
		   "  t1: {filter: [f1]}\n"
		   "filters:\n"
		   "  f1: {type: x509.tbs.version, pattern: \"1\"}\n");
	r = tp_policy_load_dir(dir, &p, &d);
	CHECK(r == -EINVAL && p == NULL);
	CHECK(d.count == 2);
	CHECK(has_error(&d, "dups/b.yml", 2,
			"duplicate tag name 't1' (first defined at "));
	CHECK(has_error(&d, "dups/b.yml", 4, "duplicate filter name 'f1' (first defined at "));
	CHECK(has_error(&d, "dups/b.yml", 4, "a.yml:2)"));
	if (d.count == 2)	/* sorted by file, then line */
		CHECK(d.errors[0].line == 2 && d.errors[1].line == 4);
	tp_diag_free(&d);
	free(dir);
}

/* Errors from several files are all reported, and nothing is loaded. */
static void test_dir_errors_in_several_files(void)
{
	char *dir = make_dir("errs");
	struct tp_policy *p = (struct tp_policy *)1;
	struct tp_diag d;
	char path[4096];
	int r;

	write_file(dir, "1.yml",
		   "filters:\n  ok: {type: x509.tbs.version, pattern: \"3\"}\n"
		   "tags:\n  good: {filter: [ok]}\n");
	write_file(dir, "2.yml", "filters:\n  x: {type: nope, pattern: a}\n");
	write_file(dir, "3.yml", "tags:\n  t: {filter: [ok, missing]}\n");
	write_file(dir, "4.yml", "tags: [\n");
	snprintf(path, sizeof(path), "%s/5.yml", dir);
	CHECK(symlink("/nonexistent/policy.yml", path) == 0);
	r = tp_policy_load_dir(dir, &p, &d);
	CHECKF(r == -ENOENT, "returned %d", r);	/* I/O errors take precedence */
	CHECK(p == NULL);
	CHECK(d.count == 4);
	CHECK(has_error(&d, "errs/2.yml", 2, "unknown filter type 'nope'"));
	CHECK(has_error(&d, "errs/3.yml", 2,
			"tag 't' references unknown filter 'missing'"));
	CHECK(has_error(&d, "errs/4.yml", 2, "YAML syntax error"));
	CHECK(has_error(&d, "errs/5.yml", 0, "cannot read file"));
	tp_diag_free(&d);
	free(dir);
}

static void test_dir_empty_and_missing(void)
{
	char *dir = make_dir("empty");
	struct tp_policy *p = NULL;
	struct tp_diag d;
	char *missing;

	CHECK(tp_policy_load_dir(dir, &p, &d) == 0 && p);
	CHECK(d.count == 0);
	CHECK(tp_policy_tag_count(p) == 0);
	tp_policy_free(p);
	tp_diag_free(&d);

	if (asprintf(&missing, "%s/nope", workdir) < 0)
		exit(2);
	CHECK(tp_policy_load_dir(missing, &p, &d) == -ENOENT && p == NULL);
	CHECK(d.count == 1 && has_error(&d, "nope", 0, "cannot read directory"));
	tp_diag_free(&d);
	free(missing);
	free(dir);
}

static void test_load_file(void)
{
	char *dir = make_dir("single");
	char path[4096];
	struct tp_policy *p = NULL;
	struct tp_diag d;

	write_file(dir, "one.yml",
		   "# comment\n"
		   "filters:\n  v3: {type: x509.tbs.version, pattern: \"3\"}\n"
		   "tags:\n  modern: {filter: [v3]}\n");
	snprintf(path, sizeof(path), "%s/one.yml", dir);
	CHECK(tp_policy_load_file(path, &p, &d) == 0 && p);
	if (p)
		expect_tags(p, "alice", "modern");
	tp_policy_free(p);
	tp_diag_free(&d);

	/* A directory is not a readable policy file. */
	CHECK(tp_policy_load_file(dir, &p, &d) == -EISDIR && p == NULL);
	CHECK(d.count == 1 && has_error(&d, "single", 0, "cannot read file"));
	tp_diag_free(&d);
	/* A FIFO is refused at once, not waited on. */
	snprintf(path, sizeof(path), "%s/fifo.yml", dir);
	CHECK(mkfifo(path, 0600) == 0);
	CHECK(tp_policy_load_file(path, &p, &d) == -EINVAL && p == NULL);
	CHECK(d.count == 1 && has_error(&d, "fifo.yml", 0, "not a regular file"));
	tp_diag_free(&d);
	/* ... and skipped in a directory. */
	CHECK(tp_policy_load_dir(dir, &p, &d) == 0 && p && d.count == 0);
	if (p)
		CHECK(tp_policy_tag_count(p) == 1);
	tp_policy_free(p);
	tp_diag_free(&d);
	snprintf(path, sizeof(path), "%s/absent.yml", dir);
	CHECK(tp_policy_load_file(path, &p, &d) == -ENOENT && p == NULL);
	CHECK(d.count == 1 && has_error(&d, "absent.yml", 0,
					 "cannot read file: No such file"));
	tp_diag_free(&d);
	free(dir);
}

/* The shipped example loads cleanly. */
static void test_example_policy(void)
{
	const char *dir = getenv("TP_EXAMPLES_DIR");
	struct tp_policy *p = NULL;
	struct tp_diag d;

	if (!CHECKF(dir != NULL, "TP_EXAMPLES_DIR is not set"))
		return;
	CHECK(tp_policy_load_dir(dir, &p, &d) == 0 && p);
	tp_diag_print(&d, stdout);
	CHECK(tp_policy_tag_count(p) == 3 && tp_policy_filter_count(p) == 8);
	if (p)
		expect_tags(p, "alice", "");
	tp_policy_free(p);
	tp_diag_free(&d);
}

static void test_diag_print(void)
{
	struct tp_policy *p;
	struct tp_diag d;
	char *out = NULL;
	size_t size = 0;
	FILE *f = open_memstream(&out, &size);
	const char *y = "filters:\n  f: {type: bogus, pattern: x}\n";

	CHECK(tp_policy_load_buffer("mem.yml", y, strlen(y), &p, &d) == -EINVAL);
	tp_diag_print(&d, f);
	fclose(f);
	CHECKF(strcmp(out, "mem.yml:2: unknown filter type 'bogus' for filter 'f'\n") == 0,
	       "printed '%s'", out);
	free(out);
	tp_diag_free(&d);
	/* A NULL diag is allowed. */
	CHECK(tp_policy_load_buffer("mem.yml", y, strlen(y), &p, NULL) == -EINVAL);
	CHECK(p == NULL);
}

/* ---- every loading error ------------------------------------------------- */

static void test_error_unknown_filter_type(void)
{
	expect_error("filters:\n"
		     "  f:\n"
		     "    type: x509.tbs.colour\n"
		     "    pattern: red\n", 3,
		     "unknown filter type 'x509.tbs.colour' for filter 'f'");
}

static void test_error_unknown_filter_reference(void)
{
	expect_error("filters:\n"
		     "  f: {type: x509.tbs.version, pattern: \"3\"}\n"
		     "tags:\n"
		     "  t:\n"
		     "    filter:\n"
		     "      - f\n"
		     "      - not g\n", 7,
		     "tag 't' references unknown filter 'g'");
}

static void test_error_invalid_names(void)
{
	char long_yaml[1024], name[300];

	expect_error("filters:\n  bad name: {type: x509.tbs.version, pattern: \"3\"}\n",
		     2, "invalid filter name 'bad name'");
	expect_error("tags:\n  \"t.1\": {filter: [x]}\n", 2, "invalid tag name 't.1'");
	expect_error("filters:\n  f: {type: x509.tbs.version, pattern: \"3\"}\n"
		     "tags:\n  t: {filter: [\"f!\"]}\n", 4,
		     "invalid filter reference 'f!' in tag 't'");
	expect_error("filters:\n  \"\": {type: x509.tbs.version, pattern: \"3\"}\n",
		     2, "invalid filter name ''");
	memset(name, 'n', 256);
	name[256] = '\0';
	snprintf(long_yaml, sizeof(long_yaml), "tags:\n  %s: {filter: [x]}\n", name);
	expect_error(long_yaml, 2, "invalid tag name 'nnnn");
	/* A control character is shown escaped. */
	expect_error("tags:\n  \"a\\x1bb\": {filter: [x]}\n", 2,
		     "invalid tag name 'a\\x1bb'");
	/* A NUL inside a name. */
	expect_error("tags:\n  \"a\\0b\": {filter: [x]}\n", 2, "invalid tag name");
}

static void test_error_duplicate_names(void)
{
	expect_error("filters:\n"
		     "  f: {type: x509.tbs.version, pattern: \"3\"}\n"
		     "---\n"
		     "filters:\n"
		     "  f: {type: x509.tbs.version, pattern: \"1\"}\n", 5,
		     "duplicate filter name 'f' (first defined at t.yml:2)");
	expect_error("filters:\n"
		     "  f: {type: x509.tbs.version, pattern: \"3\"}\n"
		     "tags:\n"
		     "  t: {filter: [f]}\n"
		     "  t: {filter: [not f]}\n", 5,
		     "duplicate tag name 't' (first defined at t.yml:4)");
	/* A third one still points at the first (and not at freed memory). */
	expect_error("filters:\n"
		     "  f: {type: x509.tbs.version, pattern: \"3\"}\n"
		     "tags:\n"
		     "  t: {filter: [f]}\n"
		     "  t: {filter: [not f]}\n"
		     "  t: {filter: [f, f]}\n", 6,
		     "duplicate tag name 't' (first defined at t.yml:4)");
	/* A duplicate's bad references are reported too. */
	expect_error("filters:\n"
		     "  f: {type: x509.tbs.version, pattern: \"3\"}\n"
		     "tags:\n"
		     "  t: {filter: [f]}\n"
		     "  t: {filter: [f, not nope]}\n", 5,
		     "tag 't' references unknown filter 'nope'");
	expect_error("filters:\n"
		     "  f: {type: x509.tbs.version, pattern: \"3\"}\n"
		     "  f: {type: x509.tbs.version, pattern: \"2\"}\n"
		     "  f: {type: x509.tbs.version, pattern: \"1\"}\n", 4,
		     "duplicate filter name 'f' (first defined at t.yml:2)");
}

static void test_error_too_many_wildcards(void)
{
	struct tp_policy *p;

	expect_error("filters:\n"
		     "  f:\n"
		     "    type: x509.tbs.subject\n"
		     "    pattern: \"*?*?*?*?*?*?*?*?*\"\n", 4,
		     "too many wildcards in pattern of filter 'f' (17, at most 16)");
	/* Sixteen is fine. */
	p = load("filters:\n  f: {type: x509.tbs.subject, pattern: \"*?*?*?*?*?*?*?*?\"}\n");
	tp_policy_free(p);
}

static void test_error_bad_time(void)
{
	expect_error("filters:\n"
		     "  f:\n"
		     "    type: x509.tbs.validity.notBefore\n"
		     "    pattern: \"2024-02-30 00:00:00\"\n", 4,
		     "bad time '2024-02-30 00:00:00' in filter 'f'");
	expect_error("filters:\n"
		     "  f: {type: x509.tbs.validity.notAfter, pattern: \"2024-01-01T00:00:00Z\"}\n",
		     2, "bad time '2024-01-01T00:00:00Z'");
}

static void test_error_unknown_purpose(void)
{
	expect_error("filters:\n"
		     "  f:\n"
		     "    type: x509.extension.keyUsage\n"
		     "    purpose:\n"
		     "      - digitalSignature\n"
		     "      - digitalSignatures\n", 6,
		     "unknown keyUsage purpose bit 'digitalSignatures' in filter 'f'");
	expect_error("filters:\n"
		     "  f:\n"
		     "    type: x509.extension.extendedKeyUsage\n"
		     "    purpose: [serverAuth, webAuth]\n", 4,
		     "unknown extendedKeyUsage purpose 'webAuth' in filter 'f'");
	expect_error("filters:\n"
		     "  f: {type: x509.extension.extendedKeyUsage, purpose: [\"1.3..6\"]}\n",
		     2, "unknown extendedKeyUsage purpose '1.3..6'");
}

static void test_error_not_a_mapping(void)
{
	expect_error("- filters\n- tags\n", 1, "document is not a mapping");
	expect_error("filters:\n  a: 1\n---\njust a string\n", 4,
		     "document is not a mapping");
	expect_error("filters:\n  - a\n  - b\n", 2, "'filters' section is not a mapping");
	expect_error("tags: hello\n", 1, "'tags' section is not a mapping");
	expect_error("filters:\n  f: [x509.tbs.version]\n", 2, "filter 'f' is not a mapping");
	expect_error("tags:\n  t: \"f\"\n", 2, "tag 't' is not a mapping");
}

static void test_error_missing_pattern_or_purpose(void)
{
	expect_error("filters:\n"
		     "  f:\n"
		     "    type: x509.tbs.subject\n", 3,
		     "filter 'f' (type x509.tbs.subject) has no pattern");
	expect_error("filters:\n"
		     "  f:\n"
		     "    type: x509.extension.keyUsage\n", 3,
		     "filter 'f' (type x509.extension.keyUsage) has no purpose list");
	expect_error("filters:\n  f:\n    pattern: x\n", 3, "filter 'f' has no type");
	expect_error("filters:\n  f: {type: x509.tbs.validity.notAfter}\n", 2,
		     "has no pattern");
}

static void test_error_wrong_shapes(void)
{
	expect_error("filters:\n  f: {type: x509.tbs.subject, pattern: [a, b]}\n", 2,
		     "pattern of filter 'f' is not a string");
	expect_error("filters:\n  f: {type: x509.extension.keyUsage, purpose: cRLSign}\n",
		     2, "purpose of filter 'f' is not a sequence");
	expect_error("filters:\n  f: {type: x509.extension.keyUsage, purpose: []}\n", 2,
		     "purpose of filter 'f' is an empty list");
	expect_error("filters:\n  f: {type: x509.extension.keyUsage, purpose: [[a]]}\n", 2,
		     "purpose item of filter 'f' is not a string");
	expect_error("filters:\n  f: {type: [a], pattern: x}\n", 2,
		     "type of filter 'f' is not a string");
	expect_error("filters:\n  f: {type: x509.derived.selfSigned, pattern: yes}\n", 2,
		     "must be \"true\" or \"false\"");
	expect_error("tags:\n  t: {filter: f}\n", 2, "filter list of tag 't' is not a sequence");
	expect_error("tags:\n  t: {}\n", 2, "tag 't' has no filter list");
	expect_error("tags:\n  t: {filter: [{a: b}]}\n", 2,
		     "filter reference in tag 't' is not a string");
	expect_error("filters:\n  f: {type: x509.tbs.subject, pattern: \"a\\0b\"}\n", 2,
		     "pattern of filter 'f' is not a string");
}

static void test_error_unknown_keys(void)
{
	expect_error("filter:\n  f: {type: x509.tbs.version, pattern: \"3\"}\n", 1,
		     "unknown top-level key 'filter'");
	expect_error("filters:\n  f:\n    type: x509.tbs.version\n    pattren: \"3\"\n",
		     4, "unknown key 'pattren' in filter 'f'");
	expect_error("tags:\n  t:\n    filters: [a]\n", 3, "unknown key 'filters' in tag 't'");
	expect_error("filters:\n  f:\n    type: x509.tbs.version\n    type: x509.tbs.version\n"
		     "    pattern: \"3\"\n", 4, "duplicate key 'type' in filter 'f'");
	expect_error("? [a]\n: b\n", 1, "top-level key is not a string");
}

static void test_error_yaml_syntax(void)
{
	expect_error("filters:\n"
		     "  f: {type: x509.tbs.version, pattern: \"3\"}\n"
		     "tags:\n"
		     "  t: {filter: [f]\n"
		     "other: 1\n", 5, "YAML syntax error");
	expect_error("filters:\n  f: \"unterminated\n", 3, "YAML syntax error");
	expect_error("a: 1\n b: 2\n", 2, "YAML syntax error");
	/* Invalid UTF-8 is a reader error, located by offset. */
	expect_error("filters:\n  f: \xff\xfe\n", 2, "YAML syntax error");
	/* An alias to an unknown anchor. */
	expect_error("filters: *nope\n", 1, "YAML syntax error");
}

static void test_error_all_reported(void)
{
	const char *y =
		"filters:\n"					/* 1 */
		"  a: {type: x509.bogus, pattern: x}\n"		/* 2 */
		"  b: {type: x509.tbs.subject, pattern: \"*?*?*?*?*?*?*?*?*?\"}\n"
		"  c: {type: x509.tbs.validity.notAfter, pattern: yesterday}\n"
		"  d: {type: x509.extension.keyUsage, purpose: [flying]}\n"
		"  e f: {type: x509.tbs.subject, pattern: x}\n"	/* 6 */
		"tags:\n"
		"  t1: {filter: [a, zz]}\n"			/* 8 */
		"  t1: {filter: [b]}\n";			/* 9 */
	static const struct {
		unsigned int line;
		const char *msg;
	} want[] = {
		{ 2, "unknown filter type" },
		{ 3, "too many wildcards" },
		{ 4, "bad time" },
		{ 5, "unknown keyUsage purpose bit" },
		{ 6, "invalid filter name" },
		{ 8, "references unknown filter 'zz'" },
		{ 9, "duplicate tag name" },
	};
	struct tp_policy *p = (struct tp_policy *)1;
	struct tp_diag d;

	CHECK(tp_policy_load_buffer("t.yml", y, strlen(y), &p, &d) == -EINVAL);
	CHECK(p == NULL);
	CHECKF(d.count == sizeof(want) / sizeof(want[0]), "%zu errors", d.count);
	for (size_t i = 0; i < d.count && i < sizeof(want) / sizeof(want[0]); i++)
		CHECKF(d.errors[i].line == want[i].line &&
		       strstr(d.errors[i].msg, want[i].msg),
		       "error %zu: %u: %s", i, d.errors[i].line, d.errors[i].msg);
	tp_diag_free(&d);
}

/* Each kind of error has its own message. */
static void test_error_messages_distinct(void)
{
	static const char *const y[] = {
		"filters:\n  f: {type: nope, pattern: x}\n",
		"tags:\n  t: {filter: [g]}\n",
		"filters:\n  \"f f\": {type: x509.tbs.version, pattern: x}\n",
		"tags:\n  \"t t\": {filter: [g]}\n",
		"filters:\n  f: {type: x509.tbs.version, pattern: x}\n---\nfilters:\n  f: {type: x509.tbs.version, pattern: x}\n",
		"filters:\n  f: {type: x509.tbs.version, pattern: x}\ntags:\n  t: {filter: [f]}\n---\ntags:\n  t: {filter: [f]}\n",
		"filters:\n  f: {type: x509.tbs.version, pattern: \"*?*?*?*?*?*?*?*?*\"}\n",
		"filters:\n  f: {type: x509.tbs.validity.notAfter, pattern: x}\n",
		"filters:\n  f: {type: x509.extension.keyUsage, purpose: [x]}\n",
		"[]\n",
		"filters: []\n",
		"filters:\n  f: {type: x509.tbs.version}\n",
		"filters:\n  f: {type: x509.extension.keyUsage}\n",
		"filters: [\n",
	};
	char *first[sizeof(y) / sizeof(y[0])];
	size_t n = sizeof(y) / sizeof(y[0]);

	for (size_t i = 0; i < n; i++) {
		struct tp_policy *p;
		struct tp_diag d;

		first[i] = NULL;
		tp_policy_load_buffer("t.yml", y[i], strlen(y[i]), &p, &d);
		CHECKF(d.count == 1, "case %zu: %zu errors", i, d.count);
		if (d.count) {
			/* The kind of message: its text without quoted names. */
			const char *m = d.errors[0].msg;
			char *o = first[i] = calloc(1, strlen(m) + 1);
			bool in_quote = false;

			for (; *m; m++) {
				if (*m == '\'')
					in_quote = !in_quote;
				else if (!in_quote)
					*o++ = *m;
			}
		}
		tp_diag_free(&d);
	}
	for (size_t i = 0; i < n; i++)
		for (size_t j = i + 1; j < n; j++)
			CHECKF(!first[i] || !first[j] || strcmp(first[i], first[j]) != 0,
			       "cases %zu and %zu share message '%s'", i, j, first[i]);
	for (size_t i = 0; i < n; i++)
		free(first[i]);
}

/* Hostile YAML: aliases fanning out, deep nesting. Must not blow up. */
static void test_hostile_yaml(void)
{
	const char *bomb =
		"a: &a [x, x, x, x, x, x, x, x, x, x]\n"
		"b: &b [*a, *a, *a, *a, *a, *a, *a, *a, *a, *a]\n"
		"c: &c [*b, *b, *b, *b, *b, *b, *b, *b, *b, *b]\n"
		"d: &d [*c, *c, *c, *c, *c, *c, *c, *c, *c, *c]\n"
		"filters: &f\n  f: {type: x509.extension.keyUsage, purpose: *d}\n";
	struct tp_policy *p;
	struct tp_diag d;
	size_t depth = 5000;
	char *deep = malloc(2 * depth + 16);
	double t0 = now();

	CHECK(tp_policy_load_buffer("t.yml", bomb, strlen(bomb), &p, &d) == -EINVAL);
	CHECK(p == NULL && d.count >= 1);
	tp_diag_free(&d);

	strcpy(deep, "filters: ");
	for (size_t i = 0; i < depth; i++)
		strcat(deep, "[");
	CHECK(tp_policy_load_buffer("t.yml", deep, strlen(deep), &p, &d) == -EINVAL);
	CHECK(p == NULL && d.count >= 1);
	tp_diag_free(&d);
	CHECKF(now() - t0 < 10.0, "took %.2f s", now() - t0);
	free(deep);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s CERTDIR WORKDIR\n", argv[0]);
		return 2;
	}
	certdir = argv[1];
	workdir = argv[2];
	setenv("TZ", "UTC", 1);

	RUN(test_pattern_basics);
	RUN(test_pattern_wildcard_count);
	RUN(test_pattern_pathological);
	RUN(test_pattern_compiled);
	RUN(test_names);
	RUN(test_printable);
	RUN(test_times);
	RUN(test_times_ignore_tz);

	RUN(test_filter_signature_algorithm);
	RUN(test_filter_version);
	RUN(test_filter_serial);
	RUN(test_filter_issuer);
	RUN(test_filter_subject);
	RUN(test_filter_not_before);
	RUN(test_filter_not_after);
	RUN(test_filter_key_usage);
	RUN(test_filter_extended_key_usage);
	RUN(test_filter_fingerprint);
	RUN(test_filter_self_signed);
	RUN(test_filter_san_dns);
	RUN(test_filter_san_ip);
	RUN(test_filter_san_uri);
	RUN(test_filter_san_email);

	RUN(test_tags_sorted_unique);
	RUN(test_all_filters_must_hold);
	RUN(test_negation_spacing);
	RUN(test_derived_once);
	RUN(test_explain);
	RUN(test_baseline_agrees);
	RUN(test_threads_share_policy);
	RUN(test_bad_der);
	RUN(test_evaluate_crt);
	RUN(test_empty_policy);

	RUN(test_dir_cross_file);
	RUN(test_dir_duplicates_across_files);
	RUN(test_dir_errors_in_several_files);
	RUN(test_dir_empty_and_missing);
	RUN(test_load_file);
	RUN(test_example_policy);
	RUN(test_diag_print);

	RUN(test_error_unknown_filter_type);
	RUN(test_error_unknown_filter_reference);
	RUN(test_error_invalid_names);
	RUN(test_error_duplicate_names);
	RUN(test_error_too_many_wildcards);
	RUN(test_error_bad_time);
	RUN(test_times_lenient);
	RUN(test_tlshd_semantics);
	RUN(test_error_unknown_purpose);
	RUN(test_error_not_a_mapping);
	RUN(test_error_missing_pattern_or_purpose);
	RUN(test_error_wrong_shapes);
	RUN(test_error_unknown_keys);
	RUN(test_error_yaml_syntax);
	RUN(test_error_all_reported);
	RUN(test_error_messages_distinct);
	RUN(test_hostile_yaml);

	printf("unit: %d passed, %d failed\n", n_passed, n_failed);
	return n_failed ? 1 : 0;
}
