// SPDX-License-Identifier: GPL-2.0-only
/*
 * The key holder: it loads only a key that belongs to its certificate,
 * signs one TLS 1.3 CertificateVerify per channel and nothing else, keeps
 * a key while a channel needs it, and is the only process that holds the
 * key: a daemon that loads its credentials through it holds none.
 *
 * Usage: test_keyholder CERTDIR
 */
#include <errno.h>
#include <pthread.h>
#include <signal.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/stat.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gnutls/abstract.h>
#include <gnutls/crypto.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <keyutils.h>

#include "config.h"
#include "runtime.h"
#include "diag.h"
#include "handshake.h"
#include "keys.h"
#include "keyholder.h"
#include "log.h"
#include "memscan.h"
#include "tt_test.h"

static const char *certs;
static struct tt_kh *kh;

/* Writes a request that passes as a fuzz seed when TT_SEED_DIR is set. */
static void seed(const char *name, const void *buf, size_t len)
{
	const char *dir = getenv("TT_SEED_DIR");
	char p[512];
	FILE *f;

	if (!dir)
		return;
	snprintf(p, sizeof(p), "%s/keysign", dir);
	mkdir(p, 0755);
	snprintf(p, sizeof(p), "%s/keysign/%s", dir, name);
	f = fopen(p, "wb");
	if (f) {
		fwrite(buf, 1, len, f);
		fclose(f);
	}
}

static char *path(const char *name)
{
	static char buf[4][600];
	static int i;

	i = (i + 1) % 4;
	snprintf(buf[i], sizeof(buf[i]), "%s/%s", certs, name);
	return buf[i];
}

static gnutls_x509_crt_t load_crt(const char *name)
{
	gnutls_datum_t d = { 0 };
	gnutls_x509_crt_t crt = NULL;

	if (gnutls_load_file(path(name), &d) < 0 ||
	    gnutls_x509_crt_init(&crt) < 0 ||
	    gnutls_x509_crt_import(crt, &d, GNUTLS_X509_FMT_PEM) < 0) {
		fprintf(stderr, "cannot load %s\n", name);
		exit(2);
	}
	gnutls_free(d.data);
	return crt;
}

TEST(load_checks_the_pair)
{
	gnutls_x509_crt_t crt = load_crt("server.pem");
	gnutls_privkey_t k = NULL;
	uint32_t id = 0;
	char why[300] = "";

	CHECK(tt_kh_load(kh, path("server.key"), crt, true, &k, &id, why,
			 sizeof(why)) == 0 && k && id);
	gnutls_privkey_deinit(k);
	k = NULL;
	CHECK(tt_kh_load(kh, path("alice.key"), crt, true, &k, &id, why,
			 sizeof(why)) == -EINVAL && !k);
	CHECK_MSG(strstr(why, "does not belong"), "%s", why);
	CHECK(tt_kh_load(kh, path("no-such.key"), crt, true, &k, &id, why,
			 sizeof(why)) == -EINVAL && !k);
	CHECK_MSG(strstr(why, "No such file"), "%s", why);
	CHECK(tt_kh_load(kh, path("server.pem"), crt, true, &k, &id, why,
			 sizeof(why)) == -EINVAL && !k);
	gnutls_x509_crt_deinit(crt);
}

/* One raw request over a fresh channel; the reply's status. */
static int raw_sign(int chan, uint32_t id, uint32_t algo, uint32_t kind,
		    const void *data, uint32_t len, unsigned char *sig,
		    size_t *siglen)
{
	struct tt_kh_sign_req req = { .key_id = id, .algo = algo,
				      .kind = kind, .len = len };
	struct { int32_t status; uint32_t len; unsigned char sig[TT_KH_MAX_SIG]; } r;
	size_t hdr = offsetof(struct tt_kh_sign_req, data);
	ssize_t n;

	memcpy(req.data, data, len);
	if (send(chan, &req, hdr + len, MSG_NOSIGNAL) < 0)
		return -1000 - errno;
	n = recv(chan, &r, sizeof(r), 0);
	if (n <= 0)
		return -2000;
	if (sig && r.status == 0) {
		memcpy(sig, r.sig, r.len);
		*siglen = r.len;
	}
	return r.status;
}

