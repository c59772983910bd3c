/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef BENCH_SHIM_LINUX_EXPORT_H
#define BENCH_SHIM_LINUX_EXPORT_H
#define EXPORT_SYMBOL_GPL(sym)
#endif
