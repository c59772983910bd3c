// SPDX-License-Identifier: GPL-2.0-only
/*
 * The report channel: a handshake child's RESULT as the parent decodes it
 * (every framing error refused) and what the parent lets through to DONE
 * (tt_report_check against the request and the loaded policy).
 */
#include <errno.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include "hs_uapi.h"
#include "report.h"
#include "tt_test.h"

static const char policy_yml[] =
	"filters:\n"
	"  any:\n"
	"    type: x509.tbs.subject\n"
	"    pattern: \"*\"\n"
	"tags:\n"
	"  alice:\n"
	"    filter: [any]\n"
	"  example-members:\n"
	"    filter: [any]\n"
	"  staff:\n"
	"    filter: [any]\n";

static struct tp_policy *pol;
static unsigned char buf[TT_REPORT_BUFSIZE];

static const unsigned char der[] = { 0x30, 0x03, 0x02, 0x01, 0x01 };

/* A "psk" key of the keyring that the kernel did not offer. */
static bool psk_9(int32_t serial)
{
	return serial == 9;
}

/*
 * A RESULT in buf: @ra > 0 a remote-auth serial (PSK), @ra < 0 a peer
 * certificate (x509), 0 neither.
 */
static size_t enc(uint32_t status, int32_t ra, const char *const *tags,
		  unsigned int n)
{
	struct tt_report_result r = { .status = status, .peer = "CN=alice",
				      .reason = "" };

	if (ra < 0) {
		r.peer_der = der;
		r.peer_der_len = sizeof(der);
	}
	r.has_remote_auth = ra > 0;
	r.remote_auth = ra > 0 ? (uint32_t)ra : 0;
	for (unsigned int i = 0; tags && i < n && i < TT_REPORT_MAX_TAGS; i++)
		r.tags[i] = tags[i];
	r.ntags = n;
	return tt_report_encode(buf, sizeof(buf), &r);
}

/* Decodes @len bytes of buf and checks them as an x509 request would. */
static int verdict(size_t len, uint32_t auth_mode, uint32_t max_tags,
		   char *why, size_t whylen)
{
	struct tt_accept acc = { .auth_mode = auth_mode, .max_tags = max_tags,
				 .peerids = { 7, 8 }, .npeerids = 2 };
	struct tt_report_ctx ctx = { .acc = &acc, .policy = pol,
				     .is_psk = psk_9 };
	struct tt_report_result r;
	int ret;

	ret = tt_report_decode(buf, len, &r, why, whylen);
	if (ret)
		return ret;
	return tt_report_check(&r, &ctx, why, whylen);
}

/* Writes buf[0..len) prefixed by @mode as a fuzz seed when TT_SEED_DIR is set. */
static void seed(const char *name, unsigned char mode, size_t len)
{
	const char *dir = getenv("TT_SEED_DIR");
	char path[512];
	FILE *f;

	if (!dir || !len)
		return;
	snprintf(path, sizeof(path), "%s/report", dir);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/report/%s", dir, name);
	f = fopen(path, "wb");
	if (f) {
		fputc(mode, f);
		fwrite(buf, 1, len, f);
		fclose(f);
	}
}

TEST(round_trip)
{
	const char *tags[] = { "alice", "example-members" };
	struct tt_report_result r;
	char why[200];
	size_t n = enc(0, -1, tags, 2);

	CHECK(n > 0);
	seed("x509-tags", TT_HS_AUTH_X509, n);
	seed("failed", TT_HS_AUTH_X509, enc(EACCES, 0, NULL, 0));
	seed("psk", TT_HS_AUTH_PSK, enc(0, 7, NULL, 0));
	n = enc(0, -1, tags, 2);
	CHECK(tt_report_decode(buf, n, &r, why, sizeof(why)) == 0);
	CHECK(r.status == 0 && !r.has_remote_auth && r.remote_auth == 0);
	CHECK(r.peer_der_len == sizeof(der) &&
	      memcmp(r.peer_der, der, sizeof(der)) == 0);
	CHECK(r.ntags == 2);
	CHECK_STR(r.tags[0], "alice");
	CHECK_STR(r.tags[1], "example-members");
	CHECK_STR(r.peer, "CN=alice");
	CHECK_STR(r.reason, "");

	n = enc(0, -1, tags, 2);
	CHECK(verdict(n, TT_HS_AUTH_X509, 64, why, sizeof(why)) == 0);
	n = enc(EACCES, 0, NULL, 0);
	CHECK(verdict(n, TT_HS_AUTH_X509, 64, why, sizeof(why)) == 0);
	/* PSK: one of the PSKs the kernel offered, or a psk key it found */
	n = enc(0, 8, NULL, 0);
	CHECK(verdict(n, TT_HS_AUTH_PSK, 64, why, sizeof(why)) == 0);
	n = enc(0, 9, NULL, 0);
	CHECK(verdict(n, TT_HS_AUTH_PSK, 64, why, sizeof(why)) == 0);
}

