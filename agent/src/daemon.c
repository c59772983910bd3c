// SPDX-License-Identifier: GPL-2.0-only
/*
 * The daemon: one parent that listens for READY and supervises one child
 * process per handshake.
 *
 * The child sends ACCEPT itself, so the kernel installs the socket (and
 * links the consumer's keyring, in 6.12) into the process that runs the
 * handshake; a crash, hang or hostile peer then costs only that child.
 * The child passes a duplicate of the socket back to the parent over a
 * socketpair, so that the parent can answer DONE for a child that died or
 * ran past the kernel's timeout.
 */
#include <errno.h>
#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/signalfd.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <keyutils.h>
#include <linux/capability.h>
#include <netinet/in.h>
#include <netinet/tcp.h>

#include "daemon.h"
#include "handshake.h"
#include "keyholder.h"
#include "log.h"
#include "report.h"
#include "sandbox.h"
#include "tt_sched.h"

#define PROBE_DEADLINE_MS	15000
#define TIMEOUT_GRACE_MS	2000
#define STOP_GRACE_MS		2000
#define KILL_WAIT_MS		1000	/* re-check a SIGKILLed child */

struct slot {
	pid_t		pid;		/* 0: free */
	int		report_fd;
	int		sock_fd;	/* parent's copy of the socket, -1 once answered */
	struct tt_accept acc;		/* what the child accepted */
	bool		probing;
	bool		timed_out;
	bool		killed;		/* SIGKILL sent */
	bool		finished;	/* ... because its result was in */
	unsigned int	gen;		/* scheduler generation at spawn */
	int64_t		deadline;
};

struct daemon {
	const char		*config_path;
	struct tt_runtime	**rt;
	const struct tt_caps	*caps;
	bool			foreground;
	const struct tt_kernel_ops *ops;
	int			evfd;	/* READY notifications */
	int			sigfd;
	struct tt_sched		sched;
	struct slot		*slots;
	unsigned int		nslots;
	int64_t			stop_deadline;
	bool			failed;	/* stopping because of an error */
	int64_t			reopen_at;	/* evfd < 0: when to retry */
	unsigned int		reopen_ms;
};

static int log_override = -1;
static int target_override = -1;

void tt_daemon_set_target_override(int target)
{
	target_override = target;
}

void tt_daemon_set_log_override(int level)
{
	log_override = level;
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

void tt_daemon_apply_logging(const struct tt_config *cfg, bool foreground)
{
	enum tt_log_target t;

	switch (cfg->log_target) {
	case TT_LOGT_STDERR:
		t = TT_LOG_STDERR;
		break;
	case TT_LOGT_SYSLOG:
		t = TT_LOG_SYSLOG;
		break;
	default:
		t = foreground ? TT_LOG_STDERR : TT_LOG_SYSLOG;
		break;
	}
	if (target_override >= 0)
		t = (enum tt_log_target)target_override;
	tt_log_set_target(t);
	tt_log_set_level(log_override >= 0 ? log_override : cfg->log_level);
	tt_tls_set_log_level(tt_log_get_level());
	/* tlshd's [debug] tls: GnuTLS's own level, as tlshd sets it. */
	if (cfg->tls_debug > 0)
		gnutls_global_set_log_level(cfg->tls_debug);
}

/* ------------------------------------------------------------------ */
/* The kernel, over generic netlink                                   */
/* ------------------------------------------------------------------ */

static struct tt_nl nl_events;	/* parent: member of the tlshd group */
static struct tt_nl nl_requests;	/* ACCEPT + DONE (child), fallback DONE */

static int nlk_open_events(void *ctx, const struct tt_caps *caps)
{
	int ret;

	(void)ctx;
	ret = tt_nl_open(&nl_events);
	if (ret == 0)
		ret = tt_nl_join_group(&nl_events, caps->fam.mcgrp_tlshd);
	if (ret < 0) {
		tt_nl_close(&nl_events);
		return ret;
	}
	return tt_nl_fd(&nl_events);
}

static int nlk_read_ready(void *ctx, const struct tt_caps *caps, int fd)
{
	(void)ctx;
	(void)fd;
	return tt_nl_read_ready(&nl_events, caps->fam.id);
}

static void nlk_close(void *ctx)
{
	(void)ctx;
	tt_nl_close(&nl_events);
	tt_nl_close(&nl_requests);
}

static int need_requests(void)
{
	return nl_requests.sk ? 0 : tt_nl_open(&nl_requests);
}

static int nlk_accept(void *ctx, const struct tt_caps *caps,
		      struct tt_accept *acc)
{
	int ret = need_requests();

	(void)ctx;
	return ret ? ret : tt_nl_accept(&nl_requests, caps->fam.id, acc);
}

static int nlk_done(void *ctx, const struct tt_caps *caps,
		    const struct tt_done *d, struct tt_done_stats *stats,
		    char *ext, size_t extlen)
{
	int ret = need_requests();

	(void)ctx;
	if (ext && extlen)
		ext[0] = '\0';
	return ret ? ret : tt_nl_done(&nl_requests, caps->fam.id, d, stats,
				      ext, extlen);
}

const struct tt_kernel_ops tt_netlink_kernel = {
	.open_events = nlk_open_events,
	.read_ready = nlk_read_ready,
	.close = nlk_close,
	.child_reset = nlk_close,
	.accept = nlk_accept,
	.done = nlk_done,
	.require_ktls = true,
};

/* ------------------------------------------------------------------ */
/* Child                                                              */
/* ------------------------------------------------------------------ */

static bool send_report(int fd, uint32_t kind, uint32_t timeout_ms, int err,
			const struct tt_accept *acc)
{
	struct tt_report_hdr r = { .kind = kind, .timeout_ms = timeout_ms,
				   .err = err };
	struct iovec iov = { &r, sizeof(r) };
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (acc) {
		struct cmsghdr *cm;

		r.acc = *acc;
		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &acc->sockfd, sizeof(int));
	}
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) != (ssize_t)sizeof(r)) {
		tt_warn("cannot report to the parent: %s", strerror(errno));
		return false;
	}
	return true;
}

