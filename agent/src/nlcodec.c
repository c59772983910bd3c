// SPDX-License-Identifier: GPL-2.0-only
/*
 * Netlink message building and parsing for tlstagd (pure functions).
 *
 * libmnl supplies the TLV primitives. Its attribute iterators stop quietly
 * at a truncated attribute, so every walk here is followed by a check that
 * the whole payload was consumed: a truncated or overlong message is an
 * error, never a short success.
 */
#include <errno.h>
#include <string.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "nlcodec.h"

#define GENL_HDR_SIZE	MNL_ALIGN(sizeof(struct genlmsghdr))

/* ------------------------------------------------------------------ */
/* Generic helpers                                                    */
/* ------------------------------------------------------------------ */

typedef int (*attr_cb)(const struct nlattr *attr, void *data);

/*
 * Walks the attributes in [start, start + len). Returns 0, the first
 * non-zero callback result, or -EBADMSG when the area does not divide
 * exactly into well-formed attributes (the last one may lack its
 * alignment padding).
 */
static int walk_attrs(const void *start, size_t len, attr_cb cb, void *data)
{
	const unsigned char *p = start;
	size_t left = len;

	while (left > 0) {
		const struct nlattr *attr = (const struct nlattr *)p;
		size_t alen, step;
		int ret;

		if (left < sizeof(*attr))
			return -EBADMSG;
		alen = attr->nla_len;
		if (alen < sizeof(*attr) || alen > left)
			return -EBADMSG;
		ret = cb(attr, data);
		if (ret)
			return ret;
		step = MNL_ALIGN(alen);
		if (step >= left)
			break;
		left -= step;
		p += step;
	}
	return 0;
}

static int walk_nested(const struct nlattr *nest, attr_cb cb, void *data)
{
	return walk_attrs(mnl_attr_get_payload(nest),
			  mnl_attr_get_payload_len(nest), cb, data);
}

static int get_u32(const struct nlattr *attr, uint32_t *v)
{
	if (mnl_attr_get_payload_len(attr) != sizeof(uint32_t))
		return -EINVAL;
	memcpy(v, mnl_attr_get_payload(attr), sizeof(*v));
	return 0;
}

static int get_s32(const struct nlattr *attr, int32_t *v)
{
	if (mnl_attr_get_payload_len(attr) != sizeof(int32_t))
		return -EINVAL;
	memcpy(v, mnl_attr_get_payload(attr), sizeof(*v));
	return 0;
}

static int get_u16(const struct nlattr *attr, uint16_t *v)
{
	if (mnl_attr_get_payload_len(attr) != sizeof(uint16_t))
		return -EINVAL;
	memcpy(v, mnl_attr_get_payload(attr), sizeof(*v));
	return 0;
}

/*
 * A string attribute: must hold exactly one NUL, at its end, and at most
 * @max bytes before it. Returns the string length or a negative errno.
 */
static int get_strz(const struct nlattr *attr, size_t max, const char **out)
{
	const char *s = mnl_attr_get_payload(attr);
	size_t plen = mnl_attr_get_payload_len(attr);
	size_t n;

	if (plen == 0)
		return -EINVAL;
	n = strnlen(s, plen);
	if (n != plen - 1)
		return -EINVAL;	/* missing NUL or embedded NUL */
	if (n > max)
		return -ENAMETOOLONG;
	*out = s;
	return (int)n;
}

/*
 * Iterates the netlink messages of one datagram, calling @cb for each.
 * Returns 0, a callback's non-zero result, or -EBADMSG when the datagram
 * holds a truncated message.
 */
typedef int (*msg_cb)(const struct nlmsghdr *nlh, void *data);

static int walk_msgs(const void *buf, size_t len, msg_cb cb, void *data)
{
	const unsigned char *p = buf;
	size_t left = len;

	if (len == 0)
		return -EBADMSG;
	while (left > 0) {
		const struct nlmsghdr *nlh = (const struct nlmsghdr *)p;
		size_t mlen, step;
		int ret;

		if (left < sizeof(*nlh))
			return -EBADMSG;
		mlen = nlh->nlmsg_len;
		if (mlen < sizeof(*nlh) || mlen > left)
			return -EBADMSG;
		ret = cb(nlh, data);
		if (ret)
			return ret;
		step = NLMSG_ALIGN(mlen);
		if (step >= left)
			break;
		left -= step;
		p += step;
	}
	return 0;
}

