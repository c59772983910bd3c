// SPDX-License-Identifier: GPL-2.0-only
/*
 * Real TLS 1.3 handshakes between the agent's client and server code
 * paths over loopback TCP, with a PKI generated at test time and a small
 * tags.d policy. No netlink: the parameters are what an ACCEPT would
 * carry. Keys "from the kernel keyring" come from an in-memory table
 * (same interface as libkeyutils), plus a live keyring check when this
 * machine allows one.
 *
 * Usage: test_handshake CERTDIR DATADIR
 */
#include <arpa/inet.h>
#include <errno.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdarg.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <syslog.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <keyutils.h>

#include "config.h"
#include "handshake.h"
#include "keys.h"
#include "log.h"
#include "tt_test.h"

static const char *certs, *data;
static char tmpdir[] = "/tmp/tt-hs-XXXXXX";

/* ---- an in-memory keyring ---- */

struct memkey {
	int32_t		serial;
	int32_t		keyring;	/* 0: found in any keyring */
	char		desc[128];
	unsigned char	*data;
	size_t		len;
};

struct memring {
	struct memkey	keys[64];
	int		n;
	int32_t		next_cert;
	int		added;
	bool		fail_add;	/* add_cert fails (EDQUOT) */
	int32_t		last_keyring;	/* of the last add_cert */
	int32_t		last_timeout_serial;
	unsigned int	last_timeout;
	int		timeouts;
};

static int mem_read(void *ctx, int32_t serial, unsigned char **d, size_t *len)
{
	struct memring *r = ctx;

	for (int i = 0; i < r->n; i++)
		if (r->keys[i].serial == serial) {
			*d = malloc(r->keys[i].len);
			memcpy(*d, r->keys[i].data, r->keys[i].len);
			*len = r->keys[i].len;
			return 0;
		}
	return -ENOKEY;
}

static int mem_describe(void *ctx, int32_t serial, char **desc)
{
	struct memring *r = ctx;

	for (int i = 0; i < r->n; i++)
		if (r->keys[i].serial == serial) {
			*desc = strdup(r->keys[i].desc);
			return 0;
		}
	return -ENOKEY;
}

static int32_t mem_search(void *ctx, int32_t keyring, const char *type,
			  const char *desc)
{
	struct memring *r = ctx;

	(void)type;
	for (int i = 0; i < r->n; i++)
		if (strcmp(r->keys[i].desc, desc) == 0 &&
		    (!r->keys[i].keyring || r->keys[i].keyring == keyring))
			return r->keys[i].serial;
	return -ENOKEY;
}

static int32_t mem_add_cert(void *ctx, int32_t keyring, const char *desc,
			    const unsigned char *der, size_t len)
{
	struct memring *r = ctx;
	struct memkey *k;

	if (len < 100 || der[0] != 0x30)	/* a DER SEQUENCE */
		return -EINVAL;
	if (r->fail_add)
		return -EDQUOT;
	if (r->n >= (int)(sizeof(r->keys) / sizeof(r->keys[0])))
		return -EDQUOT;			/* like the key quota */
	k = &r->keys[r->n++];
	k->serial = ++r->next_cert;
	/* A keyring of 0 is the session keyring: give it a number. */
	k->keyring = keyring ? keyring : -3;
	snprintf(k->desc, sizeof(k->desc), "%s", desc);
	k->data = malloc(len);
	memcpy(k->data, der, len);
	k->len = len;
	r->last_keyring = keyring;
	r->added++;
	return k->serial;
}

static int mem_set_timeout(void *ctx, int32_t serial, unsigned int seconds)
{
	struct memring *r = ctx;

	r->last_timeout_serial = serial;
	r->last_timeout = seconds;
	r->timeouts++;
	return 0;
}

static void mem_add(struct memring *r, int32_t serial, const char *desc,
		    const void *d, size_t len)
{
	struct memkey *k = &r->keys[r->n++];

	k->serial = serial;
	k->keyring = 0;
	snprintf(k->desc, sizeof(k->desc), "%s", desc);
	k->data = malloc(len);
	memcpy(k->data, d, len);
	k->len = len;
}

static void mem_free(struct memring *r)
{
	for (int i = 0; i < r->n; i++)
		free(r->keys[i].data);
	r->n = 0;
}

static struct memring ring = { .next_cert = 9000 };
static struct tt_keyops memops = {
	.read = mem_read, .describe = mem_describe, .search = mem_search,
	.add_cert = mem_add_cert, .set_timeout = mem_set_timeout,
	.ctx = &ring,
};

/* Adds the test PKI's file @name as key @serial of the memory keyring. */
static void ring_add_file(int32_t serial, const char *desc, const char *name)
{
	char path[600], *buf = malloc(16384);
	size_t n;
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s", certs, name);
	f = fopen(path, "r");
	if (!f || !buf) {
		perror(path);
		exit(2);
	}
	n = fread(buf, 1, 16384, f);
	fclose(f);
	mem_add(&ring, serial, desc, buf, n);
	free(buf);
}

/* ---- runtimes ---- */

static struct tt_runtime *make_rt_ca(const char *name, const char *client_cert,
				     const char *client_mode, const char *ca,
				     const char *extra)
{
	struct tt_diag diag = { 0 };
	struct tt_runtime *rt = NULL;
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/%s.conf", tmpdir, name);
	f = fopen(path, "w");
	fprintf(f, "[global]\ntags-dir = %s/tags.d\nhandshake-timeout = 10\n"
		"[trust]\nca-file = %s/%s.pem\n"
		"[server]\ncertificate = %s/server.pem\n"
		"private-key = %s/server.key\nclient-certificate = %s\n%s",
		data, certs, ca, certs, certs, client_mode, extra);
	if (client_cert)
		fprintf(f, "[client]\ncertificate = %s/%s.pem\n"
			"private-key = %s/%s.key\n", certs, client_cert, certs,
			client_cert);
	fclose(f);
	if (tt_runtime_load(path, &rt, &diag) < 0) {
		tt_diag_print(&diag, stderr);
		fprintf(stderr, "cannot load %s\n", path);
		exit(2);
	}
	tt_diag_free(&diag);
	return rt;
}

