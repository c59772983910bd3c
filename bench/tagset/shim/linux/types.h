/* SPDX-License-Identifier: GPL-2.0-only */
/* Userspace stand-ins for what lib/tagset.c needs from the kernel. */
#ifndef BENCH_SHIM_LINUX_TYPES_H
#define BENCH_SHIM_LINUX_TYPES_H
#include <stdbool.h>
#include <stddef.h>
typedef unsigned int gfp_t;
#define GFP_KERNEL 0u
#endif