/* Genl payload (after the genl header) bounds; -EBADMSG when too short. */
static int genl_payload(const struct nlmsghdr *nlh, const struct genlmsghdr **g,
			const void **attrs, size_t *alen)
{
	size_t plen = nlh->nlmsg_len - MNL_NLMSG_HDRLEN;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN || plen < GENL_HDR_SIZE)
		return -EBADMSG;
	*g = mnl_nlmsg_get_payload(nlh);
	*attrs = (const unsigned char *)*g + GENL_HDR_SIZE;
	*alen = plen - GENL_HDR_SIZE;
	return 0;
}

/*
 * Decodes an NLMSG_ERROR message. Returns the (non-positive) error code,
 * or -EBADMSG when the message is too short. Copies an extended-ACK text
 * into @msg when present.
 */
struct extack_ctx {
	char	*msg;
	size_t	size;
};

static int extack_cb(const struct nlattr *attr, void *data)
{
	struct extack_ctx *x = data;
	const char *s;

	if (mnl_attr_get_type(attr) == NLMSGERR_ATTR_MSG && x->msg &&
	    get_strz(attr, 1024, &s) >= 0)
		snprintf(x->msg, x->size, "%s", s);
	return 0;
}

static int decode_error(const struct nlmsghdr *nlh, char *msg, size_t msgsize)
{
	const struct nlmsgerr *err;
	size_t plen, off;

	if (nlh->nlmsg_len < MNL_NLMSG_HDRLEN + sizeof(*err))
		return -EBADMSG;
	err = mnl_nlmsg_get_payload(nlh);
	if (err->error > 0)
		return -EBADMSG;
	if (msg && msgsize)
		msg[0] = '\0';
	if (!(nlh->nlmsg_flags & NLM_F_ACK_TLVS))
		return err->error;
	plen = nlh->nlmsg_len - MNL_NLMSG_HDRLEN;
	off = sizeof(*err);
	if (!(nlh->nlmsg_flags & NLM_F_CAPPED)) {
		if (err->msg.nlmsg_len < MNL_NLMSG_HDRLEN)
			return -EBADMSG;
		off += NLMSG_ALIGN(err->msg.nlmsg_len - MNL_NLMSG_HDRLEN);
	}
	if (off <= plen) {
		struct extack_ctx x = { msg, msgsize };
		/* Extended ACK text is advisory: a malformed one is ignored. */
		(void)walk_attrs((const unsigned char *)err + off, plen - off,
				 extack_cb, &x);
	}
	return err->error;
}

static struct nlmsghdr *put_genl_header(void *buf, size_t size, uint16_t type,
					uint16_t flags, uint32_t seq,
					uint8_t cmd, uint8_t version)
{
	struct nlmsghdr *nlh;
	struct genlmsghdr *g;

	if (size < MNL_NLMSG_HDRLEN + GENL_HDR_SIZE)
		return NULL;
	nlh = mnl_nlmsg_put_header(buf);
	nlh->nlmsg_type = type;
	nlh->nlmsg_flags = flags;
	nlh->nlmsg_seq = seq;
	g = mnl_nlmsg_put_extra_header(nlh, GENL_HDR_SIZE);
	g->cmd = cmd;
	g->version = version;
	return nlh;
}

/* ------------------------------------------------------------------ */
/* GETFAMILY                                                          */
/* ------------------------------------------------------------------ */

size_t tt_nl_build_getfamily(void *buf, size_t size, uint32_t seq,
			     const char *name)
{
	struct nlmsghdr *nlh;

	nlh = put_genl_header(buf, size, GENL_ID_CTRL,
			      NLM_F_REQUEST | NLM_F_ACK, seq,
			      CTRL_CMD_GETFAMILY, 1);
	if (!nlh || !mnl_attr_put_strz_check(nlh, size, CTRL_ATTR_FAMILY_NAME,
					     name))
		return 0;
	return nlh->nlmsg_len;
}

