// SPDX-License-Identifier: GPL-2.0-only
/*
 * TLS 1.3 handshakes with GnuTLS: client and server hellos, X.509 and PSK,
 * followed by kTLS installation, remote-auth key creation and tag
 * evaluation of the verified peer certificate.
 */
#include <arpa/inet.h>
#include <netinet/in.h>
#include <sys/socket.h>
#include <errno.h>
#include <poll.h>
#include <stdarg.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#include "handshake.h"
#include "keyholder.h"
#include "ktls.h"
#include "log.h"
#include "report.h"

struct hs_ctx {
	const struct tt_hs_params	*p;
	struct tt_hs_env		*env;
	struct tt_hs_result		*res;
	bool				server;
	bool				verify;		/* check the peer cert */
	bool				require_cert;	/* peer must send one */
	bool				verify_failed;
	bool				verified;
	bool				psk_unknown;
	int32_t				psk_serial;
	char				psk_identity[256];
	/* The peer's leaf certificate, parsed once for its name and kept
	 * for tag evaluation. */
	gnutls_x509_crt_t		peer_crt;
};

void tt_hs_params_from_accept(const struct tt_accept *a,
			      struct tt_hs_params *p)
{
	memset(p, 0, sizeof(*p));
	p->fd = a->sockfd;
	p->msg_type = a->message_type;
	p->auth_mode = a->auth_mode;
	p->timeout_ms = a->timeout_ms;
	/* An absent peername is NULL here and never reaches a string call. */
	p->peername = a->has_peername ? a->peername : NULL;
	p->peerids = a->peerids;
	p->npeerids = a->npeerids;
	p->has_cert = a->has_cert;
	p->cert_serial = a->cert_serial;
	p->privkey_serial = a->privkey_serial;
	p->keyring = a->has_keyring ? (int32_t)a->keyring : 0;
}

static void set_reason(struct tt_hs_result *res, const char *fmt, ...)
	__attribute__((format(printf, 2, 3)));

static void set_reason(struct tt_hs_result *res, const char *fmt, ...)
{
	va_list ap;

	va_start(ap, fmt);
	vsnprintf(res->reason, sizeof(res->reason), fmt, ap);
	va_end(ap);
}

/* GnuTLS's own messages may quote the peer: escaped like all peer text. */
static void gnutls_log_cb(int level, const char *msg)
{
	char esc[1024];
	size_t n;

	(void)level;
	tt_escape(msg, esc, sizeof(esc));
	n = strlen(esc);
	if (n >= 4 && strcmp(esc + n - 4, "\\x0a") == 0)
		esc[n - 4] = '\0';
	tt_debug("gnutls: %s", esc);
}

void tt_tls_set_log_level(int level)
{
	/* GnuTLS's level 3 shows the handshake's steps; more is a flood. */
	gnutls_global_set_log_level(level >= LOG_DEBUG ? 3 : 0);
}

int tt_tls_global_init(void)
{
	int ret = gnutls_global_init();

	if (ret < 0) {
		tt_err("gnutls_global_init: %s", gnutls_strerror(ret));
		return -EIO;
	}
	gnutls_global_set_log_function(gnutls_log_cb);
	return 0;
}

void tt_tls_global_deinit(void)
{
	gnutls_global_deinit();
}

void tt_hs_result_free(struct tt_hs_result *res)
{
	tp_tags_free(&res->tags);
	free(res->peer_der);
	res->peer_der = NULL;
	res->peer_der_len = 0;
}

/* ---- peer verification ---- */

static void peer_crt_free(struct hs_ctx *c)
{
	if (c->peer_crt)
		gnutls_x509_crt_deinit(c->peer_crt);
	c->peer_crt = NULL;
}

/*
 * Parses the peer's leaf certificate into c->peer_crt (kept for tag
 * evaluation, so that a handshake parses it once) and writes its subject.
 */
static void peer_subject(struct hs_ctx *c, const gnutls_datum_t *der,
			 char *out, size_t len)
{
	gnutls_datum_t dn = { NULL, 0 };

	out[0] = '\0';
	peer_crt_free(c);
	if (gnutls_x509_crt_init(&c->peer_crt) < 0) {
		c->peer_crt = NULL;
		return;
	}
	if (gnutls_x509_crt_import(c->peer_crt, der, GNUTLS_X509_FMT_DER) < 0) {
		peer_crt_free(c);
		return;
	}
	if (gnutls_x509_crt_get_dn3(c->peer_crt, &dn, 0) >= 0) {
		snprintf(out, len, "%.*s", (int)dn.size, dn.data);
		gnutls_free(dn.data);
	}
}

/*
 * The raw address (4 or 16 bytes; IPv4-mapped IPv6 as 4) of the peer of
 * @fd, for matching an iPAddress subjectAltName. 0 or -1.
 */
