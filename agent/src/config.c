// SPDX-License-Identifier: GPL-2.0-only
/*
 * Main configuration: GLib's GKeyFile does the parsing; this file checks
 * the schema and the values and reports "file:line: reason". GKeyFile does
 * not keep line numbers, so they are recovered by locating the group and
 * key in the text afterwards (a lookup, not a second parser).
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <limits.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <syslog.h>

#include <glib.h>

#include "config.h"
#include "log.h"

struct key_spec {
	const char	*group;
	const char	*key;
};

static const struct key_spec known_keys[] = {
	{ "global", "log-level" },
	{ "global", "log-target" },
	{ "global", "max-in-flight" },
	{ "global", "handshake-timeout" },
	{ "global", "tags-dir" },
	{ "global", "peer-key-ttl" },
	{ "global", "session-tags" },
	{ "trust", "ca-file" },
	{ "trust", "crl-file" },
	{ "server", "certificate" },
	{ "server", "private-key" },
	{ "server", "client-certificate" },
	{ "server", "client-ca" },
	{ "server", "tags-with-system-trust" },
	{ "server", "client-certificate-purpose" },
	{ "server", "client-crl" },
	{ "global", "keyrings" },
	{ "client", "certificate" },
	{ "client", "private-key" },
};

/* tlshd's groups (tlshd.conf(5)); a file with any of them is tlshd's. */
static const char *const tlshd_groups[] = {
	"debug", "authenticate", "authenticate.client", "authenticate.server",
};

static bool known_group(const char *g)
{
	for (size_t i = 0; i < G_N_ELEMENTS(known_keys); i++)
		if (strcmp(known_keys[i].group, g) == 0)
			return true;
	return false;
}

static bool known_key(const char *g, const char *k)
{
	for (size_t i = 0; i < G_N_ELEMENTS(known_keys); i++)
		if (strcmp(known_keys[i].group, g) == 0 &&
		    strcmp(known_keys[i].key, k) == 0)
			return true;
	return false;
}

/* ---- line lookup ---- */

struct text {
	const char	*buf;
	size_t		len;
};

/* Calls @fn for each line (without its newline); stops when fn returns true. */
static unsigned int find_line_by(const struct text *t,
				 bool (*fn)(const char *l, size_t n, void *ctx,
					    const char **grp, size_t *glen),
				 void *ctx)
{
	const char *p = t->buf, *end = t->buf + t->len;
	const char *grp = NULL;
	size_t glen = 0;
	unsigned int line = 0;

	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t n = nl ? (size_t)(nl - p) : (size_t)(end - p);

		line++;
		if (fn(p, n, ctx, &grp, &glen))
			return line;
		p += n + 1;
	}
	return 0;
}

struct key_locate {
	const char	*group;
	const char	*key;	/* NULL: the group header itself */
};

static void trim(const char **s, size_t *n)
{
	while (*n && (**s == ' ' || **s == '\t')) {
		(*s)++;
		(*n)--;
	}
	while (*n && ((*s)[*n - 1] == ' ' || (*s)[*n - 1] == '\t' ||
		      (*s)[*n - 1] == '\r'))
		(*n)--;
}

static bool key_line_cb(const char *l, size_t n, void *ctx, const char **grp,
			size_t *glen)
{
	struct key_locate *k = ctx;

	trim(&l, &n);
	if (n >= 2 && l[0] == '[' && l[n - 1] == ']') {
		*grp = l + 1;
		*glen = n - 2;
		return !k->key && *glen == strlen(k->group) &&
		       memcmp(*grp, k->group, *glen) == 0;
	}
	if (!k->key || !*grp || *glen != strlen(k->group) ||
	    memcmp(*grp, k->group, *glen) != 0)
		return false;
	size_t kl = strlen(k->key);
	if (n > kl && memcmp(l, k->key, kl) == 0) {
		const char *r = l + kl;
		while (r < l + n && (*r == ' ' || *r == '\t'))
			r++;
		return r < l + n && (*r == '=' || *r == '[');
	}
	return false;
}

