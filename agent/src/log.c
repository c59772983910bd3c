// SPDX-License-Identifier: GPL-2.0-only
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <strings.h>

#include "log.h"

static enum tt_log_target log_target = TT_LOG_STDERR;
static int log_level = LOG_INFO;
static const char *log_ident = "tlstagd";
static char log_prefix[64];

static const struct {
	const char	*name;
	int		level;
} level_names[] = {
	{ "error", LOG_ERR },
	{ "warning", LOG_WARNING },
	{ "notice", LOG_NOTICE },
	{ "info", LOG_INFO },
	{ "debug", LOG_DEBUG },
};

int tt_log_level_from_name(const char *name)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (strcasecmp(name, level_names[i].name) == 0)
			return level_names[i].level;
	return -1;
}

const char *tt_log_level_name(int level)
{
	for (size_t i = 0; i < sizeof(level_names) / sizeof(level_names[0]); i++)
		if (level_names[i].level == level)
			return level_names[i].name;
	return level < LOG_ERR ? "error" : "debug";
}

void tt_log_init(const char *ident, enum tt_log_target target, int level)
{
	if (ident)
		log_ident = ident;
	tt_log_set_target(target);
	log_level = level;
}

void tt_log_set_target(enum tt_log_target target)
{
	if (target == TT_LOG_SYSLOG && log_target != TT_LOG_SYSLOG)
		openlog(log_ident, LOG_PID | LOG_NDELAY, LOG_DAEMON);
	else if (target != TT_LOG_SYSLOG && log_target == TT_LOG_SYSLOG)
		closelog();
	log_target = target;
}

void tt_log_set_level(int level)
{
	log_level = level;
}

int tt_log_get_level(void)
{
	return log_level;
}

void tt_log_set_prefix(const char *prefix)
{
	snprintf(log_prefix, sizeof(log_prefix), "%s", prefix ? prefix : "");
}

void tt_log(int level, const char *fmt, ...)
{
	char msg[1024];
	va_list ap;

	if (level > log_level)
		return;
	va_start(ap, fmt);
	vsnprintf(msg, sizeof(msg), fmt, ap);
	va_end(ap);
	if (log_target == TT_LOG_SYSLOG)
		syslog(level, "%s%s", log_prefix, msg);
	else
		fprintf(stderr, "%s: %s%s%s\n", log_ident,
			level <= LOG_ERR ? "error: " :
			level == LOG_WARNING ? "warning: " : "",
			log_prefix, msg);
}
