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

#include "daemon.h"
#include "handshake.h"
#include "log.h"
#include "tt_sched.h"

#define PROBE_DEADLINE_MS	15000
#define TIMEOUT_GRACE_MS	2000
#define STOP_GRACE_MS		2000
#define KILL_WAIT_MS		1000	/* re-check a SIGKILLed child */

enum { REP_ACCEPTED = 1, REP_EMPTY = 2, REP_ERROR = 3 };

struct report {
	uint32_t	kind;
	uint32_t	timeout_ms;
	int32_t		err;
};

struct slot {
	pid_t		pid;		/* 0: free */
	int		report_fd;
	int		sock_fd;	/* parent's copy of the socket */
	bool		probing;
	bool		timed_out;
	bool		killed;		/* SIGKILL sent */
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
	int64_t			reopen_at;	/* evfd < 0: when to retry */
	unsigned int		reopen_ms;
};

static int log_override = -1;

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
	tt_log_set_target(t);
	tt_log_set_level(log_override >= 0 ? log_override : cfg->log_level);
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

static void send_report(int fd, uint32_t kind, uint32_t timeout_ms, int err,
			int pass_fd)
{
	struct report r = { kind, timeout_ms, err };
	struct iovec iov = { &r, sizeof(r) };
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	} u;
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1 };

	if (pass_fd >= 0) {
		struct cmsghdr *cm;

		memset(&u, 0, sizeof(u));
		msg.msg_control = u.buf;
		msg.msg_controllen = sizeof(u.buf);
		cm = CMSG_FIRSTHDR(&msg);
		cm->cmsg_level = SOL_SOCKET;
		cm->cmsg_type = SCM_RIGHTS;
		cm->cmsg_len = CMSG_LEN(sizeof(int));
		memcpy(CMSG_DATA(cm), &pass_fd, sizeof(int));
	}
	if (sendmsg(fd, &msg, MSG_NOSIGNAL) < 0)
		tt_warn("cannot report to the parent: %s", strerror(errno));
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

static void join_tags(const struct tp_tags *t, unsigned int max, char *buf,
		      size_t len)
{
	size_t off = 0;

	buf[0] = '\0';
	for (size_t i = 0; i < t->count && i < max && off < len; i++)
		off += (size_t)snprintf(buf + off, len - off, "%s%s",
					i ? "," : "", t->names[i]);
	if (off >= len && len > 4)
		strcpy(buf + len - 4, "...");
}

/*
 * The kernel installed a socket but its ACCEPT reply did not parse: the
 * request is ours and must be answered, or the consumer waits for its
 * timeout. The parent gets a copy first, so that a failed DONE here is
 * followed by its fallback DONE.
 */
static void __attribute__((noreturn))
reject_request(struct daemon *d, int rep, const struct tt_accept *acc, int err)
{
	struct tt_done done = { .status = EINVAL, .sockfd = acc->sockfd };
	char ext[128] = "";
	int ret;

	tt_err("unusable ACCEPT reply (%s) for fd %d: answering DONE with EINVAL",
	       strerror(-err), acc->sockfd);
	send_report(rep, REP_ACCEPTED, (*d->rt)->cfg.timeout_ms, 0,
		    acc->sockfd);
	close(rep);
	ret = d->ops->done(d->ops->ctx, d->caps, &done, NULL, ext, sizeof(ext));
	if (ret < 0)
		tt_err("DONE refused: %s%s%s", strerror(-ret),
		       ext[0] ? ": " : "", ext);
	d->ops->child_reset(d->ops->ctx);
	fflush(stderr);
	_exit(ret == 0 ? 0 : 2);
}

