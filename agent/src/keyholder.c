// SPDX-License-Identifier: GPL-2.0-only
/* The key holder: see keyholder.h. */
#include <errno.h>
#include <fcntl.h>
#include <limits.h>
#include <poll.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/prctl.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/crypto.h>
#include <gnutls/x509.h>
#include <keyutils.h>
#include <sys/capability.h>

#include "keyholder.h"
#include "log.h"

enum { KH_LOAD = 1, KH_FORGET, KH_CHANNEL };

/* Parent to holder (trusted). */
struct kh_ctl {
	uint32_t	op;
	uint32_t	id;
	uint32_t	server;		/* LOAD: signs server CertificateVerify */
	uint32_t	nids;		/* CHANNEL */
	uint32_t	ids[TT_KH_MAX_KEYS];
	uint32_t	keyid_len;	/* LOAD: SHA-256 key id of the cert */
	unsigned char	keyid[64];
	char		path[PATH_MAX];
};

struct kh_ctl_reply {
	int32_t		status;
	char		msg[256];
};

/*
 * Child to holder, as the channel's first message and before the child's
 * sandbox: take the kernel-named key (ADOPT), or take none (SEAL). Any
 * other first message seals the channel too: a sandboxed child cannot
 * hand over a key.
 */
#define KH_SEAL		0xfffffffeu
struct kh_adopt_req {
	uint32_t	magic;		/* TT_KH_ADOPTED or KH_SEAL */
	int32_t		serial;
	uint32_t	server;
	uint32_t	keyid_len;
	unsigned char	keyid[64];
};

struct kh_sign_reply {
	int32_t		status;
	uint32_t	len;
	unsigned char	sig[TT_KH_MAX_SIG];
};

#define SIGN_HDR	offsetof(struct tt_kh_sign_req, data)
#define REPLY_HDR	offsetof(struct kh_sign_reply, sig)

struct tt_kh {
	pid_t		pid;
	pid_t		owner;		/* the process that may send FORGET */
	int		ctl;
	uint32_t	next_id;
	int32_t		ring;		/* the holder's keyring (tt_kh_take_key) */
};

static struct tt_kh *current;
static int child_chan = -1;

void tt_kh_set_current(struct tt_kh *kh)
{
	current = kh;
}

struct tt_kh *tt_kh_current(void)
{
	return current;
}

pid_t tt_kh_pid(const struct tt_kh *kh)
{
	return kh ? kh->pid : 0;
}

int tt_kh_fd(const struct tt_kh *kh)
{
	return kh ? kh->ctl : -1;
}

void tt_kh_adopt(struct tt_kh *kh)
{
	if (kh)
		kh->owner = getpid();
}

/* ------------------------------------------------------------------ */
/* What a child may ask for                                           */
/* ------------------------------------------------------------------ */

/* The signature schemes of TLS 1.3 (RFC 8446 4.2.3) that GnuTLS keys make. */
static const gnutls_sign_algorithm_t tls13_schemes[] = {
	GNUTLS_SIGN_ECDSA_SECP256R1_SHA256, GNUTLS_SIGN_ECDSA_SECP384R1_SHA384,
	GNUTLS_SIGN_ECDSA_SECP521R1_SHA512,
	GNUTLS_SIGN_RSA_PSS_RSAE_SHA256, GNUTLS_SIGN_RSA_PSS_RSAE_SHA384,
	GNUTLS_SIGN_RSA_PSS_RSAE_SHA512,
	GNUTLS_SIGN_RSA_PSS_SHA256, GNUTLS_SIGN_RSA_PSS_SHA384,
	GNUTLS_SIGN_RSA_PSS_SHA512,
	GNUTLS_SIGN_EDDSA_ED25519, GNUTLS_SIGN_EDDSA_ED448,
};

/* TLS 1.3 binds each ECDSA scheme to one curve (RFC 8446 4.2.3). */
static gnutls_sign_algorithm_t ecdsa_scheme(int curve)
{
	switch (curve) {
	case GNUTLS_ECC_CURVE_SECP256R1:
		return GNUTLS_SIGN_ECDSA_SECP256R1_SHA256;
	case GNUTLS_ECC_CURVE_SECP384R1:
		return GNUTLS_SIGN_ECDSA_SECP384R1_SHA384;
	case GNUTLS_ECC_CURVE_SECP521R1:
		return GNUTLS_SIGN_ECDSA_SECP521R1_SHA512;
	default:
		return GNUTLS_SIGN_UNKNOWN;
	}
}

static bool tls13_scheme(uint32_t algo, const struct tt_kh_key *k)
{
	if (k->pk == GNUTLS_PK_ECDSA)
		return algo == (uint32_t)ecdsa_scheme(k->curve);
	for (size_t i = 0; i < sizeof(tls13_schemes) / sizeof(tls13_schemes[0]); i++)
		if (tls13_schemes[i] == algo)
			return gnutls_sign_supports_pk_algorithm(algo,
						(gnutls_pk_algorithm_t)k->pk);
	return false;
}

