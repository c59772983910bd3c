// SPDX-License-Identifier: GPL-2.0
/*
 * rpctls - RPC-with-TLS (RFC 9289) probes against an NFS server, for the
 * VM scenarios: a client that does what the kernel's does, then what it
 * never does.
 *
 *   rpctls --ca CA.pem --cert C.pem --key C.key HOST PORT
 *
 * 1. NFSv4 NULL with an AUTH_TLS credential on plain TCP: the server
 *    answers STARTTLS; a TLS 1.3 handshake with the client certificate.
 * 2. A second AUTH_TLS NULL, inside that TLS session.
 * 3. An AUTH_NONE NULL inside the session, to see that it still serves.
 *
 * Prints one line per step, "probe: STARTTLS", "tls: ok CIPHER",
 * "probe2: ...", "null: ...", where ... is "STARTTLS", "accepted",
 * "denied auth_error N" (N the auth_stat), "closed" or "no reply".
 * Exits 0 when step 1 worked (what the server did in 2 and 3 is for
 * the scenario to judge), 1 otherwise.
 */
#define _GNU_SOURCE
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <gnutls/gnutls.h>
#include <gnutls/x509.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <poll.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <unistd.h>

#define NFS_PROGRAM	100003
#define AUTH_NONE	0
#define AUTH_TLS	7
#define REPLY_WAIT_MS	5000

struct conn {
	int			fd;
	gnutls_session_t	tls;	/* NULL before STARTTLS */
};

static ssize_t conn_write(struct conn *c, const void *buf, size_t len)
{
	if (c->tls) {
		ssize_t n;

		do {
			n = gnutls_record_send(c->tls, buf, len);
		} while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
		return n < 0 ? -1 : n;
	}
	return write(c->fd, buf, len);
}

/* Reads up to @len bytes; 0 at the end of the stream, -2 on timeout. */
static ssize_t conn_read(struct conn *c, void *buf, size_t len)
{
	struct pollfd p = { .fd = c->fd, .events = POLLIN };

	if (!(c->tls && gnutls_record_check_pending(c->tls)) &&
	    poll(&p, 1, REPLY_WAIT_MS) == 0)
		return -2;
	if (c->tls) {
		ssize_t n;

		do {
			n = gnutls_record_recv(c->tls, buf, len);
		} while (n == GNUTLS_E_AGAIN || n == GNUTLS_E_INTERRUPTED);
		if (n == GNUTLS_E_PREMATURE_TERMINATION)
			return 0;
		return n < 0 ? -1 : n;
	}
	return read(c->fd, buf, len);
}

static int read_full(struct conn *c, unsigned char *buf, size_t len)
{
	size_t got = 0;

	while (got < len) {
		ssize_t n = conn_read(c, buf + got, len - got);

		if (n <= 0)
			return n == 0 ? 0 : (int)n;
		got += (size_t)n;
	}
	return 1;
}

static unsigned char *put32(unsigned char *p, uint32_t v)
{
	v = htonl(v);
	memcpy(p, &v, 4);
	return p + 4;
}

static uint32_t get32(const unsigned char *p)
{
	uint32_t v;

	memcpy(&v, p, 4);
	return ntohl(v);
}

/*
 * Sends NULL (procedure 0) of NFSv4 with credential @flavor, an empty
 * body, and an AUTH_NONE verifier; prints "@what: RESULT".
 */
