// SPDX-License-Identifier: GPL-2.0-only
/*
 * Loading tags.d policy files with libyaml's document API.
 *
 * Every file of a load is parsed in turn into one "loader". Filters and
 * tags are collected with the file and line they came from; names are
 * checked for uniqueness and tag references resolved only once every
 * file has been read, since a tag may name a filter from another file.
 * Every problem found becomes one tp_error; any error means no policy.
 */
#define _GNU_SOURCE
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <stdarg.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <sys/stat.h>
#include <unistd.h>

#include <yaml.h>

#include "tp_internal.h"

/* Refuse policy files larger than this (a sanity bound, not a format rule). */
#define TP_MAX_FILE_SIZE (16u << 20)

const struct tp_ftype_info tp_ftypes[TP_F__COUNT] = {
	[TP_F_SIGALG]	   = { "x509.cert.signatureAlgorithm", TP_ARG_PATTERN, true },
	[TP_F_VERSION]	   = { "x509.tbs.version", TP_ARG_PATTERN, true },
	[TP_F_SERIAL]	   = { "x509.tbs.serialNumber", TP_ARG_PATTERN, true },
	[TP_F_ISSUER]	   = { "x509.tbs.issuer", TP_ARG_PATTERN, true },
	[TP_F_SUBJECT]	   = { "x509.tbs.subject", TP_ARG_PATTERN, true },
	[TP_F_NOTBEFORE]   = { "x509.tbs.validity.notBefore", TP_ARG_TIME, true },
	[TP_F_NOTAFTER]	   = { "x509.tbs.validity.notAfter", TP_ARG_TIME, true },
	[TP_F_KEYUSAGE]	   = { "x509.extension.keyUsage", TP_ARG_PURPOSE, true },
	[TP_F_EKU]	   = { "x509.extension.extendedKeyUsage", TP_ARG_PURPOSE, false },
	[TP_F_FINGERPRINT] = { "x509.derived.fingerprint", TP_ARG_PATTERN, true },
	[TP_F_SELFSIGNED]  = { "x509.derived.selfSigned", TP_ARG_OPTBOOL, true },
	[TP_F_SAN_DNS]	   = { "x509.extension.subjectAltName.dns", TP_ARG_PATTERN, false },
	[TP_F_SAN_IP]	   = { "x509.extension.subjectAltName.ip", TP_ARG_PATTERN, false },
	[TP_F_SAN_URI]	   = { "x509.extension.subjectAltName.uri", TP_ARG_PATTERN, false },
	[TP_F_SAN_EMAIL]   = { "x509.extension.subjectAltName.email", TP_ARG_PATTERN, false },
};

/* An error before sorting: keeps the file's load order for the sort. */
struct lerr {
	size_t		file;
	unsigned int	line;
	size_t		seq;
	enum tp_kind	kind;
	char		*msg;
};

struct lref {
	char		*name;
	bool		negated;
	unsigned int	line;
};

struct ltag {
	char		*name;
	size_t		file;
	unsigned int	line;
	struct lref	*refs;
	size_t		nrefs;
};

struct lfilter {
	struct tp_filter f;
	size_t		file;
};

struct loader {
	char		**files;	/* names used in messages */
	size_t		nfiles;
	struct lerr	*errs;		/* every diagnostic */
	size_t		nerrs;
	size_t		nfatal;		/* how many of them are TP_ERROR */
	struct lfilter	*filters;
	size_t		nfilters;
	struct ltag	*tags;
	size_t		ntags;
	int		io_err;		/* first negative errno of an I/O error */
	bool		oom;
	/* Per-file state while walking one stream. */
	size_t		cur;
	const char	*buf;
	size_t		len;
};

/* ---- small helpers ---------------------------------------------------- */

static bool grow(void **arr, size_t n, size_t elem)
{
	/* Grows to hold n+1 elements, doubling at powers of two. */
	if (n & (n - 1))
		return true;
	size_t cap = n ? n * 2 : 1;
	void *p;

	if (cap > SIZE_MAX / elem)
		return false;
	p = realloc(*arr, cap * elem);
	if (!p)
		return false;
	*arr = p;
	return true;
}

/*
 * Quotes untrusted text for a message: at most 64 bytes, non-printable
 * bytes as \xNN, so a hostile file cannot put control characters on the
 * administrator's terminal.
 */
static void quote(const char *s, size_t len, char *out, size_t size)
{
	size_t o = 0;

	for (size_t i = 0; i < len && o + 8 < size; i++) {
		unsigned char c = (unsigned char)s[i];

		if (i == 64) {
			memcpy(out + o, "...", 3);
			o += 3;
			break;
		}
		if (c < 0x20 || c == 0x7f || c == '\\')
			o += (size_t)snprintf(out + o, size - o, "\\x%02x", c);
		else
			out[o++] = (char)c;
	}
	out[o] = '\0';
}

#define Q_SIZE 300

static void lreport(struct loader *ld, enum tp_kind kind, size_t file,
		    unsigned int line, const char *fmt, va_list ap)
{
	char *msg;

	if (vasprintf(&msg, fmt, ap) < 0) {
		ld->oom = true;
		return;
	}
	if (!grow((void **)&ld->errs, ld->nerrs, sizeof(*ld->errs))) {
		free(msg);
		ld->oom = true;
		return;
	}
	ld->errs[ld->nerrs] = (struct lerr){ file, line, ld->nerrs, kind, msg };
	ld->nerrs++;
	if (kind == TP_ERROR)
		ld->nfatal++;
}