TEST(signs_once_per_channel_tls13_only)
{
	gnutls_x509_crt_t crt = load_crt("server.pem");
	gnutls_pubkey_t pub;
	gnutls_privkey_t k = NULL;
	unsigned char hash[32], sig[TT_KH_MAX_SIG];
	size_t siglen = 0;
	uint32_t id = 0, other = 0;
	char why[300];
	int chan;

	gnutls_rnd(GNUTLS_RND_NONCE, hash, sizeof(hash));
	CHECK(tt_kh_load(kh, path("server.key"), crt, true, &k, &id, why,
			 sizeof(why)) == 0);
	/* A good request: a SHA-256 digest, ECDSA P-256, once. */
	chan = tt_kh_channel(kh, &id, 1);
	CHECK(chan >= 0);
	CHECK(raw_sign(chan, id, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256,
		       TT_KH_HASH, hash, 32, sig, &siglen) == 0);
	gnutls_pubkey_init(&pub);
	gnutls_pubkey_import_x509(pub, crt, 0);
	CHECK(gnutls_pubkey_verify_hash2(pub, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256,
					 0, &(gnutls_datum_t){ hash, 32 },
					 &(gnutls_datum_t){ sig, (unsigned int)siglen }) >= 0);
	gnutls_pubkey_deinit(pub);
	/* ... and never twice: the holder has closed the channel. */
	CHECK(raw_sign(chan, id, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256,
		       TT_KH_HASH, hash, 32, NULL, NULL) < -999);
	close(chan);

	/* Refused, each ending its channel: */
	static const struct {
		uint32_t algo, kind, len;
		bool other_id;
	} bad[] = {
		/* not a TLS 1.3 scheme (PKCS#1 v1.5, SHA-1 ECDSA) */
		{ GNUTLS_SIGN_RSA_SHA256, TT_KH_HASH, 32, false },
		{ GNUTLS_SIGN_ECDSA_SHA1, TT_KH_HASH, 20, false },
		/* a scheme for another key type, or another curve */
		{ GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, TT_KH_HASH, 32, false },
		{ GNUTLS_SIGN_ECDSA_SECP384R1_SHA384, TT_KH_HASH, 48, false },
		{ GNUTLS_SIGN_ECDSA_SECP521R1_SHA512, TT_KH_HASH, 64, false },
		/* a digest of the wrong length */
		{ GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, TT_KH_HASH, 48, false },
		/* content where a digest belongs */
		{ GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, TT_KH_DATA, 32, false },
		/* a key this channel was not opened for */
		{ GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, TT_KH_HASH, 32, true },
	};
	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		unsigned char d[64] = { 0 };

		chan = tt_kh_channel(kh, &id, 1);
		CHECK_MSG(raw_sign(chan, bad[i].other_id ? id + 100 : id,
				   bad[i].algo, bad[i].kind, d, bad[i].len,
				   NULL, NULL) == -EPERM, "bad request %zu", i);
		CHECK_MSG(raw_sign(chan, id, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256,
				   TT_KH_HASH, hash, 32, NULL, NULL) < -999,
			  "channel %zu still open", i);
		close(chan);
	}
	/* Garbage: too short, a length that lies. */
	chan = tt_kh_channel(kh, &id, 1);
	CHECK(send(chan, "xy", 2, 0) == 2);
	{
		int32_t st = 0;

		CHECK(recv(chan, &st, sizeof(st), 0) >= 4 && st == -EPERM);
	}
	close(chan);

	/* A key the parent forgot stays usable for a channel opened before. */
	chan = tt_kh_channel(kh, &id, 1);
	gnutls_privkey_deinit(k);	/* FORGET */
	CHECK(raw_sign(chan, id, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256,
		       TT_KH_HASH, hash, 32, sig, &siglen) == 0);
	close(chan);
	/* ... but a channel opened after has no key. */
	chan = tt_kh_channel(kh, &id, 1);
	CHECK(raw_sign(chan, id, GNUTLS_SIGN_ECDSA_SECP256R1_SHA256,
		       TT_KH_HASH, hash, 32, NULL, NULL) == -EPERM);
	close(chan);
	(void)other;
	gnutls_x509_crt_deinit(crt);
}

