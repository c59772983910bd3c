// SPDX-License-Identifier: GPL-2.0-or-later
/*
 * Host tests of the project's nfs-utils patches, linked against the
 * ASan/UBSan build of nfs-utils' own libraries (build/nfs-utils/asan):
 * the allow_tags= option as exports(5) and exportfs -o give it, the etab
 * round trip (putexportent() then getexportent()) up to 64 tags of 255
 * bytes, and the three answers of the kernel probe against a fake
 * kernel (write(2) is interposed below for the two cache channels).
 *
 * Prints one "ok N - ..." or "not ok N - ..." line per check and ends
 * with "N passed, N failed".
 */
#ifndef _GNU_SOURCE
#define _GNU_SOURCE
#endif
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <sys/syscall.h>
#include <unistd.h>

#include "nfslib.h"
#include "exportfs.h"
#include "xlog.h"

static int passed, failed;
static char dir[PATH_MAX];	/* scratch directory */

static void check(int cond, const char *fmt, ...)
{
	va_list ap;

	printf("%s %d - ", cond ? "ok" : "not ok", passed + failed + 1);
	va_start(ap, fmt);
	vprintf(fmt, ap);
	va_end(ap);
	putchar('\n');
	fflush(stdout);
	if (cond)
		passed++;
	else
		failed++;
}

/* ---- capturing what xlog() prints on stderr ---- */

static char errbuf[65536];
static int saved_stderr = -1;
static char errpath[PATH_MAX + 16];

static void capture_begin(void)
{
	int fd;

	fflush(stderr);
	snprintf(errpath, sizeof(errpath), "%s/stderr", dir);
	fd = open(errpath, O_WRONLY | O_CREAT | O_TRUNC, 0600);
	saved_stderr = dup(2);
	dup2(fd, 2);
	close(fd);
}

static const char *capture_end(void)
{
	FILE *f;
	size_t n;

	fflush(stderr);
	dup2(saved_stderr, 2);
	close(saved_stderr);
	f = fopen(errpath, "r");
	n = f ? fread(errbuf, 1, sizeof(errbuf) - 1, f) : 0;
	errbuf[n] = '\0';
	if (f)
		fclose(f);
	return errbuf;
}

/* ---- a fake kernel for the probe ---- */

enum fake_kernel {
	FAKE_OFF,		/* writes go where they go */
	FAKE_TAGS,		/* refuses "allow_tags 0" with EINVAL */
	FAKE_NOTAGS,		/* accepts everything */
	FAKE_NOEXPORT,		/* refuses every export downcall (EINVAL) */
	FAKE_ENOMEM,		/* refuses "allow_tags 0" with ENOMEM */
};
static enum fake_kernel fake = FAKE_OFF;
static int fake_exports_written;

static int fd_is(int fd, const char *suffix)
{
	char link[64], target[PATH_MAX];
	ssize_t n;
	size_t sl = strlen(suffix);

	snprintf(link, sizeof(link), "/proc/self/fd/%d", fd);
	n = readlink(link, target, sizeof(target) - 1);
	if (n < 0)
		return 0;
	target[n] = '\0';
	return (size_t)n >= sl && !strcmp(target + n - sl, suffix);
}

/* Interposes libc's write() for nfs-utils' static libraries. */
ssize_t write(int fd, const void *buf, size_t len)
{
	if (fake != FAKE_OFF && fd_is(fd, "/nfsd.export.channel")) {
		int probe = memmem(buf, len, " allow_tags 0\n", 14) != NULL;

		fake_exports_written++;
		if (fake == FAKE_NOEXPORT || (probe && fake == FAKE_TAGS)) {
			errno = EINVAL;
			return -1;
		}
		if (probe && fake == FAKE_ENOMEM) {
			errno = ENOMEM;
			return -1;
		}
	}
	return syscall(SYS_write, fd, buf, len);
}

/* ---- helpers ---- */

static char exports[PATH_MAX + 16];

static void write_file(const char *path, const char *text)
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(2);
	}
	fputs(text, f);
	fclose(f);
}

/*
 * Parse @text as an exports file: the first entry (or NULL) and what
 * was logged. The entry is static data of getexportent().
 */
