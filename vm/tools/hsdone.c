// SPDX-License-Identifier: GPL-2.0-only
/*
 * hsdone - a raw handshake-agent client for hostile tests of the kernel's
 * "handshake" generic netlink family (DONE with session tags).
 *
 * It is not a TLS agent: it never performs a handshake. It joins the
 * family's "tlshd" multicast group, waits for READY, ACCEPTs a request
 * (handler class tlshd), receives the installed socket fd, and then runs a
 * small program given on the command line: DONE messages whose contents
 * (status, sockfd, raw tag payloads) are chosen freely, shell commands,
 * pauses. It prints the netlink ACK errno of each DONE, e.g.
 *
 *     accept=0 fd=5 maxtags=64 done1=-22 done2=-16
 *
 * See usage() and vm/README.md.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <grp.h>
#include <netdb.h>
#include <poll.h>
#include <signal.h>
#include <stdarg.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

/* The handshake family's UAPI, as in include/uapi/linux/handshake.h of the
 * patched kernel (the build host's headers may predate session tags). */
enum {
	HS_CLASS_TLSHD = 1,
	HS_CMD_READY = 1,
	HS_CMD_ACCEPT = 2,
	HS_CMD_DONE = 3,
	HS_A_ACCEPT_SOCKFD = 1,
	HS_A_ACCEPT_HANDLER_CLASS = 2,
	HS_A_ACCEPT_MESSAGE_TYPE = 3,
	HS_A_ACCEPT_TIMEOUT = 4,
	HS_A_ACCEPT_MAX_TAGS = 10,
	HS_A_ACCEPT_MAX = 10,
	HS_A_DONE_STATUS = 1,
	HS_A_DONE_SOCKFD = 2,
	HS_A_DONE_REMOTE_AUTH = 3,
	HS_A_DONE_TAG = 4,
};

#define MSGBUF	(128 * 1024)
#define MAXTAGS	1024

/* One step of the per-request program. */
enum step_kind { ST_DONE, ST_RUN, ST_SLEEP, ST_CLOSE, ST_HANGUP };
enum fd_kind { FD_ACCEPTED, FD_NUMBER, FD_SELF, FD_NONE };

struct tag {
	char *data;
	size_t len;
};

struct step {
	enum step_kind kind;
	/* ST_DONE */
	bool has_status;
	uint32_t status;
	enum fd_kind fdk;
	int32_t fd;
	bool unpriv;
	int race;		/* >1: that many concurrent copies */
	int ntags;
	struct tag *tags;
	int nauth;
	uint32_t auth[8];
	/* ST_RUN */
	const char *cmd;
	/* ST_SLEEP */
	long ms;
};

static struct step *prog;
static int nsteps;
static int verbose;
static const char *progname = "hsdone";

/* The agent's state. */
static uint16_t family_id;
static uint32_t tlshd_group;
static int wait_sec = 10;
static bool no_wait;		/* -W: ACCEPT without joining the group */
static bool no_accept;		/* -A: run the steps once, without ACCEPT */
static const char *connect_to;	/* -C HOST:PORT */
static int client_fd = -1;
static int accepted_fd = -1;
static uint32_t seq_counter;
static volatile sig_atomic_t stop;

static void die(const char *fmt, ...) __attribute__((format(printf, 1, 2), noreturn));
static void die(const char *fmt, ...)
{
	va_list ap;

	fprintf(stderr, "%s: ", progname);
	va_start(ap, fmt);
	vfprintf(stderr, fmt, ap);
	va_end(ap);
	fputc('\n', stderr);
	exit(2);
}

static void *xcalloc(size_t n, size_t sz)
{
	void *p = calloc(n ? n : 1, sz);

	if (!p)
		die("out of memory");
	return p;
}