TEST(check_sign_eddsa_content)
{
	struct tt_kh_sign_req req = { .key_id = 1,
				      .algo = GNUTLS_SIGN_EDDSA_ED25519,
				      .kind = TT_KH_DATA };
	struct tt_kh_key client = { .pk = GNUTLS_PK_EDDSA_ED25519 };
	struct tt_kh_key server = { .pk = GNUTLS_PK_EDDSA_ED25519,
				    .server = true };
	struct tt_kh_key p256 = { .pk = GNUTLS_PK_ECDSA,
				  .curve = GNUTLS_ECC_CURVE_SECP256R1 };
	struct tt_kh_key rsa = { .pk = GNUTLS_PK_RSA };
	struct tt_kh_sign_req out;
	size_t hdr = offsetof(struct tt_kh_sign_req, data);
	const char *ctx = "TLS 1.3, client CertificateVerify";
	char why[160];

	memset(req.data, ' ', 64);
	memcpy(req.data + 64, ctx, strlen(ctx) + 1);
	req.len = (uint32_t)(64 + strlen(ctx) + 1 + 32);
	CHECK(tt_kh_check_sign(&req, hdr + req.len, &client, &out, why,
			       sizeof(why)) == 0);
	seed("eddsa", &req, hdr + req.len);
	/* a client CertificateVerify is not the server key's to sign */
	CHECK(tt_kh_check_sign(&req, hdr + req.len, &server, &out, why,
			       sizeof(why)) == -EINVAL);
	CHECK_MSG(strstr(why, "server CertificateVerify"), "%s", why);
	{
		struct tt_kh_sign_req h = {
			.key_id = 1, .algo = GNUTLS_SIGN_ECDSA_SECP256R1_SHA256,
			.kind = TT_KH_HASH, .len = 32 };

		CHECK(tt_kh_check_sign(&h, hdr + 32, &p256, &out, why,
				       sizeof(why)) == 0);
		seed("ecdsa", &h, hdr + 32);
		h.algo = GNUTLS_SIGN_RSA_PSS_RSAE_SHA384;
		h.len = 48;
		CHECK(tt_kh_check_sign(&h, hdr + 48, &rsa, &out, why,
				       sizeof(why)) == 0);
		seed("rsa-pss", &h, hdr + 48);
		/* PKCS#1 v1.5 has no place in TLS 1.3 */
		h.algo = GNUTLS_SIGN_RSA_SHA384;
		CHECK(tt_kh_check_sign(&h, hdr + 48, &rsa, &out, why,
				       sizeof(why)) == -EINVAL);
	}
	/* a hash length TLS 1.3 has not */
	req.len -= 4;
	CHECK(tt_kh_check_sign(&req, hdr + req.len, &client, &out, why,
			       sizeof(why)) == -EINVAL);
	req.len += 4;
	/* another context: not a CertificateVerify */
	req.data[70] ^= 1;
	CHECK(tt_kh_check_sign(&req, hdr + req.len, &client, &out, why,
			       sizeof(why)) == -EINVAL);
	CHECK_MSG(strstr(why, "CertificateVerify"), "%s", why);
	req.data[70] ^= 1;
	/* EdDSA over a digest, EdDSA for an EC key, a framing lie */
	req.kind = TT_KH_HASH;
	CHECK(tt_kh_check_sign(&req, hdr + req.len, &client, &out, why,
			       sizeof(why)) == -EINVAL);
	req.kind = TT_KH_DATA;
	CHECK(tt_kh_check_sign(&req, hdr + req.len, &p256, &out, why,
			       sizeof(why)) == -EINVAL);
	CHECK(tt_kh_check_sign(&req, hdr + req.len - 1, &client, &out, why,
			       sizeof(why)) == -EINVAL);
	CHECK(tt_kh_check_sign(&req, 3, &client, &out, why,
			       sizeof(why)) == -EINVAL);
}

/* ---- a real TLS 1.3 handshake whose server key is held ---- */

struct peer {
	int fd;
	int ret;
};

static void *client_main(void *arg)
{
	struct peer *p = arg;
	gnutls_certificate_credentials_t c;
	gnutls_session_t s;
	unsigned int status = 1;
	int r;

	gnutls_certificate_allocate_credentials(&c);
	gnutls_certificate_set_x509_trust_file(c, path("ca.pem"),
					       GNUTLS_X509_FMT_PEM);
	gnutls_init(&s, GNUTLS_CLIENT);
	gnutls_priority_set_direct(s, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, c);
	gnutls_transport_set_int(s, p->fd);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	if (r == 0 && (gnutls_certificate_verify_peers2(s, &status) < 0 ||
		       status))
		r = -1;
	p->ret = r;
	gnutls_deinit(s);
	gnutls_certificate_free_credentials(c);
	close(p->fd);
	return NULL;
}

