// SPDX-License-Identifier: GPL-2.0-only
/*
 * Netlink codec tests: messages are built here the way the kernel lays
 * them out (libmnl primitives on byte buffers) and fed to the parsers;
 * the builders' output is checked byte by byte.
 */
#include <errno.h>
#include <stdint.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "handshake.h"
#include "netlink.h"
#include "nlcodec.h"
#include "tt_test.h"

#define FAM	0x1f
#define SEQ	4242

static unsigned char buf[TT_NL_BUFSIZE];
static const char *seed_dir;

/* Saves @len bytes as a fuzz seed named @name when TT_SEED_DIR is set. */
static void seed(const char *sub, const char *name, const void *data,
		 size_t len)
{
	char path[512];
	FILE *f;

	if (!seed_dir)
		return;
	snprintf(path, sizeof(path), "%s/%s", seed_dir, sub);
	mkdir(path, 0755);
	snprintf(path, sizeof(path), "%s/%s/%s", seed_dir, sub, name);
	f = fopen(path, "wb");
	if (f) {
		fwrite(data, 1, len, f);
		fclose(f);
	}
}

static struct nlmsghdr *msg_start(void *b, uint16_t type, uint32_t seq,
				  uint8_t cmd)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(b);
	struct genlmsghdr *g;

	nlh->nlmsg_type = type;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, sizeof(*g));
	g->cmd = cmd;
	g->version = 1;
	return nlh;
}

static size_t put_ack(void *b, uint32_t seq, int error, const char *text)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(b);
	struct nlmsgerr *e;

	nlh->nlmsg_type = NLMSG_ERROR;
	nlh->nlmsg_seq = seq;
	nlh->nlmsg_flags = NLM_F_CAPPED;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	e->error = error;
	e->msg.nlmsg_len = 20;
	e->msg.nlmsg_seq = seq;
	if (text) {
		nlh->nlmsg_flags |= NLM_F_ACK_TLVS;
		mnl_attr_put_strz(nlh, NLMSGERR_ATTR_MSG, text);
	}
	return nlh->nlmsg_len;
}

struct acc_opts {
	bool	peername;
	bool	keyring;
	bool	max_tags;
	bool	cert;
	int	npeerids;
	uint32_t auth;
};

/* An ACCEPT reply laid out as net/handshake/tlshd.c does, plus 9 and 10. */
static size_t kernel_accept(void *b, const struct acc_opts *o)
{
	struct nlmsghdr *nlh = msg_start(b, FAM, SEQ, TT_HS_CMD_ACCEPT);

	mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_SOCKFD, 9);
	mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_MESSAGE_TYPE,
			 TT_HS_MSG_TYPE_CLIENTHELLO);
	if (o->peername)
		mnl_attr_put_strz(nlh, TT_HS_A_ACCEPT_PEERNAME, "nfs.example.org");
	mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_TIMEOUT, 15000);
	mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_AUTH_MODE, o->auth);
	for (int i = 0; i < o->npeerids; i++)
		mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_PEER_IDENTITY, 100 + i);
	if (o->cert) {
		struct nlattr *n = mnl_attr_nest_start(nlh,
						TT_HS_A_ACCEPT_CERTIFICATE);
		mnl_attr_put_u32(nlh, TT_HS_A_X509_CERT, 555);
		mnl_attr_put_u32(nlh, TT_HS_A_X509_PRIVKEY, 556);
		mnl_attr_nest_end(nlh, n);
	}
	if (o->keyring)
		mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_KEYRING, 777);
	if (o->max_tags)
		mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_MAX_TAGS, 64);
	return nlh->nlmsg_len;
}

static int parse_acc(const void *b, size_t len, struct tt_accept *a,
		     unsigned int *flags)
{
	*flags = 0;
	return tt_nl_parse_accept(b, len, FAM, SEQ, a, flags);
}

static bool all_zero(const void *p, size_t n)
{
	const unsigned char *c = p;

	for (size_t i = 0; i < n; i++)
		if (c[i])
			return false;
	return true;
}

TEST(accept_request_layout)
{
	size_t len = tt_nl_build_accept(buf, sizeof(buf), 77, FAM,
					TT_HS_HANDLER_CLASS_TLSHD);
	struct nlmsghdr *nlh = (void *)buf;
	struct genlmsghdr *g = mnl_nlmsg_get_payload(nlh);
	struct nlattr *a = (void *)((char *)g + 4);
	uint32_t v;

	CHECK(len == 28);
	CHECK(nlh->nlmsg_len == 28);
	CHECK(nlh->nlmsg_type == FAM);
	CHECK(nlh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_ACK));
	CHECK(nlh->nlmsg_seq == 77);
	CHECK(g->cmd == TT_HS_CMD_ACCEPT && g->version == 1);
	CHECK(a->nla_type == TT_HS_A_ACCEPT_HANDLER_CLASS && a->nla_len == 8);
	memcpy(&v, a + 1, 4);
	CHECK(v == 1);
	CHECK(tt_nl_build_accept(buf, 20, 1, FAM, 1) == 0);
}

