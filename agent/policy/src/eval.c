// SPDX-License-Identifier: GPL-2.0-only
/*
 * Evaluating a certificate against a loaded policy.
 *
 * The DER is imported once into a gnutls_x509_crt_t held by a per-call
 * context (tp_evaluate_crt() borrows one the caller imported). Every field a filter compares against is derived on first use
 * and cached in the context (a bit in ctx->have records that it was
 * tried, so a field that is absent is not looked for twice). Each
 * filter's outcome is cached as well, so a filter named by many tags is
 * decided once.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <gnutls/x509-ext.h>

#include "tp_internal.h"
#include "tp_debug.h"

const struct tp_ku_name tp_ku_names[] = {
	{ "digitalSignature", GNUTLS_KEY_DIGITAL_SIGNATURE },
	{ "nonRepudiation", GNUTLS_KEY_NON_REPUDIATION },
	{ "keyEncipherment", GNUTLS_KEY_KEY_ENCIPHERMENT },
	{ "dataEncipherment", GNUTLS_KEY_DATA_ENCIPHERMENT },
	{ "keyAgreement", GNUTLS_KEY_KEY_AGREEMENT },
	{ "keyCertSign", GNUTLS_KEY_KEY_CERT_SIGN },
	{ "cRLSign", GNUTLS_KEY_CRL_SIGN },
	{ "encipherOnly", GNUTLS_KEY_ENCIPHER_ONLY },
	{ "decipherOnly", GNUTLS_KEY_DECIPHER_ONLY },
};
const size_t tp_ku_names_count = sizeof(tp_ku_names) / sizeof(tp_ku_names[0]);

static const struct {
	const char *name, *oid;
} eku_names[] = {
	{ "serverAuth", "1.3.6.1.5.5.7.3.1" },
	{ "clientAuth", "1.3.6.1.5.5.7.3.2" },
	{ "codeSigning", "1.3.6.1.5.5.7.3.3" },
	{ "emailProtection", "1.3.6.1.5.5.7.3.4" },
	{ "timeStamping", "1.3.6.1.5.5.7.3.8" },
	{ "OCSPSigning", "1.3.6.1.5.5.7.3.9" },
};

const char *tp_eku_name_to_oid(const char *name)
{
	for (size_t i = 0; i < sizeof(eku_names) / sizeof(eku_names[0]); i++)
		if (strcmp(eku_names[i].name, name) == 0)
			return eku_names[i].oid;
	return NULL;
}

/* Dotted OID: at least two arcs, first 0..2, decimal arcs, no leading zeros. */
bool tp_oid_valid(const char *oid)
{
	size_t arcs = 0;
	const char *s = oid;

	if (!(s[0] >= '0' && s[0] <= '2') || s[1] != '.')
		return false;
	for (;;) {
		const char *start = s;

		while (*s >= '0' && *s <= '9')
			s++;
		if (s == start || s - start > 20 || (*start == '0' && s - start > 1))
			return false;
		arcs++;
		if (*s == '\0')
			break;
		if (*s != '.')
			return false;
		s++;
	}
	return arcs >= 2;
}

/* ---- the per-evaluation context ---------------------------------------- */

_Thread_local unsigned int tp_derive_count[TP_D__COUNT];

struct strlist {
	char	**v;
	size_t	n;
};

enum { SAN_DNS, SAN_IP, SAN_URI, SAN_EMAIL, SAN__COUNT };

struct ctx {
	const struct tp_policy *policy;
	gnutls_x509_crt_t crt;
	bool		own_crt;	/* imported here: deinit in ctx_free */
	unsigned int	have;		/* 1 << TP_D_*: derivation was tried */
	bool		oom;
	bool		explain;

