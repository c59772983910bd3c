// SPDX-License-Identifier: GPL-2.0-only
/*
 * Handshake benchmark: sequential in-process TLS 1.3 handshakes (client
 * and server code paths of the agent over socketpairs), with and without
 * tag evaluation against a 100-filter policy. Modes alternate in blocks so
 * drift hits both alike. Also times tp_evaluate_der alone, and
 * tp_evaluate_crt alone (the evaluation of an already parsed certificate,
 * which is what a handshake runs). Then the cost of privilege separation:
 * the server side in a child process per handshake, as the daemon runs
 * it, sandboxed (sandbox.h) and signing through the key holder
 * (keyholder.h), against the same child holding its key unconfined, also
 * in alternating blocks.
 *
 * Usage: bench_handshake CERTDIR [COUNT]
 */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include <linux/capability.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "config.h"
#include "handshake.h"
#include "log.h"
#include "keyholder.h"
#include "sandbox.h"

static int32_t serial = 1000;

static int no_read(void *c, int32_t s, unsigned char **d, size_t *l)
{
	(void)c; (void)s; (void)d; (void)l;
	return -ENOKEY;
}

static int no_describe(void *c, int32_t s, char **d)
{
	(void)c; (void)s; (void)d;
	return -ENOKEY;
}

static int32_t no_search(void *c, int32_t k, const char *t, const char *d)
{
	(void)c; (void)k; (void)t; (void)d;
	return -ENOKEY;
}

/* Stands in for add_key(): no kernel keyring is filled by a benchmark. */
static int32_t count_cert(void *c, int32_t k, const char *d,
			  const unsigned char *der, size_t len)
{
	(void)c; (void)k; (void)d; (void)der; (void)len;
	return ++serial;
}

static const struct tt_keyops bench_keys = {
	.read = no_read, .describe = no_describe, .search = no_search,
	.add_cert = count_cert,
};

static double now(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (double)ts.tv_sec + (double)ts.tv_nsec / 1e9;
}

struct side {
	struct tt_hs_params	p;
	struct tt_hs_env	env;
	struct tt_hs_result	res;
};

static void *server(void *arg)
{
	struct side *s = arg;

	tt_handshake_run(&s->p, &s->env, &s->res);
	shutdown(s->p.fd, SHUT_RDWR);
	return NULL;
}

/*
 * Server (on sv[0], evaluating tags when @tags) and client (on sv[1],
 * never: only the server's evaluation is measured) of one handshake.
 */
static void sides_init(struct side *srv, struct side *cli,
		       const struct tt_runtime *rt, const int sv[2], bool tags)
{
	srv->p.fd = sv[0];
	srv->p.msg_type = TT_HS_MSG_TYPE_SERVERHELLO;
	srv->p.auth_mode = TT_HS_AUTH_X509;
	srv->p.timeout_ms = 10000;
	srv->env.rt = rt;
	srv->env.keys = &bench_keys;
	srv->env.evaluate_tags = tags;
	cli->p = srv->p;
	cli->p.fd = sv[1];
	cli->p.msg_type = TT_HS_MSG_TYPE_CLIENTHELLO;
	cli->p.peername = "server.test";
	cli->env = srv->env;
	cli->env.evaluate_tags = false;
}

static int one(const struct tt_runtime *rt, bool tags, size_t *ntags)
{
	struct side srv = { 0 }, cli = { 0 };
	pthread_t t;
	int sv[2], bad;

	if (socketpair(AF_UNIX, SOCK_STREAM, 0, sv) < 0)
		return -1;
	sides_init(&srv, &cli, rt, sv, tags);
	pthread_create(&t, NULL, server, &srv);
	tt_handshake_run(&cli.p, &cli.env, &cli.res);
	shutdown(sv[1], SHUT_RDWR);
	pthread_join(t, NULL);
	close(sv[0]);
	close(sv[1]);
	bad = srv.res.status || cli.res.status;
	if (bad)
		fprintf(stderr, "handshake failed: %s / %s\n", srv.res.reason,
			cli.res.reason);
	*ntags = srv.res.tags.count;
	tt_hs_result_free(&srv.res);
	tt_hs_result_free(&cli.res);
	return bad ? -1 : 0;
}

