/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * tagpolicy: the certificate policy engine of tlstagd.
 *
 * Loads tags.d YAML policy files (the format tlshd uses) and evaluates a
 * peer's X.509 certificate against them, giving the sorted, unique names of
 * the tags it earns. No netlink, socket or daemon code lives here; the
 * daemon and the admin commands (--check-config, --explain) both use it.
 *
 * A loaded policy is immutable and may be shared by any number of threads
 * or processes that only evaluate.
 */
#ifndef TAGPOLICY_H
#define TAGPOLICY_H

#include <stdbool.h>
#include <stddef.h>
#include <stdio.h>

#include <gnutls/x509.h>

/* Longest tag or filter name, as the kernel's HANDSHAKE_SESSION_TAG_MAX_LEN. */
#define TP_NAME_MAX	255
/* Most wildcards ('*' or '?') allowed in one pattern. */
#define TP_MAX_WILDCARDS 16

struct tp_policy;

/* What a diagnostic means for the load. */
enum tp_kind {
	TP_ERROR,	/* the policy does not load */
	TP_WARNING,	/* it loads; something written is ignored or never holds */
	TP_TLSHD,	/* it loads; tlshd(8) would decide this case differently */
};

/* One loading diagnostic: where, what kind and why. */
struct tp_error {
	char		*file;	/* path as given, or "<buffer>" name */
	unsigned int	line;	/* 1-based; 0 when not tied to a line */
	enum tp_kind	kind;
	char		*msg;	/* human-readable reason */
};

/*
 * Every diagnostic found while loading (loading does not stop at the
 * first error), sorted by file and line. A successful load may leave
 * warnings and tlshd notes here; a failed one has at least one error.
 */
struct tp_diag {
	struct tp_error	*errors;
	size_t		count;
};

void tp_diag_free(struct tp_diag *diag);
/* How many entries of @diag are of @kind. */
size_t tp_diag_count(const struct tp_diag *diag, enum tp_kind kind);
/*
 * Prints the entries of the kinds in @kinds (a bit mask of 1 << kind),
 * one line each: "file:line: msg" for an error, "file:line: warning: msg"
 * and "file:line: tlshd would decide differently: msg" for the others.
 */
void tp_diag_print_kinds(const struct tp_diag *diag, unsigned int kinds,
			 FILE *out);
/* Prints every entry, as above. */
void tp_diag_print(const struct tp_diag *diag, FILE *out);

/*
 * Loads every regular file ending in ".yml" or ".yaml" in @dir, in name
 * order, into one policy. Filter and tag names are global across files.
 * Returns 0 and sets *@out on success (@diag then holds any warnings and
 * tlshd notes); on any error returns a negative errno (-EINVAL for content
 * errors), leaves *@out NULL and fills @diag.
 * A missing directory is an error; an empty one gives an empty policy.
 */
int tp_policy_load_dir(const char *dir, struct tp_policy **out,
		       struct tp_diag *diag);

/* As above, for one file. */
int tp_policy_load_file(const char *path, struct tp_policy **out,
			struct tp_diag *diag);

/* As above, from memory (@name is used in messages). For tests and fuzzing. */
int tp_policy_load_buffer(const char *name, const char *buf, size_t len,
			  struct tp_policy **out, struct tp_diag *diag);

void tp_policy_free(struct tp_policy *policy);

size_t tp_policy_tag_count(const struct tp_policy *policy);
size_t tp_policy_filter_count(const struct tp_policy *policy);
/* Whether @policy defines a tag named @name (binary search; NULL: false). */
bool tp_policy_has_tag(const struct tp_policy *policy, const char *name);

/* Result of an evaluation: sorted (strcmp order), unique tag names. */
struct tp_tags {
	char	**names;
	size_t	count;
};

void tp_tags_free(struct tp_tags *tags);

/*
 * Optional explanation: for each tag of the policy, whether it was
 * assigned and, for each filter it names, whether that filter held
 * (after negation) and a short description of what was compared.
 */
struct tp_explain_filter {
	char	*filter;	/* filter name as written (without "not ") */
	bool	negated;
	bool	held;		/* the filter's result after negation */
	char	*detail;	/* e.g. "subject CN=alice,O=Example matches CN=*,O=Example" */
};

struct tp_explain_tag {
	char				*tag;
	bool				assigned;
	struct tp_explain_filter	*filters;
	size_t				nfilters;
};

struct tp_explain {
	struct tp_explain_tag	*tags;
	size_t			count;
};

void tp_explain_free(struct tp_explain *explain);

/*
 * Evaluates the DER-encoded leaf certificate @der (@len bytes) against
 * @policy. The certificate is parsed once and each derived field computed
 * at most once. On success returns 0 and fills @tags (and @explain when not
 * NULL). Returns -EINVAL when the DER does not parse, -ENOMEM on allocation
 * failure; the outputs are then empty.
 */
int tp_evaluate_der(const struct tp_policy *policy, const unsigned char *der,
		    size_t len, struct tp_tags *tags, struct tp_explain *explain);

/*
 * As tp_evaluate_der(), for a certificate the caller has already imported
 * with gnutls_x509_crt_import(), so that a caller that parses the peer's
 * certificate anyway (the daemon does, for the peer's name) does not pay
 * for a second parse. @crt is only read, and stays the caller's. Returns
 * -EINVAL when @crt is NULL.
 */
int tp_evaluate_crt(const struct tp_policy *policy, gnutls_x509_crt_t crt,
		    struct tp_tags *tags, struct tp_explain *explain);

#endif /* TAGPOLICY_H */