TEST(accept_full)
{
	struct acc_opts o = { .peername = true, .keyring = true,
			      .max_tags = true, .cert = true,
			      .auth = TT_HS_AUTH_X509 };
	struct tt_accept a;
	unsigned int flags;
	size_t len = kernel_accept(buf, &o);
	struct tt_hs_params p;

	seed("accept", "full", buf, len);
	CHECK(parse_acc(buf, len, &a, &flags) == 0);
	CHECK(flags == TT_ACCEPT_GOT_REPLY);
	CHECK(a.sockfd == 9);
	CHECK(a.message_type == TT_HS_MSG_TYPE_CLIENTHELLO);
	CHECK(a.timeout_ms == 15000);
	CHECK(a.auth_mode == TT_HS_AUTH_X509);
	CHECK(a.has_cert && a.cert_serial == 555 && a.privkey_serial == 556);
	CHECK(a.has_peername);
	CHECK_STR(a.peername, "nfs.example.org");
	CHECK(a.has_keyring && a.keyring == 777);
	CHECK(a.has_max_tags && a.max_tags == 64);
	CHECK(a.npeerids == 0);

	/* The ACK arrives in its own datagram and keeps the parsed reply. */
	len = put_ack(buf, SEQ, 0, NULL);
	seed("accept", "ack", buf, len);
	CHECK(tt_nl_parse_accept(buf, len, FAM, SEQ, &a, &flags) == 0);
	CHECK(flags == (TT_ACCEPT_GOT_REPLY | TT_ACCEPT_GOT_ACK));
	CHECK(a.sockfd == 9 && a.has_peername);

	tt_hs_params_from_accept(&a, &p);
	CHECK(p.peername && strcmp(p.peername, "nfs.example.org") == 0);
	CHECK(p.keyring == 777 && p.has_cert);
}

TEST(accept_minimal)
{
	struct acc_opts o = { .auth = TT_HS_AUTH_X509 };
	struct tt_accept a;
	struct tt_hs_params p;
	unsigned int flags;
	size_t len = kernel_accept(buf, &o);

	seed("accept", "minimal", buf, len);
	CHECK(parse_acc(buf, len, &a, &flags) == 0);
	CHECK(!a.has_keyring && a.keyring == 0);
	CHECK(!a.has_max_tags && a.max_tags == TT_HS_DEFAULT_MAX_TAGS);
	CHECK(!a.has_peername && a.peername[0] == '\0');
	CHECK(!a.has_cert);
	/* A missing peername is NULL for the handshake code, never "". */
	tt_hs_params_from_accept(&a, &p);
	CHECK(p.peername == NULL);
	CHECK(p.keyring == 0);
}

TEST(accept_psk)
{
	struct acc_opts o = { .npeerids = 3, .auth = TT_HS_AUTH_PSK,
			      .max_tags = true };
	struct tt_accept a;
	unsigned int flags;
	size_t len = kernel_accept(buf, &o);

	seed("accept", "psk", buf, len);
	CHECK(parse_acc(buf, len, &a, &flags) == 0);
	CHECK(a.auth_mode == TT_HS_AUTH_PSK);
	CHECK(a.npeerids == 3 && a.peerids[0] == 100 && a.peerids[2] == 102);

	o.npeerids = TT_MAX_PEERIDS + 1;
	len = kernel_accept(buf, &o);
	CHECK(parse_acc(buf, len, &a, &flags) < 0);
}

TEST(accept_forward_compat)
{
	struct acc_opts o = { .auth = TT_HS_AUTH_UNAUTH };
	struct tt_accept a;
	unsigned int flags;
	size_t len = kernel_accept(buf, &o);
	struct nlmsghdr *nlh = (void *)buf;

	mnl_attr_put_u32(nlh, 42, 1);		/* unknown: ignored */
	mnl_attr_put_strz(nlh, TT_HS_A_ACCEPT_PEERNAME, "");
	len = nlh->nlmsg_len;
	CHECK(parse_acc(buf, len, &a, &flags) == 0);
	CHECK(!a.has_peername);			/* "" is no name */
	CHECK(a.auth_mode == TT_HS_AUTH_UNAUTH);
}

/* Runs one malformed case: the parser must fail and leave nothing behind. */
static void expect_bad(const char *what, size_t len)
{
	struct tt_accept a;
	unsigned int flags = 0;
	int ret;

	memset(&a, 0xa5, sizeof(a));
	ret = parse_acc(buf, len, &a, &flags);
	CHECK_MSG(ret < 0, "%s: accepted (ret %d)", what, ret);
	CHECK_MSG(flags == 0 && all_zero(&a, sizeof(a)),
		  "%s: output not cleared", what);
}

static struct nlmsghdr *start_reply(void)
{
	return msg_start(buf, FAM, SEQ, TT_HS_CMD_ACCEPT);
}

static void put_mandatory(struct nlmsghdr *nlh, bool sockfd, bool type,
			  bool auth)
{
	if (sockfd)
		mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_SOCKFD, 3);
	if (type)
		mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_MESSAGE_TYPE, 2);
	if (auth)
		mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_AUTH_MODE, 3);
}