static struct tt_runtime *make_rt(const char *name, const char *client_cert,
				  const char *client_mode)
{
	return make_rt_ca(name, client_cert, client_mode, "ca", "");
}

/* ---- running both sides ---- */

/* The loopback address the pairs connect over (all of 127/8 is loopback). */
static uint32_t pair_addr = INADDR_LOOPBACK;

static void tcp_pair(int *a, int *b)
{
	struct sockaddr_in sin = { .sin_family = AF_INET };
	socklen_t slen = sizeof(sin);
	int l = socket(AF_INET, SOCK_STREAM, 0);

	sin.sin_addr.s_addr = htonl(pair_addr);
	if (l < 0 || bind(l, (void *)&sin, sizeof(sin)) < 0 ||
	    listen(l, 1) < 0 || getsockname(l, (void *)&sin, &slen) < 0) {
		perror("listen");
		exit(2);
	}
	*a = socket(AF_INET, SOCK_STREAM, 0);
	if (connect(*a, (void *)&sin, sizeof(sin)) < 0) {
		perror("connect");
		exit(2);
	}
	*b = accept(l, NULL, NULL);
	close(l);
}

struct side {
	struct tt_hs_params	p;
	struct tt_hs_env	env;
	struct tt_hs_result	res;
	bool			preset_ulp;	/* "tls" ULP set, no keys */
	int			preset_err;	/* errno of setting it, or 0 */
};

static void *server_thread(void *arg)
{
	struct side *s = arg;

	/*
	 * As GnuTLS's own kTLS can leave it: the ULP on the socket before the
	 * handshake (records pass through it while it has no keys).
	 */
	if (s->preset_ulp &&
	    setsockopt(s->p.fd, SOL_TCP, TCP_ULP, "tls", sizeof("tls")) < 0)
		s->preset_err = errno;
	tt_handshake_run(&s->p, &s->env, &s->res);
	/*
	 * A failed side hangs up, so that the other one does not wait; a
	 * side that succeeded keeps the connection until both are done (the
	 * "tls" ULP goes only onto an established socket).
	 */
	if (s->res.status)
		shutdown(s->p.fd, SHUT_RDWR);
	return NULL;
}

static void side_init(struct side *s, uint32_t type, uint32_t auth,
		      const struct tt_runtime *rt)
{
	memset(s, 0, sizeof(*s));
	s->p.msg_type = type;
	s->p.auth_mode = auth;
	s->p.timeout_ms = 5000;
	s->env.rt = rt;
	s->env.keys = &memops;
	s->env.require_ktls = false;
	s->env.evaluate_tags = true;
}

static void run_pair(struct side *srv, struct side *cli)
{
	pthread_t t;
	int a, b;

	tcp_pair(&a, &b);
	cli->p.fd = a;
	srv->p.fd = b;
	pthread_create(&t, NULL, server_thread, srv);
	tt_handshake_run(&cli->p, &cli->env, &cli->res);
	if (cli->res.status)
		shutdown(a, SHUT_RDWR);
	pthread_join(t, NULL);
	close(a);
	close(b);
}

static bool tags_are(const struct tp_tags *t, int n, ...)
{
	va_list ap;
	bool ok = (int)t->count == n;

	va_start(ap, n);
	for (int i = 0; i < n && ok; i++)
		ok = strcmp(t->names[i], va_arg(ap, const char *)) == 0;
	va_end(ap);
	return ok;
}

static void show(const char *what, const struct side *s)
{
	fprintf(stderr, "  %s: status %u (%s) peer \"%s\" tags %zu "
		"remote-auth %u ktls %d%s%s\n", what, s->res.status,
		s->res.status ? strerror((int)s->res.status) : "ok",
		s->res.peer, s->res.tags.count, s->res.nremote_auth,
		s->res.ktls, s->res.reason[0] ? " note: " : "", s->res.reason);
}

static void done(struct side *a, struct side *b)
{
	tt_hs_result_free(&a->res);
	tt_hs_result_free(&b->res);
}

/*
 * TT_KERNEL_FEATURES set (the VM's agent scenario, on the patched kernel):
 * the kernel has kTLS, so a handshake without it is a failure, not a skip.
 */
static bool strict_kernel;

static bool ktls_ok_or_skipped(const struct side *s)
{
	if (strict_kernel)
		return s->res.ktls;
	return s->res.ktls || strstr(s->res.reason, "kTLS unavailable: ");
}

static struct tt_runtime *rt_hostcert, *rt_anypurpose;
static struct tt_runtime *rt_alice, *rt_mallory, *rt_bob, *rt_none,
			 *rt_require, *rt_rogue, *rt_clientca;

TEST(x509_mutual_with_tags)
{
	struct side srv, cli;
	int added = ring.added;

	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_alice);
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("server", &srv);
	show("client", &cli);
	CHECK(srv.res.status == 0);
	CHECK(cli.res.status == 0);
	/* The server's tags come from alice's certificate, sorted. */
	CHECK(tags_are(&srv.res.tags, 2, "alice", "example-members"));
	CHECK(srv.res.peer_verified);
	CHECK_STR(srv.res.peer, "CN=alice,OU=eng,O=Example");
	CHECK(srv.res.nremote_auth == 1 && srv.res.remote_auth[0] > 9000);
	/* The client evaluates the server's certificate the same way. */
	CHECK(tags_are(&cli.res.tags, 1, "example-members"));
	CHECK(cli.res.nremote_auth == 1);
	CHECK(ring.added == added + 2);
	CHECK(ktls_ok_or_skipped(&srv) && ktls_ok_or_skipped(&cli));
	done(&srv, &cli);
}

