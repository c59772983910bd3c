// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon's process machinery against a fake kernel.
 *
 * This machine has no handshake family, so the kernel side is played by
 * this program over UNIX sockets: it queues requests (a loopback TCP
 * connection whose far end is driven by a TLS client thread), multicasts
 * READY, answers ACCEPT with a real ACCEPT reply (the socket passed with
 * SCM_RIGHTS) and takes DONE as the real netlink message the daemon
 * built. The daemon itself is unmodified: tt_daemon_run() with a
 * different struct tt_kernel_ops. Checked: fork per request, the
 * in-flight limit, tags in DONE, the kernel timeout, a crashed child
 * answered by the parent, SIGHUP reload (good and bad), a kernel without
 * tag support, max-tags truncation, SIGTERM.
 *
 * Usage: test_daemon CERTDIR DATADIR
 */
#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <netinet/in.h>
#include <arpa/inet.h>
#include <poll.h>
#include <pthread.h>
#include <signal.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/un.h>
#include <sys/wait.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <keyutils.h>
#include <libmnl/libmnl.h>
#include <gnutls/gnutls.h>
#include <linux/genetlink.h>

#include "config.h"
#include "daemon.h"
#include "handshake.h"
#include "keyholder.h"
#include "log.h"
#include "memscan.h"
#include "nlcodec.h"
#include "report.h"
#include "tt_test.h"

#define FAM 0x20

static const char *certs, *data;
static char tmpdir[] = "/tmp/tt-daemon-XXXXXX";

/* ================= the daemon side: fake kernel ops ================= */

struct fake_ctx {
	char	path[108];
	int	evfd;
};

static int fk_connect(const char *path)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };
	int fd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);

	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", path);
	if (fd < 0 || connect(fd, (void *)&sun, sizeof(sun)) < 0) {
		int err = -errno;

		if (fd >= 0)
			close(fd);
		return err;
	}
	return fd;
}

static int send_with_fd(int sock, const void *buf, size_t len, int fd)
{
	union {
		char		b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	} u;
	struct iovec iov = { (void *)buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (fd >= 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.b;
		msg.msg_controllen = sizeof(u.b);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &fd, sizeof(int));
	}
	return sendmsg(sock, &msg, MSG_NOSIGNAL) == (ssize_t)len ? 0 : -EIO;
}