#define LREPORT_FN(fn, kind)						\
static void fn(struct loader *ld, size_t file, unsigned int line,	\
	       const char *fmt, ...) __attribute__((format(printf, 4, 5))); \
static void fn(struct loader *ld, size_t file, unsigned int line,	\
	       const char *fmt, ...)					\
{									\
	va_list ap;							\
									\
	va_start(ap, fmt);						\
	lreport(ld, kind, file, line, fmt, ap);				\
	va_end(ap);							\
}

/* The policy does not load. */
LREPORT_FN(lerror, TP_ERROR)
/* It loads, but something the administrator wrote has no effect. */
LREPORT_FN(lwarn, TP_WARNING)
/* It loads, and tlshd would decide this case differently. */
LREPORT_FN(ltlshd, TP_TLSHD)

static unsigned int node_line(const yaml_node_t *n)
{
	return (unsigned int)n->start_mark.line + 1;
}

static bool is_scalar(const yaml_node_t *n)
{
	return n && n->type == YAML_SCALAR_NODE;
}

static const char *sval(const yaml_node_t *n)
{
	return (const char *)n->data.scalar.value;
}

static size_t slen(const yaml_node_t *n)
{
	return n->data.scalar.length;
}

/* A scalar holding a NUL byte cannot be a name, pattern or purpose. */
static bool has_nul(const yaml_node_t *n)
{
	return memchr(sval(n), '\0', slen(n)) != NULL;
}

static bool is_null(const yaml_node_t *n)
{
	static const char *const nulls[] = { "", "~", "null", "Null", "NULL" };

	if (!is_scalar(n) || n->data.scalar.style != YAML_PLAIN_SCALAR_STYLE)
		return false;
	for (size_t i = 0; i < sizeof(nulls) / sizeof(nulls[0]); i++)
		if (strcmp(sval(n), nulls[i]) == 0)
			return true;
	return false;
}

static char *xstrdup(struct loader *ld, const char *s)
{
	char *d = strdup(s);

	if (!d)
		ld->oom = true;
	return d;
}

/* ---- filters ---------------------------------------------------------- */

static void filter_clear(struct tp_filter *f)
{
	free(f->name);
	free(f->pattern);
	free(f->arg_text);
	for (size_t i = 0; i < f->nekus; i++)
		free(f->ekus[i]);
	free(f->ekus);
	free(f->file);
	memset(f, 0, sizeof(*f));
}

static int lookup_type(const char *name)
{
	for (int i = 0; i < TP_F__COUNT; i++)
		if (strcmp(tp_ftypes[i].name, name) == 0)
			return i;
	return -1;
}

/* Parses the purpose: list of a keyUsage or extendedKeyUsage filter. */
static bool load_purpose(struct loader *ld, yaml_document_t *doc,
			 yaml_node_t *seq, struct tp_filter *f, const char *qn)
{
	bool ok = true;
	char q[Q_SIZE];

	if (seq->type != YAML_SEQUENCE_NODE) {
		lerror(ld, ld->cur, node_line(seq),
		       "purpose of filter '%s' is not a sequence", qn);
		return false;
	}
	if (seq->data.sequence.items.top == seq->data.sequence.items.start) {
		lerror(ld, ld->cur, node_line(seq),
		       "purpose of filter '%s' is an empty list", qn);
		return false;
	}
	for (yaml_node_item_t *it = seq->data.sequence.items.start;
	     it < seq->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(doc, *it);

		if (!is_scalar(item) || has_nul(item)) {
			lerror(ld, ld->cur, item ? node_line(item) : node_line(seq),
			       "purpose item of filter '%s' is not a string", qn);
			ok = false;
			continue;
		}
		quote(sval(item), slen(item), q, sizeof(q));
		if (f->type == TP_F_KEYUSAGE) {
			size_t k;

			for (k = 0; k < tp_ku_names_count; k++)
				if (strcmp(tp_ku_names[k].name, sval(item)) == 0)
					break;
			if (k == tp_ku_names_count) {
				lerror(ld, ld->cur, node_line(item),
				       "unknown keyUsage purpose bit '%s' in filter '%s'",
				       q, qn);
				ok = false;
				continue;
			}
			f->ku_bits |= tp_ku_names[k].bit;
		} else {
			const char *oid = tp_eku_name_to_oid(sval(item));
			char *dup;

			if (!oid && tp_oid_valid(sval(item)))
				oid = sval(item);
			if (!oid) {
				lerror(ld, ld->cur, node_line(item),
				       "unknown extendedKeyUsage purpose '%s' in filter '%s' (want a dotted OID or serverAuth, clientAuth, codeSigning, emailProtection, timeStamping, OCSPSigning)",
				       q, qn);
				ok = false;
				continue;
			}
			if (!grow((void **)&f->ekus, f->nekus, sizeof(*f->ekus)) ||
			    !(dup = strdup(oid))) {
				ld->oom = true;
				return false;
			}
			f->ekus[f->nekus++] = dup;
		}
	}
	return ok;
}

/* The nodes of a filter's mapping. */
struct filter_nodes {
	yaml_node_t	*type;
	yaml_node_t	*pattern;
	yaml_node_t	*purpose;
};

/* The keys of filter @qn's mapping @val into @n; others are errors. */
static void filter_keys(struct loader *ld, yaml_document_t *doc,
			yaml_node_t *val, const char *qn,
			struct filter_nodes *n)
{
	char q[Q_SIZE];