TEST(x509_untrusted_client)
{
	struct side srv, cli;

	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509,
		  rt_mallory);
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("server", &srv);
	show("client", &cli);
	CHECK(srv.res.status == EACCES);
	CHECK(srv.res.tags.count == 0 && srv.res.nremote_auth == 0);
	CHECK(strstr(srv.res.reason, "rejected") != NULL);
	/*
	 * In TLS 1.3 the client finishes before the server has judged its
	 * certificate; it learns of the refusal from the alert that follows
	 * (after kTLS, on its first read). Its own result is not checked.
	 */
	done(&srv, &cli);

	/* Same with "require": the untrusted certificate is refused too. */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509,
		  rt_require);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509,
		  rt_mallory);
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	CHECK(srv.res.status == EACCES);
	CHECK(srv.res.tags.count == 0 && srv.res.nremote_auth == 0);
	done(&srv, &cli);
}

TEST(x509_trusted_client_without_tags)
{
	struct side srv, cli;

	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_bob);
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("server", &srv);
	CHECK(srv.res.status == 0 && cli.res.status == 0);
	CHECK(srv.res.tags.count == 0);
	CHECK(srv.res.nremote_auth == 1);
	CHECK_STR(srv.res.peer, "CN=bob,O=Other");
	done(&srv, &cli);
}

TEST(x509_hostname_checks)
{
	struct side srv, cli;

	/* Wrong name: the client refuses the server. */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_alice);
	cli.p.peername = "other.example";
	run_pair(&srv, &cli);
	show("client", &cli);
	CHECK(cli.res.status == EACCES);
	CHECK(cli.res.tags.count == 0 && cli.res.nremote_auth == 0);
	CHECK(srv.res.status != 0);
	done(&srv, &cli);

	/* An IP address as peername: no SNI, checked against the IP SAN. */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_alice);
	cli.p.peername = "127.0.0.1";
	run_pair(&srv, &cli);
	show("client", &cli);
	CHECK(cli.res.status == 0 && srv.res.status == 0);
	done(&srv, &cli);

	/*
	 * No peername at all (a mount by address): the server certificate is
	 * checked against the address connected to. Its IP SAN is 127.0.0.1.
	 */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_alice);
	cli.p.peername = NULL;
	run_pair(&srv, &cli);
	CHECK(cli.res.status == 0 && srv.res.status == 0);
	done(&srv, &cli);

	/* ...so over 127.0.0.2 the same trusted certificate is refused. */
	pair_addr = INADDR_LOOPBACK + 1;
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_alice);
	cli.p.peername = NULL;
	run_pair(&srv, &cli);
	show("client", &cli);
	CHECK(cli.res.status == EACCES);
	CHECK(cli.res.tags.count == 0 && cli.res.nremote_auth == 0);
	/* and with the name the certificate has, it passes over 127.0.0.2 */
	done(&srv, &cli);
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_alice);
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	CHECK(cli.res.status == 0 && srv.res.status == 0);
	done(&srv, &cli);
	pair_addr = INADDR_LOOPBACK;
}

TEST(x509_client_certificate_modes)
{
	struct side srv, cli;

	/* "request": a client without a certificate gets in, untagged. */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_none);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_none);
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("server", &srv);
	CHECK(srv.res.status == 0 && cli.res.status == 0);
	CHECK(srv.res.tags.count == 0 && srv.res.nremote_auth == 0);
	CHECK(!srv.res.peer_verified);
	done(&srv, &cli);

	/* "require": refused. */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509,
		  rt_require);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_none);
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("server", &srv);
	CHECK(srv.res.status == EACCES);
	CHECK(strstr(srv.res.reason, "required") != NULL);
	done(&srv, &cli);
}

TEST(unauth_client)
{
	struct side srv, cli;

	/*
	 * "Unauthenticated" (tls_client_hello_anon) is about the client: it
	 * shows no certificate, but still authenticates the server. A server
	 * whose chain it does not trust is refused...
	 */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_UNAUTH,
		  rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_UNAUTH,
		  rt_rogue);
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("client", &cli);
	CHECK(cli.res.status == EACCES);
	CHECK(strstr(cli.res.reason, "rejected") != NULL);
	CHECK(cli.res.tags.count == 0 && cli.res.nremote_auth == 0);
	done(&srv, &cli);

	/* ...and so is a trusted server under another name. */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_UNAUTH,
		  rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_UNAUTH,
		  rt_mallory);
	cli.p.peername = "whatever.example";
	run_pair(&srv, &cli);
	show("client", &cli);
	CHECK(cli.res.status == EACCES);
	CHECK(cli.res.tags.count == 0 && cli.res.nremote_auth == 0);
	done(&srv, &cli);

	/*
	 * A trusted server: success. The client has a configured certificate
	 * (alice's, trusted and tagged by this server) yet presents none.
	 */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_UNAUTH,
		  rt_alice);
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("server", &srv);
	show("client", &cli);
	CHECK(srv.res.status == 0 && cli.res.status == 0);
	CHECK(cli.res.peer_verified);
	CHECK_STR(cli.res.peer, "CN=server.test,O=Example");
	CHECK(srv.res.tags.count == 0 && srv.res.nremote_auth == 0);
	CHECK(!srv.res.peer_verified && srv.res.peer[0] == '\0');
	done(&srv, &cli);

	/* No peername: the chain alone is checked. */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_UNAUTH,
		  rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_UNAUTH,
		  rt_rogue);
	run_pair(&srv, &cli);
	CHECK(cli.res.status == EACCES);
	done(&srv, &cli);
}

