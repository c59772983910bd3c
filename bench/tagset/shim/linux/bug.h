/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef BENCH_SHIM_LINUX_BUG_H
#define BENCH_SHIM_LINUX_BUG_H
#include <stdio.h>
#define WARN_ON_ONCE(cond) ({						\
	static bool __warned;						\
	bool __c = !!(cond);						\
	if (__c && !__warned) {						\
		__warned = true;					\
		fprintf(stderr, "WARNING at %s:%d\n", __FILE__, __LINE__); \
	}								\
	__c;								\
})
#endif