/*
 * One handshake whose server side runs in a child process, as in the
 * daemon. @held: privilege separated as there: the server's runtime @held
 * signs through the key holder over a channel of the child's own, and the
 * child enters the sandbox first (and leaves the peer key to its parent).
 * NULL: the child has the key (@rt) and no sandbox, as before.
 */
static int one_child(const struct tt_runtime *rt,
		     const struct tt_runtime *held)
{
	struct side srv = { 0 }, cli = { 0 };
	bool sandbox = held != NULL;
	int sv[2], st, chan = -1;
	pid_t pid;

	if (socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv) < 0)
		return -1;
	sides_init(&srv, &cli, rt, sv, true);
	srv.env.defer_peer_key = sandbox;
	if (held) {
		srv.env.rt = held;
		chan = tt_kh_channel(tt_kh_current(), held->held_ids,
				     held->nheld);
		if (chan < 0)
			return -1;
	}
	pid = fork();
	if (pid == 0) {
		char why[160];

		close(sv[1]);
		tt_kh_attach(chan);
		if (sandbox) {
			/* as the daemon's child: the peer at the filter's fd */
			if (dup3(sv[0], TT_SANDBOX_PEER_FD, O_CLOEXEC) < 0)
				_exit(2);
			srv.p.fd = TT_SANDBOX_PEER_FD;
		}
		if (sandbox && tt_sandbox_enter(why, sizeof(why)) < 0) {
			fprintf(stderr, "sandbox: %s\n", why);
			_exit(2);
		}
		tt_handshake_run(&srv.p, &srv.env, &srv.res);
		shutdown(srv.p.fd, SHUT_RDWR);
		_exit(srv.res.status ? 1 : 0);
	}
	close(sv[0]);
	if (chan >= 0)
		close(chan);
	if (pid < 0) {
		close(sv[1]);
		return -1;
	}
	tt_handshake_run(&cli.p, &cli.env, &cli.res);
	shutdown(sv[1], SHUT_RDWR);
	close(sv[1]);
	waitpid(pid, &st, 0);
	if (cli.res.status || !WIFEXITED(st) || WEXITSTATUS(st)) {
		fprintf(stderr, "handshake failed: %s (child status 0x%x)\n",
			cli.res.reason, st);
		tt_hs_result_free(&cli.res);
		return -1;
	}
	tt_hs_result_free(&cli.res);
	return 0;
}

/* What the two modes of a comparison share. */
struct modes {
	const struct tt_runtime	*rt;
	const struct tt_runtime	*held;	/* the same, its keys held */
	size_t			*ntags;
};

/* Mode 0: no tag evaluation; mode 1: with it. */
static int run_tags(const struct modes *m, int mode)
{
	return one(m->rt, mode == 1, m->ntags);
}

/* Mode 0: a child holding its key; mode 1: privilege separated. */
static int run_child(const struct modes *m, int mode)
{
	return one_child(m->rt, mode == 1 ? m->held : NULL);
}

/*
 * @count handshakes in each of two modes, in alternating blocks of
 * @block so that drift hits both alike; the time of each in @t.
 */
static int alternate(int count, int block,
		     int (*run)(const struct modes *, int),
		     const struct modes *m, double t[2])
{
	for (int done = 0; done < count; done += block) {
		int n = count - done < block ? count - done : block;

		for (int mode = 0; mode < 2; mode++) {
			double t0 = now();

			for (int i = 0; i < n; i++)
				if (run(m, mode) < 0)
					return -1;
			t[mode] += now() - t0;
		}
	}
	return 0;
}