TEST(accept_malformed)
{
	struct acc_opts o = { .peername = true, .keyring = true,
			      .max_tags = true, .cert = true,
			      .auth = TT_HS_AUTH_X509 };
	struct nlmsghdr *nlh;
	struct nlattr *at;
	size_t len;

	/* Truncated: the datagram ends inside the last attribute. */
	len = kernel_accept(buf, &o);
	nlh = (void *)buf;
	nlh->nlmsg_len -= 2;
	expect_bad("truncated attribute (nlmsg_len cut)", nlh->nlmsg_len);
	len = kernel_accept(buf, &o);
	expect_bad("datagram shorter than nlmsg_len", len - 4);
	expect_bad("shorter than a header", 10);
	expect_bad("empty datagram", 0);

	/* An attribute claiming more than the message holds. */
	len = kernel_accept(buf, &o);
	at = (void *)((char *)buf + len - 8);	/* max-tags */
	at->nla_len = 64;
	expect_bad("attribute overruns message", len);

	/* An attribute length below the header size. */
	len = kernel_accept(buf, &o);
	at = (void *)((char *)buf + len - 8);
	at->nla_len = 2;
	expect_bad("attribute length < 4", len);

	/* Genl header missing. */
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = FAM;
	nlh->nlmsg_seq = SEQ;
	nlh->nlmsg_len = 16;
	expect_bad("no genl header", 16);

	/* Wrong lengths / types. */
	nlh = start_reply();
	mnl_attr_put_u16(nlh, TT_HS_A_ACCEPT_SOCKFD, 3);
	put_mandatory(nlh, false, true, true);
	expect_bad("sockfd as u16", nlh->nlmsg_len);

	nlh = start_reply();
	mnl_attr_put_u64(nlh, TT_HS_A_ACCEPT_MESSAGE_TYPE, 2);
	put_mandatory(nlh, true, false, true);
	expect_bad("message-type as u64", nlh->nlmsg_len);

	nlh = start_reply();
	put_mandatory(nlh, true, true, true);
	mnl_attr_put_u16(nlh, TT_HS_A_ACCEPT_MAX_TAGS, 64);
	expect_bad("max-tags as u16", nlh->nlmsg_len);

	nlh = start_reply();
	put_mandatory(nlh, true, true, true);
	mnl_attr_put_u64(nlh, TT_HS_A_ACCEPT_KEYRING, 1);
	expect_bad("keyring as u64", nlh->nlmsg_len);

	nlh = start_reply();
	put_mandatory(nlh, true, true, true);
	mnl_attr_put_u16(nlh, TT_HS_A_ACCEPT_TIMEOUT, 1);
	expect_bad("timeout as u16", nlh->nlmsg_len);

	/* Out-of-range values. */
	nlh = start_reply();
	put_mandatory(nlh, true, false, true);
	mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_MESSAGE_TYPE, 7);
	expect_bad("message-type 7", nlh->nlmsg_len);

	nlh = start_reply();
	put_mandatory(nlh, true, true, false);
	mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_AUTH_MODE, 0);
	expect_bad("auth-mode 0", nlh->nlmsg_len);

	nlh = start_reply();
	put_mandatory(nlh, false, true, true);
	mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_SOCKFD, (uint32_t)-1);
	expect_bad("negative sockfd", nlh->nlmsg_len);

	/* Missing mandatory attributes. */
	nlh = start_reply();
	put_mandatory(nlh, false, true, true);
	expect_bad("no sockfd", nlh->nlmsg_len);
	nlh = start_reply();
	put_mandatory(nlh, true, false, true);
	expect_bad("no message-type", nlh->nlmsg_len);
	nlh = start_reply();
	put_mandatory(nlh, true, true, false);
	expect_bad("no auth-mode", nlh->nlmsg_len);

	/* Duplicated singleton. */
	nlh = start_reply();
	put_mandatory(nlh, true, true, true);
	mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_SOCKFD, 4);
	expect_bad("sockfd twice", nlh->nlmsg_len);

	/* Peername: no NUL, embedded NUL, too long. */
	nlh = start_reply();
	put_mandatory(nlh, true, true, true);
	mnl_attr_put(nlh, TT_HS_A_ACCEPT_PEERNAME, 4, "host");
	expect_bad("peername without NUL", nlh->nlmsg_len);

	nlh = start_reply();
	put_mandatory(nlh, true, true, true);
	mnl_attr_put(nlh, TT_HS_A_ACCEPT_PEERNAME, 6, "ho\0st");
	expect_bad("peername with embedded NUL", nlh->nlmsg_len);

	{
		char longname[TT_PEERNAME_MAX + 2];

		memset(longname, 'a', sizeof(longname) - 1);
		longname[sizeof(longname) - 1] = '\0';
		nlh = start_reply();
		put_mandatory(nlh, true, true, true);
		mnl_attr_put_strz(nlh, TT_HS_A_ACCEPT_PEERNAME, longname);
		expect_bad("peername of 256 bytes", nlh->nlmsg_len);
	}

	/* Certificate nest without a private key, or with a short one. */
	nlh = start_reply();
	put_mandatory(nlh, true, true, true);
	at = mnl_attr_nest_start(nlh, TT_HS_A_ACCEPT_CERTIFICATE);
	mnl_attr_put_u32(nlh, TT_HS_A_X509_CERT, 1);
	mnl_attr_nest_end(nlh, at);
	expect_bad("certificate without privkey", nlh->nlmsg_len);

	nlh = start_reply();
	put_mandatory(nlh, true, true, true);
	at = mnl_attr_nest_start(nlh, TT_HS_A_ACCEPT_CERTIFICATE);
	mnl_attr_put_u32(nlh, TT_HS_A_X509_CERT, 1);
	mnl_attr_put_u16(nlh, TT_HS_A_X509_PRIVKEY, 1);
	mnl_attr_nest_end(nlh, at);
	expect_bad("privkey as u16", nlh->nlmsg_len);

	nlh = start_reply();
	put_mandatory(nlh, true, true, true);
	at = mnl_attr_nest_start(nlh, TT_HS_A_ACCEPT_CERTIFICATE);
	mnl_attr_put_u32(nlh, TT_HS_A_X509_CERT, 1);
	mnl_attr_put_u32(nlh, TT_HS_A_X509_PRIVKEY, 2);
	mnl_attr_nest_end(nlh, at);
	at->nla_len -= 2;	/* nest cut inside its last member */
	expect_bad("truncated certificate nest", nlh->nlmsg_len);

	/* Two replies for one request. */
	len = kernel_accept(buf, &o);
	memcpy(buf + NLMSG_ALIGN(len), buf, len);
	expect_bad("two replies", NLMSG_ALIGN(len) + len);
}

