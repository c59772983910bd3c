/* SPDX-License-Identifier: GPL-2.0-only */
/* Netlink sockets: discovery, ACCEPT, DONE, READY notifications. */
#ifndef TT_NETLINK_H
#define TT_NETLINK_H

#include <stdbool.h>
#include <stddef.h>
#include <stdint.h>

#include "nlcodec.h"

struct mnl_socket;

struct tt_nl {
	struct mnl_socket	*sk;
	uint32_t		portid;
	uint32_t		seq;
};

/* What the running kernel offers. */
struct tt_caps {
	struct tt_family	fam;
	bool			tags;		/* DONE accepts attribute 4 */
	uint32_t		tag_max_len;	/* as advertised, 0: unstated */
	int			probe_err;	/* GETPOLICY failure, 0: ok */
};

/* Opens a bound generic netlink socket (extended ACKs on). */
int tt_nl_open(struct tt_nl *nl);
void tt_nl_close(struct tt_nl *nl);
int tt_nl_fd(const struct tt_nl *nl);

/*
 * Looks the handshake family up and probes DONE's policy for tag support.
 * Returns 0, -ENOENT when the kernel has no handshake family, or another
 * negative errno. A failed policy probe is not fatal: tags are then off
 * and caps->probe_err says why.
 */
int tt_nl_discover(struct tt_nl *nl, struct tt_caps *caps);
/* GETFAMILY for @name: 0, -ENOENT when absent, or -errno. */
int tt_nl_get_family(struct tt_nl *nl, const char *name,
		     struct tt_family *fam);
/*
 * GETPOLICY dump of @op of @family_id: *@has tells whether its do-policy
 * lists @attr as a string (max length in *@maxlen). Returns 0 or -errno;
 * on error *@has is false.
 */
int tt_nl_probe_attr(struct tt_nl *nl, uint16_t family_id, uint32_t op,
		     uint32_t attr, bool *has, uint32_t *maxlen);
/* One line: what the kernel supports. */
void tt_caps_describe(const struct tt_caps *caps, char *buf, size_t len);

int tt_nl_join_group(struct tt_nl *nl, uint32_t group);

/* A receive errno as returned: a receive timeout is -ETIMEDOUT. */
int tt_nl_recv_errno(int err);

/*
 * ACCEPT: 0 with @acc filled, -EAGAIN when nothing is pending, -errno
 * (-ETIMEDOUT: no answer). On error acc->sockfd is -1, or the socket the
 * kernel installed before the reply proved unusable (answer it with DONE).
 */
int tt_nl_accept(struct tt_nl *nl, uint16_t family_id, struct tt_accept *acc);

/*
 * DONE: sends and waits for the ACK. Returns 0 when the kernel took it,
 * the kernel's negative errno (its extended-ACK text in @ext), or a
 * negative errno when sending failed.
 */
int tt_nl_done(struct tt_nl *nl, uint16_t family_id, const struct tt_done *d,
	       struct tt_done_stats *stats, char *ext, size_t extlen);

/*
 * Reads one datagram from a socket in the tlshd group without blocking;
 * returns the number of READY notifications, 0, or -errno (-ENOBUFS: the
 * kernel dropped notifications, so assume requests are waiting).
 */
int tt_nl_read_ready(struct tt_nl *nl, uint16_t family_id);

#endif
