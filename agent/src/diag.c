// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>

#include "diag.h"
#include "log.h"

void tt_diag_add(struct tt_diag *d, const char *file, unsigned int line,
		 const char *fmt, ...)
{
	struct tt_diag_entry *n;
	va_list ap;
	char *msg;

	va_start(ap, fmt);
	if (vasprintf(&msg, fmt, ap) < 0)
		msg = NULL;
	va_end(ap);
	n = realloc(d->entries, (d->count + 1) * sizeof(*n));
	if (!n || !msg) {
		free(msg);
		if (n)
			d->entries = n;
		return;		/* out of memory: the entry is lost */
	}
	d->entries = n;
	n[d->count].file = strdup(file ? file : "<config>");
	n[d->count].line = line;
	n[d->count].msg = msg;
	d->count++;
}

void tt_diag_free(struct tt_diag *d)
{
	for (size_t i = 0; i < d->count; i++) {
		free(d->entries[i].file);
		free(d->entries[i].msg);
	}
	free(d->entries);
	d->entries = NULL;
	d->count = 0;
}

static void format_entry(const struct tt_diag_entry *e, char *buf, size_t len)
{
	if (e->line)
		snprintf(buf, len, "%s:%u: %s", e->file ? e->file : "?",
			 e->line, e->msg);
	else
		snprintf(buf, len, "%s: %s", e->file ? e->file : "?", e->msg);
}

void tt_diag_print(const struct tt_diag *d, FILE *out)
{
	char buf[1024];

	for (size_t i = 0; i < d->count; i++) {
		format_entry(&d->entries[i], buf, sizeof(buf));
		fprintf(out, "%s\n", buf);
	}
}

void tt_diag_log(const struct tt_diag *d)
{
	char buf[1024];

	for (size_t i = 0; i < d->count; i++) {
		format_entry(&d->entries[i], buf, sizeof(buf));
		tt_err("%s", buf);
	}
}

void tt_diag_log_warnings(const struct tt_diag *d)
{
	char buf[1024];

	for (size_t i = 0; i < d->count; i++) {
		format_entry(&d->entries[i], buf, sizeof(buf));
		tt_warn("%s", buf);
	}
}