static const char *msg_type_name(uint32_t t)
{
	return t == TT_HS_MSG_TYPE_CLIENTHELLO ? "client" :
	       t == TT_HS_MSG_TYPE_SERVERHELLO ? "server" : "?";
}

static const char *auth_name(uint32_t a)
{
	return a == TT_HS_AUTH_UNAUTH ? "unauth" : a == TT_HS_AUTH_PSK ? "psk" :
	       a == TT_HS_AUTH_X509 ? "x509" : "?";
}

/*
 * Sends the outcome to the parent, which decides what DONE says. @tags:
 * whether the kernel and the configuration want tags at all.
 */
static void child_report_result(int rep, const struct tt_accept *acc,
				const struct tt_hs_result *res, bool tags)
{
	struct tt_report_result r = {
		.status = res->status, .ktls = res->ktls,
		.has_remote_auth = res->nremote_auth > 0,
		.remote_auth = res->nremote_auth ? res->remote_auth[0] : 0,
		.peer = res->peer, .reason = res->reason,
	};
	size_t n, max = acc->max_tags;
	void *buf;

	if (res->status == 0 && res->peer_der_len <= TT_REPORT_DER_MAX) {
		r.peer_der = res->peer_der;
		r.peer_der_len = res->peer_der_len;
	} else if (res->status == 0 && res->peer_der_len) {
		tt_warn("peer certificate of %zu bytes: too large for an identity",
			res->peer_der_len);
	}
	if (tags && res->status == 0 && r.peer_der_len) {
		if (max > TT_REPORT_MAX_TAGS)
			max = TT_REPORT_MAX_TAGS;
		if (res->tags.count > max)
			tt_warn("%zu tag(s) over the kernel's limit of %zu dropped (kept the first %zu in sorted order)",
				res->tags.count - max, max, max);
		for (size_t i = 0; i < res->tags.count && i < max; i++)
			r.tags[r.ntags++] = res->tags.names[i];
	}
	buf = malloc(TT_REPORT_BUFSIZE);
	n = buf ? tt_report_encode(buf, TT_REPORT_BUFSIZE, &r) : 0;
	if (!n)
		tt_err("cannot encode the handshake result");
	else if (send(rep, buf, n, MSG_NOSIGNAL) != (ssize_t)n)
		tt_err("cannot report to the parent: %s", strerror(errno));
	free(buf);
}

/*
 * The kernel installed a socket but its ACCEPT reply did not parse: the
 * request is ours and must be answered at once, or the consumer waits for
 * its timeout. The parent gets the socket and a failed result.
 */
static void __attribute__((noreturn))
reject_request(struct daemon *d, int rep, struct tt_accept *acc, int err)
{
	struct tt_hs_result res = { .status = EINVAL };

	tt_err("unusable ACCEPT reply (%s) for fd %d: answering DONE with EINVAL",
	       strerror(-err), acc->sockfd);
	snprintf(res.reason, sizeof(res.reason), "unusable ACCEPT reply: %s",
		 strerror(-err));
	acc->has_peername = false;
	acc->peername[0] = '\0';
	send_report(rep, TT_REP_ACCEPTED, (*d->rt)->cfg.timeout_ms, 0, acc);
	child_report_result(rep, acc, &res, false);
	d->ops->child_reset(d->ops->ctx);
	fflush(stderr);
	_exit(0);
}

/* Right after fork: nothing of the parent's that the child must not hold. */
static void child_setup(struct daemon *d, int kh_chan)
{
	char prefix[32];
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	signal(SIGPIPE, SIG_IGN);
	close(d->sigfd);
	for (unsigned int i = 0; i < d->nslots; i++) {
		if (d->slots[i].report_fd >= 0)
			close(d->slots[i].report_fd);
		if (d->slots[i].sock_fd >= 0)
			close(d->slots[i].sock_fd);
	}
	/* Signatures go to the key holder over this child's own channel. */
	tt_kh_attach(kh_chan);
	snprintf(prefix, sizeof(prefix), "[%d] ", (int)getpid());
	tt_log_set_prefix(prefix);
}

/*
 * ACCEPT, and hand the socket and what was accepted to the parent.
 * Returns the timeout to enforce; exits when there is no request.
 */
static uint32_t child_accept(struct daemon *d, int rep, struct tt_accept *acc)
{
	const struct tt_runtime *rt = *d->rt;
	uint32_t timeout;
	int ret;

	acc->sockfd = -1;
	ret = d->ops->accept(d->ops->ctx, d->caps, acc);
	if (ret == -EAGAIN) {
		send_report(rep, TT_REP_EMPTY, 0, 0, NULL);
		_exit(3);
	}
	if (ret < 0 && acc->sockfd >= 0)
		reject_request(d, rep, acc, ret);
	if (ret < 0) {
		send_report(rep, TT_REP_ERROR, 0, ret, NULL);
		_exit(4);
	}
	timeout = acc->timeout_ms ? acc->timeout_ms : rt->cfg.timeout_ms;
	if (!send_report(rep, TT_REP_ACCEPTED, timeout, 0, acc)) {
		/*
		 * The parent does not have the socket: answer here, while
		 * this child still may (no peer data read yet).
		 */
		struct tt_done done = { .status = EIO, .sockfd = acc->sockfd };
		char ext[128] = "";

		ret = d->ops->done(d->ops->ctx, d->caps, &done, NULL, ext,
				   sizeof(ext));
		if (ret < 0)
			tt_err("DONE refused: %s%s%s", strerror(-ret),
			       ext[0] ? ": " : "", ext);
		fflush(stderr);
		_exit(6);
	}
	return timeout;
}

