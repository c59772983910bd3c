/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Constants of the kernel's "handshake" generic netlink family.
 *
 * Debian 12's linux-libc-dev (6.1) predates net/handshake, so the numbers
 * are spelled out here. They are checked against Linux 6.12's
 * Documentation/netlink/specs/handshake.yaml and the project's session-tags
 * extension (design document section 2): ACCEPT gains keyring (9) and
 * max-tags (10), DONE gains tag (4).
 */
#ifndef TT_HS_UAPI_H
#define TT_HS_UAPI_H

#define TT_HS_FAMILY_NAME	"handshake"
#define TT_HS_MCGRP_TLSHD	"tlshd"

enum {
	TT_HS_HANDLER_CLASS_NONE = 0,
	TT_HS_HANDLER_CLASS_TLSHD = 1,
};

enum {
	TT_HS_MSG_TYPE_UNSPEC = 0,
	TT_HS_MSG_TYPE_CLIENTHELLO = 1,
	TT_HS_MSG_TYPE_SERVERHELLO = 2,
};

enum {
	TT_HS_AUTH_UNSPEC = 0,
	TT_HS_AUTH_UNAUTH = 1,
	TT_HS_AUTH_PSK = 2,
	TT_HS_AUTH_X509 = 3,
};

/* attribute-set x509 (nested in accept.certificate) */
enum {
	TT_HS_A_X509_CERT = 1,		/* s32 key serial */
	TT_HS_A_X509_PRIVKEY = 2,	/* s32 key serial */
	TT_HS_A_X509_MAX = 2,
};

/* attribute-set accept */
enum {
	TT_HS_A_ACCEPT_SOCKFD = 1,		/* s32 */
	TT_HS_A_ACCEPT_HANDLER_CLASS = 2,	/* u32 */
	TT_HS_A_ACCEPT_MESSAGE_TYPE = 3,	/* u32 */
	TT_HS_A_ACCEPT_TIMEOUT = 4,		/* u32, milliseconds */
	TT_HS_A_ACCEPT_AUTH_MODE = 5,		/* u32 */
	TT_HS_A_ACCEPT_PEER_IDENTITY = 6,	/* u32, multi-attr */
	TT_HS_A_ACCEPT_CERTIFICATE = 7,		/* nest x509, multi-attr */
	TT_HS_A_ACCEPT_PEERNAME = 8,		/* string */
	TT_HS_A_ACCEPT_KEYRING = 9,		/* u32 key serial */
	TT_HS_A_ACCEPT_MAX_TAGS = 10,		/* u32 */
	TT_HS_A_ACCEPT_MAX = 10,
};

/* attribute-set done */
enum {
	TT_HS_A_DONE_STATUS = 1,		/* u32, positive errno */
	TT_HS_A_DONE_SOCKFD = 2,		/* s32 */
	TT_HS_A_DONE_REMOTE_AUTH = 3,		/* u32, multi-attr */
	TT_HS_A_DONE_TAG = 4,			/* string, multi-attr */
	TT_HS_A_DONE_MAX = 4,
};

enum {
	TT_HS_CMD_READY = 1,
	TT_HS_CMD_ACCEPT = 2,
	TT_HS_CMD_DONE = 3,
};

/* HANDSHAKE_SESSION_TAG_MAX_LEN */
#define TT_HS_SESSION_TAG_MAX_LEN	255
/* HANDSHAKE_MAX_SESSIONTAGS; assumed when ACCEPT carries no max-tags. */
#define TT_HS_DEFAULT_MAX_TAGS		64
/* MAX_ERRNO: the DONE status policy's upper bound. */
#define TT_HS_MAX_ERRNO			4095

#endif /* TT_HS_UAPI_H */