static ssize_t recv_with_fd(int sock, void *buf, size_t len, int *fd)
{
	union {
		char		b[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	} u;
	struct iovec iov = { buf, len };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct cmsghdr *cm;
	ssize_t n;

	*fd = -1;
	n = recvmsg(sock, &msg, MSG_CMSG_CLOEXEC);
	for (cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm;
	     cm = CMSG_NXTHDR(&msg, cm))
		if (cm->cmsg_type == SCM_RIGHTS)
			memcpy(fd, CMSG_DATA(cm), sizeof(int));
	return n;
}

static int fk_open_events(void *ctx, const struct tt_caps *caps)
{
	struct fake_ctx *c = ctx;

	(void)caps;
	c->evfd = fk_connect(c->path);
	if (c->evfd < 0)
		return c->evfd;
	if (send(c->evfd, "E", 1, 0) != 1)
		return -EIO;
	return c->evfd;
}

static int fk_read_ready(void *ctx, const struct tt_caps *caps, int fd)
{
	char b[8];
	ssize_t n;

	(void)ctx;
	(void)caps;
	n = recv(fd, b, sizeof(b), MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	return n > 0 && b[0] == 'R' ? 1 : 0;
}

static void fk_close(void *ctx)
{
	struct fake_ctx *c = ctx;

	if (c->evfd >= 0)
		close(c->evfd);
	c->evfd = -1;
}

static int fk_accept(void *ctx, const struct tt_caps *caps,
		     struct tt_accept *acc)
{
	struct fake_ctx *c = ctx;
	unsigned char buf[TT_NL_BUFSIZE];
	unsigned int flags = 0;
	int s, ret = 0, got = -1;
	size_t len;

	(void)caps;
	acc->sockfd = -1;
	s = fk_connect(c->path);
	if (s < 0)
		return s;
	len = tt_nl_build_accept(buf, sizeof(buf), 1, FAM,
				 TT_HS_HANDLER_CLASS_TLSHD);
	if (send(s, buf, len, 0) != (ssize_t)len)
		ret = -EIO;
	while (!ret && !(flags & TT_ACCEPT_GOT_ACK)) {
		int fd;
		ssize_t n = recv_with_fd(s, buf, sizeof(buf), &fd);

		if (n <= 0) {
			ret = -EIO;
			break;
		}
		if (fd >= 0)
			got = fd;
		/* the real parser, on the fake kernel's real message */
		ret = tt_nl_parse_accept(buf, (size_t)n, FAM, 1, acc, &flags);
	}
	close(s);
	if (ret == -ENOTRECOVERABLE)
		_exit(70);	/* the fake kernel asked this probe to crash */
	if (!ret && !(flags & TT_ACCEPT_GOT_REPLY))
		ret = -EBADMSG;
	if (ret) {
		/* Like the kernel: the socket is installed, whatever the reply. */
		acc->sockfd = got;
		return ret;
	}
	acc->sockfd = got;	/* the number in this process */
	return 0;
}

static int fk_done(void *ctx, const struct tt_caps *caps,
		   const struct tt_done *d, struct tt_done_stats *stats,
		   char *ext, size_t extlen)
{
	struct fake_ctx *c = ctx;
	unsigned char buf[TT_NL_BUFSIZE];
	int s, ret;
	size_t len;
	ssize_t n;

	(void)caps;
	len = tt_nl_build_done(buf, sizeof(buf), 2, FAM, d, stats);
	if (!len)
		return -EMSGSIZE;
	s = fk_connect(c->path);
	if (s < 0)
		return s;
	ret = send_with_fd(s, buf, len, d->sockfd);
	n = ret ? -1 : recv(s, buf, sizeof(buf), 0);
	close(s);
	if (n <= 0)
		return -EIO;
	ret = tt_nl_parse_ack(buf, (size_t)n, 2, ext, extlen);
	return ret == 1 ? 0 : ret < 0 ? ret : -EBADMSG;
}


/*
 * A compromised handshake child, played by the hook the daemon calls once
 * the child is sandboxed; the fake kernel's peername says what it tries.
 */
static unsigned char alice_der[8192];
static size_t alice_der_len;
static char server_key[700];	/* the daemons' private key file */

static void hostile_result(int rep, uint32_t status, int32_t ra,
			   const char *const *tags, unsigned int n, bool der)
{
	static unsigned char buf[TT_REPORT_BUFSIZE];
	struct tt_report_result r = { .status = status, .peer = "",
				      .reason = "hostile" };
	size_t len;

	r.has_remote_auth = ra > 0;
	r.remote_auth = ra > 0 ? (uint32_t)ra : 0;
	if (der) {
		r.peer_der = alice_der;
		r.peer_der_len = alice_der_len;
	}
	for (unsigned int i = 0; i < n; i++)
		r.tags[i] = tags[i];
	r.ntags = n;
	len = tt_report_encode(buf, sizeof(buf), &r);
	if (!len || send(rep, buf, len, MSG_NOSIGNAL) != (ssize_t)len)
		_exit(91);
}

static void fk_child_sandboxed(void *ctx, int rep, const struct tt_accept *acc)
{
	const char *m = acc->peername;

	if (!acc->has_peername || strncmp(m, "hostile:", 8) != 0)
		return;
	m += 8;
	if (strcmp(m, "execve") == 0) {
		char *argv[] = { "/bin/true", NULL };

		execve(argv[0], argv, environ);
		_exit(90);
	} else if (strcmp(m, "done") == 0) {
		/* DONE itself, with tags, through the fake kernel */
		const char *tags[] = { "alice" };
		struct tt_done d = { .sockfd = acc->sockfd, .tags = tags,
				     .ntags = 1, .tags_supported = true,
				     .max_tags = 64 };
		int ret = fk_done(ctx, NULL, &d, NULL, NULL, 0);
		int nl = socket(AF_NETLINK, SOCK_RAW | SOCK_CLOEXEC,
				NETLINK_GENERIC);
		int nlfds = 0;

		for (int fd = 0; fd < 1024; fd++) {
			int dom;
			socklen_t l = sizeof(dom);

			if (getsockopt(fd, SOL_SOCKET, SO_DOMAIN, &dom, &l) == 0 &&
			    dom == AF_NETLINK)
				nlfds++;
		}
		/* 200: every door was shut */
		hostile_result(rep, 200 + (ret != -EACCES) + 2 * (nl >= 0) +
				    4 * (nlfds > 0), 0, NULL, 0, false);
	} else if (strcmp(m, "second-fd") == 0) {
		struct tt_report_hdr h = { .kind = TT_REP_ACCEPTED,
					   .timeout_ms = 1000, .acc = *acc };

		send_with_fd(rep, &h, sizeof(h), acc->sockfd);
	} else if (strcmp(m, "garbage") == 0) {
		if (send(rep, "garbage", 7, MSG_NOSIGNAL) != 7)
			_exit(91);
	} else if (strcmp(m, "forge-tag") == 0 || strcmp(m, "valid") == 0) {
		/* alice's (public) certificate, so only the tags are wrong */
		static const char *const forged[] = { "alice", "zz-not-in-policy" };
		static const char *const valid[] = { "alice" };
		bool ok = strcmp(m, "valid") == 0;

		hostile_result(rep, 0, 0, ok ? valid : forged, ok ? 1 : 2, true);
	} else if (strcmp(m, "own-key") == 0) {
		/* a key of its own making: the sandbox does not let it */
		int32_t k = add_key("asymmetric", TT_PEER_KEY_PREFIX "hostile",
				    alice_der, alice_der_len,
				    KEY_SPEC_SESSION_KEYRING);

		hostile_result(rep, 0, k, NULL, 0, false);
	} else if (strcmp(m, "remote-auth") == 0) {
		/* a serial on a certificate session: only the parent names */
		hostile_result(rep, 0, 12345, NULL, 0, true);
	} else if (strcmp(m, "read-key") == 0) {
		/* the daemon's private key file */
		int fd = open(server_key, O_RDONLY | O_CLOEXEC);

		hostile_result(rep, 200 + (fd >= 0) + 2 * (fd < 0 && errno != EACCES),
			       0, NULL, 0, false);
	} else if (strcmp(m, "linger") == 0) {
		/* stays, so the test can look at its memory */
		char c;

		while (read(rep, &c, 1) < 0 && errno == EINTR)
			;
	} else if (strcmp(m, "flood") == 0) {
		for (int i = 0; i < 100; i++)
			hostile_result(rep, 0, 0, NULL, 0, false);	} else {
		_exit(92);
	}
	_exit(0);
}

/* ================= the kernel side ================= */

enum { PEER_TLS, PEER_SILENT };

struct req {
	int		id;
	int		dfd;		/* the consumer's socket (daemon end) */
	int		pfd;		/* far end, driven by the peer thread */
	ino_t		ino;
	uint32_t	timeout_ms;
	uint32_t	max_tags;	/* 0: attribute absent */
	bool		bad_reply;	/* ACCEPT reply with a bad message type */
	int		peer_kind;
	pthread_t	peer;
	int		state;		/* 0 queued, 1 accepted, 2 done */
	pid_t		pid;		/* who accepted */
	pid_t		done_pid;	/* who sent DONE */
	const char	*hostile;	/* peername: what the child's hook does */
	uint32_t	status;
	int		ntags;
	char		tags[8][64];
	int		nremote;
	struct tt_hs_result peer_res;
};

struct kern {
	const char	*name;
	char		path[108];
	int		lfd;
	int		evfd[4];
	int		nev;
	struct req	*reqs[64];
	int		nreq;
	int		inflight, max_inflight;
	int		dup_done;
	int		accept_fail;	/* answer ACCEPT with -ENOMEM N times */
	int		accept_crash;	/* make N probes crash */
	int		violations;	/* DONEs a real kernel would mind */
	const char	*next_hostile;	/* for the next submit() */
};

static pthread_mutex_t lock = PTHREAD_MUTEX_INITIALIZER;
static struct kern kA = { .name = "A" }, kB = { .name = "B" };
static volatile int stop_kernel;
static struct tt_runtime *peer_rt;

static int32_t stub_add(void *c, int32_t k, const char *d,
			const unsigned char *der, size_t len)
{
	(void)c; (void)k; (void)d; (void)der; (void)len;
	return 4242;
}

static int stub_read(void *c, int32_t s, unsigned char **d, size_t *l)
{
	(void)c; (void)s; (void)d; (void)l;
	return -ENOKEY;
}

static int stub_describe(void *c, int32_t s, char **d)
{
	(void)c; (void)s; (void)d;
	return -ENOKEY;
}

static int32_t stub_search(void *c, int32_t k, const char *t, const char *d)
{
	(void)c; (void)k; (void)t; (void)d;
	return -ENOKEY;
}

static const struct tt_keyops peer_keys = {
	.read = stub_read, .describe = stub_describe, .search = stub_search,
	.add_cert = stub_add,
};

static void *peer_main(void *arg)
{
	struct req *r = arg;
	char b[256];

	if (r->peer_kind == PEER_TLS) {
		struct tt_hs_params p = {
			.fd = r->pfd, .msg_type = TT_HS_MSG_TYPE_CLIENTHELLO,
			.auth_mode = TT_HS_AUTH_X509, .timeout_ms = 10000,
			.peername = "server.test",
		};
		struct tt_hs_env env = { .rt = peer_rt, .keys = &peer_keys };

		tt_handshake_run(&p, &env, &r->peer_res);
	} else {
		while (read(r->pfd, b, sizeof(b)) > 0)
			;
	}
	return NULL;
}

static void tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t slen = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);

	sin.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
	if (bind(l, (void *)&sin, sizeof(sin)) || listen(l, 1) ||
	    getsockname(l, (void *)&sin, &slen)) {
		perror("tcp");
		exit(2);
	}
	*a = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (connect(*a, (void *)&sin, sizeof(sin))) {
		perror("connect");
		exit(2);
	}
	*b = accept4(l, NULL, NULL, SOCK_CLOEXEC);
	close(l);
}