	char		*sigalg;	/* NULL when not available */
	char		version[16];	/* "" when not available */
	char		*serial;
	char		*serial_der;	/* with DER's leading zero octet; or NULL */
	char		*issuer;
	char		*subject;
	time_t		not_before;	/* (time_t)-1 when not available */
	time_t		not_after;
	bool		ku_present;
	unsigned int	ku;
	bool		eku_present;
	struct strlist	eku;
	char		sha1[41];	/* "" when not available */
	char		sha256[65];
	bool		self_signed;
	bool		san_present;
	struct strlist	san[SAN__COUNT];

	signed char	*result;	/* per filter: -1 untried, 0, 1 */
	signed char	result_buf[256];	/* @result for small policies */
	char		**detail;	/* per filter, when explaining */
};

static bool first_time(struct ctx *c, enum tp_derived d)
{
	if (c->have & (1u << d))
		return false;
	c->have |= 1u << d;
	tp_derive_count[d]++;
	return true;
}

/*
 * Copies certificate text into a C string. A NUL inside the value is
 * written as "\00" so that a value cannot be cut short by one (which
 * could make "CN=alice\0,O=Evil" look like "CN=alice").
 */
static char *text_dup(struct ctx *c, const unsigned char *data, size_t len)
{
	size_t nul = 0, o = 0;
	char *s;

	for (size_t i = 0; i < len; i++)
		nul += data[i] == '\0';
	s = malloc(len + 2 * nul + 1);
	if (!s) {
		c->oom = true;
		return NULL;
	}
	for (size_t i = 0; i < len; i++) {
		if (data[i] == '\0') {
			memcpy(s + o, "\\00", 3);
			o += 3;
		} else {
			s[o++] = (char)data[i];
		}
	}
	s[o] = '\0';
	return s;
}

static bool strlist_add(struct ctx *c, struct strlist *l, char *s)
{
	char **v;

	if (!s)
		return false;
	v = realloc(l->v, (l->n + 1) * sizeof(*v));
	if (!v) {
		free(s);
		c->oom = true;
		return false;
	}
	l->v = v;
	l->v[l->n++] = s;
	return true;
}

static void strlist_free(struct strlist *l)
{
	for (size_t i = 0; i < l->n; i++)
		free(l->v[i]);
	free(l->v);
	l->v = NULL;
	l->n = 0;
}

static void hex(const unsigned char *b, size_t n, char *out)
{
	static const char digits[] = "0123456789abcdef";

	for (size_t i = 0; i < n; i++) {
		out[2 * i] = digits[b[i] >> 4];
		out[2 * i + 1] = digits[b[i] & 15];
	}
	out[2 * n] = '\0';
}

/* ---- derived fields ------------------------------------------------------ */

static const char *get_sigalg(struct ctx *c)
{
	if (first_time(c, TP_D_SIGALG)) {
		int sign = gnutls_x509_crt_get_signature_algorithm(c->crt);
		const char *name = sign > 0 ?
			gnutls_sign_get_name((gnutls_sign_algorithm_t)sign) : NULL;

		if (name) {
			c->sigalg = strdup(name);
			if (!c->sigalg)
				c->oom = true;
		} else {
			/* Unknown to GnuTLS: fall back to the dotted OID. */
			char oid[128];
			size_t size = sizeof(oid);

			if (gnutls_x509_crt_get_signature_oid(c->crt, oid, &size) == 0)
				c->sigalg = text_dup(c, (unsigned char *)oid,
						     strnlen(oid, sizeof(oid)));
		}
	}
	return c->sigalg;
}

static const char *get_version(struct ctx *c)
{
	if (first_time(c, TP_D_VERSION)) {
		int v = gnutls_x509_crt_get_version(c->crt);

		if (v > 0)
			snprintf(c->version, sizeof(c->version), "%d", v);
	}
	return c->version[0] ? c->version : NULL;
}

/*
 * Serial: lowercase hex of the INTEGER's content octets with leading zero
 * octets dropped (DER pads a serial whose top bit is set with one), two
 * digits per octet, so 0x00ab12 gives "ab12" and zero gives "00". This is
 * what "openssl x509 -serial" prints, in lowercase.
 */