	for (yaml_node_pair_t *p = val->data.mapping.pairs.start;
	     p < val->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);
		yaml_node_t **slot;

		if (!is_scalar(k)) {
			lerror(ld, ld->cur, k ? node_line(k) : node_line(val),
			       "key in filter '%s' is not a string", qn);
			continue;
		}
		if (strcmp(sval(k), "type") == 0)
			slot = &n->type;
		else if (strcmp(sval(k), "pattern") == 0)
			slot = &n->pattern;
		else if (strcmp(sval(k), "purpose") == 0)
			slot = &n->purpose;
		else {
			quote(sval(k), slen(k), q, sizeof(q));
			lerror(ld, ld->cur, node_line(k),
			       "unknown key '%s' in filter '%s'", q, qn);
			continue;
		}
		if (*slot) {
			lerror(ld, ld->cur, node_line(k),
			       "duplicate key '%s' in filter '%s'", sval(k), qn);
			continue;
		}
		*slot = v;
	}
}

/* Lowers the letters of @s; true when there were upper-case ones. */
static bool lower_hex(char *s)
{
	bool upper = false;

	for (; *s; s++) {
		if (*s >= 'A' && *s <= 'Z') {
			*s = (char)(*s - 'A' + 'a');
			upper = true;
		}
	}
	return upper;
}

/*
 * tlshd reads a threshold as local time, and its code compares validity
 * times the other way round from its manual (which this library follows).
 */
static void time_notes(struct loader *ld, yaml_node_t *pattern,
		       const char *qn, const struct tp_filter *f)
{
	bool before = f->type == TP_F_NOTBEFORE;
	struct tm local;

	ltlshd(ld, ld->cur, node_line(pattern),
	       "tlshd's code compares %s the other way round from its manual: there filter '%s' holds for certificates %s at or %s the threshold; here, as the manual says, for those %s at or %s it",
	       before ? "notBefore" : "notAfter", qn,
	       before ? "issued" : "expiring", before ? "before" : "after",
	       before ? "issued" : "expiring", before ? "after" : "before");
	if (localtime_r(&f->threshold, &local) && local.tm_gmtoff != 0) {
		long off = local.tm_gmtoff;

		ltlshd(ld, ld->cur, node_line(pattern),
		       "tlshd reads the time of filter '%s' in this machine's time zone (UTC%c%02ld:%02ld), not in UTC",
		       qn, off < 0 ? '-' : '+', labs(off) / 3600,
		       labs(off) % 3600 / 60);
	}
}

/* The pattern: of filter @qn, of type @tn taking @arg, into @f. */
static void filter_pattern(struct loader *ld, yaml_node_t *pattern,
			   enum tp_arg arg, const char *tn, const char *qn,
			   struct tp_filter *f)
{
	char q[Q_SIZE];

	quote(sval(pattern), slen(pattern), q, sizeof(q));
	f->arg_text = xstrdup(ld, sval(pattern));
	if (!f->arg_text)
		return;

	switch (arg) {
	case TP_ARG_TIME:
		if (!tp_parse_time(sval(pattern), &f->threshold)) {
			lerror(ld, ld->cur, node_line(pattern),
			       "bad time '%s' in filter '%s' (want YYYY-MM-DD HH:MM:SS in UTC; a zone suffix other than Z or UTC, or a date that does not exist, is refused)",
			       q, qn);
			break;
		}
		time_notes(ld, pattern, qn, f);
		break;
	case TP_ARG_OPTBOOL:
		if (strcmp(sval(pattern), "true") == 0) {
			f->want = true;
		} else if (strcmp(sval(pattern), "false") == 0) {
			f->want = false;
			ltlshd(ld, ld->cur, node_line(pattern),
			       "tlshd ignores the pattern of %s: there filter '%s' holds for self-signed certificates, here for the others",
			       tn, qn);
		} else {
			lerror(ld, ld->cur, node_line(pattern),
			       "pattern of filter '%s' must be \"true\" or \"false\" for type %s",
			       qn, tn);
		}
		break;
	case TP_ARG_PATTERN: {
		size_t w = tp_pattern_wildcards(sval(pattern));

		if (w > TP_MAX_WILDCARDS) {
			lerror(ld, ld->cur, node_line(pattern),
			       "too many wildcards in pattern of filter '%s' (%zu, at most %d)",
			       qn, w, TP_MAX_WILDCARDS);
			break;
		}
		f->pattern = xstrdup(ld, sval(pattern));
		/* Serials and fingerprints are hex: compare in lowercase. */
		if (f->pattern && (f->type == TP_F_SERIAL ||
				   f->type == TP_F_FINGERPRINT) &&
		    lower_hex(f->pattern))
			ltlshd(ld, ld->cur, node_line(pattern),
			       "pattern of filter '%s' has upper-case letters: tlshd compares %s case-sensitively in lower case, so there it never holds",
			       qn, tn);
		if (f->pattern)
			tp_pattern_compile(f->pattern, &f->cpat);
		break;
	}
	case TP_ARG_PURPOSE:
		break;
	}
}