static void sha256_desc(const char *pemfile, char *out, size_t outlen)
{
	gnutls_datum_t raw = { NULL, 0 }, der = { NULL, 0 };
	gnutls_x509_crt_t crt;
	unsigned char md[32];
	size_t mdlen = sizeof(md);
	char path[600];

	snprintf(path, sizeof(path), "%s/%s", certs, pemfile);
	out[0] = '\0';
	if (gnutls_load_file(path, &raw) < 0)
		return;
	gnutls_x509_crt_init(&crt);
	if (gnutls_x509_crt_import(crt, &raw, GNUTLS_X509_FMT_PEM) >= 0 &&
	    gnutls_x509_crt_export2(crt, GNUTLS_X509_FMT_DER, &der) >= 0 &&
	    gnutls_hash_fast(GNUTLS_DIG_SHA256, der.data, der.size, md) >= 0) {
		size_t off = (size_t)snprintf(out, outlen, "tlstagd:peer:");

		for (size_t i = 0; i < mdlen && off + 3 <= outlen; i++)
			off += (size_t)snprintf(out + off, outlen - off,
						"%02x", md[i]);
	}
	gnutls_free(der.data);
	gnutls_free(raw.data);
	gnutls_x509_crt_deinit(crt);
}

static const struct memkey *mem_find(int32_t serial)
{
	for (int i = 0; i < ring.n; i++)
		if (ring.keys[i].serial == serial)
			return &ring.keys[i];
	return NULL;
}

/* remote-auth keys: one per certificate, reused, with an expiry. */
TEST(peer_keys_bounded)
{
	struct side srv, cli;
	const struct memkey *k;
	char want[128];
	uint32_t first = 0;
	int added;

	mem_free(&ring);
	added = ring.added;
	sha256_desc("alice.pem", want, sizeof(want));
	CHECK(strlen(want) == 13 + 64);
	for (int round = 0; round < 3; round++) {
		side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509,
			  rt_alice);
		side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509,
			  rt_alice);
		srv.env.peer_keyring = cli.env.peer_keyring = 4711;
		cli.p.peername = "server.test";
		ring.timeouts = 0;
		run_pair(&srv, &cli);
		CHECK(srv.res.status == 0 && cli.res.status == 0);
		CHECK(srv.res.nremote_auth == 1);
		if (round == 0)
			first = srv.res.remote_auth[0];
		/* The same key every time, its expiry renewed each time. */
		CHECK_MSG(srv.res.remote_auth[0] == first, "round %d: %u != %u",
			  round, srv.res.remote_auth[0], first);
		CHECK(ring.timeouts == 2 && ring.last_timeout == 600);
		done(&srv, &cli);
	}
	/* Two certificates seen (alice's and the server's): two keys. */
	CHECK_MSG(ring.added == added + 2, "%d keys added", ring.added - added);
	k = mem_find((int32_t)first);
	CHECK(k != NULL);
	if (k) {
		CHECK_STR(k->desc, want);
		CHECK(k->keyring == 4711);	/* the daemon's peer keyring */
	}

	/* The request names a keyring: the key is made (once) in there. */
	added = ring.added;
	for (int round = 0; round < 2; round++) {
		side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509,
			  rt_alice);
		side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509,
			  rt_alice);
		srv.env.peer_keyring = cli.env.peer_keyring = 4711;
		srv.p.keyring = 77;
		cli.p.peername = "server.test";
		run_pair(&srv, &cli);
		CHECK(srv.res.status == 0 && srv.res.nremote_auth == 1);
		k = mem_find((int32_t)srv.res.remote_auth[0]);
		CHECK(k && k->keyring == 77 && strcmp(k->desc, want) == 0);
		CHECK(srv.res.remote_auth[0] != first);
		done(&srv, &cli);
	}
	CHECK(ring.added == added + 1);
	mem_free(&ring);
}

/*
 * The peer key cannot be made (quota): the handshake stands, unless
 * "require", but without an identity there are no tags either (NFSD's
 * mTLS check and the tags must agree).
 */
TEST(peer_key_failure)
{
	struct side srv, cli;

	mem_free(&ring);
	ring.fail_add = true;
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_alice);
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("server", &srv);
	CHECK(srv.res.status == 0 && srv.res.nremote_auth == 0);
	CHECK(srv.res.peer_verified && srv.res.tags.count == 0);
	done(&srv, &cli);

	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509,
		  rt_require);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_alice);
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("server", &srv);
	CHECK(srv.res.status == EACCES);
	CHECK(strstr(srv.res.reason, "keyring") != NULL);
	CHECK(srv.res.tags.count == 0 && srv.res.nremote_auth == 0);
	done(&srv, &cli);
	ring.fail_add = false;
}

/* [server] client-ca: only those CAs vouch for clients. */
TEST(server_client_ca)
{
	struct side srv, cli;

	/* alice's CA is not the client CA: refused. */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509,
		  rt_clientca);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_alice);
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("server", &srv);
	CHECK(srv.res.status == EACCES);
	CHECK(srv.res.tags.count == 0);
	done(&srv, &cli);

	/* mallory's (rogue) CA is: accepted, although ca-file says "ca". */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509,
		  rt_clientca);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509,
		  rt_mallory);
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("server", &srv);
	CHECK(srv.res.status == 0 && srv.res.peer_verified);
	done(&srv, &cli);

	/*
	 * The same with the server's certificate from the kernel keyring
	 * (tt_hs_prepare, as the daemon runs it before the sandbox): the
	 * client CA still decides, not the general trust store.
	 */
	ring_add_file(610, "server-cert", "server.pem");
	ring_add_file(611, "server-key", "server.key");
	for (int i = 0; i < 2; i++) {
		char why[256] = "";

		side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509,
			  rt_clientca);
		srv.p.has_cert = true;
		srv.p.cert_serial = 610;
		srv.p.privkey_serial = 611;
		CHECK_MSG(tt_hs_prepare(&srv.p, &srv.env, why, sizeof(why)) == 0,
			  "%s", why);
		CHECK(srv.env.keyring_trust != NULL);
		side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509,
			  i ? rt_mallory : rt_alice);
		cli.p.peername = "server.test";
		run_pair(&srv, &cli);
		show("server", &srv);
		if (i == 0)
			CHECK(srv.res.status == EACCES && srv.res.tags.count == 0);
		else
			CHECK(srv.res.status == 0 && srv.res.peer_verified);
		CHECK(srv.env.keyring_trust == NULL);	/* taken and freed */
		done(&srv, &cli);
	}
}

