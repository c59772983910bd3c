/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef BENCH_SHIM_LINUX_BSEARCH_H
#define BENCH_SHIM_LINUX_BSEARCH_H
#include <stdlib.h>	/* bsearch() has the kernel's signature */
#endif