static struct exportent *parse(const char *text, const char **log)
{
	struct exportent *ep;

	write_file(exports, text);
	capture_begin();
	setexportent(exports, "r");
	ep = getexportent(0);
	*log = capture_end();
	return ep;
}

static char *repeat_tag(char c, int len)
{
	char *s = malloc(len + 1);

	memset(s, c, len);
	s[len] = '\0';
	return s;
}

/* "t00...:t01...:..." : @n distinct tags of @len bytes */
static char *many_tags(int n, int len)
{
	char *s = malloc((size_t)n * (len + 1) + 1), *p = s;

	for (int i = 0; i < n; i++) {
		memset(p, 'x', len);
		p[0] = 'a' + i / 26;
		p[1 % len] = 'a' + i % 26;
		p += len;
		*p++ = ':';
	}
	p[-1] = '\0';
	return s;
}

static int mentions(const char *log, const char *what)
{
	return strstr(log, what) != NULL;
}

/* ---- option parsing ---- */

static void test_good_options(void)
{
	struct exportent *ep;
	const char *log;

	ep = parse("/tmp *(rw,fsid=1,xprtsec=mtls,allow_tags=example-staff:engineering)\n", &log);
	check(ep && ep->e_allow_tags && !strcmp(ep->e_allow_tags, "example-staff:engineering"),
	      "allow_tags=example-staff:engineering is kept as given");
	check(ep && allow_tags_count(ep) == 2, "two tags counted");

	ep = parse("/tmp *(rw,fsid=1,allow_tags=Aa0_-z,xprtsec=mtls)\n", &log);
	check(ep && !strcmp(ep->e_allow_tags, "Aa0_-z"),
	      "allow_tags before xprtsec=mtls is as good; A-Z a-z 0-9 _ - allowed");

	ep = parse("/tmp *(rw,fsid=1,xprtsec=mtls)\n", &log);
	check(ep && !ep->e_allow_tags && allow_tags_count(ep) == 0,
	      "an export without allow_tags has none");

	ep = parse("/tmp -xprtsec=mtls,allow_tags=dflt *(rw,fsid=1)\n", &log);
	check(ep && ep->e_allow_tags && !strcmp(ep->e_allow_tags, "dflt"),
	      "allow_tags from default options applies to the entry");

	ep = parse("/tmp -xprtsec=mtls,allow_tags=dflt a(rw,fsid=1,allow_tags=own) b(rw,fsid=1)\n", &log);
	check(ep && !strcmp(ep->e_allow_tags, "own"),
	      "an entry's allow_tags replaces the default one");
	ep = getexportent(0);
	check(ep && !strcmp(ep->e_hostname, "b") && !strcmp(ep->e_allow_tags, "dflt"),
	      "the next entry still gets the default list");
	endexportent();

	{
		char *line, *list = many_tags(64, 255);

		if (asprintf(&line, "/tmp *(rw,fsid=1,xprtsec=mtls,allow_tags=%s)\n", list) < 0)
			exit(2);
		ep = parse(line, &log);
		check(ep && ep->e_allow_tags && !strcmp(ep->e_allow_tags, list) &&
		      allow_tags_count(ep) == 64,
		      "64 tags of 255 bytes (%zu-byte option) are read whole", strlen(list));
		free(line);
		free(list);
	}
}

struct bad_case {
	const char *opts;	/* NULL: built by the test */
	const char *why;	/* expected in the log */
	const char *label;
};