static unsigned int locate(const struct text *t, const char *group,
			   const char *key)
{
	struct key_locate k = { group, key };

	return find_line_by(t, key_line_cb, &k);
}

struct str_locate {
	const char	*s;
	size_t		n;
};

static bool str_line_cb(const char *l, size_t n, void *ctx, const char **grp,
			size_t *glen)
{
	struct str_locate *k = ctx;

	(void)grp;
	(void)glen;
	if (n && l[n - 1] == '\r')
		n--;
	return n == k->n && memcmp(l, k->s, n) == 0;
}

/*
 * GKeyFile parse errors quote the offending line between “ and ”; find it
 * in the text to give a line number.
 */
static unsigned int locate_parse_error(const struct text *t, const char *msg)
{
	const char *open = strstr(msg, "\xe2\x80\x9c");	/* “ */
	const char *close;
	struct str_locate k;

	if (!open)
		return 0;
	open += 3;
	close = strstr(open, "\xe2\x80\x9d");			/* ” */
	if (!close)
		return 0;
	k.s = open;
	k.n = (size_t)(close - open);
	return find_line_by(t, str_line_cb, &k);
}

/* ---- values ---- */

void tt_config_defaults(struct tt_config *cfg)
{
	memset(cfg, 0, sizeof(*cfg));
	cfg->file = strdup("<built-in>");
	cfg->log_level = LOG_INFO;
	cfg->log_target = TT_LOGT_AUTO;
	cfg->max_in_flight = TT_DEFAULT_MAX_IN_FLIGHT;
	cfg->timeout_ms = TT_DEFAULT_TIMEOUT_S * 1000;
	cfg->peer_key_ttl = TT_DEFAULT_PEER_KEY_TTL_S;
	cfg->session_tags = true;
	cfg->tags_dir.path = strdup(TT_DEFAULT_TAGS_DIR);
	cfg->tags_dir_default = true;
	cfg->trust_system = true;
	cfg->client_cert_mode = TT_CLIENT_CERT_REQUEST;
}

static void free_path(struct tt_cfg_path *p)
{
	free(p->path);
	p->path = NULL;
	p->line = 0;
}

void tt_config_free(struct tt_config *cfg)
{
	if (!cfg)
		return;
	free(cfg->file);
	free_path(&cfg->tags_dir);
	free_path(&cfg->ca_file);
	free_path(&cfg->crl_file);
	free_path(&cfg->server_cert);
	free_path(&cfg->server_key);
	free_path(&cfg->client_ca);
	free_path(&cfg->client_cert);
	free_path(&cfg->client_key);
	free_path(&cfg->client_crl);
	for (unsigned int i = 0; i < cfg->nkeyrings; i++)
		free(cfg->keyrings[i]);
	tt_diag_free(&cfg->ignored);
	memset(cfg, 0, sizeof(*cfg));
}

struct parse_ctx {
	const char	*name;
	struct text	text;
	GKeyFile	*kf;
	struct tt_diag	*diag;
	char		*basedir;
	int		errors;
};

static void perr(struct parse_ctx *c, const char *group, const char *key,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));

static void perr(struct parse_ctx *c, const char *group, const char *key,
		 const char *fmt, ...)
{
	char msg[512];
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	tt_diag_add(c->diag, c->name, group ? locate(&c->text, group, key) : 0,
		    "%s", msg);
	c->errors++;
}

/* Returns a newly allocated trimmed value, NULL when absent. */
static char *get_value(struct parse_ctx *c, const char *group, const char *key)
{
	GError *err = NULL;
	char *v = g_key_file_get_string(c->kf, group, key, &err);
	char *out;

	if (!v) {
		if (err && err->code != G_KEY_FILE_ERROR_KEY_NOT_FOUND &&
		    err->code != G_KEY_FILE_ERROR_GROUP_NOT_FOUND)
			perr(c, group, key, "[%s] %s: %s", group, key,
			     err->message);
		g_clear_error(&err);
		return NULL;
	}
	g_strstrip(v);
	out = strdup(v);
	g_free(v);
	if (out && !*out) {
		perr(c, group, key, "[%s] %s: empty value", group, key);
		free(out);
		return NULL;
	}
	return out;
}