/* The type: of filter @qn (mapping @val) and its argument, into @f. */
static void filter_body(struct loader *ld, yaml_document_t *doc,
			yaml_node_t *val, const struct filter_nodes *n,
			const char *qn, struct tp_filter *f)
{
	char q[Q_SIZE];
	const char *tn;
	enum tp_arg arg;
	int t;

	if (!n->type) {
		lerror(ld, ld->cur, node_line(val), "filter '%s' has no type", qn);
		return;
	}
	if (!is_scalar(n->type) || has_nul(n->type)) {
		lerror(ld, ld->cur, node_line(n->type),
		       "type of filter '%s' is not a string", qn);
		return;
	}
	t = lookup_type(sval(n->type));
	if (t < 0) {
		quote(sval(n->type), slen(n->type), q, sizeof(q));
		lerror(ld, ld->cur, node_line(n->type),
		       "unknown filter type '%s' for filter '%s'", q, qn);
		return;
	}
	f->type = (enum tp_ftype)t;
	tn = tp_ftypes[t].name;
	arg = tp_ftypes[t].arg;
	if (!tp_ftypes[t].tlshd)
		ltlshd(ld, ld->cur, node_line(n->type),
		       "tlshd does not know type %s: it stops reading this file at filter '%s', and the filters and tags after it are not defined there",
		       tn, qn);

	/*
	 * The argument a type does not take is ignored, with a warning,
	 * as tlshd ignores it (selfSigned's pattern: is this library's).
	 */
	if (arg == TP_ARG_PURPOSE) {
		if (n->pattern) {
			lwarn(ld, ld->cur, node_line(n->pattern),
			      "filter '%s': type %s takes purpose:, its pattern: is ignored",
			      qn, tn);
		}
		if (!n->purpose)
			lerror(ld, ld->cur, node_line(val),
			       "filter '%s' (type %s) has no purpose list", qn, tn);
		else
			load_purpose(ld, doc, n->purpose, f, qn);
		return;
	}

	/* Every other type takes a pattern: (optional for selfSigned). */
	if (n->purpose) {
		lwarn(ld, ld->cur, node_line(n->purpose),
		      "filter '%s': type %s takes pattern:, its purpose: is ignored",
		      qn, tn);
	}
	if (!n->pattern) {
		if (arg == TP_ARG_OPTBOOL) {
			f->want = true;
			return;
		}
		lerror(ld, ld->cur, node_line(val),
		       "filter '%s' (type %s) has no pattern", qn, tn);
		return;
	}
	if (!is_scalar(n->pattern) || has_nul(n->pattern)) {
		lerror(ld, ld->cur, node_line(n->pattern),
		       "pattern of filter '%s' is not a string", qn);
		return;
	}
	filter_pattern(ld, n->pattern, arg, tn, qn, f);
}

static void load_filter(struct loader *ld, yaml_document_t *doc,
			yaml_node_t *key, yaml_node_t *val)
{
	struct filter_nodes n = { 0 };
	struct tp_filter f = { 0 };
	char qn[Q_SIZE];

	quote(sval(key), slen(key), qn, sizeof(qn));
	if (has_nul(key) || !tp_name_valid(sval(key))) {
		lerror(ld, ld->cur, node_line(key),
		       "invalid filter name '%s' (want [A-Za-z0-9_-], 1 to %d characters)",
		       qn, TP_NAME_MAX);
		return;
	}
	if (val->type != YAML_MAPPING_NODE) {
		lerror(ld, ld->cur, node_line(val),
		       "filter '%s' is not a mapping", qn);
	} else {
		filter_keys(ld, doc, val, qn, &n);
		filter_body(ld, doc, val, &n, qn, &f);
	}

	/*
	 * A broken filter is still recorded so that tags naming it do not
	 * also report "unknown filter"; the load fails anyway.
	 */
	f.name = xstrdup(ld, sval(key));
	f.file = xstrdup(ld, ld->files[ld->cur]);
	f.line = node_line(key);
	if (ld->oom ||
	    !grow((void **)&ld->filters, ld->nfilters, sizeof(*ld->filters))) {
		ld->oom = true;
		filter_clear(&f);
		return;
	}
	ld->filters[ld->nfilters].f = f;
	ld->filters[ld->nfilters].file = ld->cur;
	ld->nfilters++;
}

/* ---- tags ------------------------------------------------------------- */

static void ltag_clear(struct ltag *t)
{
	for (size_t i = 0; i < t->nrefs; i++)
		free(t->refs[i].name);
	free(t->refs);
	free(t->name);
	memset(t, 0, sizeof(*t));
}