struct family_ctx {
	struct tt_family	*fam;
	uint32_t		seq;
	bool			got;
	int			err;
	/* per-entry scratch */
	const char		*grp_name;
	uint32_t		grp_id;
	bool			grp_has_id;
	uint32_t		op_id;
	bool			op_has_id;
};

static int mcgrp_attr_cb(const struct nlattr *attr, void *data)
{
	struct family_ctx *c = data;

	switch (mnl_attr_get_type(attr)) {
	case CTRL_ATTR_MCAST_GRP_NAME:
		if (get_strz(attr, GENL_NAMSIZ, &c->grp_name) < 0)
			return -EBADMSG;
		break;
	case CTRL_ATTR_MCAST_GRP_ID:
		if (get_u32(attr, &c->grp_id))
			return -EBADMSG;
		c->grp_has_id = true;
		break;
	}
	return 0;
}

static int mcgrp_cb(const struct nlattr *attr, void *data)
{
	struct family_ctx *c = data;
	int ret;

	c->grp_name = NULL;
	c->grp_has_id = false;
	ret = walk_nested(attr, mcgrp_attr_cb, c);
	if (ret)
		return ret;
	if (c->grp_name && c->grp_has_id &&
	    strcmp(c->grp_name, TT_HS_MCGRP_TLSHD) == 0)
		c->fam->mcgrp_tlshd = c->grp_id;
	return 0;
}

static int op_attr_cb(const struct nlattr *attr, void *data)
{
	struct family_ctx *c = data;

	if (mnl_attr_get_type(attr) == CTRL_ATTR_OP_ID) {
		if (get_u32(attr, &c->op_id))
			return -EBADMSG;
		c->op_has_id = true;
	}
	return 0;
}

static int op_cb(const struct nlattr *attr, void *data)
{
	struct family_ctx *c = data;
	int ret;

	c->op_has_id = false;
	ret = walk_nested(attr, op_attr_cb, c);
	if (ret)
		return ret;
	if (c->op_has_id && c->op_id == TT_HS_CMD_ACCEPT)
		c->fam->has_accept = true;
	if (c->op_has_id && c->op_id == TT_HS_CMD_DONE)
		c->fam->has_done = true;
	return 0;
}

static int family_attr_cb(const struct nlattr *attr, void *data)
{
	struct family_ctx *c = data;

	switch (mnl_attr_get_type(attr)) {
	case CTRL_ATTR_FAMILY_ID:
		if (get_u16(attr, &c->fam->id))
			return -EBADMSG;
		break;
	case CTRL_ATTR_VERSION:
		if (get_u32(attr, &c->fam->version))
			return -EBADMSG;
		break;
	case CTRL_ATTR_MCAST_GROUPS:
		return walk_nested(attr, mcgrp_cb, c);
	case CTRL_ATTR_OPS:
		return walk_nested(attr, op_cb, c);
	}
	return 0;
}

static int family_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct family_ctx *c = data;
	const struct genlmsghdr *g;
	const void *attrs;
	size_t alen;
	int ret;

	if (nlh->nlmsg_seq != c->seq)
		return 0;
	if (nlh->nlmsg_type == NLMSG_ERROR) {
		ret = decode_error(nlh, NULL, 0);
		if (ret < 0) {
			c->err = ret;
			return ret;
		}
		return 0;	/* the ACK after the reply */
	}
	if (nlh->nlmsg_type != GENL_ID_CTRL)
		return 0;
	if (genl_payload(nlh, &g, &attrs, &alen))
		return -EBADMSG;
	if (g->cmd != CTRL_CMD_NEWFAMILY)
		return 0;
	ret = walk_attrs(attrs, alen, family_attr_cb, c);
	if (ret)
		return ret;
	if (c->fam->id == 0)
		return -EBADMSG;
	c->got = true;
	return 0;
}

int tt_nl_parse_getfamily(const void *buf, size_t len, uint32_t seq,
			  struct tt_family *fam)
{
	struct family_ctx c = { .fam = fam, .seq = seq };
	int ret;

