/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * The key holder: a small process, started before any private key is
 * read, that alone holds the configured private keys and signs with them.
 *
 * The daemon's credentials carry external GnuTLS keys that know only a
 * key id. A handshake child signs by asking the holder over a channel the
 * parent opened for that child alone (tt_kh_channel()), so the private keys
 * are never in the parent's memory and so never in a child's. The holder
 * signs at most once per channel (TLS 1.3 has one CertificateVerify per
 * handshake), only with TLS 1.3 signature schemes, only with the keys of
 * the configuration that child was started with, and only while the
 * child lives.
 */
#ifndef TT_KEYHOLDER_H
#define TT_KEYHOLDER_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include <gnutls/abstract.h>

#define TT_KH_MAX_DATA		512	/* hash, or Ed25519/Ed448 content */
#define TT_KH_MAX_SIG		1024	/* RSA-8192 */
#define TT_KH_MAX_KEYS		2	/* per channel: client and server */

struct tt_kh;

/*
 * Forks the holder. Call before any private key has been read: the holder
 * is a copy of the caller. 0, or a negative errno with the reason in @why.
 */
int tt_kh_start(struct tt_kh **out, char *why, size_t whylen);
/* Ends the holder (it also ends when the caller's process is gone). */
void tt_kh_stop(struct tt_kh *kh);
pid_t tt_kh_pid(const struct tt_kh *kh);
/*
 * The holder's control socket: POLLHUP on it means the holder is gone.
 * After daemon(3), tt_kh_adopt() makes this process the one that owns
 * the holder (the holder is then no child of it).
 */
int tt_kh_fd(const struct tt_kh *kh);
void tt_kh_adopt(struct tt_kh *kh);

/*
 * The key holder private keys load through, or NULL: keys load into this
 * process (tools, tests, --check-config).
 */
void tt_kh_set_current(struct tt_kh *kh);
struct tt_kh *tt_kh_current(void);

/*
 * Has the holder load the PEM key at @path, checks that it belongs to
 * the certificate @crt, and returns in *@key an external key for it
 * (a signature request goes to this process's channel: tt_kh_attach()).
 * Its deinit has the holder forget the key. *@id is the key's id.
 */
int tt_kh_load(struct tt_kh *kh, const char *path, gnutls_x509_crt_t crt,
	       bool server, gnutls_privkey_t *key, uint32_t *id, char *why,
	       size_t whylen);

/*
 * A channel that may sign once with the keys @ids: the holder gets one
 * end, the return value is the other (for one handshake child), or a
 * negative errno.
 */
int tt_kh_channel(struct tt_kh *kh, const uint32_t *ids, unsigned int n);

/*
 * In a handshake child: signatures go over @fd from now on; the holder's
 * control socket (if any) is closed. @fd < 0: no channel (signing fails).
 */
void tt_kh_attach(int fd);
/* Whether this child has a channel to a holder that can take a key. */
bool tt_kh_attached(void);
/*
 * In a handshake child, right before its sandbox: no key will be handed
 * over on this channel (the holder takes one only as the channel's first
 * message, so a compromised child cannot hand over another's key later).
 */
void tt_kh_seal(void);

/* The key id of the key a channel took over (tt_kh_take_key()). */
#define TT_KH_ADOPTED	0xffffffffu

/*
 * In a handshake child, before its sandbox: the private key the kernel
 * named for this request (key serial @serial, which this process
 * possesses) goes to the holder for this child's channel alone, without
 * this process reading it: it is linked into the holder's keyring, and
 * the holder reads it, unlinks it, and checks it against @crt. *@key is
 * then an external key that signs with it. 0, or a negative errno with
 * the reason in @why.
 */
int tt_kh_take_key(int32_t serial, gnutls_x509_crt_t crt, bool server,
		   gnutls_privkey_t *key, char *why, size_t whylen);

/* ---- the channel's wire format, shared with the fuzz target ---- */

enum tt_kh_kind {
	TT_KH_HASH = 1,		/* data is a digest (ECDSA, RSA-PSS) */
	TT_KH_DATA = 2,		/* data is the content (EdDSA) */
};

struct tt_kh_sign_req {
	uint32_t	key_id;
	uint32_t	algo;		/* gnutls_sign_algorithm_t */
	uint32_t	kind;		/* enum tt_kh_kind */
	uint32_t	len;
	unsigned char	data[TT_KH_MAX_DATA];
};

/* What the holder knows of a key it signs with. */
struct tt_kh_key {
	int	pk;		/* gnutls_pk_algorithm_t */
	int	curve;		/* gnutls_ecc_curve_t for ECDSA, else 0 */
	bool	server;		/* signs server (else client) CertificateVerify */
};

/*
 * Checks a signature request of @len bytes from a child: framing, a TLS
 * 1.3 scheme for @key (for ECDSA the one of its curve), the digest length
 * of that scheme, and for EdDSA a TLS 1.3 CertificateVerify content of
 * @key's side. 0, or -EINVAL with the reason in @why.
 */
int tt_kh_check_sign(const void *buf, size_t len, const struct tt_kh_key *key,
		     struct tt_kh_sign_req *req, char *why, size_t whylen);

#endif