/*
 * A client presenting a host certificate whose extended key usage says
 * serverAuth only: refused by default, accepted (and identified) with
 * client-certificate-purpose = any.
 */
TEST(client_certificate_purpose)
{
	struct side srv, cli;

	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_none);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509,
		  rt_hostcert);
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("server", &srv);
	CHECK(srv.res.status == EACCES && !srv.res.peer_verified);
	CHECK(strstr(srv.res.reason, "rejected") != NULL);
	done(&srv, &cli);

	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509,
		  rt_anypurpose);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509,
		  rt_hostcert);
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("server", &srv);
	CHECK(srv.res.status == 0 && srv.res.peer_verified);
	CHECK_STR(srv.res.peer, "CN=server.test,O=Example");
	CHECK(srv.res.nremote_auth == 1);
	done(&srv, &cli);
}

TEST(keyring_client_certificate)
{
	struct side srv, cli;
	char *pem = NULL, *key = NULL;
	size_t plen = 0, klen = 0;
	char path[600];
	FILE *f;

	snprintf(path, sizeof(path), "%s/alice.pem", certs);
	f = fopen(path, "r");
	plen = fread(pem = malloc(8192), 1, 8192, f);
	fclose(f);
	snprintf(path, sizeof(path), "%s/alice.key", certs);
	f = fopen(path, "r");
	klen = fread(key = malloc(8192), 1, 8192, f);
	fclose(f);
	mem_add(&ring, 600, "alice-cert", pem, plen);
	mem_add(&ring, 601, "alice-key", key, klen);
	free(pem);
	free(key);

	/* The client's own certificate comes from the keyring, not config. */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_none);
	cli.p.peername = "server.test";
	cli.p.has_cert = true;
	cli.p.cert_serial = 600;
	cli.p.privkey_serial = 601;
	run_pair(&srv, &cli);
	show("server", &srv);
	show("client", &cli);
	CHECK(srv.res.status == 0 && cli.res.status == 0);
	CHECK(tags_are(&srv.res.tags, 2, "alice", "example-members"));
	done(&srv, &cli);

	/* A missing keyring key fails the client before it connects. */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_none);
	cli.p.has_cert = true;
	cli.p.cert_serial = 600;
	cli.p.privkey_serial = 999;
	run_pair(&srv, &cli);
	CHECK(cli.res.status == EACCES);
	CHECK(strstr(cli.res.reason, "999") != NULL);
	CHECK(srv.res.status != 0);
	done(&srv, &cli);
}

TEST(psk)
{
	static const uint32_t good[] = { 500 }, wrong[] = { 501 },
			      mismatch[] = { 503 };
	unsigned char k1[32], k2[32];
	struct side srv, cli;

	for (int i = 0; i < 32; i++) {
		k1[i] = (unsigned char)(i * 7 + 1);
		k2[i] = (unsigned char)(i * 5 + 3);
	}
	mem_add(&ring, 500, "NVMe0R01 host-a subsys-b", k1, sizeof(k1));
	mem_add(&ring, 501, "NVMe0R01 host-a subsys-b-wrong", k2, sizeof(k2));
	mem_add(&ring, 502, "NVMe0R01 host-c subsys-b", k2, sizeof(k2));

	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_PSK, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_PSK, rt_alice);
	srv.p.peerids = good;
	srv.p.npeerids = 1;
	cli.p.peerids = good;
	cli.p.npeerids = 1;
	run_pair(&srv, &cli);
	show("server", &srv);
	show("client", &cli);
	CHECK(srv.res.status == 0 && cli.res.status == 0);
	CHECK(srv.res.nremote_auth == 1 && srv.res.remote_auth[0] == 500);
	CHECK(cli.res.nremote_auth == 1 && cli.res.remote_auth[0] == 500);
	CHECK(srv.res.tags.count == 0 && cli.res.tags.count == 0);
	CHECK_STR(srv.res.peer, "psk:NVMe0R01 host-a subsys-b");
	done(&srv, &cli);

	/* The server only knows another identity. */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_PSK, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_PSK, rt_alice);
	srv.p.peerids = wrong;
	srv.p.npeerids = 1;
	cli.p.peerids = good;
	cli.p.npeerids = 1;
	run_pair(&srv, &cli);
	show("server", &srv);
	show("client", &cli);
	CHECK(srv.res.status == EACCES);
	CHECK(strstr(srv.res.reason, "unknown PSK identity") != NULL);
	/* The unknown_psk_identity alert, reported as tlshd reports it. */
	CHECK(cli.res.status == EKEYREJECTED);
	done(&srv, &cli);

	/* No identity list: the server finds the key by keyring search. */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_PSK, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_PSK, rt_alice);
	srv.p.keyring = 77;
	cli.p.peerids = good;
	cli.p.npeerids = 1;
	run_pair(&srv, &cli);
	CHECK(srv.res.status == 0 && cli.res.status == 0);
	CHECK(srv.res.nremote_auth == 1 && srv.res.remote_auth[0] == 500);
	done(&srv, &cli);

	/*
	 * The request names no keyring and no identity: the server searches
	 * the keyrings tlshd would (.nvme, .nfs, .nfsd, keyrings =), in
	 * order; a keyring not on that list is not searched.
	 */
	{
		static const uint32_t other[] = { 504 };

		mem_add(&ring, 504, "NVMe0R01 host-d subsys-e", k1, sizeof(k1));
		ring.keys[ring.n - 1].keyring = 88;
		for (int found = 0; found < 2; found++) {
			side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO,
				  TT_HS_AUTH_PSK, rt_alice);
			side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO,
				  TT_HS_AUTH_PSK, rt_alice);
			srv.env.psk_keyrings[0] = 99;
			srv.env.psk_keyrings[1] = 88;
			srv.env.npsk_keyrings = found ? 2 : 1;
			cli.p.peerids = other;
			cli.p.npeerids = 1;
			run_pair(&srv, &cli);
			show("server", &srv);
			if (found) {
				CHECK(srv.res.status == 0 && cli.res.status == 0);
				CHECK(srv.res.nremote_auth == 1 &&
				      srv.res.remote_auth[0] == 504);
			} else {
				CHECK(srv.res.status == EACCES &&
				      cli.res.status == EKEYREJECTED);
			}
			done(&srv, &cli);
		}
	}

	/*
	 * The kernel offers two identities and the first cannot be read (a
	 * revoked key): the client offers the second.
	 */
	{
		static const uint32_t two[] = { 999, 500 };

		side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_PSK,
			  rt_alice);
		side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_PSK,
			  rt_alice);
		srv.p.keyring = 77;
		cli.p.peerids = two;
		cli.p.npeerids = 2;
		run_pair(&srv, &cli);
		show("client", &cli);
		CHECK(srv.res.status == 0 && cli.res.status == 0);
		CHECK(cli.res.nremote_auth == 1 && cli.res.remote_auth[0] == 500);
		done(&srv, &cli);

		/* Neither can: the reason says so. */
		static const uint32_t none[] = { 998, 999 };

		side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_PSK,
			  rt_alice);
		side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_PSK,
			  rt_alice);
		srv.p.keyring = 77;
		cli.p.peerids = none;
		cli.p.npeerids = 2;
		run_pair(&srv, &cli);
		CHECK(cli.res.status == EACCES);
		CHECK(strstr(cli.res.reason, "nor any other offered") != NULL);
		done(&srv, &cli);
	}

	/* Same identity, different secret: both sides fail authentication. */
	mem_add(&ring, 503, "NVMe0R01 host-a subsys-b", k2, sizeof(k2));
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_PSK, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_PSK, rt_alice);
	srv.p.peerids = mismatch;
	srv.p.npeerids = 1;
	cli.p.peerids = good;
	cli.p.npeerids = 1;
	run_pair(&srv, &cli);
	show("server", &srv);
	show("client", &cli);
	CHECK(srv.res.status == EACCES && cli.res.status == EACCES);
	CHECK(srv.res.nremote_auth == 0 && cli.res.nremote_auth == 0);
	done(&srv, &cli);
	mem_free(&ring);
}

