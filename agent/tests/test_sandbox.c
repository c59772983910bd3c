// SPDX-License-Identifier: GPL-2.0-only
/*
 * The handshake child's sandbox, seen from outside (as an administrator
 * would see a live child in /proc) and tried from inside: no capability
 * in any set, no_new_privs, a seccomp filter; a private key file cannot
 * be opened, a netlink socket cannot be made; execve, fork, ptrace,
 * signals, limits and F_SETOWN aimed at another process, and changes to
 * keyrings kill the process, while what a handshake needs (reading keys,
 * fcntl flags) still works. Run as root, as the daemon is.
 *
 * Usage: test_sandbox KEYFILE
 */
#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/ptrace.h>
#include <sys/resource.h>
#include <sys/syscall.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <keyutils.h>
#include <linux/netlink.h>

#include "sandbox.h"
#include "tt_test.h"

static const char *keyfile;

struct kid {
	pid_t	pid;
	int	cmd, res;	/* pipes: commands in, errno values out */
};

static void kid_main(int cmd, int res)
{
	char why[160], c;

	if (tt_sandbox_enter(why, sizeof(why)) < 0) {
		fprintf(stderr, "sandbox: %s\n", why);
		_exit(3);
	}
	if (write(res, "R", 1) != 1)
		_exit(4);
	while (read(cmd, &c, 1) == 1) {
		int e = 0, fd = -1;
		char *desc = NULL;
		char *argv[] = { "/bin/true", NULL };

		switch (c) {
		case 'o':	/* the private key */
			fd = open(keyfile, O_RDONLY | O_CLOEXEC);
			break;
		case 'n':	/* a way to the kernel's handshake family */
			fd = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
				    NETLINK_GENERIC);
			break;
		case 'i':	/* a way to anywhere */
			fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
			break;
		case 'x':
			execve(argv[0], argv, environ);
			break;
		case 'f':
			if (fork() == 0)
				_exit(0);
			break;
		case 'p':
			ptrace(PTRACE_TRACEME, 0, NULL, NULL);
			break;
		case 'k':	/* SIGSTOP the parent (same uid) */
			syscall(SYS_tgkill, getppid(), getppid(), SIGSTOP);
			break;
		case 'l': {	/* shrink the parent's descriptor limit */
			struct rlimit rl = { 50, 50 };

			prlimit(getppid(), RLIMIT_NOFILE, &rl, NULL);
			break;
		}
		case 'w':	/* have the kernel signal the parent */
			fcntl(res, F_SETOWN, getppid());
			break;
		case 'a':	/* fcntl that only reads: fine */
			fd = fcntl(res, F_GETFL) >= 0 ? 0 : -1;
			break;
		case 'y':	/* O_ASYNC: refused by the filter's argument check */
			fcntl(res, F_SETFL, O_ASYNC);
			break;
		case 's':	/* swap the parent's session keyring */
			keyctl_session_to_parent();
			break;
		case 'm':	/* lock a keyring away from everyone else */
			keyctl_setperm(KEY_SPEC_SESSION_KEYRING, 0);
			break;
		case 'd':	/* plant a key */
			add_key("user", "planted", "x", 1,
				KEY_SPEC_SESSION_KEYRING);
			break;
		case 'r':	/* a root callout with chosen text */
			request_key("user", "tlstagd-test", "callout",
				    KEY_SPEC_SESSION_KEYRING);
			break;
		case 'g':	/* reading a key is what a handshake does */
			fd = keyctl_describe_alloc(KEY_SPEC_PROCESS_KEYRING,
						   &desc) >= 0 || errno == ENOKEY ? 0 : -1;
			free(desc);
			desc = NULL;
			break;
		case 't':	/* isatty() */
			fd = isatty(0) ? 0 : -1;
			break;
		case 'q':
			_exit(0);
		}
		e = fd >= 0 ? 0 : errno;
		if (write(res, &e, sizeof(e)) != sizeof(e))
			_exit(5);
	}
	_exit(0);
}

static bool spawn(struct kid *k)
{
	int c[2], r[2];
	char ready;

	if (pipe2(c, O_CLOEXEC) || pipe2(r, O_CLOEXEC))
		return false;
	k->pid = fork();
	if (k->pid == 0) {
		close(c[1]);
		close(r[0]);
		kid_main(c[0], r[1]);
	}
	close(c[0]);
	close(r[1]);
	k->cmd = c[1];
	k->res = r[0];
	return read(k->res, &ready, 1) == 1 && ready == 'R';
}