static void __attribute__((noreturn))
child_main(struct daemon *d, int rep)
{
	const struct tt_runtime *rt = *d->rt;
	struct tt_hs_env env = { .rt = rt, .keys = &tt_keyutils_ops,
				 .require_ktls = d->ops->require_ktls,
				 .evaluate_tags = d->caps->tags &&
						  rt->cfg.session_tags,
				 .peer_keyring = tt_keys_peer_keyring() };
	struct tt_done_stats stats;
	struct tt_hs_params p;
	struct tt_hs_result res;
	struct tt_accept acc;
	struct tt_done done;
	char prefix[32], ext[256], tags[512];
	uint32_t timeout;
	sigset_t all;
	int ret;

	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	signal(SIGPIPE, SIG_IGN);
	close(d->sigfd);
	d->ops->child_reset(d->ops->ctx);
	for (unsigned int i = 0; i < d->nslots; i++) {
		if (d->slots[i].report_fd >= 0)
			close(d->slots[i].report_fd);
		if (d->slots[i].sock_fd >= 0)
			close(d->slots[i].sock_fd);
	}
	snprintf(prefix, sizeof(prefix), "[%d] ", (int)getpid());
	tt_log_set_prefix(prefix);

	acc.sockfd = -1;
	ret = d->ops->accept(d->ops->ctx, d->caps, &acc);
	if (ret == -EAGAIN) {
		send_report(rep, REP_EMPTY, 0, 0, -1);
		_exit(3);
	}
	if (ret < 0 && acc.sockfd >= 0)
		reject_request(d, rep, &acc, ret);
	if (ret < 0) {
		send_report(rep, REP_ERROR, 0, ret, -1);
		_exit(4);
	}
	timeout = acc.timeout_ms ? acc.timeout_ms : rt->cfg.timeout_ms;
	send_report(rep, REP_ACCEPTED, timeout, 0, acc.sockfd);
	close(rep);
	/* Backstop: the handshake itself gives up at @timeout. */
	alarm(timeout / 1000 + 2);

	tt_hs_params_from_accept(&acc, &p);
	if (acc.has_peername && strlen(acc.peername) > 253)
		tt_notice("peername of %zu bytes is no DNS name; it is used as given",
			  strlen(acc.peername));
	tt_debug("accepted fd %d: %s hello, %s, peername %s, timeout %u ms, "
		 "max-tags %u%s",
		 acc.sockfd, msg_type_name(acc.message_type),
		 auth_name(acc.auth_mode),
		 acc.has_peername ? acc.peername : "(none)", timeout,
		 acc.max_tags, acc.has_max_tags ? "" : " (default)");
	tt_handshake_run(&p, &env, &res);

	memset(&done, 0, sizeof(done));
	done.status = res.status;
	done.sockfd = acc.sockfd;
	done.remote_auth = res.remote_auth;
	done.nremote_auth = res.nremote_auth;
	/* [global] session-tags = no: never a tag in DONE */
	if (rt->cfg.session_tags) {
		done.tags = (const char *const *)res.tags.names;
		done.ntags = (unsigned int)res.tags.count;
	}
	done.tags_supported = d->caps->tags && rt->cfg.session_tags;
	done.max_tags = acc.max_tags;
	done.tag_max_len = d->caps->tag_max_len;
	memset(&stats, 0, sizeof(stats));
	ret = d->ops->done(d->ops->ctx, d->caps, &done, &stats, ext,
			   sizeof(ext));

	if (stats.tags_over_limit)
		tt_warn("%u tag(s) over the kernel's limit of %u dropped (kept the first %u in sorted order)",
			stats.tags_over_limit, acc.max_tags, stats.tags_sent);
	if (stats.tags_invalid)
		tt_warn("%u tag(s) of invalid length dropped", stats.tags_invalid);
	if (res.status == 0) {
		join_tags(&res.tags, stats.tags_sent, tags, sizeof(tags));
		tt_info("%s handshake (%s) with %s%s%s: ok, %s, tags %s",
			msg_type_name(acc.message_type), auth_name(acc.auth_mode),
			res.peer[0] ? res.peer : "unauthenticated peer",
			acc.has_peername ? " for " : "",
			acc.has_peername ? acc.peername : "",
			res.ktls ? "kTLS on" : "kTLS NOT installed",
			!rt->cfg.session_tags ? "not sent (disabled by configuration)" :
			!d->caps->tags ? "not sent (kernel lacks tag support)" :
			stats.tags_sent ? tags : "(none)");
	} else {
		tt_notice("%s handshake (%s)%s%s failed: %s (%s)",
			  msg_type_name(acc.message_type),
			  auth_name(acc.auth_mode),
			  acc.has_peername ? " for " : "",
			  acc.has_peername ? acc.peername : "",
			  strerror((int)res.status), res.reason);
	}
	if (ret < 0)
		tt_err("DONE refused: %s%s%s", strerror(-ret),
		       ext[0] ? ": " : "", ext);
	tt_hs_result_free(&res);
	d->ops->child_reset(d->ops->ctx);
	fflush(stderr);
	_exit(ret == 0 ? 0 : 2);
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
	struct slot *s = free_slot(d);
	int sv[2];
	pid_t pid;

	if (!s) {
		tt_sched_failed(&d->sched, false, now_ms());
		return;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		tt_err("socketpair: %s", strerror(errno));
		tt_sched_failed(&d->sched, false, now_ms());
		return;
	}
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		tt_err("fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		tt_sched_failed(&d->sched, false, now_ms());
		return;
	}
	if (pid == 0) {
		close(sv[0]);
		child_main(d, sv[1]);
	}
	close(sv[1]);
	s->pid = pid;
	s->report_fd = sv[0];
	s->sock_fd = -1;
	s->probing = true;
	s->timed_out = false;
	s->killed = false;
	s->deadline = now_ms() + PROBE_DEADLINE_MS;
	s->gen = tt_sched_spawned(&d->sched);
}

