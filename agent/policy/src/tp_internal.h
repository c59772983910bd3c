/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Internal definitions of the tagpolicy engine. Not part of the daemon's
 * interface: the unit tests, fuzzers and benchmark include it to reach the
 * pattern matcher and the loaded structures.
 */
#ifndef TP_INTERNAL_H
#define TP_INTERNAL_H

#include <stdbool.h>
#include <stddef.h>
#include <time.h>

#include "tagpolicy.h"

enum tp_ftype {
	TP_F_SIGALG,		/* x509.cert.signatureAlgorithm */
	TP_F_VERSION,		/* x509.tbs.version */
	TP_F_SERIAL,		/* x509.tbs.serialNumber */
	TP_F_ISSUER,		/* x509.tbs.issuer */
	TP_F_SUBJECT,		/* x509.tbs.subject */
	TP_F_NOTBEFORE,		/* x509.tbs.validity.notBefore */
	TP_F_NOTAFTER,		/* x509.tbs.validity.notAfter */
	TP_F_KEYUSAGE,		/* x509.extension.keyUsage */
	TP_F_EKU,		/* x509.extension.extendedKeyUsage */
	TP_F_FINGERPRINT,	/* x509.derived.fingerprint */
	TP_F_SELFSIGNED,	/* x509.derived.selfSigned */
	TP_F_SAN_DNS,		/* x509.extension.subjectAltName.dns */
	TP_F_SAN_IP,		/* x509.extension.subjectAltName.ip */
	TP_F_SAN_URI,		/* x509.extension.subjectAltName.uri */
	TP_F_SAN_EMAIL,		/* x509.extension.subjectAltName.email */
	TP_F__COUNT
};

/* What a filter type takes in its YAML body. */
enum tp_arg {
	TP_ARG_PATTERN,		/* pattern: string, wildcards allowed */
	TP_ARG_TIME,		/* pattern: "YYYY-MM-DD HH:MM:SS" (UTC) */
	TP_ARG_PURPOSE,		/* purpose: sequence of strings */
	TP_ARG_OPTBOOL,		/* optional pattern: "true" | "false" */
};

struct tp_ftype_info {
	const char	*name;
	enum tp_arg	arg;
	bool		tlshd;	/* tlshd(8) knows this type too */
};

extern const struct tp_ftype_info tp_ftypes[TP_F__COUNT];

/*
 * A pattern as prepared at load time, so that the common shapes are
 * decided without the general matcher: no wildcard (equality), or one
 * '*' and no '?' (a prefix and a suffix, "*" matching everything).
 */
enum tp_pkind {
	TP_P_GENERAL = 0,	/* anything else: tp_pattern_match() */
	TP_P_LITERAL,
	TP_P_STAR,
};

struct tp_cpattern {
	enum tp_pkind	kind;
	size_t		len;		/* strlen(pattern) */
	size_t		prefix;		/* TP_P_STAR: bytes before the '*' */
	size_t		wildcards;	/* tp_pattern_wildcards(pattern) */
};

struct tp_filter {
	char		*name;
	enum tp_ftype	type;
	char		*pattern;	/* TP_ARG_PATTERN; NULL otherwise */
	struct tp_cpattern cpat;	/* @pattern prepared (tp_pattern_compile) */
	char		*arg_text;	/* the argument as written, for explain */
	time_t		threshold;	/* TP_ARG_TIME */
	unsigned int	ku_bits;	/* keyUsage: GNUTLS_KEY_* bits required */
	char		**ekus;		/* EKU: dotted OIDs required */
	size_t		nekus;
	bool		want;		/* selfSigned: true or false */
	char		*file;		/* where it was defined */
	unsigned int	line;
};

struct tp_tagref {
	size_t		filter;		/* index into policy->filters */
	bool		negated;
};

struct tp_tag {
	char		*name;
	struct tp_tagref *refs;
	size_t		nrefs;
};

struct tp_policy {
	struct tp_filter *filters;	/* sorted by name (strcmp) */
	size_t		nfilters;
	struct tp_tag	*tags;		/* sorted by name (strcmp), unique */
	size_t		ntags;
};

/* Pattern matching (pattern.c). */
size_t tp_pattern_wildcards(const char *pattern);
bool tp_pattern_match(const char *pattern, const char *text);
void tp_pattern_compile(const char *pattern, struct tp_cpattern *cp);
/* Same result as tp_pattern_match(); @len is strlen(@text). */
bool tp_cpattern_match(const char *pattern, const struct tp_cpattern *cp,
		       const char *text, size_t len);

/* Name rule [A-Za-z0-9_-]{1,255}. */
bool tp_name_valid(const char *name);

/*
 * Parses "YYYY-MM-DD HH:MM:SS" as UTC. Month, day and the time's fields
 * may have one digit or two, any blanks may separate the date from the
 * time and surround the whole, and a zone suffix is allowed when it says
 * UTC (Z, UTC, GMT, +00:00, +0000, +00); second 60 is the next second.
 * Returns false for anything else, and for a date that does not exist.
 */
bool tp_parse_time(const char *text, time_t *out);

/* Formats @t as "YYYY-MM-DD HH:MM:SS" (UTC) into @buf (>= 32 bytes). */
void tp_format_time(time_t t, char *buf, size_t size);

/* keyUsage bit names <-> GNUTLS_KEY_* (eval.c). */
struct tp_ku_name {
	const char	*name;
	unsigned int	bit;
};
extern const struct tp_ku_name tp_ku_names[];
extern const size_t tp_ku_names_count;

/* Extended key usage names -> OIDs. NULL if unknown name. */
const char *tp_eku_name_to_oid(const char *name);
bool tp_oid_valid(const char *oid);

/* A copy of @s with control bytes written as \xNN; NULL if out of memory. */
char *tp_printable(const char *s);

/*
 * For the benchmark only: evaluates like tlshd does, importing the DER
 * afresh and deriving the field again for every filter of every tag, with
 * no caching. Same results as tp_evaluate_der() (without explanation).
 */
int tp_baseline_evaluate_der(const struct tp_policy *policy,
			     const unsigned char *der, size_t len,
			     struct tp_tags *tags);

#endif /* TP_INTERNAL_H */
