// SPDX-License-Identifier: GPL-2.0-only
/*
 * Configuration loader tests: a good file, each kind of bad file with its
 * message and line, runtime (credentials + policy) loading, and the
 * SIGHUP reload function keeping the old state on error.
 *
 * Usage: test_config CERTDIR DATADIR
 */
#include <errno.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <syslog.h>
#include <unistd.h>

#include <glib.h>

#include "config.h"
#include "runtime.h"
#include "handshake.h"
#include "log.h"
#include "tagpolicy.h"
#include "tt_test.h"

static const char *certs, *data;
static char tmpdir[] = "/tmp/tt-config-XXXXXX";
/* Run from the agent directory (tests/run-check.sh) */
#ifndef EXAMPLE_CONF
#define EXAMPLE_CONF "examples/tlstagd.conf"
#endif
static char conf_path[512];

static void write_file(const char *path, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void write_file(const char *path, const char *fmt, ...)
{
	FILE *f = fopen(path, "w");
	va_list ap;

	if (!f) {
		perror(path);
		exit(2);
	}
	va_start(ap, fmt);
	vfprintf(f, fmt, ap);
	va_end(ap);
	fclose(f);
}

static void write_good(const char *path, unsigned int max_in_flight)
{
	write_file(path,
		   "# test configuration\n"
		   "[global]\n"
		   "log-level = debug\n"
		   "log-target = stderr\n"
		   "max-in-flight = %u\n"
		   "handshake-timeout = 10\n"
		   "tags-dir = %s/tags.d\n"
		   "\n"
		   "[trust]\n"
		   "ca-file = %s/ca.pem\n"
		   "\n"
		   "[server]\n"
		   "certificate = %s/server.pem\n"
		   "private-key = %s/server.key\n"
		   "client-certificate = require\n"
		   "\n"
		   "[client]\n"
		   "certificate = %s/alice.pem\n"
		   "private-key = %s/alice.key\n",
		   max_in_flight, data, certs, certs, certs, certs, certs);
}

/* True when some diagnostic has @line (0: any) and contains @needle. */
static bool has_diag(const struct tt_diag *d, unsigned int line,
		     const char *needle)
{
	for (size_t i = 0; i < d->count; i++)
		if ((!line || d->entries[i].line == line) &&
		    strstr(d->entries[i].msg, needle))
			return true;
	return false;
}

static void dump_diag(const struct tt_diag *d)
{
	tt_diag_print(d, stderr);
}

TEST(good_config)
{
	struct tt_diag diag = { 0 };
	struct tt_config cfg;
	struct tt_runtime *rt = NULL;

	write_good(conf_path, 4);
	CHECK(tt_config_parse_file(conf_path, &cfg, &diag) == 0);
	CHECK(diag.count == 0);
	CHECK(cfg.log_level == LOG_DEBUG);
	CHECK(cfg.log_target == TT_LOGT_STDERR);
	CHECK(cfg.max_in_flight == 4);
	CHECK(cfg.timeout_ms == 10000);
	CHECK(!cfg.trust_system && cfg.ca_file.path &&
	      strstr(cfg.ca_file.path, "ca.pem"));
	CHECK(cfg.ca_file.line == 10);
	CHECK(cfg.client_cert_mode == TT_CLIENT_CERT_REQUIRE);
	CHECK(cfg.client_cert.path && cfg.client_key.path);
	CHECK(!cfg.tags_dir_default);
	tt_config_free(&cfg);

	CHECK(tt_runtime_load(conf_path, &rt, &diag) == 0);
	dump_diag(&diag);
	CHECK(rt != NULL);
	if (rt) {
		CHECK(rt->server_creds != NULL && rt->client_creds != NULL);
		CHECK(rt->ca_count == 1);
		CHECK(tp_policy_tag_count(rt->policy) == 3);
		CHECK(tp_policy_filter_count(rt->policy) == 4);
	}
	tt_runtime_free(rt);
	tt_diag_free(&diag);
}

TEST(defaults_and_relative_paths)
{
	struct tt_diag diag = { 0 };
	struct tt_config cfg;
	static const char text[] = "[global]\ntags-dir = policies\n"
				   "[trust]\nca-file = system\n";

	tt_config_defaults(&cfg);
	CHECK(cfg.max_in_flight == TT_DEFAULT_MAX_IN_FLIGHT);
	CHECK(cfg.timeout_ms == TT_DEFAULT_TIMEOUT_S * 1000);
	CHECK(cfg.trust_system && cfg.tags_dir_default);
	CHECK_STR(cfg.tags_dir.path, TT_DEFAULT_TAGS_DIR);
	CHECK(cfg.client_cert_mode == TT_CLIENT_CERT_REQUEST);
	tt_config_free(&cfg);

	CHECK(tt_config_parse_buffer("/etc/x/tlstagd.conf", text,
				     sizeof(text) - 1, &cfg, &diag) == 0);
	CHECK(cfg.tags_dir.path && strcmp(cfg.tags_dir.path,
					  "/etc/x/policies") == 0);
	CHECK(cfg.trust_system);
	tt_config_free(&cfg);
	tt_diag_free(&diag);

	/* An empty file is the built-in defaults. */
	CHECK(tt_config_parse_buffer("empty", "", 0, &cfg, &diag) == 0);
	CHECK(cfg.max_in_flight == TT_DEFAULT_MAX_IN_FLIGHT);
	tt_config_free(&cfg);
	tt_diag_free(&diag);
}

struct bad_case {
	const char	*text;
	unsigned int	line;
	const char	*needle;
};

static const struct bad_case bad_cases[] = {
	{ "[global\nlog-level = info\n", 1, "syntax error" },
	{ "[global]\nlog-level = info\nthis is not a key\n", 3, "syntax error" },
	{ "[global]\nfoo = 1\n", 2, "unknown key \"foo\"" },
	{ "# c\n[srv]\ncertificate = x\n", 2, "unknown section [srv]" },
	{ "[global]\nlog-level = loud\n", 2, "log-level: \"loud\"" },
	{ "[global]\nlog-target = file\n", 2, "log-target: \"file\"" },
	{ "[server]\nclient-certificate-purpose = server-auth\n", 2,
	  "client-certificate-purpose: \"server-auth\" is not one of client-auth, any" },
	{ "[server]\ntags-with-system-trust = maybe\n", 2,
	  "tags-with-system-trust" },
	{ "[global]\n\nmax-in-flight = 0\n", 3, "max-in-flight: \"0\" is not an integer in 1..1024" },
	{ "[global]\nmax-in-flight = many\n", 2, "max-in-flight: \"many\"" },
	{ "[global]\nmax-in-flight = -3\n", 2, "max-in-flight: \"-3\"" },
	{ "[global]\nmax-in-flight = 99999\n", 2, "max-in-flight: \"99999\"" },
	{ "[global]\nmax-in-flight = 4x\n", 2, "max-in-flight: \"4x\"" },
	{ "[global]\nhandshake-timeout = 0\n", 2, "handshake-timeout" },
	{ "[trust]\nca-file =\n", 2, "ca-file: empty value" },
	{ "[server]\ncertificate = /a.pem\n", 2, "[server] certificate is set but private-key is not" },
	{ "[client]\nprivate-key = /a.key\n", 2, "[client] private-key is set but certificate is not" },
	{ "[server]\nclient-certificate = maybe\n", 2, "client-certificate: \"maybe\"" },
	{ "[global]\npeer-key-ttl = 0\n", 2, "peer-key-ttl: \"0\" is not an integer in 1..86400" },
	{ "[global]\n#\npeer-key-ttl = forever\n", 3, "peer-key-ttl: \"forever\"" },
	{ "[server]\nclient-ca =\n", 2, "client-ca: empty value" },
	{ "[global]\n\nsession-tags = maybe\n", 3, "session-tags: \"maybe\" is not yes or no" },
	{ "[global]\nsession-tags =\n", 2, "session-tags: empty value" },
};

/* Each of @n cases fails to parse with its error at its line, printed as file:line. */
static void check_bad_cases(const struct bad_case *cases, size_t ncases)
{
	for (size_t i = 0; i < ncases; i++) {
		const struct bad_case *b = &cases[i];
		struct tt_diag diag = { 0 };
		struct tt_config cfg;
		int ret;

		ret = tt_config_parse_buffer("bad.conf", b->text,
					     strlen(b->text), &cfg, &diag);
		CHECK_MSG(ret == -EINVAL, "case %zu: ret %d", i, ret);
		CHECK_MSG(has_diag(&diag, b->line, b->needle),
			  "case %zu: no \"%s\" at line %u", i, b->needle,
			  b->line);
		if (!has_diag(&diag, b->line, b->needle))
			dump_diag(&diag);
		/* Messages print as file:line: reason. */
		if (diag.count) {
			char *s = NULL;
			size_t n = 0;
			FILE *f = open_memstream(&s, &n);

			tt_diag_print(&diag, f);
			fclose(f);
			CHECK_MSG(strncmp(s, "bad.conf:", 9) == 0, "%s", s);
			free(s);
		}
		tt_diag_free(&diag);
	}
}

TEST(bad_configs)
{
	check_bad_cases(bad_cases, sizeof(bad_cases) / sizeof(bad_cases[0]));
}

TEST(all_errors_reported)
{
	static const char text[] = "[global]\nlog-level = loud\n"
				   "max-in-flight = 0\nbogus = 1\n";
	struct tt_diag diag = { 0 };
	struct tt_config cfg;

	CHECK(tt_config_parse_buffer("multi.conf", text, sizeof(text) - 1,
				     &cfg, &diag) == -EINVAL);
	CHECK(diag.count == 3);
	CHECK(has_diag(&diag, 2, "log-level"));
	CHECK(has_diag(&diag, 3, "max-in-flight"));
	CHECK(has_diag(&diag, 4, "bogus"));
	tt_diag_free(&diag);

	CHECK(tt_config_parse_buffer("nul.conf", "[global]\0x", 10, &cfg,
				     &diag) == -EINVAL);
	CHECK(has_diag(&diag, 0, "NUL"));
	tt_diag_free(&diag);

	CHECK(tt_config_parse_file("/nonexistent/tlstagd.conf", &cfg,
				   &diag) < 0);
	CHECK(has_diag(&diag, 0, "cannot read"));
	tt_diag_free(&diag);
}

/* [global] session-tags: yes by default, yes/no (and synonyms) accepted. */
TEST(session_tags_key)
{
	static const struct { const char *v; bool want; } cases[] = {
		{ "yes", true }, { "no", false }, { "No", false },
		{ "true", true }, { "false", false }, { "off", false },
		{ "1", true }, { "0", false },
	};
	struct tt_diag diag = { 0 };
	struct tt_config cfg;
	char text[128];

	tt_config_defaults(&cfg);
	CHECK(cfg.session_tags);
	tt_config_free(&cfg);
	CHECK(tt_config_parse_buffer("empty", "", 0, &cfg, &diag) == 0);
	CHECK(cfg.session_tags);
	tt_config_free(&cfg);
	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		snprintf(text, sizeof(text), "[global]\nsession-tags = %s\n",
			 cases[i].v);
		CHECK_MSG(tt_config_parse_buffer("st.conf", text, strlen(text),
						 &cfg, &diag) == 0,
			  "session-tags = %s refused", cases[i].v);
		CHECK_MSG(cfg.session_tags == cases[i].want,
			  "session-tags = %s gave %d", cases[i].v,
			  cfg.session_tags);
		tt_config_free(&cfg);
		tt_diag_free(&diag);
	}
	/* The shipped example file parses and keeps tags on. */
	{
		char *ex = NULL;
		gsize n = 0;

		CHECK(g_file_get_contents(EXAMPLE_CONF, &ex, &n, NULL));
		if (ex) {
			CHECK(tt_config_parse_buffer("example.conf", ex, n,
						     &cfg, &diag) == 0);
			dump_diag(&diag);
			CHECK(cfg.session_tags);
			tt_config_free(&cfg);
			tt_diag_free(&diag);
			g_free(ex);
		}
	}
}