static int serve_once(gnutls_certificate_credentials_t cred)
{
	struct peer p;
	pthread_t t;
	gnutls_session_t s;
	int sv[2], r;

	socketpair(AF_UNIX, SOCK_STREAM | SOCK_CLOEXEC, 0, sv);
	p.fd = sv[1];
	pthread_create(&t, NULL, client_main, &p);
	gnutls_init(&s, GNUTLS_SERVER);
	gnutls_priority_set_direct(s, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, cred);
	gnutls_transport_set_int(s, sv[0]);
	do
		r = gnutls_handshake(s);
	while (r < 0 && !gnutls_error_is_fatal(r));
	gnutls_deinit(s);
	close(sv[0]);
	pthread_join(t, NULL);
	return r == 0 && p.ret == 0 ? 0 : -1;
}

TEST(handshake_signs_through_the_holder)
{
	struct tt_diag diag = { 0 };
	struct tt_runtime *rt = NULL;
	char conf[600];
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/kh.conf", certs);
	f = fopen(conf, "w");
	fprintf(f, "[trust]\nca-file = %s\n[server]\ncertificate = %s\n"
		"private-key = %s\n", path("ca.pem"), path("server.pem"),
		path("server.key"));
	fclose(f);
	tt_kh_set_current(kh);
	CHECK(tt_runtime_load(conf, &rt, &diag) == 0);
	tt_diag_free(&diag);
	if (!rt)
		return;
	CHECK(rt->nheld == 1);
	/* No channel: the handshake cannot sign. */
	tt_kh_attach(-1);
	CHECK(serve_once(rt->server_creds) < 0);
	/* A channel: one handshake signs, the next one cannot. */
	tt_kh_attach(tt_kh_channel(kh, rt->held_ids, rt->nheld));
	CHECK(serve_once(rt->server_creds) == 0);
	CHECK(serve_once(rt->server_creds) < 0);
	tt_kh_attach(tt_kh_channel(kh, rt->held_ids, rt->nheld));
	CHECK(serve_once(rt->server_creds) == 0);

	/* A key that is not the certificate's is a load error. */
	f = fopen(conf, "w");
	fprintf(f, "[trust]\nca-file = %s\n[server]\ncertificate = %s\n"
		"private-key = %s\n", path("ca.pem"), path("server.pem"),
		path("bob.key"));
	fclose(f);
	{
		struct tt_runtime *bad = NULL;

		CHECK(tt_runtime_load(conf, &bad, &diag) < 0 && !bad);
		CHECK(diag.count == 1 &&
		      strstr(diag.entries[0].msg, "does not belong"));
		tt_diag_free(&diag);
	}
	tt_kh_set_current(NULL);

	/* Only the holder has the key in memory; this process never had. */
	struct ms_secret sec;

	CHECK(ms_load(path("server.key"), &sec) == 0);
	CHECK_MSG(ms_scan(tt_kh_pid(kh), &sec) == 7, "holder: %d",
		  ms_scan(tt_kh_pid(kh), &sec));
	CHECK_MSG(ms_scan(getpid(), &sec) == 0, "this process: %d",
		  ms_scan(getpid(), &sec));
	tt_runtime_free(rt);
	unlink(conf);
}

/*
 * The key file as a "user" key in our session keyring, added by a
 * throw-away child: this process possesses the key but never read it.
 */
static int32_t add_key_unread(const char *name)
{
	int32_t serial = -1;
	int p[2];
	pid_t pid;

	if (pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		gnutls_datum_t d = { 0 };
		int32_t k = -1;

		close(p[0]);
		if (gnutls_load_file(path(name), &d) == 0)
			k = add_key("user", name, d.data, d.size,
				    KEY_SPEC_SESSION_KEYRING);
		_exit(write(p[1], &k, sizeof(k)) == sizeof(k) ? 0 : 1);
	}
	close(p[1]);
	if (read(p[0], &serial, sizeof(serial)) != sizeof(serial))
		serial = -1;
	close(p[0]);
	waitpid(pid, NULL, 0);
	return serial;
}