/*
 * From here on the child reads the peer's data: it drops the kernel
 * sockets and every privilege first. A child that cannot is not allowed to
 * go on; the parent answers its request.
 */
static void child_sandbox(struct daemon *d, int rep, struct tt_accept *acc)
{
	char why[160];

	d->ops->child_reset(d->ops->ctx);
	/*
	 * A session keyring of its own: the daemon's (and the peer keyring in
	 * it) are out of reach. The request's keyring stays possessed: the
	 * kernel linked it into this process's keyring at ACCEPT.
	 */
	if (keyctl_join_session_keyring(NULL) < 0) {
		tt_err("cannot leave the daemon's session keyring: %s",
		       strerror(errno));
		_exit(5);
	}
	/* The one descriptor the filter lets sendmsg() use */
	if (acc->sockfd != TT_SANDBOX_PEER_FD) {
		if (dup3(acc->sockfd, TT_SANDBOX_PEER_FD, O_CLOEXEC) < 0) {
			tt_err("cannot move the socket to fd %d: %s",
			       TT_SANDBOX_PEER_FD, strerror(errno));
			_exit(5);
		}
		close(acc->sockfd);
		acc->sockfd = TT_SANDBOX_PEER_FD;
	}
	tt_kh_seal();	/* no key is handed to the holder from here on */
	if (tt_sandbox_enter(why, sizeof(why)) < 0) {
		tt_err("cannot sandbox the handshake child: %s", why);
		fflush(stderr);
		_exit(5);
	}
	if (d->ops->child_sandboxed)
		d->ops->child_sandboxed(d->ops->ctx, rep, acc);
}

static void __attribute__((noreturn))
child_main(struct daemon *d, int rep, int kh_chan)
{
	const struct tt_runtime *rt = *d->rt;
	bool tags = d->caps->tags && rt->cfg.session_tags;
	struct tt_hs_env env = { .rt = rt, .keys = &tt_keyutils_ops,
				 .require_ktls = d->ops->require_ktls,
				 .evaluate_tags = tags,
				 .defer_peer_key = true,
				 .peer_keyring = tt_keys_peer_keyring() };
	struct tt_hs_params p;
	struct tt_hs_result res;
	struct tt_accept acc;
	char esc[4 * TT_PEERNAME_MAX + 1], why[256];
	uint32_t timeout;
	int ret;

	child_setup(d, kh_chan);
	timeout = child_accept(d, rep, &acc);
	tt_hs_params_from_accept(&acc, &p);
	/*
	 * Found now: the keyrings are named in /proc/keys, a file. Linked
	 * into this process's keyring, they stay possessed (and so
	 * searchable as their possessor may) once the sandbox gives the
	 * child a session keyring of its own.
	 */
	if (p.auth_mode == TT_HS_AUTH_PSK) {
		env.npsk_keyrings = tt_keys_psk_keyrings(rt->cfg.keyrings,
							 rt->cfg.nkeyrings,
							 env.psk_keyrings,
							 TT_MAX_KEYRINGS + 3);
		for (unsigned int i = 0; i < env.npsk_keyrings; i++)
			if (keyctl_link(env.psk_keyrings[i],
					KEY_SPEC_PROCESS_KEYRING) < 0)
				tt_debug("cannot hold keyring %d: %s",
					 env.psk_keyrings[i], strerror(errno));
	}
	/*
	 * Files the handshake needs are read now, and a private key the
	 * request names goes to the key holder: the sandbox forbids both.
	 */
	ret = tt_hs_prepare(&p, &env, why, sizeof(why));
	if (ret < 0) {
		memset(&res, 0, sizeof(res));
		res.status = ret == -EACCES ? EACCES : EIO;
		snprintf(res.reason, sizeof(res.reason), "%.250s", why);
		tt_err("%s", res.reason);
		child_report_result(rep, &acc, &res, false);
		_exit(0);
	}
	/*
	 * Its key is with the holder: the keyring the kernel linked into
	 * this process for the request is not needed any more, and without
	 * it this process no longer possesses the key (a key that grants
	 * read to its owner's uid stays readable, as it is to any uid 0).
	 */
	if (env.keyring_creds && keyctl_clear(KEY_SPEC_PROCESS_KEYRING) < 0 &&
	    errno != ENOKEY)
		tt_warn("cannot drop the request's keyring: %s", strerror(errno));
	child_sandbox(d, rep, &acc);
	p.fd = acc.sockfd;
	/* Backstop: the handshake itself gives up at @timeout. */
	alarm(timeout / 1000 + 2);

	tt_escape(acc.peername, esc, sizeof(esc));
	if (acc.has_peername && strlen(acc.peername) > 253)
		tt_notice("peername of %zu bytes is no DNS name; it is used as given",
			  strlen(acc.peername));
	tt_debug("accepted fd %d: %s hello, %s, peername %s, timeout %u ms, "
		 "max-tags %u%s",
		 acc.sockfd, msg_type_name(acc.message_type),
		 auth_name(acc.auth_mode),
		 acc.has_peername ? esc : "(none)", timeout,
		 acc.max_tags, acc.has_max_tags ? "" : " (default)");
	tt_handshake_run(&p, &env, &res);
	child_report_result(rep, &acc, &res, tags);
	tt_hs_result_free(&res);
	fflush(stderr);
	_exit(0);
}

