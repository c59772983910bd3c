// SPDX-License-Identifier: GPL-2.0-only
/*
 * Kernel TLS installation from a finished GnuTLS TLS 1.3 session.
 */
#include <errno.h>
#include <stdbool.h>
#include <stdio.h>
#include <string.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <sys/socket.h>

#include <linux/tls.h>

#include <gnutls/socket.h>

#include "ktls.h"
#include "log.h"

#ifndef SOL_TLS
#define SOL_TLS 282
#endif
#ifndef TCP_ULP
#define TCP_ULP 31
#endif

int tt_ktls_unavailable(int err)
{
	return err == -ENOENT || err == -ENOPROTOOPT || err == -EOPNOTSUPP ||
	       err == -ENOTSUP || err == -ENOTSOCK;
}

union crypto_info {
	struct tls_crypto_info			base;
	struct tls12_crypto_info_aes_gcm_128	gcm128;
	struct tls12_crypto_info_aes_gcm_256	gcm256;
	struct tls12_crypto_info_chacha20_poly1305 chacha;
	struct tls12_crypto_info_aes_ccm_128	ccm128;
};

/*
 * TLS 1.3 AEAD nonces are 12 bytes. The kernel splits them for AES-GCM
 * and AES-CCM into a 4-byte salt and an 8-byte IV; ChaCha20-Poly1305
 * takes all 12 as IV.
 */
static int fill_info(gnutls_session_t session, int read, union crypto_info *ci,
		     size_t *size, char *why, size_t len)
{
	gnutls_cipher_algorithm_t cipher = gnutls_cipher_get(session);
	gnutls_datum_t mac, iv, key;
	unsigned char seq[8];
	int ret;

	ret = gnutls_record_get_state(session, read, &mac, &iv, &key, seq);
	if (ret < 0) {
		snprintf(why, len, "gnutls_record_get_state: %s",
			 gnutls_strerror(ret));
		return -EIO;
	}
	memset(ci, 0, sizeof(*ci));
	ci->base.version = TLS_1_3_VERSION;
	switch (cipher) {
	case GNUTLS_CIPHER_AES_128_GCM:
		if (key.size != TLS_CIPHER_AES_GCM_128_KEY_SIZE ||
		    iv.size != TLS_CIPHER_AES_GCM_128_SALT_SIZE +
			       TLS_CIPHER_AES_GCM_128_IV_SIZE)
			goto badsize;
		ci->base.cipher_type = TLS_CIPHER_AES_GCM_128;
		memcpy(ci->gcm128.salt, iv.data, TLS_CIPHER_AES_GCM_128_SALT_SIZE);
		memcpy(ci->gcm128.iv, iv.data + TLS_CIPHER_AES_GCM_128_SALT_SIZE,
		       TLS_CIPHER_AES_GCM_128_IV_SIZE);
		memcpy(ci->gcm128.key, key.data, key.size);
		memcpy(ci->gcm128.rec_seq, seq, sizeof(seq));
		*size = sizeof(ci->gcm128);
		break;
	case GNUTLS_CIPHER_AES_256_GCM:
		if (key.size != TLS_CIPHER_AES_GCM_256_KEY_SIZE ||
		    iv.size != TLS_CIPHER_AES_GCM_256_SALT_SIZE +
			       TLS_CIPHER_AES_GCM_256_IV_SIZE)
			goto badsize;
		ci->base.cipher_type = TLS_CIPHER_AES_GCM_256;
		memcpy(ci->gcm256.salt, iv.data, TLS_CIPHER_AES_GCM_256_SALT_SIZE);
		memcpy(ci->gcm256.iv, iv.data + TLS_CIPHER_AES_GCM_256_SALT_SIZE,
		       TLS_CIPHER_AES_GCM_256_IV_SIZE);
		memcpy(ci->gcm256.key, key.data, key.size);
		memcpy(ci->gcm256.rec_seq, seq, sizeof(seq));
		*size = sizeof(ci->gcm256);
		break;
	case GNUTLS_CIPHER_CHACHA20_POLY1305:
		if (key.size != TLS_CIPHER_CHACHA20_POLY1305_KEY_SIZE ||
		    iv.size != TLS_CIPHER_CHACHA20_POLY1305_IV_SIZE)
			goto badsize;
		ci->base.cipher_type = TLS_CIPHER_CHACHA20_POLY1305;
		memcpy(ci->chacha.iv, iv.data, iv.size);
		memcpy(ci->chacha.key, key.data, key.size);
		memcpy(ci->chacha.rec_seq, seq, sizeof(seq));
		*size = sizeof(ci->chacha);
		break;
	case GNUTLS_CIPHER_AES_128_CCM:
		if (key.size != TLS_CIPHER_AES_CCM_128_KEY_SIZE ||
		    iv.size != TLS_CIPHER_AES_CCM_128_SALT_SIZE +
			       TLS_CIPHER_AES_CCM_128_IV_SIZE)
			goto badsize;
		ci->base.cipher_type = TLS_CIPHER_AES_CCM_128;
		memcpy(ci->ccm128.salt, iv.data, TLS_CIPHER_AES_CCM_128_SALT_SIZE);
		memcpy(ci->ccm128.iv, iv.data + TLS_CIPHER_AES_CCM_128_SALT_SIZE,
		       TLS_CIPHER_AES_CCM_128_IV_SIZE);
		memcpy(ci->ccm128.key, key.data, key.size);
		memcpy(ci->ccm128.rec_seq, seq, sizeof(seq));
		*size = sizeof(ci->ccm128);
		break;
	default:
		snprintf(why, len, "cipher %s has no kTLS mapping",
			 gnutls_cipher_get_name(cipher));
		return -EOPNOTSUPP;
	}
	return 0;
badsize:
	snprintf(why, len, "unexpected key/IV size for %s",
		 gnutls_cipher_get_name(cipher));
	return -EIO;
}