/* Credentials with server.pem and @key (which they then own). */
static gnutls_certificate_credentials_t creds_with(gnutls_privkey_t key)
{
	gnutls_certificate_credentials_t c;
	gnutls_pcert_st pcerts[4];
	unsigned int n = 4;

	gnutls_certificate_allocate_credentials(&c);
	gnutls_certificate_set_flags(c, GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
	if (gnutls_pcert_list_import_x509_file(pcerts, &n, path("server.pem"),
					       GNUTLS_X509_FMT_PEM, NULL, NULL,
					       0) < 0 ||
	    gnutls_certificate_set_key(c, NULL, 0, pcerts, n, key) < 0) {
		fprintf(stderr, "cannot build credentials\n");
		exit(2);
	}
	return c;
}

/*
 * A private key the kernel names in a request (a key serial): the child
 * hands it to the holder without reading it, and signs with it once.
 */
TEST(kernel_named_key_taken_unread)
{
	gnutls_x509_crt_t crt = load_crt("server.pem");
	gnutls_certificate_credentials_t c;
	gnutls_privkey_t k = NULL, k2 = NULL;
	int32_t good = add_key_unread("server.key");
	int32_t wrong = add_key_unread("alice.key");
	struct ms_secret sec;
	char why[300] = "";

	CHECK_MSG(good > 0 && wrong > 0, "keys %d %d", good, wrong);
	tt_kh_set_current(kh);
	/* No channel to a holder: nothing to hand it to. */
	tt_kh_attach(-1);
	CHECK(tt_kh_take_key(good, crt, true, &k, why, sizeof(why)) == -ENOKEY);

	/* Handed over, then one handshake signs with it. */
	tt_kh_attach(tt_kh_channel(kh, NULL, 0));
	CHECK_MSG(tt_kh_take_key(good, crt, true, &k, why, sizeof(why)) == 0 &&
		  k, "%s", why);
	if (k) {
		c = creds_with(k);
		CHECK(serve_once(c) == 0);
		CHECK(serve_once(c) < 0);	/* the channel is spent */
		gnutls_certificate_free_credentials(c);
	}

	/* A key that is not the certificate's: refused. */
	tt_kh_attach(tt_kh_channel(kh, NULL, 0));
	CHECK(tt_kh_take_key(wrong, crt, true, &k2, why, sizeof(why)) < 0 &&
	      !k2);
	CHECK_MSG(strstr(why, "does not belong"), "%s", why);

	/* One key per handshake: a second one is refused. */
	tt_kh_attach(tt_kh_channel(kh, NULL, 0));
	k = NULL;
	CHECK(tt_kh_take_key(good, crt, true, &k, why, sizeof(why)) == 0);
	CHECK(tt_kh_take_key(good, crt, true, &k2, why, sizeof(why)) == -ENOKEY &&
	      !k2);
	/*
	 * The holder takes a key only as a channel's first message: after a
	 * SEAL (what a child sends before its sandbox) or any other first
	 * message, a handed-over key is refused and the channel closed; so
	 * is a serial that names no key.
	 */
	{
		struct {
			uint32_t	magic;
			int32_t		serial;
			uint32_t	server, keyid_len;
			unsigned char	keyid[64];
		} a = { .magic = 0xfffffffeu };
		int32_t st = 0;
		int ch = tt_kh_channel(kh, NULL, 0);

		CHECK(send(ch, &a, sizeof(a), 0) == sizeof(a));
		a.magic = TT_KH_ADOPTED;
		a.serial = good;
		CHECK(send(ch, &a, sizeof(a), 0) == sizeof(a));
		CHECK(recv(ch, &st, sizeof(st), 0) == sizeof(st) && st == -EPERM);
		close(ch);
		ch = tt_kh_channel(kh, NULL, 0);
		a.serial = 0;
		CHECK(send(ch, &a, sizeof(a), 0) == sizeof(a));
		CHECK(recv(ch, &st, sizeof(st), 0) == sizeof(st) && st == -EINVAL);
		close(ch);
	}
	if (k)
		gnutls_privkey_deinit(k);
	tt_kh_attach(-1);
	tt_kh_set_current(NULL);

	/* This process possessed the key and signed with it, never read it. */
	CHECK(ms_load(path("server.key"), &sec) == 0);
	CHECK_MSG(ms_scan(getpid(), &sec) == 0, "this process: %d",
		  ms_scan(getpid(), &sec));
	keyctl_unlink(good, KEY_SPEC_SESSION_KEYRING);
	keyctl_unlink(wrong, KEY_SPEC_SESSION_KEYRING);
	gnutls_x509_crt_deinit(crt);
}

/*
 * What a handshake child does before its sandbox for a request that names
 * its certificate and key (tt_hs_prepare): the certificate read, the key
 * handed to the holder unread, and credentials that sign through it.
 */
TEST(prepare_hands_over_kernel_named_key)
{
	struct tt_diag diag = { 0 };
	struct tt_runtime *rt = NULL;
	int32_t cert = add_key_unread("server.pem");
	int32_t key = add_key_unread("server.key");
	struct tt_hs_params p = { .msg_type = TT_HS_MSG_TYPE_SERVERHELLO,
				  .auth_mode = TT_HS_AUTH_X509,
				  .has_cert = true, .cert_serial = cert,
				  .privkey_serial = key };
	struct tt_hs_env env = { .keys = &tt_keyutils_ops };
	char conf[600], why[300] = "";
	FILE *f;

	snprintf(conf, sizeof(conf), "%s/kh2.conf", certs);
	f = fopen(conf, "w");
	fprintf(f, "[trust]\nca-file = %s\n", path("ca.pem"));
	fclose(f);
	CHECK(tt_runtime_load(conf, &rt, &diag) == 0);
	tt_diag_free(&diag);
	unlink(conf);
	if (!rt)
		return;
	env.rt = rt;
	tt_kh_set_current(kh);
	tt_kh_attach(tt_kh_channel(kh, NULL, 0));
	CHECK_MSG(tt_hs_prepare(&p, &env, why, sizeof(why)) == 0 &&
		  env.keyring_creds && !env.keyring_trust, "%s", why);
	if (env.keyring_creds) {
		CHECK(serve_once(env.keyring_creds) == 0);
		gnutls_certificate_free_credentials(env.keyring_creds);
	}
	/* A key serial that is not the certificate's key: refused. */
	env.keyring_creds = NULL;
	p.privkey_serial = cert;
	tt_kh_attach(tt_kh_channel(kh, NULL, 0));
	CHECK(tt_hs_prepare(&p, &env, why, sizeof(why)) == -EACCES &&
	      !env.keyring_creds);
	tt_kh_attach(-1);
	tt_kh_set_current(NULL);
	keyctl_unlink(cert, KEY_SPEC_SESSION_KEYRING);
	keyctl_unlink(key, KEY_SPEC_SESSION_KEYRING);
	tt_runtime_free(rt);
}

TEST(holder_ends_with_its_daemon)
{
	struct tt_kh *k2;
	char why[200];
	pid_t p;
	int st = -1;

	/* The control socket closing (the daemon gone) ends the holder. */
	CHECK(tt_kh_start(&k2, why, sizeof(why)) == 0);
	p = tt_kh_pid(k2);
	tt_kh_stop(k2);
	CHECK(kill(p, 0) < 0 && errno == ESRCH);
	(void)st;
}

int main(int argc, char **argv)
{
	char why[200];

	if (argc != 2) {
		fprintf(stderr, "usage: %s CERTDIR\n", argv[0]);
		return 2;
	}
	certs = argv[1];
	signal(SIGPIPE, SIG_IGN);
	tt_log_init("test_keyholder", TT_LOG_STDERR, LOG_ERR);
	gnutls_global_init();
	/* A session keyring of our own, shared with the key-adding helper. */
	keyctl_join_session_keyring(NULL);
	if (tt_kh_start(&kh, why, sizeof(why)) < 0) {
		fprintf(stderr, "%s\n", why);
		return 2;
	}
	RUN(load_checks_the_pair);
	RUN(signs_once_per_channel_tls13_only);
	RUN(check_sign_eddsa_content);
	RUN(handshake_signs_through_the_holder);
	RUN(kernel_named_key_taken_unread);
	RUN(prepare_hands_over_kernel_named_key);
	RUN(holder_ends_with_its_daemon);
	tt_kh_stop(kh);
	gnutls_global_deinit();
	return tt_test_summary();
}
