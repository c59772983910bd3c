// SPDX-License-Identifier: GPL-2.0-only
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <keyutils.h>

#include "config.h"
#include "keys.h"
#include "log.h"

static int ku_read(void *ctx, int32_t serial, unsigned char **data,
		   size_t *len)
{
	void *buf = NULL;
	long n;

	(void)ctx;
	n = keyctl_read_alloc(serial, &buf);
	if (n < 0)
		return -errno;
	*data = buf;
	*len = (size_t)n;
	return 0;
}

/* keyctl_describe gives "type;uid;gid;perm;description". */
static int ku_describe(void *ctx, int32_t serial, char **desc)
{
	char *raw = NULL, *p;
	int i;

	(void)ctx;
	if (keyctl_describe_alloc(serial, &raw) < 0)
		return -errno;
	p = raw;
	for (i = 0; i < 4 && p; i++) {
		p = strchr(p, ';');
		if (p)
			p++;
	}
	if (!p) {
		free(raw);
		return -EINVAL;
	}
	*desc = strdup(p);
	free(raw);
	return *desc ? 0 : -ENOMEM;
}

static int32_t ku_search(void *ctx, int32_t keyring, const char *type,
			 const char *desc)
{
	long n;

	(void)ctx;
	n = keyctl_search(keyring ? keyring : KEY_SPEC_SESSION_KEYRING, type,
			  desc, 0);
	return n < 0 ? -errno : (int32_t)n;
}

static int32_t ku_add_cert(void *ctx, int32_t keyring, const char *desc,
			   const unsigned char *der, size_t len)
{
	key_serial_t k;

	(void)ctx;
	k = add_key("asymmetric", desc, der, len,
		    keyring ? keyring : KEY_SPEC_SESSION_KEYRING);
	/*
	 * A key type the kernel's X.509 parser does not know (Ed25519 in
	 * 6.12) or a certificate it cannot parse: the peer was verified
	 * here all the same, so it gets its identity as a "user" key
	 * holding the certificate. The consumer needs a serial, not a key
	 * the kernel can verify with.
	 */
	if (k < 0 && (errno == ENOPKG || errno == EBADMSG))
		k = add_key("user", desc, der, len,
			    keyring ? keyring : KEY_SPEC_SESSION_KEYRING);
	return k < 0 ? -errno : k;
}

static int ku_set_timeout(void *ctx, int32_t serial, unsigned int seconds)
{
	(void)ctx;
	return keyctl_set_timeout(serial, seconds) < 0 ? -errno : 0;
}

const struct tt_keyops tt_keyutils_ops = {
	.read = ku_read,
	.describe = ku_describe,
	.search = ku_search,
	.add_cert = ku_add_cert,
	.set_timeout = ku_set_timeout,
};

static int32_t peer_keyring;

int32_t tt_keys_open_peer_keyring(void)
{
	key_serial_t k;

	k = add_key("keyring", TT_PEER_KEYRING_DESC, NULL, 0,
		    KEY_SPEC_SESSION_KEYRING);
	if (k < 0)
		return -errno;
	peer_keyring = k;
	return k;
}

int32_t tt_keys_peer_keyring(void)
{
	return peer_keyring;
}

bool tt_keys_is_psk(int32_t serial)
{
	static const char want[] = "psk;";
	char *raw = NULL;
	bool ok;

	if (serial <= 0 || keyctl_describe_alloc(serial, &raw) < 0)
		return false;
	ok = strncmp(raw, want, sizeof(want) - 1) == 0;
	free(raw);
	return ok;
}

/*
 * @k, when it is a keyring that root (or this process's user) owns: a
 * keyring another user made, with the name configured, would otherwise
 * hand that user's PSKs to the server. Names starting with '.' are the
 * kernel's own.
 */
static int32_t trusted_keyring(int32_t k)
{
	char *raw = NULL, *uid, *end;
	unsigned long owner;
	bool ring;

	if (keyctl_describe_alloc(k, &raw) < 0)
		return -errno;
	ring = strncmp(raw, "keyring;", 8) == 0;
	uid = raw + (ring ? 8 : 0);
	owner = strtoul(uid, &end, 10);
	if (!ring || end == uid || *end != ';') {
		free(raw);
		return -ENOTDIR;
	}
	free(raw);
	if (owner != 0 && owner != (unsigned long)geteuid())
		return -EPERM;
	return k;
}

int32_t tt_keys_find_keyring(const char *name)
{
	char *end;
	long n;
	int32_t k;

	if (!name || !*name)
		return -EINVAL;
	errno = 0;
	n = strtol(name, &end, 10);
	if (!*end && !errno) {
		if (n <= 0 || n > INT32_MAX)
			return -EINVAL;
		return trusted_keyring((int32_t)n);
	}
	errno = 0;
	k = find_key_by_type_and_desc("keyring", name, 0);
	if (k <= 0)
		return -(errno ? errno : ENOKEY);
	return trusted_keyring(k);
}

unsigned int tt_keys_psk_keyrings(char *const *names, unsigned int n,
				  int32_t *out, unsigned int max)
{
	static const char *const always[] = { ".nvme", ".nfs", ".nfsd" };
	unsigned int got = 0;

	for (unsigned int i = 0; i < 3 + n && got < max; i++) {
		int32_t k = tt_keys_find_keyring(i < 3 ? always[i] : names[i - 3]);
		bool dup = false;

		for (unsigned int j = 0; j < got; j++)
			dup |= out[j] == k;
		if (k > 0 && !dup)
			out[got++] = k;
	}
	return got;
}

void tt_keys_link_psk_keyrings(char *const *names, unsigned int n)
{
	int32_t rings[TT_MAX_KEYRINGS + 3];
	unsigned int got;

	for (unsigned int i = 0; i < n; i++)
		if (tt_keys_find_keyring(names[i]) < 0)
			tt_warn("keyrings: no keyring \"%s\" (yet): not searched for PSKs",
				names[i]);
	got = tt_keys_psk_keyrings(names, n, rings, TT_MAX_KEYRINGS + 3);
	for (unsigned int i = 0; i < got; i++)
		if (keyctl_link(rings[i], KEY_SPEC_SESSION_KEYRING) < 0)
			tt_warn("cannot link keyring %d into the session keyring: %s",
				rings[i], strerror(errno));
}