/* The curve of an ECDSA public key, else 0. */
static int pub_curve(gnutls_pubkey_t pub)
{
	gnutls_ecc_curve_t curve = GNUTLS_ECC_CURVE_INVALID;
	gnutls_datum_t x = { NULL, 0 }, y = { NULL, 0 };

	if (gnutls_pubkey_get_pk_algorithm(pub, NULL) != GNUTLS_PK_ECDSA ||
	    gnutls_pubkey_export_ecc_raw2(pub, &curve, &x, &y, 0) < 0)
		return 0;
	gnutls_free(x.data);
	gnutls_free(y.data);
	return (int)curve;
}

static bool eddsa(uint32_t algo)
{
	return algo == GNUTLS_SIGN_EDDSA_ED25519 ||
	       algo == GNUTLS_SIGN_EDDSA_ED448;
}

/*
 * RFC 8446 4.4.3: 64 spaces, the context string of @server's side, a
 * zero byte, a hash.
 */
static bool cert_verify_content(const unsigned char *d, size_t len,
				bool server)
{
	const char *ctx = server ? "TLS 1.3, server CertificateVerify" :
				   "TLS 1.3, client CertificateVerify";
	size_t n = strlen(ctx) + 1, h;

	if (len < 64 + n)
		return false;
	for (size_t i = 0; i < 64; i++)
		if (d[i] != 0x20)
			return false;
	if (memcmp(d + 64, ctx, n) != 0)
		return false;
	h = len - 64 - n;
	return h == 32 || h == 48 || h == 64;
}

int tt_kh_check_sign(const void *buf, size_t len, const struct tt_kh_key *key,
		     struct tt_kh_sign_req *req, char *why, size_t whylen)
{
	if (len < SIGN_HDR || len > sizeof(*req)) {
		snprintf(why, whylen, "request of %zu bytes", len);
		return -EINVAL;
	}
	memset(req, 0, sizeof(*req));
	memcpy(req, buf, len);
	if (req->len == 0 || req->len != len - SIGN_HDR) {
		snprintf(why, whylen, "length %u in a %zu-byte request",
			 req->len, len);
		return -EINVAL;
	}
	if (!tls13_scheme(req->algo, key)) {
		snprintf(why, whylen, "signature algorithm %u (%s) is no TLS 1.3 scheme for this key",
			 req->algo, gnutls_sign_get_name(req->algo) ?
			 gnutls_sign_get_name(req->algo) : "unknown");
		return -EINVAL;
	}
	if (req->kind == TT_KH_HASH && !eddsa(req->algo)) {
		gnutls_digest_algorithm_t h =
			gnutls_sign_get_hash_algorithm(req->algo);

		if (req->len != (uint32_t)gnutls_hash_get_len(h)) {
			snprintf(why, whylen, "a %u-byte digest for %s",
				 req->len, gnutls_sign_get_name(req->algo));
			return -EINVAL;
		}
		return 0;
	}
	if (req->kind == TT_KH_DATA && eddsa(req->algo)) {
		if (!cert_verify_content(req->data, req->len, key->server)) {
			snprintf(why, whylen, "data to sign is no TLS 1.3 %s CertificateVerify",
				 key->server ? "server" : "client");
			return -EINVAL;
		}
		return 0;
	}
	snprintf(why, whylen, "request kind %u for %s", req->kind,
		 gnutls_sign_get_name(req->algo));
	return -EINVAL;
}

/* ------------------------------------------------------------------ */
/* The holder process                                                 */
/* ------------------------------------------------------------------ */

struct held_key {
	uint32_t		id;
	gnutls_privkey_t	key;
	struct tt_kh_key	info;
	unsigned int		refs;	/* the parent's + one per channel */
};

struct channel {
	int		fd;
	uint32_t	ids[TT_KH_MAX_KEYS];
	unsigned int	nids;
	/* The kernel-named key this channel adopted (TT_KH_ADOPTED). */
	gnutls_privkey_t adopted;
	struct tt_kh_key adopted_info;
	bool		sealed;		/* its first message was read */
};

struct holder {
	struct held_key	*keys;
	unsigned int	nkeys;
	struct channel	*chans;
	unsigned int	nchans;
};

static struct held_key *find_key(struct holder *h, uint32_t id)
{
	for (unsigned int i = 0; i < h->nkeys; i++)
		if (h->keys[i].id == id && h->keys[i].key)
			return &h->keys[i];
	return NULL;
}

static void put_key(struct held_key *k)
{
	if (k && k->refs && --k->refs == 0) {
		gnutls_privkey_deinit(k->key);	/* GnuTLS zeroes the key */
		k->key = NULL;
	}
}