/* Sends @c; returns the errno the kid saw, or -signal when it died. */
static int ask(struct kid *k, char c)
{
	int e, st;

	if (write(k->cmd, &c, 1) != 1)
		return -1000;
	if (read(k->res, &e, sizeof(e)) == sizeof(e))
		return e;
	waitpid(k->pid, &st, 0);
	k->pid = 0;
	return WIFSIGNALED(st) ? -WTERMSIG(st) : -1000 - WEXITSTATUS(st);
}

static void reap(struct kid *k)
{
	if (k->pid > 0) {
		char q = 'q';

		if (write(k->cmd, &q, 1) != 1)
			kill(k->pid, SIGKILL);
		waitpid(k->pid, NULL, 0);
	}
	close(k->cmd);
	close(k->res);
}

/* The value of "Name:" in /proc/PID/status, or "". */
static void status_field(pid_t pid, const char *name, char *out, size_t len)
{
	char path[64], line[256];
	size_t n = strlen(name);
	FILE *f;

	out[0] = '\0';
	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, name, n) == 0 && line[n] == ':') {
			snprintf(out, len, "%s", line + n + 1 + strspn(line + n + 1, " \t"));
			out[strcspn(out, "\n")] = '\0';
		}
	fclose(f);
}

TEST(no_privileges_left)
{
	static const char *const zero[] = { "CapInh", "CapPrm", "CapEff",
					    "CapBnd", "CapAmb" };
	struct kid k;
	char v[64];

	CHECK(spawn(&k));
	for (size_t i = 0; i < sizeof(zero) / sizeof(zero[0]); i++) {
		status_field(k.pid, zero[i], v, sizeof(v));
		CHECK_MSG(strcmp(v, "0000000000000000") == 0, "%s: %s", zero[i], v);
	}
	status_field(k.pid, "NoNewPrivs", v, sizeof(v));
	CHECK_STR(v, "1");
	status_field(k.pid, "Seccomp", v, sizeof(v));
	CHECK_STR(v, "2");
	reap(&k);
}

TEST(refused_softly)
{
	struct kid k;

	CHECK(spawn(&k));
	/* the file is readable by root, so only the sandbox refuses it */
	CHECK(access(keyfile, R_OK) == 0);
	CHECK_MSG(ask(&k, 'o') == EACCES, "open of the key file");
	CHECK_MSG(ask(&k, 'n') == EACCES, "netlink socket");
	CHECK_MSG(ask(&k, 'i') == EACCES, "inet socket");
	CHECK_MSG(ask(&k, 't') == ENOTTY, "isatty");
	/* what a handshake needs still works */
	CHECK_MSG(ask(&k, 'a') == 0, "fcntl F_GETFL");
	CHECK_MSG(ask(&k, 'g') == 0, "keyctl describe");
	reap(&k);
}

TEST(killed)
{
	/* execve, fork, ptrace, signals/limits/F_SETOWN/O_ASYNC aimed at
	 * the parent, keyring changes, request_key */
	static const char what[] = "xfpklwysmdr";

	for (size_t i = 0; i < sizeof(what) - 1; i++) {
		struct kid k;
		int r;

		CHECK(spawn(&k));
		r = ask(&k, what[i]);
		CHECK_MSG(r == -SIGSYS, "'%c': %d", what[i], r);
		reap(&k);
	}
	/* and the parent (this test) was neither stopped nor limited */
	{
		struct rlimit rl;

		CHECK(getrlimit(RLIMIT_NOFILE, &rl) == 0 && rl.rlim_cur > 50);
	}
}

int main(int argc, char **argv)
{
	if (argc != 2) {
		fprintf(stderr, "usage: %s KEYFILE\n", argv[0]);
		return 2;
	}
	keyfile = argv[1];
	if (geteuid() != 0) {
		/* Dropping privileges proves something only with some to drop. */
		printf("test_sandbox needs root\n0 passed, 1 failed\n");
		return 1;
	}
	{
		char why[256];

		CHECK_MSG(tt_sandbox_probe(why, sizeof(why)) == 0, "probe: %s", why);
	}
	RUN(no_privileges_left);
	RUN(refused_softly);
	RUN(killed);
	return tt_test_summary();
}
