// SPDX-License-Identifier: GPL-2.0-only
/* The handshake child's sandbox: see sandbox.h. */
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>
#include <stdlib.h>
#include <stdbool.h>
#include <stdint.h>
#include <sys/prctl.h>
#include <sys/syscall.h>
#include <linux/capability.h>
#include <linux/filter.h>
#include <linux/seccomp.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <keyutils.h>
#include <linux/securebits.h>
#include <seccomp.h>
#include <sys/capability.h>

#include "sandbox.h"

#ifndef TCP_ULP
#define TCP_ULP 31
#endif

void tt_sandbox_preload_ktls(void)
{
	int fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	if (fd < 0)
		return;
	/*
	 * The ULP lookup (and module autoload) comes before the "tls" ULP's
	 * own check that the socket is connected, so this fails with
	 * ENOTCONN having loaded the module.
	 */
	(void)setsockopt(fd, IPPROTO_TCP, TCP_ULP, "tls", sizeof("tls"));
	close(fd);
}

static int fail(char *why, size_t whylen, int err, const char *fmt, ...)
	__attribute__((format(printf, 4, 5)));

static int fail(char *why, size_t whylen, int err, const char *fmt, ...)
{
	va_list ap;
	size_t n;

	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
	n = strlen(why);
	snprintf(why + n, whylen - n, ": %s", strerror(err));
	return -err;
}

/* Raw capget/capset: libcap's cap_set_proc() costs tens of microseconds. */
static int caps_get(struct __user_cap_data_struct d[2])
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3 };

	return (int)syscall(SYS_capget, &h, d);
}

static int caps_clear(void)
{
	struct __user_cap_header_struct h = {
		.version = _LINUX_CAPABILITY_VERSION_3 };
	struct __user_cap_data_struct d[2];

	memset(d, 0, sizeof(d));
	return (int)syscall(SYS_capset, &h, d);
}

static bool has_setpcap(void)
{
	struct __user_cap_data_struct d[2];

	return caps_get(d) == 0 &&
	       (d[CAP_TO_INDEX(CAP_SETPCAP)].effective & CAP_TO_MASK(CAP_SETPCAP));
}

/*
 * The bounding set still to empty in a child: all of it, unless the
 * parent narrowed its own (tt_sandbox_narrow_parent()) and recorded what
 * it kept.
 */
static uint64_t bound_left = ~0ULL;

int tt_sandbox_narrow_parent(const int *keep, size_t nkeep, char *why,
			     size_t whylen)
{
	int last = (int)cap_max_bits() - 1;
	uint64_t kept = 0;

	why[0] = '\0';
	if (!has_setpcap())
		return 0;	/* nothing to narrow with; children do it all */
	for (int c = 0; c <= last && c < 64; c++) {
		bool k = false;

		for (size_t i = 0; i < nkeep; i++)
			k |= keep[i] == c;
		if (k)
			kept |= 1ULL << c;
		else if (cap_drop_bound((cap_value_t)c) < 0 && errno != EINVAL)
			return fail(why, whylen, errno, "bounding set (cap %d)", c);
	}
	bound_left = kept;
	return 0;
}

static int drop_capabilities(char *why, size_t whylen)
{
	int last = (int)cap_max_bits() - 1;

	/*
	 * Without CAP_SETPCAP (a non-root daemon with ambient CAP_NET_ADMIN)
	 * the bounding set cannot shrink; no_new_privs and the filter's ban
	 * on execve make it moot then.
	 */
	if (has_setpcap()) {
		for (int c = 0; c <= last; c++) {
			if (c < 64 && !(bound_left & (1ULL << c)))
				continue;
			if (cap_drop_bound((cap_value_t)c) < 0 && errno != EINVAL)
				return fail(why, whylen, errno,
					    "bounding set (cap %d)", c);
		}
		/* uid 0 must not get capabilities back on setuid or execve */
		if (prctl(PR_SET_SECUREBITS,
			  SECBIT_NOROOT | SECBIT_NOROOT_LOCKED |
			  SECBIT_NO_SETUID_FIXUP | SECBIT_NO_SETUID_FIXUP_LOCKED |
			  SECBIT_KEEP_CAPS_LOCKED |
			  SECBIT_NO_CAP_AMBIENT_RAISE |
			  SECBIT_NO_CAP_AMBIENT_RAISE_LOCKED) < 0)
			return fail(why, whylen, errno, "securebits");
	}
	if (prctl(PR_CAP_AMBIENT, PR_CAP_AMBIENT_CLEAR_ALL, 0, 0, 0) < 0 &&
	    errno != EINVAL)
		return fail(why, whylen, errno, "ambient set");
	if (caps_clear() < 0)
		return fail(why, whylen, errno, "capability sets");
	return 0;
}