TEST(encode_refuses_what_cannot_be_sent)
{
	const char *empty[] = { "" };
	char long_tag[TP_NAME_MAX + 2];
	const char *toolong[] = { long_tag };

	memset(long_tag, 'a', sizeof(long_tag) - 1);
	long_tag[sizeof(long_tag) - 1] = '\0';
	CHECK(enc(0, -1, empty, 1) == 0);
	CHECK(enc(0, -1, toolong, 1) == 0);
	CHECK(enc(0, -1, NULL, TT_REPORT_MAX_TAGS + 1) == 0);
	{
		struct tt_report_result r = { .peer_der = der,
					      .peer_der_len = TT_REPORT_DER_MAX + 1 };

		CHECK(tt_report_encode(buf, sizeof(buf), &r) == 0);
	}
	CHECK(tt_report_encode(buf, 10, &(struct tt_report_result){ .peer = "" }) == 0);
}

/* Every framing error, made from a good message. */
TEST(decode_refuses_bad_framing)
{
	const char *tags[] = { "alice", "staff" };
	struct tt_report_result r;
	char why[200];
	size_t n = enc(0, 42, tags, 2);	/* remote-auth 42, no certificate */
	unsigned char good[512];
	uint32_t v;
	uint16_t l;

	memcpy(good, buf, n);
	/* every truncation, and one trailing byte */
	for (size_t cut = 0; cut < n; cut++) {
		memcpy(buf, good, n);
		CHECK_MSG(tt_report_decode(buf, cut, &r, why, sizeof(why)) == -EBADMSG,
			  "%zu of %zu bytes accepted", cut, n);
		CHECK(r.ntags == 0 && r.peer && r.reason);
	}
	memcpy(buf, good, n);
	buf[n] = 'x';
	CHECK(tt_report_decode(buf, n + 1, &r, why, sizeof(why)) == -EBADMSG);
	/* wrong kind */
	memcpy(buf, good, n);
	v = TT_REP_ACCEPTED;
	memcpy(buf, &v, 4);
	CHECK(tt_report_decode(buf, n, &r, why, sizeof(why)) == -EBADMSG);
	/* unknown flags */
	memcpy(buf, good, n);
	v = 0x80;
	memcpy(buf + 12, &v, 4);
	CHECK(tt_report_decode(buf, n, &r, why, sizeof(why)) == -EBADMSG);
	/* a serial without the flag */
	memcpy(buf, good, n);
	v = 0;
	memcpy(buf + 12, &v, 4);
	CHECK(tt_report_decode(buf, n, &r, why, sizeof(why)) == -EBADMSG);
	/* too many tags announced */
	memcpy(buf, good, n);
	v = TT_REPORT_MAX_TAGS + 1;
	memcpy(buf + 16, &v, 4);
	CHECK(tt_report_decode(buf, n, &r, why, sizeof(why)) == -EBADMSG);
	/* more tags announced than present */
	memcpy(buf, good, n);
	v = 3;
	memcpy(buf + 16, &v, 4);
	CHECK(tt_report_decode(buf, n, &r, why, sizeof(why)) == -EBADMSG);
	/* a NUL inside the peer text ("CN=alice" at 22) */
	memcpy(buf, good, n);
	buf[24] = '\0';
	CHECK(tt_report_decode(buf, n, &r, why, sizeof(why)) == -EBADMSG);
	/* a NUL inside a tag (the last one, "staff", ends the message) */
	memcpy(buf, good, n);
	buf[n - 2] = '\0';
	CHECK(tt_report_decode(buf, n, &r, why, sizeof(why)) == -EBADMSG);
	/* an empty tag: the last tag's length 0, its bytes now trailing */
	memcpy(buf, good, n);
	l = 0;
	memcpy(buf + n - 7, &l, 2);
	CHECK(tt_report_decode(buf, n, &r, why, sizeof(why)) == -EBADMSG);
	CHECK(tt_report_decode(buf, n - 5, &r, why, sizeof(why)) == -EBADMSG);
	/* a text length over the limit */
	memcpy(buf, good, n);
	l = TT_REPORT_TEXT_MAX + 1;
	memcpy(buf + 20, &l, 2);
	CHECK(tt_report_decode(buf, n, &r, why, sizeof(why)) == -EBADMSG);
	/* a certificate length over the limit, or past the end */
	memcpy(buf, good, n);
	v = TT_REPORT_DER_MAX + 1;
	memcpy(buf + 32, &v, 4);	/* after "CN=alice" and "" */
	CHECK(tt_report_decode(buf, n, &r, why, sizeof(why)) == -EBADMSG);
	v = (uint32_t)n;
	memcpy(buf + 32, &v, 4);
	CHECK(tt_report_decode(buf, n, &r, why, sizeof(why)) == -EBADMSG);
	/* and the good one still decodes */
	memcpy(buf, good, n);
	CHECK(tt_report_decode(buf, n, &r, why, sizeof(why)) == 0);
	CHECK(r.peer_der_len == 0 && r.remote_auth == 42);
}