/* ------------------------------------------------------------------ */
/* Parent                                                             */
/* ------------------------------------------------------------------ */

static struct slot *free_slot(struct daemon *d)
{
	for (unsigned int i = 0; i < d->nslots; i++)
		if (!d->slots[i].pid)
			return &d->slots[i];
	return NULL;
}

static int grow_slots(struct daemon *d, unsigned int n)
{
	struct slot *s;

	if (n <= d->nslots)
		return 0;
	s = realloc(d->slots, n * sizeof(*s));
	if (!s)
		return -ENOMEM;
	for (unsigned int i = d->nslots; i < n; i++) {
		memset(&s[i], 0, sizeof(s[i]));
		s[i].report_fd = -1;
		s[i].sock_fd = -1;
	}
	d->slots = s;
	d->nslots = n;
	return 0;
}

static void spawn(struct daemon *d)
{
	const struct tt_runtime *rt = *d->rt;
	struct slot *s = free_slot(d);
	struct tt_kh *kh = tt_kh_current();
	int sv[2], chan = -1;
	pid_t pid;

	if (!s) {
		tt_sched_failed(&d->sched, false, now_ms());
		return;
	}
	/* Also without configured keys: a request may name one of its own. */
	if (kh) {
		chan = tt_kh_channel(kh, rt->held_ids, rt->nheld);
		if (chan < 0) {
			tt_err("no channel to the key holder: %s",
			       strerror(-chan));
			tt_sched_failed(&d->sched, false, now_ms());
			return;
		}
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		tt_err("socketpair: %s", strerror(errno));
		if (chan >= 0)
			close(chan);
		tt_sched_failed(&d->sched, false, now_ms());
		return;
	}
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		tt_err("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		if (chan >= 0)
			close(chan);
		tt_sched_failed(&d->sched, false, now_ms());
		return;
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(d, sv[1], chan);
	}
	close(sv[1]);
	if (chan >= 0)
		close(chan);
	s->pid = pid;
	s->report_fd = sv[0];
	s->sock_fd = -1;
	memset(&s->acc, 0, sizeof(s->acc));
	s->probing = true;
	s->timed_out = false;
	s->killed = false;
	s->deadline = now_ms() + PROBE_DEADLINE_MS;
	s->gen = tt_sched_spawned(&d->sched);
}

static void join_tags(const struct tt_report_result *r, char *buf, size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (unsigned int i = 0; i < r->ntags && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					i ? "," : "", r->tags[i]);
	if (off >= len && len > 4)
		strcpy(buf + len - 4, "...");
}

/* DONE for the request of @s, once; the parent's copy is then closed. */
static void answer(struct daemon *d, struct slot *s, const struct tt_done *done,
		   struct tt_done_stats *stats)
{
	char ext[256];
	int ret;

	ret = d->ops->done(d->ops->ctx, d->caps, done, stats, ext, sizeof(ext));
	if (ret < 0 && ret != -EBUSY)
		tt_err("DONE for child %d refused: %s%s%s", (int)s->pid,
		       strerror(-ret), ext[0] ? ": " : "", ext);
	close(s->sock_fd);
	s->sock_fd = -1;
}

static void answer_error(struct daemon *d, struct slot *s, uint32_t status)
{
	struct tt_done done = { .status = status, .sockfd = s->sock_fd };

	answer(d, s, &done, NULL);
}

static void log_result(struct daemon *d, const struct slot *s,
		       const struct tt_report_result *r,
		       const struct tt_done_stats *st)
{
	const struct tt_runtime *rt = *d->rt;
	const struct tt_accept *a = &s->acc;
	char peer[4 * TT_REPORT_TEXT_MAX + 1], name[4 * TT_PEERNAME_MAX + 1];
	char reason[4 * TT_REPORT_TEXT_MAX + 1], tags[512];

	/* The child's texts come from the peer: escape them. */
	tt_escape(r->peer, peer, sizeof(peer));
	tt_escape(r->reason, reason, sizeof(reason));
	tt_escape(a->peername, name, sizeof(name));
	if (r->status) {
		tt_notice("[%d] %s handshake (%s)%s%s failed: %s (%s)",
			  (int)s->pid, msg_type_name(a->message_type),
			  auth_name(a->auth_mode),
			  a->has_peername ? " for " : "", name,
			  strerror((int)r->status), reason);
		return;
	}
	join_tags(r, tags, sizeof(tags));
	tt_info("[%d] %s handshake (%s) with %s%s%s: ok, %s, tags %s",
		(int)s->pid, msg_type_name(a->message_type),
		auth_name(a->auth_mode),
		peer[0] ? peer : "unauthenticated peer",
		a->has_peername ? " for " : "", name,
		r->ktls ? "kTLS on" : "kTLS NOT installed",
		!rt->cfg.session_tags ? "not sent (disabled by configuration)" :
		!d->caps->tags ? "not sent (kernel lacks tag support)" :
		st->tags_sent ? tags : "(none)");
	if (st->tags_invalid)
		tt_warn("%u tag(s) of invalid length dropped", st->tags_invalid);
}

