/* SPDX-License-Identifier: GPL-2.0-only */
/* A list of "file:line: reason" diagnostics. */
#ifndef TT_DIAG_H
#define TT_DIAG_H

#include <stddef.h>
#include <stdio.h>

struct tt_diag_entry {
	char		*file;
	unsigned int	line;	/* 0: not tied to a line */
	char		*msg;
};

struct tt_diag {
	struct tt_diag_entry	*entries;
	size_t			count;
};

void tt_diag_add(struct tt_diag *d, const char *file, unsigned int line,
		 const char *fmt, ...) __attribute__((format(printf, 4, 5)));
void tt_diag_free(struct tt_diag *d);
/* One "file:line: msg" (or "file: msg") line per entry. */
void tt_diag_print(const struct tt_diag *d, FILE *out);
/* Logs every entry at error level. */
void tt_diag_log(const struct tt_diag *d);
/* Logs every entry at warning level. */
void tt_diag_log_warnings(const struct tt_diag *d);

#endif