TEST(accept_errors)
{
	struct tt_accept a;
	unsigned int flags = 0;
	char text[64];
	size_t len;

	len = put_ack(buf, SEQ, -EAGAIN, NULL);
	seed("accept", "eagain", buf, len);
	CHECK(tt_nl_parse_accept(buf, len, FAM, SEQ, &a, &flags) == -EAGAIN);
	CHECK(flags == 0);

	len = put_ack(buf, SEQ, -EPERM, "no permission");
	CHECK(tt_nl_parse_ack(buf, len, SEQ, text, sizeof(text)) == -EPERM);
	CHECK_STR(text, "no permission");
	len = put_ack(buf, SEQ, 0, NULL);
	CHECK(tt_nl_parse_ack(buf, len, SEQ, text, sizeof(text)) == 1);
	CHECK(tt_nl_parse_ack(buf, len, SEQ + 1, text, sizeof(text)) == 0);
	/* A positive "error" is malformed. */
	len = put_ack(buf, SEQ, 5, NULL);
	CHECK(tt_nl_parse_ack(buf, len, SEQ, NULL, 0) == -EBADMSG);
	/* Too short for struct nlmsgerr. */
	len = put_ack(buf, SEQ, 0, NULL);
	((struct nlmsghdr *)buf)->nlmsg_len = 20;
	CHECK(tt_nl_parse_ack(buf, 20, SEQ, NULL, 0) == -EBADMSG);
	/* An ACCEPT reply of another sequence number is not ours. */
	{
		struct acc_opts o = { .auth = TT_HS_AUTH_X509 };

		len = kernel_accept(buf, &o);
		flags = 0;
		CHECK(tt_nl_parse_accept(buf, len, FAM, SEQ + 1, &a, &flags) == 0);
		CHECK(flags == 0);
	}
}

/* ---- DONE ---- */

struct seen_attr {
	uint16_t	type;
	uint16_t	len;
	const void	*data;
};

/* Lists the attributes of a built message, asserting a clean layout. */
static int list_attrs(const void *b, size_t len, struct seen_attr *out,
		      int max)
{
	const struct nlmsghdr *nlh = b;
	const unsigned char *p = (const unsigned char *)b + 16 + 4;
	const unsigned char *end = (const unsigned char *)b + nlh->nlmsg_len;
	int n = 0;

	if (nlh->nlmsg_len != len)
		return -1;
	while (p < end && n < max) {
		const struct nlattr *a = (const void *)p;

		if (a->nla_len < 4 || p + a->nla_len > end)
			return -1;
		out[n].type = a->nla_type;
		out[n].len = a->nla_len - 4;
		out[n].data = a + 1;
		n++;
		p += MNL_ALIGN(a->nla_len);
	}
	return p == end ? n : -1;
}

static uint32_t u32_of(const struct seen_attr *s)
{
	uint32_t v;

	memcpy(&v, s->data, 4);
	return v;
}

TEST(done_layout)
{
	static const char *const tags[] = { "a", "bb", "ccc" };
	uint32_t ra[] = { 123 };
	struct tt_done d = { .status = 0, .sockfd = 7, .remote_auth = ra,
			     .nremote_auth = 1, .tags = tags, .ntags = 3,
			     .tags_supported = true, .max_tags = 64 };
	struct tt_done_stats st;
	struct seen_attr s[16];
	size_t len;
	int n;

	len = tt_nl_build_done(buf, sizeof(buf), 99, FAM, &d, &st);
	seed("done", "three-tags", buf, len);
	CHECK(len == 16 + 4 + 8 + 8 + 8 + 8 + 8 + 8);
	CHECK(((struct nlmsghdr *)buf)->nlmsg_type == FAM);
	CHECK(((struct nlmsghdr *)buf)->nlmsg_flags ==
	      (NLM_F_REQUEST | NLM_F_ACK));
	CHECK(((struct genlmsghdr *)(buf + 16))->cmd == TT_HS_CMD_DONE);
	n = list_attrs(buf, len, s, 16);
	CHECK(n == 6);
	if (n != 6)
		return;
	CHECK(s[0].type == TT_HS_A_DONE_STATUS && s[0].len == 4 && u32_of(&s[0]) == 0);
	CHECK(s[1].type == TT_HS_A_DONE_SOCKFD && s[1].len == 4 && u32_of(&s[1]) == 7);
	CHECK(s[2].type == TT_HS_A_DONE_REMOTE_AUTH && s[2].len == 4 &&
	      u32_of(&s[2]) == 123);
	CHECK(s[3].type == TT_HS_A_DONE_TAG && s[3].len == 2 &&
	      memcmp(s[3].data, "a\0", 2) == 0);
	CHECK(s[4].type == TT_HS_A_DONE_TAG && s[4].len == 3 &&
	      memcmp(s[4].data, "bb\0", 3) == 0);
	CHECK(s[5].type == TT_HS_A_DONE_TAG && s[5].len == 4 &&
	      memcmp(s[5].data, "ccc\0", 4) == 0);
	CHECK(st.tags_sent == 3 && st.tags_over_limit == 0 &&
	      st.tags_invalid == 0 && !st.tags_unsupported);
	/* The padding bytes are zero. */
	CHECK(buf[16 + 4 + 24 + 6] == 0 && buf[16 + 4 + 24 + 7] == 0);
}

