// SPDX-License-Identifier: GPL-2.0-only
/*
 * Wildcard patterns, names and times of the tags.d format.
 */
#define _GNU_SOURCE
#include <string.h>
#include <stdio.h>
#include <time.h>

#include "tp_internal.h"

size_t tp_pattern_wildcards(const char *pattern)
{
	size_t n = 0;

	for (; *pattern; pattern++)
		if (*pattern == '*' || *pattern == '?')
			n++;
	return n;
}

/*
 * The length of the character at @t: a whole UTF-8 sequence, or one byte
 * where none starts (ASCII, or bytes that are not valid UTF-8).
 */
static size_t char_len(const char *t)
{
	const unsigned char *u = (const unsigned char *)t;
	size_t n;

	if (u[0] < 0xc2 || u[0] > 0xf4)
		return 1;
	n = u[0] >= 0xf0 ? 4 : u[0] >= 0xe0 ? 3 : 2;
	for (size_t i = 1; i < n; i++)
		if ((u[i] & 0xc0) != 0x80)	/* also stops at the NUL */
			return 1;
	return n;
}

/*
 * Matches @text against @pattern, where '*' stands for any run of
 * characters (including none) and '?' for exactly one character, a UTF-8
 * sequence or a byte outside one, as tlshd's GLib patterns count them;
 * every other byte stands for itself. The walk is iterative: on a
 * mismatch it only ever returns to the most recent '*', which is enough
 * because a later star can absorb anything an earlier one could. Cost is
 * O(len(pattern) * len(text)) at worst, never exponential.
 */
bool tp_pattern_match(const char *pattern, const char *text)
{
	const char *p = pattern, *t = text;
	const char *star_p = NULL, *star_t = NULL;

	while (*t) {
		if (*p == '*') {
			/* Collapse runs of stars; remember where to resume. */
			while (*p == '*')
				p++;
			if (!*p)
				return true;
			star_p = p;
			star_t = t;
		} else if (*p == '?') {
			p++;
			t += char_len(t);
		} else if (*p && *p == *t) {
			p++;
			t++;
		} else if (star_p) {
			/* Let the last star absorb one more character; retry. */
			star_t += char_len(star_t);
			p = star_p;
			t = star_t;
		} else {
			return false;
		}
	}
	while (*p == '*')
		p++;
	return *p == '\0';
}

void tp_pattern_compile(const char *pattern, struct tp_cpattern *cp)
{
	size_t stars = 0, qmarks = 0, star_at = 0, len = 0;

	for (const char *c = pattern; *c; c++, len++) {
		if (*c == '*') {
			stars++;
			star_at = len;
		} else if (*c == '?') {
			qmarks++;
		}
	}
	cp->len = len;
	cp->wildcards = stars + qmarks;
	cp->prefix = 0;
	if (stars + qmarks == 0) {
		cp->kind = TP_P_LITERAL;
	} else if (stars == 1 && qmarks == 0 &&
		   ((unsigned char)pattern[star_at + 1] & 0xc0) != 0x80) {
		/*
		 * "P*S" by prefix and suffix, unless S starts inside a UTF-8
		 * character: the star absorbs whole characters only.
		 */
		cp->kind = TP_P_STAR;
		cp->prefix = star_at;
	} else {
		cp->kind = TP_P_GENERAL;
	}
}

bool tp_cpattern_match(const char *pattern, const struct tp_cpattern *cp,
		       const char *text, size_t len)
{
	size_t suffix;

	switch (cp->kind) {
	case TP_P_LITERAL:
		return len == cp->len && memcmp(pattern, text, len) == 0;
	case TP_P_STAR:
		/* "P*S" holds when the text starts with P and ends with S. */
		suffix = cp->len - cp->prefix - 1;
		return len >= cp->prefix + suffix &&
		       memcmp(pattern, text, cp->prefix) == 0 &&
		       memcmp(pattern + cp->prefix + 1, text + len - suffix,
			      suffix) == 0;
	case TP_P_GENERAL:
		break;
	}
	return tp_pattern_match(pattern, text);
}

bool tp_name_valid(const char *name)
{
	size_t len = 0;

	for (const char *c = name; *c; c++, len++) {
		if (!((*c >= 'A' && *c <= 'Z') || (*c >= 'a' && *c <= 'z') ||
		      (*c >= '0' && *c <= '9') || *c == '_' || *c == '-'))
			return false;
	}
	return len >= 1 && len <= TP_NAME_MAX;
}

/* Between @min and @max decimal digits, into @out. */
static bool take_digits(const char **s, int min, int max, int *out)
{
	int v = 0, i;

	for (i = 0; i < max && (*s)[i] >= '0' && (*s)[i] <= '9'; i++)
		v = v * 10 + ((*s)[i] - '0');
	if (i < min)
		return false;
	*s += i;
	*out = v;
	return true;
}

static bool take_char(const char **s, char c)
{
	if (**s != c)
		return false;
	(*s)++;
	return true;
}

static size_t skip_blanks(const char **s)
{
	size_t n = 0;

	while (**s == ' ' || **s == '\t') {
		(*s)++;
		n++;
	}
	return n;
}

/* A zone suffix that says UTC, and nothing after it but blanks. */
static bool utc_suffix(const char *s)
{
	static const char *const utc[] = {
		"Z", "UTC", "GMT", "+00:00", "+0000", "+00",
	};

	skip_blanks(&s);
	if (*s == '\0')
		return true;
	for (size_t i = 0; i < sizeof(utc) / sizeof(utc[0]); i++) {
		size_t l = strlen(utc[i]);
		const char *rest = s + l;

		if (strncmp(s, utc[i], l) == 0) {
			skip_blanks(&rest);
			if (*rest == '\0')
				return true;
		}
	}
	return false;
}

bool tp_parse_time(const char *text, time_t *out)
{
	const char *s = text;
	int year, mon, day, hour, min, sec;
	struct tm tm = { 0 }, back;
	time_t t;

	skip_blanks(&s);
	if (!take_digits(&s, 4, 4, &year) || !take_char(&s, '-') ||
	    !take_digits(&s, 1, 2, &mon) || !take_char(&s, '-') ||
	    !take_digits(&s, 1, 2, &day) || skip_blanks(&s) == 0 ||
	    !take_digits(&s, 1, 2, &hour) || !take_char(&s, ':') ||
	    !take_digits(&s, 1, 2, &min) || !take_char(&s, ':') ||
	    !take_digits(&s, 1, 2, &sec) || !utc_suffix(s))
		return false;
	/* A leap second, as strptime(3) allows it, is the next second. */
	if (mon < 1 || mon > 12 || day < 1 || day > 31 || hour > 23 ||
	    min > 59 || sec > 60)
		return false;

	tm.tm_year = year - 1900;
	tm.tm_mon = mon - 1;
	tm.tm_mday = day;
	tm.tm_hour = hour;
	tm.tm_min = min;
	tm.tm_sec = sec == 60 ? 59 : sec;
	t = timegm(&tm);
	/* Reject dates timegm normalised, such as February 30th. */
	if (!gmtime_r(&t, &back) || back.tm_year != year - 1900 ||
	    back.tm_mon != mon - 1 || back.tm_mday != day)
		return false;
	*out = t + (sec == 60);
	return true;
}

void tp_format_time(time_t t, char *buf, size_t size)
{
	struct tm tm;

	if (!gmtime_r(&t, &tm) ||
	    strftime(buf, size, "%Y-%m-%d %H:%M:%S", &tm) == 0)
		snprintf(buf, size, "@%lld", (long long)t);
}