static bool get_uint(struct parse_ctx *c, const char *group, const char *key,
		     unsigned long min, unsigned long max, unsigned int *out)
{
	char *v = get_value(c, group, key), *end;
	unsigned long n;

	if (!v)
		return false;
	errno = 0;
	n = strtoul(v, &end, 10);
	if (errno || end == v || *end || v[0] == '-' || n < min || n > max) {
		perr(c, group, key, "[%s] %s: \"%s\" is not an integer in %lu..%lu",
		     group, key, v, min, max);
		free(v);
		return false;
	}
	free(v);
	*out = (unsigned int)n;
	return true;
}

/* yes/no (also true/false, on/off, 1/0; any case): false when absent or bad */
static bool get_bool(struct parse_ctx *c, const char *group, const char *key,
		     bool *out)
{
	static const char *const yes[] = { "yes", "true", "on", "1" };
	static const char *const no[] = { "no", "false", "off", "0" };
	char *v = get_value(c, group, key);

	if (!v)
		return false;
	for (size_t i = 0; i < G_N_ELEMENTS(yes); i++) {
		if (strcasecmp(v, yes[i]) == 0 || strcasecmp(v, no[i]) == 0) {
			*out = strcasecmp(v, yes[i]) == 0;
			free(v);
			return true;
		}
	}
	perr(c, group, key, "[%s] %s: \"%s\" is not yes or no", group, key, v);
	free(v);
	return false;
}

static void get_path(struct parse_ctx *c, const char *group, const char *key,
		     struct tt_cfg_path *out)
{
	char *v = get_value(c, group, key);

	if (!v)
		return;
	free(out->path);
	out->line = locate(&c->text, group, key);
	if (v[0] == '/' || !c->basedir) {
		out->path = v;
	} else {
		if (asprintf(&out->path, "%s/%s", c->basedir, v) < 0)
			out->path = NULL;
		free(v);
	}
}

static void check_schema(struct parse_ctx *c)
{
	gsize ngroups = 0;
	gchar **groups = g_key_file_get_groups(c->kf, &ngroups);

	for (gsize i = 0; i < ngroups; i++) {
		gsize nkeys = 0;
		gchar **keys;

		if (!known_group(groups[i])) {
			perr(c, groups[i], NULL, "unknown section [%s]",
			     groups[i]);
			continue;
		}
		keys = g_key_file_get_keys(c->kf, groups[i], &nkeys, NULL);
		for (gsize k = 0; keys && k < nkeys; k++)
			if (!known_key(groups[i], keys[k]))
				perr(c, groups[i], keys[k],
				     "unknown key \"%s\" in section [%s]",
				     keys[k], groups[i]);
		g_strfreev(keys);
	}
	g_strfreev(groups);
}

static void check_pair(struct parse_ctx *c, const char *group,
		       const struct tt_cfg_path *cert,
		       const struct tt_cfg_path *key)
{
	if (cert->path && !key->path)
		perr(c, group, "certificate",
		     "[%s] certificate is set but private-key is not", group);
	else if (!cert->path && key->path)
		perr(c, group, "private-key",
		     "[%s] private-key is set but certificate is not", group);
}

static int cmp_line(const void *a, const void *b)
{
	const struct tt_diag_entry *x = a, *y = b;

	return (x->line > y->line) - (x->line < y->line);
}

struct choice {
	const char	*name;
	int		value;
};

/*
 * [@sec] @key, when set, must be one of the @n names of @ch: its value in
 * *@out, or an error listing them. Returns whether *@out was set.
 */