/* Queues a server-side request and multicasts READY. */
static struct req *submit(struct kern *k, int peer_kind, uint32_t timeout_ms,
			  uint32_t max_tags)
{
	struct req *r = calloc(1, sizeof(*r));
	struct stat st;

	tcp_pair(&r->pfd, &r->dfd);
	fstat(r->dfd, &st);
	r->ino = st.st_ino;
	r->timeout_ms = timeout_ms;
	r->max_tags = max_tags;
	r->peer_kind = peer_kind;
	pthread_create(&r->peer, NULL, peer_main, r);
	pthread_mutex_lock(&lock);
	r->hostile = k->next_hostile;
	k->next_hostile = NULL;
	r->id = k->nreq;
	k->reqs[k->nreq++] = r;
	for (int i = 0; i < k->nev; i++)
		if (send(k->evfd[i], "R", 1, MSG_NOSIGNAL) != 1)
			fprintf(stderr, "READY lost\n");
	pthread_mutex_unlock(&lock);
	return r;
}

/* A request whose child plays compromised (see fk_child_sandboxed). */
static struct req *submit_hostile_timeout(struct kern *k, const char *what,
					  uint32_t timeout_ms)
{
	pthread_mutex_lock(&lock);
	kA.next_hostile = what;
	pthread_mutex_unlock(&lock);
	return submit(k, PEER_SILENT, timeout_ms, 0);
}

static struct req *submit_hostile(struct kern *k, const char *what)
{
	return submit_hostile_timeout(k, what, 8000);
}

/* A request whose ACCEPT reply will not parse (silent peer). */
static struct req *submit_bad(struct kern *k)
{
	struct req *r = calloc(1, sizeof(*r));
	struct stat st;

	tcp_pair(&r->pfd, &r->dfd);
	fstat(r->dfd, &st);
	r->ino = st.st_ino;
	r->timeout_ms = 20000;
	r->bad_reply = true;
	r->peer_kind = PEER_SILENT;
	pthread_create(&r->peer, NULL, peer_main, r);
	pthread_mutex_lock(&lock);
	r->id = k->nreq;
	k->reqs[k->nreq++] = r;
	for (int i = 0; i < k->nev; i++)
		if (send(k->evfd[i], "R", 1, MSG_NOSIGNAL) != 1)
			fprintf(stderr, "READY lost\n");
	pthread_mutex_unlock(&lock);
	return r;
}

static void send_ack(int s, uint32_t seq, int error)
{
	unsigned char buf[64];
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(buf);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags = NLM_F_CAPPED;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	e->msg.nlmsg_len = 20;
	if (send(s, buf, nlh->nlmsg_len, MSG_NOSIGNAL) < 0)
		perror("ack");
}

/* Kernel: ACCEPT. Called with the lock held. */
static void k_accept(struct kern *k, int s, uint32_t seq)
{
	unsigned char buf[512];
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;
	struct ucred cred;
	socklen_t clen = sizeof(cred);
	struct req *r = NULL;

	for (int i = 0; i < k->nreq && !r; i++)
		if (k->reqs[i]->state == 0)
			r = k->reqs[i];
	if (!r) {
		send_ack(s, seq, -EAGAIN);
		return;
	}
	if (k->accept_fail > 0) {
		k->accept_fail--;
		send_ack(s, seq, -ENOMEM);
		return;
	}
	if (k->accept_crash > 0) {
		k->accept_crash--;
		send_ack(s, seq, -ENOTRECOVERABLE);
		return;
	}
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = FAM;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = TT_HS_CMD_ACCEPT;
	g->version = 1;
	mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_SOCKFD, 0);
	mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_MESSAGE_TYPE,
			 r->bad_reply ? 7 : TT_HS_MSG_TYPE_SERVERHELLO);
	mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_TIMEOUT, r->timeout_ms);
	mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_AUTH_MODE, TT_HS_AUTH_X509);
	if (r->max_tags)
		mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_MAX_TAGS, r->max_tags);
	if (r->hostile)
		mnl_attr_put_strz(nlh, TT_HS_A_ACCEPT_PEERNAME, r->hostile);
	if (send_with_fd(s, buf, nlh->nlmsg_len, r->dfd) < 0)
		return;
	send_ack(s, seq, 0);
	r->state = 1;
	if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
		r->pid = cred.pid;
	k->inflight++;
	if (k->inflight > k->max_inflight)
		k->max_inflight = k->inflight;
}