TEST(done_truncation)
{
	char names[70][16];
	const char *tags[70];
	struct tt_done d = { .sockfd = 3, .tags = tags, .ntags = 70,
			     .tags_supported = true, .max_tags = 64 };
	struct tt_done_stats st;
	struct seen_attr s[100];
	size_t len;
	int n, ntag = 0;

	for (int i = 0; i < 70; i++) {
		snprintf(names[i], sizeof(names[i]), "t%02d", i);
		tags[i] = names[i];
	}
	len = tt_nl_build_done(buf, sizeof(buf), 1, FAM, &d, &st);
	n = list_attrs(buf, len, s, 100);
	for (int i = 0; i < n; i++)
		if (s[i].type == TT_HS_A_DONE_TAG)
			ntag++;
	CHECK(ntag == 64);
	CHECK(st.tags_sent == 64 && st.tags_over_limit == 6);
	/* The first ones of the sorted list are kept. */
	CHECK(n == 66 && strcmp(s[2].data, "t00") == 0 &&
	      strcmp(s[65].data, "t63") == 0);

	d.max_tags = 2;
	len = tt_nl_build_done(buf, sizeof(buf), 1, FAM, &d, &st);
	n = list_attrs(buf, len, s, 100);
	CHECK(n == 4 && st.tags_sent == 2 && st.tags_over_limit == 68);

	d.max_tags = 0;
	len = tt_nl_build_done(buf, sizeof(buf), 1, FAM, &d, &st);
	n = list_attrs(buf, len, s, 100);
	CHECK(n == 2 && st.tags_sent == 0);
}

TEST(done_unsupported_and_failure)
{
	static const char *const tags[] = { "x", "y" };
	uint32_t ra[] = { 5 };
	struct tt_done d = { .status = 0, .sockfd = 3, .remote_auth = ra,
			     .nremote_auth = 1, .tags = tags, .ntags = 2,
			     .tags_supported = false, .max_tags = 64 };
	struct tt_done_stats st;
	struct seen_attr s[16];
	size_t len;
	int n;

	len = tt_nl_build_done(buf, sizeof(buf), 1, FAM, &d, &st);
	n = list_attrs(buf, len, s, 16);
	CHECK(n == 3);		/* status, sockfd, remote-auth: no tags */
	CHECK(st.tags_unsupported && st.tags_sent == 0);

	/* A failed handshake carries no tags even on a capable kernel. */
	d.tags_supported = true;
	d.status = EACCES;
	d.nremote_auth = 0;
	len = tt_nl_build_done(buf, sizeof(buf), 1, FAM, &d, &st);
	seed("done", "eacces", buf, len);
	n = list_attrs(buf, len, s, 16);
	CHECK(n == 2 && u32_of(&s[0]) == EACCES && st.tags_sent == 0);

	/* A status outside the kernel's 0..MAX_ERRNO becomes EIO. */
	d.status = 5000;
	len = tt_nl_build_done(buf, sizeof(buf), 1, FAM, &d, &st);
	n = list_attrs(buf, len, s, 16);
	CHECK(n == 2 && u32_of(&s[0]) == EIO);
}

TEST(done_invalid_tags)
{
	char longtag[300];
	const char *tags[4];
	struct tt_done d = { .sockfd = 3, .tags = tags, .ntags = 4,
			     .tags_supported = true, .max_tags = 64 };
	struct tt_done_stats st;
	struct seen_attr s[16];
	size_t len;
	int n;

	memset(longtag, 'x', 256);
	longtag[256] = '\0';
	tags[0] = "";
	tags[1] = "ok";
	tags[2] = longtag;
	longtag[255] = '\0';	/* first 255 used below as a legal tag */
	tags[3] = NULL;
	len = tt_nl_build_done(buf, sizeof(buf), 1, FAM, &d, &st);
	n = list_attrs(buf, len, s, 16);
	CHECK(n == 4 && st.tags_sent == 2 && st.tags_invalid == 2);
	CHECK(n == 4 && s[3].len == 256);

	longtag[255] = 'x';	/* 256 bytes: too long */
	len = tt_nl_build_done(buf, sizeof(buf), 1, FAM, &d, &st);
	CHECK(st.tags_sent == 1 && st.tags_invalid == 3);

	/* The kernel's advertised maximum length applies when smaller. */
	tags[1] = "0123456789ab";
	d.tag_max_len = 10;
	len = tt_nl_build_done(buf, sizeof(buf), 1, FAM, &d, &st);
	CHECK(st.tags_sent == 0 && st.tags_invalid == 4);

	/* A buffer too small fails rather than truncating. */
	d.tag_max_len = 0;
	CHECK(tt_nl_build_done(buf, 40, 1, FAM, &d, &st) == 0);
}

/* ---- GETFAMILY / GETPOLICY / READY ---- */

TEST(getfamily)
{
	struct nlmsghdr *nlh;
	struct nlattr *outer, *inner;
	struct tt_family fam;
	size_t len;

	len = tt_nl_build_getfamily(buf, sizeof(buf), 5, "handshake");
	CHECK(len == 16 + 4 + 4 + 12);
	CHECK(((struct nlmsghdr *)buf)->nlmsg_type == GENL_ID_CTRL);

	nlh = msg_start(buf, GENL_ID_CTRL, 5, CTRL_CMD_NEWFAMILY);
	mnl_attr_put_strz(nlh, CTRL_ATTR_FAMILY_NAME, "handshake");
	mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, 0x23);
	mnl_attr_put_u32(nlh, CTRL_ATTR_VERSION, 1);
	outer = mnl_attr_nest_start(nlh, CTRL_ATTR_OPS);
	for (int i = 1; i <= 2; i++) {
		inner = mnl_attr_nest_start(nlh, i);
		mnl_attr_put_u32(nlh, CTRL_ATTR_OP_ID, (uint32_t)i + 1);
		mnl_attr_put_u32(nlh, CTRL_ATTR_OP_FLAGS, 0x1a);
		mnl_attr_nest_end(nlh, inner);
	}
	mnl_attr_nest_end(nlh, outer);
	outer = mnl_attr_nest_start(nlh, CTRL_ATTR_MCAST_GROUPS);
	inner = mnl_attr_nest_start(nlh, 1);
	mnl_attr_put_strz(nlh, CTRL_ATTR_MCAST_GRP_NAME, "none");
	mnl_attr_put_u32(nlh, CTRL_ATTR_MCAST_GRP_ID, 11);
	mnl_attr_nest_end(nlh, inner);
	inner = mnl_attr_nest_start(nlh, 2);
	mnl_attr_put_u32(nlh, CTRL_ATTR_MCAST_GRP_ID, 12);
	mnl_attr_put_strz(nlh, CTRL_ATTR_MCAST_GRP_NAME, "tlshd");
	mnl_attr_nest_end(nlh, inner);
	mnl_attr_nest_end(nlh, outer);
	len = nlh->nlmsg_len;
	seed("ctrl", "family", buf, len);
	CHECK(tt_nl_parse_getfamily(buf, len, 5, &fam) == 0);
	CHECK(fam.id == 0x23 && fam.version == 1 && fam.mcgrp_tlshd == 12);
	CHECK(fam.has_accept && fam.has_done);

	nlh = (void *)buf;
	nlh->nlmsg_len -= 3;
	CHECK(tt_nl_parse_getfamily(buf, nlh->nlmsg_len, 5, &fam) == -EBADMSG);
	CHECK(fam.id == 0);

	len = put_ack(buf, 5, -ENOENT, NULL);
	CHECK(tt_nl_parse_getfamily(buf, len, 5, &fam) == -ENOENT);
	len = put_ack(buf, 5, 0, NULL);
	CHECK(tt_nl_parse_getfamily(buf, len, 5, &fam) == -ENOMSG);
}

