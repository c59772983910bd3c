// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the DONE builder. The input is turned into a DONE
 * (status, sockfd, remote-auth, tags, the kernel's limits); the built
 * message is read back the way net/handshake reads it and must say
 * exactly what the builder promised: STATUS, SOCKFD, REMOTE_AUTH..., then
 * at most max-tags tags, each non-empty, NUL-terminated, without another
 * NUL, within the length limit, none when the status is not 0 or the
 * kernel lacks tag support.
 */
#include <stdbool.h>
#include <stdint.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>

#include "hs_uapi.h"
#include "nlcodec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define MAXT	80

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char buf[TT_NL_BUFSIZE] __attribute__((aligned(4)));
	static char text[4096];
	const char *tags[MAXT];
	uint32_t ra[2] = { 11, 22 };
	struct tt_done d = { 0 };
	struct tt_done_stats st;
	const struct nlmsghdr *nlh;
	const struct nlattr *a;
	unsigned int ntags = 0, nra = 0, order = 0, sent = 0;
	size_t len, tlen;
	char *p;

	if (size < 8 || size - 8 >= sizeof(text))
		return 0;
	d.status = data[0] < 200 ? 0 : (uint32_t)data[0] * 40;
	d.sockfd = data[1];
	d.nremote_auth = data[2] % 3;
	d.remote_auth = ra;
	d.tags_supported = data[3] & 1;
	d.max_tags = data[4] % 70;
	d.tag_max_len = data[5] < 128 ? 0 : data[5];
	/* The rest: tags separated by ',' (empty ones allowed). */
	memcpy(text, data + 8, size - 8);
	text[size - 8] = '\0';
	for (p = text; ntags < MAXT;) {
		char *c = strchr(p, ',');

		tags[ntags++] = p;
		if (!c)
			break;
		*c = '\0';
		p = c + 1;
	}
	d.tags = tags;
	d.ntags = data[6] & 1 ? ntags : 0;

	len = tt_nl_build_done(buf, data[7] & 1 ? sizeof(buf) : 64 + size,
			       77, 0x1f, &d, &st);
	if (!len)
		return 0;
	nlh = (const void *)buf;
	if (nlh->nlmsg_len != len || len > sizeof(buf))
		__builtin_trap();
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		uint16_t type = mnl_attr_get_type(a);
		const char *t = mnl_attr_get_payload(a);

		switch (type) {
		case TT_HS_A_DONE_STATUS:
			if (order != 0 || mnl_attr_get_u32(a) > TT_HS_MAX_ERRNO)
				__builtin_trap();
			order = 1;
			break;
		case TT_HS_A_DONE_SOCKFD:
			if (order != 1 ||
			    (int32_t)mnl_attr_get_u32(a) != d.sockfd)
				__builtin_trap();
			order = 2;
			break;
		case TT_HS_A_DONE_REMOTE_AUTH:
			if (order != 2 || mnl_attr_get_u32(a) != ra[nra++])
				__builtin_trap();
			break;
		case TT_HS_A_DONE_TAG:
			if (order < 2 || d.status || !d.tags_supported)
				__builtin_trap();
			order = 3;
			tlen = mnl_attr_get_payload_len(a);
			if (tlen < 2 || t[tlen - 1] != '\0' ||
			    memchr(t, '\0', tlen - 1) ||
			    tlen - 1 > TT_HS_SESSION_TAG_MAX_LEN ||
			    (d.tag_max_len && tlen - 1 > d.tag_max_len))
				__builtin_trap();
			sent++;
			break;
		default:
			__builtin_trap();
		}
	}
	if (order < 2 || nra != d.nremote_auth || sent != st.tags_sent ||
	    sent > d.max_tags ||
	    (d.status == 0 && d.tags_supported &&
	     st.tags_sent + st.tags_over_limit + st.tags_invalid != d.ntags))
		__builtin_trap();
	return 0;
}