static void test_bad_options(void)
{
	static const struct bad_case cases[] = {
		{ "xprtsec=mtls,allow_tags=", "empty tag name", "empty list" },
		{ "xprtsec=mtls,allow_tags=a::b", "empty tag name", "empty name inside" },
		{ "xprtsec=mtls,allow_tags=:a", "empty tag name", "leading colon" },
		{ "xprtsec=mtls,allow_tags=a:", "empty tag name", "trailing colon" },
		{ "xprtsec=mtls,allow_tags=a:b:a", "listed twice", "duplicate tag" },
		{ "xprtsec=mtls,allow_tags=a.b", "character other than", "a dot" },
		{ "xprtsec=mtls,allow_tags=a/b", "character other than", "a slash" },
		{ "xprtsec=mtls,allow_tags=caf\303\251", "character other than", "non-ASCII letter" },
		{ "xprtsec=mtls,allow_tags=a,allow_tags=b", "given twice", "allow_tags twice" },
		{ "allow_tags=a", "requires xprtsec=mtls", "no xprtsec" },
		{ "xprtsec=tls,allow_tags=a", "requires xprtsec=mtls", "xprtsec=tls" },
		{ "xprtsec=none,allow_tags=a", "requires xprtsec=mtls", "xprtsec=none" },
		{ "xprtsec=mtls:tls,allow_tags=a", "requires xprtsec=mtls", "xprtsec=mtls:tls" },
		{ "xprtsec=none:tls:mtls,allow_tags=a", "requires xprtsec=mtls", "all three modes" },
		{ NULL, "longer than 255", "a 256-byte tag" },
		{ NULL, "more than 64 tags", "65 tags" },
	};
	struct exportent *ep;
	const char *log;

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		char *line, *opts = NULL;
		const char *o = cases[i].opts;
		char where[PATH_MAX + 32];

		if (!o) {
			char *list = i == sizeof(cases) / sizeof(cases[0]) - 2 ?
				repeat_tag('t', 256) : many_tags(65, 3);

			if (asprintf(&opts, "xprtsec=mtls,allow_tags=%s", list) < 0)
				exit(2);
			free(list);
			o = opts;
		}
		/* Line 2, after a good line: the message names the line */
		if (asprintf(&line, "/tmp *(rw,fsid=1)\n/tmp h(rw,fsid=1,%s)\n", o) < 0)
			exit(2);
		write_file(exports, line);
		capture_begin();
		setexportent(exports, "r");
		ep = getexportent(0);
		ep = ep ? getexportent(0) : ep;
		log = capture_end();
		endexportent();
		snprintf(where, sizeof(where), "%s:2:", exports);
		check(!ep && mentions(log, cases[i].why) && mentions(log, where),
		      "refused, with file:line: %s", cases[i].label);
		if (ep || !mentions(log, cases[i].why) || !mentions(log, where))
			fprintf(stderr, "# log was: %s\n", log);
		free(line);
		free(opts);
	}

	/* Default options with tags, entry with another mode: refused */
	ep = parse("/tmp -allow_tags=a,xprtsec=mtls h(rw,fsid=1,xprtsec=tls)\n", &log);
	check(!ep && mentions(log, "requires xprtsec=mtls"),
	      "default allow_tags + an entry adding xprtsec=tls: refused");
	endexportent();
}

static void test_command_line(void)
{
	struct exportent *ep;
	const char *log;
	char opts[] = "rw,fsid=1,xprtsec=mtls,allow_tags=a:b";
	char bad[] = "rw,fsid=1,xprtsec=tls,allow_tags=a";
	char dup[] = "allow_tags=z:z";

	capture_begin();
	ep = mkexportent("h", "/tmp", opts);
	log = capture_end();
	check(ep && !strcmp(ep->e_allow_tags, "a:b"), "exportfs -o: good allow_tags taken");
	if (ep) {
		struct exportent copy;

		dupexportent(&copy, ep);
		check(copy.e_allow_tags && copy.e_allow_tags != ep->e_allow_tags &&
		      !strcmp(copy.e_allow_tags, "a:b"), "dupexportent() copies the list");
		capture_begin();
		check(!updateexportent(&copy, dup), "exportfs -o: duplicate tag refused on update");
		log = capture_end();
		check(!strcmp(copy.e_allow_tags, "a:b"),
		      "a refused allow_tags leaves the export's list as it was");
		{
			char tls[] = "ro,xprtsec=tls";
			int flags = copy.e_flags;

			capture_begin();
			check(!updateexportent(&copy, tls),
			      "exportfs -o xprtsec=tls on an export with tags: refused");
			log = capture_end();
			check(copy.e_xprtsec[0].info &&
			      copy.e_xprtsec[0].info->number == NFSEXP_XPRTSEC_MTLS &&
			      !copy.e_xprtsec[1].info && copy.e_flags == flags &&
			      !strcmp(copy.e_allow_tags, "a:b"),
			      "and the export is left as it was (xprtsec=mtls only, rw, tags a:b)");
		}
		{
			char more[] = "allow_tags=c";

			capture_begin();
			check(updateexportent(&copy, more) && !strcmp(copy.e_allow_tags, "c"),
			      "exportfs -o allow_tags=c replaces the list");
			log = capture_end();
		}
		free(copy.e_allow_tags);
		free(copy.e_uuid);
		free(copy.e_mountpoint);
		free(copy.e_fslocdata);
	}
	capture_begin();
	ep = mkexportent("h", "/tmp", bad);
	log = capture_end();
	check(!ep && mentions(log, "command line") && mentions(log, "requires xprtsec=mtls"),
	      "exportfs -o: allow_tags with xprtsec=tls refused");
}

