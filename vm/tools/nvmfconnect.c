// SPDX-License-Identifier: GPL-2.0
/*
 * nvmfconnect - create an NVMe over Fabrics controller through the
 * kernel's /dev/nvme-fabrics, with options nvme-cli 2.3 (Debian 12)
 * cannot pass: "tls", "keyring=", "tls_key=".
 *
 *   nvmfconnect OPTIONS
 *
 * OPTIONS is the kernel's comma-separated option string, e.g.
 * "transport=tcp,traddr=127.0.0.1,trsvcid=4420,nqn=SUBNQN,hostnqn=HOSTNQN,tls".
 * On success prints the kernel's answer ("instance=N,cntlid=M") and exits 0.
 * On failure prints "error: ENAME (message)" and exits 1: the errno is the
 * one the kernel returned from the write, e.g. EKEYREJECTED when the
 * handshake agent reported that the target did not know the PSK identity.
 * Both go to standard output: the scenarios compare that one line.
 */
#define _GNU_SOURCE
#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static int fail(const char *what, int err)
{
	const char *name = strerrorname_np(err);

	printf("error: %s (%s: %s)\n", name ? name : "?", what, strerror(err));
	return 1;
}

int main(int argc, char **argv)
{
	char answer[256];
	ssize_t n;
	size_t len;
	int fd;

	if (argc != 2 || argv[1][0] == '\0') {
		fprintf(stderr, "usage: nvmfconnect OPTIONS\n");
		return 2;
	}
	fd = open("/dev/nvme-fabrics", O_RDWR | O_CLOEXEC);
	if (fd < 0)
		return fail("open /dev/nvme-fabrics", errno);
	/* The kernel parses one write: the whole string at once. */
	len = strlen(argv[1]);
	n = write(fd, argv[1], len);
	if (n < 0) {
		int err = errno;

		close(fd);
		return fail("connect", err);
	}
	if ((size_t)n != len) {
		close(fd);
		return fail("connect: short write", EIO);
	}
	n = read(fd, answer, sizeof(answer) - 1);
	if (n < 0) {
		int err = errno;

		close(fd);
		return fail("connected, but cannot read which controller", err);
	}
	close(fd);
	answer[n] = '\0';
	answer[strcspn(answer, "\n")] = '\0';
	printf("%s\n", answer);
	return 0;
}