/* A private key in PEM or DER from @d (which it then wipes). */
static int import_key(gnutls_datum_t *d, gnutls_privkey_t *out, char *msg,
		      size_t len)
{
	gnutls_privkey_t k;
	int ret;

	ret = gnutls_privkey_init(&k);
	if (ret == 0) {
		ret = gnutls_privkey_import_x509_raw(k, d, GNUTLS_X509_FMT_PEM,
						     NULL, 0);
		if (ret < 0)
			ret = gnutls_privkey_import_x509_raw(k, d,
						GNUTLS_X509_FMT_DER, NULL, 0);
		if (ret < 0)
			gnutls_privkey_deinit(k);
	}
	explicit_bzero(d->data, d->size);
	if (ret < 0) {
		snprintf(msg, len, "%s", gnutls_strerror(ret));
		return -EINVAL;
	}
	*out = k;
	return 0;
}

static int read_key(const char *path, gnutls_privkey_t *out, char *msg,
		    size_t len)
{
	gnutls_datum_t d = { NULL, 0 };
	int ret;

	ret = gnutls_load_file(path, &d);
	if (ret < 0) {
		snprintf(msg, len, "%s", errno ? strerror(errno) :
			 gnutls_strerror(ret));
		return -EINVAL;
	}
	ret = import_key(&d, out, msg, len);
	gnutls_free(d.data);
	return ret;
}

/* Whether @k has the SHA-256 key id @keyid (@len bytes); its curve. */
static bool key_matches(gnutls_privkey_t k, const unsigned char *keyid,
			size_t keyid_len, int *curve)
{
	unsigned char id[64];
	size_t len = sizeof(id);
	gnutls_pubkey_t pub;
	bool ok = false;

	if (gnutls_pubkey_init(&pub) < 0)
		return false;
	if (gnutls_pubkey_import_privkey(pub, k, 0, 0) == 0 &&
	    gnutls_pubkey_get_key_id(pub, GNUTLS_KEYID_USE_SHA256, id,
				     &len) == 0) {
		ok = len == keyid_len && memcmp(id, keyid, len) == 0;
		*curve = pub_curve(pub);
	}
	gnutls_pubkey_deinit(pub);
	return ok;
}

static void holder_load(struct holder *h, int ctl, struct kh_ctl *c)
{
	struct kh_ctl_reply r = { 0 };
	struct held_key *nk;
	gnutls_privkey_t k;
	unsigned int bits;
	int curve = 0;

	c->path[sizeof(c->path) - 1] = '\0';
	if (read_key(c->path, &k, r.msg, sizeof(r.msg)) < 0) {
		r.status = -EINVAL;
	} else if (!key_matches(k, c->keyid, c->keyid_len, &curve)) {
		snprintf(r.msg, sizeof(r.msg),
			 "the private key does not belong to the certificate");
		r.status = -EINVAL;
		gnutls_privkey_deinit(k);
	} else {
		nk = realloc(h->keys, (h->nkeys + 1) * sizeof(*nk));
		if (!nk) {
			gnutls_privkey_deinit(k);
			r.status = -ENOMEM;
			snprintf(r.msg, sizeof(r.msg), "out of memory");
		} else {
			h->keys = nk;
			nk = &h->keys[h->nkeys++];
			nk->id = c->id;
			nk->key = k;
			nk->info.pk = gnutls_privkey_get_pk_algorithm(k, &bits);
			nk->info.curve = curve;
			nk->info.server = c->server != 0;
			nk->refs = 1;
		}
	}
	if (send(ctl, &r, sizeof(r), MSG_NOSIGNAL) < 0)
		_exit(0);
}

static void holder_channel(struct holder *h, const struct kh_ctl *c, int fd)
{
	struct channel *ch;

	ch = realloc(h->chans, (h->nchans + 1) * sizeof(*ch));
	if (!ch || c->nids > TT_KH_MAX_KEYS) {
		if (ch)
			h->chans = ch;
		close(fd);
		return;
	}
	h->chans = ch;
	ch = &h->chans[h->nchans++];
	ch->fd = fd;
	ch->nids = 0;
	ch->adopted = NULL;
	ch->sealed = false;
	for (unsigned int i = 0; i < c->nids; i++) {
		struct held_key *k = find_key(h, c->ids[i]);

		if (k) {
			k->refs++;
			ch->ids[ch->nids++] = k->id;
		}
	}
}

static void close_channel(struct holder *h, unsigned int i)
{
	struct channel *ch = &h->chans[i];

	for (unsigned int j = 0; j < ch->nids; j++)
		put_key(find_key(h, ch->ids[j]));
	if (ch->adopted)
		gnutls_privkey_deinit(ch->adopted);
	close(ch->fd);
	h->chans[i] = h->chans[--h->nchans];
}