/* Whether kTLS is on @fd, as the kernel says (the child may lie). */
static bool ktls_on(int fd)
{
	char ulp[16] = "";
	socklen_t len = sizeof(ulp);

	return getsockopt(fd, IPPROTO_TCP, TCP_ULP, ulp, &len) == 0 &&
	       strcmp(ulp, "tls") == 0;
}

/*
 * The peer's identity, made here and not by the child: the verified
 * certificate as a key in the request's keyring when it names one, else
 * in the daemon's peer keyring. Returns the serial or -errno.
 */
static int32_t make_peer_key(const struct tt_runtime *rt, const struct slot *s,
			     const struct tt_report_result *r)
{
	int32_t k = -ENOKEY;

	if (s->acc.has_keyring)
		k = tt_peer_key(&tt_keyutils_ops, (int32_t)s->acc.keyring,
				rt->cfg.peer_key_ttl, r->peer_der,
				r->peer_der_len);
	if (k <= 0)
		k = tt_peer_key(&tt_keyutils_ops, tt_keys_peer_keyring(),
				rt->cfg.peer_key_ttl, r->peer_der,
				r->peer_der_len);
	return k;
}

/*
 * The child's result: believed only as far as the parent can check it
 * (report.h); anything else fails the request with EIO, and only it.
 */
static void handle_result(struct daemon *d, struct slot *s, void *buf,
			  size_t n)
{
	const struct tt_runtime *rt = *d->rt;
	struct tt_report_ctx ctx = { .acc = &s->acc, .policy = rt->policy,
				     .is_psk = tt_keys_is_psk };
	struct tt_report_result r;
	struct tt_done_stats stats;
	struct tt_done done;
	uint32_t serial = 0;
	char why[320];

	if (tt_report_decode(buf, n, &r, why, sizeof(why)) < 0 ||
	    tt_report_check(&r, &ctx, why, sizeof(why)) < 0) {
		tt_err("handshake child %d: report refused (%s): failing its request",
		       (int)s->pid, why);
		answer_error(d, s, EIO);
		return;
	}
	if (r.status == 0 && d->ops->require_ktls && !ktls_on(s->sock_fd)) {
		tt_err("handshake child %d: reported success without kTLS on the socket: failing its request",
		       (int)s->pid);
		answer_error(d, s, EIO);
		return;
	}
	if (r.status == 0 && r.peer_der_len) {
		int32_t k = make_peer_key(rt, s, &r);

		if (k > 0) {
			serial = (uint32_t)k;
		} else if (s->acc.message_type == TT_HS_MSG_TYPE_SERVERHELLO &&
			   rt->cfg.client_cert_mode == TT_CLIENT_CERT_REQUIRE) {
			/* "require" promised the consumer a peer it can name */
			tt_err("cannot add the peer certificate to the keyring: %s (client-certificate = require): refusing the client",
			       strerror(-k));
			answer_error(d, s, EACCES);
			return;
		} else {
			/* No identity, so no tags: NFSD's mTLS check agrees. */
			tt_warn("cannot add the peer certificate to the keyring: %s; remote-auth and tags omitted",
				strerror(-k));
			r.ntags = 0;
		}
	} else if (r.has_remote_auth) {
		serial = r.remote_auth;	/* a PSK, checked */
	}
	memset(&done, 0, sizeof(done));
	done.status = r.status;
	done.sockfd = s->sock_fd;
	done.remote_auth = &serial;
	done.nremote_auth = serial ? 1 : 0;
	/* [global] session-tags = no (now, after a reload too): never a tag */
	if (rt->cfg.session_tags && d->caps->tags) {
		done.tags = r.tags;
		done.ntags = r.ntags;
	}
	done.tags_supported = d->caps->tags && rt->cfg.session_tags;
	done.max_tags = s->acc.max_tags;
	done.tag_max_len = d->caps->tag_max_len;
	memset(&stats, 0, sizeof(stats));
	answer(d, s, &done, &stats);
	log_result(d, s, &r, &stats);
}

/* The first message: what the child accepted, with the socket. */
static void handle_accepted(struct daemon *d, struct slot *s,
			    const void *buf, size_t n, int fd)
{
	struct tt_report_hdr r;

	if (n != sizeof(r)) {
		if (fd >= 0)
			close(fd);
		return;		/* junk: handled when reaped */
	}
	memcpy(&r, buf, sizeof(r));
	s->probing = false;
	switch (r.kind) {
	case TT_REP_ACCEPTED:
		if (fd < 0)
			break;
		s->sock_fd = fd;
		s->acc = r.acc;
		s->acc.peername[sizeof(s->acc.peername) - 1] = '\0';
		if (s->acc.npeerids > TT_MAX_PEERIDS)
			s->acc.npeerids = TT_MAX_PEERIDS;
		s->deadline = now_ms() + r.timeout_ms + TIMEOUT_GRACE_MS;
		tt_sched_accepted(&d->sched);
		return;
	case TT_REP_EMPTY:
		s->deadline = now_ms() + PROBE_DEADLINE_MS;
		tt_sched_empty(&d->sched, s->gen);
		break;
	default:
		s->deadline = now_ms() + PROBE_DEADLINE_MS;
		if (r.err == -EPERM)
			tt_err("ACCEPT refused: %s (tlstagd needs CAP_NET_ADMIN)",
			       strerror(-r.err));
		else
			tt_err("ACCEPT failed: %s", strerror(-r.err));
		tt_sched_failed(&d->sched, true, now_ms());
		break;
	}
	if (fd >= 0)
		close(fd);
}