static const char *get_serial(struct ctx *c)
{
	if (first_time(c, TP_D_SERIAL)) {
		unsigned char buf[64], *b = buf;
		size_t size = sizeof(buf), skip = 0;
		int r = gnutls_x509_crt_get_serial(c->crt, buf, &size);

		if (r == GNUTLS_E_SHORT_MEMORY_BUFFER) {
			b = malloc(size ? size : 1);
			if (!b) {
				c->oom = true;
				return NULL;
			}
			r = gnutls_x509_crt_get_serial(c->crt, b, &size);
		}
		if (r == 0 && size > 0) {
			while (skip + 1 < size && b[skip] == 0)
				skip++;
			c->serial = malloc(2 * (size - skip) + 1);
			if (c->serial)
				hex(b + skip, size - skip, c->serial);
			else
				c->oom = true;
			/*
			 * As encoded, with the zero octet DER puts before a
			 * serial whose top bit is set (tlshd's form).
			 */
			if (b[skip] & 0x80) {
				c->serial_der = malloc(2 * (size - skip) + 3);
				if (c->serial_der) {
					memcpy(c->serial_der, "00", 2);
					hex(b + skip, size - skip,
					    c->serial_der + 2);
				} else {
					c->oom = true;
				}
			}
		}
		if (b != buf)
			free(b);
	}
	return c->serial;
}

/* ---- distinguished names ------------------------------------------------ */

static char *get_dn(struct ctx *c, bool issuer)
{
	gnutls_datum_t d = { NULL, 0 };
	char *s = NULL;
	int r;

	/* The RFC 4514 string exactly as GnuTLS gives it (flags 0) */
	r = issuer ? gnutls_x509_crt_get_issuer_dn3(c->crt, &d, 0)
		   : gnutls_x509_crt_get_dn3(c->crt, &d, 0);
	if (r == 0)
		s = text_dup(c, d.data, d.size);
	else if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
		s = text_dup(c, (const unsigned char *)"", 0);	/* empty DN */
	gnutls_free(d.data);
	return s;
}

static const char *get_issuer(struct ctx *c)
{
	if (first_time(c, TP_D_ISSUER))
		c->issuer = get_dn(c, true);
	return c->issuer;
}

static const char *get_subject(struct ctx *c)
{
	if (first_time(c, TP_D_SUBJECT))
		c->subject = get_dn(c, false);
	return c->subject;
}

static time_t get_not_before(struct ctx *c)
{
	if (first_time(c, TP_D_NOTBEFORE))
		c->not_before = gnutls_x509_crt_get_activation_time(c->crt);
	return c->not_before;
}

static time_t get_not_after(struct ctx *c)
{
	if (first_time(c, TP_D_NOTAFTER))
		c->not_after = gnutls_x509_crt_get_expiration_time(c->crt);
	return c->not_after;
}

static void get_ku(struct ctx *c)
{
	if (first_time(c, TP_D_KEYUSAGE)) {
		unsigned int ku = 0;

		if (gnutls_x509_crt_get_key_usage(c->crt, &ku, NULL) >= 0) {
			c->ku_present = true;
			c->ku = ku;
		}
	}
}

static void get_eku(struct ctx *c)
{
	if (!first_time(c, TP_D_EKU))
		return;
	for (unsigned int i = 0; !c->oom; i++) {
		char oid[128];
		size_t size = sizeof(oid);
		int r = gnutls_x509_crt_get_key_purpose_oid(c->crt, i, oid,
							    &size, NULL);

		if (r == GNUTLS_E_REQUESTED_DATA_NOT_AVAILABLE)
			break;
		if (r < 0) {
			/* Unreadable (or absurdly long) purpose: fail closed. */
			c->eku_present = false;
			strlist_free(&c->eku);
			break;
		}
		c->eku_present = true;
		strlist_add(c, &c->eku,
			    text_dup(c, (unsigned char *)oid, strnlen(oid, size)));
	}
}