/* Returns false when the control socket is gone: the daemon ended. */
static bool holder_ctl(struct holder *h, int ctl)
{
	char cbuf[CMSG_SPACE(sizeof(int) * 4)];
	struct kh_ctl c;
	struct iovec iov = { &c, sizeof(c) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int fd = -1;
	ssize_t n;

	n = recvmsg(ctl, &m, MSG_CMSG_CLOEXEC);
	if (n <= 0)
		return n < 0 && errno == EINTR;
	for (cm = CMSG_FIRSTHDR(&m); cm; cm = CMSG_NXTHDR(&m, cm)) {
		if (cm->cmsg_level != SOL_SOCKET || cm->cmsg_type != SCM_RIGHTS)
			continue;
		for (size_t i = 0; i < (cm->cmsg_len - CMSG_LEN(0)) / sizeof(int); i++) {
			int f;

			memcpy(&f, CMSG_DATA(cm) + i * sizeof(int), sizeof(f));
			if (fd < 0)
				fd = f;
			else
				close(f);
		}
	}
	if ((size_t)n != sizeof(c)) {
		if (fd >= 0)
			close(fd);
		return true;
	}
	switch (c.op) {
	case KH_LOAD:
		holder_load(h, ctl, &c);
		break;
	case KH_FORGET:
		put_key(find_key(h, c.id));
		break;
	case KH_CHANNEL:
		if (fd >= 0)
			holder_channel(h, &c, fd);
		fd = -1;
		break;
	}
	if (fd >= 0)
		close(fd);
	return true;
}

/* The holder's keyring, where a child links the key it hands over. */
static int32_t holder_ring;

/*
 * ADOPT: the key @a names was linked into our keyring by the child; read
 * it, unlink it whatever happens, check it against the certificate's key
 * id, and keep it for this channel. Returns the reply's status.
 */
static int holder_adopt(struct channel *ch, const struct kh_adopt_req *a,
			char *why, size_t whylen)
{
	gnutls_datum_t d = { NULL, 0 };
	gnutls_privkey_t k = NULL;
	void *buf = NULL;
	long n;
	int curve = 0;
	unsigned int bits;

	if (a->serial <= 0) {
		snprintf(why, whylen, "key serial %d", a->serial);
		return -EINVAL;
	}
	n = keyctl_read_alloc(a->serial, &buf);
	keyctl_unlink(a->serial, holder_ring);
	if (n <= 0) {
		snprintf(why, whylen, "cannot read key %d: %s", a->serial,
			 n < 0 ? strerror(errno) : "empty");
		free(buf);
		return -EACCES;
	}
	d.data = buf;
	d.size = (unsigned int)n;
	if (import_key(&d, &k, why, whylen) < 0) {
		free(buf);
		return -EINVAL;
	}
	free(buf);
	if (a->keyid_len > sizeof(a->keyid) ||
	    !key_matches(k, a->keyid, a->keyid_len, &curve)) {
		snprintf(why, whylen, "key %d does not belong to the certificate",
			 a->serial);
		gnutls_privkey_deinit(k);
		return -EINVAL;
	}
	ch->adopted = k;
	ch->adopted_info.pk = gnutls_privkey_get_pk_algorithm(k, &bits);
	ch->adopted_info.curve = curve;
	ch->adopted_info.server = a->server != 0;
	return 0;
}

static void holder_sign(struct holder *h, unsigned int i)
{
	struct channel *ch = &h->chans[i];
	struct tt_kh_sign_req req;
	struct kh_sign_reply r = { .status = -EPERM };
	unsigned char buf[sizeof(req) + 1] __attribute__((aligned(8)));
	struct held_key *k = NULL;
	const struct tt_kh_key *info = NULL;
	gnutls_privkey_t key = NULL;
	gnutls_datum_t d, sig = { NULL, 0 };
	uint32_t id;
	char why[160] = "not a key of this handshake";
	ssize_t n;
	int ret;

	n = recv(ch->fd, buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0 && (errno == EAGAIN || errno == EINTR))
		return;
	if (n <= 0) {
		close_channel(h, i);
		return;
	}
	if (!ch->sealed && (size_t)n == sizeof(struct kh_adopt_req)) {
		struct kh_adopt_req a;

		memcpy(&a, buf, sizeof(a));
		if (a.magic == KH_SEAL) {
			ch->sealed = true;
			return;
		}
	}
	if (!ch->sealed && (size_t)n == sizeof(struct kh_adopt_req) &&
	    memcmp(buf, &(uint32_t){ TT_KH_ADOPTED }, sizeof(uint32_t)) == 0) {
		struct kh_adopt_req a;
		struct kh_ctl_reply ar = { 0 };

		ch->sealed = true;
		memcpy(&a, buf, sizeof(a));
		ar.status = holder_adopt(ch, &a, ar.msg, sizeof(ar.msg));
		if (ar.status)
			tt_warn("key holder: refused a handshake child's key: %s",
				ar.msg);
		if (send(ch->fd, &ar, sizeof(ar), MSG_NOSIGNAL) < 0 ||
		    ar.status)
			close_channel(h, i);
		return;
	}
	if ((size_t)n == sizeof(struct kh_adopt_req) && !ch->adopted &&
	    (memcmp(buf, &(uint32_t){ TT_KH_ADOPTED }, sizeof(uint32_t)) == 0 ||
	     memcmp(buf, &(uint32_t){ KH_SEAL }, sizeof(uint32_t)) == 0))
		snprintf(why, sizeof(why), "a key handed over after the channel's first message");
	ch->sealed = true;
	if ((size_t)n >= sizeof(id)) {
		memcpy(&id, buf, sizeof(id));
		if (id == TT_KH_ADOPTED && ch->adopted) {
			info = &ch->adopted_info;
			key = ch->adopted;
		}
		for (unsigned int j = 0; j < ch->nids; j++)
			if (ch->ids[j] == id)
				k = find_key(h, id);
		if (k) {
			info = &k->info;
			key = k->key;
		}
	}
	if (key && tt_kh_check_sign(buf, (size_t)n, info, &req, why,
				    sizeof(why)) == 0) {
		d.data = req.data;
		d.size = req.len;
		ret = req.kind == TT_KH_HASH ?
		      gnutls_privkey_sign_hash2(key, req.algo, 0, &d, &sig) :
		      gnutls_privkey_sign_data2(key, req.algo, 0, &d, &sig);
		if (ret < 0 || sig.size > sizeof(r.sig)) {
			snprintf(why, sizeof(why), "%s", ret < 0 ?
				 gnutls_strerror(ret) : "signature too long");
			r.status = -EIO;
		} else {
			memcpy(r.sig, sig.data, sig.size);
			r.len = sig.size;
			r.status = 0;
		}
		gnutls_free(sig.data);
	}
	if (r.status)
		tt_warn("key holder: refused a handshake child's signature request: %s",
			why);
	(void)send(ch->fd, &r, REPLY_HDR + r.len, MSG_NOSIGNAL);
	/* One signature per handshake, granted or not. */
	close_channel(h, i);
}

/* Only what reading key files needs; nothing a signer could misuse. */
static void holder_harden(void)
{
	cap_t caps = cap_get_proc();
	cap_flag_value_t had = CAP_CLEAR;
	cap_value_t keep = CAP_DAC_READ_SEARCH;

	prctl(PR_SET_NAME, "tlstagd-keys");
	prctl(PR_SET_DUMPABLE, 0);
	if (caps) {
		cap_get_flag(caps, keep, CAP_PERMITTED, &had);
		for (int c = 0; c <= (int)cap_max_bits() - 1; c++)
			if (c != keep)
				(void)cap_drop_bound((cap_value_t)c);
		cap_clear(caps);
		if (had == CAP_SET) {
			cap_set_flag(caps, CAP_PERMITTED, 1, &keep, CAP_SET);
			cap_set_flag(caps, CAP_EFFECTIVE, 1, &keep, CAP_SET);
		}
		if (cap_set_proc(caps) < 0)
			tt_warn("key holder: cannot drop capabilities: %s",
				strerror(errno));
		cap_free(caps);
	}
	prctl(PR_SET_NO_NEW_PRIVS, 1, 0, 0, 0);
}

static void __attribute__((noreturn)) holder_main(int ctl)
{
	struct holder h = { 0 };
	struct pollfd *p = NULL;
	sigset_t all;

	sigfillset(&all);
	sigprocmask(SIG_UNBLOCK, &all, NULL);
	signal(SIGPIPE, SIG_IGN);
	signal(SIGHUP, SIG_IGN);
	signal(SIGINT, SIG_IGN);
	signal(SIGUSR1, SIG_IGN);
	signal(SIGTERM, SIG_DFL);
	if (ctl != 3) {
		if (dup2(ctl, 3) < 0)
			_exit(1);
		ctl = 3;
	}
	close_range(4, ~0U, 0);
	/*
	 * A keyring of its own, in a session keyring of its own: children
	 * (uid 0 too) may link a kernel-named key into it (write), which
	 * only the holder can then read. Its serial goes to the daemon.
	 */
	if (keyctl_join_session_keyring(NULL) >= 0)
		holder_ring = add_key("keyring", "tlstagd:keyholder", NULL, 0,
				      KEY_SPEC_SESSION_KEYRING);
	if (holder_ring > 0 &&
	    keyctl_setperm(holder_ring, KEY_POS_ALL | KEY_USR_VIEW |
			   KEY_USR_WRITE) < 0)
		holder_ring = 0;
	if (holder_ring < 0)
		holder_ring = 0;
	if (send(ctl, &holder_ring, sizeof(holder_ring), MSG_NOSIGNAL) < 0)
		_exit(1);
	holder_harden();
	tt_log_set_prefix("[keys] ");

	for (;;) {
		struct pollfd *np = realloc(p, (h.nchans + 1) * sizeof(*p));
		unsigned int n;

		if (!np)
			_exit(1);
		p = np;
		p[0].fd = ctl;
		p[0].events = POLLIN;
		for (unsigned int i = 0; i < h.nchans; i++) {
			p[i + 1].fd = h.chans[i].fd;
			p[i + 1].events = POLLIN;
		}
		n = h.nchans;
		if (poll(p, n + 1, -1) < 0) {
			if (errno == EINTR)
				continue;
			_exit(1);
		}
		/* Channels first, from the end: closing one moves the last. */
		for (unsigned int i = n; i-- > 0;)
			if (p[i + 1].revents)
				holder_sign(&h, i);
		if (p[0].revents && !holder_ctl(&h, ctl))
			_exit(0);
	}
}

/* ------------------------------------------------------------------ */
/* The daemon's side                                                  */
/* ------------------------------------------------------------------ */

int tt_kh_start(struct tt_kh **out, char *why, size_t whylen)
{
	struct tt_kh *kh = calloc(1, sizeof(*kh));
	int sv[2];
	pid_t pid;

	*out = NULL;
	if (!kh) {
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0) {
		snprintf(why, whylen, "socketpair: %s", strerror(errno));
		free(kh);
		return -errno;
	}
	fflush(stderr);
	pid = fork();
	if (pid < 0) {
		snprintf(why, whylen, "fork: %s", strerror(errno));
		close(sv[0]);
		close(sv[1]);
		free(kh);
		return -EAGAIN;
	}
	if (pid == 0) {
		close(sv[0]);
		holder_main(sv[1]);
	}
	close(sv[1]);
	kh->pid = pid;
	kh->owner = getpid();
	kh->ctl = sv[0];
	/* Its first word: the keyring children link adopted keys into. */
	if (recv(kh->ctl, &kh->ring, sizeof(kh->ring), 0) !=
	    (ssize_t)sizeof(kh->ring)) {
		snprintf(why, whylen, "the key holder did not start");
		tt_kh_stop(kh);
		return -EIO;
	}
	*out = kh;
	return 0;
}

void tt_kh_stop(struct tt_kh *kh)
{
	if (!kh)
		return;
	if (current == kh)
		current = NULL;
	close(kh->ctl);
	if (kh->owner == getpid()) {
		for (int i = 0; i < 100; i++) {
			if (waitpid(kh->pid, NULL, WNOHANG) != 0)
				goto done;
			usleep(10000);
		}
		kill(kh->pid, SIGKILL);
		waitpid(kh->pid, NULL, 0);
	}
done:
	free(kh);
}

/* What the external key knows: no key material, only where to ask. */
struct ext_key {
	struct tt_kh	*kh;
	uint32_t	id;
	struct tt_kh_key info;
	unsigned int	bits;
};

static int ext_sign(const struct ext_key *e, uint32_t kind,
		    gnutls_sign_algorithm_t algo, const gnutls_datum_t *data,
		    gnutls_datum_t *sig)
{
	struct tt_kh_sign_req req = { .key_id = e->id, .algo = algo,
				      .kind = kind, .len = data->size };
	struct kh_sign_reply r;
	ssize_t n;

	if (child_chan < 0 || data->size == 0 || data->size > sizeof(req.data))
		return GNUTLS_E_INVALID_REQUEST;
	memcpy(req.data, data->data, data->size);
	if (send(child_chan, &req, SIGN_HDR + data->size, MSG_NOSIGNAL) < 0)
		return GNUTLS_E_PK_SIGN_FAILED;
	do
		n = recv(child_chan, &r, sizeof(r), 0);
	while (n < 0 && errno == EINTR);
	/* One signature per handshake: the holder has closed its end. */
	close(child_chan);
	child_chan = -1;
	if (n < (ssize_t)REPLY_HDR || r.status != 0 || r.len == 0 ||
	    r.len != (size_t)n - REPLY_HDR)
		return GNUTLS_E_PK_SIGN_FAILED;
	sig->data = gnutls_malloc(r.len);
	if (!sig->data)
		return GNUTLS_E_MEMORY_ERROR;
	memcpy(sig->data, r.sig, r.len);
	sig->size = r.len;
	return 0;
}

static int ext_sign_hash(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
			 void *userdata, unsigned int flags,
			 const gnutls_datum_t *hash, gnutls_datum_t *sig)
{
	(void)key;
	(void)flags;
	return ext_sign(userdata, TT_KH_HASH, algo, hash, sig);
}

static int ext_sign_data(gnutls_privkey_t key, gnutls_sign_algorithm_t algo,
			 void *userdata, unsigned int flags,
			 const gnutls_datum_t *data, gnutls_datum_t *sig)
{
	(void)key;
	(void)flags;
	return ext_sign(userdata, TT_KH_DATA, algo, data, sig);
}

static int ext_info(gnutls_privkey_t key, unsigned int flags, void *userdata)
{
	const struct ext_key *e = userdata;

	(void)key;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO)
		return e->info.pk;
	if (flags & GNUTLS_PRIVKEY_INFO_PK_ALGO_BITS)
		return (int)e->bits;
	if (flags & GNUTLS_PRIVKEY_INFO_HAVE_SIGN_ALGO)
		return tls13_scheme(GNUTLS_FLAGS_TO_SIGN_ALGO(flags), &e->info);
	if (flags & GNUTLS_PRIVKEY_INFO_SIGN_ALGO)
		return 0;
	return -1;
}