	memset(fam, 0, sizeof(*fam));
	ret = walk_msgs(buf, len, family_msg_cb, &c);
	if (ret < 0) {
		memset(fam, 0, sizeof(*fam));
		return ret == -EBADMSG || c.err ? ret : -EBADMSG;
	}
	if (!c.got) {
		memset(fam, 0, sizeof(*fam));
		return -ENOMSG;
	}
	return 0;
}

/* ------------------------------------------------------------------ */
/* GETPOLICY                                                          */
/* ------------------------------------------------------------------ */

size_t tt_nl_build_getpolicy(void *buf, size_t size, uint32_t seq,
			     uint16_t family_id, uint32_t op)
{
	struct nlmsghdr *nlh;

	nlh = put_genl_header(buf, size, GENL_ID_CTRL,
			      NLM_F_REQUEST | NLM_F_DUMP, seq,
			      CTRL_CMD_GETPOLICY, 1);
	if (!nlh ||
	    !mnl_attr_put_u16_check(nlh, size, CTRL_ATTR_FAMILY_ID, family_id) ||
	    !mnl_attr_put_u32_check(nlh, size, CTRL_ATTR_OP, op))
		return 0;
	return nlh->nlmsg_len;
}

void tt_policy_probe_init(struct tt_policy_probe *p, uint16_t family_id,
			  uint32_t op, uint32_t attr)
{
	memset(p, 0, sizeof(*p));
	p->family_id = family_id;
	p->op = op;
	p->attr = attr;
}

struct probe_ctx {
	struct tt_policy_probe	*p;
	uint32_t		cur_policy;
	uint32_t		cur_op;
	uint32_t		type;
	uint32_t		maxlen;
};

static int op_policy_inner_cb(const struct nlattr *attr, void *data)
{
	struct probe_ctx *c = data;
	uint32_t v;

	if (mnl_attr_get_type(attr) == CTRL_ATTR_POLICY_DO) {
		if (get_u32(attr, &v))
			return -EBADMSG;
		if (c->cur_op == c->p->op) {
			c->p->do_idx = v;
			c->p->have_do_idx = true;
		}
	} else if (mnl_attr_get_type(attr) == CTRL_ATTR_POLICY_DUMP) {
		if (get_u32(attr, &v))
			return -EBADMSG;
	}
	return 0;
}

static int op_policy_cb(const struct nlattr *attr, void *data)
{
	struct probe_ctx *c = data;

	c->cur_op = mnl_attr_get_type(attr);
	return walk_nested(attr, op_policy_inner_cb, c);
}

static int attr_desc_cb(const struct nlattr *attr, void *data)
{
	struct probe_ctx *c = data;

	switch (mnl_attr_get_type(attr)) {
	case NL_POLICY_TYPE_ATTR_TYPE:
		if (get_u32(attr, &c->type))
			return -EBADMSG;
		break;
	case NL_POLICY_TYPE_ATTR_MAX_LENGTH:
		if (get_u32(attr, &c->maxlen))
			return -EBADMSG;
		break;
	}
	return 0;
}

static int policy_attr_cb(const struct nlattr *attr, void *data)
{
	struct probe_ctx *c = data;
	uint32_t a = mnl_attr_get_type(attr);
	int ret;

	c->type = 0;
	c->maxlen = 0;
	ret = walk_nested(attr, attr_desc_cb, c);
	if (ret)
		return ret;
	if (a == c->p->attr && c->cur_policy < 64) {
		c->p->attr_seen |= UINT64_C(1) << c->cur_policy;
		c->p->attr_type[c->cur_policy] = c->type;
		c->p->attr_maxlen[c->cur_policy] = c->maxlen;
	}
	return 0;
}

static int policy_cb(const struct nlattr *attr, void *data)
{
	struct probe_ctx *c = data;

	c->cur_policy = mnl_attr_get_type(attr);
	return walk_nested(attr, policy_attr_cb, c);
}