/* 100 filters over every kind of field; 20 tags of 5 filters each. */
static void write_policy(const char *dir)
{
	char path[700];
	FILE *f;

	mkdir(dir, 0755);
	snprintf(path, sizeof(path), "%s/bench.yml", dir);
	f = fopen(path, "w");
	fprintf(f, "filters:\n");
	for (int i = 0; i < 100; i++) {
		fprintf(f, "  f%03d:\n", i);
		switch (i % 5) {
		case 0:
			fprintf(f, "    type: x509.tbs.subject\n"
				"    pattern: \"CN=alice*,OU=eng,O=Example\"\n");
			break;
		case 1:
			/* holds for even tags, fails for odd ones */
			fprintf(f, "    type: x509.tbs.issuer\n"
				"    pattern: \"%s\"\n", (i / 5) % 2 ?
				"CN=Other CA,*" : "CN=Test CA,O=Ex*");
			break;
		case 2:
			fprintf(f, "    type: x509.tbs.subject\n"
				"    pattern: \"*O=Example\"\n");
			break;
		case 3:
			fprintf(f, "    type: x509.derived.selfSigned\n");
			break;
		default:
			fprintf(f, "    type: x509.tbs.serialNumber\n"
				"    pattern: \"*\"\n");
			break;
		}
	}
	fprintf(f, "tags:\n");
	for (int t = 0; t < 20; t++) {
		fprintf(f, "  tag-%02d:\n    filter:\n", t);
		for (int k = 0; k < 5; k++) {
			int fi = t * 5 + k;
			/* negate self-signed so some tags can hold */
			fprintf(f, "      - %sf%03d\n", fi % 5 == 3 ? "not " : "",
				fi);
		}
	}
	fclose(f);
}