/* Runtime loading catches what the parser cannot: files and policy. */
/* peer-key-ttl and [server] client-ca. */
TEST(peer_key_ttl_and_client_ca)
{
	struct tt_diag diag = { 0 };
	struct tt_runtime *rt = NULL;
	struct tt_config cfg;
	static const char text[] = "[global]\npeer-key-ttl = 42\n"
				   "[server]\ncertificate = /s.pem\n"
				   "private-key = /s.key\nclient-ca = cas.pem\n";

	tt_config_defaults(&cfg);
	CHECK(cfg.peer_key_ttl == 600 && !cfg.client_ca.path);
	tt_config_free(&cfg);
	CHECK(tt_config_parse_buffer("/etc/x/tlstagd.conf", text,
				     sizeof(text) - 1, &cfg, &diag) == 0);
	CHECK(cfg.peer_key_ttl == 42);
	CHECK(cfg.client_ca.path &&
	      strcmp(cfg.client_ca.path, "/etc/x/cas.pem") == 0);
	CHECK(!tt_runtime_client_trust_is_system(&cfg));
	free(cfg.client_ca.path);
	cfg.client_ca.path = NULL;
	CHECK(tt_runtime_client_trust_is_system(&cfg));	/* ca-file = system */
	cfg.client_cert_mode = TT_CLIENT_CERT_IGNORE;
	CHECK(!tt_runtime_client_trust_is_system(&cfg));
	tt_config_free(&cfg);
	tt_diag_free(&diag);

	/* A client-ca file that does not load is reported with its line. */
	write_file(conf_path,
		   "[trust]\nca-file = %s/ca.pem\n[server]\n"
		   "certificate = %s/server.pem\nprivate-key = %s/server.key\n"
		   "client-ca = /nonexistent/cas.pem\n", certs, certs, certs);
	CHECK(tt_runtime_load(conf_path, &rt, &diag) == -EINVAL);
	CHECK(has_diag(&diag, 6, "[server] client-ca /nonexistent/cas.pem"));
	dump_diag(&diag);
	tt_diag_free(&diag);

	write_file(conf_path,
		   "[trust]\nca-file = %s/ca.pem\n[server]\n"
		   "certificate = %s/server.pem\nprivate-key = %s/server.key\n"
		   "client-ca = %s/rogue-ca.pem\n", certs, certs, certs, certs);
	CHECK(tt_runtime_load(conf_path, &rt, &diag) == 0);
	CHECK(rt && rt->server_creds && rt->cfg.client_ca.path);
	tt_runtime_free(rt);
	tt_diag_free(&diag);
}