static int peer_address(int fd, unsigned char ip[16], unsigned int *len)
{
	struct sockaddr_storage ss;
	socklen_t sl = sizeof(ss);

	if (getpeername(fd, (struct sockaddr *)&ss, &sl) < 0)
		return -1;
	if (ss.ss_family == AF_INET) {
		memcpy(ip, &((struct sockaddr_in *)&ss)->sin_addr, 4);
		*len = 4;
		return 0;
	}
	if (ss.ss_family == AF_INET6) {
		const struct in6_addr *a = &((struct sockaddr_in6 *)&ss)->sin6_addr;

		if (IN6_IS_ADDR_V4MAPPED(a)) {
			memcpy(ip, &a->s6_addr[12], 4);
			*len = 4;
		} else {
			memcpy(ip, a->s6_addr, 16);
			*len = 16;
		}
		return 0;
	}
	return -1;
}

/* Returns 0 when the peer's chain is acceptable, -1 otherwise. */
static int verify_peer(gnutls_session_t session, struct hs_ctx *c)
{
	const gnutls_datum_t *certs;
	gnutls_typed_vdata_st data[2];
	unsigned int ncerts = 0, status = 0, nd = 0, iplen = 0;
	unsigned char ip[16];
	gnutls_datum_t text;
	int ret;

	certs = gnutls_certificate_get_peers(session, &ncerts);
	if (!certs || ncerts == 0) {
		if (!c->require_cert)
			return 0;
		c->verify_failed = true;
		set_reason(c->res, "peer sent no certificate");
		return -1;
	}
	peer_subject(c, &certs[0], c->res->peer, sizeof(c->res->peer));
	if (!c->server && c->p->peername) {
		data[nd].type = GNUTLS_DT_DNS_HOSTNAME;
		data[nd].data = (void *)c->p->peername;
		data[nd].size = 0;
		nd++;
	} else if (!c->server) {
		/*
		 * No name from the consumer (an NFS mount by address, say):
		 * the server's certificate must name the address we are
		 * connected to, or any certificate of a trusted CA would do.
		 */
		if (peer_address(c->p->fd, ip, &iplen) < 0) {
			c->verify_failed = true;
			set_reason(c->res, "no peername and no peer address to check the server certificate against");
			return -1;
		}
		data[nd].type = GNUTLS_DT_IP_ADDRESS;
		data[nd].data = ip;
		data[nd].size = iplen;
		nd++;
	}
	/*
	 * The purpose: TLS server for a server; TLS client for a client
	 * unless configured otherwise (many NFS hosts present one host
	 * certificate, with serverAuth only, in both roles).
	 */
	if (!c->server || !c->env->rt->cfg.client_purpose_any) {
		data[nd].type = GNUTLS_DT_KEY_PURPOSE_OID;
		data[nd].data = (void *)(c->server ? GNUTLS_KP_TLS_WWW_CLIENT :
					 GNUTLS_KP_TLS_WWW_SERVER);
		data[nd].size = 0;
		nd++;
	}

	ret = gnutls_certificate_verify_peers(session, data, nd, &status);
	if (ret < 0) {
		c->verify_failed = true;
		set_reason(c->res, "certificate verification: %s",
			   gnutls_strerror(ret));
		return -1;
	}
	if (status) {
		c->verify_failed = true;
		if (gnutls_certificate_verification_status_print(status,
				GNUTLS_CRT_X509, &text, 0) >= 0) {
			int n = (int)text.size;

			while (n > 0 && (text.data[n - 1] == ' ' ||
					 text.data[n - 1] == '\0'))
				n--;
			set_reason(c->res, "peer certificate rejected: %.*s",
				   n, text.data);
			gnutls_free(text.data);
		} else {
			set_reason(c->res, "peer certificate rejected");
		}
		return -1;
	}
	c->verified = true;
	return 0;
}

static int verify_cb(gnutls_session_t session)
{
	struct hs_ctx *c = gnutls_session_get_ptr(session);

	if (!c->verify)
		return 0;
	return verify_peer(session, c) < 0 ? GNUTLS_E_CERTIFICATE_ERROR : 0;
}

/* ---- credentials ---- */

static int import_pair(gnutls_certificate_credentials_t cred,
		       const unsigned char *cert, size_t clen,
		       const unsigned char *key, size_t klen)
{
	gnutls_datum_t c = { (unsigned char *)cert, (unsigned int)clen };
	gnutls_datum_t k = { (unsigned char *)key, (unsigned int)klen };
	int ret;

	/* Keys may hold DER or PEM: try DER first. */
	ret = gnutls_certificate_set_x509_key_mem2(cred, &c, &k,
						   GNUTLS_X509_FMT_DER, NULL, 0);
	if (ret < 0)
		ret = gnutls_certificate_set_x509_key_mem2(cred, &c, &k,
					GNUTLS_X509_FMT_PEM, NULL, 0);
	return ret;
}

