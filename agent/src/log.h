/* SPDX-License-Identifier: GPL-2.0-only */
#ifndef TT_LOG_H
#define TT_LOG_H

#include <stdbool.h>
#include <syslog.h>

enum tt_log_target {
	TT_LOG_STDERR,
	TT_LOG_SYSLOG,
};

/* Levels are syslog priorities: LOG_ERR .. LOG_DEBUG. */
void tt_log_init(const char *ident, enum tt_log_target target, int level);
void tt_log_set_level(int level);
int tt_log_get_level(void);
void tt_log_set_target(enum tt_log_target target);
/* Prefix for messages of this process (e.g. "[1234] "); NULL clears. */
void tt_log_set_prefix(const char *prefix);

void tt_log(int level, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

#define tt_err(...)	tt_log(LOG_ERR, __VA_ARGS__)
#define tt_warn(...)	tt_log(LOG_WARNING, __VA_ARGS__)
#define tt_notice(...)	tt_log(LOG_NOTICE, __VA_ARGS__)
#define tt_info(...)	tt_log(LOG_INFO, __VA_ARGS__)
#define tt_debug(...)	tt_log(LOG_DEBUG, __VA_ARGS__)

/* "error", "warning", "notice", "info", "debug" -> level, or -1. */
int tt_log_level_from_name(const char *name);
const char *tt_log_level_name(int level);

#endif
