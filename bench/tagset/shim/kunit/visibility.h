/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef BENCH_SHIM_KUNIT_VISIBILITY_H
#define BENCH_SHIM_KUNIT_VISIBILITY_H
#define VISIBLE_IF_KUNIT static
#define EXPORT_SYMBOL_IF_KUNIT(symbol)
#endif
