// SPDX-License-Identifier: GPL-2.0-only
/* The counting allocation wrappers of failalloc.h. */
#define TP_FAILALLOC_IMPL
#include "failalloc.h"

unsigned long tp_fa_fail_at;
unsigned long tp_fa_calls;
int tp_fa_failed;

static int should_fail(void)
{
	tp_fa_calls++;
	if (tp_fa_fail_at && tp_fa_calls == tp_fa_fail_at) {
		tp_fa_failed = 1;
		return 1;
	}
	return 0;
}

void *tp_fa_malloc(size_t size)
{
	return should_fail() ? NULL : malloc(size);
}

void *tp_fa_calloc(size_t n, size_t size)
{
	return should_fail() ? NULL : calloc(n, size);
}

void *tp_fa_realloc(void *p, size_t size)
{
	return should_fail() ? NULL : realloc(p, size);
}

char *tp_fa_strdup(const char *s)
{
	return should_fail() ? NULL : strdup(s);
}

int tp_fa_vasprintf(char **out, const char *fmt, va_list ap)
{
	if (should_fail()) {
		*out = NULL;
		return -1;
	}
	return vasprintf(out, fmt, ap);
}

int tp_fa_asprintf(char **out, const char *fmt, ...)
{
	va_list ap;
	int r;

	va_start(ap, fmt);
	r = tp_fa_vasprintf(out, fmt, ap);
	va_end(ap);
	return r;
}