/*
 * The child said all it may say, or broke the protocol: stop listening to
 * it. It has nothing left to do (a live one is killed: a compromised child
 * must not linger with its peer's socket, nor keep writing).
 */
static void end_channel(struct slot *s, bool kill_it)
{
	if (s->report_fd >= 0)
		close(s->report_fd);
	s->report_fd = -1;
	if (kill_it && !s->killed) {
		s->finished = true;
		kill(s->pid, SIGKILL);
		s->killed = true;
		s->deadline = now_ms() + KILL_WAIT_MS;
	}
}

/*
 * Reads one message of a child's report channel. Returns false when there
 * is nothing more to read now. Every descriptor that arrives is closed
 * unless it is the one ACCEPTED hands over.
 */
static bool read_report(struct daemon *d, struct slot *s, int flags)
{
	static unsigned char buf[TT_REPORT_BUFSIZE];
	union {
		/* room to see (and close) whatever a child sends */
		char		b[CMSG_SPACE(sizeof(int) * 256)];
		struct cmsghdr	align;
	} u;
	struct iovec iov = { buf, sizeof(buf) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.b, .msg_controllen = sizeof(u.b) };
	struct cmsghdr *cm;
	int fd = -1, nfds = 0;
	ssize_t n;

	n = recvmsg(s->report_fd, &msg, flags | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return false;
	for (cm = n >= 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm;
	     cm = CMSG_NXTHDR(&msg, cm)) {
		size_t k;

		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		k = (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int);
		for (size_t i = 0; i < k; i++) {
			int x;

			memcpy(&x, CMSG_DATA(cm) + i * sizeof(int), sizeof(x));
			if (nfds++ == 0)
				fd = x;
			else
				close(x);
		}
	}
	if (n <= 0 || nfds > 1 || (msg.msg_flags & (MSG_TRUNC | MSG_CTRUNC))) {
		if (fd >= 0)
			close(fd);
		if (n > 0 || nfds)
			tt_err("handshake child %d: malformed report (%zd bytes, %d descriptors) refused",
			       (int)s->pid, n, nfds);
		/* At EOF the request is answered when the child is reaped. */
		if ((n > 0 || nfds) && s->sock_fd >= 0 && !s->probing)
			answer_error(d, s, EIO);
		end_channel(s, n > 0 || nfds);
		return false;
	}
	if (s->probing) {
		handle_accepted(d, s, buf, (size_t)n, fd);
		if (s->sock_fd < 0)
			end_channel(s, false);	/* EMPTY, ERROR or junk */
		return s->report_fd >= 0;
	}
	/* After ACCEPTED, one RESULT without descriptors and nothing else. */
	if (fd >= 0) {
		close(fd);
		tt_err("handshake child %d: a second socket refused", (int)s->pid);
		answer_error(d, s, EIO);
	} else {
		handle_result(d, s, buf, (size_t)n);
	}
	end_channel(s, true);
	return false;
}

static void fallback_done(struct daemon *d, struct slot *s, uint32_t status)
{
	tt_debug("answering for child %d: %s", (int)s->pid, strerror((int)status));
	answer_error(d, s, status);
}

/* Without the key holder no handshake could sign: stop, with an error. */
static void holder_gone(struct daemon *d)
{
	if (d->failed)
		return;
	tt_err("the key holder (pid %d) has ended: no handshake could sign; stopping",
	       (int)tt_kh_pid(tt_kh_current()));
	d->failed = true;
	d->sched.stopping = true;
	d->stop_deadline = now_ms() + STOP_GRACE_MS;
}

static void reap(struct daemon *d)
{
	int st;
	pid_t pid;

	while ((pid = waitpid(-1, &st, WNOHANG)) > 0) {
		struct slot *s = NULL;

		for (unsigned int i = 0; i < d->nslots; i++)
			if (d->slots[i].pid == pid)
				s = &d->slots[i];
		if (pid == tt_kh_pid(tt_kh_current()))
			holder_gone(d);
		if (!s)
			continue;
		if (s->report_fd >= 0)
			read_report(d, s, MSG_DONTWAIT);	/* ACCEPTED? */
		if (s->probing) {
			/* Retry later: requests may still wait in the kernel. */
			tt_sched_exited(&d->sched, true);
			tt_sched_failed(&d->sched, false, now_ms());
		} else {
			tt_sched_exited(&d->sched, false);
		}
		bool clean = WIFEXITED(st) && (WEXITSTATUS(st) == 0 ||
					       WEXITSTATUS(st) == 3);
		if (s->finished && WIFSIGNALED(st) && WTERMSIG(st) == SIGKILL)
			clean = true;	/* killed by us, its work done */
		if (!clean) {
			if (WIFSIGNALED(st))
				tt_warn("handshake child %d killed by signal %d%s",
					(int)pid, WTERMSIG(st),
					s->timed_out ? " (timeout)" : "");
			else
				tt_warn("handshake child %d exited with status %d",
					(int)pid, WEXITSTATUS(st));
		}
		/* Drain: the result may be queued behind the exit. */
		while (s->report_fd >= 0 && read_report(d, s, MSG_DONTWAIT))
			;
		if (s->sock_fd >= 0) {
			bool to = s->timed_out || (WIFSIGNALED(st) &&
						   WTERMSIG(st) == SIGALRM);

			if (clean)
				tt_warn("handshake child %d exited without a result",
					(int)pid);
			fallback_done(d, s, to ? ETIMEDOUT : EIO);
		}
		if (s->report_fd >= 0)
			close(s->report_fd);
		memset(s, 0, sizeof(*s));
		s->report_fd = -1;
		s->sock_fd = -1;
	}
}

static void reload(struct daemon *d)
{
	struct tt_diag diag = { 0 };
	int ret;

	ret = tt_runtime_reload(d->rt, d->config_path, &diag);
	if (ret < 0) {
		tt_diag_log(&diag);
		tt_err("reload failed; keeping the previous configuration");
	} else {
		const struct tt_runtime *rt = *d->rt;

		tt_daemon_apply_logging(&rt->cfg, d->foreground);
		tt_diag_log_warnings(&rt->warnings);
		tt_keys_link_psk_keyrings(rt->cfg.keyrings, rt->cfg.nkeyrings);
		if (tt_runtime_client_trust_is_system(&rt->cfg))
			tt_warn("client certificates are verified against the system trust store: any public CA's client certificate passes and can earn tags; set [server] client-ca");
		d->sched.max = rt->cfg.max_in_flight;
		if (grow_slots(d, d->sched.max) < 0)
			d->sched.max = d->nslots;
		tt_notice("configuration reloaded from %s: %zu tag(s), %zu filter(s), max-in-flight %u",
			  rt->cfg.file, tp_policy_tag_count(rt->policy),
			  tp_policy_filter_count(rt->policy), d->sched.max);
	}
	tt_diag_free(&diag);
}

static void handle_signals(struct daemon *d)
{
	struct signalfd_siginfo si;

	while (read(d->sigfd, &si, sizeof(si)) == (ssize_t)sizeof(si)) {
		switch (si.ssi_signo) {
		case SIGCHLD:
			reap(d);
			break;
		case SIGHUP:
		case SIGUSR1:	/* as tlshd: a reload too */
			reload(d);
			break;
		case SIGTERM:
		case SIGINT:
			if (!d->sched.stopping) {
				tt_notice("stopping (%u handshake(s) in flight)",
					  d->sched.inflight);
				d->sched.stopping = true;
				d->stop_deadline = now_ms() + STOP_GRACE_MS;
			}
			break;
		}
	}
	reap(d);	/* coalesced SIGCHLDs */
}

static void check_deadlines(struct daemon *d)
{
	int64_t now = now_ms();

	for (unsigned int i = 0; i < d->nslots; i++) {
		struct slot *s = &d->slots[i];

		if (!s->pid || s->killed)
			continue;
		if (s->deadline && now >= s->deadline && !s->timed_out) {
			tt_warn("handshake child %d ran past its deadline; killing it",
				(int)s->pid);
			s->timed_out = true;
		} else if (!(d->sched.stopping && now >= d->stop_deadline)) {
			continue;
		}
		/*
		 * Once: it is reaped on SIGCHLD. The deadline moves on so that
		 * poll does not spin until then.
		 */
		kill(s->pid, SIGKILL);
		s->killed = true;
		s->deadline = now + KILL_WAIT_MS;
	}
}

/*
 * The event socket failed: leave the group and join it again (a new
 * socket). Notifications may have been lost meanwhile, so look at the
 * queue. A failed reopen is retried with a backoff.
 */
static void reopen_events(struct daemon *d)
{
	const struct tt_kernel_ops *ops = d->ops;

	if (d->evfd >= 0)
		ops->close(ops->ctx);
	d->evfd = ops->open_events(ops->ctx, d->caps);
	if (d->evfd < 0) {
		d->reopen_ms = d->reopen_ms ? d->reopen_ms * 2 :
			       TT_SCHED_BACKOFF_MIN_MS;
		if (d->reopen_ms > TT_SCHED_BACKOFF_MAX_MS)
			d->reopen_ms = TT_SCHED_BACKOFF_MAX_MS;
		d->reopen_at = now_ms() + d->reopen_ms;
		tt_err("cannot listen for handshake requests: %s (retry in %u ms)",
		       strerror(-d->evfd), d->reopen_ms);
		return;
	}
	d->reopen_ms = 0;
	tt_notice("listening for handshake requests again");
	tt_sched_ready(&d->sched);
}

static void read_events(struct daemon *d, short revents)
{
	const struct tt_kernel_ops *ops = d->ops;
	bool broken = revents & (POLLERR | POLLHUP | POLLNVAL);
	int r;

	while (!broken && (r = ops->read_ready(ops->ctx, d->caps,
					       d->evfd)) != 0) {
		if (r > 0) {
			tt_sched_ready(&d->sched);
		} else if (r == -ENOBUFS || r == -EBADMSG) {
			/* Lost or unreadable: a request may be behind it. */
			if (r == -EBADMSG)
				tt_warn("undecodable notification: looking for requests");
			tt_sched_ready(&d->sched);
		} else if (r != -EINTR) {
			tt_warn("handshake notifications: %s", strerror(-r));
			broken = true;
		}
	}
	if (broken) {
		tt_warn("notification socket failed (poll events 0x%x): reopening",
			(unsigned int)revents);
		tt_sched_ready(&d->sched);
		reopen_events(d);
	}
}

/* Signals as events, the children's sandbox, the request events. */
static int daemon_setup(struct daemon *d)
{
	static const int keep_caps[] = { CAP_NET_ADMIN, CAP_SETPCAP };
	sigset_t mask;
	char line[200];

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigaddset(&mask, SIGUSR1);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	d->sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d->sigfd < 0) {
		tt_err("signalfd: %s", strerror(errno));
		return -1;
	}

	/*
	 * The children's seccomp filter, built once here, and a bounding set
	 * narrowed to what this process needs: each child then only loads
	 * the one and drops the rest of the other.
	 */
	tt_sandbox_preload_ktls();	/* children may not autoload it */
	if (tt_sandbox_narrow_parent(keep_caps, 2, line, sizeof(line)) < 0 ||
	    tt_sandbox_init(line, sizeof(line)) < 0) {
		tt_err("cannot build the handshake children's sandbox: %s",
		       line);
		return -1;
	}
	d->evfd = d->ops->open_events(d->ops->ctx, d->caps);
	if (d->evfd < 0) {
		tt_err("cannot listen for handshake requests: %s",
		       strerror(-d->evfd));
		return -1;
	}
	tt_sched_init(&d->sched, (*d->rt)->cfg.max_in_flight);
	if (grow_slots(d, d->sched.max) < 0)
		return -1;
	/* Requests may have queued before we joined: look once. */
	tt_sched_ready(&d->sched);
	tt_notice("listening for handshake requests (max %u in flight)",
		  d->sched.max);
	return 0;
}

