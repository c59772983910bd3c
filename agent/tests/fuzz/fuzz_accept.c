// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer target: the ACCEPT reply parser (one or two datagrams). */
#include <stdint.h>
#include <string.h>

#include "handshake.h"
#include "nlcodec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char buf[TT_NL_BUFSIZE] __attribute__((aligned(4)));
	struct tt_accept acc;
	struct tt_hs_params p;
	unsigned int flags = 0;
	size_t split;
	int ret;

	if (size > sizeof(buf) || size < 1)
		return 0;
	/* The kernel hands us aligned datagrams; so does recv(). */
	memcpy(buf, data, size);
	ret = tt_nl_parse_accept(buf, size, 0x1f, 4242, &acc, &flags);
	/* The descriptor of a refused reply: -1 or a valid number. */
	if (ret < 0 && tt_nl_accept_sockfd(buf, size, 0x1f, 4242) < -1)
		__builtin_trap();
	if (ret == 0 && (flags & TT_ACCEPT_GOT_REPLY)) {
		tt_hs_params_from_accept(&acc, &p);
		/* The peername, when present, is a terminated string. */
		if (p.peername && strlen(p.peername) > TT_PEERNAME_MAX)
			__builtin_trap();
		if (acc.npeerids > TT_MAX_PEERIDS)
			__builtin_trap();
	}
	/* As a second datagram after a first reply (the ACK path). */
	split = buf[0] % 64;
	if (ret == 0 && split < size) {
		memmove(buf, buf + split, size - split);
		(void)tt_nl_parse_accept(buf, size - split, 0x1f, 4242, &acc,
					 &flags);
	}
	return 0;
}