static const char *get_fingerprint(struct ctx *c, bool sha256)
{
	enum tp_derived d = sha256 ? TP_D_SHA256 : TP_D_SHA1;
	char *out = sha256 ? c->sha256 : c->sha1;

	if (first_time(c, d)) {
		unsigned char buf[32];
		size_t size = sizeof(buf);

		if (gnutls_x509_crt_get_fingerprint(c->crt,
				sha256 ? GNUTLS_DIG_SHA256 : GNUTLS_DIG_SHA1,
				buf, &size) == 0 && size == (sha256 ? 32u : 20u))
			hex(buf, size, out);
	}
	return out[0] ? out : NULL;
}

/* Self-signed: the issuer DN string equals the subject DN string. */
static bool get_self_signed(struct ctx *c)
{
	if (first_time(c, TP_D_SELFSIGNED)) {
		const char *i = get_issuer(c), *s = get_subject(c);

		c->self_signed = i && s && strcmp(i, s) == 0;
	}
	return c->self_signed;
}

static void get_sans(struct ctx *c)
{
	gnutls_subject_alt_names_t sans = NULL;
	gnutls_datum_t ext = { NULL, 0 };

	if (!first_time(c, TP_D_SAN))
		return;
	if (gnutls_x509_crt_get_extension_by_oid2(c->crt, GNUTLS_X509EXT_OID_SAN,
						  0, &ext, NULL) < 0)
		return;
	if (gnutls_subject_alt_names_init(&sans) < 0) {
		c->oom = true;
		goto out;
	}
	if (gnutls_x509_ext_import_subject_alt_names(&ext, sans, 0) < 0)
		goto out;
	c->san_present = true;
	for (unsigned int i = 0; !c->oom; i++) {
		unsigned int type;
		gnutls_datum_t san, oid;
		char ip[INET6_ADDRSTRLEN];
		int kind;
		char *s;

		if (gnutls_subject_alt_names_get(sans, i, &type, &san, &oid) < 0)
			break;
		switch (type) {
		case GNUTLS_SAN_DNSNAME:
			kind = SAN_DNS;
			break;
		case GNUTLS_SAN_RFC822NAME:
			kind = SAN_EMAIL;
			break;
		case GNUTLS_SAN_URI:
			kind = SAN_URI;
			break;
		case GNUTLS_SAN_IPADDRESS:
			kind = SAN_IP;
			break;
		default:
			continue;
		}
		if (kind == SAN_IP) {
			int af = san.size == 4 ? AF_INET :
				 san.size == 16 ? AF_INET6 : 0;

			if (!af || !inet_ntop(af, san.data, ip, sizeof(ip)))
				continue;
			s = strdup(ip);
			if (!s)
				c->oom = true;
		} else {
			s = text_dup(c, san.data, san.size);
		}
		strlist_add(c, &c->san[kind], s);
	}
out:
	gnutls_subject_alt_names_deinit(sans);
	gnutls_free(ext.data);
}

/* ---- filters ------------------------------------------------------------- */