static bool gnutls_ktls_noted;	/* said once per process */

/* The socket's upper layer is already "tls" (GnuTLS set it, no keys). */
static bool ulp_is_tls(int fd)
{
	char ulp[16] = "";
	socklen_t l = sizeof(ulp);

	return getsockopt(fd, SOL_TCP, TCP_ULP, ulp, &l) == 0 &&
	       strcmp(ulp, "tls") == 0;
}

int tt_ktls_install(gnutls_session_t session, int fd, char *why, size_t len)
{
	union crypto_info ci;
	size_t size;
	int ret;

	if (gnutls_protocol_get_version(session) != GNUTLS_TLS1_3) {
		snprintf(why, len, "not a TLS 1.3 session");
		return -EPROTO;
	}
	if (gnutls_record_check_pending(session) > 0) {
		snprintf(why, len, "GnuTLS holds unread application data");
		return -EPROTO;
	}
	/*
	 * GnuTLS's own kTLS (ktls = true in its system configuration) has
	 * already given the kernel the keys of the directions it could: both
	 * is what we would have done; one is a socket we cannot complete
	 * (the ULP is set) and must not hand over.
	 */
	switch (gnutls_transport_is_ktls_enabled(session)) {
	case GNUTLS_KTLS_DUPLEX:
		if (!gnutls_ktls_noted) {
			gnutls_ktls_noted = true;
			tt_notice("GnuTLS sets up kTLS itself (ktls = true in its system configuration); the agent uses its keys");
		}
		return 0;
	case GNUTLS_KTLS_SEND:
	case GNUTLS_KTLS_RECV:
		snprintf(why, len, "GnuTLS's own kTLS (ktls = true in its system configuration) set up only the %s direction",
			 gnutls_transport_is_ktls_enabled(session) ==
			 GNUTLS_KTLS_SEND ? "send" : "receive");
		return -EIO;
	default:
		break;
	}
	if (setsockopt(fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) < 0 &&
	    !(errno == EEXIST && ulp_is_tls(fd))) {
		ret = -errno;
		snprintf(why, len, "setsockopt(TCP_ULP, \"tls\"): %s",
			 strerror(errno));
		return ret;
	}
	ret = fill_info(session, 0, &ci, &size, why, len);
	if (ret == 0 && setsockopt(fd, SOL_TLS, TLS_TX, &ci, (socklen_t)size) < 0) {
		ret = -errno;
		snprintf(why, len, "setsockopt(TLS_TX): %s", strerror(errno));
	}
	if (ret == 0)
		ret = fill_info(session, 1, &ci, &size, why, len);
	if (ret == 0 && setsockopt(fd, SOL_TLS, TLS_RX, &ci, (socklen_t)size) < 0) {
		ret = -errno;
		snprintf(why, len, "setsockopt(TLS_RX): %s", strerror(errno));
	}
	explicit_bzero(&ci, sizeof(ci));
	return ret;
}