/* ---- the etab round trip ---- */

static void test_etab_round_trip(void)
{
	char etab[PATH_MAX + 16], *list = many_tags(64, 255), *line, *got = NULL;
	struct exportent *ep;
	const char *log;
	FILE *f;
	long size;

	snprintf(etab, sizeof(etab), "%s/etab", dir);
	if (asprintf(&line, "/tmp  host.example(rw,fsid=7,xprtsec=mtls,allow_tags=%s)\n"
		     "/tmp  other(ro,fsid=7,xprtsec=mtls)\n", list) < 0)
		exit(2);
	write_file(exports, line);
	free(line);

	/* exports -> etab, as exportfs writes it */
	{
		struct exportent first, second;

		capture_begin();
		setexportent(exports, "r");
		ep = getexportent(0);
		if (ep)
			dupexportent(&first, ep);
		if (ep) {
			first.e_hostname = strdup(ep->e_hostname);
			ep = getexportent(0);
		}
		if (ep) {
			dupexportent(&second, ep);
			second.e_hostname = strdup(ep->e_hostname);
		}
		endexportent();
		log = capture_end();
		check(ep != NULL, "the two entries are read%s%s", *log ? ": " : "", log);
		if (!ep) {
			free(list);
			return;
		}
		setexportent(etab, "w");
		putexportent(&first);
		putexportent(&second);
		endexportent();
		free(first.e_hostname);
		free(first.e_allow_tags);
		free(second.e_hostname);
		free(second.e_allow_tags);
	}

	f = fopen(etab, "r");
	fseek(f, 0, SEEK_END);
	size = ftell(f);
	fclose(f);

	/* etab -> entries, as mountd and exportfs read it back */
	capture_begin();
	setexportent(etab, "r");
	ep = getexportent(0);
	if (ep && ep->e_allow_tags)
		got = strdup(ep->e_allow_tags);
	check(ep && !strcmp(ep->e_hostname, "host.example") && got && !strcmp(got, list),
	      "etab line of %ld bytes read back: 64 tags of 255 bytes, same list", size);
	check(ep && (ep->e_flags & NFSEXP_FSID) && ep->e_fsid == 7 &&
	      ep->e_xprtsec[0].info && ep->e_xprtsec[0].info->number == NFSEXP_XPRTSEC_MTLS &&
	      !ep->e_xprtsec[1].info,
	      "and the options around it (fsid=7, xprtsec=mtls)");
	ep = getexportent(0);
	check(ep && !strcmp(ep->e_hostname, "other") && !ep->e_allow_tags &&
	      (ep->e_flags & NFSEXP_READONLY),
	      "the next etab line is the next entry, without tags");
	check(getexportent(0) == NULL, "and nothing after it");
	endexportent();
	log = capture_end();
	check(!*log, "no message while reading the etab%s%s", *log ? ": " : "", log);
	free(got);
	free(list);
}

static void test_long_token(void)
{
	char *line, *big = repeat_tag('r', 40000);
	struct exportent *ep;
	const char *log;

	if (asprintf(&line, "/tmp h(%s)\n/tmp ok(rw,fsid=1)\n", big) < 0)
		exit(2);
	ep = parse(line, &log);
	check(!ep && mentions(log, "longer than") && mentions(log, ":1:"),
	      "a 40000-byte client(options) is refused as too long, with its line");
	endexportent();
	free(line);
	free(big);
}

/* ---- the probe ---- */