static void set_detail(struct ctx *c, char **detail, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

char *tp_printable(const char *s)
{
	size_t n = 0, o = 0;
	char *out;

	for (const char *p = s; *p; p++)
		n += ((unsigned char)*p < 0x20 || *p == 0x7f) ? 4 : 1;
	out = malloc(n + 1);
	if (!out)
		return NULL;
	for (const char *p = s; *p; p++) {
		unsigned char b = (unsigned char)*p;

		if (b < 0x20 || b == 0x7f)
			o += (size_t)snprintf(out + o, 5, "\\x%02x", b);
		else
			out[o++] = (char)b;
	}
	out[o] = '\0';
	return out;
}

/*
 * Explanations quote certificate contents, which the peer chose: control
 * characters are escaped so that printing one is safe on a terminal.
 */
static void set_detail(struct ctx *c, char **detail, const char *fmt, ...)
{
	va_list ap;
	char *raw;
	int r;

	if (!detail)
		return;
	*detail = NULL;
	va_start(ap, fmt);
	r = vasprintf(&raw, fmt, ap);
	va_end(ap);
	if (r < 0) {
		c->oom = true;
		return;
	}
	*detail = tp_printable(raw);
	free(raw);
	if (!*detail)
		c->oom = true;
}

static int match_text(struct ctx *c, const struct tp_filter *f,
		      const char *what, const char *value, char **detail)
{
	bool m;

	if (!value) {
		set_detail(c, detail, "%s not available", what);
		return 0;
	}
	m = tp_cpattern_match(f->pattern, &f->cpat, value, strlen(value));
	set_detail(c, detail, "%s '%s' %s '%s'", what, value,
		   m ? "matches" : "does not match", f->pattern);
	return m;
}

static int match_san(struct ctx *c, const struct tp_filter *f, int kind,
		     const char *what, char **detail)
{
	const struct strlist *l;

	get_sans(c);
	l = &c->san[kind];
	for (size_t i = 0; i < l->n; i++) {
		if (tp_cpattern_match(f->pattern, &f->cpat, l->v[i],
				      strlen(l->v[i]))) {
			set_detail(c, detail, "%s SAN '%s' matches '%s'",
				   what, l->v[i], f->pattern);
			return 1;
		}
	}
	if (l->n)
		set_detail(c, detail, "none of %zu %s SAN(s) matches '%s' (first: '%s')",
			   l->n, what, f->pattern, l->v[0]);
	else
		set_detail(c, detail, "certificate has no %s SAN", what);
	return 0;
}

static int match_fingerprint(struct ctx *c, const struct tp_filter *f,
			     char **detail)
{
	/*
	 * The filter holds when the pattern matches the SHA-256 or the SHA-1
	 * fingerprint. Without wildcards the pattern's length says which one
	 * can match, and the other is not computed.
	 */
	bool wild = f->cpat.wildcards > 0;
	size_t len = f->cpat.len;
	const char *fp;

	if (wild || len == 64) {
		fp = get_fingerprint(c, true);
		if (fp && tp_cpattern_match(f->pattern, &f->cpat, fp, 64)) {
			set_detail(c, detail, "SHA-256 fingerprint %s matches '%s'",
				   fp, f->pattern);
			return 1;
		}
	}
	if (wild || len == 40) {
		fp = get_fingerprint(c, false);
		if (fp && tp_cpattern_match(f->pattern, &f->cpat, fp, 40)) {
			set_detail(c, detail, "SHA-1 fingerprint %s matches '%s'",
				   fp, f->pattern);
			return 1;
		}
	}
	set_detail(c, detail, "neither the SHA-256 nor the SHA-1 fingerprint matches '%s'",
		   f->pattern);
	return 0;
}

static int match_time(struct ctx *c, const struct tp_filter *f, char **detail)
{
	bool before = f->type == TP_F_NOTBEFORE;
	time_t t = before ? get_not_before(c) : get_not_after(c);
	char tb[40], th[40];
	bool m;

	if (t == (time_t)-1) {
		set_detail(c, detail, "%s not available",
			   before ? "notBefore" : "notAfter");
		return 0;
	}
	m = before ? t >= f->threshold : t <= f->threshold;
	if (detail) {
		tp_format_time(t, tb, sizeof(tb));
		tp_format_time(f->threshold, th, sizeof(th));
		set_detail(c, detail, "%s %s %s %s", before ? "notBefore" : "notAfter",
			   tb, before ? (m ? ">=" : "<") : (m ? "<=" : ">"), th);
	}
	return m;
}

static int match_ku(struct ctx *c, const struct tp_filter *f, char **detail)
{
	unsigned int missing;

	get_ku(c);
	if (!c->ku_present) {
		set_detail(c, detail, "certificate has no keyUsage extension");
		return 0;
	}
	missing = f->ku_bits & ~c->ku;
	if (detail) {
		char names[256] = "";
		unsigned int show = missing ? missing : f->ku_bits;

		for (size_t i = 0; i < tp_ku_names_count; i++) {
			if (!(show & tp_ku_names[i].bit))
				continue;
			if (names[0])
				strcat(names, ",");
			strcat(names, tp_ku_names[i].name);
		}
		set_detail(c, detail, "keyUsage %s %s", missing ? "lacks" : "has",
			   names);
	}
	return missing == 0;
}

static int match_eku(struct ctx *c, const struct tp_filter *f, char **detail)
{
	get_eku(c);
	if (!c->eku_present) {
		set_detail(c, detail, "certificate has no extendedKeyUsage extension");
		return 0;
	}
	for (size_t i = 0; i < f->nekus; i++) {
		bool found = false;

		for (size_t j = 0; j < c->eku.n && !found; j++)
			found = strcmp(f->ekus[i], c->eku.v[j]) == 0;
		if (!found) {
			set_detail(c, detail, "extendedKeyUsage lacks %s", f->ekus[i]);
			return 0;
		}
	}
	set_detail(c, detail, "extendedKeyUsage has all %zu purpose(s) listed",
		   f->nekus);
	return 1;
}

static int run_filter(struct ctx *c, const struct tp_filter *f, char **detail)
{
	switch (f->type) {
	case TP_F_SIGALG:
		return match_text(c, f, "signatureAlgorithm", get_sigalg(c), detail);
	case TP_F_VERSION:
		return match_text(c, f, "version", get_version(c), detail);
	case TP_F_SERIAL:
		/* Both forms of a padded serial match: "8a1b..." and "008a1b...". */
		if (get_serial(c) && c->serial_der &&
		    !tp_cpattern_match(f->pattern, &f->cpat, c->serial,
				       strlen(c->serial)))
			return match_text(c, f, "serialNumber (as encoded)",
					  c->serial_der, detail);
		return match_text(c, f, "serialNumber", get_serial(c), detail);
	case TP_F_ISSUER:
		return match_text(c, f, "issuer", get_issuer(c), detail);
	case TP_F_SUBJECT:
		return match_text(c, f, "subject", get_subject(c), detail);
	case TP_F_NOTBEFORE:
	case TP_F_NOTAFTER:
		return match_time(c, f, detail);
	case TP_F_KEYUSAGE:
		return match_ku(c, f, detail);
	case TP_F_EKU:
		return match_eku(c, f, detail);
	case TP_F_FINGERPRINT:
		return match_fingerprint(c, f, detail);
	case TP_F_SELFSIGNED: {
		bool s = get_self_signed(c);

		set_detail(c, detail, "issuer %s subject (%sself-signed); want %s",
			   s ? "equals" : "differs from", s ? "" : "not ",
			   f->want ? "true" : "false");
		return s == f->want;
	}
	case TP_F_SAN_DNS:
		return match_san(c, f, SAN_DNS, "dns", detail);
	case TP_F_SAN_IP:
		return match_san(c, f, SAN_IP, "ip", detail);
	case TP_F_SAN_URI:
		return match_san(c, f, SAN_URI, "uri", detail);
	case TP_F_SAN_EMAIL:
		return match_san(c, f, SAN_EMAIL, "email", detail);
	case TP_F__COUNT:
		break;
	}
	return 0;
}

/* The filter's own result (before negation), computed at most once. */
static int filter_result(struct ctx *c, size_t idx)
{
	if (c->result[idx] < 0) {
		char **detail = c->explain ? &c->detail[idx] : NULL;

		c->result[idx] = (signed char)run_filter(c, &c->policy->filters[idx],
							 detail);
	}
	return c->result[idx];
}

static void ctx_free(struct ctx *c)
{
	free(c->sigalg);
	free(c->serial);
	free(c->serial_der);
	free(c->issuer);
	free(c->subject);
	strlist_free(&c->eku);
	for (int k = 0; k < SAN__COUNT; k++)
		strlist_free(&c->san[k]);
	if (c->detail)
		for (size_t i = 0; i < c->policy->nfilters; i++)
			free(c->detail[i]);
	free(c->detail);
	if (c->result != c->result_buf)
		free(c->result);
	if (c->crt && c->own_crt)
		gnutls_x509_crt_deinit(c->crt);
}

/* ---- results ------------------------------------------------------------- */

void tp_tags_free(struct tp_tags *tags)
{
	if (!tags)
		return;
	for (size_t i = 0; i < tags->count; i++)
		free(tags->names[i]);
	free(tags->names);
	tags->names = NULL;
	tags->count = 0;
}

void tp_explain_free(struct tp_explain *ex)
{
	if (!ex)
		return;
	for (size_t i = 0; i < ex->count; i++) {
		struct tp_explain_tag *t = &ex->tags[i];

		for (size_t j = 0; j < t->nfilters; j++) {
			free(t->filters[j].filter);
			free(t->filters[j].detail);
		}
		free(t->filters);
		free(t->tag);
	}
	free(ex->tags);
	ex->tags = NULL;
	ex->count = 0;
}

static int explain_tag(struct ctx *c, const struct tp_tag *t,
		       struct tp_explain_tag *et)
{
	et->tag = strdup(t->name);
	et->filters = calloc(t->nrefs + 1, sizeof(*et->filters));
	if (!et->tag || !et->filters)
		return -ENOMEM;
	for (size_t r = 0; r < t->nrefs; r++) {
		const struct tp_tagref *ref = &t->refs[r];
		struct tp_explain_filter *ef = &et->filters[et->nfilters++];
		const char *d = c->detail[ref->filter];

		ef->filter = strdup(c->policy->filters[ref->filter].name);
		ef->negated = ref->negated;
		ef->held = (c->result[ref->filter] == 1) != ref->negated;
		ef->detail = strdup(d ? d : "");
		if (!ef->filter || !ef->detail)
			return -ENOMEM;
	}
	return 0;
}

/* Evaluates with @c->crt set; frees the context. */
static int evaluate(struct ctx *c, struct tp_tags *tags,
		    struct tp_explain *explain)
{
	int ret = 0;

	/* Small policies keep their per-filter results on the stack. */
	c->result = c->policy->nfilters < sizeof(c->result_buf) ?
		    c->result_buf : malloc(c->policy->nfilters + 1);
	tags->names = calloc(c->policy->ntags + 1, sizeof(*tags->names));
	if (explain) {
		c->detail = calloc(c->policy->nfilters + 1, sizeof(*c->detail));
		explain->tags = calloc(c->policy->ntags + 1, sizeof(*explain->tags));
	}
	if (!c->result || !tags->names ||
	    (explain && (!c->detail || !explain->tags))) {
		ret = -ENOMEM;
		goto out;
	}
	memset(c->result, -1, c->policy->nfilters + 1);

	/* Tags are kept sorted and unique, so the output is too. */
	for (size_t i = 0; i < c->policy->ntags && !c->oom; i++) {
		const struct tp_tag *t = &c->policy->tags[i];
		/* A tag without filters (an empty list) fails closed. */
		bool assigned = t->nrefs > 0;

		for (size_t r = 0; r < t->nrefs && !c->oom; r++) {
			bool held = filter_result(c, t->refs[r].filter) !=
				    t->refs[r].negated;

			if (!held) {
				assigned = false;
				if (!explain)
					break;	/* all must hold: done */
			}
		}
		if (c->oom)
			break;
		if (explain) {
			struct tp_explain_tag *et = &explain->tags[explain->count++];

			et->assigned = assigned;
			if (explain_tag(c, t, et) < 0) {
				ret = -ENOMEM;
				goto out;
			}
		}
		if (assigned) {
			tags->names[tags->count] = strdup(t->name);
			if (!tags->names[tags->count]) {
				ret = -ENOMEM;
				goto out;
			}
			tags->count++;
		}
	}
	if (c->oom)
		ret = -ENOMEM;
out:
	ctx_free(c);
	if (ret) {
		tp_tags_free(tags);
		tp_explain_free(explain);
	}
	return ret;
}

static void clear_outputs(struct tp_tags *tags, struct tp_explain *explain)
{
	if (tags) {
		tags->names = NULL;
		tags->count = 0;
	}
	if (explain) {
		explain->tags = NULL;
		explain->count = 0;
	}
}

int tp_evaluate_der(const struct tp_policy *policy, const unsigned char *der,
		    size_t len, struct tp_tags *tags, struct tp_explain *explain)
{
	struct ctx c = { .policy = policy, .explain = explain != NULL,
			 .own_crt = true };
	gnutls_datum_t datum;

	clear_outputs(tags, explain);
	if (!policy || !tags || !der || len == 0 || len > UINT_MAX)
		return -EINVAL;

	if (gnutls_x509_crt_init(&c.crt) < 0)
		return -ENOMEM;
	datum.data = (unsigned char *)der;
	datum.size = (unsigned int)len;
	if (gnutls_x509_crt_import(c.crt, &datum, GNUTLS_X509_FMT_DER) < 0) {
		ctx_free(&c);
		return -EINVAL;
	}
	return evaluate(&c, tags, explain);
}

int tp_evaluate_crt(const struct tp_policy *policy, gnutls_x509_crt_t crt,
		    struct tp_tags *tags, struct tp_explain *explain)
{
	struct ctx c = { .policy = policy, .explain = explain != NULL,
			 .crt = crt };

	clear_outputs(tags, explain);
	if (!policy || !tags || !crt)
		return -EINVAL;
	return evaluate(&c, tags, explain);
}

/* ---- the uncached baseline (benchmark only) ------------------------------ */

/* One filter on a freshly imported certificate: 1, 0, or negative errno. */
static int fresh_filter(const struct tp_policy *policy, size_t idx,
			const unsigned char *der, size_t len)
{
	struct ctx c = { .policy = policy, .own_crt = true };
	gnutls_datum_t datum = { (unsigned char *)der, (unsigned int)len };
	int r;

	if (gnutls_x509_crt_init(&c.crt) < 0)
		return -ENOMEM;
	if (gnutls_x509_crt_import(c.crt, &datum, GNUTLS_X509_FMT_DER) < 0) {
		ctx_free(&c);
		return -EINVAL;
	}
	r = run_filter(&c, &policy->filters[idx], NULL);
	if (c.oom)
		r = -ENOMEM;
	ctx_free(&c);
	return r;
}

int tp_baseline_evaluate_der(const struct tp_policy *policy,
			     const unsigned char *der, size_t len,
			     struct tp_tags *tags)
{
	tags->names = NULL;
	tags->count = 0;
	if (!policy || !der || len == 0 || len > UINT_MAX)
		return -EINVAL;
	tags->names = calloc(policy->ntags + 1, sizeof(*tags->names));
	if (!tags->names)
		return -ENOMEM;
	for (size_t i = 0; i < policy->ntags; i++) {
		const struct tp_tag *t = &policy->tags[i];
		bool assigned = t->nrefs > 0;

		for (size_t r = 0; r < t->nrefs && assigned; r++) {
			int res = fresh_filter(policy, t->refs[r].filter, der, len);

			if (res < 0) {
				tp_tags_free(tags);
				return res;
			}
			assigned = (res == 1) != t->refs[r].negated;
		}
		if (assigned) {
			tags->names[tags->count] = strdup(t->name);
			if (!tags->names[tags->count]) {
				tp_tags_free(tags);
				return -ENOMEM;
			}
			tags->count++;
		}
	}
	return 0;
}