/*
 * Tags on client certificates verified against the system trust store
 * are refused unless the administrator opts in; with client-ca, without
 * tags or with session-tags = no they are fine.
 */
TEST(tags_need_explicit_system_trust)
{
	struct tt_diag diag = { 0 };
	struct tt_runtime *rt = NULL;
	static const char *const ok_extra[] = {
		"[server]\ntags-with-system-trust = yes\n",
		"[global]\nsession-tags = no\n",
		"[server]\nclient-certificate = ignore\n",
	};

	write_file(conf_path, "[global]\ntags-dir = %s/tags.d\n[trust]\n"
		   "ca-file = system\n[server]\ncertificate = %s/server.pem\n"
		   "private-key = %s/server.key\n", data, certs, certs);
	CHECK(tt_runtime_load(conf_path, &rt, &diag) == -EINVAL);
	CHECK(rt == NULL);
	CHECK(has_diag(&diag, 6, "tags-with-system-trust = yes"));
	CHECK(has_diag(&diag, 6, "could earn the 3 tag(s)"));
	dump_diag(&diag);
	tt_diag_free(&diag);

	for (size_t i = 0; i < sizeof(ok_extra) / sizeof(ok_extra[0]); i++) {
		write_file(conf_path, "[global]\ntags-dir = %s/tags.d\n"
			   "[trust]\nca-file = system\n[server]\n"
			   "certificate = %s/server.pem\n"
			   "private-key = %s/server.key\n%s", data, certs, certs,
			   ok_extra[i]);
		CHECK_MSG(tt_runtime_load(conf_path, &rt, &diag) == 0, "%s",
			  ok_extra[i]);
		dump_diag(&diag);
		tt_diag_free(&diag);
		tt_runtime_free(rt);
		rt = NULL;
	}
	/* client-ca: the system store is not what vouches for clients */
	write_file(conf_path, "[global]\ntags-dir = %s/tags.d\n[trust]\n"
		   "ca-file = system\n[server]\ncertificate = %s/server.pem\n"
		   "private-key = %s/server.key\nclient-ca = %s/ca.pem\n", data,
		   certs, certs, certs);
	CHECK(tt_runtime_load(conf_path, &rt, &diag) == 0);
	tt_diag_free(&diag);
	tt_runtime_free(rt);
}