static void load_tag(struct loader *ld, yaml_document_t *doc,
		     yaml_node_t *key, yaml_node_t *val)
{
	struct ltag t = { 0 };
	yaml_node_t *list = NULL;
	char qn[Q_SIZE], q[Q_SIZE];

	quote(sval(key), slen(key), qn, sizeof(qn));
	if (has_nul(key) || !tp_name_valid(sval(key))) {
		lerror(ld, ld->cur, node_line(key),
		       "invalid tag name '%s' (want [A-Za-z0-9_-], 1 to %d characters)",
		       qn, TP_NAME_MAX);
		return;
	}
	t.file = ld->cur;
	t.line = node_line(key);

	if (val->type != YAML_MAPPING_NODE) {
		lerror(ld, ld->cur, node_line(val), "tag '%s' is not a mapping", qn);
		goto add;
	}
	for (yaml_node_pair_t *p = val->data.mapping.pairs.start;
	     p < val->data.mapping.pairs.top; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);

		if (!is_scalar(k)) {
			lerror(ld, ld->cur, k ? node_line(k) : node_line(val),
			       "key in tag '%s' is not a string", qn);
			continue;
		}
		if (strcmp(sval(k), "filter") != 0) {
			quote(sval(k), slen(k), q, sizeof(q));
			lerror(ld, ld->cur, node_line(k),
			       "unknown key '%s' in tag '%s'", q, qn);
			continue;
		}
		if (list) {
			lerror(ld, ld->cur, node_line(k),
			       "duplicate key 'filter' in tag '%s'", qn);
			continue;
		}
		list = v;
	}
	if (!list) {
		lerror(ld, ld->cur, node_line(val),
		       "tag '%s' has no filter list", qn);
		goto add;
	}
	/*
	 * An empty list loads, as in tlshd, but fails closed: tlshd gives
	 * such a tag to every certificate, this library to none.
	 */
	if (is_null(list) ||
	    (list->type == YAML_SEQUENCE_NODE &&
	     list->data.sequence.items.top == list->data.sequence.items.start)) {
		lwarn(ld, ld->cur, node_line(list),
		      "tag '%s' has an empty filter list: no certificate earns it (tlshd gives it to every certificate)",
		      qn);
		goto add;
	}
	if (list->type != YAML_SEQUENCE_NODE) {
		lerror(ld, ld->cur, node_line(list),
		       "filter list of tag '%s' is not a sequence", qn);
		goto add;
	}
	for (yaml_node_item_t *it = list->data.sequence.items.start;
	     it < list->data.sequence.items.top; it++) {
		yaml_node_t *item = yaml_document_get_node(doc, *it);
		const char *ref;
		bool neg = false;
		char *dup;

		if (!is_scalar(item) || has_nul(item)) {
			lerror(ld, ld->cur, item ? node_line(item) : node_line(list),
			       "filter reference in tag '%s' is not a string", qn);
			continue;
		}
		ref = sval(item);
		if (strncmp(ref, "not", 3) == 0 && (ref[3] == ' ' || ref[3] == '\t')) {
			neg = true;
			ref += 3;
			while (*ref == ' ' || *ref == '\t')
				ref++;
		}
		if (!tp_name_valid(ref)) {
			quote(sval(item), slen(item), q, sizeof(q));
			lerror(ld, ld->cur, node_line(item),
			       "invalid filter reference '%s' in tag '%s'", q, qn);
			continue;
		}
		if (!grow((void **)&t.refs, t.nrefs, sizeof(*t.refs)) ||
		    !(dup = strdup(ref))) {
			ld->oom = true;
			goto add;
		}
		t.refs[t.nrefs++] = (struct lref){ dup, neg, node_line(item) };
	}

add:
	t.name = xstrdup(ld, sval(key));
	if (ld->oom ||
	    !grow((void **)&ld->tags, ld->ntags, sizeof(*ld->tags))) {
		ld->oom = true;
		ltag_clear(&t);
		return;
	}
	ld->tags[ld->ntags++] = t;
}

/* ---- documents and streams -------------------------------------------- */

typedef void (*entry_fn)(struct loader *, yaml_document_t *, yaml_node_t *,
			 yaml_node_t *);

static void load_section(struct loader *ld, yaml_document_t *doc,
			 const char *section, yaml_node_t *val, entry_fn fn)
{
	if (is_null(val))
		return;		/* "filters:" with nothing under it */
	if (val->type != YAML_MAPPING_NODE) {
		lerror(ld, ld->cur, node_line(val),
		       "'%s' section is not a mapping", section);
		return;
	}
	for (yaml_node_pair_t *p = val->data.mapping.pairs.start;
	     p < val->data.mapping.pairs.top && !ld->oom; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);

		if (!is_scalar(k) || !v) {
			lerror(ld, ld->cur, k ? node_line(k) : node_line(val),
			       "key in '%s' section is not a string", section);
			continue;
		}
		fn(ld, doc, k, v);
	}
}

static void load_document(struct loader *ld, yaml_document_t *doc,
			  yaml_node_t *root)
{
	char q[Q_SIZE];

	if (is_null(root))
		return;		/* an empty document */
	if (root->type != YAML_MAPPING_NODE) {
		lerror(ld, ld->cur, node_line(root),
		       "document is not a mapping (want filters: and tags:)");
		return;
	}
	for (yaml_node_pair_t *p = root->data.mapping.pairs.start;
	     p < root->data.mapping.pairs.top && !ld->oom; p++) {
		yaml_node_t *k = yaml_document_get_node(doc, p->key);
		yaml_node_t *v = yaml_document_get_node(doc, p->value);

		if (!is_scalar(k) || !v) {
			lerror(ld, ld->cur, k ? node_line(k) : node_line(root),
			       "top-level key is not a string");
			continue;
		}
		if (strcmp(sval(k), "filters") == 0) {
			load_section(ld, doc, "filters", v, load_filter);
		} else if (strcmp(sval(k), "tags") == 0) {
			load_section(ld, doc, "tags", v, load_tag);
		} else {
			quote(sval(k), slen(k), q, sizeof(q));
			lerror(ld, ld->cur, node_line(k),
			       "unknown top-level key '%s' (want filters: or tags:)",
			       q);
		}
	}
}

static unsigned int offset_line(const char *buf, size_t len, size_t off)
{
	unsigned int line = 1;

	if (off > len)
		off = len;
	for (size_t i = 0; i < off; i++)
		if (buf[i] == '\n')
			line++;
	return line;
}

