// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the generic netlink controller replies (GETFAMILY,
 * the GETPOLICY dump that decides tag support), READY notifications and
 * ACKs.
 */
#include <stdint.h>
#include <string.h>

#include "hs_uapi.h"
#include "nlcodec.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	static unsigned char buf[TT_NL_BUFSIZE] __attribute__((aligned(4)));
	struct tt_policy_probe probe;
	struct tt_family fam;
	char msg[128];
	uint32_t maxlen;
	int ret;

	if (size > sizeof(buf) || size < 1)
		return 0;
	memcpy(buf, data, size);

	tt_policy_probe_init(&probe, 0x1f, TT_HS_CMD_DONE, TT_HS_A_DONE_TAG);
	ret = tt_policy_probe_feed(&probe, buf, size);
	/* A failed parse must never report support. */
	if (ret < 0 && tt_policy_probe_has_attr(&probe, &maxlen))
		__builtin_trap();
	/* Feeding more after an error keeps failing. */
	if (ret < 0 && tt_policy_probe_feed(&probe, buf, size) >= 0)
		__builtin_trap();

	(void)tt_nl_parse_getfamily(buf, size, 5, &fam);
	(void)tt_nl_count_ready(buf, size, 0x1f, TT_HS_HANDLER_CLASS_TLSHD);
	(void)tt_nl_parse_ack(buf, size, 4242, msg, sizeof(msg));
	if (strnlen(msg, sizeof(msg)) == sizeof(msg))
		__builtin_trap();
	return 0;
}