static int probe_attr_cb(const struct nlattr *attr, void *data)
{
	struct probe_ctx *c = data;
	uint16_t id;

	switch (mnl_attr_get_type(attr)) {
	case CTRL_ATTR_FAMILY_ID:
		if (get_u16(attr, &id))
			return -EBADMSG;
		if (id != c->p->family_id)
			return -EBADMSG;
		break;
	case CTRL_ATTR_OP_POLICY:
		return walk_nested(attr, op_policy_cb, c);
	case CTRL_ATTR_POLICY:
		return walk_nested(attr, policy_cb, c);
	}
	return 0;
}

static int probe_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct probe_ctx *c = data;
	const struct genlmsghdr *g;
	const void *attrs;
	size_t alen;
	int32_t derr;
	int ret;

	if (c->p->done)
		return -EBADMSG;	/* anything after DONE is garbage */
	switch (nlh->nlmsg_type) {
	case NLMSG_NOOP:
		return 0;
	case NLMSG_ERROR:
		ret = decode_error(nlh, NULL, 0);
		return ret < 0 ? ret : 0;
	case NLMSG_DONE:
		if (nlh->nlmsg_len >= MNL_NLMSG_HDRLEN + sizeof(derr)) {
			memcpy(&derr, mnl_nlmsg_get_payload(nlh), sizeof(derr));
			if (derr < 0)
				return derr;
		}
		c->p->done = true;
		return 0;
	case GENL_ID_CTRL:
		break;
	default:
		return -EBADMSG;
	}
	if (genl_payload(nlh, &g, &attrs, &alen))
		return -EBADMSG;
	if (g->cmd != CTRL_CMD_GETPOLICY)
		return -EBADMSG;
	c->p->nmsgs++;
	return walk_attrs(attrs, alen, probe_attr_cb, c);
}

int tt_policy_probe_feed(struct tt_policy_probe *p, const void *buf, size_t len)
{
	struct probe_ctx c = { .p = p };
	int ret;

	if (p->error)
		return p->error;
	ret = walk_msgs(buf, len, probe_msg_cb, &c);
	if (ret < 0) {
		p->error = ret;
		p->done = false;
		return ret;
	}
	if (ret > 0) {
		p->error = -EBADMSG;
		return p->error;
	}
	return p->done ? 1 : 0;
}

bool tt_policy_probe_has_attr(const struct tt_policy_probe *p,
			      uint32_t *maxlen)
{
	uint32_t t;

	if (maxlen)
		*maxlen = 0;
	if (!p->done || p->error || !p->have_do_idx || p->do_idx >= 64)
		return false;
	if (!(p->attr_seen & (UINT64_C(1) << p->do_idx)))
		return false;
	t = p->attr_type[p->do_idx];
	if (t != NL_ATTR_TYPE_STRING && t != NL_ATTR_TYPE_NUL_STRING)
		return false;
	if (maxlen)
		*maxlen = p->attr_maxlen[p->do_idx];
	return true;
}

/* ------------------------------------------------------------------ */
/* ACCEPT and READY                                                   */
/* ------------------------------------------------------------------ */

size_t tt_nl_build_accept(void *buf, size_t size, uint32_t seq,
			  uint16_t family_id, uint32_t handler_class)
{
	struct nlmsghdr *nlh;

	nlh = put_genl_header(buf, size, family_id, NLM_F_REQUEST | NLM_F_ACK,
			      seq, TT_HS_CMD_ACCEPT, 1);
	if (!nlh || !mnl_attr_put_u32_check(nlh, size,
					    TT_HS_A_ACCEPT_HANDLER_CLASS,
					    handler_class))
		return 0;
	return nlh->nlmsg_len;
}

struct accept_ctx {
	struct tt_accept	*acc;
	uint16_t		family_id;
	uint32_t		seq;
	unsigned int		flags;
	uint32_t		seen;	/* bit per singleton attribute */
	bool			cert_has_c, cert_has_k;
};

static int x509_cb(const struct nlattr *attr, void *data)
{
	struct accept_ctx *c = data;

	switch (mnl_attr_get_type(attr)) {
	case TT_HS_A_X509_CERT:
		if (c->cert_has_c || get_s32(attr, &c->acc->cert_serial))
			return -EINVAL;
		c->cert_has_c = true;
		break;
	case TT_HS_A_X509_PRIVKEY:
		if (c->cert_has_k || get_s32(attr, &c->acc->privkey_serial))
			return -EINVAL;
		c->cert_has_k = true;
		break;
	}
	return 0;
}