/* Kernel: DONE, as net/handshake reads it. Called with the lock held. */
static void k_done(struct kern *k, int s, const unsigned char *buf, size_t n,
		   int fd)
{
	const struct nlmsghdr *nlh = (const void *)buf;
	const struct nlattr *a;
	struct req *r = NULL;
	struct stat st;
	bool bad_tag = false;
	char prev[256] = "", cur[256];

	if (fd < 0 || fstat(fd, &st) < 0) {
		send_ack(s, nlh->nlmsg_seq, -EBADF);
		return;
	}
	close(fd);
	for (int i = 0; i < k->nreq && !r; i++)
		if (k->reqs[i]->ino == st.st_ino && k->reqs[i]->state == 1)
			r = k->reqs[i];
	if (r) {
		struct ucred cred;
		socklen_t clen = sizeof(cred);

		if (getsockopt(s, SOL_SOCKET, SO_PEERCRED, &cred, &clen) == 0)
			r->done_pid = cred.pid;
	}
	if (!r) {
		/* Not accepted, or completed already: the gate says -EBUSY. */
		k->dup_done++;
		send_ack(s, nlh->nlmsg_seq, -EBUSY);
		return;
	}
	(void)n;
	mnl_attr_for_each(a, nlh, sizeof(struct genlmsghdr)) {
		const char *t = mnl_attr_get_payload(a);
		size_t tlen = mnl_attr_get_payload_len(a);

		switch (mnl_attr_get_type(a)) {
		case TT_HS_A_DONE_STATUS:
			r->status = mnl_attr_get_u32(a);
			break;
		case TT_HS_A_DONE_REMOTE_AUTH:
			r->nremote++;
			break;
		case TT_HS_A_DONE_TAG:
			/* As net/handshake: one trailing NUL may go. */
			if (tlen && t[tlen - 1] == '\0')
				tlen--;
			if (tlen == 0 || tlen > 255 || memchr(t, '\0', tlen)) {
				bad_tag = true;
				break;
			}
			if (r->ntags < 8)
				snprintf(r->tags[r->ntags], 64, "%.*s",
					 (int)tlen, t);
			/* The agent promises sorted, unique tags. */
			snprintf(cur, sizeof(cur), "%.*s", (int)tlen, t);
			if (r->ntags > 0 && strcmp(prev, cur) >= 0)
				k->violations++;
			memcpy(prev, cur, sizeof(prev));
			r->ntags++;
			break;
		}
	}
	/* Never more than the ACCEPT reply's max-tags. */
	if (r->ntags > (int)(r->max_tags ? r->max_tags : TT_HS_DEFAULT_MAX_TAGS))
		k->violations++;
	r->state = 2;
	k->inflight--;
	/* The consumer's socket is done with the agent: release ours. */
	shutdown(r->dfd, SHUT_RDWR);
	if (bad_tag) {
		/* The handshake fails with -EIO; DONE itself gets -EINVAL. */
		k->violations++;
		r->status = EIO;
		r->ntags = 0;
		send_ack(s, nlh->nlmsg_seq, -EINVAL);
		return;
	}
	send_ack(s, nlh->nlmsg_seq, 0);
}

static void serve_one(struct kern *k)
{
	unsigned char buf[TT_NL_BUFSIZE];
	struct timeval tv = { .tv_sec = 2 };
	const struct genlmsghdr *g;
	int s, fd;
	ssize_t n;

	s = accept4(k->lfd, NULL, NULL, SOCK_CLOEXEC);
	if (s < 0)
		return;
	setsockopt(s, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof(tv));
	n = recv_with_fd(s, buf, sizeof(buf), &fd);
	pthread_mutex_lock(&lock);
	if (n == 1 && buf[0] == 'E' && k->nev < 4) {
		k->evfd[k->nev++] = s;
		s = -1;
	} else if (n >= 20) {
		const struct nlmsghdr *nlh = (const void *)buf;

		g = mnl_nlmsg_get_payload(nlh);
		if (g->cmd == TT_HS_CMD_ACCEPT)
			k_accept(k, s, nlh->nlmsg_seq);
		else if (g->cmd == TT_HS_CMD_DONE)
			k_done(k, s, buf, (size_t)n, fd);
	}
	pthread_mutex_unlock(&lock);
	if (s >= 0)
		close(s);
}

static void *kernel_main(void *arg)
{
	(void)arg;
	while (!stop_kernel) {
		struct pollfd p[2] = { { kA.lfd, POLLIN, 0 },
				       { kB.lfd, POLLIN, 0 } };

		if (poll(p, 2, 100) <= 0)
			continue;
		if (p[0].revents)
			serve_one(&kA);
		if (p[1].revents)
			serve_one(&kB);
	}
	return NULL;
}

static void listen_kernel(struct kern *k)
{
	struct sockaddr_un sun = { .sun_family = AF_UNIX };

	snprintf(k->path, sizeof(k->path), "%s/kernel-%s", tmpdir, k->name);
	snprintf(sun.sun_path, sizeof(sun.sun_path), "%s", k->path);
	k->lfd = socket(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0);
	if (bind(k->lfd, (void *)&sun, sizeof(sun)) || listen(k->lfd, 64)) {
		perror("kernel socket");
		exit(2);
	}
}

/* ================= the daemons ================= */

static void write_config(const char *path, const char *tagsdir,
			 unsigned int max_in_flight)
{
	FILE *f = fopen(path, "w");

	fprintf(f, "[global]\nmax-in-flight = %u\nhandshake-timeout = 10\n"
		"log-level = info\nlog-target = stderr\ntags-dir = %s\n"
		"[trust]\nca-file = %s/ca.pem\n"
		"[server]\ncertificate = %s/server.pem\n"
		"private-key = %s/server.key\n", max_in_flight, tagsdir, certs,
		certs, certs);
	fclose(f);
}

