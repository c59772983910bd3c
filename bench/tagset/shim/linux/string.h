/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef BENCH_SHIM_LINUX_STRING_H
#define BENCH_SHIM_LINUX_STRING_H
#include <string.h>
#endif
