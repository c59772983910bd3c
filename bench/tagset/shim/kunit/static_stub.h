/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef BENCH_SHIM_KUNIT_STATIC_STUB_H
#define BENCH_SHIM_KUNIT_STATIC_STUB_H
#define KUNIT_STATIC_STUB_REDIRECT(real_fn_name, args...) do {} while (0)
#endif