struct silent {
	int	fd;
	int	mode;	/* 0: silent, 1: garbage, 2: alert, 3: alert after hello */
};

static void *peer_thread(void *arg)
{
	struct silent *s = arg;
	/* A plaintext fatal unknown_psk_identity (115) alert record. */
	static const unsigned char alert[] = { 0x15, 0x03, 0x03, 0x00, 0x02,
					       0x02, 0x73 };
	char buf[512];

	if (s->mode == 1) {
		static const char junk[] = "GET / HTTP/1.0\r\n\r\n";
		if (write(s->fd, junk, sizeof(junk) - 1) < 0)
			return NULL;
	}
	if (s->mode == 3 && read(s->fd, buf, sizeof(buf)) <= 0)
		return NULL;
	if ((s->mode == 2 || s->mode == 3) &&
	    write(s->fd, alert, sizeof(alert)) < 0)
		return NULL;
	while (read(s->fd, buf, sizeof(buf)) > 0)
		;
	return NULL;
}

/* Runs one side against peer_thread in @mode; returns the side's status. */
static uint32_t against_raw_peer(uint32_t type, uint32_t auth, int mode)
{
	struct side me;
	struct silent peer;
	pthread_t t;
	uint32_t status;
	int a, b;

	tcp_pair(&a, &b);
	side_init(&me, type, auth, rt_alice);
	me.p.fd = b;
	if (type == TT_HS_MSG_TYPE_CLIENTHELLO)
		me.p.peername = "server.test";
	peer.fd = a;
	peer.mode = mode;
	pthread_create(&t, NULL, peer_thread, &peer);
	tt_handshake_run(&me.p, &me.env, &me.res);
	shutdown(a, SHUT_RDWR);
	shutdown(b, SHUT_RDWR);
	pthread_join(t, NULL);
	close(a);
	close(b);
	show(type == TT_HS_MSG_TYPE_CLIENTHELLO ? "client" : "server", &me);
	status = me.res.status;
	tt_hs_result_free(&me.res);
	return status;
}

TEST(timeout_and_garbage)
{
	struct side srv;
	struct silent peer;
	pthread_t t;
	struct timespec t0, t1;
	int a, b;
	long ms;

	/* A peer that never answers: ETIMEDOUT at the kernel's timeout. */
	tcp_pair(&a, &b);
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	srv.p.fd = b;
	srv.p.timeout_ms = 300;
	peer.fd = a;
	peer.mode = 0;
	pthread_create(&t, NULL, peer_thread, &peer);
	clock_gettime(CLOCK_MONOTONIC, &t0);
	tt_handshake_run(&srv.p, &srv.env, &srv.res);
	clock_gettime(CLOCK_MONOTONIC, &t1);
	shutdown(a, SHUT_RDWR);
	shutdown(b, SHUT_RDWR);
	pthread_join(t, NULL);
	close(a);
	close(b);
	ms = (t1.tv_sec - t0.tv_sec) * 1000 + (t1.tv_nsec - t0.tv_nsec) / 1000000;
	show("server", &srv);
	CHECK(srv.res.status == ETIMEDOUT);
	CHECK_MSG(ms >= 250 && ms < 3000, "took %ld ms", ms);
	tt_hs_result_free(&srv.res);

	/* A peer that speaks something else: EIO. */
	CHECK(against_raw_peer(TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, 1) ==
	      EIO);

	/* Nonsense parameters are refused up front. */
	side_init(&srv, 9, TT_HS_AUTH_X509, rt_alice);
	srv.p.fd = -1;
	tt_handshake_run(&srv.p, &srv.env, &srv.res);
	CHECK(srv.res.status == EINVAL);
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, 0, rt_alice);
	tt_handshake_run(&srv.p, &srv.env, &srv.res);
	CHECK(srv.res.status == EINVAL);
}