static pid_t start_daemon(struct kern *k, const char *conf, bool tags)
{
	pid_t pid = fork();

	if (pid == 0) {
		static struct fake_ctx ctx = { .evfd = -1 };
		struct tt_kernel_ops ops = {
			.open_events = fk_open_events,
			.read_ready = fk_read_ready, .close = fk_close,
			.child_reset = fk_close, .accept = fk_accept,
			.done = fk_done, .require_ktls = false, .ctx = &ctx,
			.child_sandboxed = fk_child_sandboxed,
		};
		struct tt_caps caps = { .fam = { .id = FAM, .version = 1,
						 .mcgrp_tlshd = 1,
						 .has_accept = true,
						 .has_done = true },
					.tags = tags };
		struct tt_diag diag = { 0 };
		struct tt_runtime *rt = NULL;
		struct tt_kh *kh = NULL;
		char ident[32];
		int ret;

		snprintf(ctx.path, sizeof(ctx.path), "%s", k->path);
		snprintf(ident, sizeof(ident), "tlstagd-%s", k->name);
		tt_log_init(strdup(ident), TT_LOG_STDERR, LOG_INFO);
		keyctl_join_session_keyring(NULL);
		tt_tls_global_init();
		/* As tlstagd does: private keys only in the key holder. */
		if (tt_kh_start(&kh, ident, sizeof(ident)) < 0)
			_exit(3);
		tt_kh_set_current(kh);
		if (tt_runtime_load(conf, &rt, &diag) < 0) {
			tt_diag_print(&diag, stderr);
			_exit(3);
		}
		tt_diag_free(&diag);
		tt_daemon_apply_logging(&rt->cfg, true);
		ret = tt_daemon_run(conf, &rt, &caps, true, &ops);
		tt_runtime_free(rt);
		tt_kh_stop(kh);
		tt_tls_global_deinit();
		exit(ret);
	}
	return pid;
}

/* ================= helpers ================= */

typedef bool (*pred_fn)(void *);

static bool wait_for(pred_fn fn, void *arg, int ms)
{
	for (int t = 0; t < ms; t += 20) {
		bool ok;

		pthread_mutex_lock(&lock);
		ok = fn(arg);
		pthread_mutex_unlock(&lock);
		if (ok)
			return true;
		usleep(20000);
	}
	return false;
}

static bool req_done(void *arg)
{
	return ((struct req *)arg)->state == 2;
}

static bool req_accepted(void *arg)
{
	struct req *r = arg;

	return r->state >= 1 && r->pid > 0;
}

struct all_done {
	struct req	**r;
	int		n;
};

static bool reqs_done(void *arg)
{
	struct all_done *a = arg;

	for (int i = 0; i < a->n; i++)
		if (a->r[i]->state != 2)
			return false;
	return true;
}

static void finish(struct req *r)
{
	pthread_join(r->peer, NULL);
	close(r->pfd);
	close(r->dfd);
	tt_hs_result_free(&r->peer_res);
}

static bool has_tags(const struct req *r, int n, const char *a, const char *b)
{
	return r->ntags == n && (n < 1 || strcmp(r->tags[0], a) == 0) &&
	       (n < 2 || strcmp(r->tags[1], b) == 0);
}

/* ================= tests ================= */

static pid_t pidA, pidB;
static char confA[600], confB[600], tagsA[600];

TEST(requests_with_tags_and_limit)
{
	struct req *r[6];
	struct all_done ad = { r, 6 };

	for (int i = 0; i < 6; i++)
		r[i] = submit(&kA, PEER_TLS, 8000, 0);
	CHECK(wait_for(reqs_done, &ad, 30000));
	for (int i = 0; i < 6; i++) {
		CHECK_MSG(r[i]->status == 0, "request %d: status %u", i,
			  r[i]->status);
		CHECK_MSG(has_tags(r[i], 2, "alice", "example-members"),
			  "request %d: %d tags", i, r[i]->ntags);
		CHECK(r[i]->peer_res.status == 0);
		CHECK(r[i]->pid > 0 && r[i]->pid != pidA);	/* a child */
		CHECK(r[i]->done_pid == pidA);	/* DONE: the parent */
	}
	/* All six ran, never more than max-in-flight (2) at once. */
	CHECK_MSG(kA.max_inflight >= 1 && kA.max_inflight <= 2,
		  "max in flight %d", kA.max_inflight);
	/* Each request was accepted by a different child. */
	for (int i = 1; i < 6; i++)
		CHECK(r[i]->pid != r[0]->pid);
	for (int i = 0; i < 6; i++)
		finish(r[i]);
}

TEST(kernel_timeout)
{
	struct req *r = submit(&kA, PEER_SILENT, 700, 0);
	struct timespec t0, t1;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	CHECK(wait_for(req_done, r, 10000));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK_MSG(r->status == ETIMEDOUT, "status %u", r->status);
	CHECK(r->ntags == 0);
	CHECK_MSG(ms < 5000, "%ld ms", ms);
	shutdown(r->pfd, SHUT_RDWR);
	finish(r);
}

TEST(crashed_child_answered_by_parent)
{
	struct req *r = submit(&kA, PEER_SILENT, 20000, 0);

	CHECK(wait_for(req_accepted, r, 10000));
	if (r->pid > 0)
		kill(r->pid, SIGKILL);
	CHECK(wait_for(req_done, r, 5000));
	CHECK_MSG(r->status == EIO, "status %u", r->status);
	CHECK(r->ntags == 0);
	shutdown(r->pfd, SHUT_RDWR);
	finish(r);

	/* The daemon is still serving. */
	r = submit(&kA, PEER_TLS, 8000, 0);
	CHECK(wait_for(req_done, r, 10000));
	CHECK(r->status == 0 && r->ntags == 2);
	finish(r);
}