/* Without a key holder: the certificate and the key read here. */
static int keyring_x509_read(struct hs_ctx *c,
			     gnutls_certificate_credentials_t *out)
{
	const struct tt_keyops *k = c->env->keys;
	unsigned char *cert = NULL, *key = NULL;
	size_t clen = 0, klen = 0;
	char why[256];
	int ret;

	ret = k->read(k->ctx, c->p->cert_serial, &cert, &clen);
	if (ret < 0) {
		set_reason(c->res, "cannot read certificate key %d: %s",
			   c->p->cert_serial, strerror(-ret));
		return -EACCES;
	}
	ret = k->read(k->ctx, c->p->privkey_serial, &key, &klen);
	if (ret < 0) {
		set_reason(c->res, "cannot read private key %d: %s",
			   c->p->privkey_serial, strerror(-ret));
		free(cert);
		return -EACCES;
	}
	if (c->env->keyring_trust) {
		*out = c->env->keyring_trust;
		c->env->keyring_trust = NULL;
		ret = 0;
	} else {
		ret = tt_runtime_trust_creds(&c->env->rt->cfg, c->server, out,
					     NULL, why, sizeof(why));
	}
	if (ret < 0) {
		set_reason(c->res, "trust store: %s", why);
	} else {
		int g = import_pair(*out, cert, clen, key, klen);

		if (g < 0) {
			set_reason(c->res, "keyring certificate %d / key %d: %s",
				   c->p->cert_serial, c->p->privkey_serial,
				   gnutls_strerror(g));
			gnutls_certificate_free_credentials(*out);
			*out = NULL;
			ret = -EACCES;
		}
	}
	explicit_bzero(key, klen);
	free(key);
	free(cert);
	return ret;
}

/*
 * Credentials with the trust store (the client CAs on the server side)
 * and the certificate from the keyring.
 */
static int keyring_x509_creds(struct hs_ctx *c,
			      gnutls_certificate_credentials_t *out)
{
	if (c->env->keyring_creds) {	/* prepared, the key held */
		*out = c->env->keyring_creds;
		c->env->keyring_creds = NULL;
		return 0;
	}
	return keyring_x509_read(c, out);
}

static int psk_server_cb(gnutls_session_t session,
			 const gnutls_datum_t *username, gnutls_datum_t *key)
{
	struct hs_ctx *c = gnutls_session_get_ptr(session);
	const struct tt_keyops *k = c->env->keys;
	unsigned char *data = NULL;
	int32_t serial = 0;
	size_t len = 0;
	char name[256];

	if (username->size == 0 || username->size >= sizeof(name) ||
	    memchr(username->data, '\0', username->size))
		goto unknown;
	memcpy(name, username->data, username->size);
	name[username->size] = '\0';
	snprintf(c->psk_identity, sizeof(c->psk_identity), "%s", name);

	for (unsigned int i = 0; i < c->p->npeerids && !serial; i++) {
		char *desc = NULL;

		if (k->describe(k->ctx, (int32_t)c->p->peerids[i], &desc) == 0 &&
		    strcmp(desc, name) == 0)
			serial = (int32_t)c->p->peerids[i];
		free(desc);
	}
	if (!serial && c->p->keyring) {
		int32_t s = k->search(k->ctx, c->p->keyring, "psk", name);

		if (s > 0)
			serial = s;
	}
	/* Then the keyrings tlshd would search: .nvme, .nfs, .nfsd, ... */
	for (unsigned int i = 0; !serial && i < c->env->npsk_keyrings; i++) {
		int32_t s = k->search(k->ctx, c->env->psk_keyrings[i], "psk",
				      name);

		if (s > 0)
			serial = s;
	}
	if (!serial || k->read(k->ctx, serial, &data, &len) < 0 || len == 0)
		goto unknown;
	key->data = gnutls_malloc(len);
	if (!key->data) {
		explicit_bzero(data, len);
		free(data);
		return -1;
	}
	memcpy(key->data, data, len);
	key->size = (unsigned int)len;
	explicit_bzero(data, len);
	free(data);
	c->psk_serial = serial;
	return 0;
unknown:
	c->psk_unknown = true;
	set_reason(c->res, "unknown PSK identity \"%s\"", c->psk_identity);
	return -1;
}

static int psk_client_creds(struct hs_ctx *c, gnutls_psk_client_credentials_t *out)
{
	const struct tt_keyops *k = c->env->keys;
	unsigned char *data = NULL;
	char *desc = NULL;
	size_t len = 0;
	gnutls_datum_t key;
	int32_t serial;
	int ret;

	if (c->p->npeerids == 0) {
		set_reason(c->res, "PSK handshake without a peer identity");
		return -EINVAL;
	}
	/*
	 * GnuTLS offers one identity per ClientHello: the first of the
	 * kernel's that can be used (a revoked or expired key cannot).
	 */
	for (unsigned int i = 0; i < c->p->npeerids; i++) {
		serial = (int32_t)c->p->peerids[i];
		free(desc);
		free(data);
		desc = NULL;
		data = NULL;
		len = 0;
		ret = k->describe(k->ctx, serial, &desc);
		if (ret == 0)
			ret = k->read(k->ctx, serial, &data, &len);
		if (ret == 0 && len > 0)
			break;
	}
	if (ret < 0 || len == 0) {
		set_reason(c->res, "cannot read PSK key %d%s: %s", serial,
			   c->p->npeerids > 1 ? " (nor any other offered)" : "",
			   ret < 0 ? strerror(-ret) : "empty");
		free(desc);
		free(data);
		return -EACCES;
	}
	ret = gnutls_psk_allocate_client_credentials(out);
	if (ret == 0) {
		key.data = data;
		key.size = (unsigned int)len;
		ret = gnutls_psk_set_client_credentials(*out, desc, &key,
							GNUTLS_PSK_KEY_RAW);
		if (ret < 0) {
			gnutls_psk_free_client_credentials(*out);
			*out = NULL;
		}
	}
	if (ret < 0)
		set_reason(c->res, "PSK credentials: %s", gnutls_strerror(ret));
	snprintf(c->psk_identity, sizeof(c->psk_identity), "%s", desc);
	c->psk_serial = serial;
	explicit_bzero(data, len);
	free(data);
	free(desc);
	return ret < 0 ? -EIO : 0;
}