static void load_stream(struct loader *ld, const char *buf, size_t len)
{
	yaml_parser_t parser;

	if (!yaml_parser_initialize(&parser)) {
		ld->oom = true;
		return;
	}
	yaml_parser_set_input_string(&parser, (const unsigned char *)buf, len);
	ld->buf = buf;
	ld->len = len;

	while (!ld->oom) {
		yaml_document_t doc;
		yaml_node_t *root;

		if (!yaml_parser_load(&parser, &doc)) {
			unsigned int line;

			if (parser.error == YAML_MEMORY_ERROR) {
				ld->oom = true;
				break;
			}
			if (parser.error == YAML_READER_ERROR)
				line = offset_line(buf, len, parser.problem_offset);
			else
				line = (unsigned int)parser.problem_mark.line + 1;
			lerror(ld, ld->cur, line, "YAML syntax error: %s%s%s",
			       parser.problem ? parser.problem : "unknown problem",
			       parser.context ? " " : "",
			       parser.context ? parser.context : "");
			break;
		}
		root = yaml_document_get_root_node(&doc);
		if (!root) {
			yaml_document_delete(&doc);
			break;		/* end of the stream */
		}
		load_document(ld, &doc, root);
		yaml_document_delete(&doc);
	}
	yaml_parser_delete(&parser);
}

static bool add_file(struct loader *ld, const char *name)
{
	char *dup = strdup(name);

	if (!dup || !grow((void **)&ld->files, ld->nfiles, sizeof(*ld->files))) {
		free(dup);
		ld->oom = true;
		return false;
	}
	ld->files[ld->nfiles] = dup;
	ld->cur = ld->nfiles++;
	return true;
}

static void io_error(struct loader *ld, int err, const char *what)
{
	if (!ld->io_err)
		ld->io_err = -err;
	lerror(ld, ld->cur, 0, "cannot read %s: %s", what, strerror(err));
}

static void load_path(struct loader *ld, const char *path)
{
	struct stat st;
	char *buf = NULL;
	size_t got = 0;
	int fd;

	if (!add_file(ld, path))
		return;
	/* O_NONBLOCK: a FIFO named like a policy file must not hang us. */
	fd = open(path, O_RDONLY | O_CLOEXEC | O_NOCTTY | O_NONBLOCK);
	if (fd < 0) {
		io_error(ld, errno, "file");
		return;
	}
	if (fstat(fd, &st) < 0) {
		io_error(ld, errno, "file");
		goto out;
	}
	if (S_ISDIR(st.st_mode)) {
		io_error(ld, EISDIR, "file");
		goto out;
	}
	if (!S_ISREG(st.st_mode)) {
		if (!ld->io_err)
			ld->io_err = -EINVAL;
		lerror(ld, ld->cur, 0, "cannot read file: not a regular file");
		goto out;
	}
	if ((unsigned long long)st.st_size > TP_MAX_FILE_SIZE) {
		io_error(ld, EFBIG, "file");
		goto out;
	}
	buf = malloc((size_t)st.st_size + 1);
	if (!buf) {
		ld->oom = true;
		goto out;
	}
	while (got < (size_t)st.st_size) {
		ssize_t r = read(fd, buf + got, (size_t)st.st_size - got);

		if (r < 0 && errno == EINTR)
			continue;
		if (r < 0) {
			io_error(ld, errno, "file");
			goto out;
		}
		if (r == 0)
			break;	/* the file shrank: parse what is there */
		got += (size_t)r;
	}
	load_stream(ld, buf, got);
out:
	free(buf);
	close(fd);
}

/* ---- finishing -------------------------------------------------------- */

static int cmp_err(const void *a, const void *b)
{
	const struct lerr *x = a, *y = b;

	if (x->file != y->file)
		return x->file < y->file ? -1 : 1;
	if (x->line != y->line)
		return x->line < y->line ? -1 : 1;
	return x->seq < y->seq ? -1 : x->seq > y->seq;
}

static int cmp_filter_idx(const void *a, const void *b, void *arg)
{
	const struct loader *ld = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(ld->filters[x].f.name, ld->filters[y].f.name);

	return c ? c : (x < y ? -1 : x > y);
}

static int cmp_tag_idx(const void *a, const void *b, void *arg)
{
	const struct loader *ld = arg;
	size_t x = *(const size_t *)a, y = *(const size_t *)b;
	int c = strcmp(ld->tags[x].name, ld->tags[y].name);

	return c ? c : (x < y ? -1 : x > y);
}

static int cmp_filter_name(const void *key, const void *elem)
{
	return strcmp(key, ((const struct tp_filter *)elem)->name);
}

void tp_policy_free(struct tp_policy *p)
{
	if (!p)
		return;
	for (size_t i = 0; i < p->nfilters; i++)
		filter_clear(&p->filters[i]);
	free(p->filters);
	for (size_t i = 0; i < p->ntags; i++) {
		free(p->tags[i].name);
		free(p->tags[i].refs);
	}
	free(p->tags);
	free(p);
}

/*
 * Checks names, resolves references and builds the policy. Ownership of
 * filters and tag names moves from the loader to the policy.
 */
static struct tp_policy *build(struct loader *ld)
{
	struct tp_policy *p = calloc(1, sizeof(*p));
	size_t *fi = NULL, *ti = NULL;

	if (!p)
		goto oom;
	fi = calloc(ld->nfilters + 1, sizeof(*fi));
	ti = calloc(ld->ntags + 1, sizeof(*ti));
	p->filters = calloc(ld->nfilters + 1, sizeof(*p->filters));
	p->tags = calloc(ld->ntags + 1, sizeof(*p->tags));
	if (!fi || !ti || !p->filters || !p->tags)
		goto oom;