static void usage(int st)
{
	fprintf(st ? stderr : stdout,
"usage: hsdone [options] [STEP...]\n"
"  Join the handshake family's \"tlshd\" group, wait for READY, ACCEPT one\n"
"  request (class tlshd) and run the STEPs on it; print one line:\n"
"  accept=ERR [fd=N maxtags=N] done1=ERR done2=ERR ... (ERR: 0 or -errno).\n"
"options:\n"
"  -C HOST:PORT  after joining the group, open a TCP connection there (kept\n"
"                open until exit) so that a request gets queued\n"
"  -w SEC        wait at most SEC for a request (default 10)\n"
"  -W            do not join the group; ACCEPT once, right away\n"
"  -A            no ACCEPT at all: run the steps once (\"the accepted fd\" is\n"
"                then -1; use fd=N or fd=self)\n"
"  -n COUNT      serve COUNT requests (one line each); 0: until no request\n"
"                came for -w SEC or SIGTERM (default 1)\n"
"  -v            verbose (extack messages, ACCEPT attributes) on stderr\n"
"steps (a DONE starts with the word \"done\"; its words follow it):\n"
"  done          a DONE message; by default status=0, sockfd=the accepted fd\n"
"    status=N      HANDSHAKE_A_DONE_STATUS = N (u32; 5 means -EIO)\n"
"    nostatus      leave the status attribute out\n"
"    fd=N|self|none  sockfd N, the netlink socket's own fd, or no sockfd\n"
"    tag=BYTES     one HANDSHAKE_A_DONE_TAG with exactly these bytes (no NUL\n"
"                  added); escapes: \\0 \\\\ \\n \\t \\xHH, and \\{N}C: N copies\n"
"                  of byte C (C may itself be an escape)\n"
"    gen=N[:PFX]   N tags PFX000, PFX001, ... (default PFX \"t\")\n"
"    auth=N        a HANDSHAKE_A_DONE_REMOTE_AUTH (repeatable)\n"
"    unpriv        send it from a child that dropped to uid/gid 65534 with\n"
"                  no capabilities (own netlink socket)\n"
"    race=N        send N copies at once from N children (own sockets);\n"
"                  prints doneK=E1,E2,... sorted\n"
"  run=CMD       run /bin/sh -c CMD and wait (its status is not judged)\n"
"  sleep=MS      pause\n"
"  close         close the accepted fd\n"
"  hangup        close the -C client connection\n");
	exit(st);
}

/* ---- argument parsing ---------------------------------------------- */

static int hexval(int c)
{
	if (c >= '0' && c <= '9')
		return c - '0';
	if (c >= 'a' && c <= 'f')
		return c - 'a' + 10;
	if (c >= 'A' && c <= 'F')
		return c - 'A' + 10;
	return -1;
}

/* Decodes one (possibly escaped) byte at *s; advances *s. */
static int unescape_byte(const char **s)
{
	const char *p = *s;
	int c, h, l;

	if (*p != '\\') {
		*s = p + 1;
		return (unsigned char)*p;
	}
	p++;
	switch (*p) {
	case '0': c = 0; p++; break;
	case '\\': c = '\\'; p++; break;
	case 'n': c = '\n'; p++; break;
	case 't': c = '\t'; p++; break;
	case 'x':
		h = hexval(p[1]);
		l = h < 0 ? -1 : hexval(p[2]);
		if (h < 0 || l < 0)
			die("bad \\x escape in '%s'", *s);
		c = h * 16 + l;
		p += 3;
		break;
	default:
		die("unknown escape \\%c", *p ? *p : '?');
	}
	*s = p;
	return c;
}

static struct tag unescape(const char *s)
{
	size_t cap = strlen(s) + 1, len = 0;
	char *buf = xcalloc(cap, 1);
	struct tag t;

	while (*s) {
		if (s[0] == '\\' && s[1] == '{') {
			char *end;
			long n = strtol(s + 2, &end, 10);
			int c;

			if (end == s + 2 || *end != '}' || n < 0 || n > 65536)
				die("bad \\{N} repetition in '%s'", s);
			s = end + 1;
			if (!*s)
				die("\\{N} without a byte to repeat");
			c = unescape_byte(&s);
			if (len + n + 1 > cap) {
				cap = len + n + 1 + strlen(s);
				buf = realloc(buf, cap);
				if (!buf)
					die("out of memory");
			}
			memset(buf + len, c, n);
			len += n;
			continue;
		}
		if (len + 2 > cap) {
			cap = cap * 2 + 2;
			buf = realloc(buf, cap);
			if (!buf)
				die("out of memory");
		}
		buf[len++] = (char)unescape_byte(&s);
	}
	t.data = buf;
	t.len = len;
	return t;
}

