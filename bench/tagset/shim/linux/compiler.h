/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef BENCH_SHIM_LINUX_COMPILER_H
#define BENCH_SHIM_LINUX_COMPILER_H
#define __must_check __attribute__((warn_unused_result))
/* No kernel configuration options are enabled in the shim */
#define IS_ENABLED(option) 0
#endif
