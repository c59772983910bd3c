/* SPDX-License-Identifier: GPL-2.0-only */
/*
 * Does a process's memory hold a private key? The secret is the key's
 * private value, big-endian (as in DER, PEM and the file) and
 * little-endian (as GMP/nettle limbs hold it), and a run of the PEM text.
 *
 * The test process itself must not hold the secret, or it would find
 * itself: a throw-away child reads the key and hands back only the secret
 * XORed with a random mask, and the scan compares through the mask.
 * Mappings over 64 MiB are address space reserved, not data (ASan's
 * shadow).
 */
#ifndef TT_MEMSCAN_H
#define TT_MEMSCAN_H

#include <errno.h>
#include <fcntl.h>
#include <signal.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <sys/wait.h>
#include <unistd.h>

#include <gnutls/gnutls.h>
#include <gnutls/x509.h>

#define MS_NEEDLES	3
#define MS_MAX		64

struct ms_secret {
	unsigned char	mask[MS_MAX];
	unsigned char	x[MS_NEEDLES][MS_MAX];	/* needle ^ mask */
	size_t		len[MS_NEEDLES];
};

/* In the throw-away child: the needles of an EC or RSA key, masked. */
static int ms_needles(const char *keyfile, struct ms_secret *s)
{
	gnutls_datum_t pem = { 0 }, k = { 0 }, a = { 0 }, b = { 0 };
	gnutls_x509_privkey_t key;
	gnutls_ecc_curve_t curve;
	const char *body;
	unsigned char *v;
	size_t n;

	if (gnutls_load_file(keyfile, &pem) < 0 ||
	    gnutls_x509_privkey_init(&key) < 0 ||
	    gnutls_x509_privkey_import(key, &pem, GNUTLS_X509_FMT_PEM) < 0)
		return -1;
	if (gnutls_x509_privkey_export_ecc_raw(key, &curve, &a, &b, &k) < 0 &&
	    gnutls_x509_privkey_export_rsa_raw(key, &a, &b, &k, &(gnutls_datum_t){ 0 },
					       &(gnutls_datum_t){ 0 },
					       &(gnutls_datum_t){ 0 }) < 0)
		return -1;
	/*
	 * 32 bytes identify it; each needle starts at a non-zero byte, so
	 * that the scan skips through zeroed memory quickly.
	 */
	v = k.data;
	n = k.size;
	while (n > 1 && v[0] == 0) {
		v++;
		n--;
	}
	for (size_t i = 0; i < n && i < 32; i++)
		s->x[0][i] = v[i] ^ s->mask[i];
	s->len[0] = n < 32 ? n : 32;
	while (n > 1 && v[n - 1] == 0)
		n--;		/* little-endian: from the lowest non-zero byte */
	for (size_t i = 0; i < n && i < 32; i++)
		s->x[1][i] = v[n - 1 - i] ^ s->mask[i];
	s->len[1] = n < 32 ? n : 32;
	/*
	 * The second line of the PEM body (after certtool's text header):
	 * 64 characters of base64.
	 */
	body = strstr((const char *)pem.data, "-----BEGIN");
	body = body ? strchr(body, '\n') : NULL;
	body = body ? strchr(body + 1, '\n') : NULL;
	if (!body || strlen(body + 1) < 48)
		return -1;
	for (size_t i = 0; i < 48; i++)
		s->x[2][i] = (unsigned char)body[1 + i] ^ s->mask[i];
	s->len[2] = 48;
	return 0;
}

static int ms_load(const char *keyfile, struct ms_secret *s)
{
	int p[2], st;
	pid_t pid;

	memset(s, 0, sizeof(*s));
	if (getrandom(s->mask, sizeof(s->mask), 0) != sizeof(s->mask) ||
	    pipe(p) < 0)
		return -1;
	pid = fork();
	if (pid == 0) {
		close(p[0]);
		if (ms_needles(keyfile, s) < 0 ||
		    write(p[1], s, sizeof(*s)) != (ssize_t)sizeof(*s))
			_exit(1);
		_exit(0);
	}
	close(p[1]);
	st = read(p[0], s, sizeof(*s)) == (ssize_t)sizeof(*s) ? 0 : -1;
	close(p[0]);
	waitpid(pid, NULL, 0);
	return st;
}

static bool ms_match(const unsigned char *buf, size_t n,
		     const struct ms_secret *s, int which)
{
	size_t len = s->len[which];
	unsigned char first = s->x[which][0] ^ s->mask[0];
	const unsigned char *p = buf, *end = buf + n;

	while (len && (size_t)(end - p) >= len &&
	       (p = memchr(p, first, (size_t)(end - p) - len + 1))) {
		size_t j = 1;

		while (j < len && (p[j] ^ s->mask[j]) == s->x[which][j])
			j++;
		if (j == len)
			return true;
		p++;
	}
	return false;
}

/* Bit i set: needle i found in @pid's readable memory; -1: cannot look. */
static int ms_scan(pid_t pid, const struct ms_secret *s)
{
	char path[64], line[512];
	static unsigned char buf[1 << 20];
	int found = 0, mem;
	FILE *maps;

	snprintf(path, sizeof(path), "/proc/%d/maps", (int)pid);
	maps = fopen(path, "r");
	snprintf(path, sizeof(path), "/proc/%d/mem", (int)pid);
	mem = open(path, O_RDONLY | O_CLOEXEC);
	if (!maps || mem < 0) {
		if (maps)
			fclose(maps);
		if (mem >= 0)
			close(mem);
		return -1;
	}
	while (fgets(line, sizeof(line), maps)) {
		unsigned long lo, hi;
		char perm[5];

		if (sscanf(line, "%lx-%lx %4s", &lo, &hi, perm) != 3 ||
		    perm[0] != 'r' || hi - lo > (64UL << 20) ||
		    strstr(line, "[vvar]") ||
		    strstr(line, "[vsyscall]"))
			continue;
		for (unsigned long a = lo; a < hi;) {
			size_t want = hi - a < sizeof(buf) ? hi - a : sizeof(buf);
			ssize_t got = pread(mem, buf, want, (off_t)a);

			if (got <= 0) {
				/* unreadable memory: not "clean" */
				if (got < 0 && errno != EIO)
					found = -1;
				break;
			}
			for (int w = 0; w < MS_NEEDLES; w++)
				if (ms_match(buf, (size_t)got, s, w))
					found |= 1 << w;
			/* overlap, so a needle across chunks is seen */
			a += (unsigned long)got > MS_MAX ?
			     (unsigned long)got - MS_MAX : (unsigned long)got;
			if ((size_t)got < want)
				break;
		}
	}
	fclose(maps);
	close(mem);
	/* A process that went away while we looked was not looked at. */
	if (kill(pid, 0) < 0)
		return -1;
	return found;
}

#endif