TEST(bad_runtime)
{
	struct tt_diag diag = { 0 };
	struct tt_runtime *rt = NULL;
	char p[700], tags[600];

	write_file(conf_path, "[trust]\nca-file = /nonexistent/ca.pem\n");
	CHECK(tt_runtime_load(conf_path, &rt, &diag) == -EINVAL);
	CHECK(rt == NULL);
	CHECK(has_diag(&diag, 2, "[trust] ca-file /nonexistent/ca.pem"));
	tt_diag_free(&diag);

	write_file(conf_path,
		   "[trust]\nca-file = %s/ca.pem\n[server]\n"
		   "certificate = %s/server.pem\nprivate-key = %s/alice.key\n",
		   certs, certs, certs);
	CHECK(tt_runtime_load(conf_path, &rt, &diag) == -EINVAL);
	CHECK(has_diag(&diag, 4, "[server] certificate"));
	tt_diag_free(&diag);

	write_file(conf_path, "[global]\ntags-dir = %s/none\n[trust]\n"
		   "ca-file = %s/ca.pem\n", tmpdir, certs);
	CHECK(tt_runtime_load(conf_path, &rt, &diag) < 0);
	CHECK(diag.count >= 1);
	tt_diag_free(&diag);

	/* A policy error is reported with the policy file's name and line. */
	snprintf(tags, sizeof(tags), "%s/badtags", tmpdir);
	mkdir(tags, 0755);
	snprintf(p, sizeof(p), "%s/broken.yml", tags);
	write_file(p, "filters:\n  f:\n    type: x509.no.such.type\n"
		   "    pattern: \"x\"\ntags:\n  t:\n    filter: [f]\n");
	write_file(conf_path, "[global]\ntags-dir = %s\n[trust]\n"
		   "ca-file = %s/ca.pem\n", tags, certs);
	CHECK(tt_runtime_load(conf_path, &rt, &diag) < 0);
	CHECK(diag.count >= 1 && strstr(diag.entries[0].file, "broken.yml") &&
	      diag.entries[0].line > 0);
	dump_diag(&diag);
	tt_diag_free(&diag);
}

