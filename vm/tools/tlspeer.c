// SPDX-License-Identifier: GPL-2.0-only
/*
 * tlspeer: the userspace end of VM scenarios and benchmarks, with GnuTLS.
 *
 *   tlspeer echo [OPTS] HOST PORT
 *	One TLS 1.3 session: handshake with the cipher --priority forces,
 *	send --bytes bytes, read them back and compare; with --key-update,
 *	then send a KeyUpdate (asking the peer to update too) and check the
 *	peer ends the session without another byte of data. Prints one
 *	"key: value" line per fact; exit 0 when all held.
 *   tlspeer rate [OPTS] HOST PORT
 *	--parallel threads, each doing --count sessions: connect, handshake,
 *	one byte echoed (so the server has finished its side, kTLS and all,
 *	before the client leaves), close_notify, close; prints handshakes
 *	per second.
 *   tlspeer serve [OPTS] PORT
 *	The GnuTLS-only limit for "rate": accept on 127.0.0.1:PORT, a thread
 *	per connection doing the server's handshake with --cert/--key
 *	(asking for a client certificate verified against --ca), then
 *	echoing until the client ends. Runs until killed.
 *
 * OPTS: --ca FILE --cert FILE --key FILE --name NAME (the server name to
 * verify) --priority STRING --bytes N --key-update --exec CMD (run after
 * the echo, while the session is up) --parallel N --count N.
 */
#include <arpa/inet.h>
#include <errno.h>
#include <getopt.h>
#include <netinet/in.h>
#include <netinet/tcp.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <time.h>
#include <unistd.h>

#include <gnutls/gnutls.h>

#define DEFAULT_PRIORITY "NORMAL:-VERS-ALL:+VERS-TLS1.3"

static struct {
	const char	*ca, *cert, *key, *name, *priority, *exec;
	size_t		bytes;
	int		key_update, parallel, count;
	const char	*host;
	int		port;
} o = { .priority = DEFAULT_PRIORITY, .bytes = 65536, .parallel = 8,
	.count = 50 };

static gnutls_certificate_credentials_t creds;

static void die(const char *what, int err)
{
	fprintf(stderr, "tlspeer: %s: %s\n", what,
		err < 0 ? gnutls_strerror(err) : strerror(err));
	exit(1);
}

static int tcp_connect(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)o.port) };
	int fd, one = 1;

	if (inet_pton(AF_INET, o.host, &a.sin_addr) != 1)
		die("address", EINVAL);
	fd = socket(AF_INET, SOCK_STREAM, 0);
	if (fd < 0)
		die("socket", errno);
	setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
	if (connect(fd, (struct sockaddr *)&a, sizeof(a)) < 0) {
		close(fd);
		return -1;
	}
	return fd;
}

/* A client session on @fd, handshaken; NULL (and a message) on failure. */
static gnutls_session_t client(int fd, int quiet)
{
	gnutls_session_t s;
	const char *err;
	int ret;

	if (gnutls_init(&s, GNUTLS_CLIENT) < 0)
		die("gnutls_init", ENOMEM);
	ret = gnutls_priority_set_direct(s, o.priority, &err);
	if (ret < 0)
		die(o.priority, ret);
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, creds);
	if (o.name) {
		gnutls_server_name_set(s, GNUTLS_NAME_DNS, o.name,
				       strlen(o.name));
		gnutls_session_set_verify_cert(s, o.name, 0);
	}
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, 60000);
	do {
		ret = gnutls_handshake(s);
	} while (ret < 0 && !gnutls_error_is_fatal(ret));
	if (ret < 0) {
		if (!quiet)
			printf("handshake: failed: %s\n", gnutls_strerror(ret));
		gnutls_deinit(s);
		return NULL;
	}
	return s;
}

static int send_all(gnutls_session_t s, const unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = gnutls_record_send(s, p, n);

		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r < 0)
			return (int)r;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

/* Reads exactly @n bytes; 0, or the GnuTLS error, or 1 at a clean end. */
static int recv_all(gnutls_session_t s, unsigned char *p, size_t n)
{
	while (n) {
		ssize_t r = gnutls_record_recv(s, p, n);

		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r == 0)
			return 1;
		if (r < 0)
			return (int)r;
		p += r;
		n -= (size_t)r;
	}
	return 0;
}

