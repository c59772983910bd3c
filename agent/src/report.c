// SPDX-License-Identifier: GPL-2.0-only
/*
 * The RESULT message on the report channel, in host byte order (both ends
 * are the same binary on the same machine):
 *
 *   u32 kind (TT_REP_RESULT)   u32 status      u32 remote_auth
 *   u32 flags                  u32 ntags
 *   u16 peer_len, peer bytes   u16 reason_len, reason bytes
 *   u32 der_len, der bytes     ntags x (u16 len, bytes)
 *
 * No string carries a NUL; the message ends exactly after the last tag.
 */
#include <errno.h>
#include <stdarg.h>
#include <stdio.h>
#include <string.h>

#include "hs_uapi.h"
#include "report.h"

#define FLAG_REMOTE_AUTH	0x1u
#define FLAG_KTLS		0x2u
#define FLAGS_KNOWN		(FLAG_REMOTE_AUTH | FLAG_KTLS)

struct wbuf {
	unsigned char	*p;
	size_t		len, off;
	bool		over;
};

static void put(struct wbuf *w, const void *data, size_t n)
{
	if (w->over || n > w->len - w->off) {
		w->over = true;
		return;
	}
	memcpy(w->p + w->off, data, n);
	w->off += n;
}

static void put_u32(struct wbuf *w, uint32_t v)
{
	put(w, &v, sizeof(v));
}

static void put_str(struct wbuf *w, const char *s, size_t max)
{
	size_t n = s ? strnlen(s, max) : 0;
	uint16_t l = (uint16_t)n;

	put(w, &l, sizeof(l));
	if (n)
		put(w, s, n);
}

size_t tt_report_encode(void *buf, size_t len,
			const struct tt_report_result *r)
{
	struct wbuf w = { .p = buf, .len = len };
	uint32_t flags = (r->has_remote_auth ? FLAG_REMOTE_AUTH : 0) |
			 (r->ktls ? FLAG_KTLS : 0);

	if (r->ntags > TT_REPORT_MAX_TAGS)
		return 0;
	put_u32(&w, TT_REP_RESULT);
	put_u32(&w, r->status);
	put_u32(&w, r->remote_auth);
	put_u32(&w, flags);
	put_u32(&w, r->ntags);
	put_str(&w, r->peer, TT_REPORT_TEXT_MAX);
	put_str(&w, r->reason, TT_REPORT_TEXT_MAX);
	if (r->peer_der_len > TT_REPORT_DER_MAX ||
	    (r->peer_der_len && !r->peer_der))
		return 0;
	put_u32(&w, (uint32_t)r->peer_der_len);
	if (r->peer_der_len)
		put(&w, r->peer_der, r->peer_der_len);
	for (unsigned int i = 0; i < r->ntags; i++) {
		size_t n = r->tags[i] ? strlen(r->tags[i]) : 0;

		if (n == 0 || n > TP_NAME_MAX)
			return 0;
		put_str(&w, r->tags[i], TP_NAME_MAX);
	}
	return w.over ? 0 : w.off;
}