TEST(reload_keeps_old_on_error)
{
	struct tt_diag diag = { 0 };
	struct tt_runtime *rt = NULL, *before;
	unsigned int gen;
	char p[600];

	write_good(conf_path, 4);
	CHECK(tt_runtime_load(conf_path, &rt, &diag) == 0);
	if (!rt)
		return;
	before = rt;
	gen = rt->generation;

	/* Broken syntax: refused, old state untouched and usable. */
	write_file(conf_path, "[global\n");
	CHECK(tt_runtime_reload(&rt, conf_path, &diag) == -EINVAL);
	CHECK(rt == before && rt->generation == gen);
	CHECK(rt->cfg.max_in_flight == 4 && rt->server_creds != NULL);
	CHECK(tp_policy_tag_count(rt->policy) == 3);
	CHECK(has_diag(&diag, 1, "syntax error"));
	tt_diag_free(&diag);

	/* Good syntax but a missing certificate: also refused. */
	write_file(conf_path, "[global]\nmax-in-flight = 9\n[trust]\n"
		   "ca-file = %s/ca.pem\n[server]\ncertificate = /nope.pem\n"
		   "private-key = /nope.key\n", certs);
	CHECK(tt_runtime_reload(&rt, conf_path, &diag) == -EINVAL);
	CHECK(rt == before && rt->cfg.max_in_flight == 4);
	CHECK(has_diag(&diag, 6, "/nope.pem"));
	tt_diag_free(&diag);

	/* A broken policy file: refused, old policy kept. */
	snprintf(p, sizeof(p), "%s/badtags2", tmpdir);
	mkdir(p, 0755);
	strcat(p, "/x.yml");
	write_file(p, "tags:\n  t:\n    filter: [missing-filter]\n");
	write_file(conf_path, "[global]\nmax-in-flight = 9\ntags-dir = %s/badtags2\n"
		   "[trust]\nca-file = %s/ca.pem\n", tmpdir, certs);
	CHECK(tt_runtime_reload(&rt, conf_path, &diag) < 0);
	CHECK(rt == before && tp_policy_tag_count(rt->policy) == 3);
	CHECK(diag.count >= 1);
	tt_diag_free(&diag);

	/* A good one is swapped in. */
	write_good(conf_path, 7);
	CHECK(tt_runtime_reload(&rt, conf_path, &diag) == 0);
	CHECK(rt->cfg.max_in_flight == 7);
	CHECK(rt->generation != gen);
	CHECK(diag.count == 0);
	tt_diag_free(&diag);
	tt_runtime_free(rt);
}