static int do_echo(void)
{
	unsigned char *out = malloc(o.bytes + 1), *in = malloc(o.bytes + 1);
	gnutls_session_t s;
	int fd, ret, bad = 0;
	ssize_t r;
	char *desc;

	if (!out || !in)
		die("malloc", ENOMEM);
	for (size_t i = 0; i < o.bytes; i++)
		out[i] = (unsigned char)(i * 131 + i / 251);
	fd = tcp_connect();
	if (fd < 0)
		die("connect", errno);
	s = client(fd, 0);
	if (!s)
		return 1;
	desc = gnutls_session_get_desc(s);
	printf("session: %s\n", desc);
	gnutls_free(desc);
	printf("cipher: %s\n", gnutls_cipher_get_name(gnutls_cipher_get(s)));

	/* In steps, so that neither side's buffers fill up waiting. */
	ret = 0;
	for (size_t off = 0; ret == 0 && off < o.bytes; off += 16384) {
		size_t n = o.bytes - off < 16384 ? o.bytes - off : 16384;

		ret = send_all(s, out + off, n);
		if (ret == 0)
			ret = recv_all(s, in + off, n);
	}
	if (ret == 0 && memcmp(in, out, o.bytes) == 0) {
		printf("echo: %zu bytes both ways, identical\n", o.bytes);
	} else {
		printf("echo: failed: %s\n", ret < 0 ? gnutls_strerror(ret) :
		       ret ? "the peer ended the session" : "bytes differ");
		bad = 1;
	}
	fflush(stdout);
	if (o.exec && system(o.exec) != 0)
		bad = 1;

	if (!bad && o.key_update) {
		ret = gnutls_session_key_update(s, GNUTLS_KU_PEER);
		if (ret < 0) {
			printf("key-update: cannot send: %s\n",
			       gnutls_strerror(ret));
			bad = 1;
		} else {
			/*
			 * The peer cannot take new keys: it must end the
			 * session. Whatever it does, no data may arrive.
			 */
			send_all(s, out, o.bytes < 16 ? o.bytes : 16);
			r = gnutls_record_recv(s, in, o.bytes);
			if (r == 0) {
				printf("key-update: the peer ended the session, no data after it (close_notify)\n");
			} else {
				printf("key-update: unexpected: %s\n",
				       r > 0 ? "application data" :
				       gnutls_strerror((int)r));
				bad = 1;
			}
		}
	} else if (!bad) {
		gnutls_bye(s, GNUTLS_SHUT_WR);
	}
	gnutls_deinit(s);
	close(fd);
	free(in);
	free(out);
	return bad;
}

static void *rate_thread(void *arg)
{
	long *failed = arg;

	for (int i = 0; i < o.count; i++) {
		gnutls_session_t s;
		int fd = tcp_connect();

		if (fd < 0) {
			(*failed)++;
			continue;
		}
		s = client(fd, 1);
		if (s) {
			unsigned char b = 'x';

			if (send_all(s, &b, 1) < 0 || recv_all(s, &b, 1) != 0 ||
			    b != 'x')
				(*failed)++;
			gnutls_bye(s, GNUTLS_SHUT_WR);
			gnutls_deinit(s);
		} else {
			(*failed)++;
		}
		close(fd);
	}
	return NULL;
}

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec / 1e9;
}

static int do_rate(void)
{
	pthread_t t[64];
	long failed[64] = { 0 }, nfail = 0;
	double t0, secs;
	int n = o.parallel;

	if (n < 1 || n > 64)
		die("--parallel", EINVAL);
	t0 = now();
	for (int i = 0; i < n; i++)
		if (pthread_create(&t[i], NULL, rate_thread, &failed[i]) != 0)
			die("pthread_create", EAGAIN);
	for (int i = 0; i < n; i++) {
		pthread_join(t[i], NULL);
		nfail += failed[i];
	}
	secs = now() - t0;
	printf("handshakes: %d in %.3f s, %ld failed: %.1f/s\n", n * o.count,
	       secs, nfail, (n * o.count - nfail) / secs);
	return nfail != 0;
}

static void *serve_one(void *arg)
{
	int fd = (int)(long)arg, ret;
	gnutls_session_t s;
	const char *err;

	if (gnutls_init(&s, GNUTLS_SERVER) < 0)
		goto out;
	if (gnutls_priority_set_direct(s, o.priority, &err) < 0)
		goto deinit;
	gnutls_credentials_set(s, GNUTLS_CRD_CERTIFICATE, creds);
	gnutls_certificate_server_set_request(s, o.ca ? GNUTLS_CERT_REQUIRE :
						       GNUTLS_CERT_IGNORE);
	/* and verify the chain during the handshake, as tlstagd does */
	if (o.ca)
		gnutls_session_set_verify_cert(s, NULL, 0);
	gnutls_transport_set_int(s, fd);
	gnutls_handshake_set_timeout(s, 60000);
	do {
		ret = gnutls_handshake(s);
	} while (ret < 0 && !gnutls_error_is_fatal(ret));
	while (ret == 0) {
		unsigned char buf[4096];
		ssize_t r = gnutls_record_recv(s, buf, sizeof(buf));

		if (r == GNUTLS_E_AGAIN || r == GNUTLS_E_INTERRUPTED)
			continue;
		if (r <= 0 || send_all(s, buf, (size_t)r) < 0)
			break;
	}
	if (ret == 0)
		gnutls_bye(s, GNUTLS_SHUT_WR);
deinit:
	gnutls_deinit(s);
out:
	close(fd);
	return NULL;
}