/* ---- the handshake ---- */

static bool is_ip_literal(const char *s)
{
	unsigned char buf[sizeof(struct in6_addr)];

	return inet_pton(AF_INET, s, buf) == 1 ||
	       inet_pton(AF_INET6, s, buf) == 1;
}

static uint32_t map_error(gnutls_session_t session, int err, struct hs_ctx *c)
{
	bool psk = c->p->auth_mode == TT_HS_AUTH_PSK;

	if (c->verify_failed || c->psk_unknown)
		return EACCES;
	/*
	 * GnuTLS 3.7 reports a PSK binder that does not verify (the two
	 * sides hold different secrets for the identity) as an illegal
	 * parameter, and sends that alert. In a PSK handshake this is an
	 * authentication failure.
	 */
	if (psk && (err == GNUTLS_E_RECEIVED_ILLEGAL_PARAMETER ||
		    (err == GNUTLS_E_FATAL_ALERT_RECEIVED &&
		     gnutls_alert_get(session) == GNUTLS_A_ILLEGAL_PARAMETER)))
		return EACCES;
	switch (err) {
	case GNUTLS_E_TIMEDOUT:
		return ETIMEDOUT;
	case GNUTLS_E_CERTIFICATE_ERROR:
	case GNUTLS_E_CERTIFICATE_VERIFICATION_ERROR:
	case GNUTLS_E_NO_CERTIFICATE_FOUND:
	case GNUTLS_E_INSUFFICIENT_CREDENTIALS:
	case GNUTLS_E_CERTIFICATE_REQUIRED:
	case GNUTLS_E_DECRYPTION_FAILED:
		return EACCES;
	case GNUTLS_E_FATAL_ALERT_RECEIVED:
		/*
		 * The server does not know the identity we offered. tlshd
		 * says EKEYREJECTED here (ktls-utils after 1.4.0), and the
		 * NVMe host stops reconnecting on it (nvmf_should_reconnect),
		 * where EACCES would retry with the same key forever. Only
		 * a PSK client can be told this: from anyone else the alert
		 * is nonsense and stays EACCES.
		 */
		if (psk && c->p->msg_type == TT_HS_MSG_TYPE_CLIENTHELLO &&
		    gnutls_alert_get(session) == GNUTLS_A_UNKNOWN_PSK_IDENTITY)
			return EKEYREJECTED;
		switch (gnutls_alert_get(session)) {
		case GNUTLS_A_BAD_CERTIFICATE:
		case GNUTLS_A_UNSUPPORTED_CERTIFICATE:
		case GNUTLS_A_CERTIFICATE_REVOKED:
		case GNUTLS_A_CERTIFICATE_EXPIRED:
		case GNUTLS_A_CERTIFICATE_UNKNOWN:
		case GNUTLS_A_UNKNOWN_CA:
		case GNUTLS_A_ACCESS_DENIED:
		case GNUTLS_A_DECRYPT_ERROR:
		case GNUTLS_A_UNKNOWN_PSK_IDENTITY:
		case GNUTLS_A_CERTIFICATE_REQUIRED:
			return EACCES;
		default:
			return EIO;
		}
	default:
		return EIO;
	}
}

static int64_t now_ms(void)
{
	struct timespec ts;

	clock_gettime(CLOCK_MONOTONIC, &ts);
	return (int64_t)ts.tv_sec * 1000 + ts.tv_nsec / 1000000;
}

/* Drives gnutls_handshake to completion on a blocking or non-blocking fd. */
static int do_handshake(gnutls_session_t s, int fd, uint32_t timeout_ms)
{
	int64_t deadline = now_ms() + timeout_ms;
	int ret;

	for (;;) {
		ret = gnutls_handshake(s);
		if (ret == 0)
			return 0;
		if (ret != GNUTLS_E_AGAIN && ret != GNUTLS_E_INTERRUPTED &&
		    ret != GNUTLS_E_WARNING_ALERT_RECEIVED)
			return ret;
		if (ret == GNUTLS_E_AGAIN) {
			struct pollfd pfd = { .fd = fd };
			int64_t left = deadline - now_ms();

			if (left <= 0)
				return GNUTLS_E_TIMEDOUT;
			pfd.events = gnutls_record_get_direction(s) ? POLLOUT :
								      POLLIN;
			if (poll(&pfd, 1, (int)left) == 0)
				return GNUTLS_E_TIMEDOUT;
		}
	}
}