static bool get_choice(struct parse_ctx *c, const char *sec, const char *key,
		       const struct choice *ch, size_t n, int *out)
{
	char *v = get_value(c, sec, key), list[200] = "";
	size_t off = 0;
	bool found = false;

	if (!v)
		return false;
	for (size_t i = 0; i < n && !found; i++) {
		if (strcmp(v, ch[i].name) == 0) {
			*out = ch[i].value;
			found = true;
		}
		off += (size_t)snprintf(list + off, sizeof(list) - off, "%s%s",
					i ? ", " : "", ch[i].name);
		if (off >= sizeof(list))
			off = sizeof(list) - 1;
	}
	if (!found)
		perr(c, sec, key, "[%s] %s: \"%s\" is not one of %s", sec, key,
		     v, list);
	free(v);
	return found;
}

static void parse_global(struct parse_ctx *c, struct tt_config *cfg)
{
	static const struct choice targets[] = {
		{ "auto", TT_LOGT_AUTO }, { "stderr", TT_LOGT_STDERR },
		{ "syslog", TT_LOGT_SYSLOG },
	};
	unsigned int u;
	char *v;
	int t;

	v = get_value(c, "global", "log-level");
	if (v) {
		int l = tt_log_level_from_name(v);

		if (l < 0)
			perr(c, "global", "log-level",
			     "[global] log-level: \"%s\" is not one of error, warning, notice, info, debug",
			     v);
		else
			cfg->log_level = l;
		free(v);
	}
	if (get_choice(c, "global", "log-target", targets, 3, &t))
		cfg->log_target = t;
	if (get_uint(c, "global", "max-in-flight", 1, 1024, &u))
		cfg->max_in_flight = u;
	if (get_uint(c, "global", "handshake-timeout", 1, 3600, &u))
		cfg->timeout_ms = u * 1000;
	if (get_uint(c, "global", "peer-key-ttl", 1, 86400, &u))
		cfg->peer_key_ttl = u;
	get_bool(c, "global", "session-tags", &cfg->session_tags);
	if (g_key_file_has_key(c->kf, "global", "tags-dir", NULL)) {
		struct tt_cfg_path p = { 0 };

		get_path(c, "global", "tags-dir", &p);
		if (p.path) {
			free(cfg->tags_dir.path);
			cfg->tags_dir = p;
			cfg->tags_dir_default = false;
		}
	}
}

static void parse_trust(struct parse_ctx *c, struct tt_config *cfg)
{
	char *v = get_value(c, "trust", "ca-file");

	if (v) {
		if (strcmp(v, "system") == 0) {
			cfg->trust_system = true;
		} else {
			cfg->trust_system = false;
			get_path(c, "trust", "ca-file", &cfg->ca_file);
		}
		free(v);
	}
	get_path(c, "trust", "crl-file", &cfg->crl_file);
}

static void parse_server(struct parse_ctx *c, struct tt_config *cfg)
{
	static const struct choice modes[] = {
		{ "ignore", TT_CLIENT_CERT_IGNORE },
		{ "request", TT_CLIENT_CERT_REQUEST },
		{ "require", TT_CLIENT_CERT_REQUIRE },
	};
	static const struct choice purposes[] = {
		{ "client-auth", 0 }, { "any", 1 },
	};
	int v;

	get_path(c, "server", "certificate", &cfg->server_cert);
	get_path(c, "server", "private-key", &cfg->server_key);
	check_pair(c, "server", &cfg->server_cert, &cfg->server_key);
	if (get_choice(c, "server", "client-certificate", modes, 3, &v))
		cfg->client_cert_mode = v;
	get_path(c, "server", "client-ca", &cfg->client_ca);
	get_bool(c, "server", "tags-with-system-trust", &cfg->tags_system_trust);
	get_path(c, "server", "client-crl", &cfg->client_crl);
	if (get_choice(c, "server", "client-certificate-purpose", purposes, 2,
		       &v))
		cfg->client_purpose_any = v;
}

/* An entry of cfg->ignored: what the file sets that has no effect. */
static void ignored(struct parse_ctx *c, struct tt_config *cfg,
		    const char *group, const char *key, const char *why)
{
	tt_diag_add(&cfg->ignored, c->name, locate(&c->text, group, key),
		    "[%s] %s is ignored: %s", group, key, why);
}

/*
 * keyrings = a;b;c: names or serial numbers. tlshd's three are always
 * searched, so naming them adds nothing.
 */