/*
 * EKEYREJECTED tells the NVMe host to stop reconnecting: only a PSK
 * client can be told its identity is unknown. From a peer that sends
 * the alert to anyone else it is an ordinary refusal.
 */
TEST(unknown_psk_identity_alert_elsewhere)
{
	CHECK(against_raw_peer(TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, 3) ==
	      EACCES);
	CHECK(against_raw_peer(TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_UNAUTH, 3) ==
	      EACCES);
	/* A server: GnuTLS calls an alert before the ClientHello unexpected. */
	CHECK(against_raw_peer(TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_PSK, 2) ==
	      EIO);
	CHECK(against_raw_peer(TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, 2) ==
	      EIO);
}

TEST(ktls_required_fails_cleanly)
{
	struct side srv, cli;

	/* The daemon's mode: without kTLS the handshake must not succeed. */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_alice);
	srv.env.require_ktls = true;
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("server", &srv);
	CHECK_MSG(!strict_kernel || srv.res.ktls, "no kTLS on a kernel that has it: %s",
		  srv.res.reason);
	if (srv.res.ktls) {
		CHECK(srv.res.status == 0);
	} else {
		CHECK(srv.res.status == EIO);
		CHECK(strstr(srv.res.reason, "kTLS unavailable") != NULL);
		CHECK(srv.res.tags.count == 0 && srv.res.nremote_auth == 0);
	}
	done(&srv, &cli);
}

/*
 * A socket whose upper layer is already "tls" without keys (what GnuTLS's
 * own kTLS leaves when it sets the ULP but not the keys): the agent puts
 * its keys there instead of failing.
 */
TEST(ktls_on_preset_ulp)
{
	struct side srv, cli;

	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_alice);
	srv.preset_ulp = true;
	srv.env.require_ktls = true;
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("server", &srv);
	if (srv.preset_err) {
		/* no "tls" ULP in this kernel: the VM's run has one */
		CHECK_MSG(!strict_kernel, "TCP_ULP: %s", strerror(srv.preset_err));
		fprintf(stderr, "  no tls ULP here (%s): checked in the VM\n",
			strerror(srv.preset_err));
	} else {
		CHECK_MSG(srv.res.status == 0 && srv.res.ktls, "%s",
			  srv.res.reason);
	}
	done(&srv, &cli);
}

/* The libkeyutils path, when this machine lets us use a keyring. */
/*
 * keyrings = names keyrings by name or serial, as tlshd does; the PSK
 * keyrings are tlshd's three (where they exist) and those, once each.
 */
TEST(keyring_names)
{
	char num[32], *names[4];
	int32_t rings[8];
	key_serial_t kr, k;
	unsigned int n;

	kr = add_key("keyring", "tlstagd-test-named", NULL, 0,
		     KEY_SPEC_PROCESS_KEYRING);
	k = add_key("user", "tlstagd-test-not-a-ring", "x", 1, kr);
	CHECK_MSG(kr > 0 && k > 0, "cannot make keys: %s", strerror(errno));
	if (kr < 0 || k < 0)
		return;
	CHECK(tt_keys_find_keyring("tlstagd-test-named") == kr);
	snprintf(num, sizeof(num), "%d", kr);
	CHECK(tt_keys_find_keyring(num) == kr);
	snprintf(num, sizeof(num), "%d", k);
	CHECK(tt_keys_find_keyring(num) == -ENOTDIR);
	CHECK(tt_keys_find_keyring("tlstagd-test-no-such-ring") < 0);
	CHECK(tt_keys_find_keyring("-5") == -EINVAL);
	CHECK(tt_keys_find_keyring("") == -EINVAL);

	names[0] = "tlstagd-test-no-such-ring";
	names[1] = "tlstagd-test-named";
	snprintf(num, sizeof(num), "%d", kr);
	names[2] = num;
	n = tt_keys_psk_keyrings(names, 3, rings, 8);
	CHECK(n >= 1 && rings[n - 1] == kr);
	for (unsigned int i = 0; i + 1 < n; i++)
		CHECK(rings[i] != kr);	/* named twice, searched once */
	CHECK(tt_keys_psk_keyrings(names, 3, rings, 0) == 0);

	/* Another user's keyring of the configured name is not used. */
	{
		key_serial_t other = add_key("keyring", "tlstagd-test-others",
					     NULL, 0, kr);

		CHECK(other > 0 && keyctl_chown(other, 4321, -1) == 0);
		CHECK(tt_keys_find_keyring("tlstagd-test-others") == -EPERM);
		snprintf(num, sizeof(num), "%d", other);
		CHECK(tt_keys_find_keyring(num) == -EPERM);
		names[0] = "tlstagd-test-others";
		n = tt_keys_psk_keyrings(names, 1, rings, 8);
		for (unsigned int i = 0; i < n; i++)
			CHECK(rings[i] != other);
	}
	keyctl_clear(kr);
	keyctl_unlink(kr, KEY_SPEC_PROCESS_KEYRING);
}

