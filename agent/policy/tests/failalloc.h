/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Forced into every library source (-include) for the allocation-failure
 * test build: the engine's own allocations go through counting wrappers
 * that can be told to fail the Nth call. GnuTLS's and libyaml's internal
 * allocations are not affected.
 */
#ifndef TP_FAILALLOC_H
#define TP_FAILALLOC_H

#define _GNU_SOURCE
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

void *tp_fa_malloc(size_t size);
void *tp_fa_calloc(size_t n, size_t size);
void *tp_fa_realloc(void *p, size_t size);
char *tp_fa_strdup(const char *s);
int tp_fa_vasprintf(char **out, const char *fmt, va_list ap);
int tp_fa_asprintf(char **out, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

/* 0: never fail; N: fail the Nth allocation from now on (once). */
extern unsigned long tp_fa_fail_at;
/* Allocations made (counting the failed one). */
extern unsigned long tp_fa_calls;
extern int tp_fa_failed;

#ifndef TP_FAILALLOC_IMPL
#define malloc tp_fa_malloc
#define calloc tp_fa_calloc
#define realloc tp_fa_realloc
#define strdup tp_fa_strdup
#define vasprintf tp_fa_vasprintf
#define asprintf tp_fa_asprintf
#endif

#endif /* TP_FAILALLOC_H */