	for (size_t i = 0; i < ld->nfilters; i++)
		fi[i] = i;
	qsort_r(fi, ld->nfilters, sizeof(*fi), cmp_filter_idx, ld);
	for (size_t i = 0; i < ld->nfilters; i++) {
		struct lfilter *lf = &ld->filters[fi[i]];

		if (p->nfilters &&
		    strcmp(p->filters[p->nfilters - 1].name, lf->f.name) == 0) {
			struct tp_filter *first = &p->filters[p->nfilters - 1];

			lerror(ld, lf->file, lf->f.line,
			       "duplicate filter name '%s' (first defined at %s:%u)",
			       lf->f.name, first->file, first->line);
			continue;
		}
		p->filters[p->nfilters++] = lf->f;
		memset(&lf->f, 0, sizeof(lf->f));
	}

	for (size_t i = 0; i < ld->ntags; i++)
		ti[i] = i;
	qsort_r(ti, ld->ntags, sizeof(*ti), cmp_tag_idx, ld);
	size_t first_file = 0;
	unsigned int first_line = 0;
	/* The previous name, kept or not (an empty list is not kept). */
	const char *prev = NULL;

	for (size_t i = 0; i < ld->ntags; i++) {
		struct ltag *lt = &ld->tags[ti[i]];
		struct tp_tag *t;

		if (prev && strcmp(prev, lt->name) == 0) {
			/* ti is sorted by (name, order): the kept one came first. */
			lerror(ld, lt->file, lt->line,
			       "duplicate tag name '%s' (first defined at %s:%u)",
			       lt->name, ld->files[first_file], first_line);
			/* Its references may be wrong too: say so as well. */
			for (size_t r = 0; r < lt->nrefs; r++)
				if (!bsearch(lt->refs[r].name, p->filters, p->nfilters,
					     sizeof(*p->filters), cmp_filter_name))
					lerror(ld, lt->file, lt->refs[r].line,
					       "tag '%s' references unknown filter '%s'",
					       lt->name, lt->refs[r].name);
			continue;
		}
		first_file = lt->file;
		first_line = lt->line;
		prev = lt->name;
		/*
		 * A tag with an empty list (warned about) is not defined at
		 * all, so not even a forged report can carry it.
		 */
		if (lt->nrefs == 0 && !ld->nfatal)
			continue;
		t = &p->tags[p->ntags];
		t->refs = calloc(lt->nrefs + 1, sizeof(*t->refs));
		if (!t->refs)
			goto oom;
		t->name = lt->name;
		lt->name = NULL;
		p->ntags++;
		for (size_t r = 0; r < lt->nrefs; r++) {
			struct tp_filter *f = bsearch(lt->refs[r].name, p->filters,
						      p->nfilters,
						      sizeof(*p->filters),
						      cmp_filter_name);
			if (!f) {
				lerror(ld, lt->file, lt->refs[r].line,
				       "tag '%s' references unknown filter '%s'",
				       t->name, lt->refs[r].name);
				continue;
			}
			t->refs[t->nrefs].filter = (size_t)(f - p->filters);
			t->refs[t->nrefs].negated = lt->refs[r].negated;
			t->nrefs++;
		}
	}
	free(fi);
	free(ti);
	return p;
oom:
	ld->oom = true;
	free(fi);
	free(ti);
	tp_policy_free(p);
	return NULL;
}

static void loader_free(struct loader *ld)
{
	for (size_t i = 0; i < ld->nfilters; i++)
		filter_clear(&ld->filters[i].f);
	free(ld->filters);
	for (size_t i = 0; i < ld->ntags; i++)
		ltag_clear(&ld->tags[i]);
	free(ld->tags);
	for (size_t i = 0; i < ld->nerrs; i++)
		free(ld->errs[i].msg);
	free(ld->errs);
	for (size_t i = 0; i < ld->nfiles; i++)
		free(ld->files[i]);
	free(ld->files);
}

/*
 * Moves the loader's errors, sorted by file and line, into @diag. Returns
 * false when memory ran out (@diag then holds the errors it could take).
 */
static bool fill_diag(struct loader *ld, struct tp_diag *diag)
{
	if (!diag || !ld->nerrs)
		return true;
	qsort(ld->errs, ld->nerrs, sizeof(*ld->errs), cmp_err);
	diag->errors = calloc(ld->nerrs, sizeof(*diag->errors));
	if (!diag->errors)
		return false;
	for (size_t i = 0; i < ld->nerrs; i++) {
		struct tp_error *e = &diag->errors[diag->count];

		e->file = strdup(ld->files[ld->errs[i].file]);
		if (!e->file)
			return false;
		e->line = ld->errs[i].line;
		e->kind = ld->errs[i].kind;
		e->msg = ld->errs[i].msg;
		ld->errs[i].msg = NULL;
		diag->count++;
	}
	return true;
}

static int finish(struct loader *ld, struct tp_policy **out,
		  struct tp_diag *diag)
{
	struct tp_policy *p = NULL;
	int ret;

