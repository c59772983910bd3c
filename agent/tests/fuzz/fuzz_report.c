// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: a handshake child's RESULT as the parent reads it
 * (the child is untrusted: it parsed the peer's data). Whatever the bytes,
 * the decoder either refuses them or gives a result whose strings lie in
 * the buffer, are NUL-terminated and within their limits; a result that
 * passes the check has at most max-tags strictly sorted tags of the
 * policy, only with a certificate, and names no key on a certificate
 * session. A decoded result re-encodes to the very same bytes.
 */
#include <stdint.h>
#include <stdlib.h>
#include <string.h>

#include "hs_uapi.h"
#include "report.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

static const char yml[] =
	"filters:\n  any:\n    type: x509.tbs.subject\n    pattern: \"*\"\n"
	"tags:\n  alice:\n    filter: [any]\n  staff:\n    filter: [any]\n";

static bool even_psk(int32_t serial)
{
	return serial > 0 && serial % 2 == 0;
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static struct tp_policy *pol;
	static unsigned char buf[TT_REPORT_BUFSIZE], again[TT_REPORT_BUFSIZE];
	struct tt_accept acc = { .auth_mode = TT_HS_AUTH_X509, .max_tags = 2,
				 .peerids = { 3 }, .npeerids = 1 };
	struct tt_report_ctx ctx = { .acc = &acc, .is_psk = even_psk };
	struct tt_report_result r;
	char why[256];
	size_t n;

	if (!pol) {
		struct tp_diag diag = { 0 };

		if (tp_policy_load_buffer("fuzz", yml, sizeof(yml) - 1, &pol,
					  &diag) < 0)
			abort();
		tp_diag_free(&diag);
	}
	ctx.policy = pol;
	if (size < 1 || size - 1 > sizeof(buf))
		return 0;
	acc.auth_mode = data[0] % 4;
	memcpy(buf, data + 1, size - 1);
	if (tt_report_decode(buf, size - 1, &r, why, sizeof(why)) < 0)
		return 0;
	if (strlen(r.peer) > TT_REPORT_TEXT_MAX ||
	    strlen(r.reason) > TT_REPORT_TEXT_MAX || r.ntags > TT_REPORT_MAX_TAGS)
		abort();
	for (unsigned int i = 0; i < r.ntags; i++) {
		size_t l = strlen(r.tags[i]);

		if (l == 0 || l > TP_NAME_MAX ||
		    (const unsigned char *)r.tags[i] < buf ||
		    (const unsigned char *)r.tags[i] + l >= buf + size - 1)
			abort();
	}
	if (r.peer_der_len > TT_REPORT_DER_MAX ||
	    (r.peer_der_len && (r.peer_der < buf ||
				r.peer_der + r.peer_der_len > buf + size - 1)))
		abort();
	n = tt_report_encode(again, sizeof(again), &r);
	if (n != size - 1 || memcmp(again, data + 1, n) != 0)
		abort();
	if (tt_report_check(&r, &ctx, why, sizeof(why)) == 0) {
		if (r.ntags > acc.max_tags || r.status > TT_STATUS_MAX)
			abort();
		for (unsigned int i = 0; i < r.ntags; i++)
			if (!tp_policy_has_tag(pol, r.tags[i]) ||
			    (i && strcmp(r.tags[i - 1], r.tags[i]) >= 0) ||
			    acc.auth_mode == TT_HS_AUTH_PSK ||
			    !r.peer_der_len)
				abort();
		if (acc.auth_mode != TT_HS_AUTH_PSK && r.has_remote_auth)
			abort();
	}
	return 0;
}