static void forget(struct tt_kh *kh, uint32_t id)
{
	struct kh_ctl c = { .op = KH_FORGET, .id = id };

	if (kh && kh->owner == getpid() && kh->ctl >= 0)
		(void)send(kh->ctl, &c, sizeof(c), MSG_NOSIGNAL);
}

static void ext_deinit(gnutls_privkey_t key, void *userdata)
{
	struct ext_key *e = userdata;

	(void)key;
	forget(e->kh, e->id);
	free(e);
}

/*
 * What the external key of @crt's private key needs to know: its type,
 * curve and side in @info, its size in *@bits, its SHA-256 key id.
 */
static int crt_key_info(gnutls_x509_crt_t crt, bool server,
			struct tt_kh_key *info, unsigned int *bits,
			unsigned char *keyid, uint32_t *keyid_len, char *why,
			size_t whylen)
{
	size_t klen = 64;
	gnutls_pubkey_t pub;
	int pk, ret;

	*bits = 0;
	pk = gnutls_x509_crt_get_pk_algorithm(crt, bits);
	ret = gnutls_x509_crt_get_key_id(crt, GNUTLS_KEYID_USE_SHA256, keyid,
					 &klen);
	if (pk < 0 || ret < 0) {
		snprintf(why, whylen, "certificate key: %s",
			 gnutls_strerror(pk < 0 ? pk : ret));
		return -EINVAL;
	}
	*keyid_len = (uint32_t)klen;
	info->pk = pk;
	info->curve = 0;
	info->server = server;
	if (gnutls_pubkey_init(&pub) == 0) {
		if (gnutls_pubkey_import_x509(pub, crt, 0) == 0)
			info->curve = pub_curve(pub);
		gnutls_pubkey_deinit(pub);
	}
	return 0;
}