/*
 * tlshd's configuration file (tlshd.conf(5)) is read as tlshd reads it:
 * each side's x509.* keys, [authenticate] keyrings, [debug] loglevel; the
 * tags in /etc/tlshd/tags.d; what tlstagd does not use is named, with the
 * reason, and what tlshd does not know is ignored, as there.
 */
TEST(tlshd_config)
{
	struct tt_diag diag = { 0 };
	struct tt_runtime *rt = NULL;
	struct tt_config cfg;
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/tlshd-config", tmpdir);
	f = fopen(path, "w");
	fprintf(f,
		"# tlshd's own syntax\n"
		"[debug]\n"
		"loglevel=1\n"
		"tls=0\n"
		"nl=2\n"
		"\n"
		"[authenticate]\n"
		"keyrings=mykeys;.nvme; 1234 ;\n"
		"\n"
		"[authenticate.client]\n"
		"x509.truststore=%s/ca.pem\n"
		"x509.certificate=%s/alice.pem\n"
		"x509.private_key=%s/alice.key\n"
		"\n"
		"[authenticate.server]\n"
		"x509.truststore=%s/ca.pem\n"
		"x509.certificate=%s/server.pem\n"
		"x509.private_key=%s/server.key\n"
		"x509.pq.certificate=/nonexistent/ml-dsa.pem\n"
		"color=blue\n",
		certs, certs, certs, certs, certs, certs);
	fclose(f);
	CHECK(tt_config_parse_file(path, &cfg, &diag) == 0);
	dump_diag(&diag);
	CHECK(cfg.tlshd_format);
	CHECK(cfg.log_level == LOG_DEBUG);
	CHECK(!cfg.trust_system && cfg.ca_file.path &&
	      strstr(cfg.ca_file.path, "/ca.pem") && cfg.ca_file.line == 11);
	CHECK(cfg.client_ca.path && strstr(cfg.client_ca.path, "/ca.pem") &&
	      !cfg.client_ca_system);
	CHECK(cfg.client_cert.path && strstr(cfg.client_cert.path, "alice.pem"));
	CHECK(cfg.client_key.path && strstr(cfg.client_key.path, "alice.key"));
	CHECK(cfg.server_cert.path && strstr(cfg.server_cert.path, "server.pem"));
	CHECK(cfg.server_key.path && strstr(cfg.server_key.path, "server.key"));
	CHECK(cfg.tags_dir_default &&
	      strcmp(cfg.tags_dir.path, "/etc/tlshd/tags.d") == 0);
	/* .nvme is always searched; the empty item is nothing. */
	CHECK(cfg.nkeyrings == 2 && strcmp(cfg.keyrings[0], "mykeys") == 0 &&
	      strcmp(cfg.keyrings[1], "1234") == 0);
	CHECK(cfg.ignored.count == 3);
	CHECK(has_diag(&cfg.ignored, 5, "[debug] nl is ignored: tlstagd does not use libnl"));
	CHECK(has_diag(&cfg.ignored, 19, "x509.pq.certificate is ignored: this GnuTLS has no ML-DSA"));
	CHECK(has_diag(&cfg.ignored, 20, "[authenticate.server] color is ignored: not a setting of tlshd.conf(5)"));
	tt_config_free(&cfg);

	/* Loaded whole; what is ignored comes with the runtime's warnings. */
	CHECK(tt_runtime_load(path, &rt, &diag) == 0);
	dump_diag(&diag);
	if (rt) {
		CHECK(rt->server_creds && rt->client_creds && rt->ca_count == 1);
		CHECK(rt->warnings.count == 3);
		CHECK(has_diag(&rt->warnings, 20, "color is ignored"));
	}
	tt_runtime_free(rt);
	tt_diag_free(&diag);
}