TEST(live_keyring)
{
	static const unsigned char secret[32] = { 1, 2, 3, 4, 5, 6, 7, 8 };
	key_serial_t kr, psk;
	struct side srv, cli;
	uint32_t ids[1];

	kr = add_key("keyring", "tlstagd-test", NULL, 0,
		     KEY_SPEC_PROCESS_KEYRING);
	/* Every kernel tlstagd serves has keyrings (CONFIG_KEYS): no skip. */
	CHECK_MSG(kr > 0, "cannot make a keyring: %s", strerror(errno));
	if (kr < 0)
		return;
	psk = add_key("user", "tlstagd test identity", secret, sizeof(secret),
		      kr);
	CHECK(psk > 0);
	if (psk <= 0)
		return;
	ids[0] = (uint32_t)psk;
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_PSK, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_PSK, rt_alice);
	srv.env.keys = cli.env.keys = &tt_keyutils_ops;
	srv.p.peerids = cli.p.peerids = ids;
	srv.p.npeerids = cli.p.npeerids = 1;
	run_pair(&srv, &cli);
	show("server", &srv);
	CHECK(srv.res.status == 0 && cli.res.status == 0);
	CHECK(srv.res.nremote_auth == 1 &&
	      srv.res.remote_auth[0] == (uint32_t)psk);
	done(&srv, &cli);

	/* The peer certificate as an "asymmetric" key: serial or omitted. */
	side_init(&srv, TT_HS_MSG_TYPE_SERVERHELLO, TT_HS_AUTH_X509, rt_alice);
	side_init(&cli, TT_HS_MSG_TYPE_CLIENTHELLO, TT_HS_AUTH_X509, rt_alice);
	srv.env.keys = &tt_keyutils_ops;
	srv.p.keyring = kr;
	cli.p.peername = "server.test";
	run_pair(&srv, &cli);
	show("server", &srv);
	CHECK(srv.res.status == 0);
	CHECK(tags_are(&srv.res.tags, 2, "alice", "example-members"));
	if (srv.res.nremote_auth == 1) {
		char *desc = NULL;

		CHECK(keyctl_describe_alloc((key_serial_t)srv.res.remote_auth[0],
					    &desc) > 0 &&
		      strncmp(desc, "asymmetric;", 11) == 0);
		free(desc);
	} else {
		fprintf(stderr, "  kernel refused the asymmetric key: remote-auth omitted (logged)\n");
	}
	done(&srv, &cli);

	/*
	 * A verified Ed25519 certificate, which 6.12's X.509 parser refuses:
	 * still an identity (a "user" key then), the same one each time.
	 */
	{
		gnutls_datum_t pem = { 0 }, der = { 0 };
		char p[700], *desc = NULL;
		int32_t k1 = -1, k2 = -2;

		snprintf(p, sizeof(p), "%s/ed.pem", certs);
		if (gnutls_load_file(p, &pem) == 0 &&
		    gnutls_pem_base64_decode2("CERTIFICATE", &pem, &der) == 0) {
			k1 = tt_peer_key(&tt_keyutils_ops, kr, 0, der.data,
					 der.size);
			k2 = tt_peer_key(&tt_keyutils_ops, kr, 0, der.data,
					 der.size);
		}
		CHECK_MSG(k1 > 0 && k2 == k1, "Ed25519 peer key %d, again %d",
			  k1, k2);
		CHECK(k1 > 0 && keyctl_describe_alloc(k1, &desc) > 0 &&
		      (strncmp(desc, "asymmetric;", 11) == 0 ||
		       strncmp(desc, "user;", 5) == 0) &&
		      strstr(desc, TT_PEER_KEY_PREFIX));
		if (desc)
			fprintf(stderr, "  Ed25519 peer key: %.*s\n",
				(int)strcspn(desc, ";"), desc);
		free(desc);
		gnutls_free(pem.data);
		gnutls_free(der.data);
	}
	keyctl_unlink(kr, KEY_SPEC_PROCESS_KEYRING);
}

int main(int argc, char **argv)
{
	char cmd[600];

	if (argc != 3) {
		fprintf(stderr, "usage: %s CERTDIR DATADIR\n", argv[0]);
		return 2;
	}
	certs = argv[1];
	strict_kernel = getenv("TT_KERNEL_FEATURES") != NULL;
	data = argv[2];
	tt_log_init("test_handshake", TT_LOG_STDERR, LOG_NOTICE);
	if (!mkdtemp(tmpdir))
		return 2;
	tt_tls_global_init();
	rt_alice = make_rt("alice", "alice", "request");
	rt_mallory = make_rt("mallory", "mallory", "request");
	rt_bob = make_rt("bob", "bob", "request");
	rt_none = make_rt("none", NULL, "request");
	rt_require = make_rt("require", NULL, "require");
	rt_rogue = make_rt_ca("rogue", "mallory", "request", "rogue-ca", "");
	/* a host certificate (serverAuth only) presented as a client's */
	rt_hostcert = make_rt("hostcert", "server", "request");
	rt_anypurpose = make_rt_ca("anypurpose", NULL, "request", "ca",
				   "client-certificate-purpose = any\n");
	{
		char extra[600];

		snprintf(extra, sizeof(extra), "client-ca = %s/rogue-ca.pem\n",
			 certs);
		rt_clientca = make_rt_ca("clientca", NULL, "request", "ca",
					 extra);
	}

	RUN(x509_mutual_with_tags);
	RUN(x509_untrusted_client);
	RUN(x509_trusted_client_without_tags);
	RUN(x509_hostname_checks);
	RUN(x509_client_certificate_modes);
	RUN(unauth_client);
	RUN(keyring_client_certificate);
	RUN(psk);
	RUN(keyring_names);
	RUN(peer_keys_bounded);
	RUN(peer_key_failure);
	RUN(server_client_ca);
	RUN(client_certificate_purpose);
	RUN(timeout_and_garbage);
	RUN(unknown_psk_identity_alert_elsewhere);
	RUN(ktls_required_fails_cleanly);
	RUN(ktls_on_preset_ulp);
	RUN(live_keyring);

	mem_free(&ring);
	tt_runtime_free(rt_alice);
	tt_runtime_free(rt_mallory);
	tt_runtime_free(rt_bob);
	tt_runtime_free(rt_none);
	tt_runtime_free(rt_require);
	tt_runtime_free(rt_rogue);
	tt_runtime_free(rt_hostcert);
	tt_runtime_free(rt_anypurpose);
	tt_runtime_free(rt_clientca);
	tt_tls_global_deinit();
	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", tmpdir);
	if (system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", tmpdir);
	return tt_test_summary();
}