static long parse_num(const char *s, const char *what)
{
	char *end;
	long v;

	errno = 0;
	v = strtol(s, &end, 0);
	if (errno || end == s || *end)
		die("bad %s '%s'", what, s);
	return v;
}

static void add_tag(struct step *st, struct tag t)
{
	if (st->ntags >= MAXTAGS)
		die("too many tags (max %d)", MAXTAGS);
	st->tags[st->ntags++] = t;
}

static void parse_program(int argc, char **argv)
{
	struct step *cur = NULL;
	int i;

	prog = xcalloc(argc + 1, sizeof(*prog));
	for (i = 0; i < argc; i++) {
		const char *w = argv[i];
		const char *v = strchr(w, '=');

		v = v ? v + 1 : NULL;
		if (!strcmp(w, "done")) {
			cur = &prog[nsteps++];
			cur->kind = ST_DONE;
			cur->has_status = true;
			cur->fdk = FD_ACCEPTED;
			cur->race = 1;
			cur->tags = xcalloc(MAXTAGS, sizeof(*cur->tags));
			continue;
		}
		if (!strncmp(w, "run=", 4)) {
			prog[nsteps].kind = ST_RUN;
			prog[nsteps++].cmd = v;
			cur = NULL;
			continue;
		}
		if (!strncmp(w, "sleep=", 6)) {
			prog[nsteps].kind = ST_SLEEP;
			prog[nsteps++].ms = parse_num(v, "sleep");
			cur = NULL;
			continue;
		}
		if (!strcmp(w, "close") || !strcmp(w, "hangup")) {
			prog[nsteps++].kind = w[0] == 'c' ? ST_CLOSE : ST_HANGUP;
			cur = NULL;
			continue;
		}
		if (!cur)
			die("'%s' outside a done step", w);
		if (!strncmp(w, "status=", 7)) {
			cur->status = (uint32_t)parse_num(v, "status");
			cur->has_status = true;
		} else if (!strcmp(w, "nostatus")) {
			cur->has_status = false;
		} else if (!strncmp(w, "fd=", 3)) {
			if (!strcmp(v, "self"))
				cur->fdk = FD_SELF;
			else if (!strcmp(v, "none"))
				cur->fdk = FD_NONE;
			else if (!strcmp(v, "accepted"))
				cur->fdk = FD_ACCEPTED;
			else {
				cur->fdk = FD_NUMBER;
				cur->fd = (int32_t)parse_num(v, "fd");
			}
		} else if (!strncmp(w, "tag=", 4)) {
			add_tag(cur, unescape(v));
		} else if (!strncmp(w, "gen=", 4)) {
			const char *pfx = "t";
			char *colon = strchr(v, ':');
			char nbuf[32];
			long n, k;

			if (colon) {
				pfx = colon + 1;
				snprintf(nbuf, sizeof(nbuf), "%.*s",
					 (int)(colon - v), v);
				n = parse_num(nbuf, "gen count");
			} else {
				n = parse_num(v, "gen count");
			}
			for (k = 0; k < n; k++) {
				struct tag t;

				if (asprintf(&t.data, "%s%03ld", pfx, k) < 0)
					die("out of memory");
				t.len = strlen(t.data);
				add_tag(cur, t);
			}
		} else if (!strncmp(w, "auth=", 5)) {
			if (cur->nauth >= 8)
				die("too many auth=");
			cur->auth[cur->nauth++] = (uint32_t)parse_num(v, "auth");
		} else if (!strcmp(w, "unpriv")) {
			cur->unpriv = true;
		} else if (!strncmp(w, "race=", 5)) {
			cur->race = (int)parse_num(v, "race");
			if (cur->race < 1 || cur->race > 64)
				die("race=N wants 1..64");
		} else {
			die("unknown word '%s'", w);
		}
	}
}

/* ---- netlink ------------------------------------------------------- */

static struct mnl_socket *nl_open(void)
{
	struct mnl_socket *nl = mnl_socket_open(NETLINK_GENERIC);
	int one = 1;

	if (!nl)
		die("netlink socket: %s", strerror(errno));
	if (mnl_socket_bind(nl, 0, MNL_SOCKET_AUTOPID) < 0)
		die("netlink bind: %s", strerror(errno));
	mnl_socket_setsockopt(nl, NETLINK_EXT_ACK, &one, sizeof(one));
	mnl_socket_setsockopt(nl, NETLINK_CAP_ACK, &one, sizeof(one));
	return nl;
}