TEST(sighup_reload)
{
	char tags2[600], file[700];
	struct req *r;
	FILE *f;

	snprintf(tags2, sizeof(tags2), "%s/tags2", tmpdir);
	mkdir(tags2, 0755);
	snprintf(file, sizeof(file), "%s/r.yml", tags2);
	f = fopen(file, "w");
	fprintf(f, "filters:\n  who:\n    type: x509.tbs.subject\n"
		"    pattern: \"CN=alice,*\"\ntags:\n  reloaded:\n"
		"    filter:\n      - who\n");
	fclose(f);
	write_config(confA, tags2, 2);
	kill(pidA, SIGHUP);
	usleep(500000);
	r = submit(&kA, PEER_TLS, 8000, 0);
	CHECK(wait_for(req_done, r, 10000));
	CHECK_MSG(r->status == 0 && has_tags(r, 1, "reloaded", NULL),
		  "status %u, %d tags", r->status, r->ntags);
	finish(r);

	/* SIGUSR1 reloads as well, as in tlshd: the tag goes away. */
	write_config(confA, tagsA, 2);
	kill(pidA, SIGUSR1);
	usleep(500000);
	r = submit(&kA, PEER_TLS, 8000, 0);
	CHECK(wait_for(req_done, r, 10000));
	CHECK_MSG(r->status == 0 && !has_tags(r, 1, "reloaded", NULL) &&
		  r->ntags > 0, "status %u, %d tags", r->status, r->ntags);
	finish(r);
	write_config(confA, tags2, 2);
	kill(pidA, SIGUSR1);
	usleep(500000);

	/* A broken configuration is refused; the running one stays. */
	f = fopen(confA, "w");
	fprintf(f, "[global\n");
	fclose(f);
	kill(pidA, SIGHUP);
	usleep(500000);
	r = submit(&kA, PEER_TLS, 8000, 0);
	CHECK(wait_for(req_done, r, 10000));
	CHECK_MSG(r->status == 0 && has_tags(r, 1, "reloaded", NULL),
		  "status %u, %d tags", r->status, r->ntags);
	finish(r);
}

TEST(kernel_without_tags_and_max_tags)
{
	struct req *r;

	/* Daemon B's kernel lacks DONE attribute 4: no tags, still ok. */
	r = submit(&kB, PEER_TLS, 8000, 0);
	CHECK(wait_for(req_done, r, 10000));
	CHECK(r->status == 0 && r->ntags == 0);
	finish(r);

	/* max-tags 1 from ACCEPT: only the first of the sorted tags. */
	r = submit(&kA, PEER_TLS, 8000, 1);
	CHECK(wait_for(req_done, r, 10000));
	CHECK(r->status == 0);
	finish(r);
	write_config(confA, tagsA, 2);
	kill(pidA, SIGHUP);
	usleep(500000);
	r = submit(&kA, PEER_TLS, 8000, 1);
	CHECK(wait_for(req_done, r, 10000));
	CHECK_MSG(r->status == 0 && has_tags(r, 1, "alice", NULL),
		  "status %u, %d tags", r->status, r->ntags);
	finish(r);
}

/*
 * [global] session-tags = no: the kernel supports tags and the policy
 * matches, yet DONE carries none; yes again (SIGHUP) brings them back.
 */
TEST(session_tags_disabled_by_config)
{
	struct req *r;
	FILE *f;

	/* The usual configuration plus the key, at the end of [global] */
	write_config(confA, tagsA, 2);
	{
		char buf[4096];
		size_t n;
		char *p;

		f = fopen(confA, "r");
		n = fread(buf, 1, sizeof(buf) - 1, f);
		fclose(f);
		buf[n] = '\0';
		p = strstr(buf, "[trust]");
		f = fopen(confA, "w");
		fprintf(f, "%.*ssession-tags = no\n%s", (int)(p - buf), buf,
			p);
		fclose(f);
	}
	kill(pidA, SIGHUP);
	usleep(500000);
	r = submit(&kA, PEER_TLS, 8000, 0);
	CHECK(wait_for(req_done, r, 10000));
	CHECK_MSG(r->status == 0 && r->ntags == 0, "status %u, %d tags",
		  r->status, r->ntags);
	CHECK(r->peer_res.status == 0);
	finish(r);

	write_config(confA, tagsA, 2);
	kill(pidA, SIGHUP);
	usleep(500000);
	r = submit(&kA, PEER_TLS, 8000, 0);
	CHECK(wait_for(req_done, r, 10000));
	CHECK_MSG(r->status == 0 && has_tags(r, 2, "alice", "example-members"),
		  "status %u, %d tags", r->status, r->ntags);
	finish(r);
}

/* ACCEPT errors and crashed probes: the daemon retries by itself. */
TEST(accept_errors_are_retried)
{
	struct req *r;
	struct timespec t0, t1;
	long ms;

	pthread_mutex_lock(&lock);
	kA.accept_fail = 3;	/* backoff 100 + 200 + 400 ms */
	pthread_mutex_unlock(&lock);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = submit(&kA, PEER_TLS, 8000, 0);	/* one READY, no more */
	CHECK(wait_for(req_done, r, 10000));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK_MSG(r->status == 0 && r->ntags == 2, "status %u", r->status);
	CHECK(kA.accept_fail == 0);
	CHECK_MSG(ms >= 600, "retried after only %ld ms", ms);
	finish(r);

	pthread_mutex_lock(&lock);
	kA.accept_crash = 2;
	pthread_mutex_unlock(&lock);
	r = submit(&kA, PEER_TLS, 8000, 0);
	CHECK(wait_for(req_done, r, 10000));
	CHECK_MSG(r->status == 0 && r->ntags == 2, "status %u", r->status);
	CHECK(kA.accept_crash == 0);
	finish(r);
}

/* An ACCEPT reply that does not parse is still answered, at once. */
TEST(unusable_accept_reply_answered)
{
	struct req *r;
	struct timespec t0, t1;
	long ms;

	clock_gettime(CLOCK_MONOTONIC, &t0);
	r = submit_bad(&kA);
	CHECK(wait_for(req_done, r, 10000));
	clock_gettime(CLOCK_MONOTONIC, &t1);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	CHECK_MSG(r->status == EINVAL, "status %u", r->status);
	CHECK(r->ntags == 0);
	CHECK_MSG(ms < 3000, "%ld ms", ms);
	shutdown(r->pfd, SHUT_RDWR);
	finish(r);

	/* And the daemon goes on serving. */
	r = submit(&kA, PEER_TLS, 8000, 0);
	CHECK(wait_for(req_done, r, 10000));
	CHECK(r->status == 0 && r->ntags == 2);
	finish(r);
}