static int __attribute__((noreturn)) do_serve(void)
{
	struct sockaddr_in a = { .sin_family = AF_INET,
				 .sin_port = htons((uint16_t)o.port),
				 .sin_addr.s_addr = htonl(INADDR_LOOPBACK) };
	int l = socket(AF_INET, SOCK_STREAM, 0), one = 1;

	setsockopt(l, SOL_SOCKET, SO_REUSEADDR, &one, sizeof(one));
	if (bind(l, (struct sockaddr *)&a, sizeof(a)) < 0 || listen(l, 128) < 0)
		die("listen", errno);
	printf("serving on 127.0.0.1:%d\n", o.port);
	fflush(stdout);
	for (;;) {
		int fd = accept(l, NULL, NULL);
		pthread_t t;

		if (fd < 0)
			continue;
		setsockopt(fd, IPPROTO_TCP, TCP_NODELAY, &one, sizeof(one));
		if (pthread_create(&t, NULL, serve_one, (void *)(long)fd) != 0)
			close(fd);
		else
			pthread_detach(t);
	}
}

int main(int argc, char **argv)
{
	static const struct option opts[] = {
		{ "ca", required_argument, NULL, 'a' },
		{ "cert", required_argument, NULL, 'c' },
		{ "key", required_argument, NULL, 'k' },
		{ "name", required_argument, NULL, 'n' },
		{ "priority", required_argument, NULL, 'p' },
		{ "bytes", required_argument, NULL, 'b' },
		{ "key-update", no_argument, NULL, 'u' },
		{ "exec", required_argument, NULL, 'e' },
		{ "parallel", required_argument, NULL, 'j' },
		{ "count", required_argument, NULL, 'N' },
		{ NULL, 0, NULL, 0 },
	};
	const char *mode;
	int c, ret;

	while ((c = getopt_long(argc, argv, "", opts, NULL)) != -1) {
		switch (c) {
		case 'a': o.ca = optarg; break;
		case 'c': o.cert = optarg; break;
		case 'k': o.key = optarg; break;
		case 'n': o.name = optarg; break;
		case 'p': o.priority = optarg; break;
		case 'b': o.bytes = strtoul(optarg, NULL, 10); break;
		case 'u': o.key_update = 1; break;
		case 'e': o.exec = optarg; break;
		case 'j': o.parallel = atoi(optarg); break;
		case 'N': o.count = atoi(optarg); break;
		default: return 2;
		}
	}
	if (optind >= argc)
		goto usage;
	mode = argv[optind++];
	if (strcmp(mode, "serve") == 0 && optind + 1 == argc) {
		o.port = atoi(argv[optind]);
	} else if (optind + 2 == argc) {
		o.host = argv[optind];
		o.port = atoi(argv[optind + 1]);
	} else {
		goto usage;
	}
	if (gnutls_global_init() < 0 ||
	    gnutls_certificate_allocate_credentials(&creds) < 0)
		die("gnutls", ENOMEM);
	if (o.ca && (ret = gnutls_certificate_set_x509_trust_file(creds, o.ca,
					GNUTLS_X509_FMT_PEM)) <= 0)
		die(o.ca, ret ? ret : ENOENT);
	if (o.cert && (ret = gnutls_certificate_set_x509_key_file(creds,
					o.cert, o.key, GNUTLS_X509_FMT_PEM)) < 0)
		die(o.cert, ret);
	if (strcmp(mode, "echo") == 0)
		ret = do_echo();
	else if (strcmp(mode, "rate") == 0)
		ret = do_rate();
	else if (strcmp(mode, "serve") == 0)
		ret = do_serve();
	else
		goto usage;
	gnutls_certificate_free_credentials(creds);
	gnutls_global_deinit();
	return ret;
usage:
	fprintf(stderr, "usage: tlspeer echo|rate [OPTS] HOST PORT | tlspeer serve [OPTS] PORT\n");
	return 2;
}