static bool rpc_null(struct conn *c, uint32_t xid, uint32_t flavor, const char *what)
{
	unsigned char msg[4 + 40], reply[512], *p = msg + 4;
	uint32_t mark, len, vlen;
	int r;

	p = put32(p, xid);
	p = put32(p, 0);		/* CALL */
	p = put32(p, 2);		/* RPC version */
	p = put32(p, NFS_PROGRAM);
	p = put32(p, 4);
	p = put32(p, 0);		/* NULL */
	p = put32(p, flavor);
	p = put32(p, 0);		/* credential body */
	p = put32(p, AUTH_NONE);
	p = put32(p, 0);		/* verifier body */
	put32(msg, 0x80000000u | (uint32_t)(p - msg - 4));
	if (conn_write(c, msg, (size_t)(p - msg)) != p - msg) {
		printf("%s: closed (send)\n", what);
		return false;
	}
	r = read_full(c, reply, 4);
	if (r <= 0) {
		printf("%s: %s\n", what, r == -2 ? "no reply" : "closed");
		return false;
	}
	mark = get32(reply);
	len = mark & 0x7fffffffu;
	if (!(mark & 0x80000000u) || len < 12 || len > sizeof(reply)) {
		printf("%s: bad record (mark %#x)\n", what, mark);
		return false;
	}
	r = read_full(c, reply, len);
	if (r <= 0) {
		printf("%s: %s\n", what, r == -2 ? "no reply" : "closed");
		return false;
	}
	if (get32(reply) != xid || get32(reply + 4) != 1) {
		printf("%s: not our reply\n", what);
		return false;
	}
	if (get32(reply + 8) == 1) {	/* MSG_DENIED */
		if (len >= 20 && get32(reply + 12) == 1)
			printf("%s: denied auth_error %u\n", what, get32(reply + 16));
		else
			printf("%s: denied\n", what);
		return false;
	}
	/* MSG_ACCEPTED: verifier (flavor, length, body), accept_stat */
	if (len < 24) {
		printf("%s: short reply\n", what);
		return false;
	}
	vlen = get32(reply + 16);
	if (vlen > len - 24 || ((vlen + 3) & ~3u) > len - 24) {
		printf("%s: bad verifier\n", what);
		return false;
	}
	if (get32(reply + 12 + 8 + ((vlen + 3) & ~3u)) != 0) {
		printf("%s: accepted, accept_stat %u\n", what,
		       get32(reply + 12 + 8 + ((vlen + 3) & ~3u)));
		return false;
	}
	if (vlen == 8 && memcmp(reply + 20, "STARTTLS", 8) == 0) {
		printf("%s: STARTTLS\n", what);
		return true;
	}
	printf("%s: accepted\n", what);
	return true;
}

static int usage(void)
{
	fprintf(stderr, "usage: rpctls --ca CA.pem --cert C.pem --key C.key HOST PORT\n");
	return 2;
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ 0 }
	};
	const char *ca = NULL, *cert = NULL, *key = NULL;
	gnutls_certificate_credentials_t creds = NULL;
	struct sockaddr_in sin = { .sin_family = AF_INET };
	struct conn c = { .fd = -1 };
	int o, ret, one = 1, status = 1;
	char *desc;

	while ((o = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (o) {
		case 'a': ca = optarg; break;
		case 'c': cert = optarg; break;
		case 'k': key = optarg; break;
		default: return usage();
		}
	}
	if (!ca || !cert || !key || argc - optind != 2 ||
	    inet_pton(AF_INET, argv[optind], &sin.sin_addr) != 1)
		return usage();
	sin.sin_port = htons((uint16_t)atoi(argv[optind + 1]));

	c.fd = socket(AF_INET, SOCK_STREAM | SOCK_CLOEXEC, 0);
	if (c.fd < 0 || connect(c.fd, (struct sockaddr *)&sin, sizeof(sin)) < 0) {
		printf("connect: %s\n", strerror(errno));
		goto out;
	}
	setsockopt(c.fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (!rpc_null(&c, 1, AUTH_TLS, "probe"))
		goto out;

	if (gnutls_certificate_allocate_credentials(&creds) < 0 ||
	    gnutls_certificate_set_x509_trust_file(creds, ca, GNUTLS_X509_FMT_PEM) <= 0 ||
	    gnutls_certificate_set_x509_key_file(creds, cert, key, GNUTLS_X509_FMT_PEM) < 0) {
		printf("tls: cannot load %s, %s, %s\n", ca, cert, key);
		goto out;
	}
	if (gnutls_init(&c.tls, GNUTLS_CLIENT) < 0 ||
	    gnutls_priority_set_direct(c.tls, "NORMAL:-VERS-ALL:+VERS-TLS1.3", NULL) < 0 ||
	    gnutls_credentials_set(c.tls, GNUTLS_CRD_CERTIFICATE, creds) < 0) {
		printf("tls: setup failed\n");
		goto out;
	}
	gnutls_session_set_verify_cert(c.tls, argv[optind], 0);
	gnutls_transport_set_int(c.tls, c.fd);
	gnutls_handshake_set_timeout(c.tls, 20000);
	do {
		ret = gnutls_handshake(c.tls);
	} while (ret < 0 && !gnutls_error_is_fatal(ret));
	if (ret < 0) {
		printf("tls: %s\n", gnutls_strerror(ret));
		goto out;
	}
	desc = gnutls_session_get_desc(c.tls);
	printf("tls: ok %s\n", desc ? desc : "");
	gnutls_free(desc);
	status = 0;

	rpc_null(&c, 2, AUTH_TLS, "probe2");
	rpc_null(&c, 3, AUTH_NONE, "null");
out:
	if (c.tls) {
		gnutls_bye(c.tls, GNUTLS_SHUT_WR);
		gnutls_deinit(c.tls);
	}
	if (creds)
		gnutls_certificate_free_credentials(creds);
	if (c.fd >= 0)
		close(c.fd);
	fflush(stdout);
	return status;
}