static struct nlmsghdr *genl_start(char *buf, uint16_t type, uint8_t cmd,
				   uint8_t version)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = NLM_F_REQUEST | NLM_F_ACK;
	nlh->nlmsg_seq = ++seq_counter + (uint32_t)time(NULL);
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

/* Prints the extended-ACK message of an error, when there is one. */
static void print_extack(const struct nlmsghdr *nlh)
{
	const struct nlmsgerr *err = mnl_nlmsg_get_payload(nlh);
	size_t off = sizeof(*err);
	const struct nlattr *a;

	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return;
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED))
		off += err->msg.nlmsg_len - sizeof(struct nlmsghdr);
	mnl_attr_for_each(a, nlh, off) {
		if (mnl_attr_get_type(a) == NLMSGERR_ATTR_MSG)
			fprintf(stderr, "%s: extack: %s\n", progname,
				mnl_attr_get_str(a));
		else if (mnl_attr_get_type(a) == NLMSGERR_ATTR_OFFS)
			fprintf(stderr, "%s: extack: at offset %u\n", progname,
				mnl_attr_get_u32(a));
	}
}

typedef void (*reply_fn)(const struct nlmsghdr *nlh, void *data);

/*
 * Sends a request and reads until its ACK. Returns the ACK's error (0 or
 * -errno), or a negative errno for a local failure. Replies that are not
 * the ACK go to fn.
 */
static int nl_transact(struct mnl_socket *nl, struct nlmsghdr *req,
		       reply_fn fn, void *data)
{
	static char buf[MSGBUF];
	uint32_t portid = mnl_socket_get_portid(nl);
	uint32_t seq = req->nlmsg_seq;

	if (mnl_socket_sendto(nl, req, req->nlmsg_len) < 0)
		return -errno;
	for (;;) {
		ssize_t n = mnl_socket_recvfrom(nl, buf, sizeof(buf));
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
		int len = (int)n;

		if (n < 0) {
			if (errno == EINTR)
				continue;
			return -errno;
		}
		for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
			if (nlh->nlmsg_seq != seq || nlh->nlmsg_pid != portid)
				continue;
			if (nlh->nlmsg_type == NLMSG_ERROR) {
				const struct nlmsgerr *e = mnl_nlmsg_get_payload(nlh);

				if (e->error && verbose)
					print_extack(nlh);
				return e->error;
			}
			if (nlh->nlmsg_type == NLMSG_DONE)
				return 0;
			if (fn)
				fn(nlh, data);
		}
	}
}

/* CTRL_CMD_GETFAMILY "handshake": family id and the "tlshd" group. */
struct fam_info {
	uint16_t id;
	uint32_t grp;
	bool found_grp;
};

static int grp_cb(const struct nlattr *a, void *data)
{
	struct fam_info *fi = data;
	const struct nlattr *g;
	const char *name = NULL;
	uint32_t id = 0;

	mnl_attr_for_each_nested(g, a) {
		if (mnl_attr_get_type(g) == CTRL_ATTR_MCAST_GRP_NAME)
			name = mnl_attr_get_str(g);
		else if (mnl_attr_get_type(g) == CTRL_ATTR_MCAST_GRP_ID)
			id = mnl_attr_get_u32(g);
	}
	if (name && !strcmp(name, "tlshd")) {
		fi->grp = id;
		fi->found_grp = true;
	}
	return MNL_CB_OK;
}

static void family_reply(const struct nlmsghdr *nlh, void *data)
{
	struct fam_info *fi = data;
	const struct nlattr *a;

	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(a)) {
		case CTRL_ATTR_FAMILY_ID:
			fi->id = mnl_attr_get_u16(a);
			break;
		case CTRL_ATTR_MCAST_GROUPS: {
			const struct nlattr *g;

			mnl_attr_for_each_nested(g, a)
				grp_cb(g, fi);
			break;
		}
		}
	}
}