/* One GETPOLICY dump message: an op-policy entry. */
static size_t policy_op_msg(void *b, uint32_t op, uint32_t do_idx,
			    int dump_idx)
{
	struct nlmsghdr *nlh = msg_start(b, GENL_ID_CTRL, 8, CTRL_CMD_GETPOLICY);
	struct nlattr *o, *i;

	nlh->nlmsg_flags = NLM_F_MULTI;
	mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, FAM);
	o = mnl_attr_nest_start(nlh, CTRL_ATTR_OP_POLICY);
	i = mnl_attr_nest_start(nlh, (uint16_t)op);
	mnl_attr_put_u32(nlh, CTRL_ATTR_POLICY_DO, do_idx);
	if (dump_idx >= 0)
		mnl_attr_put_u32(nlh, CTRL_ATTR_POLICY_DUMP, (uint32_t)dump_idx);
	mnl_attr_nest_end(nlh, i);
	mnl_attr_nest_end(nlh, o);
	return nlh->nlmsg_len;
}

/* One GETPOLICY dump message: attribute @attr of policy @idx. */
static size_t policy_attr_msg(void *b, uint32_t idx, uint16_t attr,
			      uint32_t type, uint32_t maxlen)
{
	struct nlmsghdr *nlh = msg_start(b, GENL_ID_CTRL, 8, CTRL_CMD_GETPOLICY);
	struct nlattr *p, *i, *a;

	nlh->nlmsg_flags = NLM_F_MULTI;
	mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, FAM);
	p = mnl_attr_nest_start(nlh, CTRL_ATTR_POLICY);
	i = mnl_attr_nest_start(nlh, (uint16_t)idx);
	a = mnl_attr_nest_start(nlh, attr);
	mnl_attr_put_u32(nlh, NL_POLICY_TYPE_ATTR_TYPE, type);
	if (maxlen)
		mnl_attr_put_u32(nlh, NL_POLICY_TYPE_ATTR_MAX_LENGTH, maxlen);
	if (type == NL_ATTR_TYPE_U32)
		mnl_attr_put_u64(nlh, NL_POLICY_TYPE_ATTR_MAX_VALUE_U, 4095);
	mnl_attr_nest_end(nlh, a);
	mnl_attr_nest_end(nlh, i);
	mnl_attr_nest_end(nlh, p);
	return nlh->nlmsg_len;
}

static size_t done_msg(void *b, int err)
{
	struct nlmsghdr *nlh = mnl_nlmsg_put_header(b);
	int32_t *e;

	nlh->nlmsg_type = NLMSG_DONE;
	nlh->nlmsg_flags = NLM_F_MULTI;
	nlh->nlmsg_seq = 8;
	e = mnl_nlmsg_put_extra_header(nlh, sizeof(*e));
	*e = err;
	return nlh->nlmsg_len;
}

/*
 * The dump of DONE's policy as a 6.12 kernel sends it, with or without
 * the tag attribute, all messages in one datagram. Returns its length.
 */
static size_t policy_dump(unsigned char *b, bool with_tag, int tag_idx,
			  uint32_t tag_type, bool finish)
{
	size_t off = 0;

	off += NLMSG_ALIGN(policy_op_msg(b + off, TT_HS_CMD_DONE, 0, -1));
	off += NLMSG_ALIGN(policy_attr_msg(b + off, 0, 1, NL_ATTR_TYPE_U32, 0));
	off += NLMSG_ALIGN(policy_attr_msg(b + off, 0, 2, NL_ATTR_TYPE_S32, 0));
	off += NLMSG_ALIGN(policy_attr_msg(b + off, 0, 3, NL_ATTR_TYPE_U32, 0));
	if (with_tag)
		off += NLMSG_ALIGN(policy_attr_msg(b + off, (uint32_t)tag_idx,
						   4, tag_type, 255));
	if (finish)
		off += done_msg(b + off, 0);
	return off;
}

static int probe(const void *b, size_t len, bool *has, uint32_t *maxlen)
{
	struct tt_policy_probe p;
	int ret;

	tt_policy_probe_init(&p, FAM, TT_HS_CMD_DONE, TT_HS_A_DONE_TAG);
	ret = tt_policy_probe_feed(&p, b, len);
	*has = tt_policy_probe_has_attr(&p, maxlen);
	return ret;
}