/*
 * The verified peer certificate as an "asymmetric" key, for remote-auth.
 * Bounded: one key per certificate, described by its SHA-256 fingerprint
 * and reused while it lives (keyctl_search), each use pushing its expiry
 * to @ttl seconds. Returns the key's serial or -errno.
 */
int32_t tt_peer_key(const struct tt_keyops *k, int32_t ring, unsigned int ttl,
		    const unsigned char *der, size_t len)
{
	gnutls_datum_t d = { (unsigned char *)der, (unsigned int)len };
	unsigned char md[32];
	size_t mdlen = sizeof(md);
	char desc[sizeof(TT_PEER_KEY_PREFIX) + 2 * sizeof(md)];
	int32_t serial;
	int ret;

	if (!len || gnutls_fingerprint(GNUTLS_DIG_SHA256, &d, md, &mdlen) < 0 ||
	    mdlen != sizeof(md))
		return -EINVAL;
	memcpy(desc, TT_PEER_KEY_PREFIX, sizeof(TT_PEER_KEY_PREFIX) - 1);
	for (size_t i = 0; i < mdlen; i++)
		snprintf(desc + sizeof(TT_PEER_KEY_PREFIX) - 1 + 2 * i, 3,
			 "%02x", md[i]);
	serial = k->search(k->ctx, ring, "asymmetric", desc);
	if (serial <= 0)
		serial = k->search(k->ctx, ring, "user", desc);
	if (serial <= 0)
		serial = k->add_cert(k->ctx, ring, desc, der, len);
	if (serial <= 0)
		return serial < 0 ? serial : -ENOKEY;
	if (k->set_timeout && ttl) {
		ret = k->set_timeout(k->ctx, serial, ttl);
		if (ret < 0)
			tt_warn("cannot set the expiry of peer key %d: %s",
				serial, strerror(-ret));
	}
	return serial;
}

/*
 * The key goes to the keyring of the request when the consumer named one
 * (it then owns what is in there; the same reuse and expiry apply),
 * otherwise to the daemon's peer keyring.
 */
static int32_t peer_key(struct hs_ctx *c, const gnutls_datum_t *der)
{
	int32_t ring = c->p->keyring ? c->p->keyring : c->env->peer_keyring;

	return tt_peer_key(c->env->keys, ring, c->env->rt->cfg.peer_key_ttl,
			   der->data, der->size);
}

static void after_handshake(gnutls_session_t s, struct hs_ctx *c)
{
	const struct tt_hs_params *p = c->p;
	const struct tt_hs_env *env = c->env;
	struct tt_hs_result *res = c->res;
	const gnutls_datum_t *certs = NULL;
	unsigned int n = 0;
	char why[200];
	int ret;

	if (p->auth_mode != TT_HS_AUTH_PSK && c->verify) {
		certs = gnutls_certificate_get_peers(s, &n);
		/* The callback should have run; never trust an unchecked chain. */
		if (certs && n > 0 && !c->verified && verify_peer(s, c) < 0) {
			res->status = EACCES;
			return;
		}
		if (!c->verified)
			certs = NULL;
	}

	/* Keys first: nothing is published for a session the kernel can't use. */
	ret = tt_ktls_install(s, p->fd, why, sizeof(why));
	if (ret == 0) {
		res->ktls = true;
	} else if (env->require_ktls) {
		res->status = EIO;
		set_reason(res, "kTLS unavailable: %s", why);
		return;
	} else {
		snprintf(res->reason, sizeof(res->reason),
			 "kTLS unavailable: %s", why);
		tt_notice("kTLS unavailable: %s (skipped: handshake-only mode)",
			  why);
	}

	if (p->auth_mode == TT_HS_AUTH_PSK) {
		snprintf(res->peer, sizeof(res->peer), "psk:%.200s", c->psk_identity);
		if (c->psk_serial > 0) {
			res->remote_auth[0] = (uint32_t)c->psk_serial;
			res->nremote_auth = 1;
		}
		/* PSK sessions carry no certificate and so no tags. */
		return;
	}
	if (!certs || n == 0)
		return;

	int32_t k;

	res->peer_verified = true;
	if (env->defer_peer_key) {
		/* The daemon's parent makes the key: hand it the certificate. */
		res->peer_der = malloc(certs[0].size);
		if (!res->peer_der) {
			res->status = ENOMEM;
			set_reason(res, "out of memory");
			return;
		}
		memcpy(res->peer_der, certs[0].data, certs[0].size);
		res->peer_der_len = certs[0].size;
		k = 0;
		goto tags;
	}
	k = peer_key(c, &certs[0]);
	if (k > 0) {
		res->remote_auth[0] = (uint32_t)k;
		res->nremote_auth = 1;
	} else if (c->server &&
		   env->rt->cfg.client_cert_mode == TT_CLIENT_CERT_REQUIRE) {
		/*
		 * "require" promises the consumer an authenticated peer it
		 * can name: without the key there is nothing to name.
		 */
		res->status = EACCES;
		set_reason(res, "cannot add the peer certificate to the keyring: %s (client-certificate = require)",
			   strerror(-k));
		return;
	} else {
		/*
		 * No identity the consumer can name, so no tags either: NFSD's
		 * mTLS check and the tags must agree on who the peer is.
		 */
		tt_warn("cannot add the peer certificate to the keyring: %s; remote-auth and tags omitted",
			strerror(-k));
		return;
	}
tags:
	if (env->evaluate_tags && env->rt->policy) {
		/* Reuse the parse of the verified certificate when it is this one. */
		if (c->peer_crt && gnutls_x509_crt_equals2(c->peer_crt, &certs[0]))
			ret = tp_evaluate_crt(env->rt->policy, c->peer_crt,
					      &res->tags, NULL);
		else
			ret = tp_evaluate_der(env->rt->policy, certs[0].data,
					      certs[0].size, &res->tags, NULL);
		if (ret < 0) {
			tt_warn("tag evaluation failed: %s; no tags",
				strerror(-ret));
			memset(&res->tags, 0, sizeof(res->tags));
		}
	}
}