static void resolve_family(struct mnl_socket *nl)
{
	static char buf[4096];
	struct fam_info fi = { 0 };
	struct nlmsghdr *nlh = genl_start(buf, GENL_ID_CTRL, CTRL_CMD_GETFAMILY, 1);
	int err;

	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, "handshake");
	err = nl_transact(nl, nlh, family_reply, &fi);
	if (err)
		die("no \"handshake\" generic netlink family: %s", strerror(-err));
	if (!fi.id || !fi.found_grp)
		die("handshake family without id or \"tlshd\" group");
	family_id = fi.id;
	tlshd_group = fi.grp;
	if (verbose)
		fprintf(stderr, "%s: handshake family %u, tlshd group %u\n",
			progname, family_id, tlshd_group);
}

/* ACCEPT: the installed fd and max-tags. */
struct accept_info {
	int fd;
	long maxtags;
	uint32_t msgtype, timeout;
};

static void accept_reply(const struct nlmsghdr *nlh, void *data)
{
	struct accept_info *ai = data;
	const struct nlattr *a;

	if (nlh->nlmsg_type != family_id)
		return;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		switch (mnl_attr_get_type(a)) {
		case HS_A_ACCEPT_SOCKFD:
			ai->fd = (int)mnl_attr_get_u32(a);
			break;
		case HS_A_ACCEPT_MAX_TAGS:
			ai->maxtags = mnl_attr_get_u32(a);
			break;
		case HS_A_ACCEPT_MESSAGE_TYPE:
			ai->msgtype = mnl_attr_get_u32(a);
			break;
		case HS_A_ACCEPT_TIMEOUT:
			ai->timeout = mnl_attr_get_u32(a);
			break;
		}
	}
}

static int do_accept(struct mnl_socket *nl, struct accept_info *ai)
{
	static char buf[4096];
	struct nlmsghdr *nlh = genl_start(buf, family_id, HS_CMD_ACCEPT, 1);
	int err;

	mnl_attr_put_u32(nlh, HS_A_ACCEPT_HANDLER_CLASS, HS_CLASS_TLSHD);
	ai->fd = -1;
	ai->maxtags = -1;
	err = nl_transact(nl, nlh, accept_reply, ai);
	if (!err && ai->fd < 0)
		err = -ENOMSG;	/* ACK without a sockfd: should not happen */
	if (!err && verbose)
		fprintf(stderr, "%s: accepted fd %d (message type %u, timeout %u ms, max-tags %ld)\n",
			progname, ai->fd, ai->msgtype, ai->timeout, ai->maxtags);
	return err;
}

static int send_done(struct mnl_socket *nl, const struct step *st, int self_fd)
{
	static char buf[MSGBUF];
	struct nlmsghdr *nlh = genl_start(buf, family_id, HS_CMD_DONE, 1);
	size_t room = MSGBUF - 64;
	int i;

	if (st->has_status)
		mnl_attr_put_u32(nlh, HS_A_DONE_STATUS, st->status);
	switch (st->fdk) {
	case FD_ACCEPTED:
		mnl_attr_put_u32(nlh, HS_A_DONE_SOCKFD, (uint32_t)accepted_fd);
		break;
	case FD_NUMBER:
		mnl_attr_put_u32(nlh, HS_A_DONE_SOCKFD, (uint32_t)st->fd);
		break;
	case FD_SELF:
		mnl_attr_put_u32(nlh, HS_A_DONE_SOCKFD, (uint32_t)self_fd);
		break;
	case FD_NONE:
		break;
	}
	for (i = 0; i < st->nauth; i++)
		mnl_attr_put_u32(nlh, HS_A_DONE_REMOTE_AUTH, st->auth[i]);
	for (i = 0; i < st->ntags; i++) {
		if (nlh->nlmsg_len + MNL_ATTR_HDRLEN + st->tags[i].len + 4 > room)
			die("DONE message too large");
		mnl_attr_put(nlh, HS_A_DONE_TAG, st->tags[i].len, st->tags[i].data);
	}
	return nl_transact(nl, nlh, NULL, NULL);
}