/* The notification socket breaks: the daemon joins again. */
TEST(event_socket_reopened)
{
	struct req *r;
	int nev;

	pthread_mutex_lock(&lock);
	nev = kA.nev;
	for (int i = 0; i < kA.nev; i++)
		shutdown(kA.evfd[i], SHUT_RDWR);	/* POLLHUP there */
	pthread_mutex_unlock(&lock);
	usleep(400000);
	pthread_mutex_lock(&lock);
	CHECK_MSG(kA.nev == nev + 1, "%d event sockets, was %d", kA.nev, nev);
	pthread_mutex_unlock(&lock);
	r = submit(&kA, PEER_TLS, 8000, 0);
	CHECK(wait_for(req_done, r, 10000));
	CHECK(r->status == 0 && r->ntags == 2);
	finish(r);
}

/* -d survives SIGHUP: the override wins over every configuration. */
TEST(debug_override_survives_reload)
{
	struct tt_config cfg;

	tt_config_defaults(&cfg);
	cfg.log_level = LOG_WARNING;
	cfg.log_target = TT_LOGT_STDERR;
	tt_daemon_set_log_override(LOG_DEBUG);
	tt_daemon_apply_logging(&cfg, true);
	CHECK(tt_log_get_level() == LOG_DEBUG);
	tt_daemon_apply_logging(&cfg, true);	/* a reload */
	CHECK(tt_log_get_level() == LOG_DEBUG);
	tt_daemon_set_log_override(-1);
	tt_daemon_apply_logging(&cfg, true);
	CHECK(tt_log_get_level() == LOG_WARNING);
	tt_config_free(&cfg);
}

static int count_fds(pid_t pid)
{
	char path[64];
	struct dirent *e;
	DIR *dir;
	int n = 0;

	snprintf(path, sizeof(path), "/proc/%d/fd", (int)pid);
	dir = opendir(path);
	if (!dir)
		return -1;
	while ((e = readdir(dir)))
		n += e->d_name[0] != '.';
	closedir(dir);
	return n;
}

/*
 * Compromised children: each can fail its own request and nothing else;
 * every DONE comes from the parent.
 */
TEST(compromised_child_contained)
{
	static const struct {
		const char	*what;
		uint32_t	status;
		int		ntags;
	} cases[] = {
		{ "hostile:execve", EIO, 0 },	/* seccomp kills it */
		{ "hostile:done", 200, 0 },	/* no way to the kernel */
		{ "hostile:second-fd", EIO, 0 },	/* sendmsg: killed */
		{ "hostile:garbage", EIO, 0 },
		{ "hostile:forge-tag", EIO, 0 },
		{ "hostile:own-key", EIO, 0 },	/* add_key: killed */
		{ "hostile:remote-auth", EIO, 0 },
		{ "hostile:flood", 0, 0 },	/* one answer, then cut off */
		{ "hostile:read-key", 200, 0 },	/* open: EACCES */
		{ "hostile:valid", 0, 1 },	/* the checks pass good reports */
	};
	int fds0;

	/* The previous test's children may still be being reaped: settle. */
	usleep(200000);
	fds0 = count_fds(pidA);

	for (size_t i = 0; i < sizeof(cases) / sizeof(cases[0]); i++) {
		struct req *r = submit_hostile(&kA, cases[i].what);

		CHECK_MSG(wait_for(req_done, r, 10000), "%s", cases[i].what);
		CHECK_MSG(r->status == cases[i].status && r->ntags == cases[i].ntags,
			  "%s: status %u, %d tags", cases[i].what, r->status,
			  r->ntags);
		CHECK_MSG(r->done_pid == pidA, "%s: DONE from %d, not the parent %d",
			  cases[i].what, (int)r->done_pid, (int)pidA);
		shutdown(r->pfd, SHUT_RDWR);
		finish(r);
	}
	/* The daemon goes on serving, and holds no descriptor more. */
	struct req *r = submit(&kA, PEER_TLS, 8000, 0);

	CHECK(wait_for(req_done, r, 10000));
	CHECK(r->status == 0 && has_tags(r, 2, "alice", "example-members"));
	CHECK(r->done_pid == pidA);
	finish(r);
	usleep(200000);
	CHECK_MSG(count_fds(pidA) == fds0, "daemon descriptors %d, were %d",
		  count_fds(pidA), fds0);
}

/* The children of @pid: the key holder's pid and another one's. */
static void children_of(pid_t pid, pid_t *holder, pid_t *other)
{
	char path[96], comm[32];
	FILE *f;
	int c;

	*holder = *other = 0;
	snprintf(path, sizeof(path), "/proc/%d/task/%d/children", (int)pid,
		 (int)pid);
	f = fopen(path, "r");
	if (!f)
		return;
	while (fscanf(f, "%d", &c) == 1) {
		FILE *g;

		snprintf(path, sizeof(path), "/proc/%d/comm", c);
		g = fopen(path, "r");
		if (!g)
			continue;
		if (fgets(comm, sizeof(comm), g) &&
		    strncmp(comm, "tlstagd-keys", 12) == 0)
			*holder = c;
		else
			*other = c;
		fclose(g);
	}
	fclose(f);
}

static bool sandboxed(pid_t pid)
{
	char path[64], line[128];
	bool yes = false;
	FILE *f;

	snprintf(path, sizeof(path), "/proc/%d/status", (int)pid);
	f = fopen(path, "r");
	if (!f)
		return false;
	while (fgets(line, sizeof(line), f))
		if (strncmp(line, "Seccomp:", 8) == 0)
			yes = strtol(line + 8, NULL, 10) == 2;
	fclose(f);
	return yes;
}

/*
 * The private key is in the key holder's memory only: not in the daemon,
 * not in a sandboxed handshake child (the scan finds it in the holder,
 * so it would find it elsewhere).
 */