/* Trust-only credentials (tt_runtime_trust_creds), the reason prefixed. */
static int prepare_trust(const struct tt_config *cfg, bool for_clients,
			 gnutls_certificate_credentials_t *out, char *why,
			 size_t whylen)
{
	char err[200];
	int ret;

	ret = tt_runtime_trust_creds(cfg, for_clients, out, NULL, err,
				     sizeof(err));
	if (ret < 0)
		snprintf(why, whylen, "trust store: %s", err);
	return ret;
}

/* The certificate chain of key @serial (DER, or PEM) into @pcerts. */
static int read_keyring_chain(const struct tt_keyops *k, int32_t serial,
			      gnutls_pcert_st *pcerts, unsigned int *n,
			      char *why, size_t whylen)
{
	unsigned char *cert = NULL;
	unsigned int max = *n;
	size_t clen = 0;
	gnutls_datum_t d;
	int ret;

	ret = k->read(k->ctx, serial, &cert, &clen);
	if (ret < 0) {
		snprintf(why, whylen, "cannot read certificate key %d: %s",
			 serial, strerror(-ret));
		return -EACCES;
	}
	d.data = cert;
	d.size = (unsigned int)clen;
	ret = gnutls_pcert_list_import_x509_raw(pcerts, n, &d,
						GNUTLS_X509_FMT_DER, 0);
	if (ret < 0) {
		*n = max;
		ret = gnutls_pcert_list_import_x509_raw(pcerts, n, &d,
							GNUTLS_X509_FMT_PEM, 0);
	}
	free(cert);
	if (ret < 0) {
		snprintf(why, whylen, "keyring certificate %d: %s", serial,
			 gnutls_strerror(ret));
		return -EACCES;
	}
	return 0;
}

/*
 * A request that brings its own certificate, in a child with a key
 * holder: the trust store, the certificate (public, read here) and the
 * private key, which goes to the holder unread (tt_kh_take_key()).
 */
static int held_keyring_creds(const struct tt_hs_params *p,
			      struct tt_hs_env *env, char *why, size_t whylen)
{
	bool server = p->msg_type == TT_HS_MSG_TYPE_SERVERHELLO;
	gnutls_certificate_credentials_t cred = NULL;
	gnutls_pcert_st pcerts[16];
	unsigned int n = 16;
	gnutls_x509_crt_t crt = NULL;
	gnutls_privkey_t key = NULL;
	int ret;

	ret = read_keyring_chain(env->keys, p->cert_serial, pcerts, &n, why,
				 whylen);
	if (ret < 0)
		return ret;
	ret = gnutls_pcert_export_x509(&pcerts[0], &crt);
	if (ret < 0) {
		snprintf(why, whylen, "keyring certificate %d: %s",
			 p->cert_serial, gnutls_strerror(ret));
		ret = -EACCES;
	} else {
		ret = tt_kh_take_key(p->privkey_serial, crt, server, &key, why,
				     whylen);
		gnutls_x509_crt_deinit(crt);
		if (ret < 0)
			ret = -EACCES;
	}
	if (ret == 0)
		ret = prepare_trust(&env->rt->cfg, server, &cred, why, whylen);
	if (ret == 0) {
		/* The holder has checked that the key is the certificate's. */
		gnutls_certificate_set_flags(cred,
				GNUTLS_CERTIFICATE_SKIP_KEY_CERT_MATCH);
		ret = gnutls_certificate_set_key(cred, NULL, 0, pcerts, n, key);
		if (ret == 0) {
			env->keyring_creds = cred;
			return 0;	/* @cred owns the chain and the key */
		}
		snprintf(why, whylen, "keyring certificate %d: %s",
			 p->cert_serial, gnutls_strerror(ret));
		gnutls_certificate_free_credentials(cred);
		ret = -EACCES;
	}
	if (key)
		gnutls_privkey_deinit(key);
	for (unsigned int i = 0; i < n; i++)
		gnutls_pcert_deinit(&pcerts[i]);
	return ret;
}