/*
 * What to wait for, in @pfds (room for nslots + 3): signals, requests,
 * the key holder's hangup, the children's reports. Returns their number;
 * *@next is the earliest deadline (-1: none).
 */
static unsigned int poll_set(struct daemon *d, struct pollfd *pfds,
			     int64_t *next)
{
	unsigned int n = 0;
	int64_t now, wake;

	*next = -1;
	pfds[n].fd = d->sigfd;
	pfds[n++].events = POLLIN;
	pfds[n].fd = d->sched.stopping ? -1 : d->evfd;
	pfds[n++].events = POLLIN;
	/* The key holder: only its hangup is of interest. */
	pfds[n].fd = d->failed ? -1 : tt_kh_fd(tt_kh_current());
	pfds[n++].events = 0;
	for (unsigned int i = 0; i < d->nslots; i++) {
		struct slot *s = &d->slots[i];

		if (s->pid && s->report_fd >= 0) {
			pfds[n].fd = s->report_fd;
			pfds[n++].events = POLLIN;
		}
		if (s->pid && s->deadline && (*next < 0 || s->deadline < *next))
			*next = s->deadline;
	}
	now = now_ms();
	if (d->sched.stopping && d->stop_deadline > now &&
	    (*next < 0 || d->stop_deadline < *next))
		*next = d->stop_deadline;
	wake = tt_sched_wakeup(&d->sched);
	if (wake >= 0 && (*next < 0 || wake < *next))
		*next = wake;
	if (d->evfd < 0 && !d->sched.stopping &&
	    (*next < 0 || d->reopen_at < *next))
		*next = d->reopen_at;
	return n;
}

