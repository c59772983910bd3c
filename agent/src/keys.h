/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Access to the kernel key retention service, behind a small table of
 * operations so the handshake code can be exercised without a keyring.
 */
#ifndef TT_KEYS_H
#define TT_KEYS_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

struct tt_keyops {
	/* Payload of key @serial; *data is malloc'd. 0 or negative errno. */
	int (*read)(void *ctx, int32_t serial, unsigned char **data,
		    size_t *len);
	/* Description of key @serial; *desc is malloc'd. */
	int (*describe)(void *ctx, int32_t serial, char **desc);
	/* Serial of the key of @type named @desc in @keyring, or -errno. */
	int32_t (*search)(void *ctx, int32_t keyring, const char *type,
			  const char *desc);
	/*
	 * Adds the DER certificate as an "asymmetric" key to @keyring (0: the
	 * default keyring), or as a "user" key when the kernel cannot parse
	 * it (ENOPKG, EBADMSG: an Ed25519 key in 6.12); returns its serial or
	 * -errno.
	 */
	int32_t (*add_cert)(void *ctx, int32_t keyring, const char *desc,
			    const unsigned char *der, size_t len);
	/* Makes key @serial expire @seconds from now (may be NULL). */
	int (*set_timeout)(void *ctx, int32_t serial, unsigned int seconds);
	void *ctx;
};

/* Description of the keyring holding peer certificate keys. */
#define TT_PEER_KEYRING_DESC	"tlstagd:peers"
/* Peer certificate keys: this prefix and the SHA-256 fingerprint in hex. */
#define TT_PEER_KEY_PREFIX	"tlstagd:peer:"

/*
 * Creates the peer keyring in the (new) session keyring, once, at startup;
 * the handshake children inherit it. Returns its serial or -errno.
 */
int32_t tt_keys_open_peer_keyring(void);
/* Its serial, 0 when it was not created (then: the session keyring). */
int32_t tt_keys_peer_keyring(void);

/* Whether @serial is a key of type "psk" (that this process may view). */
bool tt_keys_is_psk(int32_t serial);

/*
 * The keyring named @name ("123" is serial 123) that this process may
 * view and that root or this process's user owns: its serial, or -errno
 * (-ENOKEY: no such keyring; -ENOTDIR: not a keyring; -EPERM: another
 * user's).
 */
int32_t tt_keys_find_keyring(const char *name);
/*
 * The keyrings searched for PSKs by identity, as tlshd searches them:
 * .nvme, .nfs and .nfsd, then the @n of keyrings = (@names), those that
 * exist, without repeats, at most @max into @out. Returns how many.
 */
unsigned int tt_keys_psk_keyrings(char *const *names, unsigned int n,
				  int32_t *out, unsigned int max);

/*
 * Links those keyrings into the session keyring, as tlshd does at start
 * and on reload, and warns about names in @names that do not exist.
 */
void tt_keys_link_psk_keyrings(char *const *names, unsigned int n);

/* Operations backed by libkeyutils. */
extern const struct tt_keyops tt_keyutils_ops;

#endif