/* An external key that signs as key @id of the holder (@kh: FORGET it). */
static int make_ext_key(struct tt_kh *kh, uint32_t id,
			const struct tt_kh_key *info, unsigned int bits,
			gnutls_privkey_t *key, char *why, size_t whylen)
{
	struct ext_key *e = calloc(1, sizeof(*e));
	int ret;

	if (!e || gnutls_privkey_init(key) < 0) {
		free(e);
		*key = NULL;
		snprintf(why, whylen, "out of memory");
		return -ENOMEM;
	}
	e->kh = kh;
	e->id = id;
	e->info = *info;
	e->bits = bits;
	ret = gnutls_privkey_import_ext4(*key, e, ext_sign_data, ext_sign_hash,
					 NULL, ext_deinit, ext_info,
					 GNUTLS_PRIVKEY_IMPORT_AUTO_RELEASE);
	if (ret < 0) {
		gnutls_privkey_deinit(*key);
		*key = NULL;
		free(e);
		snprintf(why, whylen, "%s", gnutls_strerror(ret));
		return -EINVAL;
	}
	return 0;
}

int tt_kh_load(struct tt_kh *kh, const char *path, gnutls_x509_crt_t crt,
	       bool server, gnutls_privkey_t *key, uint32_t *id, char *why,
	       size_t whylen)
{
	struct kh_ctl c = { .op = KH_LOAD, .server = server };
	struct kh_ctl_reply r;
	struct tt_kh_key info;
	unsigned int bits;
	int ret;
	ssize_t n;

	*key = NULL;
	if (strlen(path) >= sizeof(c.path)) {
		snprintf(why, whylen, "path too long");
		return -ENAMETOOLONG;
	}
	ret = crt_key_info(crt, server, &info, &bits, c.keyid, &c.keyid_len,
			   why, whylen);
	if (ret < 0)
		return ret;
	c.id = ++kh->next_id;
	memcpy(c.path, path, strlen(path) + 1);
	if (send(kh->ctl, &c, sizeof(c), MSG_NOSIGNAL) < 0) {
		snprintf(why, whylen, "key holder: %s", strerror(errno));
		return -EPIPE;
	}
	do
		n = recv(kh->ctl, &r, sizeof(r), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(r)) {
		snprintf(why, whylen, "the key holder is gone");
		return -EPIPE;
	}
	if (r.status < 0) {
		r.msg[sizeof(r.msg) - 1] = '\0';
		snprintf(why, whylen, "%s", r.msg);
		return r.status;
	}
	ret = make_ext_key(kh, c.id, &info, bits, key, why, whylen);
	if (ret < 0) {
		forget(kh, c.id);
		return ret;
	}
	*id = c.id;
	return 0;
}