int main(int argc, char **argv)
{
	char tmp[] = "/tmp/tt-bench-XXXXXX", conf[600], pol[600], cmd[700];
	struct tt_diag diag = { 0 };
	struct tt_runtime *rt = NULL, *held = NULL;
	struct tt_kh *kh = NULL;
	int count = argc > 2 ? atoi(argv[2]) : 300;
	int block = 10;
	double t_plain = 0, t_tags = 0;
	size_t ntags = 0;
	FILE *f;

	if (argc < 2 || count <= 0) {
		fprintf(stderr, "usage: %s CERTDIR [COUNT]\n", argv[0]);
		return 2;
	}
	tt_log_init("bench", TT_LOG_STDERR, LOG_WARNING);
	if (!mkdtemp(tmp))
		return 2;
	snprintf(pol, sizeof(pol), "%s/tags.d", tmp);
	write_policy(pol);
	snprintf(conf, sizeof(conf), "%s/tlstagd.conf", tmp);
	f = fopen(conf, "w");
	fprintf(f, "[global]\ntags-dir = %s\n[trust]\nca-file = %s/ca.pem\n"
		"[server]\ncertificate = %s/server.pem\nprivate-key = %s/server.key\n"
		"[client]\ncertificate = %s/alice.pem\nprivate-key = %s/alice.key\n",
		pol, argv[1], argv[1], argv[1], argv[1], argv[1]);
	fclose(f);
	tt_tls_global_init();
	/* The same configuration, its keys once here and once held. */
	if (tt_kh_start(&kh, cmd, sizeof(cmd)) < 0) {
		fprintf(stderr, "key holder: %s\n", cmd);
		return 1;
	}
	tt_kh_set_current(kh);
	if (tt_runtime_load(conf, &held, &diag) < 0) {
		tt_diag_print(&diag, stderr);
		return 1;
	}
	tt_kh_set_current(NULL);
	if (tt_runtime_load(conf, &rt, &diag) < 0) {
		tt_diag_print(&diag, stderr);
		return 1;
	}
	tt_kh_set_current(kh);	/* for the channels */
	printf("policy: %zu filters, %zu tags; %d handshakes per mode, "
	       "alternating blocks of %d\n", tp_policy_filter_count(rt->policy),
	       tp_policy_tag_count(rt->policy), count, block);

	for (int i = 0; i < 20; i++)		/* warm up */
		if (one(rt, i & 1, &ntags) < 0)
			return 1;
	{
		struct modes m = { .rt = rt, .ntags = &ntags };
		double t[2] = { 0, 0 };

		if (alternate(count, block, run_tags, &m, t) < 0)
			return 1;
		t_plain = t[0];
		t_tags = t[1];
	}

	/* The evaluation alone, on the same certificate. */
	{
		gnutls_datum_t raw, der;
		gnutls_x509_crt_t crt;
		struct tp_tags tags;
		char p[600];
		int n = 20000;
		double t0, per;

		snprintf(p, sizeof(p), "%s/alice.pem", argv[1]);
		gnutls_load_file(p, &raw);
		gnutls_x509_crt_init(&crt);
		gnutls_x509_crt_import(crt, &raw, GNUTLS_X509_FMT_PEM);
		gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der);
		t0 = now();
		for (int i = 0; i < n; i++) {
			tp_evaluate_der(rt->policy, der.data, der.size, &tags,
					NULL);
			tp_tags_free(&tags);
		}
		per = (now() - t0) / n;
		printf("tp_evaluate_der alone:          %.1f us per certificate "
		       "(%.2f%% of a %.0f us handshake)\n", per * 1e6,
		       100.0 * per / (t_plain / count), 1e6 * t_plain / count);
		/*
		 * What a handshake pays: the daemon evaluates the certificate
		 * it already parsed for the peer's name (tp_evaluate_crt).
		 */
		t0 = now();
		for (int i = 0; i < n; i++) {
			tp_evaluate_crt(rt->policy, crt, &tags, NULL);
			tp_tags_free(&tags);
		}
		per = (now() - t0) / n;
		printf("tp_evaluate_crt alone:          %.1f us per certificate "
		       "(%.2f%% of a %.0f us handshake)\n", per * 1e6,
		       100.0 * per / (t_plain / count), 1e6 * t_plain / count);
		gnutls_free(der.data);
		gnutls_free(raw.data);
		gnutls_x509_crt_deinit(crt);
	}
	printf("handshakes/s without tags:      %.1f\n", count / t_plain);
	printf("handshakes/s with tags:         %.1f  (%zu tags earned per handshake)\n",
	       count / t_tags, ntags);
	printf("tag evaluation overhead:        %.2f%%\n",
	       100.0 * (t_tags - t_plain) / t_plain);

	/* Privilege separation: a child per handshake, sandboxed or not. */
	{
		double t_fork = 0, t_sand = 0;
		char why[160];

		static const int keep[] = { CAP_NET_ADMIN, CAP_SETPCAP };

		/* as the daemon's parent does before it forks */
		if (tt_sandbox_narrow_parent(keep, 2, why, sizeof(why)) < 0 ||
		    tt_sandbox_init(why, sizeof(why)) < 0) {
			fprintf(stderr, "sandbox: %s\n", why);
			return 1;
		}
		for (int i = 0; i < 10; i++)	/* warm up */
			if (one_child(rt, i & 1 ? held : NULL) < 0)
				return 1;
		{
			struct modes m = { .rt = rt, .held = held };
			double t[2] = { 0, 0 };

			if (alternate(count, block, run_child, &m, t) < 0)
				return 1;
			t_fork = t[0];
			t_sand = t[1];
		}
		printf("handshakes/s, child per handshake, key in the child:        %.1f\n",
		       count / t_fork);
		printf("handshakes/s, child per handshake, sandboxed, key held: %.1f\n",
		       count / t_sand);
		printf("privilege separation ratio (separated / not): %.3f  (target >= 0.90)\n",
		       t_fork / t_sand);
	}

	tt_runtime_free(rt);
	tt_runtime_free(held);
	tt_kh_stop(kh);
	tt_diag_free(&diag);
	tt_tls_global_deinit();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmp);
	if (system(cmd) != 0)
		return 1;
	return 0;
}