TEST(child_and_daemon_hold_no_key)
{
	struct ms_secret sec;
	pid_t holder = 0, child = 0;
	struct req *r;

	CHECK(ms_load(server_key, &sec) == 0);
	r = submit_hostile_timeout(&kA, "hostile:linger", 4000);
	for (int i = 0; i < 100 && !(child && sandboxed(child)); i++) {
		usleep(20000);
		children_of(pidA, &holder, &child);
	}
	CHECK_MSG(holder > 0 && child > 0 && sandboxed(child),
		  "holder %d, child %d", (int)holder, (int)child);
	if (child > 0) {
		CHECK_MSG(ms_scan(child, &sec) == 0, "child: %d",
			  ms_scan(child, &sec));
		CHECK_MSG(ms_scan(pidA, &sec) == 0, "daemon: %d",
			  ms_scan(pidA, &sec));
		CHECK_MSG(ms_scan(holder, &sec) == 7, "holder: %d",
			  ms_scan(holder, &sec));
	}
	CHECK(wait_for(req_done, r, 10000));
	CHECK_MSG(r->status == ETIMEDOUT, "status %u", r->status);
	shutdown(r->pfd, SHUT_RDWR);
	finish(r);
}

static int stop_daemon(pid_t pid)
{
	int st = -1;

	kill(pid, SIGTERM);
	for (int i = 0; i < 100; i++) {
		if (waitpid(pid, &st, WNOHANG) == pid)
			return st;
		usleep(50000);
	}
	kill(pid, SIGKILL);
	waitpid(pid, &st, 0);
	return -1;
}

int main(int argc, char **argv)
{
	char cmd[700], pconf[600];
	struct tt_diag diag = { 0 };
	pthread_t kt;
	int st;

	if (argc != 3) {
		fprintf(stderr, "usage: %s CERTDIR DATADIR\n", argv[0]);
		return 2;
	}
	certs = argv[1];
	data = argv[2];
	signal(SIGPIPE, SIG_IGN);
	if (!mkdtemp(tmpdir))
		return 2;
	snprintf(tagsA, sizeof(tagsA), "%s/tags.d", data);
	snprintf(confA, sizeof(confA), "%s/a.conf", tmpdir);
	snprintf(confB, sizeof(confB), "%s/b.conf", tmpdir);
	snprintf(server_key, sizeof(server_key), "%s/server.key", certs);
	write_config(confA, tagsA, 2);
	write_config(confB, tagsA, 4);
	{
		gnutls_datum_t pem = { 0 }, der = { 0 };
		char path[700];

		snprintf(path, sizeof(path), "%s/alice.pem", certs);
		if (gnutls_load_file(path, &pem) < 0 ||
		    gnutls_pem_base64_decode2("CERTIFICATE", &pem, &der) < 0 ||
		    der.size > sizeof(alice_der))
			return 2;
		memcpy(alice_der, der.data, der.size);
		alice_der_len = der.size;
		gnutls_free(pem.data);
		gnutls_free(der.data);
	}
	listen_kernel(&kA);
	listen_kernel(&kB);
	/* Fork the daemons before any thread exists. */
	pidA = start_daemon(&kA, confA, true);
	pidB = start_daemon(&kB, confB, false);

	tt_log_init("test_daemon", TT_LOG_STDERR, LOG_WARNING);
	tt_tls_global_init();
	snprintf(pconf, sizeof(pconf), "%s/peer.conf", tmpdir);
	{
		FILE *f = fopen(pconf, "w");

		fprintf(f, "[global]\ntags-dir = %s\n[trust]\nca-file = %s/ca.pem\n"
			"[client]\ncertificate = %s/alice.pem\n"
			"private-key = %s/alice.key\n", tagsA, certs, certs,
			certs);
		fclose(f);
	}
	if (tt_runtime_load(pconf, &peer_rt, &diag) < 0) {
		tt_diag_print(&diag, stderr);
		tt_diag_free(&diag);
		return 2;
	}
	tt_diag_free(&diag);
	pthread_create(&kt, NULL, kernel_main, NULL);
	usleep(300000);		/* let the daemons start */

	RUN(requests_with_tags_and_limit);
	RUN(kernel_timeout);
	RUN(crashed_child_answered_by_parent);
	RUN(sighup_reload);
	RUN(kernel_without_tags_and_max_tags);
	RUN(session_tags_disabled_by_config);
	RUN(accept_errors_are_retried);
	RUN(unusable_accept_reply_answered);
	RUN(event_socket_reopened);
	RUN(debug_override_survives_reload);
	RUN(compromised_child_contained);
	RUN(child_and_daemon_hold_no_key);

	st = stop_daemon(pidA);
	CHECK_MSG(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 0,
		  "daemon A: status %d", st);
	/*
	 * Daemon B's key holder dies: B cannot sign any more, so it stops,
	 * with an error status, instead of failing every handshake.
	 */
	{
		pid_t holder = 0, other = 0;

		children_of(pidB, &holder, &other);
		CHECK(holder > 0 && kill(holder, SIGKILL) == 0);
		st = -1;
		for (int i = 0; i < 100 && waitpid(pidB, &st, WNOHANG) != pidB; i++)
			usleep(50000);
		CHECK_MSG(st >= 0 && WIFEXITED(st) && WEXITSTATUS(st) == 1,
			  "daemon B after its key holder died: status %d", st);
		if (st < 0)
			stop_daemon(pidB);
	}
	stop_kernel = 1;
	pthread_join(kt, NULL);
	fprintf(stderr, "  duplicate DONEs refused by the kernel: %d\n",
		kA.dup_done);
	/* Every DONE was one a real kernel takes as it was meant. */
	CHECK_MSG(kA.violations == 0 && kB.violations == 0,
		  "DONE violations: A %d, B %d", kA.violations, kB.violations);
	for (int i = 0; i < kA.nreq; i++)
		free(kA.reqs[i]);
	for (int i = 0; i < kB.nreq; i++)
		free(kB.reqs[i]);
	for (int i = 0; i < kA.nev; i++)
		close(kA.evfd[i]);
	for (int i = 0; i < kB.nev; i++)
		close(kB.evfd[i]);
	close(kA.lfd);
	close(kB.lfd);
	tt_runtime_free(peer_rt);
	tt_tls_global_deinit();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return tt_test_summary();
}