static void parse_keyrings(struct parse_ctx *c, const char *group,
			   struct tt_config *cfg)
{
	GError *err = NULL;
	gsize n = 0;
	gchar **list = g_key_file_get_string_list(c->kf, group, "keyrings", &n,
						  &err);

	if (!list) {
		if (err && err->code != G_KEY_FILE_ERROR_KEY_NOT_FOUND &&
		    err->code != G_KEY_FILE_ERROR_GROUP_NOT_FOUND)
			perr(c, group, "keyrings", "[%s] keyrings: %s", group,
			     err->message);
		g_clear_error(&err);
		return;
	}
	for (gsize i = 0; i < n; i++) {
		char *name = g_strstrip(list[i]);
		bool printable = true;

		for (const char *p = name; *p; p++)
			if ((unsigned char)*p <= ' ' || *p == 0x7f)
				printable = false;
		if (!*name)
			continue;
		if (!printable || strlen(name) > 255) {
			perr(c, group, "keyrings",
			     "[%s] keyrings: \"%.64s\" is not a keyring name or serial number",
			     group, name);
			continue;
		}
		if (strcmp(name, ".nfs") == 0 || strcmp(name, ".nfsd") == 0 ||
		    strcmp(name, ".nvme") == 0)
			continue;
		if (cfg->nkeyrings == TT_MAX_KEYRINGS) {
			perr(c, group, "keyrings",
			     "[%s] keyrings: more than %d keyrings", group,
			     TT_MAX_KEYRINGS);
			break;
		}
		cfg->keyrings[cfg->nkeyrings] = strdup(name);
		if (cfg->keyrings[cfg->nkeyrings])
			cfg->nkeyrings++;
	}
	g_strfreev(list);
}

static bool is_tlshd_group(const char *g)
{
	for (size_t i = 0; i < G_N_ELEMENTS(tlshd_groups); i++)
		if (strcmp(g, tlshd_groups[i]) == 0)
			return true;
	return false;
}

/*
 * Whether the file is tlshd's: it has one of tlshd's groups. A file with
 * tlshd's groups and tlstagd's both is an error: one of the two halves
 * would be silently ignored.
 */
static bool tlshd_file(struct parse_ctx *c)
{
	gsize n = 0;
	gchar **groups = g_key_file_get_groups(c->kf, &n);
	const char *ours = NULL, *theirs = NULL;

	for (gsize i = 0; i < n; i++) {
		if (is_tlshd_group(groups[i]))
			theirs = theirs ? theirs : groups[i];
		else if (known_group(groups[i]))
			ours = ours ? ours : groups[i];
	}
	if (ours && theirs)
		perr(c, theirs, NULL,
		     "[%s] is tlshd's and [%s] tlstagd's: a file is one or the other",
		     theirs, ours);
	g_strfreev(groups);
	return theirs && !ours;
}

/* [@group] @key of a tlshd file, read as GLib reads it for tlshd: 0 if bad. */
static int tlshd_int(struct parse_ctx *c, struct tt_config *cfg,
		     const char *group, const char *key)
{
	GError *err = NULL;
	int v;

	if (!g_key_file_has_key(c->kf, group, key, NULL))
		return 0;
	v = g_key_file_get_integer(c->kf, group, key, &err);
	if (err) {
		ignored(c, cfg, group, key,
			"not an integer (tlshd reads it as 0)");
		g_clear_error(&err);
		return 0;
	}
	return v;
}

/*
 * One side's x509.* keys of a tlshd file. The client side's trust store
 * verifies servers (ca-file); the server side's verifies clients
 * (client-ca). Without one, tlshd uses the system's, and so does this.
 */
