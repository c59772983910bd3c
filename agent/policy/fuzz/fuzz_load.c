// SPDX-License-Identifier: GPL-2.0-only
/*
 * libFuzzer target: the tags.d YAML loader on arbitrary bytes.
 * Checks the loader's contract as well as memory safety: a successful
 * load has no errors, a failed one has no policy and says why.
 */
#include <errno.h>
#include <stdint.h>
#include <stdio.h>
#include <string.h>

#include "tagpolicy.h"

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
	struct tp_policy *p = (struct tp_policy *)1;
	struct tp_diag d;
	int r = tp_policy_load_buffer("fuzz.yml", (const char *)data, size,
				      &p, &d);

	if (r == 0) {
		/* Warnings and tlshd notes may come with a policy. */
		if (!p || tp_diag_count(&d, TP_ERROR) != 0)
			__builtin_trap();
		/* Counts must be consistent with a usable policy. */
		(void)tp_policy_tag_count(p);
		(void)tp_policy_filter_count(p);
	} else {
		if (p || (r == -EINVAL && tp_diag_count(&d, TP_ERROR) == 0))
			__builtin_trap();
		for (size_t i = 0; i < d.count; i++)
			if (!d.errors[i].file || !d.errors[i].msg ||
			    strcmp(d.errors[i].file, "fuzz.yml") != 0)
				__builtin_trap();
	}
	tp_policy_free(p);
	tp_diag_free(&d);
	return 0;
}