int tt_kh_channel(struct tt_kh *kh, const uint32_t *ids, unsigned int n)
{
	struct kh_ctl c = { .op = KH_CHANNEL, .nids = n };
	char cbuf[CMSG_SPACE(sizeof(int))];
	struct iovec iov = { &c, sizeof(c) };
	struct msghdr m = { .msg_iov = &iov, .msg_iovlen = 1,
			    .msg_control = cbuf,
			    .msg_controllen = sizeof(cbuf) };
	struct cmsghdr *cm;
	int sv[2], err;

	if (n > TT_KH_MAX_KEYS)
		return -EINVAL;
	if (n)
		memcpy(c.ids, ids, n * sizeof(*ids));
	if (socketpair(AF_UNIX, SOCK_SEQPACKET | SOCK_CLOEXEC, 0, sv) < 0)
		return -errno;
	memset(cbuf, 0, sizeof(cbuf));
	cm = CMSG_FIRSTHDR(&m);
	cm->cmsg_level = SOL_SOCKET;
	cm->cmsg_type = SCM_RIGHTS;
	cm->cmsg_len = CMSG_LEN(sizeof(int));
	memcpy(CMSG_DATA(cm), &sv[1], sizeof(int));
	err = sendmsg(kh->ctl, &m, MSG_NOSIGNAL) < 0 ? -errno : 0;
	close(sv[1]);
	if (err) {
		close(sv[0]);
		return err;
	}
	return sv[0];
}