	if (!ld->oom)
		p = build(ld);
	if (ld->oom) {
		/* Say so, if there is still memory to say it with. */
		if (ld->nfiles) {
			ld->oom = false;
			lerror(ld, ld->nfiles - 1, 0, "out of memory");
		}
		ret = -ENOMEM;
	} else if (ld->nfatal) {
		ret = ld->io_err ? ld->io_err : -EINVAL;
	} else {
		ret = 0;
	}
	/* A policy comes with all its warnings, or not at all. */
	if (!fill_diag(ld, diag))
		ret = -ENOMEM;
	if (ret == 0) {
		*out = p;
		p = NULL;
	}
	tp_policy_free(p);
	loader_free(ld);
	return ret;
}

static void start(struct loader *ld, struct tp_policy **out,
		  struct tp_diag *diag)
{
	memset(ld, 0, sizeof(*ld));
	if (out)
		*out = NULL;
	if (diag) {
		diag->errors = NULL;
		diag->count = 0;
	}
}

int tp_policy_load_buffer(const char *name, const char *buf, size_t len,
			  struct tp_policy **out, struct tp_diag *diag)
{
	struct loader ld;

	start(&ld, out, diag);
	if (!out || (!buf && len))
		return -EINVAL;
	if (add_file(&ld, name ? name : "<buffer>"))
		load_stream(&ld, buf ? buf : "", len);
	return finish(&ld, out, diag);
}

int tp_policy_load_file(const char *path, struct tp_policy **out,
			struct tp_diag *diag)
{
	struct loader ld;

	start(&ld, out, diag);
	if (!out || !path)
		return -EINVAL;
	load_path(&ld, path);
	return finish(&ld, out, diag);
}

static bool has_yaml_suffix(const char *n)
{
	size_t l = strlen(n);

	return (l > 4 && strcmp(n + l - 4, ".yml") == 0) ||
	       (l > 5 && strcmp(n + l - 5, ".yaml") == 0);
}

static int cmp_str(const void *a, const void *b)
{
	return strcmp(*(char *const *)a, *(char *const *)b);
}

int tp_policy_load_dir(const char *dir, struct tp_policy **out,
		       struct tp_diag *diag)
{
	struct loader ld;
	char **names = NULL;
	size_t n = 0;
	struct dirent *de;
	DIR *d;

	start(&ld, out, diag);
	if (!out || !dir)
		return -EINVAL;
	d = opendir(dir);
	if (!d) {
		int err = errno;

		if (add_file(&ld, dir))
			io_error(&ld, err, "directory");
		return finish(&ld, out, diag);
	}
	errno = 0;
	while ((de = readdir(d)) != NULL) {
		char *dup;

		if (!has_yaml_suffix(de->d_name))
			continue;
		if (!grow((void **)&names, n, sizeof(*names)) ||
		    !(dup = strdup(de->d_name))) {
			ld.oom = true;
			break;
		}
		names[n++] = dup;
	}
	closedir(d);
	if (n)
		qsort(names, n, sizeof(*names), cmp_str);

	for (size_t i = 0; i < n && !ld.oom; i++) {
		struct stat st;
		char *path;

		if (asprintf(&path, "%s/%s", dir, names[i]) < 0) {
			ld.oom = true;
			break;
		}
		if (stat(path, &st) < 0) {
			int err = errno;

			if (add_file(&ld, path))
				io_error(&ld, err, "file");
		} else if (S_ISREG(st.st_mode)) {
			load_path(&ld, path);
		}
		free(path);
	}
	for (size_t i = 0; i < n; i++)
		free(names[i]);
	free(names);
	return finish(&ld, out, diag);
}

void tp_diag_free(struct tp_diag *diag)
{
	if (!diag)
		return;
	for (size_t i = 0; i < diag->count; i++) {
		free(diag->errors[i].file);
		free(diag->errors[i].msg);
	}
	free(diag->errors);
	diag->errors = NULL;
	diag->count = 0;
}

size_t tp_diag_count(const struct tp_diag *diag, enum tp_kind kind)
{
	size_t n = 0;

	for (size_t i = 0; diag && i < diag->count; i++)
		n += diag->errors[i].kind == kind;
	return n;
}

void tp_diag_print_kinds(const struct tp_diag *diag, unsigned int kinds,
			 FILE *out)
{
	static const char *const prefix[] = {
		[TP_ERROR]	= "",
		[TP_WARNING]	= "warning: ",
		[TP_TLSHD]	= "tlshd would decide differently: ",
	};

	for (size_t i = 0; diag && i < diag->count; i++) {
		const struct tp_error *e = &diag->errors[i];

		if (!(kinds & (1u << e->kind)))
			continue;
		if (e->line)
			fprintf(out, "%s:%u: %s%s\n", e->file, e->line,
				prefix[e->kind], e->msg);
		else
			fprintf(out, "%s: %s%s\n", e->file, prefix[e->kind],
				e->msg);
	}
}

void tp_diag_print(const struct tp_diag *diag, FILE *out)
{
	tp_diag_print_kinds(diag, ~0u, out);
}

size_t tp_policy_tag_count(const struct tp_policy *policy)
{
	return policy ? policy->ntags : 0;
}

static int tag_name_cmp(const void *key, const void *elem)
{
	return strcmp(key, ((const struct tp_tag *)elem)->name);
}

bool tp_policy_has_tag(const struct tp_policy *policy, const char *name)
{
	if (!policy || !name || !policy->ntags)
		return false;
	return bsearch(name, policy->tags, policy->ntags,
		       sizeof(policy->tags[0]), tag_name_cmp) != NULL;
}

size_t tp_policy_filter_count(const struct tp_policy *policy)
{
	return policy ? policy->nfilters : 0;
}