/*
 * What a handshake needs after ACCEPT: I/O on its socket and the report
 * channel, memory, time, randomness, signals for the backstop alarm,
 * kTLS socket options, reading keys, and logging to stderr or an already
 * connected syslog socket. Calls that could reach another process or a
 * shared keyring are allowed only with harmless arguments (below).
 */
static const char *const allowed[] = {
	"read", "write", "readv", "writev", "pread64", "pwrite64",
	"recvfrom", "recvmsg", "recvmmsg",
	"close", "shutdown", "poll", "ppoll", "select", "pselect6",
	"dup", "dup3", "lseek", "fstat", "newfstatat", "statx",
	"getsockopt", "setsockopt", "getsockname", "getpeername",
	"mmap", "munmap", "mprotect", "mremap", "madvise", "brk",
	"futex", "set_robust_list", "rseq", "membarrier", "sched_yield",
	"sched_getaffinity", "getrandom", "sysinfo",
	"clock_gettime", "clock_getres", "clock_nanosleep", "nanosleep",
	"gettimeofday", "time",
	"getpid", "gettid", "getppid", "getuid", "geteuid", "getgid",
	"getegid", "uname", "getrlimit",
	"rt_sigaction", "rt_sigprocmask", "rt_sigreturn", "sigaltstack",
	"alarm", "setitimer", "getitimer", "restart_syscall",
	"exit", "exit_group",
};

/* Fail softly: lazily opened files, a syslog reconnect, isatty(). */
static const struct { const char *name; int err; } refused[] = {
	{ "open", EACCES }, { "openat", EACCES }, { "openat2", EACCES },
	{ "creat", EACCES }, { "access", EACCES }, { "faccessat", EACCES },
	{ "faccessat2", EACCES }, { "socket", EACCES },
	{ "socketpair", EACCES }, { "ioctl", ENOTTY },
};

/* The keyring: read what the request names, never change anything. */
static const int keyctl_ops[] = {
	KEYCTL_GET_KEYRING_ID, KEYCTL_DESCRIBE, KEYCTL_SEARCH, KEYCTL_READ,
};

/*
 * Argument comparisons with every field set (the library's SCMP_A*()
 * macros leave one out, which clang's -Wextra refuses): argument @n
 * equal to @v, and (argument @n & @mask) equal to @v.
 */
static struct scmp_arg_cmp eq(unsigned int n, scmp_datum_t v)
{
	struct scmp_arg_cmp c = { .arg = n, .op = SCMP_CMP_EQ, .datum_a = v,
				  .datum_b = 0 };

	return c;
}

static struct scmp_arg_cmp masked_eq(unsigned int n, scmp_datum_t mask,
				     scmp_datum_t v)
{
	struct scmp_arg_cmp c = { .arg = n, .op = SCMP_CMP_MASKED_EQ,
				  .datum_a = mask, .datum_b = v };

	return c;
}

static int add_rules(scmp_filter_ctx f)
{
	static const int fcntl_ops[] = { F_GETFD, F_SETFD, F_GETFL };
	int ret = 0;

	for (size_t i = 0; !ret && i < sizeof(allowed) / sizeof(allowed[0]); i++) {
		int nr = seccomp_syscall_resolve_name(allowed[i]);

		if (nr != __NR_SCMP_ERROR)
			ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, nr, 0);
	}
	for (size_t i = 0; !ret && i < sizeof(refused) / sizeof(refused[0]); i++) {
		int nr = seccomp_syscall_resolve_name(refused[i].name);

		if (nr != __NR_SCMP_ERROR)
			ret = seccomp_rule_add(f, SCMP_ACT_ERRNO(refused[i].err),
					       nr, 0);
	}
	/*
	 * No tgkill/kill at all: same-uid signals would reach the parent.
	 * abort() then dies by its fallback instead of SIGABRT.
	 */
	/* own limits, read only */
	if (!ret)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(prlimit64), 2,
				       eq(0, 0), eq(2, 0));
	/* flags only: no F_SETOWN/F_SETSIG (signals to others), no O_ASYNC */
	for (size_t i = 0; !ret && i < sizeof(fcntl_ops) / sizeof(fcntl_ops[0]); i++)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 1,
				       eq(1, (scmp_datum_t)fcntl_ops[i]));
	if (!ret)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(fcntl), 2,
				       eq(1, F_SETFL),
				       masked_eq(2, O_ASYNC, 0));
	/*
	 * Sending: sendto without an address (the report channel, syslog's
	 * connected socket), sendmsg (GnuTLS's vectored writes) only on the
	 * peer's TCP socket, where an address is meaningless: no datagram
	 * reaches any other socket.
	 */
	if (!ret)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(sendto), 1,
				       eq(4, 0));
	if (!ret)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(sendmsg), 1,
				       eq(0, TT_SANDBOX_PEER_FD));
	for (size_t i = 0; !ret && i < sizeof(keyctl_ops) / sizeof(keyctl_ops[0]); i++)
		ret = seccomp_rule_add(f, SCMP_ACT_ALLOW, SCMP_SYS(keyctl), 1,
				       eq(0, (scmp_datum_t)keyctl_ops[i]));
	return ret;
}

