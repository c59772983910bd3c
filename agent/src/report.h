/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * What a handshake child tells the parent, and what the parent believes.
 *
 * The child that talks to the peer runs sandboxed (sandbox.h) and holds no
 * netlink socket: it reports its result over a SOCK_SEQPACKET socketpair
 * and the parent sends DONE. The child parsed hostile input, so the
 * parent treats each report as untrusted: tt_report_decode() checks the
 * framing, tt_report_check() checks the content against what the parent
 * itself knows (the request it handed that child, the policy loaded now).
 * Both are pure functions over buffers, for the tests and the fuzzer.
 */
#ifndef TT_REPORT_H
#define TT_REPORT_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nlcodec.h"
#include "tagpolicy.h"

/* The most tags one report may carry (the kernel keeps at most 64). */
#define TT_REPORT_MAX_TAGS	256
/* Longest peer or reason text in a report. */
#define TT_REPORT_TEXT_MAX	255
/* Largest peer certificate a report may carry (DER). */
#define TT_REPORT_DER_MAX	16384
/* Room for the largest valid report. */
#define TT_REPORT_BUFSIZE	(32 + 2 * (TT_REPORT_TEXT_MAX + 2) + \
				 4 + TT_REPORT_DER_MAX + \
				 TT_REPORT_MAX_TAGS * (TP_NAME_MAX + 2))
/* Largest errno a DONE status may carry (the kernel's MAX_ERRNO). */
#define TT_STATUS_MAX		4095

/* Kinds of message on the report channel. */
enum tt_report_kind {
	TT_REP_ACCEPTED	= 1,	/* with the socket, once */
	TT_REP_EMPTY	= 2,	/* nothing was queued */
	TT_REP_ERROR	= 3,	/* ACCEPT failed */
	TT_REP_RESULT	= 4,	/* the handshake's outcome */
};

/*
 * The short messages (ACCEPTED, EMPTY, ERROR). An ACCEPTED one carries
 * the socket (SCM_RIGHTS) and the parsed ACCEPT, sent before the child
 * read anything from the peer: the parent keeps both.
 */
struct tt_report_hdr {
	uint32_t		kind;
	uint32_t		timeout_ms;
	int32_t			err;
	struct tt_accept	acc;
};

/* A decoded RESULT: the strings point into the decoded buffer. */
struct tt_report_result {
	uint32_t	status;		/* 0 or a positive errno */
	uint32_t	remote_auth;	/* PSK key serial, when has_remote_auth */
	bool		has_remote_auth;
	/* The verified certificate peer's leaf certificate (DER), or none. */
	const unsigned char *peer_der;
	size_t		peer_der_len;
	bool		ktls;		/* kTLS TX and RX installed */
	const char	*peer;		/* subject DN or PSK identity ("" none) */
	const char	*reason;	/* why status != 0 ("" none) */
	unsigned int	ntags;
	const char	*tags[TT_REPORT_MAX_TAGS];
};

/*
 * Encodes @r into @buf (the strings are copied; the tags as given).
 * Returns the length, or 0 when something does not fit the format (too
 * many tags, a tag that is empty or too long, a text that is too long).
 * Texts longer than TT_REPORT_TEXT_MAX are cut, not refused.
 */
size_t tt_report_encode(void *buf, size_t len,
			const struct tt_report_result *r);

/*
 * Decodes a RESULT message of @len bytes. @buf must be writable: strings
 * are terminated in place. Returns 0, or -EBADMSG when the framing is
 * wrong in any way (with a reason in @why).
 */
int tt_report_decode(void *buf, size_t len, struct tt_report_result *r,
		     char *why, size_t whylen);

/* What the parent knows of the request it handed the child. */
struct tt_report_ctx {
	const struct tt_accept	*acc;		/* from the child's ACCEPTED */
	const struct tp_policy	*policy;	/* loaded now */
	/* Whether @serial is a PSK key (NULL: only the offered ones pass). */
	bool (*is_psk)(int32_t serial);
};

/*
 * Whether the parent may send DONE with @r as it stands: a status in
 * 0..TT_STATUS_MAX; on failure no identity and no tags; on a PSK session
 * no certificate, no tags and a remote-auth identity that is one of the
 * PSKs the kernel offered (or a "psk" key); on a certificate session no
 * remote-auth from the child (the parent makes the peer key from the
 * certificate), tags only with a certificate, at most ACCEPT's max-tags of
 * them, strictly sorted (so unique), each defined by the policy.
 * Returns 0, or -EPERM with the reason in @why.
 */
int tt_report_check(const struct tt_report_result *r,
		    const struct tt_report_ctx *ctx, char *why, size_t whylen);

/*
 * Copies @in to @out (@outlen bytes, NUL-terminated), escaping every byte
 * that is not printable ASCII, and backslashes, as \xHH: for peer-controlled
 * text in logs.
 */
void tt_escape(const char *in, char *out, size_t outlen);

#endif