TEST(check_refuses_what_the_parent_cannot_vouch_for)
{
	const char *ok[] = { "alice", "staff" };
	const char *unsorted[] = { "staff", "alice" };
	const char *dup[] = { "alice", "alice" };
	const char *unknown[] = { "alice", "root" };
	const char *weird[] = { "al\x1b[2Jice" };
	char why[200];

	/* a status beyond MAX_ERRNO */
	CHECK(verdict(enc(4096, 0, NULL, 0), TT_HS_AUTH_X509, 64, why,
		      sizeof(why)) == -EPERM);
	/* a failure with an identity, a certificate or tags */
	CHECK(verdict(enc(EACCES, 8, NULL, 0), TT_HS_AUTH_PSK, 64, why,
		      sizeof(why)) == -EPERM);
	CHECK(verdict(enc(EACCES, -1, NULL, 0), TT_HS_AUTH_X509, 64, why,
		      sizeof(why)) == -EPERM);
	CHECK(verdict(enc(EACCES, 0, ok, 2), TT_HS_AUTH_X509, 64, why,
		      sizeof(why)) == -EPERM);
	/* certificate sessions: the child names no key, the parent does */
	CHECK(verdict(enc(0, 42, NULL, 0), TT_HS_AUTH_X509, 64, why,
		      sizeof(why)) == -EPERM);
	CHECK(strstr(why, "parent makes it") != NULL);
	/* PSK: no certificate, no tags, a PSK the parent can vouch for */
	CHECK(verdict(enc(0, -1, NULL, 0), TT_HS_AUTH_PSK, 64, why,
		      sizeof(why)) == -EPERM);
	CHECK(verdict(enc(0, 43, NULL, 0), TT_HS_AUTH_PSK, 64, why,
		      sizeof(why)) == -EPERM);
	CHECK(verdict(enc(0, 8, ok, 2), TT_HS_AUTH_PSK, 64, why,
		      sizeof(why)) == -EPERM);
	/* tags without a certificate */
	CHECK(verdict(enc(0, 0, ok, 2), TT_HS_AUTH_X509, 64, why,
		      sizeof(why)) == -EPERM);
	CHECK(strstr(why, "without a peer certificate") != NULL);
	/* over max-tags */
	CHECK(verdict(enc(0, -1, ok, 2), TT_HS_AUTH_X509, 1, why,
		      sizeof(why)) == -EPERM);
	CHECK(verdict(enc(0, -1, ok, 1), TT_HS_AUTH_X509, 1, why,
		      sizeof(why)) == 0);
	/* unsorted, duplicated, unknown to the policy */
	CHECK(verdict(enc(0, -1, unsorted, 2), TT_HS_AUTH_X509, 64, why,
		      sizeof(why)) == -EPERM);
	CHECK(verdict(enc(0, -1, dup, 2), TT_HS_AUTH_X509, 64, why,
		      sizeof(why)) == -EPERM);
	CHECK(verdict(enc(0, -1, unknown, 2), TT_HS_AUTH_X509, 64, why,
		      sizeof(why)) == -EPERM);
	CHECK_STR(why, "tag \"root\" is not in the loaded policy");
	/* the refusal's text escapes what the child sent */
	CHECK(verdict(enc(0, -1, weird, 1), TT_HS_AUTH_X509, 64, why,
		      sizeof(why)) == -EPERM);
	CHECK_STR(why, "tag \"al\\x1b[2Jice\" is not in the loaded policy");
	/* no policy loaded: no tag passes */
	{
		struct tt_accept acc = { .auth_mode = TT_HS_AUTH_X509,
					 .max_tags = 64 };
		struct tt_report_ctx ctx = { .acc = &acc, .policy = NULL };
		struct tt_report_result r;
		size_t n = enc(0, -1, ok, 1);

		CHECK(tt_report_decode(buf, n, &r, why, sizeof(why)) == 0);
		CHECK(tt_report_check(&r, &ctx, why, sizeof(why)) == -EPERM);
	}
}

TEST(escape)
{
	char out[64];

	tt_escape("CN=a\nb\\c\x7f\xc3\xa9", out, sizeof(out));
	CHECK_STR(out, "CN=a\\x0ab\\x5cc\\x7f\\xc3\\xa9");
	tt_escape("abcdef", out, 4);
	CHECK_STR(out, "abc");
	tt_escape("a\x01", out, 4);	/* no half escape */
	CHECK_STR(out, "a");
	tt_escape(NULL, out, sizeof(out));
	CHECK_STR(out, "");
}

int main(void)
{
	struct tp_diag diag = { 0 };

	if (tp_policy_load_buffer("test", policy_yml, sizeof(policy_yml) - 1,
				  &pol, &diag) < 0) {
		tp_diag_print(&diag, stderr);
		return 2;
	}
	tp_diag_free(&diag);
	RUN(round_trip);
	RUN(encode_refuses_what_cannot_be_sent);
	RUN(decode_refuses_bad_framing);
	RUN(check_refuses_what_the_parent_cannot_vouch_for);
	RUN(escape);
	tp_policy_free(pol);
	return tt_test_summary();
}