static void say(char *why, size_t whylen, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

static void say(char *why, size_t whylen, const char *fmt, ...)
{
	va_list ap;

	if (!why || !whylen)
		return;
	va_start(ap, fmt);
	vsnprintf(why, whylen, fmt, ap);
	va_end(ap);
}

struct rbuf {
	unsigned char	*p;
	size_t		len, off;
};

static bool get_u32(struct rbuf *b, uint32_t *v)
{
	if (b->len - b->off < sizeof(*v))
		return false;
	memcpy(v, b->p + b->off, sizeof(*v));
	b->off += sizeof(*v);
	return true;
}

/*
 * A length-prefixed string of 1 (0 with @allow_empty) to @max bytes
 * without NUL. It is moved two bytes left, over its own length prefix, and
 * terminated where its old last bytes were, so the bytes after it stay
 * untouched for the next field.
 */
static bool get_str(struct rbuf *b, size_t max, bool allow_empty,
		    const char **out)
{
	uint16_t l;

	if (b->len - b->off < sizeof(l))
		return false;
	memcpy(&l, b->p + b->off, sizeof(l));
	if (l > max || (!l && !allow_empty))
		return false;
	if (b->len - b->off - sizeof(l) < l)
		return false;
	if (memchr(b->p + b->off + sizeof(l), '\0', l))
		return false;
	memmove(b->p + b->off, b->p + b->off + sizeof(l), l);
	b->p[b->off + l] = '\0';
	*out = (const char *)b->p + b->off;
	b->off += sizeof(l) + l;
	return true;
}

int tt_report_decode(void *buf, size_t len, struct tt_report_result *r,
		     char *why, size_t whylen)
{
	struct rbuf b = { .p = buf, .len = len };
	uint32_t kind, flags, ntags, derlen;

	memset(r, 0, sizeof(*r));
	r->peer = r->reason = "";
	if (!get_u32(&b, &kind) || !get_u32(&b, &r->status) ||
	    !get_u32(&b, &r->remote_auth) || !get_u32(&b, &flags) ||
	    !get_u32(&b, &ntags)) {
		say(why, whylen, "short report (%zu bytes)", len);
		goto bad;
	}
	if (kind != TT_REP_RESULT) {
		say(why, whylen, "not a result (kind %u)", kind);
		goto bad;
	}
	if (flags & ~FLAGS_KNOWN) {
		say(why, whylen, "unknown flags 0x%x", flags);
		goto bad;
	}
	if (ntags > TT_REPORT_MAX_TAGS) {
		say(why, whylen, "%u tags", ntags);
		goto bad;
	}
	r->has_remote_auth = flags & FLAG_REMOTE_AUTH;
	r->ktls = flags & FLAG_KTLS;
	if (!r->has_remote_auth && r->remote_auth) {
		say(why, whylen, "remote-auth serial without its flag");
		goto bad;
	}
	if (!get_str(&b, TT_REPORT_TEXT_MAX, true, &r->peer) ||
	    !get_str(&b, TT_REPORT_TEXT_MAX, true, &r->reason)) {
		say(why, whylen, "bad peer or reason text");
		goto bad;
	}
	if (!get_u32(&b, &derlen) || derlen > TT_REPORT_DER_MAX ||
	    b.len - b.off < derlen) {
		say(why, whylen, "bad certificate length");
		goto bad;
	}
	r->peer_der = derlen ? b.p + b.off : NULL;
	r->peer_der_len = derlen;
	b.off += derlen;
	for (uint32_t i = 0; i < ntags; i++) {
		if (!get_str(&b, TP_NAME_MAX, false, &r->tags[i])) {
			say(why, whylen, "bad tag %u of %u", i + 1, ntags);
			goto bad;
		}
	}
	r->ntags = ntags;
	if (b.off != len) {
		say(why, whylen, "%zu trailing bytes", len - b.off);
		goto bad;
	}
	return 0;
bad:
	memset(r, 0, sizeof(*r));
	r->peer = r->reason = "";
	return -EBADMSG;
}

int tt_report_check(const struct tt_report_result *r,
		    const struct tt_report_ctx *ctx, char *why, size_t whylen)
{
	bool psk = ctx->acc->auth_mode == TT_HS_AUTH_PSK;

	if (r->status > TT_STATUS_MAX) {
		say(why, whylen, "status %u is no errno", r->status);
		return -EPERM;
	}
	if (r->status && (r->has_remote_auth || r->ntags || r->peer_der_len)) {
		say(why, whylen, "a failed handshake (status %u) with %s",
		    r->status, r->ntags ? "tags" : "a peer identity");
		return -EPERM;
	}
	if (psk && r->peer_der_len) {
		say(why, whylen, "a certificate on a PSK session");
		return -EPERM;
	}
	if (!psk && r->has_remote_auth) {
		say(why, whylen, "a remote-auth serial on a certificate session (the parent makes it)");
		return -EPERM;
	}
	if (psk && r->has_remote_auth) {
		bool known = false;

		for (unsigned int i = 0; i < ctx->acc->npeerids; i++)
			known |= ctx->acc->peerids[i] == r->remote_auth;
		if (!known && ctx->is_psk)
			known = ctx->is_psk((int32_t)r->remote_auth);
		if (!known) {
			say(why, whylen, "remote-auth %u is not a PSK", r->remote_auth);
			return -EPERM;
		}
	}
	if (!r->ntags)
		return 0;
	if (psk) {
		say(why, whylen, "tags on a PSK session");
		return -EPERM;
	}
	if (!r->peer_der_len) {
		say(why, whylen, "tags without a peer certificate");
		return -EPERM;
	}
	if (r->ntags > ctx->acc->max_tags) {
		say(why, whylen, "%u tags, the kernel takes %u", r->ntags,
		    ctx->acc->max_tags);
		return -EPERM;
	}
	for (unsigned int i = 0; i < r->ntags; i++) {
		if (i && strcmp(r->tags[i - 1], r->tags[i]) >= 0) {
			say(why, whylen, "tags not sorted and unique at %u", i + 1);
			return -EPERM;
		}
		if (!tp_policy_has_tag(ctx->policy, r->tags[i])) {
			char esc[4 * TP_NAME_MAX + 1];

			tt_escape(r->tags[i], esc, sizeof(esc));
			say(why, whylen, "tag \"%s\" is not in the loaded policy",
			    esc);
			return -EPERM;
		}
	}
	return 0;
}

void tt_escape(const char *in, char *out, size_t outlen)
{
	static const char hex[] = "0123456789abcdef";
	size_t o = 0;

	if (!outlen)
		return;
	for (const unsigned char *p = (const unsigned char *)in; p && *p; p++) {
		bool plain = *p >= 0x20 && *p < 0x7f && *p != '\\';
		size_t need = plain ? 1 : 4;

		if (o + need >= outlen)
			break;
		if (plain) {
			out[o++] = (char)*p;
		} else {
			out[o++] = '\\';
			out[o++] = 'x';
			out[o++] = hex[*p >> 4];
			out[o++] = hex[*p & 0xf];
		}
	}
	out[o] = '\0';
}