static void test_probe(void)
{
	char auth[PATH_MAX + 32], exp[PATH_MAX + 32], why[512];
	enum export_tags_support s;
	FILE *f;
	char content[4096];
	size_t n;

	snprintf(auth, sizeof(auth), "%s/auth.unix.ip.channel", dir);
	snprintf(exp, sizeof(exp), "%s/nfsd.export.channel", dir);

	fake = FAKE_TAGS;
	write_file(auth, "");
	write_file(exp, "");
	s = export_tags_probe_at(auth, exp, "/srv/x y", why, sizeof(why));
	check(s == EXPORT_TAGS_ENFORCED,
	      "a kernel that refuses allow_tags 0 enforces tags (%s)", export_tags_support_str(s));

	f = fopen(exp, "r");
	n = fread(content, 1, sizeof(content) - 1, f);
	content[n] = '\0';
	fclose(f);
	check(!strcmp(content, "-test-client- /srv/x\\040y 3 8192 65534 65534 0\n"),
	      "the control downcall is the test client's, path escaped, already expired");
	if (strcmp(content, "-test-client- /srv/x\\040y 3 8192 65534 65534 0\n"))
		fprintf(stderr, "# channel got: %s", content);
	f = fopen(auth, "r");
	n = fread(content, 1, sizeof(content) - 1, f);
	content[n] = '\0';
	fclose(f);
	check(!strncmp(content, "nfsd 0.0.0.0 ", 13) && strstr(content, " -test-client-\n"),
	      "the test client is registered first");

	fake = FAKE_NOTAGS;
	write_file(exp, "");
	s = export_tags_probe_at(auth, exp, "/srv/x", why, sizeof(why));
	check(s == EXPORT_TAGS_IGNORED && mentions(why, "does not enforce allow_tags"),
	      "a kernel that takes allow_tags 0 ignores tags: %s", why);
	f = fopen(exp, "r");
	n = fread(content, 1, sizeof(content) - 1, f);
	content[n] = '\0';
	fclose(f);
	check(strstr(content, "-test-client- /srv/x 3 8192 65534 65534 0 allow_tags 0\n") != NULL,
	      "the probe downcall is the control plus allow_tags 0");

	fake = FAKE_NOEXPORT;
	s = export_tags_probe_at(auth, exp, "/srv/x", why, sizeof(why));
	check(s == EXPORT_TAGS_UNKNOWN && mentions(why, "refused a test export"),
	      "a kernel that refuses the control too: unknown: %s", why);

	fake = FAKE_ENOMEM;
	s = export_tags_probe_at(auth, exp, "/srv/x", why, sizeof(why));
	check(s == EXPORT_TAGS_UNKNOWN && mentions(why, "cannot tell"),
	      "the probe refused with another error: unknown: %s", why);

	fake = FAKE_TAGS;
	unlink(auth);
	fake_exports_written = 0;
	s = export_tags_probe_at(auth, exp, "/srv/x", why, sizeof(why));
	check(s == EXPORT_TAGS_UNKNOWN && mentions(why, "is nfsd loaded") &&
	      fake_exports_written == 0,
	      "no cache channel (nfsd not loaded): unknown, nothing written: %s", why);
	fake = FAKE_OFF;
}

int main(void)
{
	const char *tmp = getenv("TMPDIR");

	snprintf(dir, sizeof(dir), "%s/nfs-utils-test.XXXXXX", tmp ? tmp : "/tmp");
	if (!mkdtemp(dir)) {
		perror("mkdtemp");
		return 2;
	}
	snprintf(exports, sizeof(exports), "%s/exports", dir);
	xlog_open("test_exports");
	xlog_stderr(1);
	xlog_syslog(0);

	test_good_options();
	test_bad_options();
	test_command_line();
	test_etab_round_trip();
	test_long_token();
	test_probe();

	{
		char cmd[PATH_MAX + 16];

		snprintf(cmd, sizeof(cmd), "rm -rf '%s'", dir);
		if (system(cmd) != 0)
			fprintf(stderr, "# could not remove %s\n", dir);
	}
	printf("%d passed, %d failed\n", passed, failed);
	return failed ? 1 : 0;
}