/* Reads a child's report. @block: wait for it. Returns false at EOF/none. */
static void read_report(struct daemon *d, struct slot *s, int flags)
{
	union {
		char		buf[CMSG_SPACE(sizeof(int))];
		struct cmsghdr	align;
	} u;
	struct report r;
	struct iovec iov = { &r, sizeof(r) };
	struct msghdr msg = { .msg_iov = &iov, .msg_iovlen = 1,
			      .msg_control = u.buf,
			      .msg_controllen = sizeof(u.buf) };
	struct cmsghdr *cm;
	ssize_t n;

	n = recvmsg(s->report_fd, &msg, flags | MSG_CMSG_CLOEXEC);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	for (cm = n > 0 ? CMSG_FIRSTHDR(&msg) : NULL; cm;
	     cm = CMSG_NXTHDR(&msg, cm)) {
		if (cm->cmsg_level == SOL_SOCKET && cm->cmsg_type == SCM_RIGHTS &&
		    cm->cmsg_len == CMSG_LEN(sizeof(int))) {
			int fd;

			memcpy(&fd, CMSG_DATA(cm), sizeof(fd));
			if (s->sock_fd < 0)
				s->sock_fd = fd;
			else
				close(fd);
		}
	}
	close(s->report_fd);
	s->report_fd = -1;
	if (n != (ssize_t)sizeof(r))
		return;		/* EOF or junk: handled when reaped */
	s->probing = false;
	switch (r.kind) {
	case REP_ACCEPTED:
		s->deadline = now_ms() + r.timeout_ms + TIMEOUT_GRACE_MS;
		tt_sched_accepted(&d->sched);
		break;
	case REP_EMPTY:
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
}

static void fallback_done(struct daemon *d, struct slot *s, uint32_t status)
{
	struct tt_done done = { .status = status, .sockfd = s->sock_fd };
	char ext[128];
	int ret;

	ret = d->ops->done(d->ops->ctx, d->caps, &done, NULL, ext,
			   sizeof(ext));
	if (ret < 0 && ret != -EBUSY)
		tt_warn("fallback DONE for child %d: %s%s%s", (int)s->pid,
			strerror(-ret), ext[0] ? ": " : "", ext);
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
		if (!s)
			continue;
		if (s->report_fd >= 0)
			read_report(d, s, MSG_DONTWAIT);
		if (s->probing) {
			/* Retry later: requests may still wait in the kernel. */
			tt_sched_exited(&d->sched, true);
			tt_sched_failed(&d->sched, false, now_ms());
		} else {
			tt_sched_exited(&d->sched, false);
		}
		bool clean = WIFEXITED(st) && (WEXITSTATUS(st) == 0 ||
					       WEXITSTATUS(st) == 3);
		if (!clean) {
			if (WIFSIGNALED(st))
				tt_warn("handshake child %d killed by signal %d%s",
					(int)pid, WTERMSIG(st),
					s->timed_out ? " (timeout)" : "");
			else
				tt_warn("handshake child %d exited with status %d",
					(int)pid, WEXITSTATUS(st));
		}
		if (s->sock_fd >= 0) {
			if (!(WIFEXITED(st) && WEXITSTATUS(st) == 0)) {
				bool to = s->timed_out || (WIFSIGNALED(st) &&
						WTERMSIG(st) == SIGALRM);
				fallback_done(d, s, to ? ETIMEDOUT : EIO);
			}
			close(s->sock_fd);
		}
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

int tt_daemon_run(const char *config_path, struct tt_runtime **rt,
		  const struct tt_caps *caps, bool foreground,
		  const struct tt_kernel_ops *ops)
{
	struct daemon d = { .config_path = config_path, .rt = rt, .caps = caps,
			    .foreground = foreground, .ops = ops, .evfd = -1,
			    .sigfd = -1 };
	struct pollfd *pfds = NULL;
	sigset_t mask;
	int ret, status = 1;

	signal(SIGPIPE, SIG_IGN);
	sigemptyset(&mask);
	sigaddset(&mask, SIGCHLD);
	sigaddset(&mask, SIGTERM);
	sigaddset(&mask, SIGINT);
	sigaddset(&mask, SIGHUP);
	sigprocmask(SIG_BLOCK, &mask, NULL);
	d.sigfd = signalfd(-1, &mask, SFD_NONBLOCK | SFD_CLOEXEC);
	if (d.sigfd < 0) {
		tt_err("signalfd: %s", strerror(errno));
		return 1;
	}

	d.evfd = ops->open_events(ops->ctx, caps);
	if (d.evfd < 0) {
		tt_err("cannot listen for handshake requests: %s",
		       strerror(-d.evfd));
		goto out;
	}
	tt_sched_init(&d.sched, (*rt)->cfg.max_in_flight);
	if (grow_slots(&d, d.sched.max) < 0)
		goto out;
	/* Requests may have queued before we joined: look once. */
	tt_sched_ready(&d.sched);
	tt_notice("listening for handshake requests (max %u in flight)",
		  d.sched.max);

	for (;;) {
		unsigned int n = 0, cap;
		int64_t next = -1, now;

		tt_sched_tick(&d.sched, now_ms());
		while (tt_sched_can_spawn(&d.sched))
			spawn(&d);
		if (d.sched.stopping && d.sched.inflight == 0)
			break;

		cap = d.nslots + 2;
		free(pfds);
		pfds = calloc(cap, sizeof(*pfds));
		if (!pfds)
			goto out;
		pfds[n].fd = d.sigfd;
		pfds[n++].events = POLLIN;
		pfds[n].fd = d.sched.stopping ? -1 : d.evfd;
		pfds[n++].events = POLLIN;
		for (unsigned int i = 0; i < d.nslots; i++) {
			struct slot *s = &d.slots[i];

			if (s->pid && s->report_fd >= 0) {
				pfds[n].fd = s->report_fd;
				pfds[n++].events = POLLIN;
			}
			if (s->pid && s->deadline &&
			    (next < 0 || s->deadline < next))
				next = s->deadline;
		}
		now = now_ms();
		if (d.sched.stopping && d.stop_deadline > now &&
		    (next < 0 || d.stop_deadline < next))
			next = d.stop_deadline;
		if (tt_sched_wakeup(&d.sched) >= 0 &&
		    (next < 0 || tt_sched_wakeup(&d.sched) < next))
			next = tt_sched_wakeup(&d.sched);
		if (d.evfd < 0 && !d.sched.stopping &&
		    (next < 0 || d.reopen_at < next))
			next = d.reopen_at;
		ret = poll(pfds, n, next < 0 ? -1 :
			   (int)(next > now ? next - now : 0));
		if (ret < 0 && errno != EINTR) {
			tt_err("poll: %s", strerror(errno));
			goto out;
		}
		if (pfds[1].fd >= 0 && pfds[1].revents)
			read_events(&d, pfds[1].revents);
		else if (d.evfd < 0 && !d.sched.stopping &&
			 now_ms() >= d.reopen_at)
			reopen_events(&d);
		for (unsigned int k = 2; k < n; k++) {
			if (!pfds[k].revents)
				continue;
			for (unsigned int i = 0; i < d.nslots; i++)
				if (d.slots[i].pid &&
				    d.slots[i].report_fd == pfds[k].fd)
					read_report(&d, &d.slots[i],
						    MSG_DONTWAIT);
		}
		if (pfds[0].revents & POLLIN)
			handle_signals(&d);
		check_deadlines(&d);
	}
	tt_notice("stopped");
	status = 0;
out:
	free(pfds);
	for (unsigned int i = 0; i < d.nslots; i++) {
		if (d.slots[i].report_fd >= 0)
			close(d.slots[i].report_fd);
		if (d.slots[i].sock_fd >= 0)
			close(d.slots[i].sock_fd);
	}
	free(d.slots);
	ops->close(ops->ctx);
	if (d.sigfd >= 0)
		close(d.sigfd);
	return status;
}