int tt_hs_prepare(const struct tt_hs_params *p, struct tt_hs_env *env,
		  char *why, size_t whylen)
{
	int ret;

	if (p->auth_mode == TT_HS_AUTH_PSK || !p->has_cert ||
	    env->keyring_trust || env->keyring_creds)
		return 0;
	if (tt_kh_attached())
		return held_keyring_creds(p, env, why, whylen);
	ret = prepare_trust(&env->rt->cfg,
			    p->msg_type == TT_HS_MSG_TYPE_SERVERHELLO,
			    &env->keyring_trust, why, whylen);
	return ret < 0 ? ret : 0;
}

/* Credentials a handshake made for itself (freed when it ends). */
struct hs_creds {
	gnutls_certificate_credentials_t	own_x509;
	gnutls_psk_client_credentials_t		psk_cli;
	gnutls_psk_server_credentials_t		psk_srv;
};

static void hs_creds_free(struct hs_creds *cr)
{
	if (cr->own_x509)
		gnutls_certificate_free_credentials(cr->own_x509);
	if (cr->psk_cli)
		gnutls_psk_free_client_credentials(cr->psk_cli);
	if (cr->psk_srv)
		gnutls_psk_free_server_credentials(cr->psk_srv);
}

/* PSK: the server finds keys by identity, the client offers the kernel's. */
static int setup_psk(gnutls_session_t s, struct hs_ctx *c,
		     struct hs_creds *cr)
{
	int ret;

	if (c->server) {
		ret = gnutls_psk_allocate_server_credentials(&cr->psk_srv);
		if (ret < 0)
			return -ENOMEM;
		gnutls_psk_set_server_credentials_function2(cr->psk_srv,
							    psk_server_cb);
		ret = gnutls_credentials_set(s, GNUTLS_CRD_PSK, cr->psk_srv);
	} else {
		ret = psk_client_creds(c, &cr->psk_cli);
		if (ret < 0)
			return ret;
		ret = gnutls_credentials_set(s, GNUTLS_CRD_PSK, cr->psk_cli);
	}
	if (ret < 0) {
		set_reason(c->res, "gnutls_credentials_set: %s",
			   gnutls_strerror(ret));
		return -EIO;
	}
	return 0;
}

/* The certificate credentials this request uses. */
static int pick_x509(struct hs_ctx *c, struct hs_creds *cr,
		     gnutls_certificate_credentials_t *out)
{
	const struct tt_runtime *rt = c->env->rt;
	int ret;

	if (c->p->has_cert) {
		ret = keyring_x509_creds(c, &cr->own_x509);
		if (ret < 0)
			return ret;
		*out = cr->own_x509;
	} else if (c->server) {
		*out = rt->server_creds;
	} else if (c->p->auth_mode == TT_HS_AUTH_UNAUTH) {
		/* Anonymous client: verify the server, show no cert. */
		*out = rt->client_anon_creds ? rt->client_anon_creds :
					       rt->client_creds;
	} else {
		*out = rt->client_creds;
	}
	if (!*out) {
		set_reason(c->res, "no server certificate configured");
		return -EIO;
	}
	return 0;
}

/* X.509: credentials, and who verifies whom. */
static int setup_x509(gnutls_session_t s, struct hs_ctx *c,
		      struct hs_creds *cr)
{
	const struct tt_config *cfg = &c->env->rt->cfg;
	gnutls_certificate_credentials_t x509 = NULL;
	int ret;

	ret = pick_x509(c, cr, &x509);
	if (ret < 0)
		return ret;
	ret = gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, x509);
	if (ret < 0) {
		set_reason(c->res, "gnutls_credentials_set: %s",
			   gnutls_strerror(ret));
		return -EIO;
	}
	if (c->server) {
		if (c->p->auth_mode == TT_HS_AUTH_X509 &&
		    cfg->client_cert_mode != TT_CLIENT_CERT_IGNORE) {
			c->verify = true;
			c->require_cert = cfg->client_cert_mode ==
					  TT_CLIENT_CERT_REQUIRE;
			gnutls_certificate_server_set_request(s,
				c->require_cert ? GNUTLS_CERT_REQUIRE :
						  GNUTLS_CERT_REQUEST);
			/*
			 * Do not list our CA names: a client then presents
			 * its certificate whoever issued it, and an untrusted
			 * one is refused (and logged) instead of silently
			 * degrading to an untagged anonymous session.
			 */
			gnutls_certificate_send_x509_rdn_sequence(s, 1);
		}
	} else {
		if (c->p->peername && !is_ip_literal(c->p->peername))
			gnutls_server_name_set(s, GNUTLS_NAME_DNS,
					       c->p->peername,
					       strlen(c->p->peername));
		/*
		 * Every client hello that is not PSK authenticates the
		 * server (chain, and the peername when given):
		 * "unauthenticated" (tls_client_hello_anon, NFS xprtsec=tls)
		 * means that the client presents no certificate, not that it
		 * trusts any server.
		 */
		c->verify = true;
		c->require_cert = true;
	}
	if (c->verify)
		gnutls_session_set_verify_function(s, verify_cb);
	return 0;
}