static const struct bad_case tlshd_bad[] = {
	{ "[authenticate]\n[trust]\nca-file = system\n", 1,
	  "[authenticate] is tlshd's and [trust] tlstagd's" },
	{ "[authenticate.server]\nx509.certificate=/a.pem\n", 2,
	  "[authenticate.server] x509.certificate is set but x509.private_key is not" },
	{ "[authenticate.client]\nx509.private_key=/a.key\n", 2,
	  "x509.private_key is set but x509.certificate is not" },
	{ "[authenticate.client]\nx509.certificate=/a.pem\n"
	  "x509.private_key=pkcs11:token=x\n", 3, "key URLs are not supported" },
	{ "[authenticate.client]\nx509.truststore=\n", 2,
	  "x509.truststore: empty value" },
	{ "[authenticate]\nkeyrings=a;b c\n", 2,
	  "keyrings: \"b c\" is not a keyring name" },
	{ "[global]\nkeyrings=a;b;c;d;e;f;g;h;i;j;k;l;m;n;o;p;q\n", 2,
	  "keyrings: more than 16 keyrings" },
};

TEST(tlshd_config_errors)
{
	/* A key URL, in a file that has a directory (paths are resolved). */
	{
		static const char t[] = "[authenticate.server]\n"
			"x509.certificate=/a.pem\nx509.private_key=pkcs11:token=x\n";
		struct tt_diag diag = { 0 };
		struct tt_config cfg;

		CHECK(tt_config_parse_buffer("/etc/tlshd/config", t,
					     sizeof(t) - 1, &cfg, &diag) == -EINVAL);
		CHECK(has_diag(&diag, 3, "key URLs are not supported"));
		tt_diag_free(&diag);
		/* ./pkcs11:x is a file: what tlshd's manual says to write */
		static const char f[] = "[authenticate.server]\n"
			"x509.certificate=/a.pem\nx509.private_key=./pkcs11:x\n";
		CHECK(tt_config_parse_buffer("/etc/tlshd/config", f,
					     sizeof(f) - 1, &cfg, &diag) == 0);
		CHECK(cfg.server_key.path &&
		      strcmp(cfg.server_key.path, "/etc/tlshd/./pkcs11:x") == 0);
		/* No server-side trust store: clients meet the system's. */
		CHECK(cfg.client_ca_system &&
		      tt_runtime_client_trust_is_system(&cfg));
		tt_config_free(&cfg);
		tt_diag_free(&diag);
	}
	check_bad_cases(tlshd_bad, sizeof(tlshd_bad) / sizeof(tlshd_bad[0]));
}

