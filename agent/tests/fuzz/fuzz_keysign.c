// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: a handshake child's signature request as the key
 * holder reads it (the child is untrusted). Whatever the bytes, the check
 * refuses them or passes a request whose length matches its framing, whose
 * scheme is a TLS 1.3 one for the key (for ECDSA its curve's), whose
 * digest has that scheme's length, or whose EdDSA content is a TLS 1.3
 * CertificateVerify of the key's side.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>

#include "keyholder.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static const struct tt_kh_key keys[] = {
		{ .pk = GNUTLS_PK_ECDSA, .curve = GNUTLS_ECC_CURVE_SECP256R1 },
		{ .pk = GNUTLS_PK_RSA, .server = true },
		{ .pk = GNUTLS_PK_RSA_PSS },
		{ .pk = GNUTLS_PK_EDDSA_ED25519 },
		{ .pk = GNUTLS_PK_EDDSA_ED25519, .server = true },
	};
	size_t hdr = offsetof(struct tt_kh_sign_req, data);
	struct tt_kh_sign_req req;
	char why[160];

	for (size_t i = 0; i < sizeof(keys) / sizeof(keys[0]); i++) {
		const struct tt_kh_key *k = &keys[i];

		if (tt_kh_check_sign(data, size, k, &req, why,
				     sizeof(why)) < 0) {
			if (!memchr(why, '\0', sizeof(why)))
				abort();
			continue;
		}
		if (size != hdr + req.len || req.len == 0 ||
		    req.len > TT_KH_MAX_DATA ||
		    !gnutls_sign_supports_pk_algorithm(req.algo, k->pk))
			abort();
		if (k->pk == GNUTLS_PK_ECDSA &&
		    req.algo != GNUTLS_SIGN_ECDSA_SECP256R1_SHA256)
			abort();
		if (req.kind == TT_KH_HASH &&
		    req.len != (uint32_t)gnutls_hash_get_len(
				gnutls_sign_get_hash_algorithm(req.algo)))
			abort();
		if (req.kind == TT_KH_DATA &&
		    (req.len < 64 + 34 + 32 || req.data[0] != ' ' ||
		     req.algo != GNUTLS_SIGN_EDDSA_ED25519 ||
		     memcmp(req.data + 64, k->server ? "TLS 1.3, server" :
			    "TLS 1.3, client", 15) != 0))
			abort();
		if (req.kind != TT_KH_HASH && req.kind != TT_KH_DATA)
			abort();
	}
	return 0;
}