TEST(getpolicy)
{
	struct tt_policy_probe p;
	struct nlmsghdr *nlh;
	uint32_t maxlen = 0;
	bool has;
	size_t len, off;

	len = tt_nl_build_getpolicy(buf, sizeof(buf), 8, FAM, TT_HS_CMD_DONE);
	nlh = (void *)buf;
	CHECK(len == 16 + 4 + 8 + 8);
	CHECK(nlh->nlmsg_type == GENL_ID_CTRL);
	CHECK(nlh->nlmsg_flags == (NLM_F_REQUEST | NLM_F_DUMP));
	CHECK(((struct genlmsghdr *)(buf + 16))->cmd == CTRL_CMD_GETPOLICY);

	/* Patched kernel: tags supported. */
	len = policy_dump(buf, true, 0, NL_ATTR_TYPE_STRING, true);
	seed("ctrl", "policy-tags", buf, len);
	CHECK(probe(buf, len, &has, &maxlen) == 1);
	CHECK(has && maxlen == 255);

	/* Stock 6.12: no attribute 4. */
	len = policy_dump(buf, false, 0, 0, true);
	seed("ctrl", "policy-notags", buf, len);
	CHECK(probe(buf, len, &has, &maxlen) == 1);
	CHECK(!has);

	/* Attribute 4 in some other policy than DONE's do-policy. */
	len = policy_dump(buf, true, 1, NL_ATTR_TYPE_STRING, true);
	CHECK(probe(buf, len, &has, &maxlen) == 1);
	CHECK(!has);

	/* Attribute 4 with another type is not our tag. */
	len = policy_dump(buf, true, 0, NL_ATTR_TYPE_U32, true);
	CHECK(probe(buf, len, &has, &maxlen) == 1);
	CHECK(!has);

	/* Incomplete dump (no NLMSG_DONE yet): not decided, so no. */
	len = policy_dump(buf, true, 0, NL_ATTR_TYPE_STRING, false);
	CHECK(probe(buf, len, &has, &maxlen) == 0);
	CHECK(!has);

	/* Fed one message per datagram, as the kernel may send them. */
	tt_policy_probe_init(&p, FAM, TT_HS_CMD_DONE, TT_HS_A_DONE_TAG);
	len = policy_dump(buf, true, 0, NL_ATTR_TYPE_STRING, true);
	off = 0;
	while (off < len) {
		size_t mlen = ((struct nlmsghdr *)(buf + off))->nlmsg_len;
		int r = tt_policy_probe_feed(&p, buf + off, mlen);

		CHECK(r == (off + NLMSG_ALIGN(mlen) >= len ? 1 : 0));
		off += NLMSG_ALIGN(mlen);
	}
	CHECK(tt_policy_probe_has_attr(&p, NULL));

	/* A parse failure after attribute 4 was seen is never success. */
	len = policy_dump(buf, true, 0, NL_ATTR_TYPE_STRING, false);
	nlh = (void *)(buf + len);
	len += done_msg(buf + len, 0);
	{
		unsigned char *last = buf + len - 20 - 8;	/* before DONE */
		(void)last;
	}
	/* cut the 5th message (the tag entry) by 3 bytes */
	{
		size_t o = 0;
		for (int i = 0; i < 4; i++)
			o += NLMSG_ALIGN(((struct nlmsghdr *)(buf + o))->nlmsg_len);
		((struct nlmsghdr *)(buf + o))->nlmsg_len += 3;
	}
	CHECK(probe(buf, len, &has, &maxlen) < 0);
	CHECK(!has);

	/* Kernel errors: unknown op, a dump that ends in error. */
	len = put_ack(buf, 8, -ENOENT, NULL);
	CHECK(probe(buf, len, &has, &maxlen) == -ENOENT);
	CHECK(!has);
	len = policy_dump(buf, true, 0, NL_ATTR_TYPE_STRING, false);
	len += done_msg(buf + len, -EMSGSIZE);
	CHECK(probe(buf, len, &has, &maxlen) == -EMSGSIZE);
	CHECK(!has);

	/* A reply about another family is malformed. */
	nlh = msg_start(buf, GENL_ID_CTRL, 8, CTRL_CMD_GETPOLICY);
	mnl_attr_put_u16(nlh, CTRL_ATTR_FAMILY_ID, FAM + 1);
	len = nlh->nlmsg_len;
	len += done_msg(buf + NLMSG_ALIGN(len), 0);
	CHECK(probe(buf, len, &has, &maxlen) < 0);
	CHECK(!has);

	/* Garbage after NLMSG_DONE. */
	len = policy_dump(buf, true, 0, NL_ATTR_TYPE_STRING, true);
	len += NLMSG_ALIGN(policy_op_msg(buf + len, TT_HS_CMD_DONE, 0, -1));
	CHECK(probe(buf, len, &has, &maxlen) < 0);
	CHECK(!has);
}

TEST(ready)
{
	struct nlmsghdr *nlh;
	size_t off = 0;

	for (uint32_t cls = 1; cls <= 3; cls++) {
		nlh = msg_start(buf + off, FAM, 0, TT_HS_CMD_READY);
		mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_HANDLER_CLASS,
				 cls == 3 ? 1 : cls);
		off += NLMSG_ALIGN(nlh->nlmsg_len);
	}
	seed("ctrl", "ready", buf, off);
	CHECK(tt_nl_count_ready(buf, off, FAM, 1) == 2);
	CHECK(tt_nl_count_ready(buf, off, FAM, 2) == 1);
	CHECK(tt_nl_count_ready(buf, off, FAM + 1, 1) == 0);
	CHECK(tt_nl_count_ready(buf, off - 1, FAM, 1) == -EBADMSG);
}