static int accept_attr_cb(const struct nlattr *attr, void *data)
{
	struct accept_ctx *c = data;
	struct tt_accept *a = c->acc;
	uint16_t type = mnl_attr_get_type(attr);
	const char *s;
	int ret;

	/* Singleton attributes may appear once. */
	if (type <= TT_HS_A_ACCEPT_MAX && type != TT_HS_A_ACCEPT_PEER_IDENTITY &&
	    type != TT_HS_A_ACCEPT_CERTIFICATE) {
		if (c->seen & (1u << type))
			return -EINVAL;
		c->seen |= 1u << type;
	}

	switch (type) {
	case TT_HS_A_ACCEPT_SOCKFD:
		if (get_s32(attr, &a->sockfd) || a->sockfd < 0)
			return -EINVAL;
		break;
	case TT_HS_A_ACCEPT_HANDLER_CLASS:
		if (get_u32(attr, &a->handler_class))
			return -EINVAL;
		break;
	case TT_HS_A_ACCEPT_MESSAGE_TYPE:
		if (get_u32(attr, &a->message_type))
			return -EINVAL;
		if (a->message_type != TT_HS_MSG_TYPE_CLIENTHELLO &&
		    a->message_type != TT_HS_MSG_TYPE_SERVERHELLO)
			return -EINVAL;
		break;
	case TT_HS_A_ACCEPT_TIMEOUT:
		if (get_u32(attr, &a->timeout_ms))
			return -EINVAL;
		break;
	case TT_HS_A_ACCEPT_AUTH_MODE:
		if (get_u32(attr, &a->auth_mode))
			return -EINVAL;
		if (a->auth_mode < TT_HS_AUTH_UNAUTH ||
		    a->auth_mode > TT_HS_AUTH_X509)
			return -EINVAL;
		break;
	case TT_HS_A_ACCEPT_PEER_IDENTITY:
		if (a->npeerids >= TT_MAX_PEERIDS)
			return -E2BIG;
		if (get_u32(attr, &a->peerids[a->npeerids]))
			return -EINVAL;
		a->npeerids++;
		break;
	case TT_HS_A_ACCEPT_CERTIFICATE:
		/* Multi-attr in the spec; the kernel sends one. Use the first. */
		if (a->has_cert)
			break;
		ret = walk_nested(attr, x509_cb, c);
		if (ret)
			return ret == -EBADMSG ? ret : -EINVAL;
		if (!c->cert_has_c || !c->cert_has_k)
			return -EINVAL;
		a->has_cert = true;
		break;
	case TT_HS_A_ACCEPT_PEERNAME:
		ret = get_strz(attr, TT_PEERNAME_MAX, &s);
		if (ret < 0)
			return -EINVAL;
		/* An empty name is no name. */
		if (ret > 0) {
			memcpy(a->peername, s, (size_t)ret + 1);
			a->has_peername = true;
		}
		break;
	case TT_HS_A_ACCEPT_KEYRING:
		if (get_u32(attr, &a->keyring))
			return -EINVAL;
		a->has_keyring = true;
		break;
	case TT_HS_A_ACCEPT_MAX_TAGS:
		if (get_u32(attr, &a->max_tags))
			return -EINVAL;
		a->has_max_tags = true;
		break;
	default:
		/* Newer kernels may add attributes: ignore them. */
		break;
	}
	return 0;
}

