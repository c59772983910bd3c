/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * One TLS 1.3 handshake over a connected socket, as the kernel asked for
 * it. Knows nothing about netlink: the daemon feeds it the parameters of
 * an ACCEPT, the tests feed it a loopback socket.
 */
#ifndef TT_HANDSHAKE_H
#define TT_HANDSHAKE_H

#include <stdbool.h>
#include <stdint.h>

#include "config.h"
#include "runtime.h"
#include "keys.h"
#include "nlcodec.h"
#include "tagpolicy.h"

/*
 * TLS 1.3 only, and only AEADs the kernel's TLS implementation takes:
 * every TLS 1.3 suite but AES-128-CCM-8, AES-128-CCM last (a peer that
 * offers nothing else, such as a constrained device).
 */
#define TT_PRIORITY_BASE \
	"NORMAL:-VERS-ALL:+VERS-TLS1.3:-CIPHER-ALL:" \
	"+AES-256-GCM:+AES-128-GCM:+CHACHA20-POLY1305:+AES-128-CCM"
#define TT_PRIORITY_PSK_EXTRA	":+ECDHE-PSK:+DHE-PSK:+PSK"

struct tt_hs_params {
	int		fd;
	uint32_t	msg_type;	/* TT_HS_MSG_TYPE_* */
	uint32_t	auth_mode;	/* TT_HS_AUTH_* */
	uint32_t	timeout_ms;	/* 0: the configured default */
	const char	*peername;	/* NULL when the kernel sent none */
	const uint32_t	*peerids;
	unsigned int	npeerids;
	bool		has_cert;
	int32_t		cert_serial;
	int32_t		privkey_serial;
	int32_t		keyring;	/* 0 when absent */
};

struct tt_hs_env {
	const struct tt_runtime	*rt;
	const struct tt_keyops	*keys;
	bool			require_ktls;	/* a kTLS failure fails */
	bool			evaluate_tags;	/* run the policy */
	/*
	 * Where peer certificate keys go when the request names no keyring
	 * (tt_keys_peer_keyring(); 0: the session keyring).
	 */
	int32_t			peer_keyring;
	/*
	 * Do not make the peer's key: leave its certificate in the result
	 * (peer_der) for the daemon's parent, which makes it. The sandboxed
	 * child may not change keyrings.
	 */
	bool			defer_peer_key;
	/*
	 * Trust-only credentials for a request that brings its own
	 * certificate, built by tt_hs_prepare() while files can still be
	 * read; taken over (and freed) by the handshake. NULL: built then.
	 */
	gnutls_certificate_credentials_t keyring_trust;
	/*
	 * With a key holder: the whole credentials of such a request (trust
	 * store, its certificate, its private key held by the holder), built
	 * by tt_hs_prepare(); taken over (and freed) by the handshake.
	 */
	gnutls_certificate_credentials_t keyring_creds;
	/*
	 * Keyrings a PSK server searches for the client's identity after the
	 * request's own (tt_keys_psk_keyrings()).
	 */
	int32_t			psk_keyrings[TT_MAX_KEYRINGS + 3];
	unsigned int		npsk_keyrings;
};

struct tt_hs_result {
	uint32_t	status;		/* 0 or positive errno */
	uint32_t	remote_auth[1];
	unsigned int	nremote_auth;
	struct tp_tags	tags;
	bool		ktls;		/* kTLS TX and RX installed */
	bool		peer_verified;
	/* With defer_peer_key: the verified leaf certificate (malloc'd). */
	unsigned char	*peer_der;
	size_t		peer_der_len;
	char		peer[256];	/* subject DN or PSK identity */
	char		reason[256];	/* why status != 0, or a kTLS note */
};

/* Points @p at the fields of @a (which must outlive @p). */
void tt_hs_params_from_accept(const struct tt_accept *a,
			      struct tt_hs_params *p);

/*
 * What the handshake of @p will need from the file system, loaded now:
 * the daemon calls it before the child's sandbox forbids opening files.
 * 0, or a negative errno with the reason in @why.
 */
int tt_hs_prepare(const struct tt_hs_params *p, struct tt_hs_env *env,
		  char *why, size_t whylen);

/* Runs the handshake. Always fills @res; free it with tt_hs_result_free. */
void tt_handshake_run(const struct tt_hs_params *p, struct tt_hs_env *env,
		      struct tt_hs_result *res);
void tt_hs_result_free(struct tt_hs_result *res);

/*
 * The peer certificate @der as an "asymmetric" key in @ring, reused while
 * it lives, expiring @ttl seconds after its last use: the serial or -errno.
 */
int32_t tt_peer_key(const struct tt_keyops *k, int32_t ring, unsigned int ttl,
		    const unsigned char *der, size_t len);

/* Library-wide GnuTLS setup (global init, logging hooks). */
int tt_tls_global_init(void);
/* GnuTLS's own log messages follow ours: on at LOG_DEBUG (syslog level). */
void tt_tls_set_log_level(int level);
void tt_tls_global_deinit(void);

#endif