static void parse_tlshd_side(struct parse_ctx *c, struct tt_config *cfg,
			     bool server)
{
	const char *g = server ? "authenticate.server" : "authenticate.client";
	struct tt_cfg_path *cert = server ? &cfg->server_cert : &cfg->client_cert;
	struct tt_cfg_path *key = server ? &cfg->server_key : &cfg->client_key;

	if (server) {
		get_path(c, g, "x509.truststore", &cfg->client_ca);
		cfg->client_ca_system = !cfg->client_ca.path;
		get_path(c, g, "x509.crl", &cfg->client_crl);
	} else if (g_key_file_has_key(c->kf, g, "x509.truststore", NULL)) {
		get_path(c, g, "x509.truststore", &cfg->ca_file);
		cfg->trust_system = !cfg->ca_file.path;
		get_path(c, g, "x509.crl", &cfg->crl_file);
	} else {
		get_path(c, g, "x509.crl", &cfg->crl_file);
	}
	/* A key URL (pkcs11:...), before get_path() makes it a path. */
	{
		char *raw = get_value(c, g, "x509.private_key");
		size_t scheme = raw ? strspn(raw, "abcdefghijklmnopqrstuvwxyz"
					     "ABCDEFGHIJKLMNOPQRSTUVWXYZ0123456789+.-") : 0;

		if (raw && scheme > 0 && raw[scheme] == ':')
			perr(c, g, "x509.private_key",
			     "[%s] x509.private_key: key URLs are not supported; give a PEM file (write \"./%s\" for a relative path)",
			     g, raw);
		free(raw);
	}
	get_path(c, g, "x509.certificate", cert);
	get_path(c, g, "x509.private_key", key);
	if (cert->path && !key->path)
		perr(c, g, "x509.certificate",
		     "[%s] x509.certificate is set but x509.private_key is not", g);
	else if (!cert->path && key->path)
		perr(c, g, "x509.private_key",
		     "[%s] x509.private_key is set but x509.certificate is not", g);
	for (int pq = 0; pq < 2; pq++) {
		const char *k = pq ? "x509.pq.private_key" : "x509.pq.certificate";

		if (g_key_file_has_key(c->kf, g, k, NULL))
			ignored(c, cfg, g, k,
				"this GnuTLS has no ML-DSA, so x509.certificate is presented to every peer");
	}
}

static const struct key_spec tlshd_keys[] = {
	{ "debug", "loglevel" }, { "debug", "tls" }, { "debug", "nl" },
	{ "debug", "delay_done" }, { "authenticate", "keyrings" },
	{ "authenticate.client", "x509.truststore" },
	{ "authenticate.client", "x509.crl" },
	{ "authenticate.client", "x509.certificate" },
	{ "authenticate.client", "x509.private_key" },
	{ "authenticate.client", "x509.pq.certificate" },
	{ "authenticate.client", "x509.pq.private_key" },
	{ "authenticate.server", "x509.truststore" },
	{ "authenticate.server", "x509.crl" },
	{ "authenticate.server", "x509.certificate" },
	{ "authenticate.server", "x509.private_key" },
	{ "authenticate.server", "x509.pq.certificate" },
	{ "authenticate.server", "x509.pq.private_key" },
};

static bool tlshd_known(const char *g, const char *k)
{
	for (size_t i = 0; i < G_N_ELEMENTS(tlshd_keys); i++)
		if (strcmp(tlshd_keys[i].group, g) == 0 &&
		    strcmp(tlshd_keys[i].key, k) == 0)
			return true;
	return false;
}

/*
 * tlshd's configuration file (tlshd.conf(5)), taken as tlshd takes it:
 * what it does not know is ignored (here with a note saying so), its
 * tags are in /etc/tlshd/tags.d.
 */