/*
 * The filter is the same for every child: built (by libseccomp, which
 * takes about half a millisecond) once per process, as a BPF program each
 * child then loads with one prctl().
 */
static struct sock_filter *prog;
static unsigned short prog_len;

int tt_sandbox_init(char *why, size_t whylen)
{
	scmp_filter_ctx f;
	unsigned char *buf;
	int p[2], ret;
	ssize_t n;

	if (prog)
		return 0;
	f = seccomp_init(SCMP_ACT_KILL_PROCESS);
	if (!f)	/* also what a kernel without seccomp filters gives */
		return fail(why, whylen, ENOSYS, "seccomp filter");
	ret = add_rules(f);
	if (ret) {
		seccomp_release(f);
		return fail(why, whylen, -ret, "seccomp rules");
	}
	buf = malloc(65536);
	if (!buf || pipe2(p, O_CLOEXEC) < 0) {
		ret = errno ? errno : ENOMEM;
		free(buf);
		seccomp_release(f);
		return fail(why, whylen, ret, "seccomp export");
	}
	/* A filter is far smaller than a pipe's buffer. */
	ret = seccomp_export_bpf(f, p[1]);
	close(p[1]);
	n = ret ? -1 : read(p[0], buf, 65536);
	close(p[0]);
	seccomp_release(f);
	if (n <= 0 || n % sizeof(struct sock_filter) ||
	    n / sizeof(struct sock_filter) > BPF_MAXINSNS) {
		free(buf);
		return fail(why, whylen, ret ? -ret : EINVAL, "seccomp export");
	}
	prog = (struct sock_filter *)buf;
	prog_len = (unsigned short)(n / sizeof(struct sock_filter));
	return 0;
}

int tt_sandbox_enter(char *why, size_t whylen)
{
	struct sock_fprog fprog;
	int ret;

	why[0] = '\0';
	ret = tt_sandbox_init(why, whylen);
	if (ret)
		return ret;
	/* No core dumps of peer data, no ptrace by same-uid processes. */
	if (prctl(PR_SET_DUMPABLE, 0) < 0)
		return fail(why, whylen, errno, "PR_SET_DUMPABLE");
	ret = drop_capabilities(why, whylen);
	if (ret)
		return ret;
	if (prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0) < 0)
		return fail(why, whylen, errno, "no_new_privs");
	fprog.len = prog_len;
	fprog.filter = prog;
	if (prctl(PR_SET_SECCOMP, SECCOMP_MODE_FILTER, &fprog) < 0)
		return fail(why, whylen, errno, "seccomp filter");
	return 0;
}

int tt_sandbox_probe(char *why, size_t whylen)
{
	int p[2], st;
	ssize_t n;
	pid_t pid;

	why[0] = '\0';
	if (pipe2(p, O_CLOEXEC) < 0)
		return fail(why, whylen, errno, "pipe");
	pid = fork();
	if (pid < 0) {
		close(p[0]);
		close(p[1]);
		return fail(why, whylen, errno, "fork");
	}
	if (pid == 0) {
		char msg[256];
		size_t len;

		close(p[0]);
		if (tt_sandbox_enter(msg, sizeof(msg)) == 0)
			_exit(0);
		len = strlen(msg);
		if (write(p[1], msg, len) != (ssize_t)len)
			_exit(2);
		_exit(1);
	}
	close(p[1]);
	n = read(p[0], why, whylen - 1);
	why[n > 0 ? n : 0] = '\0';
	close(p[0]);
	while (waitpid(pid, &st, 0) < 0 && errno == EINTR)
		;
	if (WIFEXITED(st) && WEXITSTATUS(st) == 0)
		return 0;
	if (!why[0])
		snprintf(why, whylen, "the test process ended with status 0x%x", st);
	return -EPERM;
}