static int accept_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct accept_ctx *c = data;
	const struct genlmsghdr *g;
	const void *attrs;
	size_t alen;
	int ret;

	if (nlh->nlmsg_type == NLMSG_ERROR) {
		if (nlh->nlmsg_seq != c->seq)
			return 0;
		ret = decode_error(nlh, NULL, 0);
		if (ret < 0)
			return ret;
		c->flags |= TT_ACCEPT_GOT_ACK;
		return 0;
	}
	if (nlh->nlmsg_type == NLMSG_NOOP || nlh->nlmsg_type == NLMSG_DONE)
		return 0;
	if (nlh->nlmsg_type != c->family_id || nlh->nlmsg_seq != c->seq)
		return 0;	/* not ours (a late message): skip */
	if (genl_payload(nlh, &g, &attrs, &alen))
		return -EBADMSG;
	if (g->cmd != TT_HS_CMD_ACCEPT)
		return 0;
	if (c->flags & TT_ACCEPT_GOT_REPLY)
		return -EINVAL;		/* one reply per request */

	ret = walk_attrs(attrs, alen, accept_attr_cb, c);
	if (ret)
		return ret == -EBADMSG ? ret : -EINVAL;
	if (!(c->seen & (1u << TT_HS_A_ACCEPT_SOCKFD)) ||
	    !(c->seen & (1u << TT_HS_A_ACCEPT_MESSAGE_TYPE)) ||
	    !(c->seen & (1u << TT_HS_A_ACCEPT_AUTH_MODE)))
		return -EINVAL;
	if (!c->acc->has_max_tags)
		c->acc->max_tags = TT_HS_DEFAULT_MAX_TAGS;
	c->flags |= TT_ACCEPT_GOT_REPLY;
	return 0;
}

int tt_nl_parse_accept(const void *buf, size_t len, uint16_t family_id,
		       uint32_t seq, struct tt_accept *acc,
		       unsigned int *flags)
{
	struct tt_accept tmp;
	struct accept_ctx c = { .acc = &tmp, .family_id = family_id,
				.seq = seq };
	int ret;

	/*
	 * The reply and the ACK arrive in separate datagrams: a reply parsed
	 * from an earlier one stays in @acc, and a second reply is an error.
	 */
	memset(&tmp, 0, sizeof(tmp));
	c.flags = *flags & TT_ACCEPT_GOT_REPLY;
	ret = walk_msgs(buf, len, accept_msg_cb, &c);
	if (ret < 0) {
		memset(acc, 0, sizeof(*acc));
		*flags = 0;
		return ret;
	}
	if ((c.flags & TT_ACCEPT_GOT_REPLY) && !(*flags & TT_ACCEPT_GOT_REPLY))
		*acc = tmp;
	*flags |= c.flags;
	return 0;
}

struct fd_ctx {
	uint16_t	family_id;
	uint32_t	seq;
	int32_t		fd;
	int		nfd;
};

static int fd_attr_cb(const struct nlattr *attr, void *data)
{
	struct fd_ctx *c = data;
	int32_t v;

	if (mnl_attr_get_type(attr) != TT_HS_A_ACCEPT_SOCKFD)
		return 0;
	c->nfd++;
	if (get_s32(attr, &v) == 0 && v >= 0)
		c->fd = v;
	return 0;
}

static int fd_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct fd_ctx *c = data;
	const struct genlmsghdr *g;
	const void *attrs;
	size_t alen;

	if (nlh->nlmsg_type != c->family_id || nlh->nlmsg_seq != c->seq)
		return 0;
	if (genl_payload(nlh, &g, &attrs, &alen) || g->cmd != TT_HS_CMD_ACCEPT)
		return 0;
	(void)walk_attrs(attrs, alen, fd_attr_cb, c);
	return 0;
}

int32_t tt_nl_accept_sockfd(const void *buf, size_t len, uint16_t family_id,
			    uint32_t seq)
{
	struct fd_ctx c = { .family_id = family_id, .seq = seq, .fd = -1 };

	/* Best effort over whatever parses: this is the error path. */
	(void)walk_msgs(buf, len, fd_msg_cb, &c);
	return c.nfd == 1 ? c.fd : -1;
}

struct ready_ctx {
	uint16_t	family_id;
	uint32_t	handler_class;
	int		count;
	uint32_t	cls;
	bool		has_cls;
};

static int ready_attr_cb(const struct nlattr *attr, void *data)
{
	struct ready_ctx *c = data;

	if (mnl_attr_get_type(attr) == TT_HS_A_ACCEPT_HANDLER_CLASS) {
		if (get_u32(attr, &c->cls))
			return -EBADMSG;
		c->has_cls = true;
	}
	return 0;
}

