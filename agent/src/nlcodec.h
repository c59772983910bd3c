/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Netlink message building and parsing for tlstagd.
 *
 * Everything here is a pure function over caller-supplied byte buffers:
 * no sockets, no allocation, no global state. The socket layer
 * (netlink.c) and the unit tests and fuzz targets all drive these.
 */
#ifndef TT_NLCODEC_H
#define TT_NLCODEC_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "hs_uapi.h"

/* Upper bounds the parser enforces on what it will accept from a kernel. */
#define TT_MAX_PEERIDS		16
/*
 * The kernel passes the consumer's peername as is: a host name (at most
 * 253 bytes) for TLS, but NFS and others may pass other strings. Any
 * NUL-terminated string up to this bound is taken.
 */
#define TT_PEERNAME_MAX		1024	/* bytes, without the NUL */

/* Receive buffer large enough for any message we expect. */
#define TT_NL_BUFSIZE		32768

/* ---- generic netlink controller: family lookup ---- */

struct tt_family {
	uint16_t	id;
	uint32_t	version;
	uint32_t	mcgrp_tlshd;	/* 0 when the family has no "tlshd" group */
	bool		has_accept;
	bool		has_done;
};

size_t tt_nl_build_getfamily(void *buf, size_t size, uint32_t seq,
			     const char *name);
/*
 * Parses one received datagram answering GETFAMILY. Returns 0 and fills
 * @fam, -ENOENT (or another negative errno) when the kernel answered with an
 * error, -EBADMSG on malformed input, -ENOMSG when no answer was found.
 */
int tt_nl_parse_getfamily(const void *buf, size_t len, uint32_t seq,
			  struct tt_family *fam);

/* ---- generic netlink controller: policy dump of one operation ---- */

struct tt_policy_probe {
	/* inputs */
	uint16_t	family_id;
	uint32_t	op;		/* command whose do-policy is wanted */
	uint32_t	attr;		/* attribute looked for */
	/* state and results */
	bool		done;		/* NLMSG_DONE seen */
	int		error;		/* negative errno reported, or parse error */
	bool		have_do_idx;
	uint32_t	do_idx;		/* policy index of the op's do handler */
	uint64_t	attr_seen;	/* bit i: @attr present in policy index i */
	uint32_t	attr_type[64];	/* NL_ATTR_TYPE_* of @attr per index */
	uint32_t	attr_maxlen[64];/* max length (0 = not stated) */
	unsigned int	nmsgs;
};

size_t tt_nl_build_getpolicy(void *buf, size_t size, uint32_t seq,
			     uint16_t family_id, uint32_t op);
void tt_policy_probe_init(struct tt_policy_probe *p, uint16_t family_id,
			  uint32_t op, uint32_t attr);
/*
 * Feeds one received datagram of the dump. Returns 1 when the dump ended
 * (NLMSG_DONE), 0 when more is expected, or a negative errno: the kernel's
 * error, or -EBADMSG when something did not parse. A parse error is never
 * success.
 */
int tt_policy_probe_feed(struct tt_policy_probe *p, const void *buf,
			 size_t len);
/*
 * After a complete dump: true when the op's do-policy lists @attr as a
 * string attribute. Stores the advertised maximum length in *@maxlen
 * (0 when the kernel states none).
 */
bool tt_policy_probe_has_attr(const struct tt_policy_probe *p,
			      uint32_t *maxlen);

/* ---- handshake family ---- */

size_t tt_nl_build_accept(void *buf, size_t size, uint32_t seq,
			  uint16_t family_id, uint32_t handler_class);

struct tt_accept {
	int32_t		sockfd;
	uint32_t	handler_class;	/* 0 when absent */
	uint32_t	message_type;
	uint32_t	timeout_ms;	/* 0 when absent */
	uint32_t	auth_mode;
	uint32_t	peerids[TT_MAX_PEERIDS];
	unsigned int	npeerids;
	bool		has_cert;
	int32_t		cert_serial;
	int32_t		privkey_serial;
	bool		has_peername;
	char		peername[TT_PEERNAME_MAX + 1];	/* "" when absent */
	bool		has_keyring;
	uint32_t	keyring;
	bool		has_max_tags;
	uint32_t	max_tags;	/* TT_HS_DEFAULT_MAX_TAGS when absent */
};

/* Flags reported by tt_nl_parse_accept() */
#define TT_ACCEPT_GOT_REPLY	0x1	/* an ACCEPT reply was parsed */
#define TT_ACCEPT_GOT_ACK	0x2	/* the request's ACK arrived */

/*
 * Parses one received datagram answering an ACCEPT request of @family_id
 * with sequence number @seq. Returns 0 (check *@flags: a reply, an ack or
 * both were seen), a negative errno when the kernel refused the request
 * (-EAGAIN: nothing pending), or -EBADMSG / -EINVAL when the message is
 * malformed (truncated, wrong attribute length or type, missing mandatory
 * attribute, out-of-range value). On error @acc is left zeroed.
 */
int tt_nl_parse_accept(const void *buf, size_t len, uint16_t family_id,
		       uint32_t seq, struct tt_accept *acc,
		       unsigned int *flags);

/*
 * For a datagram tt_nl_parse_accept() refused: the SOCKFD of an ACCEPT
 * reply to @seq in it, when that one attribute is well formed (the kernel
 * installed that descriptor whatever else the reply holds), else -1.
 */
int32_t tt_nl_accept_sockfd(const void *buf, size_t len, uint16_t family_id,
			    uint32_t seq);

/*
 * Parses a multicast datagram; returns the number of READY notifications
 * for @handler_class it contains (0 or more), or -EBADMSG. A READY that
 * names no handler class counts: requests may be waiting.
 */
int tt_nl_count_ready(const void *buf, size_t len, uint16_t family_id,
		      uint32_t handler_class);

struct tt_done {
	uint32_t		status;		/* 0 or positive errno */
	int32_t			sockfd;
	const uint32_t		*remote_auth;
	unsigned int		nremote_auth;
	const char *const	*tags;		/* sorted, unique */
	unsigned int		ntags;
	/* capabilities of the running kernel */
	bool			tags_supported;
	unsigned int		max_tags;
	unsigned int		tag_max_len;	/* 0: TT_HS_SESSION_TAG_MAX_LEN */
};

struct tt_done_stats {
	unsigned int	tags_sent;
	unsigned int	tags_over_limit;	/* beyond max_tags */
	unsigned int	tags_invalid;		/* empty or too long */
	bool		tags_unsupported;	/* tags given, kernel lacks attr */
};

/*
 * Builds a DONE request: STATUS, SOCKFD, REMOTE_AUTH..., TAG... in that
 * order. Tags are sent only when status is 0 and the kernel supports them,
 * each NUL-terminated, at most max_tags of them (the first ones of the
 * sorted list). Returns the message length, or 0 when @size is too small.
 */
size_t tt_nl_build_done(void *buf, size_t size, uint32_t seq,
			uint16_t family_id, const struct tt_done *d,
			struct tt_done_stats *stats);

/*
 * Parses the ACK of a request with sequence @seq: returns 1 when the
 * datagram held a positive ACK, a negative errno for an error ACK, 0 when
 * it held neither, -EBADMSG when malformed. When the kernel attached an
 * extended-ACK message it is copied to @msg (may be NULL).
 */
int tt_nl_parse_ack(const void *buf, size_t len, uint32_t seq,
		    char *msg, size_t msgsize);

#endif /* TT_NLCODEC_H */