static void parse_tlshd(struct parse_ctx *c, struct tt_config *cfg)
{
	gsize ngroups = 0;
	gchar **groups = g_key_file_get_groups(c->kf, &ngroups);

	cfg->tlshd_format = true;
	for (gsize i = 0; i < ngroups; i++) {
		gsize nkeys = 0;
		gchar **keys = g_key_file_get_keys(c->kf, groups[i], &nkeys, NULL);

		for (gsize k = 0; keys && k < nkeys; k++)
			if (!tlshd_known(groups[i], keys[k]))
				ignored(c, cfg, groups[i], keys[k],
					"not a setting of tlshd.conf(5) (tlshd ignores it too)");
		g_strfreev(keys);
	}
	g_strfreev(groups);

	if (tlshd_int(c, cfg, "debug", "loglevel") > 0)
		cfg->log_level = LOG_DEBUG;
	cfg->tls_debug = tlshd_int(c, cfg, "debug", "tls");
	if (cfg->tls_debug < 0)
		cfg->tls_debug = 0;
	if (cfg->tls_debug > 0 && cfg->log_level < LOG_DEBUG)
		ignored(c, cfg, "debug", "tls",
			"GnuTLS's messages are logged at debug level: set loglevel too");
	if (tlshd_int(c, cfg, "debug", "nl") != 0)
		ignored(c, cfg, "debug", "nl", "tlstagd does not use libnl");
	if (tlshd_int(c, cfg, "debug", "delay_done") != 0)
		ignored(c, cfg, "debug", "delay_done",
			"a test setting of tlshd's; DONE is never delayed");
	parse_keyrings(c, "authenticate", cfg);
	parse_tlshd_side(c, cfg, false);
	parse_tlshd_side(c, cfg, true);
	free(cfg->tags_dir.path);
	cfg->tags_dir.path = strdup(TT_TLSHD_TAGS_DIR);
	cfg->tags_dir_default = true;
	if (!cfg->tags_dir.path)
		perr(c, NULL, NULL, "out of memory");
}

/* The directory of @name (for relative paths); NULL when it has none. */
static char *base_dir(const char *name)
{
	char *d;

	if (!strchr(name, '/'))
		return NULL;
	d = strdup(name);
	if (d)
		*strrchr(d, '/') = '\0';
	if (d && !*d) {
		free(d);
		d = strdup("/");
	}
	return d;
}

int tt_config_parse_buffer(const char *name, const char *buf, size_t len,
			   struct tt_config *cfg, struct tt_diag *diag)
{
	struct parse_ctx c = { .name = name, .text = { buf, len },
			       .diag = diag };
	size_t first = diag->count;
	GError *err = NULL;

	tt_config_defaults(cfg);
	free(cfg->file);
	cfg->file = strdup(name);
	c.basedir = base_dir(name);

	if (memchr(buf, '\0', len)) {
		perr(&c, NULL, NULL, "file contains a NUL byte");
		goto out;
	}
	c.kf = g_key_file_new();
	if (!g_key_file_load_from_data(c.kf, buf, len, G_KEY_FILE_NONE, &err)) {
		tt_diag_add(diag, name, locate_parse_error(&c.text, err->message),
			    "syntax error: %s", err->message);
		c.errors++;
		g_clear_error(&err);
		goto out;
	}

	if (tlshd_file(&c)) {
		parse_tlshd(&c, cfg);
		goto out;
	}
	check_schema(&c);
	parse_global(&c, cfg);
	parse_keyrings(&c, "global", cfg);
	parse_trust(&c, cfg);
	parse_server(&c, cfg);
	get_path(&c, "client", "certificate", &cfg->client_cert);
	get_path(&c, "client", "private-key", &cfg->client_key);
	check_pair(&c, "client", &cfg->client_cert, &cfg->client_key);

out:
	/* Report in file order. */
	if (diag->count > first + 1)
		qsort(diag->entries + first, diag->count - first,
		      sizeof(*diag->entries), cmp_line);
	if (c.kf)
		g_key_file_free(c.kf);
	free(c.basedir);
	if (c.errors) {
		tt_config_free(cfg);
		return -EINVAL;
	}
	return 0;
}

int tt_config_parse_file(const char *path, struct tt_config *cfg,
			 struct tt_diag *diag)
{
	GError *err = NULL;
	gchar *data = NULL;
	gsize len = 0;
	int ret;

	memset(cfg, 0, sizeof(*cfg));
	if (!g_file_get_contents(path, &data, &len, &err)) {
		tt_diag_add(diag, path, 0, "cannot read: %s", err->message);
		g_clear_error(&err);
		return -ENOENT;
	}
	ret = tt_config_parse_buffer(path, data, len, cfg, diag);
	g_free(data);
	return ret;
}