static int ready_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ready_ctx *c = data;
	const struct genlmsghdr *g;
	const void *attrs;
	size_t alen;
	int ret;

	if (nlh->nlmsg_type != c->family_id)
		return 0;
	if (genl_payload(nlh, &g, &attrs, &alen))
		return -EBADMSG;
	if (g->cmd != TT_HS_CMD_READY)
		return 0;
	c->has_cls = false;
	ret = walk_attrs(attrs, alen, ready_attr_cb, c);
	if (ret)
		return -EBADMSG;
	if (!c->has_cls || c->cls == c->handler_class)
		c->count++;
	return 0;
}

int tt_nl_count_ready(const void *buf, size_t len, uint16_t family_id,
		      uint32_t handler_class)
{
	struct ready_ctx c = { .family_id = family_id,
			       .handler_class = handler_class };
	int ret;

	ret = walk_msgs(buf, len, ready_msg_cb, &c);
	if (ret < 0)
		return ret;
	return c.count;
}

/* ------------------------------------------------------------------ */
/* DONE                                                               */
/* ------------------------------------------------------------------ */

size_t tt_nl_build_done(void *buf, size_t size, uint32_t seq,
			uint16_t family_id, const struct tt_done *d,
			struct tt_done_stats *stats)
{
	struct tt_done_stats st = { 0 };
	struct nlmsghdr *nlh;
	unsigned int i, maxlen;
	uint32_t status = d->status;

	if (status > TT_HS_MAX_ERRNO)
		status = EIO;
	nlh = put_genl_header(buf, size, family_id, NLM_F_REQUEST | NLM_F_ACK,
			      seq, TT_HS_CMD_DONE, 1);
	if (!nlh)
		return 0;
	if (!mnl_attr_put_u32_check(nlh, size, TT_HS_A_DONE_STATUS, status) ||
	    !mnl_attr_put_u32_check(nlh, size, TT_HS_A_DONE_SOCKFD,
				    (uint32_t)d->sockfd))
		return 0;
	for (i = 0; i < d->nremote_auth; i++)
		if (!mnl_attr_put_u32_check(nlh, size,
					    TT_HS_A_DONE_REMOTE_AUTH,
					    d->remote_auth[i]))
			return 0;

	maxlen = d->tag_max_len ? d->tag_max_len : TT_HS_SESSION_TAG_MAX_LEN;
	if (maxlen > TT_HS_SESSION_TAG_MAX_LEN)
		maxlen = TT_HS_SESSION_TAG_MAX_LEN;
	if (status == 0 && d->ntags > 0 && !d->tags_supported)
		st.tags_unsupported = true;
	if (status == 0 && d->tags_supported) {
		for (i = 0; i < d->ntags; i++) {
			const char *t = d->tags[i];
			size_t n = t ? strlen(t) : 0;

			if (n == 0 || n > maxlen) {
				st.tags_invalid++;
				continue;
			}
			if (st.tags_sent >= d->max_tags) {
				st.tags_over_limit++;
				continue;
			}
			if (!mnl_attr_put_strz_check(nlh, size,
						     TT_HS_A_DONE_TAG, t))
				return 0;
			st.tags_sent++;
		}
	}
	if (stats)
		*stats = st;
	return nlh->nlmsg_len;
}

struct ack_ctx {
	uint32_t	seq;
	char		*msg;
	size_t		msgsize;
	int		result;
};

static int ack_msg_cb(const struct nlmsghdr *nlh, void *data)
{
	struct ack_ctx *c = data;
	int ret;

	if (nlh->nlmsg_type != NLMSG_ERROR || nlh->nlmsg_seq != c->seq)
		return 0;
	ret = decode_error(nlh, c->msg, c->msgsize);
	if (ret == -EBADMSG)
		return ret;
	c->result = ret < 0 ? ret : 1;
	return 0;
}

int tt_nl_parse_ack(const void *buf, size_t len, uint32_t seq,
		    char *msg, size_t msgsize)
{
	struct ack_ctx c = { .seq = seq, .msg = msg, .msgsize = msgsize };
	int ret;

	if (msg && msgsize)
		msg[0] = '\0';
	ret = walk_msgs(buf, len, ack_msg_cb, &c);
	if (ret < 0)
		return ret;
	return c.result;
}