static bool child_sealed;

bool tt_kh_attached(void)
{
	return child_chan >= 0 && current && current->ring > 0;
}

void tt_kh_seal(void)
{
	struct kh_adopt_req a = { .magic = KH_SEAL };

	if (child_chan >= 0 && !child_sealed)
		(void)send(child_chan, &a, sizeof(a), MSG_NOSIGNAL);
	child_sealed = true;
}

int tt_kh_take_key(int32_t serial, gnutls_x509_crt_t crt, bool server,
		   gnutls_privkey_t *key, char *why, size_t whylen)
{
	struct kh_adopt_req a = { .magic = TT_KH_ADOPTED, .serial = serial,
				  .server = server };
	struct kh_ctl_reply r;
	struct tt_kh_key info;
	unsigned int bits;
	int ret;
	ssize_t n;

	*key = NULL;
	if (!tt_kh_attached() || child_sealed) {
		snprintf(why, whylen, "no key holder to take the key");
		return -ENOKEY;
	}
	/* The channel's first message: after it, no key can be handed over. */
	child_sealed = true;
	ret = crt_key_info(crt, server, &info, &bits, a.keyid, &a.keyid_len,
			   why, whylen);
	if (ret < 0)
		return ret;
	/* Hand it over unread: the holder possesses what is in its ring. */
	if (keyctl_link(serial, current->ring) < 0) {
		ret = -errno;
		snprintf(why, whylen, "cannot hand key %d to the key holder: %s",
			 serial, strerror(errno));
		return ret;
	}
	if (send(child_chan, &a, sizeof(a), MSG_NOSIGNAL) < 0) {
		ret = -errno;
		keyctl_unlink(serial, current->ring);
		snprintf(why, whylen, "key holder: %s", strerror(errno));
		return ret;
	}
	do
		n = recv(child_chan, &r, sizeof(r), 0);
	while (n < 0 && errno == EINTR);
	if (n != (ssize_t)sizeof(r)) {
		snprintf(why, whylen, "the key holder did not answer");
		return -EPIPE;
	}
	if (r.status) {
		r.msg[sizeof(r.msg) - 1] = '\0';
		snprintf(why, whylen, "%s", r.msg);
		return r.status;
	}
	/* No FORGET for it: the holder drops it with the channel. */
	return make_ext_key(NULL, TT_KH_ADOPTED, &info, bits, key, why, whylen);
}

void tt_kh_attach(int fd)
{
	if (current && current->owner != getpid() && current->ctl >= 0) {
		close(current->ctl);
		current->ctl = -1;
	}
	child_chan = fd;
	child_sealed = false;
}