/* Handles what poll() found in the @n entries of @pfds. */
static void dispatch(struct daemon *d, const struct pollfd *pfds,
		     unsigned int n)
{
	if (pfds[1].fd >= 0 && pfds[1].revents)
		read_events(d, pfds[1].revents);
	else if (d->evfd < 0 && !d->sched.stopping &&
		 now_ms() >= d->reopen_at)
		reopen_events(d);
	if (pfds[2].fd >= 0 && (pfds[2].revents & (POLLHUP | POLLERR)))
		holder_gone(d);
	for (unsigned int k = 3; k < n; k++) {
		if (!pfds[k].revents)
			continue;
		for (unsigned int i = 0; i < d->nslots; i++)
			if (d->slots[i].pid &&
			    d->slots[i].report_fd == pfds[k].fd)
				read_report(d, &d->slots[i], MSG_DONTWAIT);
	}
	if (pfds[0].revents & POLLIN)
		handle_signals(d);
	check_deadlines(d);
}

int tt_daemon_run(const char *config_path, struct tt_runtime **rt,
		  const struct tt_caps *caps, bool foreground,
		  const struct tt_kernel_ops *ops)
{
	struct daemon d = { .config_path = config_path, .rt = rt, .caps = caps,
			    .foreground = foreground, .ops = ops, .evfd = -1,
			    .sigfd = -1 };
	struct pollfd *pfds = NULL;
	int status = 1;

	if (daemon_setup(&d) < 0)
		goto out;
	for (;;) {
		unsigned int n;
		int64_t next, now;

		tt_sched_tick(&d.sched, now_ms());
		while (tt_sched_can_spawn(&d.sched))
			spawn(&d);
		if (d.sched.stopping && d.sched.inflight == 0)
			break;

		free(pfds);
		pfds = calloc(d.nslots + 3, sizeof(*pfds));
		if (!pfds)
			goto out;
		n = poll_set(&d, pfds, &next);
		now = now_ms();
		if (poll(pfds, n, next < 0 ? -1 :
			 (int)(next > now ? next - now : 0)) < 0 &&
		    errno != EINTR) {
			tt_err("poll: %s", strerror(errno));
			goto out;
		}
		dispatch(&d, pfds, n);
	}
	tt_notice("stopped");
	status = d.failed ? 1 : 0;
out:
	free(pfds);
	for (unsigned int i = 0; i < d.nslots; i++) {
		if (d.slots[i].report_fd >= 0)
			close(d.slots[i].report_fd);
		if (d.slots[i].sock_fd >= 0)
			close(d.slots[i].sock_fd);
	}
	free(d.slots);
	d.ops->close(d.ops->ctx);
	if (d.sigfd >= 0)
		close(d.sigfd);
	return status;
}