/* A reply that does not parse still names the socket the kernel installed. */
TEST(accept_sockfd_of_bad_reply)
{
	static char name[2001];
	struct nlmsghdr *nlh;

	memset(name, 'n', sizeof(name) - 1);
	name[sizeof(name) - 1] = '\0';
	nlh = start_reply();
	put_mandatory(nlh, true, true, true);
	mnl_attr_put_strz(nlh, TT_HS_A_ACCEPT_PEERNAME, name);
	expect_bad("peername of 2000 bytes", nlh->nlmsg_len);
	seed("accept", "longname", buf, nlh->nlmsg_len);
	CHECK(tt_nl_accept_sockfd(buf, nlh->nlmsg_len, FAM, SEQ) == 3);
	CHECK(tt_nl_accept_sockfd(buf, nlh->nlmsg_len, FAM, SEQ + 1) == -1);
	CHECK(tt_nl_accept_sockfd(buf, nlh->nlmsg_len, FAM + 1, SEQ) == -1);

	/* Missing message type: unusable, but the fd is known. */
	nlh = start_reply();
	put_mandatory(nlh, true, false, true);
	expect_bad("no message type", nlh->nlmsg_len);
	CHECK(tt_nl_accept_sockfd(buf, nlh->nlmsg_len, FAM, SEQ) == 3);

	/* A malformed attribute after SOCKFD. */
	nlh = start_reply();
	put_mandatory(nlh, true, true, true);
	mnl_attr_put_u16(nlh, TT_HS_A_ACCEPT_TIMEOUT, 5);
	expect_bad("timeout as u16", nlh->nlmsg_len);
	CHECK(tt_nl_accept_sockfd(buf, nlh->nlmsg_len, FAM, SEQ) == 3);

	/* No usable SOCKFD: nothing to answer. */
	nlh = start_reply();
	put_mandatory(nlh, false, true, true);
	CHECK(tt_nl_accept_sockfd(buf, nlh->nlmsg_len, FAM, SEQ) == -1);
	nlh = start_reply();
	mnl_attr_put_u16(nlh, TT_HS_A_ACCEPT_SOCKFD, 3);
	CHECK(tt_nl_accept_sockfd(buf, nlh->nlmsg_len, FAM, SEQ) == -1);
	nlh = start_reply();
	mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_SOCKFD, (uint32_t)-4);
	CHECK(tt_nl_accept_sockfd(buf, nlh->nlmsg_len, FAM, SEQ) == -1);
	nlh = start_reply();
	put_mandatory(nlh, true, true, true);
	mnl_attr_put_u32(nlh, TT_HS_A_ACCEPT_SOCKFD, 4);
	CHECK(tt_nl_accept_sockfd(buf, nlh->nlmsg_len, FAM, SEQ) == -1);
	CHECK(tt_nl_accept_sockfd(buf, 0, FAM, SEQ) == -1);
}

/* Peernames are whatever the consumer passed: up to 1024 bytes. */
TEST(accept_long_peername)
{
	static char name[TT_PEERNAME_MAX + 1];
	struct tt_accept a;
	struct nlmsghdr *nlh;
	unsigned int flags;

	CHECK(TT_PEERNAME_MAX >= 1024);
	memset(name, 'p', 300);
	name[300] = '\0';
	nlh = start_reply();
	put_mandatory(nlh, true, true, true);
	mnl_attr_put_strz(nlh, TT_HS_A_ACCEPT_PEERNAME, name);
	CHECK(parse_acc(buf, nlh->nlmsg_len, &a, &flags) == 0);
	CHECK(a.has_peername && strlen(a.peername) == 300);

	memset(name, 'q', TT_PEERNAME_MAX);
	name[TT_PEERNAME_MAX] = '\0';
	nlh = start_reply();
	put_mandatory(nlh, true, true, true);
	mnl_attr_put_strz(nlh, TT_HS_A_ACCEPT_PEERNAME, name);
	CHECK(parse_acc(buf, nlh->nlmsg_len, &a, &flags) == 0);
	CHECK(a.has_peername && strlen(a.peername) == TT_PEERNAME_MAX);
	CHECK(a.sockfd == 3);
}

/* A READY without a handler class may announce our requests. */
TEST(ready_without_class)
{
	struct nlmsghdr *nlh;

	nlh = msg_start(buf, FAM, 0, TT_HS_CMD_READY);
	CHECK(tt_nl_count_ready(buf, nlh->nlmsg_len, FAM, 1) == 1);
}

/* A receive timeout is no "queue empty". */
TEST(recv_timeout_is_an_error)
{
	CHECK(tt_nl_recv_errno(EAGAIN) == -ETIMEDOUT);
	CHECK(tt_nl_recv_errno(EWOULDBLOCK) == -ETIMEDOUT);
	CHECK(tt_nl_recv_errno(ENOBUFS) == -ENOBUFS);
	CHECK(tt_nl_recv_errno(EINTR) == -EINTR);
}

int main(void)
{
	seed_dir = getenv("TT_SEED_DIR");
	if (seed_dir)
		mkdir(seed_dir, 0755);
	RUN(accept_request_layout);
	RUN(accept_full);
	RUN(accept_minimal);
	RUN(accept_psk);
	RUN(accept_forward_compat);
	RUN(accept_malformed);
	RUN(accept_errors);
	RUN(done_layout);
	RUN(done_truncation);
	RUN(done_unsupported_and_failure);
	RUN(done_invalid_tags);
	RUN(getfamily);
	RUN(getpolicy);
	RUN(ready);
	RUN(accept_sockfd_of_bad_reply);
	RUN(accept_long_peername);
	RUN(ready_without_class);
	RUN(recv_timeout_is_an_error);
	return tt_test_summary();
}