/* A session for @c's side with TLS 1.3 priorities; 0 or an errno. */
static uint32_t new_session(struct hs_ctx *c, gnutls_session_t *out)
{
	const char *prio_err = NULL;
	char prio[256];
	int ret;

	ret = gnutls_init(out, (c->server ? GNUTLS_SERVER : GNUTLS_CLIENT) |
			       GNUTLS_NO_TICKETS);
	if (ret < 0) {
		*out = NULL;
		set_reason(c->res, "gnutls_init: %s", gnutls_strerror(ret));
		return ENOMEM;
	}
	gnutls_session_set_ptr(*out, c);
	snprintf(prio, sizeof(prio), "%s%s", TT_PRIORITY_BASE,
		 c->p->auth_mode == TT_HS_AUTH_PSK ? TT_PRIORITY_PSK_EXTRA : "");
	ret = gnutls_priority_set_direct(*out, prio, &prio_err);
	if (ret < 0) {
		set_reason(c->res, "priority \"%s\": %s",
			   prio_err ? prio_err : "", gnutls_strerror(ret));
		return EIO;
	}
	return 0;
}

/* A failed handshake: its errno, the peer told why, the reason set. */
static uint32_t handshake_failed(gnutls_session_t s, struct hs_ctx *c,
				 int ret)
{
	uint32_t status = map_error(s, ret, c);

	/* Tell the peer why, unless the link itself failed. */
	if (c->psk_unknown)
		(void)gnutls_alert_send(s, GNUTLS_AL_FATAL,
					GNUTLS_A_UNKNOWN_PSK_IDENTITY);
	else if (ret != GNUTLS_E_FATAL_ALERT_RECEIVED &&
		 ret != GNUTLS_E_PUSH_ERROR && ret != GNUTLS_E_PULL_ERROR &&
		 ret != GNUTLS_E_PREMATURE_TERMINATION &&
		 ret != GNUTLS_E_TIMEDOUT)
		(void)gnutls_alert_send_appropriate(s, ret);
	if (!c->res->reason[0]) {
		if (ret == GNUTLS_E_FATAL_ALERT_RECEIVED)
			set_reason(c->res, "peer sent alert: %s",
				   gnutls_alert_get_name(gnutls_alert_get(s)));
		else
			set_reason(c->res, "handshake: %s",
				   gnutls_strerror(ret));
	}
	return status;
}

void tt_handshake_run(const struct tt_hs_params *p, struct tt_hs_env *env,
		      struct tt_hs_result *res)
{
	struct hs_ctx c = { .p = p, .env = env, .res = res };
	const struct tt_config *cfg = &env->rt->cfg;
	struct hs_creds cr = { 0 };
	gnutls_session_t s = NULL;
	uint32_t timeout = p->timeout_ms ? p->timeout_ms : cfg->timeout_ms;
	int ret;

	memset(res, 0, sizeof(*res));
	c.server = p->msg_type == TT_HS_MSG_TYPE_SERVERHELLO;
	if (p->msg_type != TT_HS_MSG_TYPE_CLIENTHELLO && !c.server) {
		res->status = EINVAL;
		set_reason(res, "unknown message type %u", p->msg_type);
		goto out;
	}
	if (p->auth_mode < TT_HS_AUTH_UNAUTH || p->auth_mode > TT_HS_AUTH_X509) {
		res->status = EINVAL;
		set_reason(res, "unknown authentication mode %u", p->auth_mode);
		goto out;
	}
	res->status = new_session(&c, &s);
	if (res->status)
		goto out;
	ret = p->auth_mode == TT_HS_AUTH_PSK ? setup_psk(s, &c, &cr) :
					       setup_x509(s, &c, &cr);
	if (ret < 0) {
		res->status = (uint32_t)-ret;
		goto out;
	}

	gnutls_transport_set_int(s, p->fd);
	gnutls_handshake_set_timeout(s, timeout);
	ret = do_handshake(s, p->fd, timeout);
	if (ret < 0)
		res->status = handshake_failed(s, &c, ret);
	else
		after_handshake(s, &c);

out:
	if (res->status) {
		res->nremote_auth = 0;
		tp_tags_free(&res->tags);
	}
	/* No bye: after kTLS the kernel owns the record layer. */
	peer_crt_free(&c);
	if (s)
		gnutls_deinit(s);
	hs_creds_free(&cr);
	if (env->keyring_trust) {
		gnutls_certificate_free_credentials(env->keyring_trust);
		env->keyring_trust = NULL;
	}
	if (env->keyring_creds) {
		gnutls_certificate_free_credentials(env->keyring_creds);
		env->keyring_creds = NULL;
	}
}