/* Drops to nobody with no capabilities (setresuid from 0 clears them). */
static void drop_privileges(void)
{
	if (setgroups(0, NULL) < 0 && errno != EPERM)
		die("setgroups: %s", strerror(errno));
	if (setresgid(65534, 65534, 65534) < 0 && getuid() == 0)
		die("setresgid: %s", strerror(errno));
	if (setresuid(65534, 65534, 65534) < 0 && getuid() == 0)
		die("setresuid: %s", strerror(errno));
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

/*
 * Runs a DONE in n children, each with its own netlink socket (and, for
 * unpriv, its own credentials). The results come back through a pipe.
 * Children are started at once and released together by closing a pipe.
 */
static int cmp_int(const void *a, const void *b)
{
	return *(const int *)a - *(const int *)b;
}

static void done_in_children(const struct step *st, int *res)
{
	int go[2], back[2], i, n = st->race;

	if (pipe(go) < 0 || pipe(back) < 0)
		die("pipe: %s", strerror(errno));
	fflush(NULL);
	for (i = 0; i < n; i++) {
		pid_t pid = fork();

		if (pid < 0)
			die("fork: %s", strerror(errno));
		if (!pid) {
			struct mnl_socket *nl;
			char c;
			int err;

			close(go[1]);
			close(back[0]);
			if (st->unpriv)
				drop_privileges();
			nl = nl_open();
			while (read(go[0], &c, 1) < 0 && errno == EINTR)
				;
			err = send_done(nl, st, mnl_socket_get_fd(nl));
			if (write(back[1], &err, sizeof(err)) != sizeof(err))
				_exit(1);
			_exit(0);
		}
	}
	close(go[0]);
	close(back[1]);
	close(go[1]);		/* release them all */
	for (i = 0; i < n; i++) {
		if (read(back[0], &res[i], sizeof(res[i])) != sizeof(res[i]))
			res[i] = -ECHILD;
	}
	close(back[0]);
	while (wait(NULL) > 0 || errno == EINTR)
		;
	qsort(res, n, sizeof(*res), cmp_int);
}

/* ---- the request program ------------------------------------------- */

static void run_program(struct mnl_socket *nl, char *line, size_t linesz)
{
	int ndone = 0, i, k;

	for (i = 0; i < nsteps; i++) {
		const struct step *st = &prog[i];
		size_t used = strlen(line);

		switch (st->kind) {
		case ST_DONE:
			ndone++;
			if (st->race == 1 && !st->unpriv) {
				int err = send_done(nl, st, mnl_socket_get_fd(nl));

				snprintf(line + used, linesz - used, " done%d=%d",
					 ndone, err);
			} else {
				int res[64];

				done_in_children(st, res);
				used += snprintf(line + used, linesz - used,
						 " done%d=", ndone);
				for (k = 0; k < st->race && used < linesz; k++)
					used += snprintf(line + used, linesz - used,
							 "%s%d", k ? "," : "", res[k]);
			}
			break;
		case ST_RUN: {
			pid_t pid;

			fflush(NULL);
			pid = fork();
			if (pid < 0)
				die("fork: %s", strerror(errno));
			if (!pid) {
				execl("/bin/sh", "sh", "-c", st->cmd, (char *)NULL);
				_exit(127);
			}
			while (waitpid(pid, NULL, 0) < 0 && errno == EINTR)
				;
			break;
		}
		case ST_SLEEP: {
			struct timespec ts = { st->ms / 1000, (st->ms % 1000) * 1000000L };

			while (nanosleep(&ts, &ts) < 0 && errno == EINTR)
				;
			break;
		}
		case ST_CLOSE:
			if (accepted_fd >= 0)
				close(accepted_fd);
			accepted_fd = -1;
			break;
		case ST_HANGUP:
			if (client_fd >= 0)
				close(client_fd);
			client_fd = -1;
			break;
		}
	}
}

static void open_client(void)
{
	char host[256], *port;
	struct addrinfo hints = { .ai_socktype = SOCK_STREAM }, *ai;
	int err;

	snprintf(host, sizeof(host), "%s", connect_to);
	port = strrchr(host, ':');
	if (!port)
		die("-C wants HOST:PORT");
	*port++ = '\0';
	err = getaddrinfo(host, port, &hints, &ai);
	if (err)
		die("%s: %s", connect_to, gai_strerror(err));
	client_fd = socket(ai->ai_family, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (client_fd < 0 || connect(client_fd, ai->ai_addr, ai->ai_addrlen) < 0)
		die("connect %s: %s", connect_to, strerror(errno));
	freeaddrinfo(ai);
}

/* Waits for a READY on the group socket; false on timeout or stop. */
static bool wait_ready(struct mnl_socket *grp, int timeout_ms)
{
	static char buf[MSGBUF];
	struct pollfd p = { .fd = mnl_socket_get_fd(grp), .events = POLLIN };
	struct timespec t0, t1;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	for (;;) {
		int left, r;

		clock_gettime(CLOCK_MONOTONIC, &t1);
		left = timeout_ms - (int)((t1.tv_sec - t0.tv_sec) * 1000 +
					  (t1.tv_nsec - t0.tv_nsec) / 1000000);
		if (left <= 0 || stop)
			return false;
		r = poll(&p, 1, left);
		if (r < 0 && errno == EINTR)
			continue;
		if (r <= 0)
			return false;
		for (;;) {
			ssize_t n = recv(p.fd, buf, sizeof(buf), MSG_DONTWAIT);
			const struct nlmsghdr *nlh = (const struct nlmsghdr *)buf;
			int len = (int)n;
			bool ready = false;

			if (n < 0) {
				if (errno == ENOBUFS)	/* overrun: READYs were lost */
					return true;
				break;
			}
			for (; mnl_nlmsg_ok(nlh, len); nlh = mnl_nlmsg_next(nlh, &len)) {
				const struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);

				if (nlh->nlmsg_type == family_id &&
				    g->cmd == HS_CMD_READY)
					ready = true;
			}
			if (ready)
				return true;
		}
	}
}

static void on_signal(int sig)
{
	(void)sig;
	stop = 1;
}

int main(int argc, char **argv)
{
	struct mnl_socket *nl, *grp = NULL;
	struct sigaction sa = { .sa_handler = on_signal };
	long count = 1, served = 0;
	int opt, rc = 0;

	while ((opt = getopt(argc, argv, "+AC:w:Wn:vh")) != -1) {
		switch (opt) {
		case 'C': connect_to = optarg; break;
		case 'w': wait_sec = (int)parse_num(optarg, "-w"); break;
		case 'W': no_wait = true; break;
		case 'A': no_accept = true; no_wait = true; break;
		case 'n': count = parse_num(optarg, "-n"); break;
		case 'v': verbose++; break;
		case 'h': usage(0); break;
		default: usage(2);
		}
	}
	parse_program(argc - optind, argv + optind);
	sigaction(SIGTERM, &sa, NULL);
	sigaction(SIGINT, &sa, NULL);
	signal(SIGPIPE, SIG_IGN);
	setvbuf(stdout, NULL, _IOLBF, 0);

	nl = nl_open();
	resolve_family(nl);
	if (!no_wait) {
		/* Join before anything is queued: the kernel refuses to queue
		 * a request when no one listens on the group. */
		grp = nl_open();
		if (mnl_socket_setsockopt(grp, NETLINK_ADD_MEMBERSHIP, &tlshd_group,
					  sizeof(tlshd_group)) < 0)
			die("join group tlshd: %s", strerror(errno));
		if (verbose)
			fprintf(stderr, "%s: listening on group tlshd\n", progname);
	}
	if (connect_to)
		open_client();
	if (no_accept) {
		char line[8192] = "accept=none";

		run_program(nl, line, sizeof(line));
		printf("%s\n", line);
		count = 0;
		stop = 1;
	}

	while (!stop && (count == 0 || served < count)) {
		struct accept_info ai;
		char line[8192];
		int err = do_accept(nl, &ai);

		if (err == -EAGAIN && !no_wait) {
			if (!wait_ready(grp, wait_sec * 1000)) {
				if (count != 0) {
					printf("accept=%d\n", err);
					rc = 1;
				}
				break;
			}
			continue;
		}
		if (err) {
			printf("accept=%d\n", err);
			rc = 1;
			break;
		}
		accepted_fd = ai.fd;
		snprintf(line, sizeof(line), "accept=0 fd=%d maxtags=%ld",
			 ai.fd, ai.maxtags);
		run_program(nl, line, sizeof(line));
		printf("%s\n", line);
		if (accepted_fd >= 0)
			close(accepted_fd);
		accepted_fd = -1;
		served++;
	}
	if (client_fd >= 0)
		close(client_fd);
	mnl_socket_close(nl);
	if (grp)
		mnl_socket_close(grp);
	return rc;
}
