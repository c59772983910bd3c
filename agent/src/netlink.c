// SPDX-License-Identifier: GPL-2.0-only
/*
 * Netlink socket I/O on top of the pure codec (nlcodec.c), using libmnl.
 */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <time.h>

#include <libmnl/libmnl.h>
#include <linux/genetlink.h>
#include <linux/netlink.h>

#include "log.h"
#include "netlink.h"

#define TT_NL_TIMEOUT_S	5

int tt_nl_open(struct tt_nl *nl)
{
	struct timeval tv = { .tv_sec = TT_NL_TIMEOUT_S };
	int one = 1;

	memset(nl, 0, sizeof(*nl));
	nl->sk = mnl_socket_open2(NETLINK_GENERIC, SOCK_CLOEXEC);
	if (!nl->sk)
		return -errno;
	if (mnl_socket_bind(nl->sk, 0, MNL_SOCKET_AUTOPID) < 0) {
		int err = -errno;

		mnl_socket_close(nl->sk);
		nl->sk = NULL;
		return err;
	}
	/* Both are advisory: older kernels lack them. */
	(void)mnl_socket_setsockopt(nl->sk, NETLINK_EXT_ACK, &one, sizeof(one));
	(void)mnl_socket_setsockopt(nl->sk, NETLINK_CAP_ACK, &one, sizeof(one));
	(void)setsockopt(mnl_socket_get_fd(nl->sk), SOL_SOCKET, SO_RCVTIMEO,
			 &tv, sizeof(tv));
	nl->portid = mnl_socket_get_portid(nl->sk);
	nl->seq = (uint32_t)time(NULL);
	return 0;
}

void tt_nl_close(struct tt_nl *nl)
{
	if (nl->sk)
		mnl_socket_close(nl->sk);
	nl->sk = NULL;
}

int tt_nl_fd(const struct tt_nl *nl)
{
	return mnl_socket_get_fd(nl->sk);
}

static int send_msg(struct tt_nl *nl, const void *buf, size_t len)
{
	ssize_t n = mnl_socket_sendto(nl->sk, buf, len);

	if (n < 0)
		return -errno;
	/* A short send is a failure, never "supported" or "done". */
	if ((size_t)n != len)
		return -EIO;
	return 0;
}

int tt_nl_recv_errno(int err)
{
	/*
	 * On this blocking socket EAGAIN means SO_RCVTIMEO ran out: the
	 * kernel did not answer. Never let that read as "queue empty".
	 */
	return err == EAGAIN || err == EWOULDBLOCK ? -ETIMEDOUT : -err;
}

static ssize_t recv_msg(struct tt_nl *nl, void *buf, size_t len)
{
	ssize_t n = mnl_socket_recvfrom(nl->sk, buf, len);

	if (n < 0)
		return tt_nl_recv_errno(errno);
	if (n == 0)
		return -EBADMSG;
	return n;
}

int tt_nl_get_family(struct tt_nl *nl, const char *name,
		     struct tt_family *fam)
{
	unsigned char buf[TT_NL_BUFSIZE];
	uint32_t seq = ++nl->seq;
	size_t len;
	ssize_t n;
	int ret;

	len = tt_nl_build_getfamily(buf, sizeof(buf), seq, name);
	if (!len)
		return -EMSGSIZE;
	ret = send_msg(nl, buf, len);
	if (ret)
		return ret;
	/* The reply, then the ACK; the reply is what we need. */
	for (int i = 0; i < 4; i++) {
		n = recv_msg(nl, buf, sizeof(buf));
		if (n < 0)
			return (int)n;
		ret = tt_nl_parse_getfamily(buf, (size_t)n, seq, fam);
		if (ret != -ENOMSG)
			break;
	}
	if (ret == 0) {
		/* Consume the trailing ACK so the next request starts clean. */
		n = recv_msg(nl, buf, sizeof(buf));
		if (n > 0 && tt_nl_parse_ack(buf, (size_t)n, seq, NULL, 0) < 0)
			tt_debug("GETFAMILY: unexpected trailing error");
	}
	return ret;
}

int tt_nl_probe_attr(struct tt_nl *nl, uint16_t family_id, uint32_t op,
		     uint32_t attr, bool *has, uint32_t *maxlen)
{
	unsigned char buf[TT_NL_BUFSIZE];
	struct tt_policy_probe probe;
	uint32_t seq = ++nl->seq;
	size_t len;
	ssize_t n;
	int ret;

	*has = false;
	*maxlen = 0;
	len = tt_nl_build_getpolicy(buf, sizeof(buf), seq, family_id, op);
	if (!len)
		return -EMSGSIZE;
	ret = send_msg(nl, buf, len);
	if (ret)
		return ret;
	tt_policy_probe_init(&probe, family_id, op, attr);
	for (int i = 0; i < 4096; i++) {
		n = recv_msg(nl, buf, sizeof(buf));
		if (n < 0)
			return (int)n;
		ret = tt_policy_probe_feed(&probe, buf, (size_t)n);
		if (ret < 0)
			return ret;
		if (ret == 1)
			break;
	}
	if (!probe.done)
		return -EBADMSG;
	if (!probe.have_do_idx)
		tt_debug("GETPOLICY: no do-policy reported for op %u", op);
	*has = tt_policy_probe_has_attr(&probe, maxlen);
	return 0;
}