/*
 * What tlshd ships as its configuration (every section, the [debug]
 * levels at 0, every other key commented out) loads as tlshd runs with
 * it: the system trust store on both sides, no certificate of its own,
 * tlshd's tags directory, nothing ignored.
 */
TEST(tlshd_shipped_example)
{
	static const char shipped[] =
		"#\n# tlshd's configuration\n#\n"
		"[debug]\nloglevel=0\ntls=0\nnl=0\n\n"
		"[authenticate]\n#keyrings= <keyring>;<keyring>;<keyring>\n\n"
		"[authenticate.client]\n#x509.truststore= <pathname>\n"
		"#x509.crl= <pathname>\n#x509.certificate= <pathname>\n"
		"#x509.private_key= <pathname>\n\n"
		"[authenticate.server]\n#x509.truststore= <pathname>\n"
		"#x509.crl= <pathname>\n#x509.certificate= <pathname>\n"
		"#x509.private_key= <pathname>\n";
	struct tt_diag diag = { 0 };
	struct tt_config cfg;

	CHECK(tt_config_parse_buffer("/etc/tlshd/config", shipped,
				     sizeof(shipped) - 1, &cfg, &diag) == 0);
	dump_diag(&diag);
	CHECK(cfg.tlshd_format && cfg.trust_system && !cfg.client_ca.path &&
	      cfg.client_ca_system &&
	      !cfg.server_cert.path && !cfg.client_cert.path &&
	      cfg.log_level == LOG_INFO && cfg.nkeyrings == 0 &&
	      cfg.ignored.count == 0);
	CHECK(strcmp(cfg.tags_dir.path, "/etc/tlshd/tags.d") == 0);
	tt_config_free(&cfg);
	tt_diag_free(&diag);
}

int main(int argc, char **argv)
{
	if (argc != 3) {
		fprintf(stderr, "usage: %s CERTDIR DATADIR\n", argv[0]);
		return 2;
	}
	certs = argv[1];
	data = argv[2];
	tt_log_init("test_config", TT_LOG_STDERR, LOG_WARNING);
	if (!mkdtemp(tmpdir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(conf_path, sizeof(conf_path), "%s/tlstagd.conf", tmpdir);
	tt_tls_global_init();
	RUN(good_config);
	RUN(defaults_and_relative_paths);
	RUN(bad_configs);
	RUN(all_errors_reported);
	RUN(session_tags_key);
	RUN(bad_runtime);
	RUN(tags_need_explicit_system_trust);
	RUN(peer_key_ttl_and_client_ca);
	RUN(reload_keeps_old_on_error);
	RUN(tlshd_config);
	RUN(tlshd_config_errors);
	RUN(tlshd_shipped_example);
	tt_tls_global_deinit();
	{
		char cmd[600];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
		if (system(cmd) != 0)
			fprintf(stderr, "cannot remove %s\n", tmpdir);
	}
	return tt_test_summary();
}
