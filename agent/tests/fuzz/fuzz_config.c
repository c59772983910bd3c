// SPDX-License-Identifier: GPL-2.0-only
/* libFuzzer target: the main configuration loader (parse + validate). */
#include <stdint.h>
#include <stdio.h>

#include "config.h"
#include "runtime.h"
#include "log.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tt_diag diag = { 0 };
	struct tt_config cfg;
	static FILE *devnull;

	if (!devnull)
		devnull = fopen("/dev/null", "w");
	if (tt_config_parse_buffer("/etc/tlstagd/fuzz.conf",
				   (const char *)data, size, &cfg,
				   &diag) == 0) {
		if (diag.count)
			__builtin_trap();	/* success with errors */
		tt_config_free(&cfg);
	} else if (diag.count == 0) {
		__builtin_trap();		/* failure without a reason */
	}
	if (devnull)
		tt_diag_print(&diag, devnull);
	tt_diag_free(&diag);
	return 0;
}