int tt_nl_discover(struct tt_nl *nl, struct tt_caps *caps)
{
	int ret;

	memset(caps, 0, sizeof(*caps));
	ret = tt_nl_get_family(nl, TT_HS_FAMILY_NAME, &caps->fam);
	if (ret < 0)
		return ret;
	ret = tt_nl_probe_attr(nl, caps->fam.id, TT_HS_CMD_DONE,
			       TT_HS_A_DONE_TAG, &caps->tags,
			       &caps->tag_max_len);
	if (ret < 0) {
		caps->tags = false;
		caps->probe_err = ret;
	}
	/* Reconnect-free resync: drop anything left (late ACKs). */
	for (;;) {
		unsigned char buf[4096];

		if (recv(mnl_socket_get_fd(nl->sk), buf, sizeof(buf),
			 MSG_DONTWAIT) <= 0)
			break;
	}
	return 0;
}

void tt_caps_describe(const struct tt_caps *caps, char *buf, size_t len)
{
	char tags[96];

	if (caps->tags)
		snprintf(tags, sizeof(tags), "yes (DONE attribute 4, max length %u)",
			 caps->tag_max_len ? caps->tag_max_len :
					     TT_HS_SESSION_TAG_MAX_LEN);
	else if (caps->probe_err)
		snprintf(tags, sizeof(tags), "no (policy probe failed: %s)",
			 strerror(-caps->probe_err));
	else
		snprintf(tags, sizeof(tags), "no (DONE policy lacks attribute 4)");
	snprintf(buf, len,
		 "kernel: handshake family present (id %u, version %u), "
		 "tlshd group %s, ACCEPT %s, DONE %s, session tags %s",
		 caps->fam.id, caps->fam.version,
		 caps->fam.mcgrp_tlshd ? "yes" : "MISSING",
		 caps->fam.has_accept ? "yes" : "MISSING",
		 caps->fam.has_done ? "yes" : "MISSING", tags);
}

int tt_nl_join_group(struct tt_nl *nl, uint32_t group)
{
	int g = (int)group;

	if (mnl_socket_setsockopt(nl->sk, NETLINK_ADD_MEMBERSHIP, &g,
				  sizeof(g)) < 0)
		return -errno;
	return 0;
}

int tt_nl_accept(struct tt_nl *nl, uint16_t family_id, struct tt_accept *acc)
{
	unsigned char buf[TT_NL_BUFSIZE];
	uint32_t seq = ++nl->seq;
	unsigned int flags = 0;
	int32_t fd = -1;
	size_t len;
	ssize_t n;
	int ret;

	memset(acc, 0, sizeof(*acc));
	acc->sockfd = -1;
	len = tt_nl_build_accept(buf, sizeof(buf), seq, family_id,
				 TT_HS_HANDLER_CLASS_TLSHD);
	if (!len)
		return -EMSGSIZE;
	ret = send_msg(nl, buf, len);
	if (ret)
		return ret;
	while (!(flags & TT_ACCEPT_GOT_ACK)) {
		n = recv_msg(nl, buf, sizeof(buf));
		if (n < 0) {
			ret = (int)n;
			goto fail;
		}
		ret = tt_nl_parse_accept(buf, (size_t)n, family_id, seq, acc,
					 &flags);
		if (ret < 0) {
			/* The kernel may have installed a socket anyway. */
			if (fd < 0)
				fd = tt_nl_accept_sockfd(buf, (size_t)n,
							 family_id, seq);
			goto fail;
		}
		if (flags & TT_ACCEPT_GOT_REPLY)
			fd = acc->sockfd;
	}
	if (!(flags & TT_ACCEPT_GOT_REPLY))
		return -EBADMSG;	/* ACKed without a reply */
	return 0;
fail:
	memset(acc, 0, sizeof(*acc));
	acc->sockfd = fd;
	return ret;
}

int tt_nl_done(struct tt_nl *nl, uint16_t family_id, const struct tt_done *d,
	       struct tt_done_stats *stats, char *ext, size_t extlen)
{
	unsigned char buf[TT_NL_BUFSIZE];
	uint32_t seq = ++nl->seq;
	size_t len;
	ssize_t n;
	int ret;

	if (ext && extlen)
		ext[0] = '\0';
	len = tt_nl_build_done(buf, sizeof(buf), seq, family_id, d, stats);
	if (!len)
		return -EMSGSIZE;
	ret = send_msg(nl, buf, len);
	if (ret)
		return ret;
	for (int i = 0; i < 8; i++) {
		n = recv_msg(nl, buf, sizeof(buf));
		if (n < 0)
			return (int)n;
		ret = tt_nl_parse_ack(buf, (size_t)n, seq, ext, extlen);
		if (ret < 0)
			return ret;
		if (ret == 1)
			return 0;
	}
	return -EBADMSG;
}

int tt_nl_read_ready(struct tt_nl *nl, uint16_t family_id)
{
	unsigned char buf[TT_NL_BUFSIZE];
	ssize_t n;

	n = recv(mnl_socket_get_fd(nl->sk), buf, sizeof(buf), MSG_DONTWAIT);
	if (n < 0)
		return errno == EAGAIN ? 0 : -errno;
	if (n == 0)
		return 0;
	return tt_nl_count_ready(buf, (size_t)n, family_id,
				 TT_HS_HANDLER_CLASS_TLSHD);
}
