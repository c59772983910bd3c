/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef BENCH_SHIM_LINUX_SLAB_H
#define BENCH_SHIM_LINUX_SLAB_H
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <linux/types.h>

/* The kernel's kmalloc(0) returns this non-NULL, unusable pointer */
#define ZERO_SIZE_PTR ((void *)16)

static inline void *kmalloc_array(size_t n, size_t size, gfp_t gfp)
{
	(void)gfp;
	if (size && n > SIZE_MAX / size)
		return NULL;
	if (!n || !size)
		return ZERO_SIZE_PTR;
	return malloc(n * size);
}

static inline void kfree(const void *p)
{
	if (p != ZERO_SIZE_PTR)
		free((void *)p);
}

static inline char *kstrdup(const char *s, gfp_t gfp)
{
	(void)gfp;
	return s ? strdup(s) : NULL;
}
#endif
